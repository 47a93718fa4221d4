package httpx

import (
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/tenancy/platform/tenant"
)

// SameOrigin reports whether a request (a form POST before there is a
// session to bind a CSRF token to) comes from a page of the host it was
// sent to: Sec-Fetch-Site same-origin, or, from a browser that does not
// send that header, an Origin equal to the request's own scheme://host
// (the scheme and host as the nearest trusted proxy in p saw them). A
// request with neither header is refused: every browser we serve sends
// Origin with a form POST. "null" (sandboxed frames, file: pages, or a
// no-referrer policy) is refused too.
func SameOrigin(c *fiber.Ctx, p Proxies) bool {
	if site := c.Get("Sec-Fetch-Site"); site != "" {
		return site == "same-origin"
	}
	origin := c.Get(fiber.HeaderOrigin)
	if origin == "" || origin == "null" {
		return false
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" || u.Path != "" || u.User != nil {
		return false
	}
	host, err := Host(c, p)
	if err != nil || host == "" {
		return false
	}
	scheme := "http"
	if IsTLS(c, p) {
		scheme = "https"
	}
	n := tenant.NormalizeHost(u.Host)
	return u.Scheme == scheme && n != "" && n == tenant.NormalizeHost(host) && portOf(u.Host, scheme) == portOf(host, scheme)
}

// portOf is the port of host[:port], the scheme's default when absent.
func portOf(hostport, scheme string) string {
	if i := strings.LastIndexByte(hostport, ':'); i >= 0 && !strings.Contains(hostport[i:], "]") {
		return hostport[i+1:]
	}
	if scheme == "https" {
		return "443"
	}
	return "80"
}

// LocalPath is next when it is a path of this host ("/…", not "//…" nor
// "/\…", no control character or backslash), else "/": where a form may
// send the browser back to (a language switch's next) without becoming
// an open redirect. The query and fragment are dropped.
func LocalPath(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	if i := strings.IndexAny(next, "?#"); i >= 0 {
		next = next[:i]
	}
	for _, r := range next {
		if r < 0x20 || r == 0x7f || r == '\\' {
			return "/"
		}
	}
	return strings.Clone(next)
}

package httpx

// Security headers, TLS detection behind trusted proxies, and CORS limited
// to origins the caller accepts (the tenant's own hosts).

import (
	"bytes"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/tenancy/platform/tenant"
)

const (
	cspAPI   = "default-src 'none'; frame-ancestors 'none'"
	cspPages = "frame-ancestors 'none'"
	// No includeSubDomains: a tenant's custom domain (shop.example.org)
	// is the tenant's, and its subdomains may be served by others, over
	// plain HTTP; pinning them from here would break them.
	hsts = "max-age=31536000"
)

// HSTS is the Strict-Transport-Security value for maxAge ("" for 0: no
// header). Whole seconds; no includeSubDomains (see hsts).
func HSTS(maxAge time.Duration) string {
	if maxAge <= 0 {
		return ""
	}
	return "max-age=" + strconv.FormatInt(int64(maxAge/time.Second), 10)
}

// SecurityHeaders sets the security headers on every response: they are
// set before the rest of the chain runs, so errors and 404s carry them
// too, and a handler may still replace one (a console page its own CSP).
// API paths (/api/…) get a CSP that loads nothing and Cache-Control:
// no-store (their answers hold tokens and personal data). HSTS only when
// tls says the request came over TLS (nil: never): a browser must not
// pin HTTPS for a host served over plain HTTP. HSTS is a year.
func SecurityHeaders(tls func(*fiber.Ctx) bool) fiber.Handler {
	return SecurityHeadersHSTS(tls, hsts)
}

// secDone marks a request whose headers an outer SecurityHeaders set: an
// inner one (authhttp.Routes, for apps without the router) leaves them,
// and the outer's HSTS setting, as they are.
type secDone struct{}

// SecurityHeadersHSTS is SecurityHeaders with value as the
// Strict-Transport-Security header over TLS ("": none; HSTS gives it).
func SecurityHeadersHSTS(tls func(*fiber.Ctx) bool, value string) fiber.Handler {
	val := []byte(value)
	return func(c *fiber.Ctx) error {
		if c.Locals(secDone{}) != nil {
			return c.Next()
		}
		c.Locals(secDone{}, true)
		// SetCanonical: the names are canonical already, so fasthttp
		// skips normalising them (with Set, this middleware was a tenth of
		// the routing CPU).
		h := &c.Response().Header
		for _, kv := range secHeaders {
			h.SetCanonical(kv[0], kv[1])
		}
		if isAPI(c.Path()) {
			h.SetCanonical(hdrCSP, valCSPAPI)
			h.SetCanonical(hdrCacheControl, valNoStore)
		} else {
			h.SetCanonical(hdrCSP, valCSPPages)
		}
		if len(val) > 0 && tls != nil && tls(c) {
			h.SetCanonical(hdrHSTS, val)
		}
		return c.Next()
	}
}

// The headers of SecurityHeaders, as canonical bytes. Not referrer
// policy no-referrer: under it browsers send "Origin: null" with every
// POST, even same-origin ones, and CORS refuses null.
var (
	secHeaders = [][2][]byte{
		{[]byte(fiber.HeaderXContentTypeOptions), []byte("nosniff")},
		{[]byte(fiber.HeaderReferrerPolicy), []byte("strict-origin-when-cross-origin")},
		{[]byte(fiber.HeaderXFrameOptions), []byte("DENY")},
		{[]byte("Cross-Origin-Opener-Policy"), []byte("same-origin")},
	}
	hdrCSP          = []byte(fiber.HeaderContentSecurityPolicy)
	hdrCacheControl = []byte(fiber.HeaderCacheControl)
	hdrHSTS         = []byte(fiber.HeaderStrictTransportSecurity)
	valCSPAPI       = []byte(cspAPI)
	valCSPPages     = []byte(cspPages)
	valNoStore      = []byte("no-store")
)

func isAPI(path string) bool { return path == "/api" || strings.HasPrefix(path, "/api/") }

// BaseURL is the origin the client reached, scheme://host[:port] as the
// nearest trusted proxy saw it (for links in mail); "" for a malformed host.
func BaseURL(c *fiber.Ctx, p Proxies) string {
	host, err := Host(c, p)
	if err != nil || host == "" {
		return ""
	}
	scheme := "http"
	if IsTLS(c, p) {
		scheme = "https"
	}
	return scheme + "://" + strings.Clone(host)
}

// IsTLS reports whether the request came over TLS: the connection itself,
// or a trusted proxy (p) in front of us says so with X-Forwarded-Proto:
// https. From any other peer the header is ignored. With several values
// (two headers, or a list), the last one counts: it is the nearest
// proxy's, the part before it may be the client's.
func IsTLS(c *fiber.Ctx, p Proxies) bool {
	if c.Context().IsTLS() {
		return true
	}
	if _, trusted := p.peer(c); !trusted {
		return false
	}
	all := c.Request().Header.PeekAll(fiber.HeaderXForwardedProto)
	if len(all) == 0 {
		return false
	}
	v := all[len(all)-1]
	if i := bytes.LastIndexByte(v, ','); i >= 0 {
		v = v[i+1:]
	}
	return bytes.EqualFold(bytes.TrimSpace(v), []byte("https"))
}

// What a preflight allows.
const (
	corsMethods = "GET, POST, PUT, PATCH, DELETE"
	corsHeaders = "Authorization, Content-Type, X-CSRF-Token, X-Request-ID"
	corsExpose  = "X-Request-Id, Retry-After"
	corsMaxAge  = "600" // seconds; browsers cap it (Chromium at 2 h)
)

var errOrigin = tenant.Errorf(tenant.EForbidden, "cross-origin request from an origin this site does not allow")

// CORS allows cross-origin requests, with credentials, from exactly the
// origins allowed accepts (called with the Origin header as sent, during
// the request only), and from no other: their responses carry no CORS
// header at all. Every response varies by Origin. A preflight (OPTIONS
// with Access-Control-Request-Method) from an allowed origin is answered
// 204 with the methods, headers and max-age; from any other origin 403
// forbidden. A request that changes state (not GET, HEAD or OPTIONS) sent
// with a foreign Origin is refused 403 too, before any handler runs: a
// browser sends such simple requests (a form post) without a preflight,
// and this stops them even where SameSite and the CSRF token would.
// "null" (sandboxed frames, file: pages) is never allowed.
func CORS(allowed func(c *fiber.Ctx, origin string) bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		h := &c.Response().Header
		origin := c.Request().Header.Peek(fiber.HeaderOrigin)
		preflight := c.Method() == fiber.MethodOptions &&
			len(c.Request().Header.Peek(fiber.HeaderAccessControlRequestMethod)) > 0
		if preflight {
			c.Vary(fiber.HeaderOrigin, fiber.HeaderAccessControlRequestMethod, fiber.HeaderAccessControlRequestHeaders)
		} else {
			c.Vary(fiber.HeaderOrigin)
		}
		if len(origin) == 0 {
			return c.Next()
		}
		o := string(origin) // allowed may keep it; fasthttp reuses the bytes
		ok := o != "null" && allowed != nil && allowed(c, o)
		if !ok {
			switch c.Method() {
			case fiber.MethodGet, fiber.MethodHead:
				return c.Next()
			case fiber.MethodOptions:
				if !preflight {
					return c.Next()
				}
			}
			return errOrigin
		}
		h.Set(fiber.HeaderAccessControlAllowOrigin, o)
		h.Set(fiber.HeaderAccessControlAllowCredentials, "true")
		if !preflight {
			h.Set(fiber.HeaderAccessControlExposeHeaders, corsExpose)
			return c.Next()
		}
		h.Set(fiber.HeaderAccessControlAllowMethods, corsMethods)
		h.Set(fiber.HeaderAccessControlAllowHeaders, corsHeaders)
		h.Set(fiber.HeaderAccessControlMaxAge, corsMaxAge)
		return c.SendStatus(fiber.StatusNoContent)
	}
}

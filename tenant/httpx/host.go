package httpx

import (
	"bytes"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"

	"github.com/tenancy/platform/tenant"
)

// errBadHost refuses a request whose host is ambiguous: served as some
// host, it would be served as one the client did not name plainly.
var errBadHost = tenant.Errorf(EBadRequest, "malformed host")

// Host returns the host a request is addressed to, as sent (the caller
// normalises it with tenant.NormalizeHost): the authority of an
// absolute-form request target, else the Host header; when the peer is a
// trusted proxy and sent X-Forwarded-Host, the value the nearest proxy
// set (the rightmost one: the left part is the client's). Two Host
// headers, userinfo (b@a), a target naming another host, or anything but
// a plain host[:port] is refused with 400 bad_request. An empty host is
// returned as "", unknown to every resolver.
//
// We do not use c.Hostname(): it keeps the last of two Host headers and
// strips userinfo, and Fiber takes the leftmost X-Forwarded-Host.
// Like every Fiber string, the result is valid only inside the handler.
//
// Middleware has checked the host already (a malformed one never reaches
// a handler) and Host returns what it found then.
func Host(c *fiber.Ctx, p Proxies) (string, error) {
	if i := infoOf(c); i != nil {
		return i.host, nil
	}
	if h, ok := hostOf(c, p); ok {
		return h, nil
	}
	return "", errBadHost
}

func hostOf(c *fiber.Ctx, p Proxies) (string, bool) {
	h := &c.Request().Header
	var xfh [][]byte
	if _, trusted := p.peer(c); trusted {
		xfh = h.PeekAll(fiber.HeaderXForwardedHost)
	}
	host, ok := requestHost(h.RawHeaders(), h.Host(), h.RequestURI(), xfh)
	return utils.UnsafeString(host), ok
}

// requestHost is Host on the request's parts: raw, the header block as
// received (to count Host lines: fasthttp keeps only the last), host, the
// Host value, target, the request target, and xfh, the X-Forwarded-Host
// headers of a trusted peer (nil otherwise).
func requestHost(raw, host, target []byte, xfh [][]byte) ([]byte, bool) {
	if hostLines(raw) > 1 {
		return nil, false
	}
	if authority, ok := absoluteAuthority(target); ok {
		if !plainHost(authority) {
			return nil, false
		}
		if len(host) > 0 && !bytes.EqualFold(host, authority) {
			return nil, false // the target and Host disagree: which one is meant?
		}
		host = authority
	}
	if !plainHost(host) {
		return nil, false
	}
	if len(xfh) > 0 {
		last := xfh[len(xfh)-1]
		if i := bytes.LastIndexByte(last, ','); i >= 0 {
			last = last[i+1:]
		}
		last = bytes.Trim(last, " \t")
		if len(last) == 0 || !plainHost(last) {
			return nil, false
		}
		host = last
	}
	return host, true
}

// hostLines counts the Host header lines of a raw header block.
func hostLines(raw []byte) int {
	n := 0
	for len(raw) > 0 {
		line := raw
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			line, raw = raw[:i], raw[i+1:]
		} else {
			raw = nil
		}
		if len(line) >= 5 && line[4] == ':' && (line[0]|0x20) == 'h' && (line[1]|0x20) == 'o' && (line[2]|0x20) == 's' && (line[3]|0x20) == 't' {
			n++
		}
	}
	return n
}

// absoluteAuthority returns the authority of an absolute-form request
// target (http://host:port/path); ok is false for the usual origin form.
func absoluteAuthority(target []byte) ([]byte, bool) {
	if len(target) == 0 || target[0] == '/' || target[0] == '*' {
		return nil, false
	}
	i := bytes.Index(target, []byte("://"))
	if i < 0 {
		return nil, false
	}
	rest := target[i+3:]
	if j := bytes.IndexAny(rest, "/?#"); j >= 0 {
		rest = rest[:j]
	}
	return rest, true
}

// plainHost reports whether h is empty or a plain host[:port]: a name of
// letters, digits, '-', '.', '_' (bytes above 0x7f pass here so that an
// international name is unknown, 404, as before) or a bracketed IPv6
// literal, then at most a port of 1 to 5 digits. Userinfo, paths,
// spaces, control characters and the like make it ambiguous.
func plainHost(h []byte) bool {
	if len(h) == 0 {
		return true
	}
	name := h
	if h[0] == '[' {
		end := bytes.IndexByte(h, ']')
		if end < 0 {
			return false
		}
		for _, c := range h[1:end] {
			if !(c >= '0' && c <= '9' || c|0x20 >= 'a' && c|0x20 <= 'f' || c == ':' || c == '.') {
				return false
			}
		}
		name, h = nil, h[end+1:]
		if len(h) > 0 && h[0] != ':' {
			return false
		}
	}
	if i := bytes.IndexByte(h, ':'); i >= 0 {
		port := h[i+1:]
		if name != nil {
			name = h[:i]
		}
		if len(port) == 0 || len(port) > 5 {
			return false
		}
		for _, c := range port {
			if c < '0' || c > '9' {
				return false
			}
		}
	}
	for _, c := range name {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '.', c == '_', c >= 0x80:
		default:
			return false
		}
	}
	return true
}

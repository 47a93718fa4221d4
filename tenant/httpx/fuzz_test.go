package httpx

import (
	"bufio"
	"bytes"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/tenancy/platform/tenant"
)

// newArg returns a fresh value of a handler's argument type: a fasthttp
// request context, without importing fasthttp here.
func newArg[T any](func(*T)) *T { return new(T) }

// FuzzClientIP: any X-Forwarded-For chain (two headers, any bytes), any
// trusted list and peer: no panic; the answer is an address without a
// zone, the peer itself when the peer is not trusted, and otherwise the
// peer or one of the hops.
func FuzzClientIP(f *testing.F) {
	f.Add("10.0.0.0/8, 127.0.0.1", "127.0.0.1", "6.6.6.6, 1.2.3.4", "10.1.1.1")
	f.Add("", "192.0.2.1", "1.2.3.4", "")
	f.Add("::/0", "2001:db8::1", "fe80::1%eth0", "::ffff:1.2.3.4")
	app := fiber.New()
	f.Fuzz(func(t *testing.T, trusted, peer, xff1, xff2 string) {
		p, err := ParseProxies(strings.Split(trusted, ","))
		if err != nil {
			return
		}
		pa, err := netip.ParseAddr(peer)
		if err != nil || pa.Zone() != "" {
			return
		}
		rc := newArg(app.Handler())
		rc.SetRemoteAddr(&net.TCPAddr{IP: pa.AsSlice()})
		for _, v := range []string{xff1, xff2} {
			if v != "" {
				rc.Request.Header.Add(fiber.HeaderXForwardedFor, v)
			}
		}
		c := app.AcquireCtx(rc)
		defer app.ReleaseCtx(c)
		got := ClientIP(c, p)
		a, err := netip.ParseAddr(got)
		if err != nil || a.Zone() != "" {
			t.Fatalf("ClientIP = %q: not a plain address", got)
		}
		if !p.contains(pa) {
			if a != pa.Unmap() {
				t.Fatalf("untrusted peer %s: ClientIP = %s", pa, a)
			}
			return
		}
		if a != pa.Unmap() && !strings.Contains(xff1+","+xff2, strings.TrimSpace(got)) {
			// got is the canonical form: compare parsed hops instead.
			found := false
			for _, hop := range strings.Split(xff1+","+xff2, ",") {
				if h, err := netip.ParseAddr(strings.TrimSpace(hop)); err == nil && h.Unmap() == a {
					found = true
				}
			}
			if !found {
				t.Fatalf("ClientIP = %s: neither the peer nor a hop of %q, %q", a, xff1, xff2)
			}
		}
	})
}

// FuzzHostFromRequest: any header block and request target, from a
// trusted proxy or not: no panic; either 400 bad_request or a host
// without userinfo, path, space or control character, from a request
// with at most one Host line.
func FuzzHostFromRequest(f *testing.F) {
	f.Add([]byte("Host: a.localhost\r\n"), "/", false)
	f.Add([]byte("Host: a.localhost\r\nHost: b.localhost\r\n"), "/", false)
	f.Add([]byte("Host: b@a.localhost\r\n"), "/x", false)
	f.Add([]byte("Host: proxy\r\nX-Forwarded-Host: evil, a.localhost:8080\r\n"), "/", true)
	f.Add([]byte("Host: a.localhost\r\n"), "http://b.localhost/", false)
	app := fiber.New()
	f.Fuzz(func(t *testing.T, headers []byte, target string, trusted bool) {
		if strings.ContainsAny(target, " \r\n") || target == "" {
			return
		}
		req := append([]byte("GET "+target+" HTTP/1.1\r\n"), headers...)
		req = append(req, "\r\n\r\n"...)
		rc := newArg(app.Handler())
		if err := rc.Request.Read(bufio.NewReader(bytes.NewReader(req))); err != nil {
			return // fasthttp refuses it before any handler
		}
		rc.SetRemoteAddr(&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
		var p Proxies
		if trusted {
			p, _ = ParseProxies([]string{"127.0.0.1"})
		}
		c := app.AcquireCtx(rc)
		defer app.ReleaseCtx(c)
		host, err := Host(c, p)
		if err != nil {
			if tenant.ErrorCode(err) != EBadRequest || Status(EBadRequest) != 400 {
				t.Fatalf("error %v", err)
			}
			return
		}
		if strings.ContainsAny(host, "@/\\?#, \t\r\n\x00") || strings.ContainsFunc(host, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			t.Fatalf("host %q accepted", host)
		}
		if n := hostLines(rc.Request.Header.RawHeaders()); n > 1 {
			t.Fatalf("%d Host lines accepted", n)
		}
		tenant.NormalizeHost(host)
	})
}

package httpx

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/tenancy/platform/tenant"
)

const secHost = "alpha.example.test"

// secRoutes mounts SecurityHeaders and CORS as the tenant router does,
// with an allowed() like the integrator's: the origin names the request's
// own host (http or https, any port). writes counts POSTs that reached
// their handler.
func secRoutes(p Proxies, writes *atomic.Int64) func(app *fiber.App) {
	return func(app *fiber.App) {
		allowed := func(c *fiber.Ctx, origin string) bool {
			u, err := url.Parse(origin)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return false
			}
			h, err := Host(c, p)
			return err == nil && tenant.NormalizeHost(u.Host) == tenant.NormalizeHost(h)
		}
		app.Use(SecurityHeaders(func(c *fiber.Ctx) bool { return IsTLS(c, p) }), CORS(allowed))
		app.Get("/api/ok", func(c *fiber.Ctx) error { return c.JSON(fiber.Map{"ok": true}) })
		app.Post("/api/write", func(c *fiber.Ctx) error {
			writes.Add(1)
			return c.SendStatus(fiber.StatusNoContent)
		})
		app.Get("/api/invalid", func(c *fiber.Ctx) error {
			return tenant.Invalid(map[string]string{"username": "required"})
		})
		app.Get("/api/panic", func(c *fiber.Ctx) error { panic("boom") })
		app.Get("/page", func(c *fiber.Ctx) error { return c.SendString("<p>hi</p>") })
		app.Get("/own-csp", func(c *fiber.Ctx) error {
			c.Set(fiber.HeaderContentSecurityPolicy, "default-src 'self'; frame-ancestors 'none'")
			return c.SendString("page")
		})
	}
}

func secApp(t *testing.T, trusted []string) (addr string, writes *atomic.Int64) {
	t.Helper()
	p, err := ParseProxies(trusted)
	if err != nil {
		t.Fatal(err)
	}
	writes = new(atomic.Int64)
	return testApp(t, slog.New(slog.DiscardHandler), trusted, Limits{}, secRoutes(p, writes)), writes
}

func request(t *testing.T, addr, method, path string, hdr ...string) response {
	t.Helper()
	var b strings.Builder
	b.WriteString(method + " " + path + " HTTP/1.1\r\nHost: " + secHost + "\r\n")
	for i := 0; i+1 < len(hdr); i += 2 {
		b.WriteString(hdr[i] + ": " + hdr[i+1] + "\r\n")
	}
	b.WriteString("Content-Length: 0\r\nConnection: close\r\n\r\n")
	return raw(t, addr, b.String())
}

// checkSecurityHeaders: every response carries the fixed set; api tells
// which CSP.
func checkSecurityHeaders(t *testing.T, what string, r response, api bool) {
	t.Helper()
	want := map[string]string{
		"X-Content-Type-Options":     "nosniff",
		"Referrer-Policy":            "strict-origin-when-cross-origin",
		"X-Frame-Options":            "DENY",
		"Cross-Origin-Opener-Policy": "same-origin",
		"Content-Security-Policy":    "frame-ancestors 'none'",
	}
	if api {
		want["Content-Security-Policy"] = "default-src 'none'; frame-ancestors 'none'"
		want["Cache-Control"] = "no-store"
	}
	for k, v := range want {
		if got := r.header.Values(k); len(got) != 1 || got[0] != v {
			t.Errorf("%s (%d): %s = %q, want %q", what, r.status, k, got, v)
		}
	}
}

func TestSecurityHeadersOnEveryResponse(t *testing.T) {
	t.Parallel()
	addr, _ := secApp(t, nil)
	for _, c := range []struct {
		method, path string
		status       int
		api          bool
		hdr          []string
	}{
		{"GET", "/api/ok", 200, true, nil},
		{"GET", "/page", 200, false, nil},
		{"GET", "/api/nope", 404, true, nil},
		{"GET", "/nope", 404, false, nil},
		{"PUT", "/api/ok", 405, true, nil},
		{"GET", "/api/invalid", 422, true, nil},
		{"GET", "/api/panic", 500, true, nil},
		{"OPTIONS", "/api/write", 204, true, []string{"Origin", "http://" + secHost, "Access-Control-Request-Method", "POST"}},
		{"OPTIONS", "/api/write", 403, true, []string{"Origin", "http://evil.example", "Access-Control-Request-Method", "POST"}},
		{"POST", "/api/write", 403, true, []string{"Origin", "http://evil.example"}},
	} {
		r := request(t, addr, c.method, c.path, c.hdr...)
		what := c.method + " " + c.path
		if r.status != c.status {
			t.Errorf("%s: status %d, want %d (%s)", what, r.status, c.status, r.body)
		}
		checkSecurityHeaders(t, what, r, c.api)
		if v := r.header.Get("Strict-Transport-Security"); v != "" {
			t.Errorf("%s: HSTS %q over plain HTTP from an untrusted peer", what, v)
		}
	}
	// A handler may replace a header: a page with its own CSP.
	if r := request(t, addr, "GET", "/own-csp"); r.header.Get("Content-Security-Policy") != "default-src 'self'; frame-ancestors 'none'" {
		t.Errorf("own CSP replaced: %q", r.header.Values("Content-Security-Policy"))
	}
}

// HSTS follows IsTLS: X-Forwarded-Proto counts from a trusted proxy only,
// and then its last value.
func TestHSTSBehindProxies(t *testing.T) {
	t.Parallel()
	trusted, _ := secApp(t, []string{"127.0.0.1"})
	untrusted, _ := secApp(t, []string{"10.0.0.0/8"})
	for _, c := range []struct {
		name string
		addr string
		hdr  []string
		want bool
	}{
		{"trusted proxy, https", trusted, []string{"X-Forwarded-Proto", "https"}, true},
		{"trusted proxy, HTTPS", trusted, []string{"X-Forwarded-Proto", " HTTPS "}, true},
		{"trusted proxy, http", trusted, []string{"X-Forwarded-Proto", "http"}, false},
		{"trusted proxy, none", trusted, nil, false},
		{"trusted proxy, client's https then proxy's http", trusted, []string{"X-Forwarded-Proto", "https, http"}, false},
		{"trusted proxy, client's http then proxy's https", trusted, []string{"X-Forwarded-Proto", "http,https"}, true},
		{"trusted proxy, two headers, last http", trusted, []string{"X-Forwarded-Proto", "https", "X-Forwarded-Proto", "http"}, false},
		{"trusted proxy, garbage", trusted, []string{"X-Forwarded-Proto", "httpsx"}, false},
		{"untrusted peer, https", untrusted, []string{"X-Forwarded-Proto", "https"}, false},
	} {
		r := request(t, c.addr, "GET", "/api/ok", c.hdr...)
		got := r.header.Get("Strict-Transport-Security")
		if c.want && got != "max-age=31536000" || !c.want && got != "" {
			t.Errorf("%s: HSTS %q, want it %v", c.name, got, c.want)
		}
	}
}

// A real TLS connection is TLS without any header, and gets HSTS even on
// a 404.
func TestHSTSOverTLS(t *testing.T) {
	t.Parallel()
	cert, pool := selfSigned(t, secHost)
	p, _ := ParseProxies(nil)
	app := NewApp(slog.New(slog.DiscardHandler), p, Limits{})
	secRoutes(p, new(atomic.Int64))(app)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		done <- app.Listener(tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}))
	}()
	t.Cleanup(func() {
		if err := app.ShutdownWithTimeout(5 * time.Second); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: secHost},
	}}
	defer client.CloseIdleConnections()
	for _, path := range []string{"/api/ok", "/nope"} {
		req, err := http.NewRequest("GET", "https://"+ln.Addr().String()+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = secHost
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if got := res.Header.Get("Strict-Transport-Security"); got != "max-age=31536000" {
			t.Errorf("%s over TLS (%d): HSTS %q", path, res.StatusCode, got)
		}
	}
}

func selfSigned(t *testing.T, host string) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: host},
		DNSNames:     []string{host},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

func TestCORS(t *testing.T) {
	t.Parallel()
	addr, writes := secApp(t, nil)
	own := "http://" + secHost
	corsHeaders := []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Credentials",
		"Access-Control-Allow-Methods", "Access-Control-Allow-Headers", "Access-Control-Max-Age", "Access-Control-Expose-Headers"}
	noCORS := func(what string, r response) {
		t.Helper()
		for _, h := range corsHeaders {
			if v := r.header.Get(h); v != "" {
				t.Errorf("%s: %s = %q, want no CORS header", what, h, v)
			}
		}
	}
	varies := func(what string, r response, fields ...string) {
		t.Helper()
		got := strings.Join(r.header.Values("Vary"), ",")
		for _, f := range fields {
			if !strings.Contains(got, f) {
				t.Errorf("%s: Vary %q lacks %s", what, got, f)
			}
		}
	}

	// Same-origin style requests without Origin: no CORS, Vary all the same.
	r := request(t, addr, "GET", "/api/ok")
	noCORS("no Origin", r)
	varies("no Origin", r, "Origin")

	// Allowed origins, any scheme and port of the tenant's own host.
	for _, o := range []string{own, "https://" + secHost, "https://" + secHost + ":8443", "HTTPS://ALPHA.example.test"} {
		r := request(t, addr, "GET", "/api/ok", "Origin", o)
		if r.status != 200 || r.header.Get("Access-Control-Allow-Origin") != o ||
			r.header.Get("Access-Control-Allow-Credentials") != "true" {
			t.Errorf("GET from %s: %d, allow-origin %q, credentials %q", o, r.status,
				r.header.Get("Access-Control-Allow-Origin"), r.header.Get("Access-Control-Allow-Credentials"))
		}
		if !strings.Contains(r.header.Get("Access-Control-Expose-Headers"), "X-Request-Id") {
			t.Errorf("GET from %s: exposes %q", o, r.header.Get("Access-Control-Expose-Headers"))
		}
		varies("GET from "+o, r, "Origin")
	}

	// Foreign origins read nothing: no CORS headers (the GET is answered,
	// the browser keeps it from the page).
	for _, o := range []string{"http://evil.example", "http://beta.example.test", "http://" + secHost + ".evil.example",
		"null", "ftp://" + secHost, secHost, "http://user@" + secHost + "@evil.example"} {
		r := request(t, addr, "GET", "/api/ok", "Origin", o)
		if r.status != 200 {
			t.Errorf("GET from %s: %d", o, r.status)
		}
		noCORS("GET from "+o, r)
		varies("GET from "+o, r, "Origin")
	}

	// Preflight from the tenant's host: 204, the handler never runs.
	before := writes.Load()
	r = request(t, addr, "OPTIONS", "/api/write", "Origin", own,
		"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "content-type, x-csrf-token")
	if r.status != 204 || r.header.Get("Access-Control-Allow-Origin") != own ||
		r.header.Get("Access-Control-Allow-Credentials") != "true" || r.header.Get("Access-Control-Max-Age") != "600" {
		t.Errorf("preflight: %d %v", r.status, r.header)
	}
	for _, m := range []string{"GET", "POST", "PATCH", "DELETE"} {
		if !strings.Contains(r.header.Get("Access-Control-Allow-Methods"), m) {
			t.Errorf("preflight allows methods %q: no %s", r.header.Get("Access-Control-Allow-Methods"), m)
		}
	}
	for _, h := range []string{"Authorization", "Content-Type", "X-CSRF-Token", "X-Request-ID"} {
		if !strings.Contains(r.header.Get("Access-Control-Allow-Headers"), h) {
			t.Errorf("preflight allows headers %q: no %s", r.header.Get("Access-Control-Allow-Headers"), h)
		}
	}
	varies("preflight", r, "Origin", "Access-Control-Request-Method", "Access-Control-Request-Headers")

	// Preflight from elsewhere: 403 forbidden by the error contract.
	r = request(t, addr, "OPTIONS", "/api/write", "Origin", "http://evil.example", "Access-Control-Request-Method", "POST")
	if r.status != 403 || r.code != tenant.EForbidden {
		t.Errorf("foreign preflight: %d %q %s", r.status, r.code, r.body)
	}
	noCORS("foreign preflight", r)

	// A simple POST (no preflight) from elsewhere never reaches its handler.
	r = request(t, addr, "POST", "/api/write", "Origin", "http://evil.example", "Content-Type", "text/plain")
	if r.status != 403 || r.code != tenant.EForbidden {
		t.Errorf("foreign POST: %d %q", r.status, r.code)
	}
	noCORS("foreign POST", r)
	if n := writes.Load() - before; n != 0 {
		t.Fatalf("%d writes ran for a preflight or a foreign origin", n)
	}

	// Our own origin and no origin write.
	if r := request(t, addr, "POST", "/api/write", "Origin", own); r.status != 204 || r.header.Get("Access-Control-Allow-Origin") != own {
		t.Errorf("own POST: %d, allow-origin %q", r.status, r.header.Get("Access-Control-Allow-Origin"))
	}
	if r := request(t, addr, "POST", "/api/write"); r.status != 204 {
		t.Errorf("POST without Origin: %d", r.status)
	}
	if n := writes.Load() - before; n != 2 {
		t.Errorf("%d writes ran, want 2", n)
	}
}

// CORS with a nil allowed() allows nothing; OPTIONS without a request
// method is no preflight and goes on to the routes.
func TestCORSNilAndPlainOptions(t *testing.T) {
	t.Parallel()
	app := fiber.New(Settings(nil, nil, Limits{}))
	app.Use(CORS(nil))
	app.Get("/x", func(c *fiber.Ctx) error { return c.SendString("x") })
	app.Options("/x", func(c *fiber.Ctx) error { return c.SendString("options route") })
	for _, c := range []struct {
		method string
		hdr    map[string]string
		status int
		body   string
	}{
		{"GET", map[string]string{"Origin": "http://a.example"}, 200, "x"},
		{"OPTIONS", map[string]string{"Origin": "http://a.example"}, 200, "options route"},
		{"OPTIONS", map[string]string{"Origin": "http://a.example", "Access-Control-Request-Method": "GET"}, 403, ""},
	} {
		req, err := http.NewRequest(c.method, "http://a.example/x", nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range c.hdr {
			req.Header.Set(k, v)
		}
		res, err := app.Test(req, 5000)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != c.status || c.body != "" && string(b) != c.body {
			t.Errorf("%s %v: %d %s", c.method, c.hdr, res.StatusCode, b)
		}
		if v := res.Header.Get("Access-Control-Allow-Origin"); v != "" {
			t.Errorf("%s %v: allow-origin %q with nil allowed()", c.method, c.hdr, v)
		}
	}
}

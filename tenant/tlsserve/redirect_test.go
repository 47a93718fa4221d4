package tlsserve_test

import (
	"bufio"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/tenancy/platform/tenant/httpx"
	"github.com/tenancy/platform/tenant/tlsserve"
)

// TestRedirect: known hosts over plain HTTP get 308 to https with path
// and query (port only when not 443); unknown hosts, and hosts only a
// forged or absolute-form target names, are never a Location; ACME
// challenges of known hosts are answered, not redirected.
func TestRedirect(t *testing.T) {
	t.Parallel()
	known := func(h string) bool { return h == "a.example.org" }
	challenge := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "token-answer") })
	app := func(port int) *fiber.App {
		a := fiber.New()
		a.Use(tlsserve.Redirect(tlsserve.RedirectConfig{Known: known, PublicPort: port, Challenge: challenge, Proxies: httpx.Proxies{}}))
		a.Use(func(c *fiber.Ctx) error { return c.Status(404).SendString("not found") })
		return a
	}
	tests := []struct {
		name, raw string
		port      int
		status    int
		location  string
		body      string
	}{
		{"known", "GET /api/tenant?x=1&y=%20 HTTP/1.1\r\nHost: A.Example.org.\r\n\r\n", 443, 308, "https://a.example.org/api/tenant?x=1&y=%20", ""},
		{"known, NAT port", "GET / HTTP/1.1\r\nHost: a.example.org:8080\r\n\r\n", 8443, 308, "https://a.example.org:8443/", ""},
		{"unknown host", "GET / HTTP/1.1\r\nHost: evil.example.net\r\n\r\n", 443, 404, "", "not found"},
		{"forwarded host from an untrusted peer", "GET /x HTTP/1.1\r\nHost: a.example.org\r\nX-Forwarded-Host: evil.example.net\r\n\r\n", 443, 308, "https://a.example.org/x", ""},
		{"absolute-form target", "GET http://a.example.org/x?q HTTP/1.1\r\nHost: a.example.org\r\n\r\n", 443, 308, "https://a.example.org/x?q", ""},
		{"challenge", "GET /.well-known/acme-challenge/abc HTTP/1.1\r\nHost: a.example.org\r\n\r\n", 443, 200, "", "token-answer"},
		{"challenge of an unknown host", "GET /.well-known/acme-challenge/abc HTTP/1.1\r\nHost: evil.example.net\r\n\r\n", 443, 404, "", "not found"},
	}
	for _, tc := range tests {
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(tc.raw)))
		if err != nil {
			t.Fatal(err)
		}
		res, err := app(tc.port).Test(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != tc.status || res.Header.Get("Location") != tc.location || (tc.body != "" && string(b) != tc.body) {
			t.Errorf("%s: %d Location %q body %q, want %d %q %q", tc.name, res.StatusCode, res.Header.Get("Location"), b, tc.status, tc.location, tc.body)
		}
	}
}

package httpx

import (
	"testing"

	"github.com/gofiber/fiber/v2"
)

func hostApp(t *testing.T, trusted []string) string {
	return testApp(t, nil, trusted, Limits{}, func(app *fiber.App) {
		app.Get("/", func(c *fiber.Ctx) error {
			h, err := Host(c, mustProxies(t, trusted))
			if err != nil {
				return err
			}
			return c.SendString("host=" + h)
		})
	})
}

func mustProxies(t *testing.T, list []string) Proxies {
	p, err := ParseProxies(list)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestHost(t *testing.T) {
	t.Parallel()
	direct := hostApp(t, nil)
	behind := hostApp(t, []string{"127.0.0.1"}) // the test client is the proxy
	const bad = "bad_request"
	tests := []struct {
		name, addr, req string
		want            string // the host, or bad
	}{
		{"plain", direct, "GET / HTTP/1.1\r\nHost: a.localhost:8080\r\n\r\n", "a.localhost:8080"},
		{"upper case and dot kept for NormalizeHost", direct, "GET / HTTP/1.1\r\nHost: A.Localhost.\r\n\r\n", "A.Localhost."},
		{"ipv4", direct, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", "127.0.0.1"},
		{"ipv6", direct, "GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n", "[::1]:80"},
		{"no host (HTTP/1.0)", direct, "GET / HTTP/1.0\r\n\r\n", ""},
		{"two Host headers", direct, "GET / HTTP/1.1\r\nHost: a.localhost\r\nHost: b.localhost\r\n\r\n", bad},
		{"two Host headers, other case", direct, "GET / HTTP/1.1\r\nHost: a.localhost\r\nhOsT: a.localhost\r\n\r\n", bad},
		{"userinfo", direct, "GET / HTTP/1.1\r\nHost: b@a.localhost\r\n\r\n", bad},
		{"path", direct, "GET / HTTP/1.1\r\nHost: a.localhost/x\r\n\r\n", bad},
		{"bad port", direct, "GET / HTTP/1.1\r\nHost: a.localhost:80x\r\n\r\n", bad},
		{"two ports", direct, "GET / HTTP/1.1\r\nHost: a.localhost:1:2\r\n\r\n", bad},
		{"comma", direct, "GET / HTTP/1.1\r\nHost: a.localhost,b.localhost\r\n\r\n", bad},
		{"unclosed bracket", direct, "GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", bad},
		{"absolute target", direct, "GET http://a.localhost/ HTTP/1.1\r\nHost: a.localhost\r\n\r\n", "a.localhost"},
		{"absolute target, other host", direct, "GET http://b.localhost/ HTTP/1.1\r\nHost: a.localhost\r\n\r\n", bad},
		{"absolute target with userinfo", direct, "GET http://b@a.localhost/ HTTP/1.1\r\nHost: a.localhost\r\n\r\n", bad},
		// X-Forwarded-Host: ignored from an untrusted peer, whatever it holds.
		{"forwarded, untrusted", direct, "GET / HTTP/1.1\r\nHost: a.localhost\r\nX-Forwarded-Host: b.localhost\r\n\r\n", "a.localhost"},
		{"forwarded, untrusted, malformed", direct, "GET / HTTP/1.1\r\nHost: a.localhost\r\nX-Forwarded-Host: b@c\r\n\r\n", "a.localhost"},
		// From a trusted proxy: the value the nearest proxy set, the rightmost.
		{"forwarded", behind, "GET / HTTP/1.1\r\nHost: proxy.internal\r\nX-Forwarded-Host: b.localhost\r\n\r\n", "b.localhost"},
		{"forwarded, client's value first", behind, "GET / HTTP/1.1\r\nHost: proxy.internal\r\nX-Forwarded-Host: evil.localhost, b.localhost\r\n\r\n", "b.localhost"},
		{"forwarded, several headers", behind, "GET / HTTP/1.1\r\nHost: proxy.internal\r\nX-Forwarded-Host: evil.localhost\r\nX-Forwarded-Host: c.localhost , b.localhost:443\r\n\r\n", "b.localhost:443"},
		{"forwarded, malformed", behind, "GET / HTTP/1.1\r\nHost: proxy.internal\r\nX-Forwarded-Host: evil@b.localhost\r\n\r\n", bad},
		{"forwarded, empty last", behind, "GET / HTTP/1.1\r\nHost: proxy.internal\r\nX-Forwarded-Host: b.localhost,\r\n\r\n", bad},
		{"trusted, no forwarded host", behind, "GET / HTTP/1.1\r\nHost: a.localhost\r\n\r\n", "a.localhost"},
	}
	for _, tt := range tests {
		r := raw(t, tt.addr, tt.req)
		switch {
		case tt.want == bad && (r.status != 400 || r.code != EBadRequest):
			t.Errorf("%s: %d %s, want 400 bad_request", tt.name, r.status, r.body)
		case tt.want != bad && (r.status != 200 || r.body != "host="+tt.want):
			t.Errorf("%s: %d %s, want host=%s", tt.name, r.status, r.body, tt.want)
		}
	}
}

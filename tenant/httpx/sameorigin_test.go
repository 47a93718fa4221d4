package httpx

import (
	"net/http/httptest"
	"testing"

	"github.com/gofiber/fiber/v2"
)

// TestSameOrigin: Sec-Fetch-Site decides when sent; else Origin must be
// the request's own scheme, host and port (https only over TLS or from a
// trusted proxy saying so); neither, null or a foreign origin: refused.
func TestSameOrigin(t *testing.T) {
	t.Parallel()
	proxies, err := ParseProxies([]string{"0.0.0.0/0"}) // app.Test's peer is 0.0.0.0
	var none Proxies
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		p       Proxies
		host    string
		headers []string
		want    bool
	}{
		{"fetch same-origin", none, "admin.test:8081", []string{"Sec-Fetch-Site", "same-origin"}, true},
		{"fetch same-site", none, "admin.test:8081", []string{"Sec-Fetch-Site", "same-site", "Origin", "http://admin.test:8081"}, false},
		{"fetch cross-site", none, "admin.test:8081", []string{"Sec-Fetch-Site", "cross-site"}, false},
		{"origin equal", none, "admin.test:8081", []string{"Origin", "http://admin.test:8081"}, true},
		{"origin equal, case and dot", none, "Admin.Test:8081", []string{"Origin", "http://admin.test.:8081"}, true},
		{"origin default port", none, "admin.test", []string{"Origin", "http://admin.test:80"}, true},
		{"origin other port", none, "admin.test:8081", []string{"Origin", "http://admin.test:8082"}, false},
		{"origin other host", none, "admin.test:8081", []string{"Origin", "http://evil.test:8081"}, false},
		{"origin https over http", none, "admin.test:8081", []string{"Origin", "https://admin.test:8081"}, false},
		{"origin with a path", none, "admin.test:8081", []string{"Origin", "http://admin.test:8081/x"}, false},
		{"origin null", none, "admin.test:8081", []string{"Origin", "null"}, false},
		{"neither header", none, "admin.test:8081", nil, false},
		{"https behind a trusted proxy", proxies, "admin.test", []string{"X-Forwarded-Proto", "https", "Origin", "https://admin.test"}, true},
		{"http origin behind a TLS proxy", proxies, "admin.test", []string{"X-Forwarded-Proto", "https", "Origin", "http://admin.test"}, false},
		{"forwarded proto from an untrusted peer", none, "admin.test", []string{"X-Forwarded-Proto", "https", "Origin", "https://admin.test"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app := fiber.New()
			var got bool
			app.Post("/", func(c *fiber.Ctx) error { got = SameOrigin(c, tc.p); return nil })
			req := httptest.NewRequest("POST", "http://"+tc.host+"/", nil)
			for i := 0; i+1 < len(tc.headers); i += 2 {
				req.Header.Set(tc.headers[i], tc.headers[i+1])
			}
			res, err := app.Test(req, -1)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if got != tc.want {
				t.Errorf("SameOrigin = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestLocalPath: only a path of this host comes back; anything that
// could leave it is "/".
func TestLocalPath(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"/tenants": "/tenants", "/tenants/a-b?x=1#f": "/tenants/a-b", "": "/", "tenants": "/",
		"//evil.example": "/", "/\\evil.example": "/", "https://evil.example/": "/", "/a\\b": "/", "/a\nb": "/", "/a\x7fb": "/",
	} {
		if got := LocalPath(in); got != want {
			t.Errorf("LocalPath(%q) = %q, want %q", in, got, want)
		}
	}
}

package httpx

import (
	"io"
	"net/http/httptest"
	"testing"

	"github.com/gofiber/fiber/v2"
)

func TestClientIP(t *testing.T) {
	// app.Test connects from 0.0.0.0; trust it (or not) as the peer.
	tests := []struct {
		name    string
		trusted []string
		xff     []string
		want    string
	}{
		{"untrusted peer: header ignored", nil, []string{"1.2.3.4"}, "0.0.0.0"},
		{"trusted peer, one hop", []string{"0.0.0.0"}, []string{"1.2.3.4"}, "1.2.3.4"},
		{"client forges the left part", []string{"0.0.0.0"}, []string{"6.6.6.6, 1.2.3.4"}, "1.2.3.4"},
		{"chain of trusted proxies", []string{"0.0.0.0", "10.0.0.0/8"}, []string{"6.6.6.6, 1.2.3.4, 10.1.1.1, 10.2.2.2"}, "1.2.3.4"},
		{"several headers", []string{"0.0.0.0", "10.0.0.0/8"}, []string{"6.6.6.6", "1.2.3.4, 10.1.1.1"}, "1.2.3.4"},
		{"all trusted", []string{"0.0.0.0", "10.0.0.0/8"}, []string{"10.1.1.1"}, "10.1.1.1"},
		{"malformed hop", []string{"0.0.0.0", "10.0.0.0/8"}, []string{"1.2.3.4, bogus, 10.1.1.1"}, "10.1.1.1"},
		{"no header", []string{"0.0.0.0"}, nil, "0.0.0.0"},
		{"ipv6", []string{"0.0.0.0"}, []string{"2001:db8::1"}, "2001:db8::1"},
	}
	for _, tt := range tests {
		p, err := ParseProxies(tt.trusted)
		if err != nil {
			t.Fatal(err)
		}
		app := fiber.New()
		app.Get("/", func(c *fiber.Ctx) error { return c.SendString(ClientIP(c, p)) })
		req := httptest.NewRequest("GET", "/", nil)
		for _, v := range tt.xff {
			req.Header.Add("X-Forwarded-For", v)
		}
		res, err := app.Test(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		if string(b) != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, b, tt.want)
		}
	}
	if _, err := ParseProxies([]string{"10.0.0.0/8", "not-an-ip"}); err == nil {
		t.Error("ParseProxies accepted not-an-ip")
	}
}

package httpx_test

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/tenancy/platform/tenant/httpx"
)

// TestHSTSValue: the outermost SecurityHeaders decides HSTS (serve's
// PLATFORM_HSTS_MAX_AGE, 0 for none); an inner one (authhttp.Routes)
// neither replaces nor adds it.
func TestHSTSValue(t *testing.T) {
	t.Parallel()
	if got := httpx.HSTS(365 * 24 * time.Hour); got != "max-age=31536000" {
		t.Errorf("HSTS(a year) = %q", got)
	}
	if got := httpx.HSTS(0); got != "" {
		t.Errorf("HSTS(0) = %q", got)
	}
	tls := func(*fiber.Ctx) bool { return true }
	for _, outer := range []string{"max-age=600", ""} {
		app := fiber.New()
		app.Use(httpx.SecurityHeadersHSTS(tls, outer))
		app.Use(httpx.SecurityHeaders(tls)) // a year, if it were asked
		app.Get("/", func(c *fiber.Ctx) error { return c.SendString("ok") })
		res, err := app.Test(httptest.NewRequest("GET", "/", nil))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if got := res.Header.Get("Strict-Transport-Security"); got != outer {
			t.Errorf("outer %q: HSTS %q", outer, got)
		}
		if res.Header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("outer %q: no security headers", outer)
		}
	}
}

package router

import (
	"io"
	"log/slog"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/tenancy/platform/tenant"
)

// newArg returns a fresh value of the argument type of a handler: a
// fasthttp request context without importing fasthttp here.
func newArg[T any](func(*T)) *T { return new(T) }

// BenchmarkRoute is the routing path of one request to /api/tenant (host
// extraction, lookup, middleware, access log to a discarding JSON handler)
// without the network: the part of the routed/bare figure the router adds.
func BenchmarkRoute(b *testing.B) {
	tn := &tenant.Tenant{ID: "11111111-1111-1111-1111-111111111111", Slug: "demo", Name: "Demo", Kind: tenant.Restaurant, Status: tenant.StatusActive}
	app := New(Config{Resolver: mapResolver{"demo.localhost": tn}, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	h := app.Handler()
	rc := newArg(h)
	b.ReportAllocs()
	for b.Loop() {
		rc.Request.Reset()
		rc.Response.Reset()
		rc.Request.SetRequestURI("/api/tenant")
		rc.Request.Header.SetHost("demo.localhost:8080")
		h(rc)
		if rc.Response.StatusCode() != 200 {
			b.Fatalf("status %d: %s", rc.Response.StatusCode(), rc.Response.Body())
		}
	}
}

type mapResolver map[string]*tenant.Tenant

func (m mapResolver) Lookup(host string) *tenant.Tenant { return m[host] }

// BenchmarkBare is the same answer from a plain Fiber app: the baseline
// BenchmarkRoute is compared with.
func BenchmarkBare(b *testing.B) {
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Get("/api/tenant", func(c *fiber.Ctx) error {
		return c.JSON(fiber.Map{"slug": "demo", "name": "Demo", "kind": tenant.Restaurant})
	})
	h := app.Handler()
	rc := newArg(h)
	b.ReportAllocs()
	for b.Loop() {
		rc.Request.Reset()
		rc.Response.Reset()
		rc.Request.SetRequestURI("/api/tenant")
		rc.Request.Header.SetHost("demo.localhost:8080")
		h(rc)
		if rc.Response.StatusCode() != 200 {
			b.Fatalf("status %d", rc.Response.StatusCode())
		}
	}
}

package router

import (
	"io"
	"log/slog"
	"syscall"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/metrics"
)

// cpuTime is the process's user+system CPU time: on a shared machine
// it varies less than the wall time the benchmark reports as ns/op.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU adds cpu-ns/op, measured from start.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime(b)-start)/float64(b.N), "cpu-ns/op")
}

// newArg returns a fresh value of the argument type of a handler: a
// fasthttp request context without importing fasthttp here.
func newArg[T any](func(*T)) *T { return new(T) }

// BenchmarkRoute is the routing path of one request to /api/tenant (host
// extraction, lookup, middleware, access log to a discarding JSON handler)
// without the network: the part of the routed/bare figure the router adds.
// access=off runs it with the logger at WARN: the cost of all but the
// access-log line; metrics=on adds the request metrics (tenant/metrics).
func BenchmarkRoute(b *testing.B) {
	tn := &tenant.Tenant{ID: "11111111-1111-1111-1111-111111111111", Slug: "demo", Name: "Demo", Kind: tenant.Restaurant, Status: tenant.StatusActive}
	for _, bc := range []struct {
		name    string
		level   slog.Level
		metrics bool
	}{{"access=on", slog.LevelInfo, false}, {"access=off", slog.LevelWarn, false},
		{"access=on,metrics=on", slog.LevelInfo, true}, {"access=off,metrics=on", slog.LevelWarn, true}} {
		b.Run(bc.name, func(b *testing.B) {
			log := slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: bc.level}))
			var m *metrics.Metrics
			if bc.metrics {
				var err error
				if m, err = metrics.New(prometheus.NewRegistry(), metrics.Config{}); err != nil {
					b.Fatal(err)
				}
			}
			app := New(Config{Resolver: mapResolver{"demo.localhost": tn}, Logger: log, Metrics: m})
			h := app.Handler()
			rc := newArg(h)
			b.ReportAllocs()
			defer reportCPU(b, cpuTime(b))
			for b.Loop() {
				rc.ResetUserValues() // as the server does between requests
				rc.Request.Reset()
				rc.Response.Reset()
				rc.Request.SetRequestURI("/api/tenant")
				rc.Request.Header.SetHost("demo.localhost:8080")
				h(rc)
				if rc.Response.StatusCode() != 200 {
					b.Fatalf("status %d: %s", rc.Response.StatusCode(), rc.Response.Body())
				}
			}
		})
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
	defer reportCPU(b, cpuTime(b))
	for b.Loop() {
		rc.ResetUserValues() // as the server does between requests
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

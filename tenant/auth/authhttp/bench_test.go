package authhttp_test

import (
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/auth"
	"github.com/tenancy/platform/tenant/auth/authhttp"
)

func authLimit(n int) auth.Limit { return auth.Limit{Rate: n, Period: time.Minute} }

// newArg returns a fresh value of the argument type of a handler: a
// fasthttp request context without importing fasthttp here.
func newArg[T any](func(*T)) *T { return new(T) }

// BenchmarkAuthenticated (issue 11, item 11) serves GET /bench/auth, a
// cheap route behind Authenticate (bearer token, HS256 check, one Redis
// round trip for the session and the default limit), and GET /bench/anon,
// the same answer without it, through the same tenant router, in-process
// (no network but Redis's). Each iteration sends one of each, so both meet
// the same load on a shared machine; each request is timed. Reported:
// p50/p99 of each (anon-, auth-), their difference (added-: what the
// session and token checks add), and Redis round trips per authenticated
// request (rt/op, counted by a go-redis hook). ns/op is the pair.
//
//	go test -run '^$' -bench Authenticated -benchtime 20000x ./tenant/auth/authhttp/
func BenchmarkAuthenticated(b *testing.B) {
	h := newHarness(b, options{
		// Generous: the benchmark measures the check, not refusals.
		defaultLimit: authLimit(1_000_000_000),
		routes: func(r fiber.Router, ah *authhttp.Handlers) {
			r.Get("/bench/auth", ah.Authenticate(), func(c *fiber.Ctx) error {
				return c.JSON(fiber.Map{"user": authhttp.Principal(c).Username})
			})
			r.Get("/bench/anon", func(c *fiber.Ctx) error {
				return c.JSON(fiber.Map{"user": "anonymous"})
			})
		},
	})
	tn := h.tenant(b, tenant.Restaurant)
	admin := h.admin(b, tn)
	token := admin.cookie()
	host := tn.Slug + ".localhost"
	handler := h.app.Handler()
	rc := newArg(handler)
	serve := func(path string, auth bool) time.Duration {
		rc.ResetUserValues() // as the server does between requests
		rc.Request.Reset()
		rc.Response.Reset()
		rc.Request.SetRequestURI(path)
		rc.Request.Header.SetHost(host)
		if auth {
			rc.Request.Header.Set("Authorization", "Bearer "+token)
		}
		start := time.Now()
		handler(rc)
		d := time.Since(start)
		if rc.Response.StatusCode() != 200 {
			b.Fatalf("%s: status %d: %s", path, rc.Response.StatusCode(), rc.Response.Body())
		}
		return d
	}
	var anon, authed []time.Duration
	var rts int64
	b.ReportAllocs()
	for b.Loop() {
		anon = append(anon, serve("/bench/anon", false))
		rt0 := h.rt.n.Load()
		authed = append(authed, serve("/bench/auth", true))
		rts += h.rt.n.Load() - rt0
	}
	b.ReportMetric(float64(rts)/float64(len(authed)), "rt/op")
	slices.Sort(anon)
	slices.Sort(authed)
	us := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }
	for _, p := range []int{50, 99} {
		a, z := percentile(anon, p), percentile(authed, p)
		b.ReportMetric(us(a), "anon-p"+strconv.Itoa(p)+"-us")
		b.ReportMetric(us(z), "auth-p"+strconv.Itoa(p)+"-us")
		b.ReportMetric(us(z-a), "added-p"+strconv.Itoa(p)+"-us")
	}
}

func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, len(sorted)*p/100)]
}

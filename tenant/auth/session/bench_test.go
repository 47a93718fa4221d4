package session_test

import (
	"testing"
	"time"

	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/tenant/auth"
	"github.com/tenancy/platform/tenant/auth/session"
)

// BenchmarkCheck is the session check of an authenticated request, with
// and without the rate limit counted in the same script, against the test
// Redis (REDIS_URL); rt/op is the Redis round trips per Check.
//
//	go test -run '^$' -bench Check -benchtime 20000x ./tenant/auth/session/
func BenchmarkCheck(b *testing.B) {
	for _, bc := range []struct {
		name string
		lim  *auth.Limit
	}{
		{"session", nil},
		{"session+limit", &auth.Limit{Key: "api:ip:192.0.2.1", Rate: 1 << 30, Period: time.Hour}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := platformtest.Context(b)
			c, rt := newClient(b)
			tid := newTenant(b, c)
			s := session.New(c, session.Options{})
			secret, _ := mustCreate(b, s, tid, userData(1, "ana"), policy)
			if _, _, err := s.Check(ctx, tid, secret, "192.0.2.1", bc.lim); err != nil { // loads the script
				b.Fatal(err)
			}
			before := rt.n.Load()
			n := 0
			for b.Loop() {
				_, v, err := s.Check(ctx, tid, secret, "192.0.2.1", bc.lim)
				if err != nil || !v.Allowed {
					b.Fatalf("check: %+v %v", v, err)
				}
				n++
			}
			b.ReportMetric(float64(rt.n.Load()-before)/float64(n), "rt/op")
		})
	}
}

package auth_test

import (
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/auth"
)

// BenchmarkLogin and BenchmarkBcrypt, run together, give issue 11's
// login throughput against bare bcrypt at the same cost (12, the
// default): a login is one bcrypt comparison plus two queries, a Redis
// session write and an audit insert.
//
//	go test -run '^$' -bench 'Login|Bcrypt' -benchtime 20x ./tenant/auth/
func BenchmarkLogin(b *testing.B) {
	f := newFixture(b, tenant.Restaurant, withCost(auth.DefaultCost))
	f.user(b, "bench", "staff")
	env := f.env(nil)
	for b.Loop() {
		if _, err := f.svc.Login(f.ctx, env, "bench", strongPassword); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBcrypt(b *testing.B) {
	h, err := bcrypt.GenerateFromPassword([]byte(strongPassword), auth.DefaultCost)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := bcrypt.CompareHashAndPassword(h, []byte(strongPassword)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoginVsBcrypt alternates a login and a bare comparison in each
// iteration, so both see the same load (two shared cores are noisy), and
// reports each one's ns and the throughput ratio bcrypt/login (target ≥ 0.9).
func BenchmarkLoginVsBcrypt(b *testing.B) {
	f := newFixture(b, tenant.Restaurant, withCost(auth.DefaultCost))
	f.user(b, "bench", "staff")
	h, err := bcrypt.GenerateFromPassword([]byte(strongPassword), auth.DefaultCost)
	if err != nil {
		b.Fatal(err)
	}
	env := f.env(nil)
	var login, bare time.Duration
	for b.Loop() {
		start := time.Now()
		if _, err := f.svc.Login(f.ctx, env, "bench", strongPassword); err != nil {
			b.Fatal(err)
		}
		mid := time.Now()
		if err := bcrypt.CompareHashAndPassword(h, []byte(strongPassword)); err != nil {
			b.Fatal(err)
		}
		login, bare = login+mid.Sub(start), bare+time.Since(mid)
	}
	b.ReportMetric(float64(login.Nanoseconds())/float64(b.N), "login-ns/op")
	b.ReportMetric(float64(bare.Nanoseconds())/float64(b.N), "bcrypt-ns/op")
	b.ReportMetric(float64(bare)/float64(login), "throughput-ratio")
}

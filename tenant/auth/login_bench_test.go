package auth_test

import (
	"testing"

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

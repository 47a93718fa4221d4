package pool

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/tenant"
)

// BenchmarkAcquireRelease is the fast path of a request: a warm pool, a
// slot free. "direct" is pgxpool's own Acquire/Release on the same pool,
// for the cost the manager adds (no timer is armed on this path).
func BenchmarkAcquireRelease(b *testing.B) {
	target, _ := testDB(b)
	m := New(Config{}, func(context.Context, *tenant.Tenant) (Target, error) { return target, nil })
	defer m.Close()
	ctx := platformtest.Context(b)
	tn := tenants(1)[0]
	c, err := m.Acquire(ctx, tn)
	if err != nil {
		b.Fatal(err)
	}
	c.Release()
	b.Run("manager", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c, err := m.Acquire(ctx, tn)
			if err != nil {
				b.Fatal(err)
			}
			c.Release()
		}
	})
	b.Run("direct", func(b *testing.B) {
		pc, err := pgxpool.ParseConfig(connString(target, time.Second, ""))
		if err != nil {
			b.Fatal(err)
		}
		p, err := pgxpool.NewWithConfig(ctx, pc)
		if err != nil {
			b.Fatal(err)
		}
		defer p.Close()
		if err := p.Ping(ctx); err != nil { // warm, like the manager's
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			c, err := p.Acquire(ctx)
			if err != nil {
				b.Fatal(err)
			}
			c.Release()
		}
	})
}

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
// slot free, no timer armed. "direct" is pgxpool's own Acquire/Release on
// a plain pool of the same database, for the cost the manager adds; the
// "query" variants run SELECT 1 in between (the release hook is a pgx
// tracer, called around each query too).
func BenchmarkAcquireRelease(b *testing.B) {
	target, _ := testDB(b)
	m := New(Config{}, func(context.Context, *tenant.Tenant) (Target, error) { return target, nil })
	defer m.Close()
	ctx := platformtest.Context(b)
	tn := tenants(1)[0]
	if err := query(ctx, m, tn); err != nil { // warm
		b.Fatal(err)
	}
	pc, err := pgxpool.ParseConfig(connString(target, time.Second, ""))
	if err != nil {
		b.Fatal(err)
	}
	direct, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		b.Fatal(err)
	}
	defer direct.Close()
	if err := direct.Ping(ctx); err != nil { // warm
		b.Fatal(err)
	}
	acquire := map[string]func() (*pgxpool.Conn, error){
		"manager": func() (*pgxpool.Conn, error) { return m.Acquire(ctx, tn) },
		"direct":  func() (*pgxpool.Conn, error) { return direct.Acquire(ctx) },
	}
	for _, name := range []string{"manager", "direct"} {
		for _, withQuery := range []bool{false, true} {
			label := name
			if withQuery {
				label += "/query"
			}
			b.Run(label, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					c, err := acquire[name]()
					if err != nil {
						b.Fatal(err)
					}
					if withQuery {
						var one int
						if err := c.QueryRow(ctx, `SELECT 1`).Scan(&one); err != nil {
							b.Fatal(err)
						}
					}
					c.Release()
				}
			})
		}
	}
}

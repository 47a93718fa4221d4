package seed_test

import (
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/tenancy/platform/platform/platformtest/tenanttest"
	"github.com/tenancy/platform/platform/seed"
	"github.com/tenancy/platform/tenant"
)

// BenchmarkSeed seeds a new tenant of each kind and size once per
// iteration and reports the database size and the rows. The large size
// takes minutes and ~500 MB per kind: run it by hand, not in `make test`:
//
//	go test -run '^$' -bench 'Seed/large' -benchtime 1x -timeout 30m ./platform/seed
func BenchmarkSeed(b *testing.B) {
	for _, size := range []seed.Size{seed.Small, seed.Large} {
		for _, kind := range tenant.Kinds {
			b.Run(string(size)+"/"+string(kind), func(b *testing.B) {
				e := tenanttest.New(b)
				s := seeder(e)
				var bytes, rows int64
				var last *tenanttest.Tenant
				for b.Loop() {
					b.StopTimer()
					tn := e.Create(b, kind)
					b.StartTimer()
					res, err := s.Seed(e.Ctx, tn.Slug, size)
					if err != nil {
						b.Fatal(err)
					}
					bytes, rows, last = res.DatabaseBytes, res.Rows, tn
				}
				rules := restaurantRules
				if kind == tenant.Institution {
					rules = institutionRules
				}
				b.StopTimer()
				zero(b, e, last, rules)
				// Where the bytes are.
				query(b, e, last, func(c *pgx.Conn) error {
					rs, err := c.Query(e.Ctx, `SELECT relname, pg_total_relation_size(oid) FROM pg_class
						WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace ORDER BY 2 DESC LIMIT 6`)
					if err != nil {
						return err
					}
					for rs.Next() {
						var name string
						var n int64
						if err := rs.Scan(&name, &n); err != nil {
							return err
						}
						b.Logf("%s: %.1f MiB with indexes and TOAST", name, float64(n)/(1<<20))
					}
					return rs.Err()
				})
				b.ReportMetric(float64(bytes)/(1<<20), "MiB")
				b.ReportMetric(float64(rows), "rows")
			})
		}
	}
}

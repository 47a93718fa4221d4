package catalog_test

import (
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenancy/platform/migrations"
	"github.com/tenancy/platform/platform/catalog"
	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/platform/schema"
	"github.com/tenancy/platform/tenant"
)

// TestJobRunClaims: one claim per slot; a second run of the job for the
// tenant while one is open is skipped; only the holder may heartbeat or
// finish; a live claim is never taken over, an expired one once.
func TestJobRunClaims(t *testing.T) {
	t.Parallel()
	cat, _ := platformtest.Catalog(t)
	ctx := platformtest.Context(t)
	tn := newTenant(t, cat, platformtest.Slug("jobs"))
	slot := time.Date(2026, 3, 1, 3, 7, 0, 0, time.UTC)

	run, ok, err := cat.ClaimJobRun(ctx, "backup", tn.ID, slot, "a", time.Minute)
	if err != nil || !ok || run.Status != catalog.RunRunning || run.Attempts != 1 || run.ClaimedBy != "a" || !run.Slot.Equal(slot) {
		t.Fatalf("first claim: %+v %v %v", run, ok, err)
	}
	if r, ok, err := cat.ClaimJobRun(ctx, "backup", tn.ID, slot, "b", time.Minute); err != nil || ok || r != nil {
		t.Fatalf("second claim of the slot: %+v %v %v", r, ok, err)
	}
	next := slot.Add(24 * time.Hour)
	if r, ok, err := cat.ClaimJobRun(ctx, "backup", tn.ID, next, "b", time.Minute); err != nil || ok || r.Status != catalog.RunSkipped {
		t.Fatalf("next slot while the first runs: %+v %v %v", r, ok, err)
	}
	if r, ok, err := cat.ClaimJobRun(ctx, "verify", tn.ID, next, "b", time.Minute); err != nil || !ok || r.Status != catalog.RunRunning {
		t.Fatalf("another job is independent: %+v %v %v", r, ok, err)
	}
	if ok, err := cat.HeartbeatJobRun(ctx, run.ID, "b"); err != nil || ok {
		t.Errorf("heartbeat by another replica: %v %v", ok, err)
	}
	if r, err := cat.TakeOverExpiredRun(ctx, []string{"backup"}, []string{tn.ID}, "c", time.Minute); err != nil || r != nil {
		t.Errorf("took over a live claim: %+v %v", r, err)
	}
	// Expire it (a replica that stopped a minute ago).
	if _, err := cat.Pool().Exec(ctx, `UPDATE job_runs SET heartbeat_at = now() - interval '61 seconds' WHERE id = $1`, run.ID); err != nil {
		t.Fatal(err)
	}
	r, err := cat.TakeOverExpiredRun(ctx, []string{"backup"}, []string{tn.ID}, "c", time.Minute)
	if err != nil || r == nil || r.ID != run.ID || r.ClaimedBy != "c" || r.Attempts != 2 || len(r.Failures) != 1 {
		t.Fatalf("take over: %+v %v", r, err)
	}
	if again, err := cat.TakeOverExpiredRun(ctx, []string{"backup"}, []string{tn.ID}, "d", time.Minute); err != nil || again != nil {
		t.Errorf("taken over twice: %+v %v", again, err)
	}
	if ok, err := cat.FinishJobRun(ctx, run.ID, "a", ""); err != nil || ok {
		t.Errorf("the old holder finished a run it lost: %v %v", ok, err)
	}
	if ok, err := cat.RetryJobRun(ctx, run.ID, "c", "boom", time.Hour); err != nil || !ok {
		t.Fatalf("retry: %v %v", ok, err)
	}
	if ok, err := cat.FinishJobRun(ctx, run.ID, "c", "boom again"); err != nil || !ok {
		t.Fatalf("finish: %v %v", ok, err)
	}
	rs, err := cat.JobRuns(ctx, catalog.JobRunFilter{Job: "backup", TenantID: tn.ID})
	if err != nil || len(rs) != 2 {
		t.Fatalf("runs: %+v %v", rs, err)
	}
	got := rs[1] // newest slot first
	if got.Status != catalog.RunFailed || got.Error != "boom again" || len(got.Failures) != 3 || got.FinishedAt == nil || got.NextRetryAt != nil {
		t.Errorf("finished run: %+v", got)
	}
}

// TestJobClaimsMigrationDown: every migration above 000004 (000009
// metrics, 000008 ACME cache, 000007 operator sessions, 000006 operator
// jobs, 000005 and any added since) goes down (000005's runs that the old
// status set cannot hold go with it) and up again.
func TestJobClaimsMigrationDown(t *testing.T) {
	t.Parallel()
	cat, url := platformtest.Catalog(t)
	ctx := platformtest.Context(t)
	tn := newTenant(t, cat, platformtest.Slug("jobs"))
	if err := cat.SkipJobRun(ctx, "backup", tn.ID, time.Now(), "a"); err != nil {
		t.Fatal(err)
	}
	pc, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	target := schema.Target{Name: "catalog", Kind: "catalog", Conn: pc, Source: migrations.Catalog()}
	vs, err := schema.Versions(target.Source)
	if err != nil {
		t.Fatal(err)
	}
	above := 0
	for _, v := range vs {
		if v > 4 {
			above++
		}
	}
	st, err := schema.Down(ctx, target, above)
	if err != nil || st.Pending != above || st.Version != 4 {
		t.Fatalf("down: %+v %v", st, err)
	}
	var n int
	if err := cat.Pool().QueryRow(ctx, `SELECT count(*) FROM job_runs`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("runs after down: %d %v", n, err)
	}
	var gone bool
	if err := cat.Pool().QueryRow(ctx, `SELECT to_regclass('operator_jobs') IS NULL`).Scan(&gone); err != nil || !gone {
		t.Fatalf("operator_jobs after down: gone %v %v", gone, err)
	}
	if err := cat.Pool().QueryRow(ctx, `SELECT to_regclass('operator_sessions') IS NULL`).Scan(&gone); err != nil || !gone {
		t.Fatalf("operator_sessions after down: gone %v %v", gone, err)
	}
	if err := cat.Pool().QueryRow(ctx, `SELECT to_regclass('tenant_schema') IS NULL`).Scan(&gone); err != nil || !gone {
		t.Fatalf("tenant_schema after down: gone %v %v", gone, err)
	}
	if err := cat.Pool().QueryRow(ctx, `SELECT to_regclass('acme_cache') IS NULL`).Scan(&gone); err != nil || !gone {
		t.Fatalf("acme_cache after down: gone %v %v", gone, err)
	}
	if st, err := schema.Up(ctx, target); err != nil || st.Pending != 0 {
		t.Fatalf("up again: %+v %v", st, err)
	}
}

// BenchmarkClaimJobRun: claim and finish one slot, the catalog work of
// one scheduled run (a replica that loses the claim does only the insert).
func BenchmarkClaimJobRun(b *testing.B) {
	cat, _ := platformtest.Catalog(b)
	ctx := platformtest.Context(b)
	srv, err := cat.EnsureDBServer(ctx, "default", "127.0.0.1", 5432)
	if err != nil {
		b.Fatal(err)
	}
	slug := platformtest.Slug("bench")
	tn := &tenant.Tenant{Slug: slug, Kind: tenant.Restaurant, Name: slug, Database: tenant.DatabaseName(slug), TimeZone: "UTC"}
	if err := cat.CreateTenant(ctx, tn, srv.ID); err != nil {
		b.Fatal(err)
	}
	slot := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b.ResetTimer()
	for i := range b.N {
		run, ok, err := cat.ClaimJobRun(ctx, "bench", tn.ID, slot.Add(time.Duration(i)*time.Second), "a", time.Minute)
		if err != nil || !ok {
			b.Fatal(ok, err)
		}
		if ok, err := cat.FinishJobRun(ctx, run.ID, "a", ""); err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}

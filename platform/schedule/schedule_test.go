package schedule_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenancy/platform/platform/catalog"
	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/platform/schedule"
	"github.com/tenancy/platform/tenant"
)

// Specs in these tests: "@every 1s" fires on every whole second (aligned,
// so replicas agree on the slots); 6-field specs have a leading seconds
// field.

func newTenant(t *testing.T, cat *catalog.DB, tz string) *tenant.Tenant {
	t.Helper()
	ctx := platformtest.Context(t)
	srv, err := cat.EnsureDBServer(ctx, "default", "127.0.0.1", 5432)
	if err != nil {
		t.Fatal(err)
	}
	slug := platformtest.Slug("sch")
	tn := &tenant.Tenant{Slug: slug, Kind: tenant.Restaurant, Name: slug, Database: tenant.DatabaseName(slug), TimeZone: tz}
	if err := cat.CreateTenant(ctx, tn, srv.ID); err != nil {
		t.Fatal(err)
	}
	return tn
}

// replica opens a catalog connection of its own on url, like another
// process would.
func replica(t *testing.T, url string) *catalog.DB {
	t.Helper()
	db, err := catalog.Open(platformtest.Context(t), url+"&pool_max_conns=3")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db
}

func allTenants(cat *catalog.DB) func(context.Context) ([]*tenant.Tenant, error) {
	return func(ctx context.Context) ([]*tenant.Tenant, error) {
		return cat.ListTenants(ctx, catalog.TenantFilter{})
	}
}

func every(spec string) func(*tenant.Tenant) string {
	return func(*tenant.Tenant) string { return spec }
}

func start(t *testing.T, cfg schedule.Config) *schedule.Scheduler {
	t.Helper()
	if cfg.Replica == "" {
		cfg.Replica = "r-" + platformtest.Rand(6)
	}
	if cfg.Tenants == nil {
		cfg.Tenants = allTenants(cfg.Catalog)
	}
	s, err := schedule.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.Start(platformtest.Context(t))
	t.Cleanup(s.Stop)
	return s
}

func runs(t *testing.T, cat *catalog.DB, job, tenantID string) []*catalog.JobRun {
	t.Helper()
	rs, err := cat.JobRuns(platformtest.Context(t), catalog.JobRunFilter{Job: job, TenantID: tenantID, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func countStatus(rs []*catalog.JobRun, status string) int {
	n := 0
	for _, r := range rs {
		if r.Status == status {
			n++
		}
	}
	return n
}

// TestThreeReplicasRunEachSlotOnce: three schedulers on one catalog, a job
// every second for two tenants: every slot runs exactly once.
func TestThreeReplicasRunEachSlotOnce(t *testing.T) {
	t.Parallel()
	cat, url := platformtest.Catalog(t)
	a, b := newTenant(t, cat, "UTC"), newTenant(t, cat, "America/Santiago")
	var mu sync.Mutex
	ran := map[string]int{} // tenant|slot → executions
	byReplica := map[string]int{}
	var scheds []*schedule.Scheduler
	for i := range 3 {
		name := fmt.Sprintf("replica-%d", i)
		db := replica(t, url)
		scheds = append(scheds, start(t, schedule.Config{Catalog: db, Replica: name, ClaimTTL: 10 * time.Second,
			Jobs: []schedule.Job{{Name: "tick", Default: every("@every 1s"),
				Run: func(ctx context.Context, tn *tenant.Tenant, slot time.Time) error {
					mu.Lock()
					defer mu.Unlock()
					ran[tn.ID+"|"+slot.UTC().Format(time.RFC3339Nano)]++
					byReplica[name]++
					return nil
				}}}}))
	}
	platformtest.Eventually(t, 30*time.Second, "5 slots succeeded per tenant", func() bool {
		return countStatus(runs(t, cat, "tick", a.ID), catalog.RunSucceeded) >= 5 &&
			countStatus(runs(t, cat, "tick", b.ID), catalog.RunSucceeded) >= 5
	})
	for _, s := range scheds {
		s.Stop()
	}
	mu.Lock()
	defer mu.Unlock()
	for k, n := range ran {
		if n != 1 {
			t.Errorf("slot %s ran %d times", k, n)
		}
	}
	var rows int
	for _, tn := range []*tenant.Tenant{a, b} {
		for _, r := range runs(t, cat, "tick", tn.ID) {
			if r.Status == catalog.RunSucceeded {
				rows++
				if ran[tn.ID+"|"+r.Slot.UTC().Format(time.RFC3339Nano)] != 1 {
					t.Errorf("succeeded run %d (slot %s) did not run exactly once here", r.ID, r.Slot)
				}
				if r.Slot.Nanosecond() != 0 {
					t.Errorf("slot %s is not on the second", r.Slot)
				}
			}
		}
	}
	if rows != len(ran) {
		t.Errorf("%d executions, %d succeeded runs recorded", len(ran), rows)
	}
	t.Logf("executions per replica: %v", byReplica)
}

// TestPanicIsRecordedAndSchedulerGoesOn: a panic fails its slot (with the
// stack in the log) and the next slots still run.
func TestPanicIsRecordedAndSchedulerGoesOn(t *testing.T) {
	t.Parallel()
	cat, _ := platformtest.Catalog(t)
	tn := newTenant(t, cat, "UTC")
	logs := &platformtest.LogSink{}
	var calls atomic.Int32
	start(t, schedule.Config{Catalog: cat, Logger: slog.New(slog.NewJSONHandler(logs, nil)),
		Jobs: []schedule.Job{{Name: "boom", Default: every("@every 1s"),
			Run: func(ctx context.Context, _ *tenant.Tenant, _ time.Time) error {
				if calls.Add(1) == 1 {
					panic("boom at first")
				}
				return nil
			}}}})
	platformtest.Eventually(t, 20*time.Second, "a failed then two succeeded slots", func() bool {
		rs := runs(t, cat, "boom", tn.ID)
		return countStatus(rs, catalog.RunFailed) == 1 && countStatus(rs, catalog.RunSucceeded) >= 2
	})
	for _, r := range runs(t, cat, "boom", tn.ID) {
		if r.Status == catalog.RunFailed && r.Error != "panic: boom at first" {
			t.Errorf("failed run's error = %q", r.Error)
		}
	}
	ls := logs.Lines(t, "schedule: job panicked")
	if len(ls) != 1 || !strings.Contains(fmt.Sprint(ls[0]["stack"]), "schedule_test.go") {
		t.Errorf("panic log lines: %v", ls)
	}
}

// TestSlowJobNeverOverlaps: a job slower than its period, on two replicas,
// never runs twice at once for a tenant; the slots meanwhile are skipped
// and recorded so.
func TestSlowJobNeverOverlaps(t *testing.T) {
	t.Parallel()
	cat, url := platformtest.Catalog(t)
	tn := newTenant(t, cat, "UTC")
	var inflight, peak, calls atomic.Int32
	release := make(chan struct{})
	job := schedule.Job{Name: "slow", Default: every("@every 1s"),
		Run: func(ctx context.Context, _ *tenant.Tenant, _ time.Time) error {
			n := inflight.Add(1)
			defer inflight.Add(-1)
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
			if calls.Add(1) == 1 {
				select { // the first run lasts until the test saw skipped slots
				case <-release:
				case <-ctx.Done():
				}
			}
			return nil
		}}
	start(t, schedule.Config{Catalog: replica(t, url), Replica: "one", ClaimTTL: 10 * time.Second, Jobs: []schedule.Job{job}})
	start(t, schedule.Config{Catalog: replica(t, url), Replica: "two", ClaimTTL: 10 * time.Second, Jobs: []schedule.Job{job}})
	platformtest.Eventually(t, 20*time.Second, "3 skipped slots while the first runs", func() bool {
		return countStatus(runs(t, cat, "slow", tn.ID), catalog.RunSkipped) >= 3
	})
	if got := calls.Load(); got != 1 {
		t.Fatalf("%d calls while the first was running", got)
	}
	close(release)
	platformtest.Eventually(t, 20*time.Second, "slots run again after the slow one", func() bool {
		return countStatus(runs(t, cat, "slow", tn.ID), catalog.RunSucceeded) >= 3
	})
	if p := peak.Load(); p != 1 {
		t.Errorf("%d runs at once", p)
	}
}

// TestRetriesThenAlert: a failing job is retried with backoff, each
// failure recorded, and the last one is posted to a real HTTP server,
// with the credentials of a URL in its error removed.
func TestRetriesThenAlert(t *testing.T) {
	t.Parallel()
	cat, _ := platformtest.Catalog(t)
	tn := newTenant(t, cat, "UTC")
	got := make(chan schedule.Alert, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var a schedule.Alert
		b, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" || json.Unmarshal(b, &a) != nil {
			http.Error(w, "bad alert", http.StatusBadRequest)
			return
		}
		got <- a
	}))
	t.Cleanup(srv.Close)
	slot := time.Now().UTC().Add(2 * time.Second).Truncate(time.Second)
	spec := fmt.Sprintf("CRON_TZ=UTC %d %d %d * * *", slot.Second(), slot.Minute(), slot.Hour()) // once a day, 2 s from now
	var calls atomic.Int32
	start(t, schedule.Config{Catalog: cat, Alert: schedule.Webhook(srv.URL, srv.Client()),
		Jobs: []schedule.Job{{Name: "fails", Default: every(spec), Retry: schedule.Backoff{Attempts: 3, Base: 200 * time.Millisecond, Max: 300 * time.Millisecond},
			Run: func(ctx context.Context, _ *tenant.Tenant, _ time.Time) error {
				calls.Add(1)
				return errors.New("dump failed:\nconnect postgres://backup:s3cr3t@db.internal/x refused")
			}}}})
	var a schedule.Alert
	select {
	case a = <-got:
	case <-time.After(30 * time.Second):
		t.Fatal("no alert")
	}
	if a.Job != "fails" || a.Tenant != tn.Slug || a.TenantID != tn.ID || !a.Slot.Equal(slot) || a.Attempts != 3 {
		t.Errorf("alert = %+v", a)
	}
	if strings.Contains(a.Error, "s3cr3t") || !strings.Contains(a.Error, "postgres://***@db.internal") || strings.Contains(a.Error, "\n") {
		t.Errorf("alert error = %q", a.Error)
	}
	if n := calls.Load(); n != 3 {
		t.Errorf("%d calls, want 3", n)
	}
	rs := runs(t, cat, "fails", tn.ID)
	if len(rs) != 1 || rs[0].Status != catalog.RunFailed || rs[0].Attempts != 3 || len(rs[0].Failures) != 3 || rs[0].Error != a.Error {
		t.Fatalf("runs = %+v", rs)
	}
	f := rs[0].Failures
	for i, want := range []time.Duration{200 * time.Millisecond, 300 * time.Millisecond} { // Base, then 2·Base capped at Max
		if gap := f[i+1].At.Sub(f[i].At); gap < want {
			t.Errorf("attempt %d started %s after the failure of %d, want ≥ %s", i+2, gap, i+1, want)
		}
		if f[i].Attempt != i+1 {
			t.Errorf("failure %d is of attempt %d", i, f[i].Attempt)
		}
	}
}

// TestExpiredClaimIsTakenOver: a replica that claimed a slot and died
// (never heartbeats, never finishes) loses it after the claim TTL, and
// another replica runs it, counting the lost attempt.
func TestExpiredClaimIsTakenOver(t *testing.T) {
	t.Parallel()
	cat, _ := platformtest.Catalog(t)
	ctx := platformtest.Context(t)
	tn := newTenant(t, cat, "UTC")
	slot := time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC)
	dead, claimed, err := cat.ClaimJobRun(ctx, "drill", tn.ID, slot, "dead", time.Second)
	if err != nil || !claimed {
		t.Fatalf("claim: %v %v", claimed, err)
	}
	if _, again, err := cat.ClaimJobRun(ctx, "drill", tn.ID, slot, "other", time.Second); err != nil || again {
		t.Fatalf("second claim of one slot: %v %v", again, err)
	}
	// Not expired under a long TTL: nobody takes it.
	if r, err := cat.TakeOverExpiredRun(ctx, []string{"drill"}, []string{tn.ID}, "early", time.Hour); err != nil || r != nil {
		t.Fatalf("take over a live claim: %+v %v", r, err)
	}
	var ran atomic.Int32
	start(t, schedule.Config{Catalog: cat, Replica: "heir", ClaimTTL: time.Second, Sweep: 100 * time.Millisecond,
		Jobs: []schedule.Job{{Name: "drill", Default: every("0 0 1 1 *"), Retry: schedule.Backoff{Attempts: 3},
			Run: func(ctx context.Context, _ *tenant.Tenant, s time.Time) error {
				if !s.Equal(slot) {
					return fmt.Errorf("slot %s", s)
				}
				ran.Add(1)
				return nil
			}}}})
	platformtest.Eventually(t, 20*time.Second, "the dead replica's run taken over and done", func() bool {
		rs := runs(t, cat, "drill", tn.ID)
		return len(rs) == 1 && rs[0].Status == catalog.RunSucceeded
	})
	r := runs(t, cat, "drill", tn.ID)[0]
	if r.ID != dead.ID || r.ClaimedBy != "heir" || r.Attempts != 2 || ran.Load() != 1 ||
		len(r.Failures) != 1 || !strings.Contains(r.Failures[0].Error, "dead") {
		t.Errorf("run = %+v, ran %d", r, ran.Load())
	}
}

// TestStopReleasesClaim: a replica stopping mid-job releases its claim,
// and another replica takes the slot over at once (not after the TTL),
// without counting the interrupted attempt.
func TestStopReleasesClaim(t *testing.T) {
	t.Parallel()
	cat, url := platformtest.Catalog(t)
	tn := newTenant(t, cat, "UTC")
	slot := time.Now().UTC().Add(2 * time.Second).Truncate(time.Second)
	spec := fmt.Sprintf("%d %d %d * * *", slot.Second(), slot.Minute(), slot.Hour())
	started := make(chan struct{}, 1)
	first := start(t, schedule.Config{Catalog: replica(t, url), Replica: "leaving", ClaimTTL: time.Hour,
		Jobs: []schedule.Job{{Name: "long", Default: every(spec), Retry: schedule.Backoff{Attempts: 1},
			Run: func(ctx context.Context, _ *tenant.Tenant, _ time.Time) error {
				started <- struct{}{}
				<-ctx.Done()
				return ctx.Err()
			}}}})
	select {
	case <-started:
	case <-time.After(20 * time.Second):
		t.Fatal("the job never started")
	}
	first.Stop()
	var done atomic.Int32
	start(t, schedule.Config{Catalog: replica(t, url), Replica: "staying", ClaimTTL: time.Hour, Sweep: 100 * time.Millisecond,
		Jobs: []schedule.Job{{Name: "long", Default: every("0 0 1 1 *"), Retry: schedule.Backoff{Attempts: 1},
			Run: func(context.Context, *tenant.Tenant, time.Time) error { done.Add(1); return nil }}}})
	platformtest.Eventually(t, 20*time.Second, "the released run done by the other replica", func() bool {
		rs := runs(t, cat, "long", tn.ID)
		return len(rs) == 1 && rs[0].Status == catalog.RunSucceeded
	})
	r := runs(t, cat, "long", tn.ID)[0]
	if r.ClaimedBy != "staying" || r.Attempts != 1 || len(r.Failures) != 0 || done.Load() != 1 {
		t.Errorf("run = %+v", r)
	}
}

// TestSpecsFollowTheTenants: the tenant's own schedule (a setting) is used
// in its time zone, a bad one is logged once and the default used, and a
// change is picked up on reload.
func TestSpecsFollowTheTenants(t *testing.T) {
	t.Parallel()
	cat, _ := platformtest.Catalog(t)
	ctx := platformtest.Context(t)
	cl, mx := newTenant(t, cat, "America/Santiago"), newTenant(t, cat, "America/Mexico_City")
	set := func(slug, spec string) {
		t.Helper()
		if _, err := cat.UpdateSettings(ctx, slug, func(m map[string]any) (map[string]any, error) {
			m["backup_schedule"] = spec
			return m, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	set(cl.Slug, "15 4 * * *")
	set(mx.Slug, "not a schedule")
	logs := &platformtest.LogSink{}
	s := start(t, schedule.Config{Catalog: cat, Logger: slog.New(slog.NewJSONHandler(logs, nil)), Reload: time.Hour,
		Jobs: []schedule.Job{{Name: "backup", Spec: schedule.SettingSpec("backup_schedule"), Default: schedule.DefaultBackupSpec,
			Run: func(context.Context, *tenant.Tenant, time.Time) error { return nil }}}})
	next := func(id string) (schedule.Entry, bool) {
		for _, e := range s.Entries() {
			if e.TenantID == id {
				return e, true
			}
		}
		return schedule.Entry{}, false
	}
	platformtest.Eventually(t, 10*time.Second, "both tenants scheduled", func() bool {
		_, a := next(cl.ID)
		_, b := next(mx.ID)
		return a && b
	})
	santiago, _ := time.LoadLocation("America/Santiago")
	mexico, _ := time.LoadLocation("America/Mexico_City")
	e, _ := next(cl.ID)
	if l := e.Next.In(santiago); l.Hour() != 4 || l.Minute() != 15 || e.Spec != "15 4 * * *" {
		t.Errorf("Santiago tenant: spec %q next %s", e.Spec, l)
	}
	e, _ = next(mx.ID)
	if l := e.Next.In(mexico); l.Hour() != 3 || l.Minute() != schedule.OffsetMinute(mx) || e.Spec != schedule.DefaultBackupSpec(mx) {
		t.Errorf("Mexico tenant (bad spec → default): spec %q next %s", e.Spec, l)
	}
	s.Reload()
	set(cl.Slug, "@daily")
	s.Reload()
	platformtest.Eventually(t, 10*time.Second, "the changed spec picked up", func() bool {
		e, _ := next(cl.ID)
		return e.Spec == "@daily"
	})
	e, _ = next(cl.ID)
	if l := e.Next.In(santiago); l.Hour() != 0 || l.Minute() != 0 {
		t.Errorf("@daily for Santiago next at %s", l)
	}
	// The same spec in another zone is another schedule.
	if _, err := cat.Pool().Exec(ctx, `UPDATE tenants SET time_zone = 'America/Mexico_City' WHERE id = $1`, cl.ID); err != nil {
		t.Fatal(err)
	}
	s.Reload()
	platformtest.Eventually(t, 10*time.Second, "the changed time zone picked up", func() bool {
		e, _ := next(cl.ID)
		l := e.Next.In(mexico)
		return l.Hour() == 0 && l.Minute() == 0
	})
	if n := len(logs.Lines(t, "schedule: bad schedule, using the default")); n != 1 {
		t.Errorf("bad schedule logged %d times, want once", n)
	}
}

// TestCatchUp: a replica starting after a slot that nobody ran (every
// replica was down) runs it late, once, when the job asks for catch-up.
func TestCatchUp(t *testing.T) {
	t.Parallel()
	cat, _ := platformtest.Catalog(t)
	tn := newTenant(t, cat, "UTC")
	missed := time.Now().UTC().Add(-3 * time.Second).Truncate(time.Second)
	spec := fmt.Sprintf("%d %d %d * * *", missed.Second(), missed.Minute(), missed.Hour())
	var ran atomic.Int32
	var got atomic.Value
	start(t, schedule.Config{Catalog: cat,
		Jobs: []schedule.Job{{Name: "late", Default: every(spec), CatchUp: time.Minute,
			Run: func(_ context.Context, _ *tenant.Tenant, slot time.Time) error {
				ran.Add(1)
				got.Store(slot)
				return nil
			}}}})
	platformtest.Eventually(t, 20*time.Second, "the missed slot run", func() bool {
		return countStatus(runs(t, cat, "late", tn.ID), catalog.RunSucceeded) == 1
	})
	if s, _ := got.Load().(time.Time); ran.Load() != 1 || !s.Equal(missed) {
		t.Errorf("ran %d times, slot %s, want %s", ran.Load(), s, missed)
	}
}

// TestOldRunsArePruned: a replica's sweep deletes finished runs older
// than KeepRuns and leaves recent ones.
func TestOldRunsArePruned(t *testing.T) {
	t.Parallel()
	cat, _ := platformtest.Catalog(t)
	ctx := platformtest.Context(t)
	tn := newTenant(t, cat, "UTC")
	for i, age := range []string{"40 days", "1 day"} {
		slot := time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC).AddDate(0, 0, i)
		if _, err := cat.Pool().Exec(ctx, `INSERT INTO job_runs (job, tenant_id, slot, status, claimed_by, finished_at)
			VALUES ('backup', $1, $2, 'succeeded', 'gone', now() - $3::interval)`, tn.ID, slot, age); err != nil {
			t.Fatal(err)
		}
	}
	start(t, schedule.Config{Catalog: cat, ClaimTTL: time.Second, Sweep: 50 * time.Millisecond, KeepRuns: 30 * 24 * time.Hour,
		Jobs: []schedule.Job{{Name: "backup", Default: every("0 0 1 1 *"),
			Run: func(context.Context, *tenant.Tenant, time.Time) error { return nil }}}})
	platformtest.Eventually(t, 20*time.Second, "the 40-day-old run deleted", func() bool {
		return len(runs(t, cat, "backup", tn.ID)) == 1
	})
	if r := runs(t, cat, "backup", tn.ID)[0]; !r.Slot.Equal(time.Date(2026, 1, 3, 3, 4, 0, 0, time.UTC)) {
		t.Errorf("kept %+v, want the recent run", r)
	}
}

package metrics

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
)

func gather(t *testing.T, reg *prometheus.Registry) (map[string]*dto.MetricFamily, error) {
	t.Helper()
	fams, err := reg.Gather()
	out := map[string]*dto.MetricFamily{}
	for _, f := range fams {
		out[f.GetName()] = f
	}
	return out, err
}

// gauges returns the gauge values of family name by their one label's value.
func gauges(fams map[string]*dto.MetricFamily, name string) map[string]float64 {
	out := map[string]float64{}
	for _, m := range fams[name].GetMetric() {
		l := ""
		if len(m.GetLabel()) > 0 {
			l = m.GetLabel()[0].GetValue()
		}
		out[l] = m.GetGauge().GetValue()
	}
	return out
}

// TestFleetCollector: the per-tenant gauges and their absences, the
// latest verification, pending and dirty counts, the tenants by state
// with every state present, and the cache: one read per TTL, a failed read
// reported and not cached.
func TestFleetCollector(t *testing.T) {
	at := func(s int64) *time.Time { tm := time.Unix(s, 0); return &tm }
	v := func(n int64) *int64 { return &n }
	fleet := Fleet{
		ByStatus: map[string]int{"active": 3, "suspended": 1, "deleted": 2},
		Tenants: []FleetTenant{
			// Backed up, failed once, verified after its last failed verify.
			{Slug: "alpha", Kind: "restaurant", Status: "active", SchemaVersion: v(9),
				LastBackup: at(1000), LastBackupDuration: 1500 * time.Millisecond, LastBackupSize: 4096,
				LastBackupFailure: at(900), VerifiedAt: at(1100), VerifyFailedAt: at(1050)},
			// Never backed up; its last verification failed; behind.
			{Slug: "bravo", Kind: "institution", Status: "active", SchemaVersion: v(3),
				VerifiedAt: at(500), VerifyFailedAt: at(600)},
			// Never recorded (pending), dirty elsewhere does not matter.
			{Slug: "charlie", Kind: "restaurant", Status: "suspended"},
			// Provisioning: not migrated by the fleet, not scheduled; dirty.
			{Slug: "delta", Kind: "restaurant", Status: "provisioning", SchemaVersion: v(1), SchemaDirty: true},
			{Slug: "echo", Kind: "restaurant", Status: "active", SchemaVersion: v(9)},
		},
	}
	var reads atomic.Int32
	var fail atomic.Bool
	now := time.Unix(10_000, 0)
	var clock atomic.Int64
	clock.Store(now.UnixNano())
	reg := prometheus.NewRegistry()
	c := NewFleetCollector(context.Background(), FleetConfig{
		Read: func(ctx context.Context) (Fleet, error) {
			if _, ok := ctx.Deadline(); !ok {
				t.Error("a read without a deadline")
			}
			reads.Add(1)
			if fail.Load() {
				return Fleet{}, errors.New("catalog down")
			}
			return fleet, nil
		},
		Latest:    map[string]uint{"restaurant": 9, "institution": 5},
		Statuses:  []string{"provisioning", "active", "suspended", "maintenance", "deleted"},
		Scheduled: func(s string) bool { return s == "active" },
		Migrated:  func(s string) bool { return s == "active" || s == "suspended" || s == "maintenance" },
		TTL:       20 * time.Second,
		Now:       func() time.Time { return time.Unix(0, clock.Load()) },
	})
	if err := reg.Register(c); err != nil {
		t.Fatal(err)
	}
	fams, err := gather(t, reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		want map[string]float64
	}{
		{"platform_backup_scheduled", map[string]float64{"alpha": 1, "bravo": 1, "charlie": 0, "delta": 0, "echo": 1}},
		{"platform_backup_last_success_timestamp_seconds", map[string]float64{"alpha": 1000}},
		{"platform_backup_last_duration_seconds", map[string]float64{"alpha": 1.5}},
		{"platform_backup_last_size_bytes", map[string]float64{"alpha": 4096}},
		{"platform_backup_last_failure_timestamp_seconds", map[string]float64{"alpha": 900}},
		{"platform_backup_verify_last_timestamp_seconds", map[string]float64{"alpha": 1100, "bravo": 600}},
		{"platform_backup_verify_last_success", map[string]float64{"alpha": 1, "bravo": 0}},
		{"platform_tenants", map[string]float64{"provisioning": 0, "active": 3, "suspended": 1, "maintenance": 0, "deleted": 2}},
		// bravo (3 < 5) and charlie (unrecorded); delta is not the fleet's.
		{"platform_tenant_migrations_pending", map[string]float64{"": 2}},
		{"platform_tenant_migrations_dirty", map[string]float64{"": 1}},
	} {
		got := gauges(fams, tc.name)
		if len(got) != len(tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
			continue
		}
		for k, w := range tc.want {
			if g, ok := got[k]; !ok || g != w {
				t.Errorf("%s{%s} = %v (present %v), want %v", tc.name, k, g, ok, w)
			}
		}
	}

	// Cached: scrapes within the TTL read nothing.
	for range 3 {
		if _, err := gather(t, reg); err != nil {
			t.Fatal(err)
		}
	}
	if n := reads.Load(); n != 1 {
		t.Fatalf("%d reads for 4 scrapes within the TTL, want 1", n)
	}
	// Past the TTL with the catalog down: the scrape reports the error, the
	// next one reads again.
	clock.Add(int64(21 * time.Second))
	fail.Store(true)
	if _, err := gather(t, reg); err == nil || !strings.Contains(err.Error(), "catalog down") {
		t.Fatalf("scrape with the catalog down: %v", err)
	}
	fail.Store(false)
	if _, err := gather(t, reg); err != nil {
		t.Fatal(err)
	}
	if n := reads.Load(); n != 3 {
		t.Errorf("%d reads, want 3 (a failed read is not cached)", n)
	}
}

// TestLatestVerify: the newer of the two times wins; a tie is a pass.
func TestLatestVerify(t *testing.T) {
	a, b := time.Unix(100, 0), time.Unix(200, 0)
	for _, tc := range []struct {
		ok, failed *time.Time
		at         time.Time
		passed     bool
		seen       bool
	}{
		{nil, nil, time.Time{}, false, false},
		{&a, nil, a, true, true},
		{nil, &a, a, false, true},
		{&a, &b, b, false, true},
		{&b, &a, b, true, true},
		{&a, &a, a, true, true},
	} {
		at, passed, seen := latestVerify(FleetTenant{VerifiedAt: tc.ok, VerifyFailedAt: tc.failed})
		if !at.Equal(tc.at) || passed != tc.passed || seen != tc.seen {
			t.Errorf("verified %v failed %v: %v %v %v, want %v %v %v", tc.ok, tc.failed, at, passed, seen, tc.at, tc.passed, tc.seen)
		}
	}
}

// TestRuns: every label value from 0, results by error, unknown kinds
// bounded, negative lags as 0.
func TestRuns(t *testing.T) {
	reg := prometheus.NewRegistry()
	r, err := NewRuns(reg)
	if err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(reg, "platform_backup_runs_total", "platform_provision_total", "platform_migrations_total"); n != 8 {
		t.Errorf("%d series before any run, want 8 (every kind and result)", n)
	}
	r.ObserveBackupRun(KindBackup, time.Second, nil)
	r.ObserveBackupRun(KindVerify, time.Second, errors.New("corrupt"))
	r.ObserveBackupRun("restore", time.Second, nil) // not a kind: counts as backup
	r.ObserveProvision(2*time.Second, nil)
	r.ObserveProvision(time.Second, errors.New("vault down"))
	r.ObserveMigration(nil)
	r.ObserveMigration(errors.New("dirty"))
	r.ObserveMigration(errors.New("dirty"))
	r.NoticeLag(-time.Second)
	r.NoticeLag(20 * time.Millisecond)
	for _, tc := range []struct {
		c    prometheus.Collector
		want float64
	}{
		{r.backups.WithLabelValues(KindBackup, RunOK), 2},
		{r.backups.WithLabelValues(KindBackup, RunFailed), 0},
		{r.backups.WithLabelValues(KindVerify, RunFailed), 1},
		{r.provisions.WithLabelValues(RunOK), 1},
		{r.provisions.WithLabelValues(RunFailed), 1},
		{r.migrations.WithLabelValues(RunOK), 1},
		{r.migrations.WithLabelValues(RunFailed), 2},
	} {
		if got := testutil.ToFloat64(tc.c); got != tc.want {
			t.Errorf("%v = %v, want %v", tc.c, got, tc.want)
		}
	}
	fams, err := gather(t, reg)
	if err != nil {
		t.Fatal(err)
	}
	h := fams["platform_resolver_notification_lag_seconds"].GetMetric()[0].GetHistogram()
	if h.GetSampleCount() != 2 || h.GetSampleSum() < 0.0199 || h.GetSampleSum() > 0.0201 {
		t.Errorf("lag: %d samples summing to %v, want 2 summing to 0.02 (the negative as 0)", h.GetSampleCount(), h.GetSampleSum())
	}
	if n := testutil.CollectAndCount(reg, "platform_backup_runs_total"); n != 4 {
		t.Errorf("%d backup run series, want 4", n)
	}
}

// TestDependencyCollector: a check that answers is 1, one that fails or
// hangs is 0, and a scrape waits for the timeout at most, with the checks
// run concurrently.
func TestDependencyCollector(t *testing.T) {
	reg := prometheus.NewRegistry()
	const timeout = 200 * time.Millisecond
	hang := func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
	if err := reg.Register(NewDependencyCollector(context.Background(), map[string]func(context.Context) error{
		"catalog": func(context.Context) error { return nil },
		"redis":   func(context.Context) error { return errors.New("connection refused") },
		"vault":   hang,
		"other":   hang,
	}, timeout)); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	fams, err := gather(t, reg)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d >= 2*timeout {
		t.Errorf("scrape took %v with two checks hanging, want under %v (concurrent, bounded)", d, 2*timeout)
	}
	got := gauges(fams, "platform_dependency_up")
	want := map[string]float64{"catalog": 1, "redis": 0, "vault": 0, "other": 0}
	if len(got) != len(want) {
		t.Fatalf("dependency_up %v, want %v", got, want)
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("dependency_up{%s} = %v, want %v", k, got[k], w)
		}
	}
}

// BenchmarkFleetScrape: a scrape of the fleet gauges of 1,000 tenants,
// every one backed up, failed once and verified (7,000 series), from the
// cache.
func BenchmarkFleetScrape(b *testing.B) {
	at := time.Unix(1_700_000_000, 0)
	v := int64(9)
	f := Fleet{ByStatus: map[string]int{"active": 1000}}
	for i := range 1000 {
		f.Tenants = append(f.Tenants, FleetTenant{Slug: "tenant-" + strconv.Itoa(i), Kind: "restaurant", Status: "active",
			SchemaVersion: &v, LastBackup: &at, LastBackupDuration: time.Minute, LastBackupSize: 1 << 20,
			LastBackupFailure: &at, VerifiedAt: &at})
	}
	reg := prometheus.NewRegistry()
	if err := reg.Register(NewFleetCollector(context.Background(), FleetConfig{
		Read: func(context.Context) (Fleet, error) { return f, nil }, Latest: map[string]uint{"restaurant": 9},
		Statuses: []string{"active"}, Scheduled: func(string) bool { return true }, TTL: time.Hour})); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		fams, err := reg.Gather()
		if err != nil || len(fams) != 10 {
			b.Fatalf("%d families, %v", len(fams), err)
		}
	}
}

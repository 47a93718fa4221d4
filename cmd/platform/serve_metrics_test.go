package main

import (
	"context"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/tenant/metrics"
)

// scrape GETs /metrics of the admin listener and parses the text format.
func (ts *testServer) scrape(t *testing.T, hdr ...string) map[string]*dto.MetricFamily {
	t.Helper()
	req, err := http.NewRequest("GET", ts.adminURL+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 {
		t.Fatalf("GET /metrics: %d %s", res.StatusCode, b)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("GET /metrics: Content-Type %q, want the text format", ct)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(string(b)))
	if err != nil {
		t.Fatalf("parse /metrics: %v\n%s", err, b)
	}
	return fams
}

// value is the value of the series of family name whose labels include
// want (a counter, a gauge, or a histogram's count); found is false when
// no series matches.
// growth is how much a series grew from before to after (it must be in
// after).
func growth(t *testing.T, before, after map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	t.Helper()
	v1, _ := value(before, name, labels)
	v2, ok := value(after, name, labels)
	if !ok {
		t.Errorf("%s%v: no such series", name, labels)
	}
	return v2 - v1
}

func value(fams map[string]*dto.MetricFamily, name string, want map[string]string) (v float64, found bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for k, w := range want {
			if have[k] != w {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			v += m.Counter.GetValue()
		case m.Gauge != nil:
			v += m.Gauge.GetValue()
		case m.Histogram != nil:
			v += float64(m.Histogram.GetSampleCount())
		}
		found = true
	}
	return v, found
}

// TestServeMetrics scrapes a real serve after real requests: the request
// series by kind, route template, method and code, the latency histogram,
// the top-N tenants, pools, budgets, resolver and runtime; label values
// carry no raw path; tenant hosts do not serve /metrics.
func TestServeMetrics(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	ts := c.serve(t, map[string]string{"PLATFORM_RATE_LIMIT_LOGIN": "2/1h"})
	a := ts.create(t, "restaurant")
	waitStatus(t, ts, a.Slug, 200, "")
	host := a.Slug + ".localhost"

	before := ts.scrape(t)
	for range 3 {
		if code, body := ts.get(t, host, "/api/tenant"); code != 200 {
			t.Fatalf("/api/tenant: %d %v", code, body)
		}
	}
	if code, body := ts.get(t, host, "/api/tenant/db"); code != 200 {
		t.Fatalf("/api/tenant/db: %d %v", code, body)
	}
	const rawPath = "/no/such/route-7f3a"
	if code, _ := ts.get(t, host, rawPath+"?password=hunter2-secret"); code != 404 {
		t.Fatalf("unknown route: %d", code)
	}
	if code, _ := ts.get(t, "nobody.localhost", "/api/tenant"); code != 404 {
		t.Fatalf("unknown host: %d", code)
	}
	// /metrics is not served on tenant hosts, known or not.
	for _, h := range []string{host, "nobody.localhost", "localhost"} {
		if code, _ := ts.get(t, h, "/metrics"); code != 404 {
			t.Errorf("/metrics on tenant host %q: %d, want 404", h, code)
		}
	}
	// The login limit (2 an hour): two 401s, then 429.
	wrong := map[string]string{"username": "nobody", "password": "not the password at all"}
	for i, want := range []int{401, 401, 429} {
		if code, body := ts.call(t, "POST", host, "/api/auth/login", "", wrong); code != want {
			t.Fatalf("login %d: %d %v, want %d", i+1, code, body, want)
		}
	}
	after := ts.scrape(t)

	delta := func(name string, labels map[string]string) float64 { return growth(t, before, after, name, labels) }
	if got := delta("platform_redis_commands_total", map[string]string{"result": "error"}); got != 0 {
		t.Errorf("Redis errors went up by %v with Redis up", got)
	}
	kind := string(a.Kind)
	for _, tc := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"platform_http_requests_total", map[string]string{"kind": kind, "route": "/api/tenant", "method": "GET", "code": "200"}, 3},
		{"platform_http_request_duration_seconds", map[string]string{"kind": kind, "route": "/api/tenant", "method": "GET", "class": "2xx"}, 3},
		{"platform_http_requests_total", map[string]string{"kind": kind, "route": "/api/tenant/db", "method": "GET", "code": "200"}, 1},
		// The unknown route of a known tenant and /metrics on it (404 both).
		{"platform_http_requests_total", map[string]string{"kind": kind, "route": metrics.NoRoute, "method": "GET", "code": "404"}, 2},
		// Unknown hosts: no tenant, hence no kind.
		{"platform_http_requests_total", map[string]string{"kind": metrics.NoTenant, "method": "GET", "code": "404"}, 3},
		{"platform_http_requests_total", map[string]string{"kind": kind, "route": "/api/auth/login", "method": "POST", "code": "401"}, 2},
		{"platform_http_requests_total", map[string]string{"kind": kind, "route": "/api/auth/login", "method": "POST", "code": "429"}, 1},
		{"platform_rate_limited_total", map[string]string{"limit": metrics.LimitLogin}, 1},
		{"platform_rate_limited_total", map[string]string{"limit": metrics.LimitDefault}, 0},
		// 3 + 1 + 2 (404s) + 3 logins.
		{"platform_tenant_requests_total", map[string]string{"tenant": a.Slug}, 9},
	} {
		if got := delta(tc.name, tc.labels); got != tc.want {
			t.Errorf("%s%v went up by %v, want %v", tc.name, tc.labels, got, tc.want)
		}
	}

	// Read at scrape time from the pools and the resolver.
	for _, tc := range []struct {
		name   string
		labels map[string]string
		min    float64
	}{
		{"platform_tenant_pools", nil, 1},
		{"platform_db_budget_connections", map[string]string{"server": "default"}, 1},
		{"platform_db_connections_open", map[string]string{"server": "default"}, 1},
		{"platform_db_connections_peak", map[string]string{"server": "default"}, 1},
		{"platform_db_budget_waiting", map[string]string{"server": "default"}, 0},
		{"platform_db_budget_exhausted_total", map[string]string{"server": "default"}, 0},
		{"platform_resolver_tenants", nil, 1},
		{"platform_resolver_hosts", nil, 1},
		{"platform_resolver_last_load_timestamp_seconds", nil, 1},
		// The logins and the tenant's database password went through
		// Redis and Vault.
		{"platform_redis_commands_total", map[string]string{"result": "ok"}, 1},
		{"platform_redis_command_duration_seconds", map[string]string{"result": "ok"}, 1},
		{"platform_redis_dials_total", map[string]string{"result": "ok"}, 1},
		{"platform_vault_reads_total", map[string]string{"result": "ok"}, 1},
		{"platform_vault_read_duration_seconds", nil, 1},
		{"platform_secrets_cache_entries", nil, 1},
		{"platform_secrets_cache_misses_total", nil, 1},
		{"go_goroutines", nil, 1},
		{"process_cpu_seconds_total", nil, 0},
		{"process_resident_memory_bytes", nil, 1},
	} {
		v, ok := value(after, tc.name, tc.labels)
		if !ok || v < tc.min {
			t.Errorf("%s%v = %v (found %v), want at least %v", tc.name, tc.labels, v, ok, tc.min)
		}
	}

	// Label values are bounded: no raw path, query or secret in any.
	for name, f := range after {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if v := l.GetValue(); strings.Contains(v, "no/such") || strings.Contains(v, "hunter2") || strings.Contains(v, "nobody") {
					t.Errorf("%s has label %s=%q", name, l.GetName(), v)
				}
			}
		}
	}
	for _, l := range after["platform_http_requests_total"].GetMetric() {
		for _, lp := range l.GetLabel() {
			if lp.GetName() == "route" && lp.GetValue() != metrics.NoRoute && !strings.HasPrefix(lp.GetValue(), "/") {
				t.Errorf("route label %q is not a template", lp.GetValue())
			}
		}
	}
}

// TestServeMetricsToken: with PLATFORM_METRICS_TOKEN, a scrape needs it;
// the operator token does not do.
func TestServeMetricsToken(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	const token = "metrics-token-0123456789abcdef-0123"
	ts := c.serve(t, map[string]string{"PLATFORM_METRICS_TOKEN": token})
	for _, auth := range []string{"", "Bearer " + testOperatorToken, "Bearer " + token + "x", token} {
		req, err := http.NewRequest("GET", ts.adminURL+"/metrics", nil)
		if err != nil {
			t.Fatal(err)
		}
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		res, body, err := doRequest(req)
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode != 401 || errCode(body) != "unauthorized" {
			t.Errorf("Authorization %q: %d %v, want 401", auth, res.StatusCode, body)
		}
	}
	if _, ok := value(ts.scrape(t, "Authorization", "Bearer "+token), "go_goroutines", nil); !ok {
		t.Error("no go_goroutines with the token")
	}
}

// TestMetricsConfig: bad settings are refused with the variable named,
// and a token's value never appears in the message.
func TestMetricsConfig(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		env, val string
		ok       bool
	}{
		{"PLATFORM_METRICS_TOP_TENANTS", "50", true},
		{"PLATFORM_METRICS_TOP_TENANTS", "0", false},
		{"PLATFORM_METRICS_TOP_TENANTS", "1001", false},
		{"PLATFORM_METRICS_TOP_TENANTS", "many", false},
		{"PLATFORM_METRICS_TOKEN", "short-secret-value", false},
		{"PLATFORM_METRICS_TOKEN", strings.Repeat("k", 32), true},
		{"PLATFORM_METRICS_CATALOG_TTL", "30s", true},
		{"PLATFORM_METRICS_CATALOG_TTL", "500ms", false},
		{"PLATFORM_METRICS_CATALOG_TTL", "1h", false},
		{"PLATFORM_METRICS_CATALOG_TTL", "often", false},
	} {
		env := map[string]string{"REDIS_URL": "redis://127.0.0.1:6379", tc.env: tc.val}
		_, err := loadServeConfig(func(k string) string { return env[k] }, nil)
		switch {
		case tc.ok && err != nil:
			t.Errorf("%s=%q: %v", tc.env, tc.val, err)
		case !tc.ok && (err == nil || !strings.Contains(err.Error(), tc.env)):
			t.Errorf("%s=%q: %v, want an error naming it", tc.env, tc.val, err)
		case !tc.ok && strings.Contains(err.Error(), "secret"):
			t.Errorf("%s: the message shows the token: %v", tc.env, err)
		}
	}
}

// TestServeMetricsTopTenants: with PLATFORM_METRICS_TOP_TENANTS=1 and two
// busy tenants, one tenant has a series and the rest is _other: two
// series, adding up to every request with a tenant.
func TestServeMetricsTopTenants(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	ts := c.serve(t, map[string]string{"PLATFORM_METRICS_TOP_TENANTS": "1"})
	a := ts.create(t, "restaurant")
	b := ts.create(t, "institution")
	waitStatus(t, ts, a.Slug, 200, "")
	waitStatus(t, ts, b.Slug, 200, "")
	for i := range 12 {
		slug := a.Slug
		if i%3 == 2 {
			slug = b.Slug
		}
		if code, body := ts.get(t, slug+".localhost", "/api/tenant"); code != 200 {
			t.Fatalf("%s: %d %v", slug, code, body)
		}
	}
	fams := ts.scrape(t)
	f := fams["platform_tenant_requests_total"]
	if f == nil {
		t.Fatal("no platform_tenant_requests_total")
	}
	var sum float64
	seen := map[string]bool{}
	for _, m := range f.GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "tenant" {
				seen[l.GetValue()] = true
			}
		}
		sum += m.GetCounter().GetValue()
	}
	if len(f.GetMetric()) != 2 || !seen[metrics.OtherTenant] || !(seen[a.Slug] || seen[b.Slug]) {
		t.Errorf("series %v, want one tenant and %s", seen, metrics.OtherTenant)
	}
	// Every request with a tenant: the 12 and waitStatus's polls.
	total, _ := value(fams, "platform_http_requests_total", map[string]string{"route": "/api/tenant"})
	none, _ := value(fams, "platform_http_requests_total", map[string]string{"route": "/api/tenant", "kind": metrics.NoTenant})
	if sum != total-none || sum < 12 {
		t.Errorf("tenant series add up to %v, want %v (requests with a tenant)", sum, total-none)
	}
}

// waitScrape scrapes until cond holds of the families and returns them:
// the catalog-derived gauges are cached for PLATFORM_METRICS_CATALOG_TTL.
func (ts *testServer) waitScrape(t *testing.T, what string, cond func(map[string]*dto.MetricFamily) bool) map[string]*dto.MetricFamily {
	t.Helper()
	var fams map[string]*dto.MetricFamily
	platformtest.Eventually(t, 30*time.Second, what, func() bool {
		fams = ts.scrape(t)
		return cond(fams)
	})
	return fams
}

// TestServeBackupMetrics: through serve's wiring and the operator API, a
// tenant created bumps provision_total{ok} (a refused one counts
// nowhere); a backup makes the tenant's last success, size and duration
// appear (the catalog's figures) and runs_total{backup,ok} go up; a
// verification sets verify_last_success 1; a failed backup sets
// last_failure; a tenant behind on migrations or dirty shows in the fleet
// gauges until a fleet migration; a catalog change records a
// notification lag.
func TestServeBackupMetrics(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	dir := t.TempDir()
	ts := c.serve(t, map[string]string{"PLATFORM_BACKUP_URL": "file://" + dir, "PLATFORM_METRICS_CATALOG_TTL": "1s"})
	ctx := context.Background()
	const tok = testOperatorToken
	before := ts.scrape(t)
	// Every label value exists from the start.
	for _, tc := range []struct {
		name   string
		labels map[string]string
	}{
		{"platform_backup_runs_total", map[string]string{"kind": "backup", "result": "ok"}},
		{"platform_backup_runs_total", map[string]string{"kind": "backup", "result": "failed"}},
		{"platform_backup_runs_total", map[string]string{"kind": "verify", "result": "ok"}},
		{"platform_backup_runs_total", map[string]string{"kind": "verify", "result": "failed"}},
		{"platform_backup_run_duration_seconds", map[string]string{"kind": "backup"}},
		{"platform_backup_run_duration_seconds", map[string]string{"kind": "verify"}},
		{"platform_provision_total", map[string]string{"result": "ok"}},
		{"platform_provision_total", map[string]string{"result": "failed"}},
		{"platform_provision_duration_seconds", nil},
		{"platform_migrations_total", map[string]string{"result": "ok"}},
		{"platform_migrations_total", map[string]string{"result": "failed"}},
		{"platform_resolver_notification_lag_seconds", nil},
		{"platform_tenants", map[string]string{"state": "active"}},
		{"platform_tenants", map[string]string{"state": "deleted"}},
		{"platform_tenant_migrations_pending", nil},
		{"platform_tenant_migrations_dirty", nil},
	} {
		if v, ok := value(before, tc.name, tc.labels); !ok || v != 0 {
			t.Errorf("%s%v before anything ran: %v (found %v), want 0", tc.name, tc.labels, v, ok)
		}
	}
	delta := func(after map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
		return growth(t, before, after, name, labels)
	}
	of := func(fams map[string]*dto.MetricFamily, name, slug string) (float64, bool) {
		return value(fams, name, map[string]string{"tenant": slug})
	}

	slug := platformtest.Slug("bmet")
	if code, body := ts.api(t, "POST", "/v1/tenants", tok, `{"slug":"`+slug+`","kind":"restaurant","name":"Metrics"}`); code != 201 {
		t.Fatalf("create: %d %v", code, body)
	}
	if code, body := ts.api(t, "POST", "/v1/tenants", tok, `{"slug":"`+slug+`","kind":"restaurant","name":"Metrics"}`); code != 409 {
		t.Fatalf("duplicate create: %d %v", code, body)
	}
	fams := ts.waitScrape(t, "the new tenant in the fleet gauges", func(f map[string]*dto.MetricFamily) bool {
		v, ok := of(f, "platform_backup_scheduled", slug)
		return ok && v == 1
	})
	for _, tc := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"platform_provision_total", map[string]string{"result": "ok"}, 1},
		{"platform_provision_total", map[string]string{"result": "failed"}, 0}, // the 409 is a refusal
		{"platform_provision_duration_seconds", nil, 1},
		{"platform_migrations_total", map[string]string{"result": "ok"}, 1}, // its schema step
		{"platform_tenants", map[string]string{"state": "active"}, 1},
	} {
		if got := delta(fams, tc.name, tc.labels); got != tc.want {
			t.Errorf("%s%v went up by %v, want %v", tc.name, tc.labels, got, tc.want)
		}
	}
	for _, name := range []string{"platform_tenant_migrations_pending", "platform_tenant_migrations_dirty"} {
		if v, _ := value(fams, name, nil); v != 0 {
			t.Errorf("%s = %v with one tenant just created, want 0", name, v)
		}
	}
	for _, name := range []string{"platform_backup_last_success_timestamp_seconds", "platform_backup_last_size_bytes",
		"platform_backup_last_duration_seconds", "platform_backup_last_failure_timestamp_seconds",
		"platform_backup_verify_last_timestamp_seconds", "platform_backup_verify_last_success"} {
		if _, ok := of(fams, name, slug); ok {
			t.Errorf("%s for a tenant never backed up", name)
		}
	}

	// A backup.
	job := ts.waitJob(t, ts.startJob(t, "/v1/tenants/"+slug+"/backups", ""))
	backupID, _ := job["backup_id"].(string)
	if job["status"] != "succeeded" || backupID == "" {
		t.Fatalf("backup job: %v", job)
	}
	bk, err := c.cat.BackupByID(ctx, backupID)
	if err != nil || bk.FinishedAt == nil {
		t.Fatalf("backup %s: %+v %v", backupID, bk, err)
	}
	fams = ts.waitScrape(t, "the backup's last success", func(f map[string]*dto.MetricFamily) bool {
		_, ok := of(f, "platform_backup_last_success_timestamp_seconds", slug)
		return ok
	})
	near := func(what string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 0.001 {
			t.Errorf("%s = %v, want %v", what, got, want)
		}
	}
	v, _ := of(fams, "platform_backup_last_success_timestamp_seconds", slug)
	near("last success", v, float64(bk.FinishedAt.UnixNano())/1e9)
	v, _ = of(fams, "platform_backup_last_duration_seconds", slug)
	near("last duration", v, bk.FinishedAt.Sub(bk.StartedAt).Seconds())
	if v, _ := of(fams, "platform_backup_last_size_bytes", slug); v != float64(bk.SizeBytes) || v <= 0 {
		t.Errorf("last size = %v, want %d", v, bk.SizeBytes)
	}
	if got := delta(fams, "platform_backup_runs_total", map[string]string{"kind": "backup", "result": "ok"}); got != 1 {
		t.Errorf("backup runs ok went up by %v, want 1", got)
	}
	if got := delta(fams, "platform_backup_run_duration_seconds", map[string]string{"kind": "backup"}); got != 1 {
		t.Errorf("backup run durations went up by %v, want 1", got)
	}
	if _, ok := of(fams, "platform_backup_last_failure_timestamp_seconds", slug); ok {
		t.Error("a last failure after one successful backup")
	}

	// Its verification.
	job = ts.waitJob(t, ts.startJob(t, "/v1/backups/"+backupID+"/verify", ""))
	if job["status"] != "succeeded" {
		t.Fatalf("verify job: %v", job)
	}
	fams = ts.waitScrape(t, "the verification", func(f map[string]*dto.MetricFamily) bool {
		v, ok := of(f, "platform_backup_verify_last_success", slug)
		return ok && v == 1
	})
	if bk, err = c.cat.BackupByID(ctx, backupID); err != nil || bk.VerifiedAt == nil {
		t.Fatalf("backup after verify: %+v %v", bk, err)
	}
	v, _ = of(fams, "platform_backup_verify_last_timestamp_seconds", slug)
	near("verify time", v, float64(bk.VerifiedAt.UnixNano())/1e9)
	if got := delta(fams, "platform_backup_runs_total", map[string]string{"kind": "verify", "result": "ok"}); got != 1 {
		t.Errorf("verify runs ok went up by %v, want 1", got)
	}

	// A failed backup: the store cannot make the tenant's directory.
	tdir := filepath.Join(dir, bk.TenantID)
	if err := os.Rename(tdir, tdir+".moved"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tdir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if job = ts.waitJob(t, ts.startJob(t, "/v1/tenants/"+slug+"/backups", "")); job["status"] != "failed" {
		t.Fatalf("backup into a blocked store: %v", job)
	}
	fams = ts.waitScrape(t, "the backup's failure", func(f map[string]*dto.MetricFamily) bool {
		_, ok := of(f, "platform_backup_last_failure_timestamp_seconds", slug)
		return ok
	})
	if v, _ := of(fams, "platform_backup_last_success_timestamp_seconds", slug); math.Abs(v-float64(bk.FinishedAt.UnixNano())/1e9) > 0.001 {
		t.Errorf("last success moved to %v after a failure", v)
	}
	if got := delta(fams, "platform_backup_runs_total", map[string]string{"kind": "backup", "result": "failed"}); got != 1 {
		t.Errorf("backup runs failed went up by %v, want 1", got)
	}

	// Behind and dirty, as the catalog records it, until a fleet migration.
	if _, err := c.cat.Pool().Exec(ctx, `UPDATE tenant_schema SET version = 1, dirty = true
		WHERE tenant_id = (SELECT id FROM tenants WHERE slug = $1)`, slug); err != nil {
		t.Fatal(err)
	}
	ts.waitScrape(t, "one tenant pending and dirty", func(f map[string]*dto.MetricFamily) bool {
		p, _ := value(f, "platform_tenant_migrations_pending", nil)
		d, _ := value(f, "platform_tenant_migrations_dirty", nil)
		return p == 1 && d == 1
	})
	code, res := ts.api(t, "POST", "/v1/migrations", tok, "")
	mj, _ := res["job"].(map[string]any)
	mid, _ := mj["id"].(string)
	if code != 202 || mid == "" {
		t.Fatalf("fleet migration: %d %v", code, res)
	}
	if job = ts.waitJob(t, mid); job["status"] != "succeeded" {
		t.Fatalf("fleet migration job: %v", job)
	}
	fams = ts.waitScrape(t, "none pending or dirty after the fleet migration", func(f map[string]*dto.MetricFamily) bool {
		p, _ := value(f, "platform_tenant_migrations_pending", nil)
		d, _ := value(f, "platform_tenant_migrations_dirty", nil)
		return p == 0 && d == 0
	})
	if got := delta(fams, "platform_migrations_total", map[string]string{"result": "ok"}); got != 2 {
		t.Errorf("migrations ok went up by %v, want 2 (the creation's, the fleet's)", got)
	}

	// A catalog change made by another process (the CLI): its notice's lag,
	// the tenant's new state, and no scheduled backups for it.
	lag, _ := value(fams, "platform_resolver_notification_lag_seconds", nil)
	c.ok("tenant", "suspend", slug)
	fams = ts.waitScrape(t, "the suspension", func(f map[string]*dto.MetricFamily) bool {
		n, _ := value(f, "platform_tenants", map[string]string{"state": "suspended"})
		s, _ := of(f, "platform_backup_scheduled", slug)
		l, _ := value(f, "platform_resolver_notification_lag_seconds", nil)
		return n == 1 && s == 0 && l > lag
	})
	if h := fams["platform_resolver_notification_lag_seconds"].GetMetric()[0].GetHistogram(); h.GetSampleSum() < 0 || h.GetSampleSum() > 60*float64(h.GetSampleCount()) {
		t.Errorf("notification lag: %v s over %d notices", h.GetSampleSum(), h.GetSampleCount())
	}

	// By now every name the alerts and the dashboard use has a series (a
	// tenant request for the request metrics), but TLS's: serve_tls_test.
	other := ts.create(t, "restaurant")
	if code, body := ts.get(t, other.Slug+".localhost", "/api/tenant/db"); code != 200 { // a pool: the budget series
		t.Fatalf("GET /api/tenant/db of %s: %d %v", other.Slug, code, body)
	}
	checkKnownExposed(t, ts.scrape(t), func(name string) bool { return !strings.HasPrefix(name, "platform_tls_") })
}

// TestServeDependencyMetrics: platform_dependency_up is 1 for each
// dependency that answers, 0 for Vault and Redis at dead addresses, and a
// scrape does not wait on them for long.
func TestServeDependencyMetrics(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	up := c.serve(t, nil)
	down := c.serve(t, map[string]string{"VAULT_ADDR": "http://" + closedPort(t), "REDIS_URL": "redis://" + closedPort(t) + "/0"})
	for _, tc := range []struct {
		ts   *testServer
		want map[string]float64
	}{
		{up, map[string]float64{"catalog": 1, "redis": 1, "vault": 1}},
		{down, map[string]float64{"catalog": 1, "redis": 0, "vault": 0}},
	} {
		start := time.Now()
		fams := tc.ts.scrape(t)
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("scrape took %v", d)
		}
		for dep, want := range tc.want {
			if v, ok := value(fams, "platform_dependency_up", map[string]string{"dependency": dep}); !ok || v != want {
				t.Errorf("dependency_up{%s} = %v (found %v), want %v", dep, v, ok, want)
			}
		}
		if n := len(fams["platform_dependency_up"].GetMetric()); n != 3 {
			t.Errorf("%d dependency_up series, want 3", n)
		}
	}
}

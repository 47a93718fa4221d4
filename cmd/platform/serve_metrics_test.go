package main

import (
	"io"
	"net/http"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

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

	delta := func(name string, labels map[string]string) float64 {
		t.Helper()
		v1, _ := value(before, name, labels)
		v2, ok := value(after, name, labels)
		if !ok {
			t.Errorf("%s%v: no such series", name, labels)
		}
		return v2 - v1
	}
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

package metrics

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestTopNBound: under many tenants at most n+1 series exist, every
// request is counted exactly once across them, heavy tenants keep their
// slots (space-saving keeps every tenant with more than 1/n of the
// requests: here 1/8 each with n = 10), and no series ever goes down
// between scrapes.
func TestTopNBound(t *testing.T) {
	const n = 10
	top := NewTopN(n)
	heavy := []string{"alpha", "bravo", "charlie"}
	prev := map[string]uint64{}
	var total uint64
	for round := range 200 {
		for _, h := range heavy {
			for range 10 {
				top.Add(h)
				total++
			}
		}
		// 50 light tenants, one request each per round.
		for i := range 50 {
			top.Add(fmt.Sprintf("light-%d", (round*50+i)%1000))
			total++
		}
		tracked, other, _ := top.Snapshot()
		if len(tracked) > n {
			t.Fatalf("round %d: %d tenants tracked, want at most %d", round, len(tracked), n)
		}
		sum := other
		now := map[string]uint64{OtherTenant: other}
		for _, s := range tracked {
			sum += s.Count
			now[s.Slug] = s.Count
		}
		if sum != total {
			t.Fatalf("round %d: series add up to %d, want %d", round, sum, total)
		}
		for slug, v := range now {
			if p, ok := prev[slug]; ok && v < p {
				t.Fatalf("round %d: %s went down from %d to %d", round, slug, p, v)
			}
		}
		prev = now
	}
	tracked, _, evicted := top.Snapshot()
	have := map[string]uint64{}
	for _, s := range tracked {
		have[s.Slug] = s.Count
	}
	for _, h := range heavy {
		if have[h] != 200*10 {
			t.Errorf("heavy tenant %s: %d counted in its series, want %d (it never lost its slot)", h, have[h], 200*10)
		}
	}
	if evicted == 0 {
		t.Error("no evictions counted under a long tail")
	}
}

// TestMetricsRegistry: the series a request makes, a bounded tenant
// label, and nothing on the default registry.
func TestMetricsRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := New(reg, Config{TopTenants: 2})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		m.Observe("restaurant", "/api/tenant", "GET", 200, time.Millisecond, fmt.Sprintf("t%03d", i))
	}
	m.Observe("", "", "BREW", 404, time.Millisecond, "")
	m.RateLimited("auth")
	m.RateLimited("api")
	m.RateLimited("something")
	for _, tc := range []struct {
		name, labels string
		want         float64
	}{
		{"platform_http_requests_total", `kind="restaurant",route="/api/tenant",method="GET",code="200"`, 100},
		{"platform_http_requests_total", `kind="none",route="unmatched",method="other",code="404"`, 1},
		{"platform_rate_limited_total", `limit="login"`, 1},
		{"platform_rate_limited_total", `limit="default"`, 1},
		{"platform_rate_limited_total", `limit="other"`, 1},
	} {
		want := fmt.Sprintf("# HELP %s x\n# TYPE %s counter\n%s{%s} %v\n", tc.name, tc.name, tc.name, tc.labels, tc.want)
		got, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, f := range got {
			if f.GetName() != tc.name {
				continue
			}
			for _, s := range f.GetMetric() {
				var parts []string
				for _, l := range s.GetLabel() {
					parts = append(parts, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
				}
				if labelsEqual(parts, tc.labels) && s.GetCounter().GetValue() == tc.want {
					found = true
				}
			}
		}
		if !found {
			t.Errorf("want %s", strings.TrimSpace(want))
		}
	}
	if n := testutil.CollectAndCount(reg, "platform_tenant_requests_total"); n != 3 {
		t.Errorf("platform_tenant_requests_total has %d series, want 2 tenants and %s", n, OtherTenant)
	}
	def, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range def {
		if strings.HasPrefix(f.GetName(), Namespace+"_") {
			t.Errorf("%s is on the default registry", f.GetName())
		}
	}
}

// labelsEqual compares name="value" pairs regardless of order.
func labelsEqual(parts []string, want string) bool {
	w := strings.Split(want, ",")
	if len(w) != len(parts) {
		return false
	}
	set := map[string]bool{}
	for _, p := range parts {
		set[p] = true
	}
	for _, p := range w {
		if !set[p] {
			return false
		}
	}
	return true
}

// BenchmarkObserve is the request path's cost of the metrics.
func BenchmarkObserve(b *testing.B) {
	m, err := New(prometheus.NewRegistry(), Config{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		m.Observe("restaurant", "/api/tenant", "GET", 200, time.Millisecond, "demo")
	}
}

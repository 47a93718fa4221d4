package promnames

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestNames(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		expr string
		want []string
	}{
		{`up{job="platform"} == 0`, []string{"up"}},
		{`platform_tenant_pools`, []string{"platform_tenant_pools"}},
		{`histogram_quantile(0.99, sum by (le, kind) (rate(platform_http_request_duration_seconds_bucket{job=~"$job", instance=~"$instance"}[$__rate_interval])))`,
			[]string{"platform_http_request_duration_seconds_bucket"}},
		{`sum by (kind) (rate(platform_http_requests_total{code=~"5.."}[5m])) / on (kind) group_left () sum by (kind) (rate(platform_http_requests_total[5m])) > 0.05`,
			[]string{"platform_http_requests_total"}},
		{`time() - max by (tenant) (platform_backup_last_success_timestamp_seconds) > 26 * 3600 and on (tenant) platform_backup_scheduled == 1`,
			[]string{"platform_backup_last_success_timestamp_seconds", "platform_backup_scheduled"}},
		{`label_replace(go_goroutines, "x", "$1", "instance", "(.*):\"?.*") offset 5m > 1e3`, []string{"go_goroutines"}},
		{`kind:platform_http_requests_5xx:ratio5m > 0.05 or vector(0)`, []string{"kind:platform_http_requests_5xx:ratio5m"}},
		{`max_over_time(process_resident_memory_bytes[1h:5m]) unless bool absent(process_open_fds)`,
			[]string{"process_resident_memory_bytes", "process_open_fds"}},
		{`topk(10, sum by (tenant) (rate(platform_tenant_requests_total{tenant!="_other"}[5m])))`, []string{"platform_tenant_requests_total"}},
	} {
		if got := Names(tc.expr); !slices.Equal(got, tc.want) {
			t.Errorf("Names(%q) = %q, want %q", tc.expr, got, tc.want)
		}
	}
}

func TestKnown(t *testing.T) {
	t.Parallel()
	k, err := Load(filepath.Join("..", "..", "prometheus", "metrics.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{
		"platform_http_requests_total":                         true,
		"platform_http_request_duration_seconds_bucket":        true,
		"platform_http_request_duration_seconds_count":         true,
		"platform_http_requests_total_bucket":                  false, // a counter has no buckets
		"platform_http_request_duration_seconds":               true,
		"platform_nonexistent":                                 false,
		"go_gc_duration_seconds_count":                         true, // a summary
		"go_gc_duration_seconds_bucket":                        false,
		"up":                                                   true,
		"platform_backup_last_success_timestamp_seconds":       true,
		"platform_tls_certificate_not_after_timestamp_seconds": true,
	} {
		if got := k.Has(name); got != want {
			t.Errorf("Has(%s) = %v, want %v", name, got, want)
		}
	}

	dir := t.TempDir()
	for _, bad := range []string{"", "platform_x\n", "platform_x countr\n", "platform_x gauge\nplatform_x gauge\n", "platform-x gauge\n"} {
		p := filepath.Join(dir, "m.txt")
		if err := os.WriteFile(p, []byte("# comment\n"+bad), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(p); err == nil || !strings.Contains(err.Error(), "m.txt") {
			t.Errorf("Load(%q) = %v, want an error naming the file", bad, err)
		}
	}
}

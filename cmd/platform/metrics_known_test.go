package main

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
)

// knownMetrics reads deploy/prometheus/metrics.txt, the names the alert
// rules and the Grafana dashboard may use (their tests hold them to it):
// name → type. Names Prometheus makes itself (type scrape) are left out.
func knownMetrics(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "deploy", "prometheus", "metrics.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	known := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if len(fields) != 2 {
			t.Fatalf("metrics.txt: %q is not \"name type\"", sc.Text())
		}
		if fields[1] != "scrape" {
			known[fields[0]] = fields[1]
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return known
}

// checkKnownExposed holds metrics.txt and a real scrape to each other for
// the names in scope: each known name is exposed with its type (a rule on
// a name nobody exposes would stay silent in production), and each
// platform_* family exposed is known (the list, and so the docs, would
// fall behind the code).
func checkKnownExposed(t *testing.T, fams map[string]*dto.MetricFamily, inScope func(name string) bool) {
	t.Helper()
	known := knownMetrics(t)
	types := map[dto.MetricType]string{dto.MetricType_COUNTER: "counter", dto.MetricType_GAUGE: "gauge",
		dto.MetricType_HISTOGRAM: "histogram", dto.MetricType_SUMMARY: "summary"}
	for name, typ := range known {
		if !inScope(name) {
			continue
		}
		f := fams[name]
		switch {
		case f == nil || len(f.GetMetric()) == 0:
			t.Errorf("%s (metrics.txt, used by the alerts or the dashboard) is not exposed", name)
		case types[f.GetType()] != typ:
			t.Errorf("%s is a %s, metrics.txt says %s", name, types[f.GetType()], typ)
		}
	}
	for name := range fams {
		if _, ok := known[name]; !ok && strings.HasPrefix(name, "platform_") && inScope(name) {
			t.Errorf("%s is exposed but not in deploy/prometheus/metrics.txt: add it there (and to docs/operations.md)", name)
		}
	}
}

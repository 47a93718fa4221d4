package charttest

import (
	"bytes"
	"os"
	"reflect"
	"testing"

	"sigs.k8s.io/yaml"
)

const (
	rulesFile     = "../../deploy/prometheus/alerts.yaml"
	rulesFileCopy = chartDir + "/files/alerts.yaml"
)

// TestRulesCopyInSync: Helm reads only files inside the chart, so the
// chart carries a copy of the repository's rules file; it must not drift.
func TestRulesCopyInSync(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := os.ReadFile(rulesFileCopy)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(src, cp) {
		t.Fatal("charts/platform/files/alerts.yaml differs from deploy/prometheus/alerts.yaml; resync it: " +
			"cp deploy/prometheus/alerts.yaml charts/platform/files/alerts.yaml")
	}
}

// TestPrometheusRuleGroups: the PrometheusRule carries the rules file's
// groups unchanged ($labels templates included), then additionalGroups;
// the ServiceMonitor names the job the rules select.
func TestPrometheusRuleGroups(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(rulesFileCopy)
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Groups []ruleGroup `json:"groups"`
	}
	if err := yaml.UnmarshalStrict(b, &file); err != nil {
		t.Fatalf("%s: %v", rulesFileCopy, err)
	}
	if len(file.Groups) == 0 {
		t.Fatalf("%s has no groups", rulesFileCopy)
	}
	r := render(t, monitoring)
	got := get[prometheusRule](t, r, "PrometheusRule/"+fullname).Spec.Groups
	if len(got) != len(file.Groups)+1 || got[len(got)-1].Name != "extra" {
		t.Fatalf("PrometheusRule groups %d, want the file's %d then additionalGroups' extra", len(got), len(file.Groups))
	}
	for i, g := range file.Groups {
		if !reflect.DeepEqual(got[i], g) {
			t.Errorf("group %d of the PrometheusRule differs from the file's:\n got %+v\nwant %+v", i, got[i], g)
		}
	}
	sm := get[serviceMonitor](t, r, "ServiceMonitor/"+fullname)
	job := false
	for _, rl := range sm.Spec.Endpoints[0].Relabelings {
		job = job || (rl.TargetLabel == "job" && rl.Replacement == "platform" && (rl.Action == "" || rl.Action == "replace"))
	}
	if !job {
		t.Errorf("ServiceMonitor relabelings %+v: want job=platform, the job alerts.yaml selects", sm.Spec.Endpoints[0].Relabelings)
	}
}

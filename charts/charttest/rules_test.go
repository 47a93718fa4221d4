package charttest

import (
	"bytes"
	"os"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// Helm reads only files inside the chart, so the chart carries copies of
// the repository's rules file and dashboard.
var chartCopies = []struct{ src, copy string }{
	{"deploy/prometheus/alerts.yaml", "charts/platform/files/alerts.yaml"},
	{"deploy/grafana/platform-dashboard.json", "charts/platform/files/platform-dashboard.json"},
}

// TestChartCopiesInSync: the copies must not drift from their sources.
func TestChartCopiesInSync(t *testing.T) {
	t.Parallel()
	for _, c := range chartCopies {
		src, err := os.ReadFile("../../" + c.src)
		if err != nil {
			t.Fatal(err)
		}
		cp, err := os.ReadFile("../../" + c.copy)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(src, cp) {
			t.Errorf("%s differs from %s; resync it: cp %s %s", c.copy, c.src, c.src, c.copy)
		}
	}
}

// TestPrometheusRuleGroups: the PrometheusRule carries the rules file's
// groups unchanged ($labels templates included), then additionalGroups;
// the ServiceMonitor names the job the rules select.
func TestPrometheusRuleGroups(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(chartDir + "/files/alerts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Groups []ruleGroup `json:"groups"`
	}
	if err := yaml.UnmarshalStrict(b, &file); err != nil {
		t.Fatalf("files/alerts.yaml: %v", err)
	}
	if len(file.Groups) == 0 {
		t.Fatal("files/alerts.yaml has no groups")
	}
	r := render(t, monitoring)
	got := get[prometheusRule](t, r, "PrometheusRule/"+fullname).Spec.Groups
	if len(got) != len(file.Groups)+1 || got[len(got)-1].Name != "extra" {
		t.Fatalf("PrometheusRule has %d groups, want the file's %d then additionalGroups' extra", len(got), len(file.Groups))
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

// TestGrafanaDashboard: the ConfigMap holds the dashboard byte for byte,
// with the label Grafana's sidecar looks for.
func TestGrafanaDashboard(t *testing.T) {
	t.Parallel()
	want, err := os.ReadFile(chartDir + "/files/platform-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	cm := get[corev1.ConfigMap](t, render(t, monitoring), "ConfigMap/"+fullname+"-dashboard")
	if got := cm.Data["platform-dashboard.json"]; got != string(want) {
		t.Errorf("ConfigMap data[platform-dashboard.json]: %d bytes, want the %d of files/platform-dashboard.json", len(got), len(want))
	}
	if cm.Labels["grafana_dashboard"] != "1" || cm.Annotations["grafana_folder"] != "Platform" {
		t.Errorf("ConfigMap labels %v, annotations %v: want grafana_dashboard=1 and the configured folder", cm.Labels, cm.Annotations)
	}
	if _, ok := render(t, monitoringOpen)["ConfigMap/"+fullname+"-dashboard"]; ok {
		t.Error("grafanaDashboard off: the ConfigMap is rendered")
	}
}

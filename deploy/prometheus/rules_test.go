// Package prometheus holds the platform's Prometheus rules (alerts.yaml),
// their promtool unit tests (alerts_test.yaml) and the list of metric
// names the platform exposes (metrics.txt). It has no Go code but its
// tests.
package prometheus

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/tenancy/platform/deploy/internal/promnames"
)

const runbookBase = "https://github.com/tenancy/platform/blob/main/docs/operations.md#"

type rule struct {
	Alert       string            `json:"alert"`
	Record      string            `json:"record"`
	Expr        string            `json:"expr"`
	For         string            `json:"for"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
}

type ruleFile struct {
	Groups []struct {
		Name  string `json:"name"`
		Rules []rule `json:"rules"`
	} `json:"groups"`
}

func loadRules(t *testing.T) ruleFile {
	t.Helper()
	b, err := os.ReadFile("alerts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var f ruleFile
	if err := yaml.UnmarshalStrict(b, &f); err != nil {
		t.Fatalf("alerts.yaml: %v", err)
	}
	if len(f.Groups) == 0 {
		t.Fatal("alerts.yaml has no groups")
	}
	return f
}

// promtool runs PLATFORM_PROMTOOL_BIN with args in this directory.
func promtool(t *testing.T, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	if _, err := promnames.Promtool(ctx, os.Getenv("PLATFORM_PROMTOOL_BIN"), ".", args...); err != nil {
		t.Fatal(err)
	}
}

func TestPromtoolCheckRules(t *testing.T) {
	t.Parallel()
	promtool(t, "check", "rules", "--lint=all", "--lint-fatal", "alerts.yaml")
}

func TestPromtoolTestRules(t *testing.T) {
	t.Parallel()
	promtool(t, "test", "rules", "alerts_test.yaml")
}

// TestAlertConventions: every alert has a severity, a summary, a
// description and a runbook_url whose anchor is a heading of
// docs/operations.md.
func TestAlertConventions(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "operations.md"))
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]bool{}
	for _, h := range regexp.MustCompile(`(?m)^#{2,4} (.+)$`).FindAllStringSubmatch(string(doc), -1) {
		anchors[githubAnchor(h[1])] = true
	}
	n := 0
	for _, g := range loadRules(t).Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			n++
			if s := r.Labels["severity"]; s != "critical" && s != "warning" {
				t.Errorf("%s: severity %q, want critical or warning", r.Alert, s)
			}
			for _, a := range []string{"summary", "description", "runbook_url"} {
				if r.Annotations[a] == "" {
					t.Errorf("%s: no %s annotation", r.Alert, a)
				}
			}
			want := runbookBase + strings.ToLower(r.Alert)
			if r.Annotations["runbook_url"] != want {
				t.Errorf("%s: runbook_url %q, want %q", r.Alert, r.Annotations["runbook_url"], want)
			}
			if !anchors[strings.ToLower(r.Alert)] {
				t.Errorf("%s: docs/operations.md has no heading \"### %s\" (its runbook)", r.Alert, r.Alert)
			}
		}
	}
	if n == 0 {
		t.Fatal("no alerts in alerts.yaml")
	}
}

// githubAnchor is the anchor GitHub gives a heading.
func githubAnchor(h string) string {
	h = strings.ToLower(strings.TrimSpace(h))
	var b strings.Builder
	for _, r := range h {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r > 127:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// TestRulesUseKnownMetrics: every name a rule selects is in metrics.txt
// or recorded by a rule of the file, and every recording rule is used.
func TestRulesUseKnownMetrics(t *testing.T) {
	t.Parallel()
	known, err := promnames.Load("metrics.txt")
	if err != nil {
		t.Fatal(err)
	}
	f := loadRules(t)
	recorded := map[string]bool{}
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				recorded[r.Record] = false
			}
		}
	}
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			for _, name := range promnames.Names(r.Expr) {
				if _, ok := recorded[name]; ok {
					recorded[name] = true
				} else if !known.Has(name) {
					t.Errorf("%s%s: %s is not in metrics.txt nor recorded here", r.Alert, r.Record, name)
				}
			}
		}
	}
	for name, used := range recorded {
		if !used {
			t.Errorf("recording rule %s is used by no rule", name)
		}
	}
}

// TestEveryAlertTested: alerts_test.yaml has, for every alert and each of
// its severities, an evaluation where it fires and one where it does not.
func TestEveryAlertTested(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("alerts_test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var tf struct {
		Tests []struct {
			Name  string `json:"name"`
			Evals []struct {
				Alert string `json:"alertname"`
				Exp   []struct {
					Labels map[string]string `json:"exp_labels"`
				} `json:"exp_alerts"`
			} `json:"alert_rule_test"`
		} `json:"tests"`
	}
	if err := yaml.Unmarshal(b, &tf); err != nil {
		t.Fatalf("alerts_test.yaml: %v", err)
	}
	fires, silent := map[string]bool{}, map[string]bool{}
	for _, tc := range tf.Tests {
		for _, e := range tc.Evals {
			if len(e.Exp) == 0 {
				silent[e.Alert] = true
			}
			for _, a := range e.Exp {
				fires[e.Alert+"/"+a.Labels["severity"]] = true
			}
		}
	}
	for _, g := range loadRules(t).Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			if k := r.Alert + "/" + r.Labels["severity"]; !fires[k] {
				t.Errorf("%s (severity %s): no test where it fires", r.Alert, r.Labels["severity"])
			}
			if !silent[r.Alert] {
				t.Errorf("%s: no test where it does not fire", r.Alert)
			}
		}
	}
}

// Package grafana holds the platform's Grafana dashboard
// (platform-dashboard.json). It has no Go code but its test.
package grafana

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/tenancy/platform/deploy/internal/promnames"
)

type datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type panel struct {
	ID         int         `json:"id"`
	Type       string      `json:"type"`
	Title      string      `json:"title"`
	Datasource *datasource `json:"datasource"`
	GridPos    *struct {
		H, W, X, Y int
	} `json:"gridPos"`
	Targets []struct {
		Datasource *datasource `json:"datasource"`
		Expr       string      `json:"expr"`
		RefID      string      `json:"refId"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // of a collapsed row
}

type dashboard struct {
	Title         string `json:"title"`
	UID           string `json:"uid"`
	SchemaVersion int    `json:"schemaVersion"`
	Templating    struct {
		List []struct {
			Name       string      `json:"name"`
			Type       string      `json:"type"`
			Query      any         `json:"query"`
			Datasource *datasource `json:"datasource"`
		} `json:"list"`
	} `json:"templating"`
	Panels []panel `json:"panels"`
}

const promDS = "${datasource}"

func TestDashboard(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("platform-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("platform-dashboard.json: %v", err)
	}
	if d.Title == "" || d.UID == "" || d.SchemaVersion < 39 {
		t.Errorf("title %q, uid %q, schemaVersion %d: want a title, a uid and the schema of Grafana 11 or later", d.Title, d.UID, d.SchemaVersion)
	}
	known, err := promnames.Load(filepath.Join("..", "prometheus", "metrics.txt"))
	if err != nil {
		t.Fatal(err)
	}

	vars := map[string]string{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v.Type
		if v.Type == "query" && (v.Datasource == nil || v.Datasource.UID != promDS) {
			t.Errorf("variable %s: datasource %+v, want uid %s", v.Name, v.Datasource, promDS)
		}
		if q, ok := v.Query.(map[string]any); ok {
			for _, name := range promnames.Names(labelValuesSelector(q["query"])) {
				if !known.Has(name) {
					t.Errorf("variable %s: %s is not in metrics.txt", v.Name, name)
				}
			}
		}
	}
	for name, typ := range map[string]string{"datasource": "datasource", "job": "query", "instance": "query"} {
		if vars[name] != typ {
			t.Errorf("template variable %s: type %q, want %q", name, vars[name], typ)
		}
	}

	ids := map[int]string{}
	var all []panel
	for _, p := range d.Panels {
		all = append(all, p)
		all = append(all, p.Panels...)
	}
	queries := 0
	for _, p := range all {
		if p.ID <= 0 {
			t.Errorf("panel %q: id %d", p.Title, p.ID)
		} else if other, dup := ids[p.ID]; dup {
			t.Errorf("panels %q and %q share id %d", other, p.Title, p.ID)
		}
		ids[p.ID] = p.Title
		if p.Title == "" || p.GridPos == nil || p.GridPos.W == 0 {
			t.Errorf("panel %d: title %q, gridPos %+v", p.ID, p.Title, p.GridPos)
		}
		if p.Type == "row" {
			continue
		}
		if p.Datasource == nil || p.Datasource.Type != "prometheus" || p.Datasource.UID != promDS {
			t.Errorf("panel %q: datasource %+v, want prometheus %s", p.Title, p.Datasource, promDS)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		refs := map[string]bool{}
		for _, tg := range p.Targets {
			queries++
			if tg.Datasource == nil || tg.Datasource.UID != promDS {
				t.Errorf("panel %q, query %s: datasource %+v, want %s", p.Title, tg.RefID, tg.Datasource, promDS)
			}
			if tg.RefID == "" || refs[tg.RefID] {
				t.Errorf("panel %q: refId %q empty or repeated", p.Title, tg.RefID)
			}
			refs[tg.RefID] = true
			names := promnames.Names(tg.Expr)
			if len(names) == 0 {
				t.Errorf("panel %q, query %s selects no metric: %s", p.Title, tg.RefID, tg.Expr)
			}
			for _, name := range names {
				if !known.Has(name) {
					t.Errorf("panel %q, query %s: %s is not in deploy/prometheus/metrics.txt", p.Title, tg.RefID, name)
				}
			}
			// Every selector follows the dashboard's job and instance.
			if n, want := strings.Count(tg.Expr, `job=~"$job", instance=~"$instance"`), strings.Count(tg.Expr, "{"); n != want {
				t.Errorf("panel %q, query %s: %d of %d selectors filter on $job and $instance: %s", p.Title, tg.RefID, n, want, tg.Expr)
			}
		}
	}
	// What the issue asks the dashboard to show.
	for _, title := range []string{"Request rate by kind and code", "Latency", "5xx ratio by kind", "Top tenants", "Budget saturation",
		"Budget waits and 503s", "Vault read latency", "Redis latency", "Notification lag", "Backups per tenant",
		"Backup and verify runs", "Provisioning", "Migrations", "Rate-limit refusals", "Certificate expiry", "Memory"} {
		if !slices.ContainsFunc(all, func(p panel) bool { return p.Title == title }) {
			t.Errorf("no panel %q", title)
		}
	}
	if queries < 40 {
		t.Errorf("%d queries: the dashboard lost panels", queries)
	}
}

// labelValuesSelector returns the selector of a label_values(selector,
// label) variable query.
func labelValuesSelector(q any) string {
	s, _ := q.(string)
	s = strings.TrimPrefix(s, "label_values(")
	if i := strings.LastIndex(s, ","); i >= 0 {
		s = s[:i]
	}
	return s
}

// TestDashboardQueriesParse: promtool parses every query (as a recording
// rule of a scratch rules file), Grafana's interval variables replaced.
func TestDashboardQueriesParse(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("platform-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	grafanaVars := strings.NewReplacer("$__rate_interval", "5m", "$__interval", "1m", "$__range", "6h")
	type rule struct {
		Record string `json:"record"`
		Expr   string `json:"expr"`
	}
	var rules []rule
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			rules = append(rules, rule{fmt.Sprintf("panel_%d_%s", p.ID, tg.RefID), grafanaVars.Replace(tg.Expr)})
		}
	}
	for _, v := range d.Templating.List {
		if q, ok := v.Query.(map[string]any); ok {
			rules = append(rules, rule{"variable_" + v.Name, labelValuesSelector(q["query"])})
		}
	}
	out, err := yaml.Marshal(map[string]any{"groups": []any{map[string]any{"name": "dashboard", "rules": rules}}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "dashboard.yaml"), out, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	_, err = promnames.Promtool(ctx, os.Getenv("PLATFORM_PROMTOOL_BIN"), dir, "check", "rules", "dashboard.yaml")
	if errors.Is(err, promnames.ErrNoPromtool) {
		t.Fatal(err)
	}
	if err != nil {
		t.Fatalf("a dashboard query does not parse (rule panel_<id>_<refId>): %v", err)
	}
}

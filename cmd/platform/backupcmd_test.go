package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/tenant"
)

func TestCLIBackup(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	a, b := platformtest.Slug("bka"), platformtest.Slug("bkb")
	c.ok("tenant", "create", a, "--kind", "restaurant", "--name", "A")
	c.ok("tenant", "create", b, "--kind", "institution", "--name", "B")

	if _, _, err := c.run("backup", "run", a); err == nil || !strings.Contains(err.Error(), "PLATFORM_BACKUP_URL is not set") {
		t.Fatalf("run without PLATFORM_BACKUP_URL: %v", err)
	}
	c.env["PLATFORM_BACKUP_URL"] = "file://" + t.TempDir()
	c.env["PLATFORM_BACKUP_COPY_URL"] = "file://" + t.TempDir()

	out := c.ok("backup", "run", a)
	if !strings.HasPrefix(out, "backup "+a+" completed: ") {
		t.Fatalf("run output %q", out)
	}
	var list []struct {
		ID, Tenant, Status string
		RowCounts          map[string]int64 `json:"row_counts"`
	}
	if err := json.Unmarshal([]byte(c.ok("backup", "list", a, "-o", "json")), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Tenant != a || list[0].Status != "completed" || len(list[0].RowCounts) == 0 {
		t.Fatalf("list %+v", list)
	}
	show := c.ok("backup", "show", list[0].ID)
	for _, want := range []string{"status:", "completed", "sha256:", "copy:", "schema_migrations"} {
		if !strings.Contains(show, want) {
			t.Fatalf("show lacks %q:\n%s", want, show)
		}
	}

	var results []struct {
		Tenant string
		Error  string
	}
	if err := json.Unmarshal([]byte(c.ok("backup", "run", "--all", "--parallel", "2", "-o", "json")), &results); err != nil {
		t.Fatal(err)
	}
	if len(results) != 2 || results[0].Error != "" || results[1].Error != "" {
		t.Fatalf("run --all %+v", results)
	}
	if out := c.ok("backup", "list"); strings.Count(out, "completed") != 3 {
		t.Fatalf("list after --all:\n%s", out)
	}

	for _, bad := range []struct {
		args []string
		want string
	}{
		{[]string{"backup", "show", "nope"}, "not a uuid"},
		{[]string{"backup", "show", "00000000-0000-4000-8000-000000000000"}, "not found"},
		{[]string{"backup", "run", "no-such-tenant"}, "not found"},
		{[]string{"backup", "run", a, "--all"}, "not both"},
		{[]string{"backup", "run"}, "SLUG or --all"},
		{[]string{"backup", "list", "no-such-tenant"}, "not found"},
		{[]string{"backup", "frobnicate"}, "unknown verb"},
	} {
		_, _, err := c.run(bad.args...)
		if err == nil || !strings.Contains(errorLine(err), bad.want) {
			t.Errorf("platform %s: %v, want %q", strings.Join(bad.args, " "), err, bad.want)
		}
	}
	c.env["PLATFORM_BACKUP_COPY_URL"] = c.env["PLATFORM_BACKUP_URL"]
	if _, _, err := c.run("backup", "run", a); tenant.ErrorCode(err) != tenant.EInvalid {
		t.Fatalf("copy URL = backup URL: %v", err)
	}
}

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenancy/platform/platform/platformtest"
)

// TestCLIBackupVerify: verify says verified with the counts compared, show
// then says verified; a damaged artifact gives one line saying corrupt and
// a non-zero exit; bad input one clear line.
func TestCLIBackupVerify(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	slug := platformtest.Slug("bkv")
	c.ok("tenant", "create", slug, "--kind", "restaurant", "--name", "V")
	dir := t.TempDir()
	c.env["PLATFORM_BACKUP_URL"] = "file://" + dir

	var runs []struct {
		Backup struct {
			ID       string `json:"id"`
			TenantID string `json:"tenant_id"`
		}
	}
	if err := json.Unmarshal([]byte(c.ok("backup", "run", slug, "-o", "json")), &runs); err != nil || len(runs) != 1 {
		t.Fatalf("run: %v %+v", err, runs)
	}
	id := runs[0].Backup.ID
	out := c.ok("backup", "verify", id)
	if !strings.HasPrefix(out, "backup "+id+" ("+slug+") verified: ") || !strings.Contains(out, "tables have the manifest's row counts") ||
		!strings.Contains(out, "schema_migrations") || strings.Contains(out, "differs") {
		t.Fatalf("verify output:\n%s", out)
	}
	if show := c.ok("backup", "show", id); !strings.Contains(show, "verified:") {
		t.Fatalf("show after verify:\n%s", show)
	}

	p := filepath.Join(dir, runs[0].Backup.TenantID, id, "data")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)-20] ^= 0x80
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, err = c.run("backup", "verify", id)
	if err == nil || !strings.Contains(errorLine(err), "corrupt") || !strings.HasPrefix(out, "backup "+id+" ("+slug+") corrupt: ") {
		t.Fatalf("verify of a damaged artifact: %q, %v", out, err)
	}
	var res struct{ Outcome string }
	out, _, err = c.run("backup", "verify", id, "-o", "json")
	if err == nil || json.Unmarshal([]byte(out), &res) != nil || res.Outcome != "corrupt" {
		t.Fatalf("verify -o json: %q, %v", out, err)
	}

	for _, bad := range []struct {
		args []string
		want string
	}{
		{[]string{"backup", "verify"}, "want one backup ID"},
		{[]string{"backup", "verify", "nope"}, "not a uuid"},
		{[]string{"backup", "verify", "00000000-0000-4000-8000-000000000000"}, "not found"},
	} {
		_, _, err := c.run(bad.args...)
		if err == nil || !strings.Contains(errorLine(err), bad.want) {
			t.Errorf("platform %s: %v, want %q", strings.Join(bad.args, " "), err, bad.want)
		}
	}
}

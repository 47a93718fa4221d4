package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tenancy/platform/platform/platformtest"
)

// TestCLIRestore: refused without --yes or with an unknown id, each in one
// clear line; with --yes the tenant's backup is restored.
func TestCLIRestore(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	a := platformtest.Slug("rsa")
	c.ok("tenant", "create", a, "--kind", "restaurant", "--name", "A")
	// The kept previous database goes with the CLI's cleanup: purge drops
	// every database of the tenant's owner role.
	c.env["PLATFORM_BACKUP_URL"] = "file://" + t.TempDir()
	c.ok("backup", "run", a)
	var list []struct{ ID string }
	if err := json.Unmarshal([]byte(c.ok("backup", "list", a, "-o", "json")), &list); err != nil || len(list) != 1 {
		t.Fatalf("list: %v %v", list, err)
	}
	if _, _, err := c.run("backup", "restore", list[0].ID); err == nil || !strings.Contains(err.Error(), "refusing without --yes") {
		t.Fatalf("restore without --yes: %v", err)
	}
	if _, _, err := c.run("backup", "restore", "00000000-0000-4000-8000-000000000000", "--yes"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("restore of an unknown id: %v", err)
	}
	out := c.ok("backup", "restore", list[0].ID, "--yes")
	if !strings.Contains(out, "tenant "+a+": restored backup "+list[0].ID) || !strings.Contains(out, "_pre_restore_") {
		t.Fatalf("restore output %q", out)
	}
}

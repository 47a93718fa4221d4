package main

import (
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenancy/platform/platform/backup"
	"github.com/tenancy/platform/platform/backup/storage"
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
	// The terminal's progress line, redrawn under each result.
	var term strings.Builder
	svc := backup.New(c.cat, nil, nil, nil, nil, backup.Config{})
	err := runBackups(context.Background(), svc, []string{"no-such-tenant"}, 1, "table", &term, true)
	if err == nil || !strings.Contains(term.String(), "backup no-such-tenant failed: ") ||
		!strings.HasSuffix(term.String(), "] 1/1 done, 1 failed\n") {
		t.Fatalf("progress output %q, %v", term.String(), err)
	}
	c.env["PLATFORM_BACKUP_COPY_URL"] = c.env["PLATFORM_BACKUP_URL"]
	if _, _, err := c.run("backup", "run", a); tenant.ErrorCode(err) != tenant.EInvalid {
		t.Fatalf("copy URL = backup URL: %v", err)
	}
}

// TestBackupKill9 kills `platform backup run` with SIGKILL while the dump
// streams (a partial artifact of a few chunks is on disk): the catalog
// keeps a running row, never a completed one, and the store has no
// manifest and no listed artifact.
func TestBackupKill9(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	bin := filepath.Join(t.TempDir(), "platform")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	slug := platformtest.Slug("bkill")
	c.ok("tenant", "create", slug, "--kind", "restaurant", "--name", "Kill")
	ctx := context.Background()
	err := c.admin.In(ctx, tenant.DatabaseName(slug), tenant.OwnerRole(slug), func(conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, `CREATE TABLE bt_items (id int PRIMARY KEY, payload text NOT NULL);
			INSERT INTO bt_items SELECT g, md5(random()::text) || md5(random()::text) || md5(g::text)
			FROM generate_series(1, 300000) g`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	env := []string{"PLATFORM_BACKUP_URL=file://" + dir, "PATH=" + os.Getenv("PATH"), "PLATFORM_LOG_LEVEL=warn"}
	for k, v := range c.env {
		env = append(env, k+"="+v)
	}
	cmd := exec.Command(bin, "backup", "run", slug)
	cmd.Env = env
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill once more than 2 MiB of ciphertext is in the partial file.
	partialBig := func() bool {
		found := false
		filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && strings.HasSuffix(p, ".partial") {
				if fi, err := d.Info(); err == nil && fi.Size() > 2<<20 {
					found = true
				}
			}
			return nil
		})
		return found
	}
	platformtest.Eventually(t, 60*time.Second, "a partial artifact of 2 MiB", partialBig)
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()

	var rows []struct{ ID, Status string }
	if err := json.Unmarshal([]byte(c.ok("backup", "list", slug, "-o", "json")), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Status != "running" {
		t.Fatalf("rows after kill: %+v, want one running", rows)
	}
	st, err := storage.Open(ctx, "file://"+dir, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if keys, err := st.List(ctx, ""); err != nil || len(keys) != 0 {
		t.Fatalf("store holds %v (%v) after the kill, want nothing", keys, err)
	}
	// A later run is a backup of its own; the killed one stays not a backup.
	c.env["PLATFORM_BACKUP_URL"] = "file://" + dir
	c.ok("backup", "run", slug)
	if err := json.Unmarshal([]byte(c.ok("backup", "list", slug, "-o", "json")), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].Status != "completed" || rows[1].Status != "running" {
		t.Fatalf("rows after a second run: %+v", rows)
	}
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/auth"
)

// backupID runs `backup run slug` and returns the backup's id.
func backupID(t *testing.T, c *cli, slug string) string {
	t.Helper()
	var runs []struct{ Backup struct{ ID string } }
	if err := json.Unmarshal([]byte(c.ok("backup", "run", slug, "-o", "json")), &runs); err != nil || len(runs) != 1 || runs[0].Backup.ID == "" {
		t.Fatalf("backup run %s: %v %v", slug, runs, err)
	}
	return runs[0].Backup.ID
}

// TestCLIRestoreAs: `backup restore ID --yes --as NEW` makes an active
// tenant NEW of the source's kind holding the backup, whose users are the
// backup's (the source's admin password logs in, the generated one is
// gone); the source is untouched; an existing slug is a conflict and a
// bad one invalid, each one line with nothing created.
func TestCLIRestoreAs(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	src := platformtest.Slug("rsas")
	var created struct {
		AdminPassword string `json:"admin_password"`
	}
	if err := json.Unmarshal([]byte(c.ok("tenant", "create", src, "--kind", "institution", "--name", "Src", "--time-zone", "America/Santiago", "-o", "json")), &created); err != nil || created.AdminPassword == "" {
		t.Fatalf("create: %+v %v", created, err)
	}
	c.env["PLATFORM_BACKUP_URL"] = "file://" + t.TempDir()
	id := backupID(t, c, src)
	asOwner(t, c, src, `CREATE TABLE after_backup (id int)`)
	srcData := digests(t, c, tenant.DatabaseName(src))

	as := platformtest.Slug("inv")
	out := c.ok("backup", "restore", id, "--yes", "--as", as)
	if !strings.Contains(out, "tenant "+as+": created and restored from backup "+id+" of tenant "+src) {
		t.Fatalf("restore --as printed %q", out)
	}
	var show struct{ Status, Kind, TimeZone string }
	if err := json.Unmarshal([]byte(c.ok("tenant", "show", as, "-o", "json")), &show); err != nil {
		t.Fatal(err)
	}
	if show.Status != "active" || show.Kind != "institution" {
		t.Fatalf("new tenant %+v", show)
	}
	nt, err := c.cat.TenantBySlug(context.Background(), as)
	if err != nil || nt.TimeZone != "America/Santiago" {
		t.Fatalf("new tenant's time zone: %+v, %v", nt, err)
	}
	if !c.passwordWorks(t, as, created.AdminPassword) {
		t.Fatal("the source's admin password does not log in on the restored tenant: its users are not the backup's")
	}
	if _, ok := digests(t, c, tenant.DatabaseName(as))["after_backup"]; ok {
		t.Fatal("the restored tenant holds a table made after the backup")
	}
	sameTables(t, "source", digests(t, c, tenant.DatabaseName(src)), srcData)
	if st := tenantStatus(t, c, src); st != tenant.StatusActive {
		t.Fatalf("source is %s", st)
	}

	for _, tc := range []struct {
		as, code, says string
	}{
		{as, tenant.EConflict, "already exists"},
		{src, tenant.EConflict, "own tenant"},
		{"Bad_Slug", tenant.EInvalid, "slug"},
	} {
		_, _, err := c.run("backup", "restore", id, "--yes", "--as", tc.as)
		if tenant.ErrorCode(err) != tc.code || !strings.Contains(errorLine(err), tc.says) || strings.Contains(errorLine(err), "\n") {
			t.Errorf("restore --as %s: %v (code %s), want %s saying %q", tc.as, err, tenant.ErrorCode(err), tc.code, tc.says)
		}
	}
	var list []struct{ Slug string }
	if err := json.Unmarshal([]byte(c.ok("tenant", "list", "-o", "json")), &list); err != nil || len(list) != 2 {
		t.Fatalf("tenants after refusals: %+v %v", list, err)
	}
}

// TestCLIRestoreEndsSessions: with REDIS_URL, a restore ends the tenant's
// sessions in the real Redis, and another tenant's stay.
func TestCLIRestoreEndsSessions(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	a, b := platformtest.Slug("rss"), platformtest.Slug("rso")
	c.ok("tenant", "create", a, "--kind", "restaurant", "--name", "A")
	c.ok("tenant", "create", b, "--kind", "restaurant", "--name", "B")
	ta, err := c.cat.TenantBySlug(context.Background(), a)
	if err != nil {
		t.Fatal(err)
	}
	tb, err := c.cat.TenantBySlug(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	sessions := testSessions(t)
	newSession := func(tid string) string {
		t.Helper()
		secret, _, err := sessions.Create(context.Background(), tid, auth.SessionData{UserID: 1, Username: "admin"}, auth.Policy{})
		if err != nil {
			t.Fatal(err)
		}
		return secret
	}
	aSecrets := []string{newSession(ta.ID), newSession(ta.ID)}
	bSecret := newSession(tb.ID)

	c.env["PLATFORM_BACKUP_URL"] = "file://" + t.TempDir()
	c.env["REDIS_URL"] = platformtest.Getenv(t, "REDIS_URL")
	id := backupID(t, c, a)
	out := c.ok("backup", "restore", id, "--yes")
	if !strings.Contains(out, "; 2 sessions ended") {
		t.Fatalf("restore printed %q", out)
	}
	for _, s := range aSecrets {
		if _, _, err := sessions.Check(context.Background(), ta.ID, s, "", nil); !errors.Is(err, auth.ErrNoSession) {
			t.Errorf("a session of the restored tenant: %v, want ErrNoSession", err)
		}
	}
	if n := liveCount(t, sessions, ta.ID); n != 0 {
		t.Errorf("%d sessions of the restored tenant listed", n)
	}
	if _, _, err := sessions.Check(context.Background(), tb.ID, bSecret, "", nil); err != nil {
		t.Errorf("the other tenant's session: %v", err)
	}
}

// TestCLIPrunePreRestore: `backup prune` lists a kept pre-restore database
// older than PLATFORM_RESTORE_KEEP_DAYS as "would drop" in a dry run, then
// drops it; a young one (a real restore's) is kept; 0 days keeps all; a
// bad value is one line.
func TestCLIPrunePreRestore(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	slug := platformtest.Slug("rsp")
	c.ok("tenant", "create", slug, "--kind", "restaurant", "--name", "P")
	c.env["PLATFORM_BACKUP_URL"] = "file://" + t.TempDir()
	id := backupID(t, c, slug)
	var res struct {
		PreviousDatabase string `json:"previous_database"`
	}
	if err := json.Unmarshal([]byte(c.ok("backup", "restore", id, "--yes", "-o", "json")), &res); err != nil || res.PreviousDatabase == "" {
		t.Fatalf("restore: %+v %v", res, err)
	}
	db := tenant.DatabaseName(slug)
	old := db + "_pre_restore_" + time.Now().UTC().AddDate(0, 0, -9).Format("20060102_150405") + "000"
	if err := c.admin.CreateDatabase(context.Background(), old, tenant.OwnerRole(slug)); err != nil {
		t.Fatal(err)
	}
	exists := func(name string) bool {
		ok, err := c.admin.DatabaseExists(context.Background(), name)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	line := func(out, name string) string {
		for _, l := range strings.Split(out, "\n") {
			if strings.Contains(l, name) {
				return l
			}
		}
		return ""
	}

	c.env["PLATFORM_RESTORE_KEEP_DAYS"] = "0"
	out := c.ok("backup", "prune", slug)
	if !strings.HasSuffix(line(out, old), "keep") || !strings.Contains(out, "dropped 0 kept pre-restore databases (kept forever") || !exists(old) {
		t.Fatalf("keep forever:\n%s", out)
	}
	delete(c.env, "PLATFORM_RESTORE_KEEP_DAYS") // default: 7 days
	out = c.ok("backup", "prune", slug, "--dry-run")
	if !strings.HasSuffix(line(out, old), "would drop") || !strings.HasSuffix(line(out, res.PreviousDatabase), "keep") ||
		!strings.Contains(out, "would drop 1 kept pre-restore databases (kept 7 days)") || !exists(old) {
		t.Fatalf("dry run:\n%s", out)
	}
	var j struct {
		Items      []any
		PreRestore struct {
			Items []struct{ Database, Action string }
		} `json:"pre_restore"`
	}
	if err := json.Unmarshal([]byte(c.ok("backup", "prune", slug, "--dry-run", "-o", "json")), &j); err != nil ||
		len(j.Items) == 0 || len(j.PreRestore.Items) != 2 {
		t.Fatalf("prune -o json: %+v %v", j, err)
	}
	out = c.ok("backup", "prune", slug)
	if !strings.HasSuffix(line(out, old), "dropped") || exists(old) || !exists(res.PreviousDatabase) || !exists(db) {
		t.Fatalf("prune:\n%s", out)
	}
	c.env["PLATFORM_RESTORE_KEEP_DAYS"] = "-1"
	if _, _, err := c.run("backup", "prune", slug); tenant.ErrorCode(err) != tenant.EInvalid || !strings.Contains(err.Error(), "PLATFORM_RESTORE_KEEP_DAYS") {
		t.Fatalf("bad keep days: %v", err)
	}
}

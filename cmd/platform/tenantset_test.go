package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tenancy/platform/platform/adminapi"
	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/platform/schedule"
)

// TestTenantSetBackupSchedule: `tenant set` changes the backup schedule
// and retention (an invalid one refused with the field named, nothing
// changed), `tenant show` shows them with the next run and the latest
// backup, and "default" puts the per-tenant default back.
func TestTenantSetBackupSchedule(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	slug := platformtest.Slug("set")
	c.ok("tenant", "create", slug, "--kind", "institution", "--name", "Set", "--time-zone", "America/Santiago")
	show := func() adminapi.Tenant {
		t.Helper()
		var v adminapi.Tenant
		if err := json.Unmarshal([]byte(c.ok("tenant", "show", slug, "-o", "json")), &v); err != nil {
			t.Fatal(err)
		}
		if v.Backups == nil {
			t.Fatal("tenant show -o json has no backups")
		}
		return v
	}
	tn, err := c.cat.TenantBySlug(platformtest.Context(t), slug)
	if err != nil {
		t.Fatal(err)
	}
	b := show().Backups
	if !b.ScheduleDefault || b.Schedule != schedule.DefaultBackupSpec(tn) || b.NextBackupAt == nil ||
		!b.RetentionDefault || b.Retention != "30d,8w,12m" || b.LastBackup != nil || b.Count != 0 || b.NextDrillAt == nil {
		t.Fatalf("defaults: %+v", b)
	}
	if h := b.NextBackupAt.In(mustZone(t, "America/Santiago")).Hour(); h != 3 {
		t.Errorf("next default backup at %s: want 03:MM in the tenant's zone", b.NextBackupAt)
	}

	for _, bad := range [][]string{
		{"--backup-schedule", "61 * * * *"},
		{"--backup-schedule", "CRON_TZ=Mars/Base 0 3 * * *"},
		{"--backup-retention", "0d,0w,0m"},
		{"--backup-retention", "lots"},
	} {
		_, _, err := c.run(append([]string{"tenant", "set", slug}, bad...)...)
		field := strings.ReplaceAll(strings.TrimPrefix(bad[0], "--"), "-", "_")
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("tenant set %v: %v, want an error naming %s", bad, err, field)
		}
	}
	if _, _, err := c.run("tenant", "set", slug); err == nil || !strings.Contains(err.Error(), "nothing to set") {
		t.Errorf("tenant set without flags: %v", err)
	}
	if b := show().Backups; !b.ScheduleDefault || !b.RetentionDefault {
		t.Fatalf("a refused set changed something: %+v", b)
	}

	c.ok("tenant", "set", slug, "--backup-schedule", "30 1 * * 0", "--backup-retention", "7d,4w,6m")
	b = show().Backups
	if b.ScheduleDefault || b.Schedule != "30 1 * * 0" || b.Retention != "7d,4w,6m" || b.RetentionDefault {
		t.Fatalf("after set: %+v", b)
	}
	if at := b.NextBackupAt.In(mustZone(t, "America/Santiago")); at.Weekday() != time.Sunday || at.Hour() != 1 || at.Minute() != 30 {
		t.Errorf("next backup %s: want Sunday 01:30 in the tenant's zone", at)
	}

	c.env["PLATFORM_BACKUP_URL"] = "file://" + t.TempDir()
	c.ok("backup", "run", slug)
	b = show().Backups
	if b.Count != 1 || b.LastBackup == nil || b.LastBackup.Status != "completed" || b.LastSuccessAt == nil || b.LastBackup.SizeBytes == 0 {
		t.Fatalf("after a backup: %+v", b)
	}
	text := c.ok("tenant", "show", slug)
	for _, want := range []string{"backup schedule:", "30 1 * * 0", "backup retention:", "7d,4w,6m", "last backup:", b.LastBackup.ID, "restore drill:"} {
		if !strings.Contains(text, want) {
			t.Errorf("tenant show lacks %q:\n%s", want, text)
		}
	}

	c.ok("tenant", "set", slug, "--backup-schedule", "default", "--backup-retention", "")
	if b := show().Backups; !b.ScheduleDefault || !b.RetentionDefault || b.Schedule != schedule.DefaultBackupSpec(tn) {
		t.Fatalf("back to the defaults: %+v", b)
	}
}

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

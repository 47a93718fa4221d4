package main

import (
	"context"
	"testing"
	"time"

	"github.com/tenancy/platform/platform/catalog"
	"github.com/tenancy/platform/platform/platformtest"
)

// TestServeScheduledBackups: two `platform serve` replicas on one catalog
// run a tenant's backup schedule ("@every 2s"): completed scheduled
// backups appear in the catalog, and each slot is run once in all — as
// many scheduled backups as succeeded backup slots, whichever replica ran
// them.
func TestServeScheduledBackups(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	slug := platformtest.Slug("sched")
	c.ok("tenant", "create", slug, "--kind", "restaurant", "--name", "Scheduled")
	c.ok("tenant", "settings", slug, "--set", "backup_schedule=@every 2s")
	env := map[string]string{"PLATFORM_BACKUP_URL": "file://" + t.TempDir()}
	a := c.serve(t, env)
	c.serve(t, env)

	ctx := context.Background()
	tn, err := c.cat.TenantBySlug(ctx, slug)
	if err != nil {
		t.Fatal(err)
	}
	platformtest.Eventually(t, 60*time.Second, "three completed scheduled backups", func() bool {
		bs, err := c.cat.Backups(ctx, slug)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, b := range bs {
			if b.Status == "completed" && b.Reason == "scheduled" {
				n++
			}
		}
		return n >= 3
	})
	a.stop() // no new slot starts on a; the other replica keeps going
	runs, err := c.cat.JobRuns(ctx, catalog.JobRunFilter{Job: "backup", TenantID: tn.ID, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	bs, err := c.cat.Backups(ctx, slug)
	if err != nil {
		t.Fatal(err)
	}
	slots := map[time.Time]int{}
	succeeded := 0
	for _, r := range runs {
		slots[r.Slot]++
		if r.Status == "succeeded" {
			succeeded++
		}
	}
	for slot, n := range slots {
		if n != 1 {
			t.Errorf("slot %s claimed %d times", slot, n)
		}
	}
	scheduled := 0
	for _, b := range bs {
		if b.Reason == "scheduled" && (b.Status == "completed" || b.Status == "verified") {
			scheduled++
		}
	}
	// A slot may finish between the two reads: at most one apart.
	if scheduled < succeeded || scheduled > succeeded+1 {
		t.Errorf("%d completed scheduled backups for %d succeeded slots", scheduled, succeeded)
	}
}

// TestServeScheduledDrill: the restore drill runs on the tenant's
// verify_schedule inside serve: its newest backup ends up verified, by a
// succeeded "verify" job run.
func TestServeScheduledDrill(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	slug := platformtest.Slug("drill")
	c.ok("tenant", "create", slug, "--kind", "institution", "--name", "Drill")
	// Until there is a backup, a drill that never comes: the default one
	// (monthly, on a day derived from the tenant) may be due today and be
	// caught up at start, before any backup, and wait minutes to retry.
	c.ok("tenant", "set", slug, "--backup-schedule", "@every 2s", "--verify-schedule", "0 0 29 2 *")
	c.serve(t, map[string]string{"PLATFORM_BACKUP_URL": "file://" + t.TempDir()})

	ctx := context.Background()
	tn, err := c.cat.TenantBySlug(ctx, slug)
	if err != nil {
		t.Fatal(err)
	}
	// Every 3 s from now that there is a backup.
	platformtest.Eventually(t, 60*time.Second, "a scheduled backup", func() bool {
		bs, err := c.cat.Backups(ctx, slug)
		if err != nil {
			t.Fatal(err)
		}
		return len(bs) > 0 && bs[len(bs)-1].Status == "completed"
	})
	c.ok("tenant", "set", slug, "--verify-schedule", "@every 3s")
	platformtest.Eventually(t, 90*time.Second, "a verified backup and a succeeded drill run", func() bool {
		bs, err := c.cat.Backups(ctx, slug)
		if err != nil {
			t.Fatal(err)
		}
		runs, err := c.cat.JobRuns(ctx, catalog.JobRunFilter{Job: "verify", TenantID: tn.ID})
		if err != nil {
			t.Fatal(err)
		}
		verified, drilled := false, false
		for _, b := range bs {
			verified = verified || (b.Status == "verified" && b.VerifiedAt != nil)
		}
		for _, r := range runs {
			drilled = drilled || r.Status == "succeeded"
		}
		return verified && drilled
	})
}

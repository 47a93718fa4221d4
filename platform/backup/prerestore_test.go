package backup

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tenancy/platform/platform/platformtest/tenanttest"
	"github.com/tenancy/platform/tenant"
)

func TestPreRestoreTime(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 20, 3, 4, 5, 678e6, time.UTC)
	long := "tenant_" + strings.Repeat("a", 40) // the name is cut and hashed
	for _, tc := range []struct {
		db, name string
		ok       bool
	}{
		{"tenant_x", "tenant_x_pre_restore_20261120_030405678", true},
		{long, rsName(long, "_pre_restore_"+rsTS(at)), true},
		{"tenant_x", "tenant_x", false},
		{"tenant_x", "tenant_x_restore_20261120_030405678", false},
		{"tenant_x", "tenant_xy_pre_restore_20261120_030405678", false}, // another tenant's
		{"tenant_x", "tenant_x_pre_restore_20261120_03040567", false},
		{"tenant_x", "tenant_x_pre_restore_20261320_030405678", false},
		{"tenant_x", "tenant_x_pre_restore_20261120_030405-78", false},
		{"tenant_x", "tenant_x_pre_restore_20261120t030405678", false},
		{"tenant_x", "xtenant_x_pre_restore_20261120_030405678", false},
		{long, long[:40] + "_pre_restore_" + rsTS(at), false},
	} {
		got, ok := preRestoreTime(tc.db, tc.name)
		if ok != tc.ok || (ok && !got.Equal(at)) {
			t.Errorf("preRestoreTime(%q, %q) = %v, %v; want %v", tc.db, tc.name, got, ok, tc.ok)
		}
	}
}

// TestPrunePreRestore: kept previous databases older than the keep days
// are dropped (a dry run only lists them), younger ones kept, with 0 days
// all kept; never the live database, a look-alike owned by another role,
// a badly named one, another tenant's (when pruning one tenant) or the one
// an interrupted restore's record names.
func TestPrunePreRestore(t *testing.T) {
	t.Parallel()
	e := tenanttest.New(t)
	tn := e.Create(t, tenant.Restaurant)
	other := e.Create(t, tenant.Restaurant)
	dropLater(t, e, tn)
	dropLater(t, e, other)
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	pre := func(db string, age time.Duration) string { return rsName(db, "_pre_restore_"+rsTS(now.Add(-age))) }
	day := 24 * time.Hour
	old, young := pre(tn.Database, 8*day), pre(tn.Database, 6*day)
	edge := pre(tn.Database, 7*day) // exactly the keep days: dropped
	recorded := pre(tn.Database, 30*day)
	foreign := pre(tn.Database, 9*day)                                  // owned by the superuser
	badName := tn.Database + "_pre_restore_20200101_000000xyz"          // not a restore's name
	otherOld := pre(other.Database, 10*day)                             // other tenant's
	restoring := rsName(tn.Database, "_restore_"+rsTS(now.Add(-9*day))) // not a previous database
	owner := tenant.OwnerRole(tn.Slug)
	for db, o := range map[string]string{old: owner, young: owner, edge: owner, recorded: owner, badName: owner,
		restoring: owner, foreign: e.Admin.ConnConfig("postgres", "").User, otherOld: tenant.OwnerRole(other.Slug)} {
		if err := e.Admin.CreateDatabase(e.Ctx, db, o); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, db := range []string{foreign, badName, restoring} {
			e.Admin.DropDatabase(e.Ctx, db)
		}
	})
	// An interrupted restore whose record names a previous database.
	raw, _ := json.Marshal(restoreRecord{BackupID: "x", Slug: tn.Slug, Database: tn.Database, PreDatabase: recorded,
		NewDatabase: tn.Database + "_restore_x", Step: rsStepSwapped})
	if err := e.Catalog.SaveRestoreRecord(e.Ctx, tn.ID, raw); err != nil {
		t.Fatal(err)
	}

	exists := func(db string) bool {
		ok, err := e.Admin.DatabaseExists(e.Ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	actions := func(rep *PreRestoreReport) map[string]string {
		m := map[string]string{}
		for _, it := range rep.Items {
			if it.Error != "" {
				t.Errorf("item %+v", it)
			}
			m[it.Database] = it.Action
		}
		return m
	}

	// Keep forever: everything listed, nothing dropped.
	rep, err := newService(e, fileStore(t), nil, Config{}).PrunePreRestore(e.Ctx, tn.Slug, false, now)
	if err != nil {
		t.Fatal(err)
	}
	if got := actions(rep); len(got) != 4 || got[old] != PreRestoreKeep || rep.Dropped() != 0 {
		t.Fatalf("keep forever: %v", got)
	}

	svc := newService(e, fileStore(t), nil, Config{RestoreKeepDays: 7})
	rep, err = svc.PrunePreRestore(e.Ctx, tn.Slug, true, now)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{old: PreRestoreDrop, edge: PreRestoreDrop, recorded: PreRestoreDrop, young: PreRestoreKeep}
	if got := actions(rep); len(got) != len(want) || got[old] != want[old] || got[edge] != want[edge] ||
		got[recorded] != want[recorded] || got[young] != want[young] {
		t.Fatalf("dry run: %v, want %v", got, want)
	}
	for _, db := range []string{old, edge, recorded, young} {
		if !exists(db) {
			t.Fatalf("dry run dropped %s", db)
		}
	}

	rep, err = svc.PrunePreRestore(e.Ctx, tn.Slug, false, now)
	if err != nil {
		t.Fatal(err)
	}
	want[recorded] = PreRestoreKeep
	if got := actions(rep); got[old] != want[old] || got[edge] != want[edge] || got[recorded] != want[recorded] || rep.Dropped() != 2 {
		t.Fatalf("prune: %v (dropped %d), want %v", got, rep.Dropped(), want)
	}
	for db, want := range map[string]bool{old: false, edge: false, young: true, recorded: true, foreign: true,
		badName: true, restoring: true, otherOld: true, tn.Database: true, other.Database: true} {
		if got := exists(db); got != want {
			t.Errorf("%s exists: %v, want %v", db, got, want)
		}
	}

	// Every tenant: the other tenant's old one goes too.
	if err := e.Catalog.DeleteRestoreRecord(e.Ctx, tn.ID); err != nil {
		t.Fatal(err)
	}
	rep, err = svc.PrunePreRestore(e.Ctx, "", false, now)
	if err != nil || rep.Errors != 0 {
		t.Fatalf("prune all: %+v, %v", rep, err)
	}
	for db, want := range map[string]bool{otherOld: false, recorded: false, young: true, other.Database: true, tn.Database: true} {
		if got := exists(db); got != want {
			t.Errorf("after prune of all: %s exists: %v, want %v", db, got, want)
		}
	}
	_, err = svc.PrunePreRestore(e.Ctx, "no-such-tenant", true, now)
	wantCode(t, err, tenant.ENotFound)
}

package backup

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenancy/platform/platform/backup/storage"
	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/platform/platformtest/tenanttest"
	"github.com/tenancy/platform/tenant"
)

// tableDigests returns an md5 of every public table's full contents, by
// table name, read as the superuser from database.
func tableDigests(t *testing.T, e *tenanttest.Env, database string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := e.Admin.In(e.Ctx, database, "", func(c *pgx.Conn) error {
		rows, err := c.Query(e.Ctx, `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')`)
		if err != nil {
			return err
		}
		names, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		for _, n := range names {
			var d string
			q := `SELECT coalesce(md5(string_agg(x::text, E'\n' ORDER BY x::text)), 'empty') FROM public.` + pgx.Identifier{n}.Sanitize() + ` x`
			if err := c.QueryRow(e.Ctx, q).Scan(&d); err != nil {
				return err
			}
			out[n] = d
		}
		return nil
	})
	if err != nil {
		t.Fatalf("digest tables of %s: %v", database, err)
	}
	return out
}

func sameDigests(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d tables, want %d (%v vs %v)", what, len(got), len(want), keys(got), keys(want))
	}
	for n, d := range want {
		if got[n] != d {
			t.Errorf("%s: table %s differs (%q, want %q)", what, n, got[n], d)
		}
	}
}

func keys(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// changeData deletes, updates and inserts rows and adds a table, as the
// tenant's owner.
func changeData(t *testing.T, e *tenanttest.Env, tn *tenanttest.Tenant) {
	t.Helper()
	err := e.Admin.In(e.Ctx, tn.Database, tenant.OwnerRole(tn.Slug), func(c *pgx.Conn) error {
		_, err := c.Exec(e.Ctx, `DELETE FROM bt_items WHERE id % 3 = 0;
			UPDATE bt_items SET payload = 'changed' WHERE id % 3 = 1;
			INSERT INTO bt_items VALUES (9999999, 'new');
			CREATE TABLE bt_after (id int)`)
		return err
	})
	if err != nil {
		t.Fatalf("change data: %v", err)
	}
}

func databasesLike(t testing.TB, e *tenanttest.Env, prefix string) []string {
	t.Helper()
	var names []string
	err := e.Admin.In(e.Ctx, "postgres", "", func(c *pgx.Conn) error {
		rows, err := c.Query(e.Ctx, `SELECT datname FROM pg_database WHERE starts_with(datname, $1) ORDER BY 1`, prefix)
		if err != nil {
			return err
		}
		names, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func dropLater(t *testing.T, e *tenanttest.Env, tn *tenanttest.Tenant) {
	t.Cleanup(func() {
		for _, p := range []string{tn.Database + "_restore_", tn.Database + "_pre_restore_"} {
			for _, d := range databasesLike(t, e, p) {
				e.Admin.DropDatabase(context.Background(), d)
			}
		}
	})
}

func wantStatus(t *testing.T, e *tenanttest.Env, slug string, want tenant.Status) {
	t.Helper()
	got, err := e.Catalog.TenantBySlug(e.Ctx, slug)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != want {
		t.Fatalf("tenant %s is %s, want %s", slug, got.Status, want)
	}
}

type countingEnder struct{ calls atomic.Int64 }

func (c *countingEnder) RevokeTenant(_ context.Context, _ string) (int, error) {
	c.calls.Add(1)
	return 3, nil
}

// TestRestoreRoundTrip: backup → change data → restore: every table equal
// to the backup, owned by the owner role and usable by the app role; the
// previous database kept with the changed data; a safety backup made;
// maintenance over, sessions ended, no record left.
func TestRestoreRoundTrip(t *testing.T) {
	t.Parallel()
	e := tenanttest.New(t)
	tn := e.Create(t, tenant.Restaurant)
	dropLater(t, e, tn)
	seed(t, e, tn, 3000, 64)
	svc := newService(e, fileStore(t), nil, Config{})
	b, err := svc.Run(e.Ctx, tn.Slug, ReasonManual)
	if err != nil {
		t.Fatal(err)
	}
	before := tableDigests(t, e, tn.Database)
	changeData(t, e, tn)
	changed := tableDigests(t, e, tn.Database)

	// What a later (failed) migration recorded: the restore puts the
	// backup's version in its place, as the database now is.
	if err := e.Catalog.RecordTenantSchema(e.Ctx, tn.ID, 999, true); err != nil {
		t.Fatal(err)
	}
	ender := &countingEnder{}
	res, err := svc.Restore(e.Ctx, b.ID, RestoreOptions{Sessions: ender})
	if err != nil {
		t.Fatal(err)
	}
	sameDigests(t, "restored", tableDigests(t, e, tn.Database), before)
	var version int64
	var dirty bool
	if err := e.Catalog.Pool().QueryRow(e.Ctx, `SELECT version, dirty FROM tenant_schema WHERE tenant_id = $1`, tn.ID).Scan(&version, &dirty); err != nil ||
		version != b.SchemaVersion || b.SchemaVersion == 0 || dirty {
		t.Errorf("schema recorded after restore: %d dirty %v (%v), want the backup's %d, clean", version, dirty, err, b.SchemaVersion)
	}
	if res.PreviousDatabase == "" || !strings.HasPrefix(res.PreviousDatabase, tn.Database+"_pre_restore_") {
		t.Fatalf("previous database %q", res.PreviousDatabase)
	}
	if _, err := e.Admin.DatabaseExists(e.Ctx, res.PreviousDatabase); err != nil {
		t.Fatal(err)
	}
	// The previous database refuses connections; let one in to compare.
	if err := svc.allowConnections(e.Ctx, e.Admin, res.PreviousDatabase, true); err != nil {
		t.Fatal(err)
	}
	sameDigests(t, "previous", tableDigests(t, e, res.PreviousDatabase), changed)
	if res.Tables != len(before) || res.Rows == 0 || res.SessionsEnded != 3 || ender.calls.Load() != 1 {
		t.Fatalf("result %+v (sessions calls %d)", res, ender.calls.Load())
	}
	safety, err := svc.Get(e.Ctx, res.SafetyBackupID)
	if err != nil || safety.Reason != ReasonPreRestore || safety.Status != "completed" || safety.RowCounts["bt_after"] != 0 {
		t.Fatalf("safety backup %+v, %v", safety, err)
	}
	if _, ok := safety.RowCounts["bt_after"]; !ok {
		t.Fatalf("safety backup does not hold the current database's tables: %v", safety.RowCounts)
	}
	wantStatus(t, e, tn.Slug, tenant.StatusActive)
	if rec, err := e.Catalog.RestoreRecord(e.Ctx, tn.ID); err != nil || rec != nil {
		t.Fatalf("restore record left: %s, %v", rec, err)
	}
	// Ownership and grants as provisioning makes them.
	err = e.Admin.In(e.Ctx, tn.Database, "", func(c *pgx.Conn) error {
		var n int
		if err := c.QueryRow(e.Ctx, `SELECT count(*) FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace
			WHERE ns.nspname = 'public' AND pg_get_userbyid(c.relowner) <> $1`, tenant.OwnerRole(tn.Slug)).Scan(&n); err != nil {
			return err
		}
		if n != 0 {
			t.Errorf("%d relations not owned by %s", n, tenant.OwnerRole(tn.Slug))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var n int
	platformtest.Eventually(t, 10*time.Second, "the app pool reconnecting to the restored database", func() bool {
		return tn.App.QueryRow(e.Ctx, `SELECT count(*) FROM bt_items`).Scan(&n) == nil
	})
	if int64(n) != b.RowCounts["bt_items"] {
		t.Fatalf("app role sees %d bt_items, backup has %d", n, b.RowCounts["bt_items"])
	}
	if _, err := tn.App.Exec(e.Ctx, `UPDATE audit_log SET action = action`); err == nil {
		t.Fatal("app role may update audit_log after a restore")
	}

	// The kept previous database expires after the keep days, not before.
	keeper := newService(e, fileStore(t), nil, Config{RestoreKeepDays: 7})
	for _, tc := range []struct {
		after time.Duration
		want  bool
	}{{6 * 24 * time.Hour, true}, {7*24*time.Hour + time.Minute, false}} {
		rep, err := keeper.PrunePreRestore(e.Ctx, tn.Slug, false, time.Now().Add(tc.after))
		if err != nil || rep.Errors != 0 || len(rep.Items) != 1 || rep.Items[0].Database != res.PreviousDatabase {
			t.Fatalf("prune after %s: %+v, %v", tc.after, rep, err)
		}
		if ok, err := e.Admin.DatabaseExists(e.Ctx, res.PreviousDatabase); err != nil || ok != tc.want {
			t.Fatalf("after %s the previous database exists: %v, %v; want %v", tc.after, ok, err, tc.want)
		}
	}
	wantStatus(t, e, tn.Slug, tenant.StatusActive)
}

// TestRestoreCorruptArtifact: a flipped byte in the artifact fails the
// restore before the swap: the tenant is active with its data, and no
// restore database is left.
func TestRestoreCorruptArtifact(t *testing.T) {
	t.Parallel()
	e := tenanttest.New(t)
	tn := e.Create(t, tenant.Restaurant)
	dropLater(t, e, tn)
	seed(t, e, tn, 3000, 64)
	dir := t.TempDir()
	st, err := storage.Open(e.Ctx, "file://"+dir, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	svc := newService(e, st, nil, Config{})
	b, err := svc.Run(e.Ctx, tn.Slug, ReasonManual)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, tn.ID, b.ID, "data")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)/2] ^= 0x40
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	changeData(t, e, tn)
	want := tableDigests(t, e, tn.Database)

	_, err = svc.Restore(e.Ctx, b.ID, RestoreOptions{})
	if err == nil || !strings.Contains(err.Error(), "left as it was") || !strings.Contains(err.Error(), "damaged") {
		t.Fatalf("restore of a corrupt artifact: %v", err)
	}
	wantStatus(t, e, tn.Slug, tenant.StatusActive)
	sameDigests(t, "after failed restore", tableDigests(t, e, tn.Database), want)
	if left := databasesLike(t, e, tn.Database+"_"); len(left) != 0 {
		t.Fatalf("databases left: %v", left)
	}
	if rec, err := e.Catalog.RestoreRecord(e.Ctx, tn.ID); err != nil || rec != nil {
		t.Fatalf("restore record left: %s, %v", rec, err)
	}
	var n int
	if err := tn.App.QueryRow(e.Ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
		t.Fatalf("tenant not serving after a failed restore: %v", err)
	}
}

var errKilled = errors.New("killed")

// TestRestoreResumes: a restore killed before the swap is rolled back by
// the next run, one killed after it is finished; either way the next run
// ends with the backup's data and an active tenant.
func TestRestoreResumes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		at, recovered string
	}{
		{rsStepSwapping, "rolled back"},
		{rsStepSwapped, "finished"},
	} {
		t.Run(tc.at, func(t *testing.T) {
			t.Parallel()
			e := tenanttest.New(t)
			tn := e.Create(t, tenant.Restaurant)
			dropLater(t, e, tn)
			seed(t, e, tn, 500, 32)
			svc := newService(e, fileStore(t), nil, Config{})
			b, err := svc.Run(e.Ctx, tn.Slug, ReasonManual)
			if err != nil {
				t.Fatal(err)
			}
			want := tableDigests(t, e, tn.Database)
			changeData(t, e, tn)
			_, err = svc.restore(e.Ctx, b.ID, RestoreOptions{}, func(step string) error {
				if step == tc.at {
					return errKilled
				}
				return nil
			})
			if !errors.Is(err, errKilled) {
				t.Fatalf("killed run: %v", err)
			}
			wantStatus(t, e, tn.Slug, tenant.StatusMaintenance)
			res, err := svc.Restore(e.Ctx, b.ID, RestoreOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(res.Recovered, tc.recovered) {
				t.Fatalf("recovered %q, want %q", res.Recovered, tc.recovered)
			}
			wantStatus(t, e, tn.Slug, tenant.StatusActive)
			sameDigests(t, "restored", tableDigests(t, e, tn.Database), want)
			restoring := databasesLike(t, e, tn.Database+"_restore_")
			if len(restoring) != 0 {
				t.Fatalf("restore databases left: %v", restoring)
			}
			pre := databasesLike(t, e, tn.Database+"_pre_restore_")
			wantPre := 1
			if tc.at == rsStepSwapped {
				wantPre = 2 // the finished one's and the second run's, unless in the same second
			}
			if len(pre) < 1 || len(pre) > wantPre {
				t.Fatalf("previous databases %v", pre)
			}
		})
	}
}

// TestRestoreBadInput: clear errors and nothing changed.
func TestRestoreBadInput(t *testing.T) {
	t.Parallel()
	e := tenanttest.New(t)
	tn := e.Create(t, tenant.Restaurant)
	dropLater(t, e, tn)
	svc := newService(e, fileStore(t), nil, Config{})
	_, err := svc.Restore(e.Ctx, "8a3c3c1e-0000-4000-8000-"+platformtest.Rand(12), RestoreOptions{})
	wantCode(t, err, tenant.ENotFound)
	_, err = svc.Restore(e.Ctx, "nope", RestoreOptions{})
	wantCode(t, err, tenant.EInvalid)
	b, err := svc.Run(e.Ctx, tn.Slug, ReasonManual)
	if err != nil {
		t.Fatal(err)
	}
	_, err = svc.Restore(e.Ctx, b.ID, RestoreOptions{As: "Not A Slug"})
	wantCode(t, err, tenant.EInvalid)
	// A backup whose artifact is gone from the store: refused before any change.
	other := newService(e, fileStore(t), nil, Config{})
	_, err = other.Restore(e.Ctx, b.ID, RestoreOptions{})
	if err == nil {
		t.Fatal("restore from a store without the artifact succeeded")
	}
	bs, err := svc.List(e.Ctx, tn.Slug)
	if err != nil || len(bs) != 1 {
		t.Fatalf("backups after refused restores: %d, %v", len(bs), err)
	}
	wantStatus(t, e, tn.Slug, tenant.StatusActive)
	if left := databasesLike(t, e, tn.Database+"_"); len(left) != 0 {
		t.Fatalf("databases left: %v", left)
	}
}

// BenchmarkRestore restores a ~20 MB tenant (40 000 rows of ~512 bytes)
// and reports the restore's wall time and its maintenance window.
func BenchmarkRestore(b *testing.B) {
	e := tenanttest.New(b)
	tn := e.Create(b, tenant.Restaurant)
	seed(b, e, tn, 40000, 512)
	svc := newService(e, fileStore(b), nil, Config{})
	bk, err := svc.Run(e.Ctx, tn.Slug, ReasonManual)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		for _, p := range []string{tn.Database + "_restore_", tn.Database + "_pre_restore_"} {
			for _, d := range databasesLike(b, e, p) {
				e.Admin.DropDatabase(context.Background(), d)
			}
		}
	})
	var total, window time.Duration
	for b.Loop() {
		res, err := svc.Restore(e.Ctx, bk.ID, RestoreOptions{})
		if err != nil {
			b.Fatal(err)
		}
		total += res.Duration
		window += res.MaintenanceWindow
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "restore-ms")
	b.ReportMetric(float64(window.Milliseconds())/float64(b.N), "maintenance-ms")
	b.ReportMetric(float64(bk.SizeBytes)/1e6, "artifact-MB")
}

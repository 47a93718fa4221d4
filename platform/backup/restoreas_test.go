package backup

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/tenancy/platform/platform/backup/storage"
	"github.com/tenancy/platform/platform/catalog"
	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/platform/platformtest/tenanttest"
	"github.com/tenancy/platform/platform/provision"
	"github.com/tenancy/platform/tenant"
)

// provisioner is the test's *provision.Service as a Provisioner (cmd has
// its own adapter).
type provisioner struct{ svc *provision.Service }

func (p provisioner) CreateTenant(ctx context.Context, slug string, kind tenant.Kind, name, tz string) (*tenant.Tenant, error) {
	res, err := p.svc.Create(ctx, provision.CreateRequest{Slug: slug, Kind: string(kind), Name: name, TimeZone: tz})
	if err != nil {
		return nil, err
	}
	return res.Tenant, nil
}

func (p provisioner) PurgeTenant(ctx context.Context, slug string) error {
	return p.svc.Purge(ctx, slug)
}

var catalogAll = catalog.TenantFilter{}

func fileStoreAt(t *testing.T, dir string) storage.Store {
	t.Helper()
	st, err := storage.Open(platformtest.Context(t), "file://"+dir, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// wantNoTenant checks that nothing of slug exists: catalog row, database
// (or any of its owner role), roles, Vault secrets.
func wantNoTenant(t *testing.T, e *tenanttest.Env, slug string) {
	t.Helper()
	if _, err := e.Catalog.TenantBySlug(e.Ctx, slug); tenant.ErrorCode(err) != tenant.ENotFound {
		t.Errorf("tenant %s in the catalog: %v", slug, err)
	}
	if left := databasesLike(t, e, tenant.DatabaseName(slug)); len(left) != 0 {
		t.Errorf("databases of %s left: %v", slug, left)
	}
	for _, r := range []string{tenant.OwnerRole(slug), tenant.AppRole(slug)} {
		if ok, err := e.Admin.RoleExists(e.Ctx, r); err != nil || ok {
			t.Errorf("role %s exists: %v, %v", r, ok, err)
		}
	}
	if _, err := e.Vault.Get(e.Ctx, slug); tenant.ErrorCode(err) != tenant.ENotFound {
		t.Errorf("Vault secrets of %s: %v", slug, err)
	}
}

// appConn connects to slug's database as its login role with its Vault
// password, as the request path does.
func appConn(t *testing.T, e *tenanttest.Env, slug string) *pgx.Conn {
	t.Helper()
	sec, err := e.Vault.Get(e.Ctx, slug)
	if err != nil {
		t.Fatal(err)
	}
	c, err := pgx.ConnectConfig(e.Ctx, e.AppConnConfig(tenant.DatabaseName(slug), slug, sec["db_password"]))
	if err != nil {
		t.Fatalf("connect as %s's app role: %v", slug, err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// TestRestoreAs: a backup restored --as a fresh slug makes a new active
// tenant of the same kind and time zone whose every table (users
// included) equals the backup, owned by its own owner role and served by
// its own app role; the source is untouched (data, status, no safety
// backup); an audit row names both.
func TestRestoreAs(t *testing.T) {
	t.Parallel()
	e := tenanttest.New(t)
	src := e.Create(t, tenant.Institution)
	dropLater(t, e, src)
	seed(t, e, src, 2000, 64)
	svc := newService(e, fileStore(t), nil, Config{Provisioner: provisioner{e.Service}})
	b, err := svc.Run(e.Ctx, src.Slug, ReasonManual)
	if err != nil {
		t.Fatal(err)
	}
	want := tableDigests(t, e, src.Database)
	changeData(t, e, src)
	srcNow := tableDigests(t, e, src.Database)

	as := platformtest.Slug("inv")
	res, err := svc.Restore(e.Ctx, b.ID, RestoreOptions{As: as})
	if err != nil {
		t.Fatal(err)
	}
	if res.Tenant != as || res.SourceTenant != src.Slug || res.SafetyBackupID != "" || res.Tables != len(want) || res.Rows == 0 {
		t.Fatalf("result %+v", res)
	}
	nt, err := e.Catalog.TenantBySlug(e.Ctx, as)
	if err != nil {
		t.Fatal(err)
	}
	if nt.Status != tenant.StatusActive || nt.Kind != src.Kind || nt.TimeZone != src.TimeZone || nt.ID == src.ID {
		t.Fatalf("new tenant %+v (source %+v)", nt, src.Tenant)
	}
	sameDigests(t, "restored --as", tableDigests(t, e, nt.Database), want)
	if _, ok := want["users"]; !ok {
		t.Fatalf("the backup holds no users table: %v", keys(want))
	}

	// The source is as it was: data, status, one backup (no safety backup).
	sameDigests(t, "source", tableDigests(t, e, src.Database), srcNow)
	wantStatus(t, e, src.Slug, tenant.StatusActive)
	if bs, err := svc.List(e.Ctx, src.Slug); err != nil || len(bs) != 1 {
		t.Fatalf("source backups: %d, %v", len(bs), err)
	}
	if left := databasesLike(t, e, src.Database+"_"); len(left) != 0 {
		t.Fatalf("source databases made: %v", left)
	}
	if left := databasesLike(t, e, nt.Database+"_"); len(left) != 0 {
		t.Fatalf("databases left next to the new tenant's: %v", left)
	}
	if rec, err := e.Catalog.RestoreRecord(e.Ctx, nt.ID); err != nil || rec != nil {
		t.Fatalf("restore record left: %s, %v", rec, err)
	}

	// Ownership and grants are the new tenant's roles', not the source's.
	err = e.Admin.In(e.Ctx, nt.Database, "", func(c *pgx.Conn) error {
		var n int
		if err := c.QueryRow(e.Ctx, `SELECT count(*) FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace
			WHERE ns.nspname = 'public' AND pg_get_userbyid(c.relowner) <> $1`, tenant.OwnerRole(as)).Scan(&n); err != nil {
			return err
		}
		if n != 0 {
			t.Errorf("%d relations not owned by %s", n, tenant.OwnerRole(as))
		}
		var srcGrants bool
		if err := c.QueryRow(e.Ctx, `SELECT has_table_privilege($1, 'public.users', 'SELECT')`, tenant.AppRole(src.Slug)).Scan(&srcGrants); err != nil {
			return err
		}
		if srcGrants {
			t.Errorf("the source's app role may read the new tenant's users")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	app := appConn(t, e, as)
	var n int64
	if err := app.QueryRow(e.Ctx, `SELECT count(*) FROM bt_items`).Scan(&n); err != nil || n != b.RowCounts["bt_items"] {
		t.Fatalf("new app role sees %d bt_items (%v), backup has %d", n, err, b.RowCounts["bt_items"])
	}
	if _, err := app.Exec(e.Ctx, `UPDATE audit_log SET action = action`); err == nil {
		t.Fatal("the new app role may update audit_log")
	}
	srcCfg := e.AppConnConfig(nt.Database, src.Slug, src.Secrets["db_password"])
	if c, err := pgx.ConnectConfig(e.Ctx, srcCfg); err == nil {
		c.Close(e.Ctx)
		t.Fatal("the source's app role connects to the new tenant's database")
	}

	var details string
	if err := e.Catalog.Pool().QueryRow(e.Ctx, `SELECT details::text FROM operator_audit
		WHERE action = 'backup.restore_as' AND tenant_slug = $1 AND outcome = 'succeeded'`, as).Scan(&details); err != nil {
		t.Fatalf("audit row: %v", err)
	}
	if !strings.Contains(details, src.Slug) || !strings.Contains(details, b.ID) {
		t.Fatalf("audit details %s", details)
	}
}

// TestRestoreAsRefused: an existing slug (the source's or another
// tenant's) is a conflict, a bad slug invalid, no provisioner unavailable;
// nothing is created and the tenants are untouched.
func TestRestoreAsRefused(t *testing.T) {
	t.Parallel()
	e := tenanttest.New(t)
	src := e.Create(t, tenant.Restaurant)
	other := e.Create(t, tenant.Restaurant)
	svc := newService(e, fileStore(t), nil, Config{Provisioner: provisioner{e.Service}})
	b, err := svc.Run(e.Ctx, src.Slug, ReasonManual)
	if err != nil {
		t.Fatal(err)
	}
	otherData := tableDigests(t, e, other.Database)
	for _, tc := range []struct {
		as, code string
	}{
		{src.Slug, tenant.EConflict},
		{other.Slug, tenant.EConflict},
		{"Bad_Slug", tenant.EInvalid},
		{"admin", tenant.EInvalid},
		{"x", tenant.EInvalid},
	} {
		_, err := svc.Restore(e.Ctx, b.ID, RestoreOptions{As: tc.as})
		wantCode(t, err, tc.code)
	}
	_, err = newService(e, fileStore(t), nil, Config{}).Restore(e.Ctx, b.ID, RestoreOptions{As: platformtest.Slug("nop")})
	wantCode(t, err, tenant.EUnavailable)
	sameDigests(t, "other tenant", tableDigests(t, e, other.Database), otherData)
	ts, err := e.Catalog.ListTenants(e.Ctx, catalogAll)
	if err != nil || len(ts) != 2 {
		t.Fatalf("tenants after refusals: %d, %v", len(ts), err)
	}
	wantStatus(t, e, src.Slug, tenant.StatusActive)
	wantStatus(t, e, other.Slug, tenant.StatusActive)
}

// TestRestoreAsFailurePurges: a damaged artifact fails the restore --as
// after the tenant was made: it is purged (catalog, databases, roles,
// Vault), the error says so, and the source is untouched.
func TestRestoreAsFailurePurges(t *testing.T) {
	t.Parallel()
	e := tenanttest.New(t)
	src := e.Create(t, tenant.Restaurant)
	seed(t, e, src, 2000, 64)
	dir := t.TempDir()
	st := fileStoreAt(t, dir)
	svc := newService(e, st, nil, Config{Provisioner: provisioner{e.Service}})
	b, err := svc.Run(e.Ctx, src.Slug, ReasonManual)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, src.ID, b.ID, "data")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)/2] ^= 0x01
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	srcData := tableDigests(t, e, src.Database)
	as := platformtest.Slug("bad")
	_, err = svc.Restore(e.Ctx, b.ID, RestoreOptions{As: as})
	if err == nil || !strings.Contains(err.Error(), "new tenant was purged") || !strings.Contains(err.Error(), "damaged") {
		t.Fatalf("restore --as of a damaged artifact: %v", err)
	}
	wantCode(t, err, tenant.EInvalid)
	wantNoTenant(t, e, as)
	sameDigests(t, "source", tableDigests(t, e, src.Database), srcData)
	wantStatus(t, e, src.Slug, tenant.StatusActive)
	var n int
	if err := e.Catalog.Pool().QueryRow(e.Ctx, `SELECT count(*) FROM operator_audit
		WHERE action = 'backup.restore_as' AND tenant_slug = $1 AND outcome = 'failed'`, as).Scan(&n); err != nil || n != 1 {
		t.Fatalf("failed audit rows: %d, %v", n, err)
	}
}

// TestRestoreAsResumes: a restore --as killed at each step leaves its
// tenant in maintenance with a record; the same command is refused while
// that run lives, a restore --as of another backup into it is refused,
// and re-running the same one once it died purges it and makes it again.
func TestRestoreAsResumes(t *testing.T) {
	t.Parallel()
	e := tenanttest.New(t)
	src := e.Create(t, tenant.Restaurant)
	seed(t, e, src, 500, 32)
	svc := newService(e, fileStore(t), nil, Config{Provisioner: provisioner{e.Service}})
	b, err := svc.Run(e.Ctx, src.Slug, ReasonManual)
	if err != nil {
		t.Fatal(err)
	}
	want := tableDigests(t, e, src.Database)
	for _, at := range []string{rsStepRestoring, rsStepSwapping, rsStepSwapped} {
		as := platformtest.Slug("kill")
		_, err := svc.restore(e.Ctx, b.ID, RestoreOptions{As: as}, func(step string) error {
			if step != at {
				return nil
			}
			// While this run lives (and holds the lock), the same command
			// must not take its tenant for an interrupted one.
			_, err := svc.Restore(e.Ctx, b.ID, RestoreOptions{As: as})
			if tenant.ErrorCode(err) != tenant.EConflict || !strings.Contains(err.Error(), "is running") {
				t.Errorf("restore --as while one runs at %s: %v", at, err)
			}
			return errKilled
		})
		if !errors.Is(err, errKilled) {
			t.Fatalf("killed at %s: %v", at, err)
		}
		wantStatus(t, e, as, tenant.StatusMaintenance)
		nb, err := svc.Run(e.Ctx, src.Slug, ReasonManual)
		if err != nil {
			t.Fatal(err)
		}
		_, err = svc.Restore(e.Ctx, nb.ID, RestoreOptions{As: as})
		wantCode(t, err, tenant.EConflict) // another backup's run does not take it over
		res, err := svc.Restore(e.Ctx, b.ID, RestoreOptions{As: as})
		if err != nil {
			t.Fatalf("re-run after a kill at %s: %v", at, err)
		}
		if !strings.Contains(res.Recovered, "purged tenant "+as) {
			t.Fatalf("recovered %q", res.Recovered)
		}
		wantStatus(t, e, as, tenant.StatusActive)
		sameDigests(t, "after a kill at "+at, tableDigests(t, e, tenant.DatabaseName(as)), want)
		if left := databasesLike(t, e, tenant.DatabaseName(as)+"_"); len(left) != 0 {
			t.Fatalf("databases left: %v", left)
		}
	}
}

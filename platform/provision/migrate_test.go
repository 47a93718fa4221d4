package provision

import (
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/tenancy/platform/tenant"
)

func TestMigrateFleet(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var ts []*tenant.Tenant
	for _, k := range []tenant.Kind{tenant.Restaurant, tenant.Restaurant, tenant.Institution, tenant.Institution} {
		ts = append(ts, e.create(t, k).Tenant)
	}
	byName := func(rs []MigrationResult) map[string]MigrationResult {
		m := map[string]MigrationResult{}
		for _, r := range rs {
			m[r.Name] = r
		}
		return m
	}

	// Down to version 1 on two tenants: their kind tables go, status shows it.
	for _, tn := range ts[:3:3][1:] {
		st, err := e.svc.MigrationStatus(e.ctx, tn.Slug)
		if err != nil || len(st) != 1 {
			t.Fatalf("status %s: %+v, %v", tn.Slug, st, err)
		}
		r, err := e.svc.MigrateDown(e.ctx, tn.Slug, int(st[0].Status.Version)-1)
		if err != nil || r.Status.Version != 1 || r.Status.Pending != int(r.Status.Latest)-1 {
			t.Fatalf("down %s: %+v, %v", tn.Slug, r, err)
		}
	}
	// More steps than the tenant has migrations applied.
	st0, err := e.svc.MigrationStatus(e.ctx, ts[0].Slug)
	if err != nil || len(st0) != 1 {
		t.Fatalf("status %s: %+v, %v", ts[0].Slug, st0, err)
	}
	if _, err := e.svc.MigrateDown(e.ctx, ts[0].Slug, int(st0[0].Status.Version)+1); tenant.ErrorCode(err) != tenant.EInvalid {
		t.Errorf("down %d steps: %v, want invalid", st0[0].Status.Version+1, err)
	}
	// Make the last tenant dirty, as a migration failing half-way would.
	dirty := ts[3]
	err = e.admin.In(e.ctx, dirty.Database, tenant.OwnerRole(dirty.Slug), func(c *pgx.Conn) error {
		_, err := c.Exec(e.ctx, `UPDATE schema_migrations SET version = 1, dirty = true`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	st, err := e.svc.MigrationStatus(e.ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	m := byName(st)
	if len(st) != 6 || m["template:restaurant"].Status.Pending != 0 || m["template:institution"].Err != nil {
		t.Fatalf("status = %+v", st)
	}
	if s := m[ts[0].Slug].Status; s.Version != s.Latest || s.Pending != 0 {
		t.Errorf("%s: %+v, want latest", ts[0].Slug, s)
	}
	if s := m[ts[1].Slug].Status; s.Version != 1 || s.Pending != int(s.Latest)-1 || s.Dirty {
		t.Errorf("%s: %+v, want version 1, the rest pending", ts[1].Slug, s)
	}
	if s := m[dirty.Slug].Status; !s.Dirty {
		t.Errorf("%s: %+v, want dirty", dirty.Slug, s)
	}

	// Up over the fleet: every clean tenant reaches latest; the dirty one
	// is reported, not forced.
	rs, err := e.svc.MigrateUp(e.ctx, MigrateOptions{All: true, Parallel: 3})
	if err != nil {
		t.Fatal(err)
	}
	m = byName(rs)
	for _, tn := range ts[:3] {
		if r := m[tn.Slug]; r.Err != nil || r.Status.Pending != 0 {
			t.Errorf("up %s: %+v", tn.Slug, r)
		}
	}
	if r := m[dirty.Slug]; r.Err == nil || !r.Status.Dirty {
		t.Errorf("up dirty %s: %+v, want an error and still dirty", dirty.Slug, r)
	}
	// Tables re-created by the migration are granted to the login role.
	app, err := e.connectApp(t, ts[1].Slug, ts[1].Database)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.Exec(e.ctx, `INSERT INTO menu_categories (name, position) VALUES ('Drinks', 1)`); err != nil {
		t.Errorf("login role after re-migration: %v", err)
	}

	// The operator repairs by hand, forces, and migrates.
	if _, err := e.svc.MigrateForce(e.ctx, dirty.Slug, 99); tenant.ErrorCode(err) != tenant.EInvalid {
		t.Errorf("force to an unknown version: %v", err)
	}
	// Its schema is at the latest version (only the bookkeeping was set back).
	latest := int(m[dirty.Slug].Status.Latest)
	r, err := e.svc.MigrateForce(e.ctx, dirty.Slug, latest)
	if err != nil || r.Status.Dirty || int(r.Status.Version) != latest {
		t.Fatalf("force: %+v, %v", r, err)
	}
	rs, err = e.svc.MigrateUp(e.ctx, MigrateOptions{Tenant: dirty.Slug})
	if err != nil || len(rs) != 1 || rs[0].Err != nil || rs[0].Status.Pending != 0 {
		t.Errorf("up after force: %+v, %v", rs, err)
	}

	if _, err := e.svc.MigrateUp(e.ctx, MigrateOptions{}); tenant.ErrorCode(err) != tenant.EInvalid {
		t.Errorf("up with neither --tenant nor --all: %v", err)
	}
	if _, err := e.svc.MigrateUp(e.ctx, MigrateOptions{Tenant: "no-such-tenant"}); tenant.ErrorCode(err) != tenant.ENotFound {
		t.Errorf("up unknown tenant: %v", err)
	}
}

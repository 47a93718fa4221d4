package provision

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/tenancy/platform/migrations"
	"github.com/tenancy/platform/platform/catalog"
	"github.com/tenancy/platform/platform/pgadmin"
	"github.com/tenancy/platform/platform/schema"
	"github.com/tenancy/platform/tenant"
)

// Template databases hold a kind's schema at the latest version; new
// tenants are cloned from them. Their objects belong to the template owner
// role, which owns no database, so REASSIGN OWNED in a clone moves exactly
// the clone's objects.

func (s *Service) templateName(kind tenant.Kind) string { return s.cfg.TemplatePrefix + string(kind) }
func (s *Service) templateOwner() string                { return s.cfg.TemplatePrefix + "owner" }
func templateLock(kind tenant.Kind) string              { return "template:" + string(kind) }

func (s *Service) templateTarget(srv *pgadmin.Server, kind tenant.Kind) (schema.Target, error) {
	src, err := migrations.ForKind(string(kind))
	if err != nil {
		return schema.Target{}, err
	}
	return schema.Target{Name: "template:" + string(kind), Kind: string(kind),
		Conn: srv.ConnConfig(s.templateName(kind), s.templateOwner()), Source: src}, nil
}

func (s *Service) tenantTarget(srv *pgadmin.Server, t *tenant.Tenant) (schema.Target, error) {
	src, err := migrations.ForKind(string(t.Kind))
	if err != nil {
		return schema.Target{}, err
	}
	return schema.Target{Name: t.Slug, Kind: string(t.Kind),
		Conn: srv.ConnConfig(t.Database, tenant.OwnerRole(t.Slug)), Source: src}, nil
}

// migrateTemplate creates the kind's template database if needed and
// migrates it to the latest version. The caller holds the template lock.
func (s *Service) migrateTemplate(ctx context.Context, srv *pgadmin.Server, kind tenant.Kind) (schema.Status, error) {
	name, owner := s.templateName(kind), s.templateOwner()
	target, err := s.templateTarget(srv, kind)
	if err != nil {
		return schema.Status{}, err
	}
	exists, err := srv.DatabaseExists(ctx, name)
	if err != nil {
		return schema.Status{}, err
	}
	if exists {
		st, err := schema.GetStatus(ctx, target)
		if err == nil && st.Pending == 0 && !st.Dirty {
			return st, nil
		}
	} else {
		if err := srv.EnsureRole(ctx, owner); err != nil {
			return schema.Status{}, err
		}
		// The template database itself belongs to the admin user, never to
		// the template owner: REASSIGN in a clone would hand it over too.
		if err := srv.CreateDatabase(ctx, name, srv.ConnConfig("", "").User); err != nil {
			return schema.Status{}, err
		}
		if err := srv.RestrictConnect(ctx, name); err != nil {
			return schema.Status{}, err
		}
		if err := srv.GrantCreateInPublic(ctx, name, owner); err != nil {
			return schema.Status{}, err
		}
	}
	return schema.Up(ctx, target)
}

// cloneTemplate creates a tenant database from the kind's template, which
// it first brings to the latest version. The template lock keeps template
// migrations and clones from racing.
func (s *Service) cloneTemplate(ctx context.Context, srv *pgadmin.Server, kind tenant.Kind, database, owner string) error {
	return s.cat.WithLock(ctx, templateLock(kind), func() error {
		exists, err := srv.DatabaseExists(ctx, database)
		if err != nil || exists {
			return err
		}
		if _, err := s.migrateTemplate(ctx, srv, kind); err != nil {
			return fmt.Errorf("template %s: %w", kind, err)
		}
		// A database that exists now was made by a killed earlier run whose
		// CREATE DATABASE went on on the server: CloneDatabase takes it.
		return srv.CloneDatabase(ctx, database, s.templateName(kind), owner)
	})
}

// migrateTenant brings one tenant database to the latest version and
// grants its login role what the new schema needs.
func (s *Service) migrateTenant(ctx context.Context, srv *pgadmin.Server, t *tenant.Tenant) (schema.Status, error) {
	target, err := s.tenantTarget(srv, t)
	if err != nil {
		return schema.Status{}, err
	}
	st, err := schema.Up(ctx, target)
	if err == nil {
		err = s.grantApp(ctx, srv, t)
	}
	s.migrated(ctx, t, st, err)
	return st, err
}

// migrated records where a tenant's schema stands after a migration run,
// for the fleet's metrics (platform_tenant_migrations_pending and _dirty
// read the catalog, so runs of every process count), and tells the
// Observer. A record that fails is logged: the migration itself is done.
func (s *Service) migrated(ctx context.Context, t *tenant.Tenant, st schema.Status, err error) {
	if s.cfg.Observer != nil {
		s.cfg.Observer.ObserveMigration(err)
	}
	if st.Version == 0 && !st.Dirty && err != nil {
		return // the status could not be read either: nothing known to record
	}
	if rerr := s.cat.RecordTenantSchema(context.WithoutCancel(ctx), t.ID, st.Version, st.Dirty); rerr != nil {
		s.log.WarnContext(ctx, "record tenant schema version", "tenant", t.Slug, "err", rerr)
	}
}

// grantApp gives the tenant's login role what the schema needs (see
// pgadmin.GrantApp), after every migration.
func (s *Service) grantApp(ctx context.Context, srv *pgadmin.Server, t *tenant.Tenant) error {
	return srv.GrantApp(ctx, t.Database, tenant.OwnerRole(t.Slug), tenant.AppRole(t.Slug))
}

// MigrationResult is the outcome for one database.
type MigrationResult struct {
	Name    string // tenant slug or template:<kind>
	Kind    string
	Status  schema.Status
	Err     error
	Skipped bool // not migrated: the tenant is in maintenance (a restore in progress)
}

// MigrateOptions picks what MigrateUp migrates.
type MigrateOptions struct {
	Tenant   string // one tenant; empty with All for the whole fleet
	All      bool
	Parallel int // tenants migrated at once; default 4
}

// fleet returns the tenants migrations apply to: every tenant with a
// finished database (deleted and half-provisioned ones are left alone; a
// resumed provisioning migrates its own).
func (s *Service) fleet(ctx context.Context, slug string) ([]*tenant.Tenant, error) {
	if slug != "" {
		t, err := s.cat.TenantBySlug(ctx, slug)
		if err != nil {
			return nil, err
		}
		if t.Status == tenant.StatusDeleted || t.Status == tenant.StatusProvisioning {
			return nil, tenant.Errorf(tenant.EConflict, "tenant %q is %s: not migrated", slug, t.Status)
		}
		return []*tenant.Tenant{t}, nil
	}
	return s.cat.ListTenants(ctx, catalog.TenantFilter{Statuses: []tenant.Status{
		tenant.StatusActive, tenant.StatusSuspended, tenant.StatusMaintenance}})
}

// MigrationStatus reports the version of each template and tenant (or of
// one tenant). Unreachable databases are reported, not fatal.
func (s *Service) MigrationStatus(ctx context.Context, slug string) ([]MigrationResult, error) {
	ts, err := s.fleet(ctx, slug)
	if err != nil {
		return nil, err
	}
	var out []MigrationResult
	if slug == "" {
		srv, err := s.server(s.cfg.DefaultServer)
		if err != nil {
			return nil, err
		}
		for _, k := range tenant.Kinds {
			r := MigrationResult{Name: "template:" + string(k), Kind: string(k)}
			if ok, err := srv.DatabaseExists(ctx, s.templateName(k)); err != nil || !ok {
				r.Err = err
				if err == nil {
					r.Err = fmt.Errorf("template not created yet (the first tenant of this kind creates it)")
				}
			} else if target, err := s.templateTarget(srv, k); err != nil {
				r.Err = err
			} else {
				r.Status, r.Err = schema.GetStatus(ctx, target)
			}
			out = append(out, r)
		}
	}
	results := s.forEach(ctx, ts, 4, func(ctx context.Context, srv *pgadmin.Server, t *tenant.Tenant) (schema.Status, error) {
		target, err := s.tenantTarget(srv, t)
		if err != nil {
			return schema.Status{}, err
		}
		return schema.GetStatus(ctx, target)
	})
	return append(out, results...), nil
}

// MigrateUp migrates the templates (when migrating the fleet) and then the
// tenants, Parallel at a time. Before anything else it upgrades every
// tenant's roles (see upgradeRoles); a tenant whose upgrade fails is
// reported and not migrated. One tenant's failure does not stop the
// others; every result is returned. A dirty tenant is reported, never
// forced. Tenants in maintenance are skipped and reported as such.
func (s *Service) MigrateUp(ctx context.Context, o MigrateOptions) (out []MigrationResult, err error) {
	defer func() {
		err = s.recordMigration(ctx, "migrate.up", o.Tenant, map[string]any{"all": o.All}, out, err)
	}()
	if (o.Tenant == "") == !o.All {
		return nil, tenant.Errorf(tenant.EInvalid, "give either --tenant SLUG or --all")
	}
	if o.Parallel == 0 {
		o.Parallel = 4
	}
	if o.Parallel < 1 || o.Parallel > 64 {
		return nil, tenant.Errorf(tenant.EInvalid, "--parallel must be between 1 and 64")
	}
	ts, err := s.fleet(ctx, o.Tenant)
	if err != nil {
		return nil, err
	}
	var skipped, failed []MigrationResult
	var run []*tenant.Tenant
	for _, t := range ts {
		r := MigrationResult{Name: t.Slug, Kind: string(t.Kind)}
		if t.Status == tenant.StatusMaintenance {
			r.Skipped = true
			skipped = append(skipped, r)
			continue
		}
		srv, err := s.server(t.DBServer)
		if err == nil {
			err = s.upgradeRoles(ctx, srv, t)
		}
		if err != nil {
			r.Err = err
			failed = append(failed, r)
			if s.cfg.Observer != nil { // not migrated: a failed migration of this tenant
				s.cfg.Observer.ObserveMigration(err)
			}
			continue
		}
		run = append(run, t)
	}
	if o.All {
		srv, err := s.server(s.cfg.DefaultServer)
		if err != nil {
			return nil, err
		}
		for _, k := range tenant.Kinds {
			r := MigrationResult{Name: "template:" + string(k), Kind: string(k)}
			r.Err = s.cat.WithLock(ctx, templateLock(k), func() error {
				var err error
				r.Status, err = s.migrateTemplate(ctx, srv, k)
				return err
			})
			out = append(out, r)
		}
	}
	out = append(out, s.forEach(ctx, run, o.Parallel, s.migrateTenant)...)
	out = append(out, failed...)
	return append(out, skipped...), nil
}

// recordMigration audits a migration; the databases that failed count as
// a failure of the whole action.
func (s *Service) recordMigration(ctx context.Context, action, slug string, details map[string]any, rs []MigrationResult, err error) error {
	failed, skipped := 0, 0
	rs = slices.DeleteFunc(slices.Clone(rs), func(r MigrationResult) bool { return r.Name == "" })
	for _, r := range rs {
		if r.Err != nil {
			failed++
		}
		if r.Skipped {
			skipped++
		}
	}
	details["databases"], details["failed"], details["skipped"] = len(rs), failed, skipped
	outcome := err
	if outcome == nil && failed > 0 {
		outcome = fmt.Errorf("%d of %d databases failed to migrate", failed, len(rs))
	}
	s.record(ctx, action, auditSlug(slug), details, outcome)
	return err
}

// MigrateDown reverts the last steps migrations of one tenant.
func (s *Service) MigrateDown(ctx context.Context, slug string, steps int) (r MigrationResult, err error) {
	defer func() {
		err = s.recordMigration(ctx, "migrate.down", slug, map[string]any{"steps": steps}, []MigrationResult{r}, err)
	}()
	return s.one(ctx, slug, func(ctx context.Context, srv *pgadmin.Server, t *tenant.Tenant, target schema.Target) (schema.Status, error) {
		return schema.Down(ctx, target, steps)
	})
}

// MigrateForce sets one tenant's version and clears dirty, running nothing.
func (s *Service) MigrateForce(ctx context.Context, slug string, version int) (r MigrationResult, err error) {
	defer func() {
		err = s.recordMigration(ctx, "migrate.force", slug, map[string]any{"version": version}, []MigrationResult{r}, err)
	}()
	return s.one(ctx, slug, func(ctx context.Context, srv *pgadmin.Server, t *tenant.Tenant, target schema.Target) (schema.Status, error) {
		return schema.Force(ctx, target, version)
	})
}

func (s *Service) one(ctx context.Context, slug string, fn func(context.Context, *pgadmin.Server, *tenant.Tenant, schema.Target) (schema.Status, error)) (MigrationResult, error) {
	if slug == "" {
		return MigrationResult{}, tenant.Errorf(tenant.EInvalid, "--tenant SLUG is required")
	}
	ts, err := s.fleet(ctx, slug)
	if err != nil {
		return MigrationResult{}, err
	}
	t := ts[0]
	r := MigrationResult{Name: t.Slug, Kind: string(t.Kind)}
	srv, err := s.server(t.DBServer)
	if err != nil {
		return r, err
	}
	target, err := s.tenantTarget(srv, t)
	if err != nil {
		return r, err
	}
	r.Status, r.Err = fn(ctx, srv, t, target)
	s.migrated(ctx, t, r.Status, r.Err)
	return r, r.Err
}

// forEach runs fn over tenants, at most parallel at a time, and returns
// one result per tenant in the order given.
func (s *Service) forEach(ctx context.Context, ts []*tenant.Tenant, parallel int,
	fn func(context.Context, *pgadmin.Server, *tenant.Tenant) (schema.Status, error)) []MigrationResult {
	out := make([]MigrationResult, len(ts))
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i, t := range ts {
		out[i] = MigrationResult{Name: t.Slug, Kind: string(t.Kind)}
		srv, err := s.server(t.DBServer)
		if err != nil {
			out[i].Err = err
			continue
		}
		if err := ctx.Err(); err != nil {
			out[i].Err = err
			continue
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			out[i].Status, out[i].Err = fn(ctx, srv, t)
		})
	}
	wg.Wait()
	return out
}

// Package tenanttest provisions real tenants for tests of the request
// path: a database cloned from the migrated template, its roles, its Vault
// secrets and its first admin, through the provisioning service itself.
// Each test gets its own catalog and templates (platformtest); tenants are
// purged when the test ends.
package tenanttest

import (
	"context"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tenancy/platform/platform/catalog"
	"github.com/tenancy/platform/platform/pgadmin"
	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/platform/provision"
	"github.com/tenancy/platform/platform/secrets"
	"github.com/tenancy/platform/tenant"
)

// Env is one test's control plane.
type Env struct {
	Service *provision.Service
	Catalog *catalog.DB
	Admin   *pgadmin.Server
	Vault   *secrets.Store
	Ctx     context.Context
}

// Tenant is a provisioned, active tenant.
type Tenant struct {
	*tenant.Tenant
	AdminUsername, AdminPassword string // the first admin (must change the password)
	Secrets                      map[string]string
	// App is a pool of the tenant's login role (tenant_<slug>__app) with
	// its Vault password: what the request path uses.
	App *pgxpool.Pool
}

// New returns an environment on a catalog and templates of the test's own.
func New(t testing.TB) *Env {
	t.Helper()
	admin := platformtest.Admin(t)
	prefix := platformtest.TemplatePrefix(t, admin)
	cat, _ := platformtest.Catalog(t)
	tmpl, err := secrets.LoadTemplate()
	if err != nil {
		t.Fatal(err)
	}
	e := &Env{Catalog: cat, Admin: admin, Vault: platformtest.Vault(t), Ctx: platformtest.Context(t)}
	e.Service = provision.New(cat, map[string]*pgadmin.Server{"default": admin}, e.Vault, tmpl,
		provision.Config{TemplatePrefix: prefix, BcryptCost: 4})
	t.Cleanup(func() {
		ts, err := cat.ListTenants(context.Background(), catalog.TenantFilter{})
		if err != nil {
			t.Errorf("list tenants to purge: %v", err)
			return
		}
		for _, tn := range ts {
			if err := e.Service.Purge(context.Background(), tn.Slug); err != nil {
				t.Errorf("purge %s: %v", tn.Slug, err)
			}
		}
	})
	return e
}

// Create provisions a tenant of kind with a random slug.
func (e *Env) Create(t testing.TB, kind tenant.Kind) *Tenant {
	t.Helper()
	res, err := e.Service.Create(e.Ctx, provision.CreateRequest{Slug: platformtest.Slug(string(kind)[:4]), Kind: string(kind), Name: "Test " + string(kind)})
	if err != nil {
		t.Fatalf("create %s tenant: %v", kind, err)
	}
	sec, err := e.Vault.Get(e.Ctx, res.Tenant.Slug)
	if err != nil {
		t.Fatalf("read secrets of %s: %v", res.Tenant.Slug, err)
	}
	tn, err := e.Catalog.TenantBySlug(e.Ctx, res.Tenant.Slug)
	if err != nil {
		t.Fatalf("read tenant %s: %v", res.Tenant.Slug, err)
	}
	cfg, err := pgxpool.ParseConfig("")
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig = e.AppConnConfig(tn.Database, tn.Slug, sec["db_password"])
	cfg.MaxConns = 4
	pool, err := pgxpool.NewWithConfig(e.Ctx, cfg)
	if err != nil {
		t.Fatalf("pool of %s: %v", tn.Slug, err)
	}
	// Closed before the purge (cleanups run last-in first-out).
	var once sync.Once
	t.Cleanup(func() { once.Do(pool.Close) })
	return &Tenant{Tenant: tn, AdminUsername: res.AdminUsername, AdminPassword: res.AdminPassword, Secrets: sec, App: pool}
}

// AppConnConfig is how the request path connects to a tenant database.
func (e *Env) AppConnConfig(database, slug, password string) *pgx.ConnConfig {
	c := e.Admin.ConnConfig(database, "")
	c.User = tenant.AppRole(slug)
	c.Password = password
	return c
}

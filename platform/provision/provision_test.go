package provision

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tenancy/platform/platform/catalog"
	"github.com/tenancy/platform/platform/pgadmin"
	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/platform/secrets"
	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/auth"
)

type env struct {
	svc   *Service
	cat   *catalog.DB
	admin *pgadmin.Server
	vault *secrets.Store
	ctx   context.Context
}

// newEnv returns a service on its own catalog and template databases.
// Tenants it creates are purged when the test ends.
func newEnv(t *testing.T) *env {
	t.Helper()
	admin := platformtest.Admin(t)
	prefix := platformtest.TemplatePrefix(t, admin)
	cat, _ := platformtest.Catalog(t)
	tmpl, err := secrets.LoadTemplate()
	if err != nil {
		t.Fatal(err)
	}
	e := &env{cat: cat, admin: admin, vault: platformtest.Vault(t), ctx: platformtest.Context(t)}
	e.svc = New(cat, map[string]*pgadmin.Server{"default": admin}, e.vault, tmpl,
		Config{TemplatePrefix: prefix, BcryptCost: 4})
	t.Cleanup(func() {
		ts, err := cat.ListTenants(context.Background(), catalog.TenantFilter{})
		if err != nil {
			return
		}
		for _, tn := range ts {
			if err := e.svc.Purge(context.Background(), tn.Slug); err != nil {
				t.Errorf("purge %s: %v", tn.Slug, err)
			}
		}
	})
	return e
}

func (e *env) create(t *testing.T, kind tenant.Kind, domains ...string) *Created {
	t.Helper()
	res, err := e.svc.Create(e.ctx, CreateRequest{Slug: platformtest.Slug(string(kind)[:4]), Kind: string(kind), Name: "Test " + string(kind), Domains: domains})
	if err != nil {
		t.Fatalf("create %s: %v", kind, err)
	}
	return res
}

// connectApp connects to database as slug's login role with its Vault password.
func (e *env) connectApp(t *testing.T, slug, database string) (*pgx.Conn, error) {
	t.Helper()
	values, err := e.vault.Get(e.ctx, slug)
	if err != nil {
		t.Fatal(err)
	}
	c := e.admin.ConnConfig(database, "")
	c.User = tenant.AppRole(slug)
	c.Password = values["db_password"]
	conn, err := pgx.ConnectConfig(e.ctx, c)
	if err == nil {
		t.Cleanup(func() { conn.Close(context.Background()) })
	}
	return conn, err
}

func pgCode(err error) string {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code
	}
	return ""
}

func TestCreateEndToEnd(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, kind := range tenant.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			res := e.create(t, kind, "www."+platformtest.Rand(6)+".example.com")
			tn := res.Tenant
			if tn.Status != tenant.StatusActive || tn.Kind != kind || tn.Database != tenant.DatabaseName(tn.Slug) {
				t.Fatalf("tenant = %+v", tn)
			}
			if len(res.Hosts) != 2 || res.Hosts[0] != tn.Slug+".localhost" {
				t.Errorf("hosts = %v", res.Hosts)
			}
			if res.AdminUsername != "admin" || len(res.AdminPassword) < 20 {
				t.Errorf("admin = %q / %d chars", res.AdminUsername, len(res.AdminPassword))
			}
			done, err := e.cat.DoneSteps(e.ctx, tn.ID)
			if err != nil || len(done) != len(Steps) {
				t.Errorf("recorded steps = %v, %v; want all of %v", done, err, Steps)
			}

			// Secrets: every one of the template, in Vault.
			values, err := e.vault.Get(e.ctx, tn.Slug)
			if err != nil {
				t.Fatal(err)
			}
			for name, n := range map[string]int{"jwt_secret": 43, "session_secret": 43, "csrf_secret": 43, "api_key_internal": 64, "db_password": 32} {
				if len(values[name]) != n {
					t.Errorf("secret %s has %d characters, want %d", name, len(values[name]), n)
				}
			}

			// The login role works with the Vault password and has DML only.
			conn, err := e.connectApp(t, tn.Slug, tn.Database)
			if err != nil {
				t.Fatalf("app role cannot connect: %v", err)
			}
			var hash string
			var mustChange bool
			if err := conn.QueryRow(e.ctx, `SELECT password_hash, must_change_password FROM users WHERE username = 'admin'`).Scan(&hash, &mustChange); err != nil {
				t.Fatal(err)
			}
			if !auth.CheckPassword(hash, res.AdminPassword) || !mustChange {
				t.Errorf("admin password does not match or need not change (must_change=%v)", mustChange)
			}
			var isAdmin bool
			if err := conn.QueryRow(e.ctx, `SELECT EXISTS (SELECT 1 FROM user_roles ur JOIN roles r ON r.id = ur.role_id JOIN users u ON u.id = ur.user_id WHERE u.username = 'admin' AND r.name = $1)`, auth.AdminRole(kind)).Scan(&isAdmin); err != nil {
				t.Fatal(err)
			}
			if !isAdmin {
				t.Errorf("admin user lacks the %s role", auth.AdminRole(kind))
			}
			if _, err := conn.Exec(e.ctx, `CREATE TABLE intruder (id int)`); pgCode(err) != "42501" {
				t.Errorf("app role CREATE TABLE: err = %v, want 42501", err)
			}
			if _, err := conn.Exec(e.ctx, `ALTER TABLE users ADD COLUMN x int`); pgCode(err) != "42501" {
				t.Errorf("app role ALTER TABLE: err = %v, want 42501", err)
			}
			if _, err := conn.Exec(e.ctx, `UPDATE schema_migrations SET version = 1`); pgCode(err) != "42501" {
				t.Errorf("app role UPDATE schema_migrations: err = %v, want 42501", err)
			}

			// Every object belongs to the tenant's owner role.
			var foreign int
			err = conn.QueryRow(e.ctx, `SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
				WHERE n.nspname = 'public' AND pg_get_userbyid(c.relowner) <> $1`, tenant.OwnerRole(tn.Slug)).Scan(&foreign)
			if err != nil || foreign != 0 {
				t.Errorf("%d objects not owned by the tenant owner (%v)", foreign, err)
			}
			var dbOwner string
			conn.QueryRow(e.ctx, `SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()`).Scan(&dbOwner)
			if dbOwner != tenant.OwnerRole(tn.Slug) {
				t.Errorf("database owner = %s", dbOwner)
			}

			st, err := e.svc.MigrationStatus(e.ctx, tn.Slug)
			if err != nil || len(st) != 1 || st[0].Status.Pending != 0 || st[0].Status.Version == 0 || st[0].Err != nil {
				t.Errorf("migration status = %+v, %v", st, err)
			}

			// A second create of the same slug is refused and changes nothing.
			_, err = e.svc.Create(e.ctx, CreateRequest{Slug: tn.Slug, Kind: string(kind), Name: "again"})
			if tenant.ErrorCode(err) != tenant.EConflict {
				t.Errorf("create again: %v, want conflict", err)
			}
			again, _ := e.vault.Get(e.ctx, tn.Slug)
			if again["db_password"] != values["db_password"] {
				t.Error("secrets changed by a refused create")
			}

			env, err := e.svc.Env(e.ctx, tn.Slug, false)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range values {
				if strings.Contains(string(env), v) {
					t.Fatalf("env file without --reveal shows a secret:\n%s", env)
				}
			}
			env, _ = e.svc.Env(e.ctx, tn.Slug, true)
			if !strings.Contains(string(env), "DB_PASSWORD="+values["db_password"]) {
				t.Errorf("revealed env file lacks the password:\n%s", env)
			}
		})
	}
}

func TestTenantRoleCannotReachAnotherTenant(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.create(t, tenant.Restaurant).Tenant
	b := e.create(t, tenant.Restaurant).Tenant
	if _, err := e.connectApp(t, a.Slug, a.Database); err != nil {
		t.Fatalf("own database: %v", err)
	}
	if _, err := e.connectApp(t, a.Slug, b.Database); pgCode(err) != "42501" {
		t.Errorf("a's role into b's database: err = %v, want 42501 permission denied", err)
	}
	if _, err := e.connectApp(t, a.Slug, e.svc.templateName(tenant.Restaurant)); pgCode(err) != "42501" {
		t.Errorf("a's role into the template: err = %v, want 42501", err)
	}
	if _, err := e.connectApp(t, a.Slug, "postgres"); pgCode(err) != "42501" {
		t.Errorf("a's role into postgres: err = %v, want 42501", err)
	}
	// The owner role never logs in.
	c := e.admin.ConnConfig(a.Database, "")
	c.User = tenant.OwnerRole(a.Slug)
	if conn, err := pgx.ConnectConfig(e.ctx, c); err == nil {
		conn.Close(e.ctx)
		t.Error("the owner role logged in")
	}
}

func TestSuspendResumeDelete(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tn := e.create(t, tenant.Institution).Tenant
	steps := []struct {
		op   func(context.Context, string) error
		want tenant.Status
		code string
	}{
		{e.svc.Resume, tenant.StatusActive, ""}, // already active: idempotent
		{e.svc.Suspend, tenant.StatusSuspended, ""},
		{e.svc.Suspend, tenant.StatusSuspended, ""}, // idempotent
		{e.svc.Resume, tenant.StatusActive, ""},
		{e.svc.Delete, tenant.StatusDeleted, ""},
		{e.svc.Resume, tenant.StatusDeleted, tenant.EConflict},
	}
	for i, s := range steps {
		err := s.op(e.ctx, tn.Slug)
		if tenant.ErrorCode(err) != s.code {
			t.Fatalf("step %d: err = %v, want code %q", i, err, s.code)
		}
		got, _ := e.svc.Get(e.ctx, tn.Slug)
		if got.Status != s.want {
			t.Fatalf("step %d: status %s, want %s", i, got.Status, s.want)
		}
	}
	// Soft delete keeps the data but the login role can no longer connect.
	if ok, _ := e.admin.DatabaseExists(e.ctx, tn.Database); !ok {
		t.Error("soft delete dropped the database")
	}
	if _, err := e.connectApp(t, tn.Slug, tn.Database); pgCode(err) != "28000" {
		t.Errorf("deleted tenant's role connected: err = %v, want 28000", err)
	}
	if err := e.svc.Suspend(e.ctx, "no-such-tenant"); tenant.ErrorCode(err) != tenant.ENotFound {
		t.Errorf("suspend unknown: %v", err)
	}
}

// gone checks that nothing of slug is left anywhere.
func (e *env) gone(t *testing.T, slug string) {
	t.Helper()
	if _, err := e.svc.Get(e.ctx, slug); tenant.ErrorCode(err) != tenant.ENotFound {
		t.Errorf("catalog still has %s (%v)", slug, err)
	}
	if ok, _ := e.admin.DatabaseExists(e.ctx, tenant.DatabaseName(slug)); ok {
		t.Errorf("database of %s still exists", slug)
	}
	for _, r := range []string{tenant.OwnerRole(slug), tenant.AppRole(slug)} {
		if ok, _ := e.admin.RoleExists(e.ctx, r); ok {
			t.Errorf("role %s still exists", r)
		}
	}
	if _, err := e.vault.Get(e.ctx, slug); tenant.ErrorCode(err) != tenant.ENotFound {
		t.Errorf("Vault still has secrets of %s (%v)", slug, err)
	}
}

var errCrash = errors.New("injected crash")

// TestResumeAfterFailureAtEachStep crashes a creation before and after the
// action of every step, then runs it again: it must finish with the
// secrets of the first run, and a purge must leave nothing.
func TestResumeAfterFailureAtEachStep(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, step := range Steps {
		for _, after := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/after=%v", step, after), func(t *testing.T) {
				slug := platformtest.Slug("resume")
				req := CreateRequest{Slug: slug, Kind: "restaurant", Name: "Resume"}
				e.svc.hook = func(s string, a bool) error {
					if s == step && a == after {
						return errCrash
					}
					return nil
				}
				_, err := e.svc.Create(e.ctx, req)
				e.svc.hook = nil
				if !errors.Is(err, errCrash) {
					t.Fatalf("first run: err = %v, want the injected crash", err)
				}
				first, _ := e.vault.Get(e.ctx, slug)

				res, err := e.svc.Create(e.ctx, req)
				if step == stepActivate && after {
					// Activated, but the run died before showing the password:
					// the tenant is done, and reset-admin gives a new password.
					if tenant.ErrorCode(err) != tenant.EConflict {
						t.Fatalf("second run: err = %v, want conflict", err)
					}
					pw, err := e.svc.ResetAdmin(e.ctx, slug)
					if err != nil {
						t.Fatal(err)
					}
					res = &Created{Tenant: &tenant.Tenant{Status: tenant.StatusActive, Database: tenant.DatabaseName(slug)}, AdminPassword: pw, Resumed: true}
				} else if step == stepCatalog && !after {
					// Nothing was written: this is a fresh creation.
					if err != nil || res.Resumed {
						t.Fatalf("second run: %v (resumed=%v)", err, res != nil && res.Resumed)
					}
				} else if err != nil || !res.Resumed {
					t.Fatalf("second run: err = %v", err)
				}
				if res.Tenant.Status != tenant.StatusActive || res.AdminPassword == "" {
					t.Fatalf("second run: status %s, password shown %v", res.Tenant.Status, res.AdminPassword != "")
				}
				values, _ := e.vault.Get(e.ctx, slug)
				if first != nil && values["db_password"] != first["db_password"] {
					t.Error("the second run replaced the secrets of the first")
				}
				conn, err := e.connectApp(t, slug, res.Tenant.Database)
				if err != nil {
					t.Fatalf("app role: %v", err)
				}
				var hash string
				if err := conn.QueryRow(e.ctx, `SELECT password_hash FROM users WHERE username = 'admin'`).Scan(&hash); err != nil || !auth.CheckPassword(hash, res.AdminPassword) {
					t.Errorf("admin password shown does not log in (%v)", err)
				}
				conn.Close(e.ctx)
				if err := e.svc.Purge(e.ctx, slug); err != nil {
					t.Fatal(err)
				}
				e.gone(t, slug)
			})
		}
	}
}

// TestPurgeHalfMade purges a tenant left half-made at each step.
func TestPurgeHalfMade(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, step := range Steps[1:] {
		t.Run(step, func(t *testing.T) {
			slug := platformtest.Slug("half")
			e.svc.hook = func(s string, after bool) error {
				if s == step && after {
					return errCrash
				}
				return nil
			}
			_, err := e.svc.Create(e.ctx, CreateRequest{Slug: slug, Kind: "institution", Name: "Half"})
			e.svc.hook = nil
			if !errors.Is(err, errCrash) {
				t.Fatalf("create: %v", err)
			}
			if err := e.svc.Purge(e.ctx, slug); err != nil {
				t.Fatalf("purge: %v", err)
			}
			e.gone(t, slug)
			if err := e.svc.Purge(e.ctx, slug); tenant.ErrorCode(err) != tenant.ENotFound {
				t.Errorf("second purge: %v, want not found", err)
			}
		})
	}
}

func TestBadInputChangesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	taken := e.create(t, tenant.Restaurant, "taken-"+platformtest.Rand(6)+".example.com")
	cases := []struct {
		name string
		req  CreateRequest
		code string
	}{
		{"invalid slug", CreateRequest{Slug: "Bad_Slug", Kind: "restaurant", Name: "x"}, tenant.EInvalid},
		{"short slug", CreateRequest{Slug: "ab", Kind: "restaurant", Name: "x"}, tenant.EInvalid},
		{"trailing dash", CreateRequest{Slug: "abc-", Kind: "restaurant", Name: "x"}, tenant.EInvalid},
		{"reserved slug", CreateRequest{Slug: "admin", Kind: "restaurant", Name: "x"}, tenant.EInvalid},
		{"unknown kind", CreateRequest{Slug: platformtest.Slug("k"), Kind: "bakery", Name: "x"}, tenant.EInvalid},
		{"no name", CreateRequest{Slug: platformtest.Slug("k"), Kind: "restaurant", Name: "  "}, tenant.EInvalid},
		{"bad time zone", CreateRequest{Slug: platformtest.Slug("k"), Kind: "restaurant", Name: "x", TimeZone: "Mars/Olympus"}, tenant.EInvalid},
		{"bad domain", CreateRequest{Slug: platformtest.Slug("k"), Kind: "restaurant", Name: "x", Domains: []string{"not a domain"}}, tenant.EInvalid},
		{"domain under base", CreateRequest{Slug: platformtest.Slug("k"), Kind: "restaurant", Name: "x", Domains: []string{"foo.localhost"}}, tenant.EInvalid},
		{"duplicate slug", CreateRequest{Slug: taken.Tenant.Slug, Kind: "restaurant", Name: "x"}, tenant.EConflict},
		{"duplicate domain", CreateRequest{Slug: platformtest.Slug("k"), Kind: "restaurant", Name: "x", Domains: []string{strings.ToUpper(taken.Tenant.Hosts[0])}}, tenant.EConflict},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.svc.Create(e.ctx, c.req)
			if tenant.ErrorCode(err) != c.code {
				t.Fatalf("err = %v (code %s), want code %s", err, tenant.ErrorCode(err), c.code)
			}
			if c.code == tenant.EInvalid || c.req.Slug != taken.Tenant.Slug {
				if _, err := e.svc.Get(e.ctx, c.req.Slug); tenant.ErrorCode(err) != tenant.ENotFound {
					t.Errorf("catalog got a row for %s", c.req.Slug)
				}
			}
		})
	}
	ts, _ := e.svc.List(e.ctx, catalog.TenantFilter{})
	if len(ts) != 1 {
		t.Errorf("catalog has %d tenants, want 1", len(ts))
	}

	t.Run("names taken outside this catalog", func(t *testing.T) {
		// Another catalog on the same server and Vault: it must not adopt
		// (and a purge there must not destroy) this catalog's tenant.
		other := newEnv(t)
		_, err := other.svc.Create(e.ctx, CreateRequest{Slug: taken.Tenant.Slug, Kind: "restaurant", Name: "x"})
		if tenant.ErrorCode(err) != tenant.EConflict || !strings.Contains(err.Error(), "already exists on the database server") {
			t.Fatalf("err = %v, want conflict", err)
		}
		if _, err := other.svc.Get(e.ctx, taken.Tenant.Slug); tenant.ErrorCode(err) != tenant.ENotFound {
			t.Errorf("the other catalog got a row: %v", err)
		}
		// Only the Vault secrets left (a purge that failed half-way).
		slug := platformtest.Slug("orphan")
		if err := e.vault.Create(e.ctx, slug, map[string]string{"db_password": "x"}); err != nil {
			t.Fatal(err)
		}
		defer e.vault.Delete(context.Background(), slug)
		if _, err := e.svc.Create(e.ctx, CreateRequest{Slug: slug, Kind: "restaurant", Name: "x"}); tenant.ErrorCode(err) != tenant.EConflict {
			t.Errorf("orphaned secrets: %v, want conflict", err)
		}
		if v, _ := e.vault.Get(e.ctx, slug); v["db_password"] != "x" {
			t.Error("orphaned secrets were changed")
		}
		if _, err := e.connectApp(t, taken.Tenant.Slug, taken.Tenant.Database); err != nil {
			t.Errorf("the first catalog's tenant no longer works: %v", err)
		}
	})
	t.Run("vault unreachable", func(t *testing.T) {
		tmpl, _ := secrets.LoadTemplate()
		c := platformtest.VaultClient(t)
		if err := c.SetAddress("http://127.0.0.1:1"); err != nil {
			t.Fatal(err)
		}
		svc := New(e.cat, e.svc.servers, secrets.NewStore(c, ""), tmpl, e.svc.cfg)
		slug := platformtest.Slug("novault")
		_, err := svc.Create(e.ctx, CreateRequest{Slug: slug, Kind: "restaurant", Name: "x"})
		if tenant.ErrorCode(err) != tenant.EUnavailable || !strings.Contains(err.Error(), "unreachable") {
			t.Fatalf("err = %v, want unavailable", err)
		}
		e.gone(t, slug)
	})
	t.Run("database server unreachable", func(t *testing.T) {
		tmpl, _ := secrets.LoadTemplate()
		svc := New(e.cat, map[string]*pgadmin.Server{}, e.vault, tmpl, e.svc.cfg)
		slug := platformtest.Slug("nodb")
		_, err := svc.Create(e.ctx, CreateRequest{Slug: slug, Kind: "restaurant", Name: "x"})
		if tenant.ErrorCode(err) != tenant.EUnavailable {
			t.Fatalf("err = %v, want unavailable", err)
		}
		e.gone(t, slug)
	})
}

// TestPurgeDropsRestoreLeftovers: the database a restore replaced
// (<db>_pre_restore_<ts>) belongs to the tenant's owner role; purge drops
// it with the tenant, then the roles (which could not be dropped while it
// existed), and leaves other databases alone.
func TestPurgeDropsRestoreLeftovers(t *testing.T) {
	e := newEnv(t)
	res := e.create(t, tenant.Restaurant)
	slug := res.Tenant.Slug
	kept := res.Tenant.Database + "_pre_restore_20261201t000000"
	other := "purge_other_" + platformtest.Rand(6)
	if err := e.admin.CreateDatabase(e.ctx, kept, tenant.OwnerRole(slug)); err != nil {
		t.Fatal(err)
	}
	if err := e.admin.CreateDatabase(e.ctx, other, e.admin.ConnConfig("postgres", "").User); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.admin.DropDatabase(context.Background(), other) })
	if err := e.svc.Purge(e.ctx, slug); err != nil {
		t.Fatalf("purge: %v", err)
	}
	for db, want := range map[string]bool{kept: false, res.Tenant.Database: false, other: true} {
		if ok, err := e.admin.DatabaseExists(e.ctx, db); err != nil || ok != want {
			t.Errorf("database %s exists: %v, %v; want %v", db, ok, err, want)
		}
	}
	for _, role := range []string{tenant.OwnerRole(slug), tenant.AppRole(slug)} {
		if ok, err := e.admin.RoleExists(e.ctx, role); err != nil || ok {
			t.Errorf("role %s exists: %v, %v", role, ok, err)
		}
	}
}

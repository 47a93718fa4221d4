package provision

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenancy/platform/platform/catalog"
	"github.com/tenancy/platform/platform/pgadmin"
	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/platform/secrets"
	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/auth"
)

// adminHash reads the bcrypt hash of the tenant's first administrator,
// as the owner role.
func (e *env) adminHash(t *testing.T, slug string) string {
	t.Helper()
	var hash string
	err := e.admin.In(e.ctx, tenant.DatabaseName(slug), tenant.OwnerRole(slug), func(c *pgx.Conn) error {
		return c.QueryRow(e.ctx, `SELECT password_hash FROM users WHERE username = $1`, auth.AdminUsername).Scan(&hash)
	})
	if err != nil {
		t.Fatalf("read admin hash of %s: %v", slug, err)
	}
	return hash
}

// adminExec runs SQL as the server's admin in database.
func (e *env) adminExec(t *testing.T, database, q string, args ...any) {
	t.Helper()
	err := e.admin.In(e.ctx, database, "", func(c *pgx.Conn) error {
		_, err := c.Exec(e.ctx, q, args...)
		return err
	})
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func (e *env) role(t *testing.T, name string) pgadmin.Role {
	t.Helper()
	r, err := e.admin.RoleInfo(e.ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// sessions counts the server sessions logged in as role.
func (e *env) sessions(t *testing.T, role string) int {
	t.Helper()
	var n int
	err := e.admin.In(e.ctx, "postgres", "", func(c *pgx.Conn) error {
		return c.QueryRow(e.ctx, `SELECT count(*) FROM pg_stat_activity WHERE usename = $1`, role).Scan(&n)
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestRoleNamesCollideAcrossTenants is finding B1, reproduced as the
// hostile run did: "s-app" dies after its catalog row, "s" is created, then
// "s-app" is resumed. With login roles named tenant_<s>_app, the resumed
// run adopted s's login role as its owner: s's request-path credentials
// owned s-app's database. Both orders are tried.
func TestRoleNamesCollideAcrossTenants(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, order := range []string{"s-app first", "s first"} {
		t.Run(order, func(t *testing.T) {
			s := "c" + platformtest.Rand(8)
			sApp := s + "-app"
			first, second := sApp, s
			if order == "s first" {
				first, second = s, sApp
			}
			e.svc.hook = func(step string, after bool) error {
				if step == stepCatalog && after {
					return errCrash
				}
				return nil
			}
			_, err := e.svc.Create(e.ctx, CreateRequest{Slug: first, Kind: "restaurant", Name: "First"})
			e.svc.hook = nil
			if !errors.Is(err, errCrash) {
				t.Fatalf("create %s: %v, want the injected crash", first, err)
			}
			if _, err := e.svc.Create(e.ctx, CreateRequest{Slug: second, Kind: "restaurant", Name: "Second"}); err != nil {
				t.Fatalf("create %s: %v", second, err)
			}
			if _, err := e.svc.Create(e.ctx, CreateRequest{Slug: first, Kind: "restaurant", Name: "First"}); err != nil {
				t.Fatalf("resume %s: %v", first, err)
			}
			for _, slug := range []string{s, sApp} {
				db := tenant.DatabaseName(slug)
				var dbOwner string
				err := e.admin.In(e.ctx, db, "", func(c *pgx.Conn) error {
					return c.QueryRow(e.ctx, `SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = $1`, db).Scan(&dbOwner)
				})
				if err != nil {
					t.Fatal(err)
				}
				if owner := e.role(t, dbOwner); dbOwner != tenant.OwnerRole(slug) || owner.CanLogin {
					t.Errorf("database %s is owned by %s (can log in: %v), want %s, which cannot", db, dbOwner, owner.CanLogin, tenant.OwnerRole(slug))
				}
				if conn, err := e.connectApp(t, slug, db); err != nil {
					t.Errorf("%s's login role into its own database: %v", slug, err)
				} else {
					conn.Close(e.ctx)
				}
			}
			// s's request-path credentials reach nothing of s-app's.
			if _, err := e.connectApp(t, s, tenant.DatabaseName(sApp)); pgCode(err) != "42501" {
				t.Errorf("%s's login role into %s's database: err = %v, want 42501", s, sApp, err)
			}
			for _, slug := range []string{first, second} {
				if err := e.svc.Purge(e.ctx, slug); err != nil {
					t.Fatalf("purge %s: %v", slug, err)
				}
				e.gone(t, slug)
			}
		})
	}
}

// TestUpgradeRenamesLegacyLoginRoles: a tenant made before login roles
// were renamed has tenant_<s>_app, outside the login group. `migrate up`
// (--tenant and --all) renames it, keeping its password, and adds it to the
// group; a legacy name that is another tenant's owner role is refused.
func TestUpgradeRenamesLegacyLoginRoles(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	legacyOf := func(t *testing.T, slug string) {
		t.Helper()
		e.adminExec(t, "postgres", "REVOKE "+pgadmin.Ident(tenant.LoginGroup)+" FROM "+pgadmin.Ident(tenant.AppRole(slug)))
		if err := e.admin.RenameRole(e.ctx, tenant.AppRole(slug), tenant.LegacyAppRole(slug)); err != nil {
			t.Fatal(err)
		}
	}
	upgraded := func(t *testing.T, tn *tenant.Tenant) {
		t.Helper()
		if r := e.role(t, tenant.LegacyAppRole(tn.Slug)); r.Exists {
			t.Errorf("legacy role %s still exists", tenant.LegacyAppRole(tn.Slug))
		}
		r := e.role(t, tenant.AppRole(tn.Slug))
		if !r.Exists || !r.CanLogin || !slices.Contains(r.MemberOf, tenant.LoginGroup) {
			t.Errorf("login role after upgrade: %+v", r)
		}
		conn, err := e.connectApp(t, tn.Slug, tn.Database) // the Vault password still works
		if err != nil {
			t.Fatalf("login role after upgrade: %v", err)
		}
		if _, err := conn.Exec(e.ctx, `INSERT INTO audit_log (actor, action) VALUES ('admin', 'login')`); err != nil {
			t.Errorf("login role after upgrade keeps its grants: %v", err)
		}
		conn.Close(e.ctx)
	}

	a := e.create(t, tenant.Restaurant).Tenant
	b := e.create(t, tenant.Institution).Tenant
	legacyOf(t, a.Slug)
	legacyOf(t, b.Slug)
	// Until the upgrade, a's legacy login role is the owner role "a-app"
	// would get: that creation is refused, saying what to run.
	_, err := e.svc.Create(e.ctx, CreateRequest{Slug: a.Slug + "-app", Kind: "restaurant", Name: "x"})
	if tenant.ErrorCode(err) != tenant.EConflict || !strings.Contains(err.Error(), "migrate up") {
		t.Errorf("create %s-app before the upgrade: %v, want a conflict naming migrate up", a.Slug, err)
	}
	rs, err := e.svc.MigrateUp(e.ctx, MigrateOptions{Tenant: a.Slug})
	if err != nil || len(rs) != 1 || rs[0].Err != nil {
		t.Fatalf("migrate up --tenant: %+v, %v", rs, err)
	}
	upgraded(t, a)
	rs, err = e.svc.MigrateUp(e.ctx, MigrateOptions{All: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if r.Err != nil {
			t.Errorf("migrate up --all: %s: %v", r.Name, r.Err)
		}
	}
	upgraded(t, a) // idempotent
	upgraded(t, b)

	// The collision: s lost its own login role and the legacy name is
	// s-app's owner role. The upgrade must not hand it to s.
	s := "u" + platformtest.Rand(8)
	sTenant, err := e.svc.Create(e.ctx, CreateRequest{Slug: s, Kind: "restaurant", Name: "S"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Create(e.ctx, CreateRequest{Slug: s + "-app", Kind: "restaurant", Name: "S app"}); err != nil {
		t.Fatal(err)
	}
	e.adminExec(t, sTenant.Tenant.Database, "DROP OWNED BY "+pgadmin.Ident(tenant.AppRole(s)))
	e.adminExec(t, "postgres", "DROP ROLE "+pgadmin.Ident(tenant.AppRole(s)))
	rs, err = e.svc.MigrateUp(e.ctx, MigrateOptions{Tenant: s})
	if err != nil || len(rs) != 1 || tenant.ErrorCode(rs[0].Err) != tenant.EConflict || !strings.Contains(rs[0].Err.Error(), "owner") {
		t.Fatalf("upgrade onto another tenant's owner role: %+v, %v; want a conflict", rs, err)
	}
	if r := e.role(t, tenant.OwnerRole(s+"-app")); !r.Exists || r.CanLogin {
		t.Errorf("%s's owner role after the refused upgrade: %+v", s+"-app", r)
	}
	if err := e.svc.Purge(e.ctx, s); tenant.ErrorCode(err) != tenant.EConflict {
		t.Errorf("purge %s: %v, want the same conflict (it must not drop %s's owner role)", s, err, s+"-app")
	}
	if _, err := e.connectApp(t, s+"-app", tenant.DatabaseName(s+"-app")); err != nil {
		t.Errorf("%s-app no longer works: %v", s, err)
	}
	// Sorting it out by hand: with the collision gone, purge works.
	if err := e.svc.Purge(e.ctx, s+"-app"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Purge(e.ctx, s); err != nil {
		t.Fatal(err)
	}
	e.gone(t, s)
}

// TestDeleteIsFinishedByARerun is item 5: a soft delete that failed after
// the status change left the role logging in; running it again finishes
// it (it used to see "deleted" and return success).
func TestDeleteIsFinishedByARerun(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, step := range []string{deleteStatus, deleteLogin} {
		t.Run(step, func(t *testing.T) {
			tn := e.create(t, tenant.Restaurant).Tenant
			app := tenant.AppRole(tn.Slug)
			conn, err := e.connectApp(t, tn.Slug, tn.Database)
			if err != nil {
				t.Fatal(err)
			}
			e.svc.hook = func(s string, after bool) error {
				if s == step && after {
					return errCrash
				}
				return nil
			}
			err = e.svc.Delete(e.ctx, tn.Slug)
			e.svc.hook = nil
			if !errors.Is(err, errCrash) {
				t.Fatalf("first delete: %v, want the injected crash", err)
			}
			if got, _ := e.svc.Get(e.ctx, tn.Slug); got.Status != tenant.StatusDeleted {
				t.Fatalf("status after the failed delete: %s", got.Status)
			}
			if r := e.role(t, app); r.CanLogin != (step == deleteStatus) {
				t.Fatalf("after failing at %s: rolcanlogin = %v", step, r.CanLogin)
			}
			if n := e.sessions(t, app); n != 1 {
				t.Fatalf("after failing at %s: %d sessions, want the test's one", step, n)
			}

			if err := e.svc.Delete(e.ctx, tn.Slug); err != nil {
				t.Fatalf("second delete: %v", err)
			}
			if r := e.role(t, app); r.CanLogin {
				t.Error("after the second delete the login role can still log in")
			}
			platformtest.Eventually(t, 10*time.Second, "the login role's session ends", func() bool { return e.sessions(t, app) == 0 })
			if err := conn.Ping(e.ctx); err == nil {
				t.Error("the session opened before the delete still answers")
			}
			if _, err := e.connectApp(t, tn.Slug, tn.Database); pgCode(err) != "28000" {
				t.Errorf("log in after delete: %v, want 28000", err)
			}
		})
	}
}

// TestConcurrentCreatesOfOneSlug is B3: a second creation of a slug that
// starts while the first is running used to resume it alongside, and the
// one that exited 0 could print a password the other had replaced. Now it
// waits for the first (the per-slug lock), then finds the tenant done.
func TestConcurrentCreatesOfOneSlug(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.create(t, tenant.Restaurant) // the template exists: the runs below are quick
	slug := platformtest.Slug("race")
	req := CreateRequest{Slug: slug, Kind: "restaurant", Name: "Race"}

	// The first run to reach the admin user's step stops there until
	// released; any other passes (a sync.Once would block it too).
	reached, release := make(chan struct{}), make(chan struct{})
	var stopped atomic.Bool
	e.svc.hook = func(step string, after bool) error {
		if step == stepAdminUser && !after && stopped.CompareAndSwap(false, true) {
			close(reached)
			<-release
		}
		return nil
	}
	defer func() { e.svc.hook = nil }()
	type result struct {
		res *Created
		err error
	}
	firstDone, secondDone := make(chan result, 1), make(chan result, 1)
	go func() { r, err := e.svc.Create(e.ctx, req); firstDone <- result{r, err} }()
	<-reached
	go func() { r, err := e.svc.Create(e.ctx, req); secondDone <- result{r, err} }()
	// The second run either waits on the lock (with the fix) or gets
	// through on its own (without it): release the first then.
	var second *result
	platformtest.Eventually(t, 30*time.Second, "the second creation waits on the slug's lock or ends", func() bool {
		select {
		case r := <-secondDone:
			second = &r
			return true
		default:
		}
		var waiting int
		err := e.cat.Pool().QueryRow(e.ctx, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`).Scan(&waiting)
		if err != nil {
			t.Fatal(err)
		}
		return waiting > 0
	})
	close(release)
	first := <-firstDone
	if second == nil {
		r := <-secondDone
		second = &r
	}

	var winners []*Created
	for _, r := range []result{first, *second} {
		switch {
		case r.err == nil:
			winners = append(winners, r.res)
		case tenant.ErrorCode(r.err) != tenant.EConflict || !strings.Contains(r.err.Error(), "already exists (active)"):
			t.Errorf("the losing run failed with %v (code %s), want a conflict: already exists (active)", r.err, tenant.ErrorCode(r.err))
		}
	}
	if len(winners) != 1 {
		t.Fatalf("%d runs succeeded, want exactly one", len(winners))
	}
	if !auth.CheckPassword(e.adminHash(t, slug), winners[0].AdminPassword) {
		t.Error("the successful run printed an admin password that does not work")
	}

	// Two resets at once: serialised, and the one that finished last wins.
	var wg sync.WaitGroup
	var mu sync.Mutex
	var order []string
	for range 2 {
		wg.Go(func() {
			pw, err := e.svc.ResetAdmin(e.ctx, slug)
			if err != nil {
				t.Errorf("reset-admin: %v", err)
				return
			}
			mu.Lock()
			order = append(order, pw)
			mu.Unlock()
		})
	}
	wg.Wait()
	if len(order) == 2 && !auth.CheckPassword(e.adminHash(t, slug), order[1]) {
		t.Error("the password of the reset that finished last does not work")
	}
}

// TestMigrateSkipsMaintenance: a tenant under maintenance (a restore in
// progress) is not migrated, and the results say it was skipped.
func TestMigrateSkipsMaintenance(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	busy := e.create(t, tenant.Restaurant).Tenant
	idle := e.create(t, tenant.Restaurant).Tenant
	for _, tn := range []*tenant.Tenant{busy, idle} {
		if _, err := e.svc.MigrateDown(e.ctx, tn.Slug, 1); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.cat.SetStatus(e.ctx, busy.Slug, tenant.StatusMaintenance, tenant.StatusActive); err != nil {
		t.Fatal(err)
	}
	for _, o := range []MigrateOptions{{All: true}, {Tenant: busy.Slug}} {
		rs, err := e.svc.MigrateUp(e.ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		var found bool
		for _, r := range rs {
			if r.Name == busy.Slug {
				found = true
				if !r.Skipped || r.Err != nil {
					t.Errorf("%+v: maintenance tenant: %+v, want skipped", o, r)
				}
			} else if r.Skipped || r.Err != nil {
				t.Errorf("%+v: %s: %+v", o, r.Name, r)
			}
		}
		if !found {
			t.Errorf("%+v: the maintenance tenant is missing from the results", o)
		}
	}
	st, err := e.svc.MigrationStatus(e.ctx, busy.Slug)
	if err != nil || st[0].Status.Pending != 1 {
		t.Errorf("maintenance tenant was migrated: %+v, %v", st, err)
	}
	if st, _ := e.svc.MigrationStatus(e.ctx, idle.Slug); st[0].Status.Pending != 0 {
		t.Errorf("the other tenant was not migrated: %+v", st)
	}
	if err := e.cat.SetStatus(e.ctx, busy.Slug, tenant.StatusActive, tenant.StatusMaintenance); err != nil {
		t.Fatal(err)
	}
}

// TestCatalogRoleKeepsConnect is item 6 and B2: the hardening loop stopped
// at the first maintenance database already closed, so the catalog stayed
// open to every tenant role; and revoking PUBLIC's CONNECT on the catalog
// would lock out a catalog role that is neither owner nor superuser.
func TestCatalogRoleKeepsConnect(t *testing.T) {
	t.Parallel()
	admin := platformtest.Admin(t)
	ctx := platformtest.Context(t)
	prefix := platformtest.TemplatePrefix(t, admin)
	role, password := "pt_catrole_"+platformtest.Rand(8), platformtest.Rand(24)
	if err := admin.EnsureLoginRole(ctx, role, password, -1); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // after the catalog database is dropped
		if err := admin.DropRole(context.Background(), role); err != nil {
			t.Errorf("drop %s: %v", role, err)
		}
	})
	_, ownerURL := platformtest.Catalog(t) // owned by the admin user
	cc, err := pgx.ParseConfig(ownerURL)
	if err != nil {
		t.Fatal(err)
	}
	catDB := cc.Database
	for _, q := range []string{
		"GRANT USAGE ON SCHEMA public TO " + pgadmin.Ident(role),
		"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO " + pgadmin.Ident(role),
		"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO " + pgadmin.Ident(role),
	} {
		if err := admin.In(ctx, catDB, "", func(c *pgx.Conn) error { _, err := c.Exec(ctx, q); return err }); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// The state of any server after its first tenant: postgres is closed.
	if err := admin.RestrictConnect(ctx, "postgres"); err != nil {
		t.Fatal(err)
	}
	if open, err := admin.PublicCanConnect(ctx, catDB); err != nil || !open {
		t.Fatalf("the new catalog is not open to PUBLIC yet (%v, %v)", open, err)
	}

	// Another name for the admin URL's host: hardening must still see
	// that the catalog lives on this server.
	host := cc.Host
	if host == "127.0.0.1" {
		host = "localhost"
	}
	catURL := fmt.Sprintf("postgres://%s:%s@%s:%d/%s?sslmode=disable", role, password, host, cc.Port, catDB)
	cat, err := catalog.Open(ctx, catURL)
	if err != nil {
		t.Fatalf("open the catalog as %s: %v", role, err)
	}
	defer cat.Close()
	tmpl, err := secrets.LoadTemplate()
	if err != nil {
		t.Fatal(err)
	}
	e := &env{cat: cat, admin: admin, vault: platformtest.Vault(t), ctx: ctx}
	e.svc = New(cat, map[string]*pgadmin.Server{"default": admin}, e.vault, tmpl, Config{TemplatePrefix: prefix, BcryptCost: 4})
	tn := e.create(t, tenant.Restaurant).Tenant
	defer func() {
		if err := e.svc.Purge(context.Background(), tn.Slug); err != nil {
			t.Errorf("purge: %v", err)
		}
	}()

	if open, err := admin.PublicCanConnect(ctx, catDB); err != nil || open {
		t.Errorf("PUBLIC can still connect to the catalog (%v, %v)", open, err)
	}
	fresh, err := pgx.Connect(ctx, catURL)
	if err != nil {
		t.Fatalf("the catalog role cannot connect any more: %v", err)
	}
	fresh.Close(ctx)
	if _, err := e.connectApp(t, tn.Slug, catDB); pgCode(err) != "42501" {
		t.Errorf("a tenant's login role into the catalog: err = %v, want 42501", err)
	}
	if r := e.role(t, tenant.AppRole(tn.Slug)); !slices.Contains(r.MemberOf, tenant.LoginGroup) {
		t.Errorf("the login role is not in %s: %+v", tenant.LoginGroup, r)
	}
	if r := e.role(t, tenant.LoginGroup); !r.Exists || r.CanLogin {
		t.Errorf("%s: %+v, want a group that cannot log in", tenant.LoginGroup, r)
	}
}

// TestFreeTextAndDomains is B6/B7 and the domain findings: control
// characters in any free-text field, IP addresses and too many domains are
// refused as invalid input and change nothing; the audit records the slug
// as created, trimmed.
func TestFreeTextAndDomains(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	many := make([]string, tenant.MaxDomains+1)
	for i := range many {
		many[i] = fmt.Sprintf("d%d-%s.example.com", i, platformtest.Rand(6))
	}
	for name, req := range map[string]CreateRequest{
		"NUL in name":        {Name: "a\x00b"},
		"newline in name":    {Name: "Acme\nDB_PASSWORD=x"},
		"escape in name":     {Name: "\x1b[2Jx"},
		"line separator":     {Name: "a\u2028b"},
		"not UTF-8":          {Name: "\xff"},
		"NUL in time zone":   {Name: "x", TimeZone: "UTC\x00"},
		"IP as domain":       {Name: "x", Domains: []string{"10.0.0.1"}},
		"numeric last label": {Name: "x", Domains: []string{"shop.123"}},
		"too many domains":   {Name: "x", Domains: many},
	} {
		req.Slug, req.Kind = platformtest.Slug("txt"), "restaurant"
		if _, err := e.svc.Create(e.ctx, req); tenant.ErrorCode(err) != tenant.EInvalid {
			t.Errorf("%s: err = %v (code %s), want invalid_input", name, err, tenant.ErrorCode(err))
		}
		if _, err := e.svc.Get(e.ctx, req.Slug); tenant.ErrorCode(err) != tenant.ENotFound {
			t.Errorf("%s: a catalog row was written", name)
		}
	}

	// Adding domains on a resumed creation respects the cap too.
	slug := platformtest.Slug("cap")
	e.svc.hook = func(step string, after bool) error {
		if step == stepSecrets && !after {
			return errCrash
		}
		return nil
	}
	_, err := e.svc.Create(e.ctx, CreateRequest{Slug: slug, Kind: "restaurant", Name: "Cap", Domains: many[:tenant.MaxDomains]})
	e.svc.hook = nil
	if !errors.Is(err, errCrash) {
		t.Fatalf("first run: %v", err)
	}
	if _, err := e.svc.Create(e.ctx, CreateRequest{Slug: slug, Kind: "restaurant", Name: "Cap", Domains: many[tenant.MaxDomains:]}); tenant.ErrorCode(err) != tenant.EInvalid {
		t.Errorf("resume adding a 21st domain: %v, want invalid_input", err)
	}
	res, err := e.svc.Create(e.ctx, CreateRequest{Slug: "  " + slug + " ", Kind: "restaurant", Name: "Cap", Domains: many[:1]})
	if err != nil || len(res.Tenant.Hosts) != tenant.MaxDomains {
		t.Fatalf("resume with a domain it has: %v", err)
	}

	var typed int
	var slugs []string
	rows, err := e.cat.Pool().Query(e.ctx, `SELECT coalesce(tenant_slug, '') FROM operator_audit WHERE action = 'tenant.create'`)
	if err != nil {
		t.Fatal(err)
	}
	slugs, err = pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range slugs {
		if s != strings.TrimSpace(s) {
			typed++
		}
	}
	if typed != 0 || !slices.Contains(slugs, slug) {
		t.Errorf("audited slugs %q: want %q as created, never as typed", slugs, slug)
	}
}

// TestEnvOfANameStoredBeforeValidation: a name with a line break already
// in the catalog (stored before names were validated) injects no line
// into the env file.
func TestEnvOfANameStoredBeforeValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tn := e.create(t, tenant.Restaurant).Tenant
	if _, err := e.cat.Pool().Exec(e.ctx, `UPDATE tenants SET name = $2 WHERE slug = $1`, tn.Slug, "Acme\nDB_PASSWORD=stolen\r\u2028X"); err != nil {
		t.Fatal(err)
	}
	env, err := e.svc.Env(e.ctx, tn.Slug, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(env), "\n") {
		if strings.HasPrefix(line, "DB_PASSWORD=stolen") || strings.ContainsAny(line, "\r\u2028") {
			t.Errorf("env file line %q comes from the name", line)
		}
	}
}

// TestConcurrentCreatesOfManySlugs: the per-slug lock must not starve the
// catalog's pool. Each holder used to keep a pool connection for the whole
// creation, so as many creations at once as the pool has connections
// (four here, as in serve) waited for one forever.
func TestConcurrentCreatesOfManySlugs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.create(t, tenant.Restaurant) // the template exists: the runs below are quick
	ctx, cancel := context.WithTimeout(e.ctx, time.Minute)
	defer cancel()
	n := int(e.cat.Pool().Config().MaxConns) + 2
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, errs[i] = e.svc.Create(ctx, CreateRequest{Slug: platformtest.Slug("many"), Kind: "restaurant", Name: "Many"})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("creation %d of %d at once: %v", i+1, n, err)
		}
	}
}

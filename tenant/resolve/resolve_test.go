package resolve

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenancy/platform/platform/catalog"
	"github.com/tenancy/platform/platform/pgadmin"
	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/tenant"
)

// testCatalog is a catalog of the test's own with base domain localhost.
func testCatalog(t *testing.T) (*catalog.DB, string) {
	t.Helper()
	cat, url := platformtest.Catalog(t)
	if _, err := cat.EnsureBaseDomain(platformtest.Context(t), "localhost"); err != nil {
		t.Fatal(err)
	}
	return cat, url
}

// addTenant registers a tenant in the catalog only: resolving needs no
// database behind it.
func addTenant(t *testing.T, cat *catalog.DB, slug string, status tenant.Status, hosts ...string) *tenant.Tenant {
	t.Helper()
	ctx := platformtest.Context(t)
	srv, err := cat.EnsureDBServer(ctx, "default", "127.0.0.1", 5432)
	if err != nil {
		t.Fatal(err)
	}
	tn := &tenant.Tenant{Slug: slug, Kind: tenant.Restaurant, Name: slug, Database: tenant.DatabaseName(slug), TimeZone: "UTC", Hosts: hosts}
	if err := cat.CreateTenant(ctx, tn, srv.ID); err != nil {
		t.Fatal(err)
	}
	if status != tenant.StatusProvisioning {
		if err := cat.SetStatus(ctx, slug, status, tenant.StatusProvisioning); err != nil {
			t.Fatal(err)
		}
	}
	return tn
}

// logBuffer collects JSON log lines from any goroutine.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// count returns how many lines contain s.
func (l *logBuffer) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.buf.String(), s)
}

func (l *logBuffer) logger() *slog.Logger { return slog.New(slog.NewJSONHandler(l, nil)) }

// listeners returns the pids of the catalog listeners connected to the
// catalog database.
func listeners(t *testing.T, cat *catalog.DB) []int {
	t.Helper()
	ctx := platformtest.Context(t)
	rows, err := cat.Pool().Query(ctx, `SELECT pid FROM pg_stat_activity
		WHERE datname = current_database() AND application_name = $1 ORDER BY pid`, catalog.ListenerApplicationName)
	if err != nil {
		t.Fatal(err)
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		t.Fatal(err)
	}
	return pids
}

func waitListeners(t *testing.T, cat *catalog.DB, n int) []int {
	t.Helper()
	var pids []int
	platformtest.Eventually(t, 5*time.Second, fmt.Sprintf("%d catalog listeners connected", n), func() bool {
		pids = listeners(t, cat)
		return len(pids) == n
	})
	return pids
}

// start starts r and waits until its listener is in place: the reload
// that follows LISTEN is the second load.
func start(t *testing.T, ctx context.Context, r *Resolver) {
	t.Helper()
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	first := r.Stats().LoadedAt
	platformtest.Eventually(t, 5*time.Second, "the resolver listening", func() bool { return r.Stats().LoadedAt.After(first) })
}

func TestChannelsAgreeWithCatalog(t *testing.T) {
	if TenantChannel != catalog.ChangesChannel || ServerChannel != catalog.ServerChangesChannel || SettingsChannel != catalog.SettingsChangesChannel ||
		SentChannel != catalog.NoticeSentChannel {
		t.Error("resolve's channel names differ from the catalog's")
	}
}

func TestLookup(t *testing.T) {
	cat, _ := testCatalog(t)
	addTenant(t, cat, "demo-restaurant", tenant.StatusActive, "menu.example.cl")
	addTenant(t, cat, "uni", tenant.StatusSuspended)
	addTenant(t, cat, "gone", tenant.StatusActive, "gone.example.com")
	if err := cat.SetStatus(platformtest.Context(t), "gone", tenant.StatusDeleted, tenant.StatusActive); err != nil {
		t.Fatal(err)
	}
	r := New(cat, Options{})
	if err := r.Reload(platformtest.Context(t)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		host string // as it comes in the Host header
		want string // slug, or "" for no tenant
	}{
		{"demo-restaurant.localhost", "demo-restaurant"},
		{"demo-restaurant.localhost:8080", "demo-restaurant"},
		{"DEMO-Restaurant.LOCALHOST", "demo-restaurant"},
		{"demo-restaurant.localhost.", "demo-restaurant"},
		{"demo-restaurant.localhost.:8080", "demo-restaurant"},
		{"menu.example.cl", "demo-restaurant"},
		{"MENU.example.CL:443", "demo-restaurant"},
		{"uni.localhost", "uni"}, // suspended: found, refused by the router
		{"demo-restaurant.localhost.evil.com", ""},
		{"evil-demo-restaurant.localhost", ""},
		{"x.demo-restaurant.localhost", ""},
		{"demo-restaurant.localhostx", ""},
		{"demo-restaurantlocalhost", ""},
		{"localhost", ""},
		{".localhost", ""},
		{"menu.example.cl.evil.com", ""},
		{"evil.menu.example.cl", ""},
		{"gone.localhost", ""}, // deleted is unknown
		{"gone.example.com", ""},
		{"", ""},
		{":8080", ""},
		{"[::1]:8080", ""},
		{"demo-restaurant..localhost", ""},
		{"demo restaurant.localhost", ""},
		{"demo-restaurant.localhost:80:80", ""},
		{"127.0.0.1", ""},
	}
	for _, tt := range tests {
		got := r.Lookup(tenant.NormalizeHost(tt.host))
		if (got == nil && tt.want != "") || (got != nil && got.Slug != tt.want) {
			t.Errorf("Lookup(%q) = %v, want %q", tt.host, got, tt.want)
		}
	}
}

// TestBaseDomainIsTheCatalogs: the resolver serves subdomains of the base
// domain stored in the catalog, and the catalog refuses another one.
func TestBaseDomainIsTheCatalogs(t *testing.T) {
	cat, _ := platformtest.Catalog(t)
	ctx := platformtest.Context(t)
	addTenant(t, cat, "acme", tenant.StatusActive)
	r := New(cat, Options{})
	if err := r.Reload(ctx); tenant.ErrorCode(err) != tenant.ENotFound {
		t.Fatalf("Reload with no base domain in the catalog: %v, want not_found", err)
	}
	if _, err := cat.EnsureBaseDomain(ctx, "bad domain"); tenant.ErrorCode(err) != tenant.EInvalid {
		t.Errorf("EnsureBaseDomain(bad domain): %v", err)
	}
	if b, err := cat.EnsureBaseDomain(ctx, "Tenants.Example.Test"); err != nil || b != "tenants.example.test" {
		t.Fatalf("EnsureBaseDomain = %q, %v", b, err)
	}
	if b, err := cat.EnsureBaseDomain(ctx, "tenants.example.test"); err != nil || b != "tenants.example.test" {
		t.Fatalf("EnsureBaseDomain again = %q, %v", b, err)
	}
	b, err := cat.EnsureBaseDomain(ctx, "localhost")
	if tenant.ErrorCode(err) != tenant.EConflict || b != "tenants.example.test" ||
		tenant.ErrorMessage(err) != "the catalog's base domain is tenants.example.test but PLATFORM_BASE_DOMAIN says localhost" {
		t.Fatalf("EnsureBaseDomain(another) = %q, %v", b, err)
	}
	if err := r.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if tn := r.Lookup("acme.tenants.example.test"); tn == nil || tn.Slug != "acme" {
		t.Errorf("acme.tenants.example.test = %v", tn)
	}
	if tn := r.Lookup("acme.localhost"); tn != nil {
		t.Errorf("acme.localhost = %v: the caller's base domain is not the catalog's", tn.Slug)
	}
}

// TestSubdomainWinsOverCustomDomain (B5): a custom domain equal to another
// tenant's <slug>.<base>, or anywhere under the base, is refused by the
// catalog; one that got in anyway (inserted directly) never wins.
func TestSubdomainWinsOverCustomDomain(t *testing.T) {
	cat, _ := testCatalog(t)
	ctx, cancel := context.WithCancel(platformtest.Context(t))
	defer cancel()
	victim := addTenant(t, cat, "victim", tenant.StatusActive)
	thief := addTenant(t, cat, "thief", tenant.StatusActive, "thief.example.com")
	for _, h := range []string{"victim.localhost", "ghost.localhost", "localhost", "a.b.localhost"} {
		if err := cat.AddDomains(ctx, thief.ID, []string{h}); tenant.ErrorCode(err) != tenant.EConflict {
			t.Errorf("AddDomains(%s): %v, want a conflict", h, err)
		}
	}
	bad := &tenant.Tenant{Slug: "thief-two", Kind: tenant.Restaurant, Name: "x", Database: "tenant_thief_two", TimeZone: "UTC",
		Hosts: []string{"victim.localhost"}}
	srv, err := cat.EnsureDBServer(ctx, "default", "127.0.0.1", 5432)
	if err != nil {
		t.Fatal(err)
	}
	if err := cat.CreateTenant(ctx, bad, srv.ID); tenant.ErrorCode(err) != tenant.EConflict {
		t.Errorf("CreateTenant with victim.localhost: %v, want a conflict", err)
	}
	// Bypass the checks, as a catalog written by an older version or by
	// hand would.
	insert := func(host string) {
		t.Helper()
		if _, err := cat.Pool().Exec(ctx, `INSERT INTO tenant_domains (host, tenant_id) VALUES ($1, $2)`, host, thief.ID); err != nil {
			t.Fatal(err)
		}
	}
	insert("victim.localhost")
	r := New(cat, Options{})
	start(t, ctx, r)
	if tn := r.Lookup("victim.localhost"); tn == nil || tn.ID != victim.ID {
		t.Errorf("victim.localhost after a load = %v, want victim", tn)
	}
	// And through a patch: the insert notifies thief's id.
	insert("ghost.localhost")
	platformtest.Eventually(t, 5*time.Second, "the patch for thief", func() bool { return r.Stats().Patches >= 1 })
	for host, want := range map[string]string{"victim.localhost": "victim", "ghost.localhost": "", "thief.localhost": "thief", "thief.example.com": "thief"} {
		tn := r.Lookup(host)
		if (tn == nil && want != "") || (tn != nil && tn.Slug != want) {
			t.Errorf("Lookup(%s) = %v, want %q", host, tn, want)
		}
	}
}

func TestNotifyPatchesEveryReplica(t *testing.T) {
	cat, url := testCatalog(t)
	ctx, cancel := context.WithCancel(platformtest.Context(t))
	defer cancel()
	// Two replicas, each on its own catalog connection.
	other, err := catalog.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	var mu sync.Mutex
	var changes []string
	replicas := []*Resolver{
		New(cat, Options{OnChange: func(old *tenant.Tenant) { mu.Lock(); changes = append(changes, old.Slug); mu.Unlock() }}),
		New(other, Options{}),
	}
	for _, r := range replicas {
		start(t, ctx, r) // both listening before anything changes
	}
	status := func(host string) tenant.Status {
		var s tenant.Status = "none"
		for i, r := range replicas {
			got := "none"
			if tn := r.Lookup(host); tn != nil {
				got = string(tn.Status)
			}
			if i == 0 {
				s = tenant.Status(got)
			} else if tenant.Status(got) != s {
				return "replicas disagree"
			}
		}
		return s
	}
	within := func(what string, cond func() bool) {
		t.Helper()
		platformtest.Eventually(t, time.Second, what+" on every replica within 1 s", cond)
	}

	addTenant(t, cat, "acme", tenant.StatusActive)
	within("new tenant", func() bool { return status("acme.localhost") == tenant.StatusActive })
	if err := cat.SetStatus(ctx, "acme", tenant.StatusSuspended, tenant.StatusActive); err != nil {
		t.Fatal(err)
	}
	within("suspend", func() bool { return status("acme.localhost") == tenant.StatusSuspended })
	if err := cat.SetStatus(ctx, "acme", tenant.StatusActive, tenant.StatusSuspended); err != nil {
		t.Fatal(err)
	}
	within("resume", func() bool { return status("acme.localhost") == tenant.StatusActive })
	tn, err := cat.TenantBySlug(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if err := cat.AddDomains(ctx, tn.ID, []string{"acme.example.com"}); err != nil {
		t.Fatal(err)
	}
	within("domain added", func() bool { return status("acme.example.com") == tenant.StatusActive })
	if err := cat.SetStatus(ctx, "acme", tenant.StatusDeleted, tenant.StatusActive); err != nil {
		t.Fatal(err)
	}
	within("delete", func() bool { return status("acme.localhost") == "none" && status("acme.example.com") == "none" })
	mu.Lock()
	if len(changes) < 3 {
		t.Errorf("OnChange saw %v, want the suspend, resume and delete", changes)
	}
	mu.Unlock()
}

// TestReloadAfterListenerDrops kills the listening connection and changes
// the catalog while it is down: the notification is lost, and the reload
// after reconnecting must bring the change anyway.
func TestReloadAfterListenerDrops(t *testing.T) {
	cat, _ := testCatalog(t)
	ctx, cancel := context.WithCancel(platformtest.Context(t))
	defer cancel()
	addTenant(t, cat, "acme", tenant.StatusActive)
	var tenantChanges, serverChanges atomic.Int64
	r := New(cat, Options{
		OnChange:       func(*tenant.Tenant) { tenantChanges.Add(1) },
		OnServerChange: func(old, updated tenant.DBServer) { serverChanges.Add(1) },
	})
	start(t, ctx, r)
	pid := waitListeners(t, cat, 1)[0]
	before := r.Stats().LoadedAt
	// Kill the listener, then change the tenant and its server at once:
	// the reconnect waits 100 ms, so the NOTIFYs are sent while nobody
	// listens.
	terminate(t, pid)
	if err := cat.SetStatus(ctx, "acme", tenant.StatusSuspended, tenant.StatusActive); err != nil {
		t.Fatal(err)
	}
	budget := 9
	if _, _, err := cat.UpdateDBServer(ctx, "default", catalog.DBServerChange{Budget: &budget}); err != nil {
		t.Fatal(err)
	}
	platformtest.Eventually(t, 5*time.Second, "the changes made while the listener was down", func() bool {
		tn := r.Lookup("acme.localhost")
		srv, _ := r.Server("default")
		return tn != nil && tn.Status == tenant.StatusSuspended && srv.ConnectionBudget == 9 && r.Stats().LoadedAt.After(before)
	})
	// Whether a notice or the reload brought them, each is reported once.
	platformtest.Eventually(t, 5*time.Second, "the callbacks", func() bool { return tenantChanges.Load() == 1 && serverChanges.Load() == 1 })
}

// terminate ends one backend from an admin connection.
func terminate(t *testing.T, pid int) {
	t.Helper()
	ctx := platformtest.Context(t)
	err := platformtest.Admin(t).In(ctx, "postgres", "", func(c *pgx.Conn) error {
		var ok bool
		if err := c.QueryRow(ctx, `SELECT pg_terminate_backend($1)`, pid).Scan(&ok); err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("backend %d was not terminated", pid)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestServerChangesReachTheResolver (item 7): a database server's budget
// or address changed in the catalog reaches a running resolver, which
// reports it.
func TestServerChangesReachTheResolver(t *testing.T) {
	cat, _ := testCatalog(t)
	ctx, cancel := context.WithCancel(platformtest.Context(t))
	defer cancel()
	addTenant(t, cat, "acme", tenant.StatusActive)
	type change struct{ old, updated tenant.DBServer }
	var mu sync.Mutex
	var changes []change
	seen := func() []change { mu.Lock(); defer mu.Unlock(); return append([]change(nil), changes...) }
	r := New(cat, Options{OnServerChange: func(old, updated tenant.DBServer) {
		mu.Lock()
		changes = append(changes, change{old, updated})
		mu.Unlock()
	}})
	start(t, ctx, r)
	budget := 7
	if _, _, err := cat.UpdateDBServer(ctx, "default", catalog.DBServerChange{Budget: &budget}); err != nil {
		t.Fatal(err)
	}
	platformtest.Eventually(t, 5*time.Second, "the budget change", func() bool { return len(seen()) == 1 })
	c := seen()[0]
	if c.old.ConnectionBudget != 80 || c.updated.ConnectionBudget != 7 || c.updated.Name != "default" {
		t.Errorf("OnServerChange(%+v, %+v)", c.old, c.updated)
	}
	if s, ok := r.Server("default"); !ok || s.ConnectionBudget != 7 {
		t.Errorf("Server(default) = %+v, %v", s, ok)
	}
	// An address changed by hand (not through the catalog package) too.
	if _, err := cat.Pool().Exec(ctx, `UPDATE db_servers SET port = 6543 WHERE name = 'default'`); err != nil {
		t.Fatal(err)
	}
	platformtest.Eventually(t, 5*time.Second, "the port change", func() bool { return len(seen()) == 2 })
	if c := seen()[1]; c.old.Port != 5432 || c.updated.Port != 6543 {
		t.Errorf("OnServerChange(%+v, %+v)", c.old, c.updated)
	}
	// A server added is reported with a zero old one.
	if _, err := cat.EnsureDBServer(ctx, "second", "127.0.0.2", 5432); err != nil {
		t.Fatal(err)
	}
	platformtest.Eventually(t, 5*time.Second, "the new server", func() bool { return len(seen()) == 3 })
	if c := seen()[2]; c.old != (tenant.DBServer{}) || c.updated.Name != "second" {
		t.Errorf("OnServerChange(%+v, %+v)", c.old, c.updated)
	}
}

// TestForeignNoticesIgnored (B2): a role other than the catalog's that can
// connect to the catalog database sends fake change notices: they cost no
// catalog read, are counted, and are logged once per sender.
func TestForeignNoticesIgnored(t *testing.T) {
	cat, _ := testCatalog(t)
	ctx, cancel := context.WithCancel(platformtest.Context(t))
	defer cancel()
	victim := addTenant(t, cat, "acme", tenant.StatusActive)
	var logs logBuffer
	r := New(cat, Options{Logger: logs.logger()})
	start(t, ctx, r)

	// A real login role, as a tenant role would be, on the catalog database.
	cc := loginRole(t, cat, "pt_intruder_")
	role := cc.User
	intruder, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		t.Fatalf("connect as the intruder: %v", err)
	}
	defer intruder.Close(context.Background())
	const fakes = 50
	for i := range fakes {
		channel := TenantChannel
		if i%5 == 0 {
			channel = ServerChannel
		}
		if _, err := intruder.Exec(ctx, `SELECT pg_notify($1, $2)`, channel, victim.ID); err != nil {
			t.Fatal(err)
		}
	}
	platformtest.Eventually(t, 5*time.Second, "the fake notices counted", func() bool { return r.Stats().IgnoredNotices == fakes })
	if p := r.Stats().Patches; p != 0 {
		t.Errorf("%d patches after fake notices, want none", p)
	}
	if n := logs.count("catalog notice from a foreign role ignored"); n != 1 {
		t.Errorf("%d warnings, want 1 for the one sender", n)
	}
	if n := logs.count(role); n != 1 {
		t.Errorf("the sender's role is named %d times in the log, want once", n)
	}
	// A real change still arrives, after the fakes.
	if err := cat.SetStatus(ctx, "acme", tenant.StatusSuspended, tenant.StatusActive); err != nil {
		t.Fatal(err)
	}
	platformtest.Eventually(t, 5*time.Second, "the real change", func() bool {
		tn := r.Lookup("acme.localhost")
		return tn != nil && tn.Status == tenant.StatusSuspended
	})
}

// loginRole makes a login role with a password for the test and returns a
// connection config to the catalog database as it; privileges granted on
// that database are dropped with the role when the test ends.
func loginRole(t *testing.T, cat *catalog.DB, prefix string, grants ...string) *pgx.ConnConfig {
	t.Helper()
	ctx := platformtest.Context(t)
	admin := platformtest.Admin(t)
	role, password := prefix+platformtest.Rand(8), platformtest.Rand(24)
	var db string
	if err := cat.Pool().QueryRow(ctx, `SELECT current_database()`).Scan(&db); err != nil {
		t.Fatal(err)
	}
	err := admin.In(ctx, "postgres", "", func(c *pgx.Conn) error {
		_, err := c.Exec(ctx, "CREATE ROLE "+pgadmin.Ident(role)+" LOGIN PASSWORD '"+password+"'")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		err := admin.In(ctx, db, "", func(c *pgx.Conn) error {
			_, err := c.Exec(ctx, "DROP OWNED BY "+pgadmin.Ident(role))
			return err
		})
		if err == nil {
			err = admin.In(ctx, "postgres", "", func(c *pgx.Conn) error {
				_, err := c.Exec(ctx, "DROP ROLE "+pgadmin.Ident(role))
				return err
			})
		}
		if err != nil {
			t.Errorf("drop role %s: %v", role, err)
		}
	})
	for _, g := range grants {
		err := admin.In(ctx, db, "", func(c *pgx.Conn) error {
			_, err := c.Exec(ctx, strings.ReplaceAll(g, "ROLE", pgadmin.Ident(role)))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	cc := cat.Pool().Config().ConnConfig.Copy()
	cc.User, cc.Password = role, password
	return cc
}

// TestNoticesFromANonSuperuserCatalogRole: with a catalog role that is not
// a superuser (as in production), its own changes still arrive, and so do
// a superuser's; another role's notices are ignored.
func TestNoticesFromANonSuperuserCatalogRole(t *testing.T) {
	owner, _ := testCatalog(t)
	ctx, cancel := context.WithCancel(platformtest.Context(t))
	defer cancel()
	acme := addTenant(t, owner, "acme", tenant.StatusActive)
	cc := loginRole(t, owner, "pt_catalog_",
		"GRANT USAGE ON SCHEMA public TO ROLE",
		"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ROLE",
		"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO ROLE")
	u := url.URL{Scheme: "postgres", User: url.UserPassword(cc.User, cc.Password), Host: fmt.Sprintf("%s:%d", cc.Host, cc.Port),
		Path: "/" + cc.Database, RawQuery: "sslmode=disable"}
	cat, err := catalog.Open(ctx, u.String())
	if err != nil {
		t.Fatalf("open the catalog as its own role: %v", err)
	}
	defer cat.Close()
	var super bool
	if err := cat.Pool().QueryRow(ctx, `SELECT rolsuper FROM pg_roles WHERE rolname = current_user`).Scan(&super); err != nil || super {
		t.Fatalf("catalog role is a superuser (%v) or unreadable: %v", super, err)
	}
	r := New(cat, Options{})
	start(t, ctx, r)
	intruder, err := pgx.ConnectConfig(ctx, loginRole(t, owner, "pt_intruder_"))
	if err != nil {
		t.Fatal(err)
	}
	defer intruder.Close(context.Background())
	if _, err := intruder.Exec(ctx, `SELECT pg_notify($1, $2)`, TenantChannel, acme.ID); err != nil {
		t.Fatal(err)
	}
	platformtest.Eventually(t, 5*time.Second, "the intruder's notice ignored", func() bool { return r.Stats().IgnoredNotices == 1 })
	// The catalog's own role.
	if err := cat.SetStatus(ctx, "acme", tenant.StatusSuspended, tenant.StatusActive); err != nil {
		t.Fatal(err)
	}
	platformtest.Eventually(t, 5*time.Second, "the catalog role's change", func() bool {
		tn := r.Lookup("acme.localhost")
		return tn != nil && tn.Status == tenant.StatusSuspended
	})
	// A superuser (the test's admin owns the catalog database).
	if err := owner.SetStatus(ctx, "acme", tenant.StatusActive, tenant.StatusSuspended); err != nil {
		t.Fatal(err)
	}
	platformtest.Eventually(t, 5*time.Second, "the superuser's change", func() bool {
		tn := r.Lookup("acme.localhost")
		return tn != nil && tn.Status == tenant.StatusActive
	})
	if s := r.Stats(); s.IgnoredNotices != 1 || s.Patches != 2 {
		t.Errorf("stats %+v, want 1 ignored and 2 patches", s)
	}
}

// TestNoticeLag: each catalog change (migration 000009's triggers) sends
// its time, and the resolver reports receive time minus send time; a
// change notice without one (a catalog before 000009) is still applied
// and reports nothing; a send time ahead of this clock (skew) reports 0,
// and a payload that is not a time nothing.
func TestNoticeLag(t *testing.T) {
	t.Parallel()
	cat, _ := testCatalog(t)
	ctx, cancel := context.WithCancel(platformtest.Context(t))
	defer cancel()
	tn := addTenant(t, cat, platformtest.Slug("lag"), tenant.StatusActive)
	var mu sync.Mutex
	var lags []time.Duration
	got := func() []time.Duration {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(lags)
	}
	r := New(cat, Options{NoticeLag: func(d time.Duration) {
		mu.Lock()
		lags = append(lags, d)
		mu.Unlock()
	}})
	start(t, ctx, r)

	// An old-style notice: the tenant id alone.
	patches := r.Stats().Patches
	if _, err := cat.Pool().Exec(ctx, `SELECT pg_notify($1, $2)`, TenantChannel, tn.ID); err != nil {
		t.Fatal(err)
	}
	platformtest.Eventually(t, 5*time.Second, "the old-style notice applied", func() bool { return r.Stats().Patches > patches })
	if l := got(); len(l) != 0 {
		t.Fatalf("lags %v after a notice without a send time", l)
	}

	// A real change.
	sent := time.Now()
	if err := cat.SetStatus(ctx, tn.Slug, tenant.StatusSuspended, tenant.StatusActive); err != nil {
		t.Fatal(err)
	}
	platformtest.Eventually(t, 5*time.Second, "a lag reported", func() bool { return len(got()) == 1 })
	if l := got()[0]; l < 0 || l > time.Since(sent)+time.Second { // a second of clock skew allowed
		t.Errorf("lag %v, want between 0 and %v", l, time.Since(sent))
	}
	if tn := r.Lookup(tn.Slug + ".localhost"); tn == nil || tn.Status != tenant.StatusSuspended {
		t.Errorf("after the change: %+v", tn)
	}

	// Not a time, then a time an hour ahead.
	if _, err := cat.Pool().Exec(ctx, `SELECT pg_notify($1, 'soon'), pg_notify($1, $2)`, SentChannel,
		strconv.FormatInt(time.Now().Add(time.Hour).UnixMicro(), 10)); err != nil {
		t.Fatal(err)
	}
	platformtest.Eventually(t, 5*time.Second, "the skewed lag reported", func() bool { return len(got()) == 2 })
	if l := got(); l[1] != 0 {
		t.Errorf("lag of a send time ahead of this clock: %v, want 0", l[1])
	}
}

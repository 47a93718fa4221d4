package resolve

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenancy/platform/platform/catalog"
	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/tenant"
)

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

func TestLookup(t *testing.T) {
	cat, _ := platformtest.Catalog(t)
	addTenant(t, cat, "demo-restaurant", tenant.StatusActive, "menu.example.cl")
	addTenant(t, cat, "uni", tenant.StatusSuspended)
	addTenant(t, cat, "gone", tenant.StatusActive, "gone.example.com")
	if err := cat.SetStatus(platformtest.Context(t), "gone", tenant.StatusDeleted, tenant.StatusActive); err != nil {
		t.Fatal(err)
	}
	r := New(cat, "localhost", nil)
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

// waitFor polls cond for up to a second: catalog changes must reach every
// replica within one.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > time.Second {
			t.Fatalf("%s: not seen within 1 s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("%s: seen after %v", what, time.Since(start).Round(time.Millisecond))
}

func TestNotifyPatchesEveryReplica(t *testing.T) {
	cat, url := platformtest.Catalog(t)
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
	replicas := []*Resolver{New(cat, "localhost", nil), New(other, "localhost", nil)}
	replicas[0].OnChange = func(old *tenant.Tenant) { mu.Lock(); changes = append(changes, old.Slug); mu.Unlock() }
	for _, r := range replicas {
		if err := r.Start(ctx); err != nil {
			t.Fatal(err)
		}
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
	// Let both listeners connect before changing anything.
	time.Sleep(100 * time.Millisecond)

	addTenant(t, cat, "acme", tenant.StatusActive)
	waitFor(t, "new tenant", func() bool { return status("acme.localhost") == tenant.StatusActive })
	cat.SetStatus(ctx, "acme", tenant.StatusSuspended, tenant.StatusActive)
	waitFor(t, "suspend", func() bool { return status("acme.localhost") == tenant.StatusSuspended })
	cat.SetStatus(ctx, "acme", tenant.StatusActive, tenant.StatusSuspended)
	waitFor(t, "resume", func() bool { return status("acme.localhost") == tenant.StatusActive })
	tn, _ := cat.TenantBySlug(ctx, "acme")
	cat.AddDomains(ctx, tn.ID, []string{"acme.example.com"})
	waitFor(t, "domain added", func() bool { return status("acme.example.com") == tenant.StatusActive })
	cat.SetStatus(ctx, "acme", tenant.StatusDeleted, tenant.StatusActive)
	waitFor(t, "delete", func() bool { return status("acme.localhost") == "none" && status("acme.example.com") == "none" })
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
	cat, _ := platformtest.Catalog(t)
	ctx, cancel := context.WithCancel(platformtest.Context(t))
	defer cancel()
	addTenant(t, cat, "acme", tenant.StatusActive)
	r := New(cat, "localhost", nil)
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	admin := platformtest.Admin(t)
	var db string
	cat.Pool().QueryRow(ctx, `SELECT current_database()`).Scan(&db)
	// Kill the listener, then change the tenant at once: the reconnect
	// waits 100 ms, so the NOTIFY is sent while nobody listens.
	err := admin.In(ctx, "postgres", "", func(c *pgx.Conn) error {
		var killed int
		err := c.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1 AND query ILIKE 'LISTEN%'`, db).Scan(&killed)
		if err == nil && killed != 1 {
			t.Errorf("terminated %d listeners, want 1", killed)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := cat.SetStatus(ctx, "acme", tenant.StatusSuspended, tenant.StatusActive); err != nil {
		t.Fatal(err)
	}
	before := r.Stats().LoadedAt
	deadline := time.Now().Add(5 * time.Second)
	for {
		if tn := r.Lookup("acme.localhost"); tn != nil && tn.Status == tenant.StatusSuspended && r.Stats().LoadedAt.After(before) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the change made while the listener was down never arrived")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

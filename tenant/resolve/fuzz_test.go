package resolve

import (
	"context"
	"strings"
	"testing"

	"github.com/tenancy/platform/tenant"
)

// memCatalog is a fixed in-memory Catalog for pure tests: no server.
type memCatalog struct {
	base    string
	tenants []*tenant.Tenant
}

func (m *memCatalog) Routes(context.Context) ([]*tenant.Tenant, error) { return m.tenants, nil }
func (m *memCatalog) TenantByID(_ context.Context, id string) (*tenant.Tenant, error) {
	for _, t := range m.tenants {
		if t.ID == id {
			return t, nil
		}
	}
	return nil, tenant.Errorf(tenant.ENotFound, "no tenant %s", id)
}
func (m *memCatalog) DBServers(context.Context) ([]tenant.DBServer, error) {
	return []tenant.DBServer{{ID: 1, Name: "default", Host: "127.0.0.1", Port: 5432, ConnectionBudget: 80}}, nil
}
func (m *memCatalog) BaseDomain(context.Context) (string, error) { return m.base, nil }
func (m *memCatalog) Listen(ctx context.Context, _ func(context.Context) error, _ func(string, string, string)) error {
	<-ctx.Done()
	return ctx.Err()
}

// fuzzCatalog has tenants whose custom domains look like each other's
// subdomains, sit under the base domain, or extend one another.
func fuzzCatalog() *memCatalog {
	mk := func(id, slug string, hosts ...string) *tenant.Tenant {
		return &tenant.Tenant{ID: id, Slug: slug, Status: tenant.StatusActive, DBServer: "default", Hosts: hosts}
	}
	return &memCatalog{base: "tenants.example", tenants: []*tenant.Tenant{
		mk("1", "acme", "menu.acme.cl", "acme.cl"),
		mk("2", "uni", "campus.uni.edu", "acme.tenants.example", "ghost.tenants.example", "tenants.example"),
		mk("3", "x-1", "a.b.c.d", "menu.acme.cl.evil.com"),
	}}
}

// FuzzLookup normalises an arbitrary host and looks it up: it never
// panics, and a tenant comes back only for exactly its subdomain or one of
// its custom domains (never one under the base domain).
func FuzzLookup(f *testing.F) {
	for _, s := range []string{"acme.tenants.example", "ACME.Tenants.Example.:8080", "menu.acme.cl", "acme.cl.",
		"ghost.tenants.example", "tenants.example", "x.acme.tenants.example", "[::1]:80", "acme.tenants.example:80:80",
		"a.b.c.d", "\x00acme.tenants.example", "acme.tenants.example\x00", " acme.tenants.example ", "uni.tenants.examplE",
		"xn--acme-9za.tenants.example", "acme..tenants.example", "-acme.tenants.example", "127.0.0.1", ""} {
		f.Add(s)
	}
	cat := fuzzCatalog()
	r := New(cat, Options{})
	if err := r.Reload(context.Background()); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		host := tenant.NormalizeHost(raw)
		got := r.Lookup(host)
		if got == nil {
			return
		}
		if host == got.Slug+"."+cat.base {
			return
		}
		for _, h := range got.Hosts {
			if h == host && h != cat.base && !strings.HasSuffix(h, "."+cat.base) {
				return
			}
		}
		t.Fatalf("Lookup(NormalizeHost(%q) = %q) = tenant %s, which has neither that subdomain nor that domain", raw, host, got.Slug)
	})
}

// TestLookupInMemory pins what FuzzLookup's catalog resolves to.
func TestLookupInMemory(t *testing.T) {
	r := New(fuzzCatalog(), Options{})
	if err := r.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	for host, want := range map[string]string{
		"acme.tenants.example": "acme", "uni.tenants.example": "uni", "menu.acme.cl": "acme", "acme.cl": "acme",
		"campus.uni.edu": "uni", "a.b.c.d": "x-1", "ghost.tenants.example": "", "tenants.example": "",
		"x.acme.tenants.example": "", "menu.acme.cl.evil.com": "x-1", "evil.com": "", "cl": "",
	} {
		tn := r.Lookup(host)
		if (tn == nil && want != "") || (tn != nil && tn.Slug != want) {
			t.Errorf("Lookup(%s) = %v, want %q", host, tn, want)
		}
	}
}

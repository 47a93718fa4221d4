package provision

import (
	"testing"

	"github.com/tenancy/platform/platform/catalog"
	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/tenant"
)

// A create never re-points a registered server (hostile run: every create
// overwrote it with PLATFORM_DB_ADMIN_URL, re-pointing every tenant), and
// refuses when the admin URL is not where the catalog says the server is.
func TestCreateRefusesAnotherServerAddress(t *testing.T) {
	e := newEnv(t)
	first := e.create(t, tenant.Restaurant)
	elsewhere := "db.elsewhere.example"
	if _, _, err := e.cat.UpdateDBServer(e.ctx, first.Tenant.DBServer, catalog.DBServerChange{Host: &elsewhere}); err != nil {
		t.Fatal(err)
	}
	slug := platformtest.Slug("rest")
	_, err := e.svc.Create(e.ctx, CreateRequest{Slug: slug, Kind: "restaurant", Name: "Second"})
	if tenant.ErrorCode(err) != tenant.EConflict {
		t.Fatalf("create with the admin URL elsewhere: %v, want conflict", err)
	}
	srv, err := e.cat.DBServer(e.ctx, first.Tenant.DBServer)
	if err != nil {
		t.Fatal(err)
	}
	if srv.Host != elsewhere {
		t.Errorf("the create re-pointed the server to %s", srv.Host)
	}
	if _, err := e.cat.TenantBySlug(e.ctx, slug); tenant.ErrorCode(err) != tenant.ENotFound {
		t.Errorf("the refused create left a tenant behind: %v", err)
	}
	// Put it back so the cleanup can purge the first tenant.
	host := e.admin.Host()
	if _, _, err := e.cat.UpdateDBServer(e.ctx, first.Tenant.DBServer, catalog.DBServerChange{Host: &host}); err != nil {
		t.Fatal(err)
	}
}

package tenanttest

import (
	"testing"

	"github.com/tenancy/platform/tenant"
)

func TestCreateServesTheAppRole(t *testing.T) {
	e := New(t)
	tn := e.Create(t, tenant.Restaurant)
	var user string
	if err := tn.App.QueryRow(e.Ctx, `SELECT current_user`).Scan(&user); err != nil {
		t.Fatal(err)
	}
	if user != tenant.AppRole(tn.Slug) {
		t.Fatalf("connected as %q, want %q", user, tenant.AppRole(tn.Slug))
	}
}

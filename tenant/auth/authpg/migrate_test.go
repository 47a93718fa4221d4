package authpg_test

import (
	"context"
	"slices"
	"testing"

	"github.com/tenancy/platform/platform/platformtest/tenanttest"
	"github.com/tenancy/platform/platform/provision"
	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/auth/authpg"
)

// Migration 000004 over a tenant that has users: they keep their roles by
// id (admin becomes owner in a restaurant, staff becomes prefect in an
// institution), and its down migration gives the common seed back.
func TestRoleMigrationKeepsUsersRoles(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		kind                 tenant.Kind
		oldAdmin, newAdmin   string
		oldStaff, newStaff   string
		rolesBefore, rolesAt []string
	}{
		{tenant.Restaurant, "admin", "owner", "staff", "staff", []string{"admin", "staff"}, []string{"manager", "owner", "staff"}},
		{tenant.Institution, "admin", "admin", "staff", "prefect", []string{"admin", "staff"}, []string{"academic", "admin", "prefect", "teacher"}},
	} {
		t.Run(string(c.kind), func(t *testing.T) {
			t.Parallel()
			e := tenanttest.New(t)
			tn := e.Create(t, c.kind)
			ctx := e.Ctx
			roles := func() []string {
				t.Helper()
				var rs []string
				if err := tn.App.QueryRow(ctx, `SELECT array_agg(name ORDER BY name) FROM roles`).Scan(&rs); err != nil {
					t.Fatal(err)
				}
				return rs
			}
			if got := roles(); !slices.Equal(got, c.rolesAt) {
				t.Fatalf("roles %v, want %v", got, c.rolesAt)
			}
			// Down to version 3, before the roles migration (000004),
			// whatever came after it.
			st, err := e.Service.MigrationStatus(ctx, tn.Slug)
			if err != nil || len(st) != 1 || st[0].Status.Version < 4 {
				t.Fatalf("status: %+v %v", st, err)
			}
			if _, err := e.Service.MigrateDown(ctx, tn.Slug, int(st[0].Status.Version)-3); err != nil {
				t.Fatal(err)
			}
			if got := roles(); !slices.Equal(got, c.rolesBefore) {
				t.Fatalf("roles after down %v, want %v", got, c.rolesBefore)
			}
			// Raw SQL: authpg reads the latest schema's columns.
			var admin authpg.Account
			err = tn.App.QueryRow(ctx, `SELECT u.id, array_agg(r.name ORDER BY r.name) FROM users u
				JOIN user_roles ur ON ur.user_id = u.id JOIN roles r ON r.id = ur.role_id
				WHERE lower(u.username) = lower($1) GROUP BY u.id`, tn.AdminUsername).Scan(&admin.ID, &admin.Roles)
			if err != nil || !slices.Equal(admin.Roles, []string{c.oldAdmin}) {
				t.Fatalf("admin after down: %v, %v", admin.Roles, err)
			}
			id, err := authpg.Create(ctx, tn.App, authpg.NewAccount{Username: "old-staff", PasswordHash: "x", Roles: []string{c.oldStaff}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.Service.MigrateUp(ctx, provision.MigrateOptions{Tenant: tn.Slug}); err != nil {
				t.Fatal(err)
			}
			admin, err = authpg.ByID(ctx, tn.App, admin.ID, false)
			if err != nil || !slices.Equal(admin.Roles, []string{c.newAdmin}) || !slices.Contains(admin.Permissions, authpg.PermUsersManage) {
				t.Errorf("admin after up: %v %v, %v", admin.Roles, admin.Permissions, err)
			}
			staff, err := authpg.ByID(ctx, tn.App, id, false)
			if err != nil || !slices.Equal(staff.Roles, []string{c.newStaff}) || !slices.Equal(staff.Permissions, []string{"data.read", "data.write"}) {
				t.Errorf("staff after up: %v %v, %v", staff.Roles, staff.Permissions, err)
			}
			if err := authpg.Delete(context.Background(), tn.App, id); err != nil {
				t.Error(err)
			}
		})
	}
}

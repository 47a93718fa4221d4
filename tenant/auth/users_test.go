package auth_test

import (
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/auth"
)

func ptr[T any](v T) *T { return &v }

func TestCreateUserValidatesAndRefusesDuplicates(t *testing.T) {
	t.Parallel()
	f := newFixture(t, tenant.Restaurant)
	_, err := f.svc.CreateUser(f.ctx, f.env(f.admin), auth.NewUser{Username: "bad name!", Email: "not-an-address",
		FullName: "Line\nbreak", Password: "short", Roles: []string{"staff", "wizard"}})
	for _, field := range []string{"username", "email", "full_name", "password", "roles"} {
		wantField(t, err, field, "bad user")
	}
	if got := tenant.ErrorFields(err)["roles"]; got != "unknown role: wizard" {
		t.Errorf("roles message %q", got)
	}
	long := make([]byte, 65)
	for i := range long {
		long[i] = 'a'
	}
	_, err = f.svc.CreateUser(f.ctx, f.env(f.admin), auth.NewUser{Username: string(long), Password: strongPassword})
	wantField(t, err, "username", "65 characters")

	u, err := f.svc.CreateUser(f.ctx, f.env(f.admin), auth.NewUser{Username: "  José.Ruiz-2@bar ", Email: "jose@example.com",
		FullName: "José Ruiz", Password: strongPassword, Roles: []string{"manager", "staff", "staff"}, MustChangePassword: true})
	if err != nil {
		t.Fatal(err)
	}
	if u.Username != "José.Ruiz-2@bar" || !slices.Equal(u.Roles, []string{"manager", "staff"}) || !u.MustChangePassword || !u.Active {
		t.Errorf("created %+v", u)
	}
	_, err = f.svc.CreateUser(f.ctx, f.env(f.admin), auth.NewUser{Username: "JOSÉ.RUIZ-2@BAR", Password: strongPassword})
	wantCode(t, err, tenant.EConflict, "same username in other case")
	_, err = f.svc.CreateUser(f.ctx, f.env(f.admin), auth.NewUser{Username: "jose2", Email: "JOSE@example.com", Password: strongPassword})
	wantCode(t, err, tenant.EConflict, "same email")
	if f.auditCount(t, "user.created", "success", u.ID) != 1 {
		t.Error("creation not audited")
	}
	// The update path translates duplicates too.
	other, err := f.svc.CreateUser(f.ctx, f.env(f.admin), auth.NewUser{Username: "kim", Password: strongPassword})
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.UpdateUser(f.ctx, f.env(f.admin), other.ID, auth.UserPatch{Email: ptr("jose@example.com")})
	wantCode(t, err, tenant.EConflict, "update to a taken email")
	got, err := f.svc.UpdateUser(f.ctx, f.env(f.admin), u.ID, auth.UserPatch{Email: ptr(""), FullName: ptr(" José R. ")})
	if err != nil || got.Email != "" || got.FullName != "José R." {
		t.Errorf("clear email, rename: %+v, %v", got, err)
	}
}

func TestListUsersFiltersAndPages(t *testing.T) {
	t.Parallel()
	f := newFixture(t, tenant.Institution)
	var ids []int64
	for _, c := range []struct{ name, role string }{{"lia", "teacher"}, {"max", "teacher"}, {"ned", "prefect"}, {"ola", "academic"}, {"pia_x", "teacher"}} {
		u, err := f.svc.CreateUser(f.ctx, f.env(f.admin), auth.NewUser{Username: c.name, FullName: "Name " + c.name,
			Email: c.name + "@school.example", Password: strongPassword, Roles: []string{c.role}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, u.ID)
	}
	if _, err := f.svc.UpdateUser(f.ctx, f.env(f.admin), ids[1], auth.UserPatch{Active: ptr(false)}); err != nil {
		t.Fatal(err)
	}

	var seen []int64
	cursor := ""
	for pages := 0; ; pages++ {
		p, err := f.svc.ListUsers(f.ctx, f.env(f.admin), auth.UserFilter{Limit: 2, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Users) > 2 || pages > 5 {
			t.Fatalf("page of %d users (page %d)", len(p.Users), pages)
		}
		for _, u := range p.Users {
			seen = append(seen, u.ID)
		}
		if p.NextCursor == "" {
			break
		}
		cursor = p.NextCursor
	}
	if len(seen) != 6 || !slices.IsSorted(seen) {
		t.Errorf("pages gave %v, want the admin and 5 users in id order", seen)
	}
	names := func(fl auth.UserFilter) []string {
		t.Helper()
		p, err := f.svc.ListUsers(f.ctx, f.env(f.admin), fl)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, u := range p.Users {
			out = append(out, u.Username)
		}
		return out
	}
	for _, c := range []struct {
		f    auth.UserFilter
		want []string
	}{
		{auth.UserFilter{Role: "teacher"}, []string{"lia", "max", "pia_x"}},
		{auth.UserFilter{Role: "teacher", Active: ptr(true)}, []string{"lia", "pia_x"}},
		{auth.UserFilter{Active: ptr(false)}, []string{"max"}},
		{auth.UserFilter{Q: "NAME N"}, []string{"ned"}},
		{auth.UserFilter{Q: "ola@school"}, []string{"ola"}},
		{auth.UserFilter{Q: "_"}, []string{"pia_x"}}, // a literal, not LIKE's wildcard
		{auth.UserFilter{Locked: ptr(true)}, nil},
	} {
		if got := names(c.f); !slices.Equal(got, c.want) {
			t.Errorf("filter %+v: %v, want %v", c.f, got, c.want)
		}
	}
	for _, bad := range []auth.UserFilter{{Limit: 201}, {Limit: -1}, {Cursor: "bm9wZQ"}, {Cursor: "%%"}, {Q: "\xff"}, {Role: "a\x00"}} {
		_, err := f.svc.ListUsers(f.ctx, f.env(f.admin), bad)
		wantCode(t, err, tenant.EValidation, "bad filter")
	}
}

// Each kind's roles and their permissions, and what they allow.
func TestRolesPerKind(t *testing.T) {
	t.Parallel()
	all := []string{"audit.read", "data.read", "data.write", "roles.manage", "settings.manage", "users.manage", "users.read"}
	for _, c := range []struct {
		kind  tenant.Kind
		roles map[string][]string
	}{
		{tenant.Restaurant, map[string][]string{"owner": all, "manager": {"audit.read", "data.read", "data.write", "users.read"},
			"staff": {"data.read", "data.write"}}},
		{tenant.Institution, map[string][]string{"admin": all, "academic": {"data.read", "data.write", "users.read"},
			"teacher": {"data.read"}, "prefect": {"data.read", "data.write"}}},
	} {
		t.Run(string(c.kind), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, c.kind)
			rows, err := f.tn.App.Query(f.ctx, `SELECT r.name, coalesce(array_agg(p.code ORDER BY p.code) FILTER (WHERE p.code IS NOT NULL), '{}')
				FROM roles r LEFT JOIN role_permissions rp ON rp.role_id = r.id LEFT JOIN permissions p ON p.id = rp.permission_id GROUP BY r.name`)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string][]string{}
			for rows.Next() {
				var name string
				var perms []string
				if err := rows.Scan(&name, &perms); err != nil {
					t.Fatal(err)
				}
				got[name] = perms
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			if len(got) != len(c.roles) {
				t.Errorf("roles %v, want %v", got, c.roles)
			}
			for r, want := range c.roles {
				if !slices.Equal(got[r], want) {
					t.Errorf("role %s: %v, want %v", r, got[r], want)
				}
			}
			if !slices.Equal(f.admin.Roles, []string{auth.AdminRole(c.kind)}) {
				t.Errorf("first admin's roles %v, want %s", f.admin.Roles, auth.AdminRole(c.kind))
			}
			// Who may read and manage users.
			for role, perms := range c.roles {
				if role == auth.AdminRole(c.kind) {
					continue
				}
				u, p := f.user(t, "u-"+role, role)
				_, err := f.svc.ListUsers(f.ctx, f.env(p), auth.UserFilter{})
				if slices.Contains(perms, auth.PermUsersRead) != (err == nil) {
					t.Errorf("%s lists users: %v", role, err)
				}
				if err != nil {
					wantCode(t, err, tenant.EForbidden, role+" lists users")
				}
				if _, err := f.svc.GetUser(f.ctx, f.env(p), u.ID); err != nil {
					t.Errorf("%s reads itself: %v", role, err)
				}
				_, err = f.svc.GetUser(f.ctx, f.env(p), f.admin.UserID)
				if slices.Contains(perms, auth.PermUsersRead) != (err == nil) {
					t.Errorf("%s reads another user: %v", role, err)
				}
				_, err = f.svc.CreateUser(f.ctx, f.env(p), auth.NewUser{Username: "x-" + role, Password: strongPassword})
				wantCode(t, err, tenant.EForbidden, role+" creates a user")
				_, err = f.svc.UpdateUser(f.ctx, f.env(p), u.ID, auth.UserPatch{Roles: ptr([]string{auth.AdminRole(c.kind)})})
				wantCode(t, err, tenant.EForbidden, role+" promotes itself")
				wantCode(t, f.svc.DeleteUser(f.ctx, f.env(p), f.admin.UserID), tenant.EForbidden, role+" deletes the admin")
				_, _, err = f.svc.IssueReset(f.ctx, f.env(p), f.admin.UserID)
				wantCode(t, err, tenant.EForbidden, role+" issues a reset")
			}
		})
	}
}

func TestLastAdminRules(t *testing.T) {
	t.Parallel()
	f := newFixture(t, tenant.Restaurant)
	me := f.admin.UserID
	wantCode(t, f.svc.DeleteUser(f.ctx, f.env(f.admin), me), tenant.EConflict, "delete oneself")
	_, err := f.svc.UpdateUser(f.ctx, f.env(f.admin), me, auth.UserPatch{Active: ptr(false)})
	wantCode(t, err, tenant.EConflict, "deactivate the last admin")
	_, err = f.svc.UpdateUser(f.ctx, f.env(f.admin), me, auth.UserPatch{Roles: ptr([]string{"manager"})})
	wantCode(t, err, tenant.EConflict, "demote the last admin")
	// Keeping users.manage through another role is no demotion.
	if _, err := f.svc.UpdateUser(f.ctx, f.env(f.admin), me, auth.UserPatch{Roles: ptr([]string{"owner", "staff"})}); err != nil {
		t.Fatal(err)
	}
	// A locked-out admin's sessions were rewritten: roles follow.
	if cur, err := f.store.Get(f.ctx, f.tn.ID, f.admin.Session); err != nil || !slices.Equal(cur.Roles, []string{"owner", "staff"}) {
		t.Errorf("admin's session after a role change: %+v, %v", cur.Roles, err)
	}

	// A second admin: now one of them may go, not both.
	b, bp := f.user(t, "second", "owner")
	if _, err := f.svc.UpdateUser(f.ctx, f.env(f.admin), b.ID, auth.UserPatch{Roles: ptr([]string{"staff"})}); err != nil {
		t.Fatalf("demote one of two admins: %v", err)
	}
	if cur, err := f.store.Get(f.ctx, f.tn.ID, bp.Session); err != nil || slices.Contains(cur.Permissions, auth.PermUsersManage) {
		t.Errorf("demoted admin's session keeps users.manage: %+v, %v", cur.Permissions, err)
	}
	_, err = f.svc.UpdateUser(f.ctx, f.env(f.admin), me, auth.UserPatch{Roles: ptr([]string{"staff"})})
	wantCode(t, err, tenant.EConflict, "demote the last admin left")

	// An inactive owner is no admin: it does not save the last one.
	if _, err := f.svc.UpdateUser(f.ctx, f.env(f.admin), b.ID, auth.UserPatch{Roles: ptr([]string{"owner"}), Active: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.UpdateUser(f.ctx, f.env(f.admin), me, auth.UserPatch{Active: ptr(false)})
	wantCode(t, err, tenant.EConflict, "deactivate with only an inactive owner left")

	if err := f.svc.DeleteUser(f.ctx, f.env(f.admin), b.ID); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.GetUser(f.ctx, f.env(f.admin), b.ID)
	wantCode(t, err, tenant.ENotFound, "deleted user")
	wantCode(t, f.svc.DeleteUser(f.ctx, f.env(f.admin), b.ID), tenant.ENotFound, "delete twice")
	// The audit rows of the deleted user stay, without the id.
	var rows int
	if err := f.tn.App.QueryRow(f.ctx, `SELECT count(*) FROM audit_log WHERE actor = 'second' AND user_id IS NULL`).Scan(&rows); err != nil || rows == 0 {
		t.Errorf("audit rows of the deleted user: %d, %v", rows, err)
	}
}

// Two admins demoting (or deleting) each other at the same moment: the
// admin rows are locked, so one wins and one admin is always left.
func TestConcurrentDemotionsLeaveOneAdmin(t *testing.T) {
	t.Parallel()
	f := newFixture(t, tenant.Institution)
	b, bp := f.user(t, "other-admin", "admin")
	a, ap := f.admin.UserID, f.admin
	for round := range 8 {
		var wg sync.WaitGroup
		var errA, errB error
		if round%2 == 0 {
			wg.Go(func() {
				_, errA = f.svc.UpdateUser(f.ctx, f.env(ap), b.ID, auth.UserPatch{Roles: ptr([]string{"teacher"})})
			})
			wg.Go(func() { _, errB = f.svc.UpdateUser(f.ctx, f.env(bp), a, auth.UserPatch{Active: ptr(false)}) })
		} else {
			wg.Go(func() { errA = f.svc.DeleteUser(f.ctx, f.env(ap), b.ID) })
			wg.Go(func() { errB = f.svc.DeleteUser(f.ctx, f.env(bp), a) })
		}
		wg.Wait()
		if (errA == nil) == (errB == nil) {
			t.Fatalf("round %d: both or neither succeeded: %v / %v", round, errA, errB)
		}
		for _, err := range []error{errA, errB} {
			if err != nil {
				wantCode(t, err, tenant.EConflict, "the losing demotion")
			}
		}
		var admins int
		if err := f.tn.App.QueryRow(f.ctx, `SELECT count(*) FROM users u WHERE u.active AND EXISTS (SELECT 1 FROM user_roles ur
			JOIN role_permissions rp ON rp.role_id = ur.role_id JOIN permissions p ON p.id = rp.permission_id
			WHERE ur.user_id = u.id AND p.code = 'users.manage')`).Scan(&admins); err != nil {
			t.Fatal(err)
		}
		if admins != 1 {
			t.Fatalf("round %d: %d admins left", round, admins)
		}
		// Restore two admins for the next round (the winner promotes).
		winner, loserID := ap, b.ID
		if errA != nil {
			winner, loserID = bp, a
		}
		if round%2 == 1 {
			// The loser was deleted: make a new one.
			u, err := f.svc.CreateUser(f.ctx, f.env(winner), auth.NewUser{Username: "adm-" + itoa(int64(round)), Password: strongPassword, Roles: []string{"admin"}})
			if err != nil {
				t.Fatal(err)
			}
			p := f.principal(t, f.login(t, u.Username, strongPassword))
			if winner == ap {
				b, bp = u, p
			} else {
				a, ap = u.ID, p
			}
			continue
		}
		if _, err := f.svc.UpdateUser(f.ctx, f.env(winner), loserID, auth.UserPatch{Roles: ptr([]string{"admin"}), Active: ptr(true)}); err != nil {
			t.Fatal(err)
		}
		// The loser's sessions ended if it was deactivated; log in anew.
		name := b.Username
		if loserID == a {
			me, err := f.svc.GetUser(f.ctx, f.env(winner), a)
			if err != nil {
				t.Fatal(err)
			}
			name = me.Username
		}
		p := f.principal(t, f.login(t, name, strongPassword))
		if loserID == a {
			ap = p
		} else {
			bp = p
		}
	}
}

func TestSessionsListAndRevoke(t *testing.T) {
	t.Parallel()
	f := newFixture(t, tenant.Restaurant)
	_, staff := f.user(t, "quinn", "staff")
	second := f.login(t, "quinn", strongPassword) // two clients at once
	_, manager := f.user(t, "rita", "manager")

	all, err := f.svc.ListSessions(f.ctx, f.env(f.admin))
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 4 {
		t.Errorf("admin sees %d sessions, want 4", len(all))
	}
	own, err := f.svc.ListSessions(f.ctx, f.env(staff))
	if err != nil {
		t.Fatal(err)
	}
	current := 0
	for _, s := range own {
		if s.UserID != staff.UserID {
			t.Errorf("staff sees a session of user %d", s.UserID)
		}
		if s.Current {
			current++
			if s.ID != staff.Session {
				t.Error("the wrong session is marked current")
			}
		}
	}
	if len(own) != 2 || current != 1 {
		t.Errorf("staff sees %d sessions, %d current; want 2, 1", len(own), current)
	}
	// Others' sessions: not found for a non-admin (not even "forbidden").
	wantCode(t, f.svc.RevokeSession(f.ctx, f.env(manager), staff.Session), tenant.ENotFound, "manager revokes staff's session")
	wantCode(t, f.svc.RevokeSession(f.ctx, f.env(staff), "no-such-handle"), tenant.ENotFound, "unknown handle")
	if err := f.svc.RevokeSession(f.ctx, f.env(staff), second.Session.ID); err != nil {
		t.Fatalf("revoke own other session: %v", err)
	}
	if err := f.svc.RevokeSession(f.ctx, f.env(f.admin), manager.Session); err != nil {
		t.Fatalf("admin revokes manager's session: %v", err)
	}
	for _, h := range []string{second.Session.ID, manager.Session} {
		if _, err := f.store.Get(f.ctx, f.tn.ID, h); !errors.Is(err, auth.ErrNoSession) {
			t.Errorf("revoked session %s…: %v", h[:8], err)
		}
	}
	if _, err := f.store.Get(f.ctx, f.tn.ID, staff.Session); err != nil {
		t.Errorf("staff's current session: %v", err)
	}
}

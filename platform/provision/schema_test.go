package provision

import (
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/tenancy/platform/tenant"
)

// The tenant schemas, exercised as the request path would: through the
// tenant's login role.

func TestAuditLogIsAppendOnly(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, kind := range tenant.Kinds {
		tn := e.create(t, kind).Tenant
		app, err := e.connectApp(t, tn.Slug, tn.Database)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := app.Exec(e.ctx, `INSERT INTO audit_log (actor, action, details) VALUES ('admin', 'login', '{"ok":true}')`); err != nil {
			t.Fatalf("%s: insert: %v", kind, err)
		}
		var n int
		if err := app.QueryRow(e.ctx, `SELECT count(*) FROM audit_log`).Scan(&n); err != nil || n != 1 {
			t.Fatalf("%s: select: %d, %v", kind, n, err)
		}
		// The login role lacks the privilege; the owner (who has it) is
		// stopped by the trigger. Failing to connect as the owner fails the
		// test: it must not skip the owner's checks silently.
		checked := 0
		err = e.admin.In(e.ctx, tn.Database, tenant.OwnerRole(tn.Slug), func(owner *pgx.Conn) error {
			var who string
			if err := owner.QueryRow(e.ctx, `SELECT current_user`).Scan(&who); err != nil {
				return err
			}
			if who != tenant.OwnerRole(tn.Slug) {
				return fmt.Errorf("connected as %s, not the owner", who)
			}
			for _, q := range []string{`UPDATE audit_log SET action = 'forged'`, `DELETE FROM audit_log`, `TRUNCATE audit_log`} {
				if _, err := app.Exec(e.ctx, q); pgCode(err) != "42501" {
					t.Errorf("%s: app role %q: err = %v, want 42501", kind, q, err)
				}
				if _, err := owner.Exec(e.ctx, q); pgCode(err) != "42501" {
					t.Errorf("%s: owner %q: err = %v, want 42501", kind, q, err)
				}
				checked++
			}
			return nil
		})
		if err != nil || checked != 3 {
			t.Fatalf("%s: append-only checks as the owner: %d of 3 ran: %v", kind, checked, err)
		}
		if err := app.QueryRow(e.ctx, `SELECT count(*) FROM audit_log WHERE action = 'login'`).Scan(&n); err != nil || n != 1 {
			t.Errorf("%s: audit rows changed: %d (%v)", kind, n, err)
		}
		// Deleting a user keeps its audit rows, with user_id set to NULL.
		var uid int64
		if err := app.QueryRow(e.ctx, `INSERT INTO users (username, full_name, password_hash) VALUES ('gone', 'Gone', 'x') RETURNING id`).Scan(&uid); err != nil {
			t.Fatal(err)
		}
		if _, err := app.Exec(e.ctx, `INSERT INTO audit_log (user_id, actor, action) VALUES ($1, 'gone', 'login')`, uid); err != nil {
			t.Fatalf("%s: audit a user: %v", kind, err)
		}
		if _, err := app.Exec(e.ctx, `DELETE FROM users WHERE id = $1`, uid); err != nil {
			t.Fatalf("%s: delete audited user: %v", kind, err)
		}
		var nulls int
		if err := app.QueryRow(e.ctx, `SELECT count(*) FROM audit_log WHERE actor = 'gone' AND user_id IS NULL`).Scan(&nulls); err != nil || nulls != 1 {
			t.Errorf("%s: audit rows of a deleted user: %d with NULL user_id, want 1 (%v)", kind, nulls, err)
		}
	}
}

func TestInstitutionDeleteRules(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tn := e.create(t, tenant.Institution).Tenant
	db, err := e.connectApp(t, tn.Slug, tn.Database)
	if err != nil {
		t.Fatal(err)
	}
	exec := func(t *testing.T, q string, args ...any) {
		t.Helper()
		if _, err := db.Exec(e.ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	count := func(t *testing.T, q string) int {
		t.Helper()
		var n int
		if err := db.QueryRow(e.ctx, q).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return n
	}
	// One of everything, linked: period 1, program 1, subject 1, group 1,
	// teacher 1, user 2 (the admin is 1).
	seed := func(t *testing.T) {
		t.Helper()
		// TRUNCATE needs the owner; the login role cannot.
		err := e.admin.In(e.ctx, tn.Database, tenant.OwnerRole(tn.Slug), func(c *pgx.Conn) error {
			_, err := c.Exec(e.ctx, `TRUNCATE periods, programs, subjects, program_subjects, groups, teachers,
				schedules, teaching_loads, tutoring_sessions, prefecture_reports RESTART IDENTITY CASCADE`)
			return err
		})
		if err != nil {
			t.Fatalf("reset: %v", err)
		}
		exec(t, `DELETE FROM users WHERE username = 'clerk'`)
		exec(t, `INSERT INTO users (username, full_name, password_hash) VALUES ('clerk', 'Clerk', 'x')`)
		exec(t, `INSERT INTO periods (code, name, starts_on, ends_on) VALUES ('2026-1', 'First', '2026-03-01', '2026-07-31')`)
		exec(t, `INSERT INTO programs (code, name) VALUES ('ING', 'Engineering')`)
		exec(t, `INSERT INTO subjects (code, name, hours_per_week) VALUES ('MAT1', 'Mathematics I', 5)`)
		exec(t, `INSERT INTO program_subjects (program_id, subject_id, semester) SELECT p.id, s.id, 1 FROM programs p, subjects s`)
		exec(t, `INSERT INTO groups (program_id, code, semester, shift) SELECT id, 'A', 1, 'morning' FROM programs`)
		exec(t, `INSERT INTO teachers (employee_number, full_name) VALUES ('T-1', 'Ana Pérez')`)
		exec(t, `INSERT INTO schedules (period_id, uploaded_by, file_name, content) SELECT p.id, u.id, 'h.xlsx', '{}' FROM periods p, users u WHERE u.username = 'clerk'`)
		exec(t, `INSERT INTO teaching_loads (period_id, group_id, teacher_id, subject_id, hours, assigned_by)
			SELECT p.id, g.id, te.id, s.id, 4, u.id FROM periods p, groups g, teachers te, subjects s, users u WHERE u.username = 'clerk'`)
		exec(t, `INSERT INTO tutoring_sessions (period_id, group_id, teacher_id, held_on, topic, attendees)
			SELECT p.id, g.id, te.id, '2026-04-01', 'Study plan', 20 FROM periods p, groups g, teachers te`)
		exec(t, `INSERT INTO prefecture_reports (period_id, group_id, teacher_id, recorded_by, report_date, kind, description)
			SELECT p.id, g.id, te.id, u.id, '2026-04-02', 'teacher_late', 'ten minutes' FROM periods p, groups g, teachers te, users u WHERE u.username = 'clerk'`)
	}
	restrict := func(t *testing.T, q string) {
		t.Helper()
		if _, err := db.Exec(e.ctx, q); pgCode(err) != "23503" {
			t.Errorf("%s: err = %v, want 23503 (RESTRICT)", q, err)
		}
	}

	empty := func(t *testing.T, after string, tables ...string) {
		t.Helper()
		for _, tbl := range tables {
			if n := count(t, `SELECT count(*) FROM `+tbl); n != 0 {
				t.Errorf("%s: %d rows left after deleting the %s", tbl, n, after)
			}
		}
	}

	t.Run("periods cascade", func(t *testing.T) {
		seed(t)
		exec(t, `DELETE FROM periods`)
		empty(t, "period", "schedules", "teaching_loads", "tutoring_sessions", "prefecture_reports")
	})
	t.Run("programs restrict groups, cascade program_subjects", func(t *testing.T) {
		seed(t)
		restrict(t, `DELETE FROM programs`)
		exec(t, `DELETE FROM groups`)
		exec(t, `DELETE FROM programs`)
		empty(t, "program", "program_subjects")
	})
	t.Run("groups cascade", func(t *testing.T) {
		seed(t)
		exec(t, `DELETE FROM groups`)
		empty(t, "group", "teaching_loads", "tutoring_sessions", "prefecture_reports")
	})
	t.Run("teachers restrict loads and tutoring, set null on reports", func(t *testing.T) {
		seed(t)
		restrict(t, `DELETE FROM teachers`)
		exec(t, `DELETE FROM teaching_loads`)
		restrict(t, `DELETE FROM teachers`)
		exec(t, `DELETE FROM tutoring_sessions`)
		exec(t, `DELETE FROM teachers`)
		if n := count(t, `SELECT count(*) FROM prefecture_reports WHERE teacher_id IS NULL`); n != 1 {
			t.Errorf("prefecture_reports with NULL teacher: %d, want 1", n)
		}
	})
	t.Run("subjects restrict loads", func(t *testing.T) {
		seed(t)
		restrict(t, `DELETE FROM subjects`)
	})
	t.Run("users set null", func(t *testing.T) {
		seed(t)
		exec(t, `DELETE FROM users WHERE username = 'clerk'`)
		for _, q := range []string{
			`SELECT count(*) FROM schedules WHERE uploaded_by IS NULL`,
			`SELECT count(*) FROM teaching_loads WHERE assigned_by IS NULL`,
			`SELECT count(*) FROM prefecture_reports WHERE recorded_by IS NULL`,
		} {
			if n := count(t, q); n != 1 {
				t.Errorf("%s = %d, want 1", q, n)
			}
		}
	})
}

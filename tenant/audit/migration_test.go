package audit_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/tenancy/platform/migrations"
	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/platform/schema"
)

// 000003 goes down to the schema of 000002 and up again on a database
// with rows, which keep their data and get the default outcome.
func TestMigration3DownAndUp(t *testing.T) {
	t.Parallel()
	ctx := platformtest.Context(t)
	admin := platformtest.Admin(t)
	db := platformtest.ScratchDatabase(t, admin, "pt_audit_")
	src, err := migrations.ForKind("restaurant")
	if err != nil {
		t.Fatal(err)
	}
	target := schema.Target{Name: db, Kind: "restaurant", Conn: admin.ConnConfig(db, ""), Source: platformtest.MigrationsUpTo(src, 3)}
	if st, err := schema.Up(ctx, target); err != nil || st.Version != 3 {
		t.Fatalf("up to 3: %+v, %v", st, err)
	}
	tdb, err := pgx.ConnectConfig(ctx, admin.ConnConfig(db, ""))
	if err != nil {
		t.Fatal(err)
	}
	defer tdb.Close(context.Background())

	indexes := func() map[string]bool {
		rows, err := tdb.Query(ctx, `SELECT indexname FROM pg_indexes WHERE tablename = 'audit_log'`)
		if err != nil {
			t.Fatal(err)
		}
		names, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]bool{}
		for _, n := range names {
			m[n] = true
		}
		return m
	}
	hasOutcome := func() bool {
		var n int
		if err := tdb.QueryRow(ctx, `SELECT count(*) FROM information_schema.columns WHERE table_name = 'audit_log' AND column_name = 'outcome'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n == 1
	}
	v3 := []string{"audit_log_action_id_idx", "audit_log_entity_id_idx", "audit_log_actor_lower_id_idx", "audit_log_user_id_id_idx", "audit_log_occurred_at_id_idx"}
	v2 := []string{"audit_log_user_id_idx", "audit_log_occurred_at_idx"}
	check := func(version string, want, gone []string, outcome bool) {
		t.Helper()
		ix := indexes()
		for _, n := range want {
			if !ix[n] {
				t.Errorf("%s: index %s missing", version, n)
			}
		}
		for _, n := range gone {
			if ix[n] {
				t.Errorf("%s: index %s still there", version, n)
			}
		}
		if hasOutcome() != outcome {
			t.Errorf("%s: outcome column present = %v, want %v", version, !outcome, outcome)
		}
	}
	check("v3", v3, v2, true)
	if _, err := tdb.Exec(ctx, `INSERT INTO audit_log (action, outcome) VALUES ('a', 'denied')`); err != nil {
		t.Fatal(err)
	}

	if st, err := schema.Down(ctx, target, 1); err != nil || st.Version != 2 {
		t.Fatalf("down to 2: %+v, %v", st, err)
	}
	check("v2", v2, v3, false)
	if _, err := tdb.Exec(ctx, `INSERT INTO audit_log (action) VALUES ('b')`); err != nil {
		t.Fatal(err)
	}
	// The append-only trigger is 000001's and stays.
	if _, err := tdb.Exec(ctx, `DELETE FROM audit_log`); pgCode(err) != "42501" {
		t.Errorf("v2: delete: %v, want the append-only trigger's 42501", err)
	}

	if st, err := schema.Up(ctx, target); err != nil || st.Version != 3 {
		t.Fatalf("up again: %+v, %v", st, err)
	}
	check("v3 again", v3, v2, true)
	rows, err := tdb.Query(ctx, `SELECT action || ':' || outcome FROM audit_log ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	// The down migration drops outcome, so 'a' comes back as the default.
	if len(got) != 2 || got[0] != "a:success" || got[1] != "b:success" {
		t.Errorf("rows after down and up: %v", got)
	}
}

package importer_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tenancy/platform/migrations"
	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/platform/schema"
)

func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// TestMigration8ImportSources: 000008 over an id map with rows (they
// become the default source's, without a hash), the new key (the same
// source key in another source), the hash's length; down again keeps the
// default source's rows and deletes the labelled ones, under the old key.
func TestMigration8ImportSources(t *testing.T) {
	t.Parallel()
	ctx := platformtest.Context(t)
	admin := platformtest.Admin(t)
	db := platformtest.ScratchDatabase(t, admin, "pt_import_")
	src, err := migrations.ForKind("restaurant")
	if err != nil {
		t.Fatal(err)
	}
	target := schema.Target{Name: db, Kind: "restaurant", Conn: admin.ConnConfig(db, ""), Source: platformtest.MigrationsUpTo(src, 7)}
	if st, err := schema.Up(ctx, target); err != nil || st.Version != 7 {
		t.Fatalf("up to 7: %+v, %v", st, err)
	}
	tdb, err := pgx.ConnectConfig(ctx, admin.ConnConfig(db, ""))
	if err != nil {
		t.Fatal(err)
	}
	defer tdb.Close(context.Background())
	exec := func(q string, args ...any) error {
		_, err := tdb.Exec(ctx, q, args...)
		return err
	}
	if err := exec(`INSERT INTO import_ids (mapping, source_table, source_key, target_table, target_id)
		VALUES ('m', 'users', '1', 'users', 10), ('m', 'users', '2', 'users', 11)`); err != nil {
		t.Fatal(err)
	}
	pkey := func() string {
		var def string
		if err := tdb.QueryRow(ctx, `SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'import_ids_pkey'`).Scan(&def); err != nil {
			t.Fatal(err)
		}
		return def
	}

	target.Source = platformtest.MigrationsUpTo(src, 8)
	if st, err := schema.Up(ctx, target); err != nil || st.Version != 8 {
		t.Fatalf("up to 8: %+v, %v", st, err)
	}
	if def := pkey(); def != "PRIMARY KEY (mapping, source, source_table, source_key)" {
		t.Errorf("v8 key: %s", def)
	}
	var defaults int
	if err := tdb.QueryRow(ctx, `SELECT count(*) FROM import_ids WHERE source = '' AND row_hash IS NULL`).Scan(&defaults); err != nil || defaults != 2 {
		t.Errorf("v8: %d rows of the default source without a hash (%v), want 2", defaults, err)
	}
	hash := make([]byte, 16)
	if err := exec(`INSERT INTO import_ids (mapping, source, source_table, source_key, target_table, target_id, row_hash)
		VALUES ('m', 'branch-2', 'users', '1', 'users', 20, $1)`, hash); err != nil {
		t.Errorf("v8: the same key in another source: %v", err)
	}
	if err := exec(`INSERT INTO import_ids (mapping, source_table, source_key, target_table, target_id) VALUES ('m', 'users', '1', 'users', 30)`); pgCode(err) != "23505" {
		t.Errorf("v8: the same key in the same source: %v, want 23505", err)
	}
	if err := exec(`INSERT INTO import_ids (mapping, source, source_table, source_key, target_table, target_id, row_hash)
		VALUES ('m', 'x', 'users', '1', 'users', 31, $1)`, hash[:15]); pgCode(err) != "23514" {
		t.Errorf("v8: a 15-byte hash: %v, want 23514", err)
	}

	if st, err := schema.Down(ctx, target, 1); err != nil || st.Version != 7 {
		t.Fatalf("down to 7: %+v, %v", st, err)
	}
	if def := pkey(); def != "PRIMARY KEY (mapping, source_table, source_key)" {
		t.Errorf("v7 key: %s", def)
	}
	rows, err := tdb.Query(ctx, `SELECT target_id FROM import_ids ORDER BY target_id`)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil || len(ids) != 2 || ids[0] != 10 || ids[1] != 11 {
		t.Errorf("v7: import_ids targets %v (%v), want the default source's 10 and 11", ids, err)
	}
	if st, err := schema.Up(ctx, target); err != nil || st.Version != 8 {
		t.Fatalf("up again: %+v, %v", st, err)
	}
}

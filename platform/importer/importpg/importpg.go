// Package importpg is the importer's SQL on a tenant database: the id map
// (import_ids), locks, counts, identity reservations and COPY. PostgreSQL
// errors are translated here, never quoting a failing row (it may hold a
// password hash).
package importpg

import (
	"context"
	"errors"
	"fmt"
	"github.com/jackc/pgerrcode"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tenancy/platform/tenant"
)

func ident(name string) string { return pgx.Identifier{name}.Sanitize() }

// Ready reports whether the tenant's schema has the id map by source
// (migrations 000007 and 000008).
func Ready(ctx context.Context, tx pgx.Tx) (bool, error) {
	var n int
	err := tx.QueryRow(ctx, `SELECT count(*) FROM pg_attribute
		WHERE attrelid = to_regclass('import_ids') AND attname IN ('source', 'row_hash') AND NOT attisdropped`).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("importpg: check import_ids: %w", err)
	}
	return n == 2, nil
}

// Lock takes tables against writes until the transaction ends (the
// request path's reads go on): the duplicate check against existing rows
// and the reserved ids hold until the commit.
func Lock(ctx context.Context, tx pgx.Tx, tables []string, wait time.Duration) error {
	// A request's transaction holding a table would queue the import, and
	// every writer of the tenant behind it: wait at most wait for each.
	if _, err := tx.Exec(ctx, "SET LOCAL lock_timeout = "+strconv.FormatInt(max(wait.Milliseconds(), 1), 10)); err != nil {
		return fmt.Errorf("importpg: lock_timeout: %w", err)
	}
	for _, t := range tables {
		if _, err := tx.Exec(ctx, "LOCK TABLE "+ident(t)+" IN EXCLUSIVE MODE"); err != nil {
			var pe *pgconn.PgError
			if errors.As(err, &pe) && pe.Code == pgerrcode.LockNotAvailable {
				return tenant.Errorf(tenant.EUnavailable, "the tenant's %s table stayed busy for %s (a long transaction of the tenant's): nothing imported; try again", t, wait)
			}
			return fmt.Errorf("importpg: lock %s: %w", t, err)
		}
	}
	_, err := tx.Exec(ctx, "SET LOCAL lock_timeout = 0")
	return err
}

// ID is one row of the id map an import writes (kept small: an import
// holds one per row until its table is written).
type ID struct {
	SourceTable, SourceKey, TargetTable string
	TargetID                            int64
	RowHash                             [16]byte // the source row's hash
}

// Earlier is one row of the id map of an earlier import.
type Earlier struct {
	Source                              string // the source's label, "" for the default
	SourceTable, SourceKey, TargetTable string
	TargetID                            int64
	// RowHash is the source row's hash; nil for rows of imports before
	// migration 000008.
	RowHash    []byte
	ImportedAt time.Time
}

// IDs returns the id map of earlier imports with mapping, of every source.
func IDs(ctx context.Context, tx pgx.Tx, mapping string) ([]Earlier, error) {
	rows, err := tx.Query(ctx, `SELECT source, source_table, source_key, target_table, target_id, row_hash, imported_at
		FROM import_ids WHERE mapping = $1`, mapping)
	if err != nil {
		return nil, fmt.Errorf("importpg: read import_ids: %w", err)
	}
	ids, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Earlier, error) {
		var id Earlier
		err := r.Scan(&id.Source, &id.SourceTable, &id.SourceKey, &id.TargetTable, &id.TargetID, &id.RowHash, &id.ImportedAt)
		return id, err
	})
	if err != nil {
		return nil, fmt.Errorf("importpg: read import_ids: %w", err)
	}
	return ids, nil
}

// Gone returns the ids of table that the id map of mapping holds but the
// tenant has deleted since (an anti-join on the primary key: few rows).
func Gone(ctx context.Context, tx pgx.Tx, mapping, table string) (map[int64]bool, error) {
	rows, err := tx.Query(ctx, `SELECT i.target_id FROM import_ids i WHERE i.mapping = $1 AND i.target_table = $2
		AND NOT EXISTS (SELECT 1 FROM `+ident(table)+` t WHERE t.id = i.target_id)`, mapping, table)
	if err != nil {
		return nil, fmt.Errorf("importpg: rows of %s gone since their import: %w", table, err)
	}
	gone := map[int64]bool{}
	var id int64
	if _, err := pgx.ForEachRow(rows, []any{&id}, func() error { gone[id] = true; return nil }); err != nil {
		return nil, fmt.Errorf("importpg: rows of %s gone since their import: %w", table, err)
	}
	return gone, nil
}

// Roles returns the tenant's role ids by name.
func Roles(ctx context.Context, tx pgx.Tx) (map[string]int64, error) {
	rows, err := tx.Query(ctx, `SELECT name, id FROM roles`)
	if err != nil {
		return nil, fmt.Errorf("importpg: read roles: %w", err)
	}
	m := map[string]int64{}
	var name string
	var id int64
	_, err = pgx.ForEachRow(rows, []any{&name, &id}, func() error { m[name] = id; return nil })
	if err != nil {
		return nil, fmt.Errorf("importpg: read roles: %w", err)
	}
	return m, nil
}

// GrantRoles gives users their roles (user_roles), [user id, role id] each.
func GrantRoles(ctx context.Context, tx pgx.Tx, grants [][]any) error {
	if len(grants) == 0 {
		return nil
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"user_roles"}, []string{"user_id", "role_id"}, pgx.CopyFromRows(grants)); err != nil {
		return translate("user_roles", err)
	}
	return nil
}

// Count is table's row count.
func Count(ctx context.Context, tx pgx.Tx, table string) (int64, error) {
	var n int64
	if err := tx.QueryRow(ctx, "SELECT count(*) FROM "+ident(table)).Scan(&n); err != nil {
		return 0, fmt.Errorf("importpg: count %s: %w", table, err)
	}
	return n, nil
}

// IndexDef is the definition of the unique index (or constraint's index)
// name, "" when there is none.
func IndexDef(ctx context.Context, tx pgx.Tx, name string) (string, error) {
	var def string
	err := tx.QueryRow(ctx, `SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' AND indexname = $1`, name).Scan(&def)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("importpg: index %s: %w", name, err)
	}
	return def, nil
}

// Existing calls fn with the id and the values of cols of every row of
// table.
func Existing(ctx context.Context, tx pgx.Tx, table string, cols []string, fn func(id int64, vals []any)) error {
	q := "SELECT id"
	for _, c := range cols {
		q += ", " + ident(c)
	}
	rows, err := tx.Query(ctx, q+" FROM "+ident(table))
	if err != nil {
		return fmt.Errorf("importpg: read %s: %w", table, err)
	}
	defer rows.Close()
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return fmt.Errorf("importpg: read %s: %w", table, err)
		}
		id, _ := vals[0].(int64)
		fn(id, vals[1:])
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("importpg: read %s: %w", table, err)
	}
	return nil
}

// ReserveIDs takes n values of table's identity sequence at once and
// returns the one before the first: the import writes rows base+1 …
// base+n with COPY, which stores given values even in GENERATED ALWAYS
// columns. The table is locked (Lock), so no insert takes ids meanwhile;
// a rolled-back import leaves a gap, as any rolled-back insert does.
// setval is not undone by a rollback: a dry run puts the sequence back
// with RestoreSequence before it rolls back.
func ReserveIDs(ctx context.Context, tx pgx.Tx, table string, n int64) (base int64, before Sequence, err error) {
	if n == 0 {
		return 0, Sequence{}, nil
	}
	if n > maxReserve {
		return 0, Sequence{}, tenant.Errorf(tenant.EInvalid, "the source says its table for %s has %d rows: more than an import takes (%d)", table, n, maxReserve)
	}
	before.Table = table
	var seq string // as PostgreSQL quotes it
	err = tx.QueryRow(ctx, `SELECT pg_get_serial_sequence($1, 'id')`, table).Scan(&seq)
	if err == nil {
		err = tx.QueryRow(ctx, `SELECT last_value, is_called FROM `+seq).Scan(&before.Last, &before.Called)
	}
	if err == nil {
		err = tx.QueryRow(ctx, `SELECT setval(s, greatest(coalesce(pg_sequence_last_value(s), 0),
			(SELECT coalesce(max(id), 0) FROM `+ident(table)+`)) + $2) - $2
		FROM CAST(pg_get_serial_sequence($1, 'id') AS regclass) AS s`, table, n).Scan(&base)
	}
	if err != nil {
		return 0, Sequence{}, fmt.Errorf("importpg: reserve %d ids of %s: %w", n, table, err)
	}
	return base, before, nil
}

// Sequence is the state of a table's identity sequence.
type Sequence struct {
	Table  string
	Last   int64
	Called bool
}

// RestoreSequence puts a sequence back as ReserveIDs found it (a dry run,
// while its locks keep every insert of the table out).
func RestoreSequence(ctx context.Context, tx pgx.Tx, s Sequence) error {
	if s.Table == "" {
		return nil
	}
	_, err := tx.Exec(ctx, `SELECT setval(pg_get_serial_sequence($1, 'id'), $2, $3)`, s.Table, s.Last, s.Called)
	if err != nil {
		return fmt.Errorf("importpg: restore the id sequence of %s: %w", s.Table, err)
	}
	return nil
}

// maxReserve bounds the ids one import takes of a table: a source that
// claims more rows is broken or hostile, and the sequence would keep the
// jump for good.
const maxReserve = 1 << 31

// CopyFunc writes the rows next returns into table's cols with COPY,
// until it returns a nil row (or an error, which aborts the COPY).
func CopyFunc(ctx context.Context, tx pgx.Tx, table string, cols []string, next func() ([]any, error)) (int64, error) {
	n, err := tx.CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromFunc(next))
	if err != nil {
		return 0, translate(table, err)
	}
	return n, nil
}

// RecordIDs adds rows to the id map of mapping and source.
func RecordIDs(ctx context.Context, tx pgx.Tx, mapping, source string, ids []ID) error {
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"import_ids"}, []string{"mapping", "source", "source_table", "source_key", "target_table", "target_id", "row_hash"},
		pgx.CopyFromSlice(len(ids), func(i int) ([]any, error) {
			return []any{mapping, source, ids[i].SourceTable, ids[i].SourceKey, ids[i].TargetTable, ids[i].TargetID, ids[i].RowHash[:]}, nil
		}))
	if err != nil {
		return translate("import_ids", err)
	}
	return nil
}

// translate makes a constraint violation of a COPY one line naming the
// table and constraint; the row itself (pgconn's Detail) is left out.
func translate(table string, err error) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return fmt.Errorf("importpg: copy into %s: %w", table, err)
	}
	switch pe.Code {
	case "23505":
		return tenant.Errorf(tenant.EConflict, "%s: a row repeats a unique key (%s) of the tenant's data: nothing imported", table, pe.ConstraintName)
	case "23503":
		return tenant.Errorf(tenant.EConflict, "%s: a row refers to a missing row (%s): nothing imported", table, pe.ConstraintName)
	case "23514", "23502", "22P02", "22001", "22003", "22007", "22008":
		what := pe.ConstraintName
		if what == "" {
			what = pe.ColumnName
		}
		if what == "" {
			// pe.Message may quote the value: never shown.
			what = "of its column types"
		}
		return tenant.Errorf(tenant.EInvalid, "%s: a row breaks the tenant schema's rule %s: nothing imported", table, what)
	}
	// Only the code: pe.Message may quote a value of the row.
	return fmt.Errorf("importpg: copy into %s: SQLSTATE %s", table, pe.Code)
}

package importer

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"net/url"
	"os"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the pure-Go driver "sqlite"

	"github.com/tenancy/platform/tenant"
)

// sqliteSource reads a SQLite file, read-only (the legacy app's file is
// never changed, and a missing path is never created).
type sqliteSource struct {
	db   *sql.DB
	path string
}

func openSQLite(ctx context.Context, u *url.URL) (Source, error) {
	path, err := filePath(u)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, tenant.Errorf(tenant.EInvalid, "--from sqlite://%s: no such file", path)
	case err != nil:
		return nil, tenant.Errorf(tenant.EUnavailable, "--from sqlite://%s: %v", path, errors.Unwrap(err))
	case st.IsDir():
		return nil, tenant.Errorf(tenant.EInvalid, "--from sqlite://%s: is a directory, not a SQLite file", path)
	}
	dsn := (&url.URL{Scheme: "file", Path: path, RawQuery: "mode=ro&_pragma=busy_timeout(5000)"}).String()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, tenant.Errorf(tenant.EUnavailable, "--from sqlite://%s: %v", path, err)
	}
	db.SetMaxOpenConns(1)
	s := &sqliteSource{db: db, path: path}
	// Reading the schema proves it is a SQLite file.
	if _, err := s.Tables(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

func (s *sqliteSource) Describe() string { return "sqlite://" + s.path }
func (s *sqliteSource) Close() error     { return s.db.Close() }

func (s *sqliteSource) fail(ctx context.Context, what string, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	msg := err.Error()
	if strings.Contains(msg, "file is not a database") || strings.Contains(msg, "(26)") {
		return tenant.Errorf(tenant.EInvalid, "--from %s: not a SQLite database", s.Describe())
	}
	return tenant.Errorf(tenant.EUnavailable, "%s: %s: %s", s.Describe(), what, firstLine(msg))
}

func (s *sqliteSource) Tables(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\' ORDER BY name`)
	if err != nil {
		return nil, s.fail(ctx, "list tables", err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, s.fail(ctx, "list tables", err)
		}
		names = append(names, n)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(ctx, "list tables", err)
	}
	return names, nil
}

func sqliteIdent(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }

func (s *sqliteSource) Columns(ctx context.Context, table string) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name FROM pragma_table_info(?) ORDER BY cid`, table)
	if err != nil {
		return nil, s.fail(ctx, "columns of "+table, err)
	}
	defer rows.Close()
	var cols []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, s.fail(ctx, "columns of "+table, err)
		}
		cols = append(cols, n)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(ctx, "columns of "+table, err)
	}
	if len(cols) == 0 {
		return nil, tenant.Errorf(tenant.ENotFound, "%s: no table %q", s.Describe(), table)
	}
	return cols, nil
}

func (s *sqliteSource) Count(ctx context.Context, table string) (int64, error) {
	var n int64
	if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM "+sqliteIdent(table)).Scan(&n); err != nil {
		return 0, s.fail(ctx, "count "+table, err)
	}
	return n, nil
}

func (s *sqliteSource) Rows(ctx context.Context, table string, columns []string, fn func(row []any) error) error {
	quoted := make([]string, len(columns))
	for i, c := range columns {
		quoted[i] = sqliteIdent(c)
	}
	rows, err := s.db.QueryContext(ctx, "SELECT "+strings.Join(quoted, ", ")+" FROM "+sqliteIdent(table)+" ORDER BY rowid")
	if err != nil {
		// A WITHOUT ROWID table: in its key's order.
		rows, err = s.db.QueryContext(ctx, "SELECT "+strings.Join(quoted, ", ")+" FROM "+sqliteIdent(table))
		if err != nil {
			return s.fail(ctx, "read "+table, err)
		}
	}
	defer rows.Close()
	vals := make([]any, len(columns))
	ptrs := make([]any, len(columns))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return s.fail(ctx, "read "+table, err)
		}
		row := make([]any, len(vals))
		for i, v := range vals {
			row[i] = sqliteValue(v)
		}
		if err := fn(row); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return s.fail(ctx, "read "+table, err)
	}
	return nil
}

// sqliteValue normalises a driver value to the Source contract: the
// driver parses DATETIME columns into time.Time (naive text as UTC,
// which is the contract's "wall clock as stored").
func sqliteValue(v any) any {
	switch x := v.(type) {
	case []byte:
		return append([]byte(nil), x...)
	case time.Time:
		return x.UTC()
	case int:
		return int64(x)
	case int32:
		return int64(x)
	case float32:
		return float64(x)
	}
	return v
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

package importer

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"strings"

	"modernc.org/sqlite" // the pure-Go driver "sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/tenancy/platform/tenant"
)

// sqliteSource reads a SQLite file, read-only (the legacy app's file is
// never changed, and a missing path is never created).
type sqliteSource struct {
	db   *sql.DB
	desc string // Describe: sqlite://PATH, or the name it was opened as
	log  *slog.Logger
}

func openSQLite(ctx context.Context, u *url.URL, name string, log *slog.Logger) (Source, error) {
	path, err := filePath(u)
	if err != nil {
		return nil, err
	}
	desc := "sqlite://" + path
	if name != "" {
		desc = name
	}
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, tenant.Errorf(tenant.EInvalid, "--from %s: no such file", desc)
	case errors.Is(err, fs.ErrPermission):
		return nil, tenant.Errorf(tenant.EInvalid, "--from %s: permission denied", desc)
	case err != nil:
		logCause(log, desc, "stat", err, "")
		return nil, tenant.Errorf(tenant.EUnavailable, "--from %s: cannot read the file", desc)
	case st.IsDir():
		return nil, tenant.Errorf(tenant.EInvalid, "--from %s: is a directory, not a SQLite file", desc)
	}
	dsn := (&url.URL{Scheme: "file", Path: path, RawQuery: "mode=ro&_pragma=busy_timeout(5000)"}).String()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		logCause(log, desc, "open", err, "")
		return nil, tenant.Errorf(tenant.EUnavailable, "--from %s: cannot open the file", desc)
	}
	db.SetMaxOpenConns(1)
	s := &sqliteSource{db: db, desc: desc, log: log}
	// Reading the schema proves it is a SQLite file.
	if _, err := s.Tables(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

func (s *sqliteSource) Describe() string { return s.desc }
func (s *sqliteSource) Close() error     { return s.db.Close() }

// fail is the fixed line of a failure to read (what: "read usuarios"),
// by SQLite's result code; the driver's message goes to the log only.
func (s *sqliteSource) fail(ctx context.Context, what string, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	logCause(s.log, s.Describe(), what, err, "")
	code := -1
	var se *sqlite.Error
	if errors.As(err, &se) {
		code = se.Code() & 0xff // the primary code of an extended one
	}
	switch code {
	case sqlite3.SQLITE_NOTADB:
		return tenant.Errorf(tenant.EInvalid, "--from %s: not a SQLite database", s.Describe())
	case sqlite3.SQLITE_CORRUPT:
		return tenant.Errorf(tenant.EInvalid, "%s: %s: the file is damaged (a corrupt SQLite database)", s.Describe(), what)
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return tenant.Errorf(tenant.EUnavailable, "%s: %s: the file is locked by another program", s.Describe(), what)
	case sqlite3.SQLITE_PERM, sqlite3.SQLITE_AUTH, sqlite3.SQLITE_CANTOPEN:
		return tenant.Errorf(tenant.EUnavailable, "%s: %s: cannot open the file", s.Describe(), what)
	case sqlite3.SQLITE_NOMEM, sqlite3.SQLITE_TOOBIG:
		return tenant.Errorf(tenant.EUnavailable, "%s: %s: out of memory", s.Describe(), what)
	case sqlite3.SQLITE_IOERR:
		return tenant.Errorf(tenant.EUnavailable, "%s: %s: an I/O error reading the file", s.Describe(), what)
	}
	return tenant.Errorf(tenant.EUnavailable, "%s: %s: the read failed", s.Describe(), what)
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

// columns is a table's columns and their declared types (upper case).
func (s *sqliteSource) columns(ctx context.Context, table string) ([]string, map[string]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name, upper(type) FROM pragma_table_info(?) ORDER BY cid`, table)
	if err != nil {
		return nil, nil, s.fail(ctx, "columns of "+table, err)
	}
	defer rows.Close()
	var cols []string
	types := map[string]string{}
	for rows.Next() {
		var n, t string
		if err := rows.Scan(&n, &t); err != nil {
			return nil, nil, s.fail(ctx, "columns of "+table, err)
		}
		cols = append(cols, n)
		types[n] = t
	}
	if err := rows.Err(); err != nil {
		return nil, nil, s.fail(ctx, "columns of "+table, err)
	}
	if len(cols) == 0 {
		return nil, nil, tenant.Errorf(tenant.ENotFound, "%s: no table %q", s.Describe(), table)
	}
	return cols, types, nil
}

func (s *sqliteSource) Columns(ctx context.Context, table string) ([]string, error) {
	cols, _, err := s.columns(ctx, table)
	return cols, err
}

func (s *sqliteSource) Count(ctx context.Context, table string) (int64, error) {
	var n int64
	if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM "+sqliteIdent(table)).Scan(&n); err != nil {
		return 0, s.fail(ctx, "count "+table, err)
	}
	return n, nil
}

// Rows reads the table in rowid order. Each value is selected through a
// CASE expression, which does two things: a value over maxValueBytes is
// never loaded (octet_length reads its size only) and the last column
// names the first such column; and an expression has no declared type,
// so the driver returns what the file stores instead of parsing
// DATETIME text into a time.Time that forgets whether it had a zone.
// sqliteValue parses such text here, keeping naive and zoned apart.
func (s *sqliteSource) Rows(ctx context.Context, table string, columns []string, fn func(row []any) error) error {
	_, types, err := s.columns(ctx, table)
	if err != nil {
		return err
	}
	exprs := make([]string, len(columns), len(columns)+1)
	big := make([]string, len(columns))
	for i, c := range columns {
		q := sqliteIdent(c)
		exprs[i] = fmt.Sprintf("CASE WHEN octet_length(%s) > %d THEN NULL ELSE %s END", q, maxValueBytes, q)
		big[i] = fmt.Sprintf("WHEN octet_length(%s) > %d THEN %d", q, maxValueBytes, i+1)
	}
	exprs = append(exprs, "CASE "+strings.Join(big, " ")+" ELSE 0 END")
	sel := "SELECT " + strings.Join(exprs, ", ") + " FROM " + sqliteIdent(table)
	rows, err := s.db.QueryContext(ctx, sel+" ORDER BY rowid")
	if err != nil {
		// A WITHOUT ROWID table: in its key's order.
		rows, err = s.db.QueryContext(ctx, sel)
		if err != nil {
			return s.fail(ctx, "read "+table, err)
		}
	}
	defer rows.Close()
	vals := make([]any, len(columns))
	var tooLarge int64
	ptrs := make([]any, len(columns)+1)
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	ptrs[len(columns)] = &tooLarge
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return s.fail(ctx, "read "+table, err)
		}
		if tooLarge > 0 {
			return tooBig(s.Describe(), table, columns[tooLarge-1])
		}
		row := make([]any, len(vals))
		for i, v := range vals {
			row[i] = sqliteValue(types[columns[i]], v)
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

// sqliteValue normalises a stored value to the Source contract. Text in a
// column declared DATE, DATETIME or TIMESTAMP (the types the driver would
// parse) is a Naive, or a time.Time when it has a zone; text that is no
// date stays text, and an integer stays an integer (Unix seconds to the
// datetime transform): SQLite stores whatever the app wrote.
func sqliteValue(declared string, v any) any {
	switch x := v.(type) {
	case []byte:
		return append([]byte(nil), x...)
	case string:
		if declared == "DATE" || declared == "DATETIME" || declared == "TIMESTAMP" {
			if t, ok := parseTime(x); ok {
				return t
			}
		}
	case int:
		return int64(x)
	case int32:
		return int64(x)
	case float32:
		return float64(x)
	}
	return v
}

// Package importer moves a legacy single-tenant application's data into a
// tenant: a Source reads the old database (SQLite, MySQL/MariaDB or a
// directory of CSV files), a Mapping says which table and column becomes
// what, and Service.Import writes the rows in one transaction through the
// API's own field rules, with a report of what was read, written and
// skipped. SQL on the tenant database lives in importer/importpg.
package importer

import (
	"context"
	"net/url"
	"regexp"
	"strings"

	"github.com/tenancy/platform/tenant"
)

// Source reads one legacy database: SQLite file, MySQL/MariaDB, or a
// directory of CSV files (one <table>.csv each, header row = columns).
type Source interface {
	// Tables lists the source's tables as it spells them.
	Tables(ctx context.Context) ([]string, error)
	// Columns lists a table's columns in order.
	Columns(ctx context.Context, table string) ([]string, error)
	// Count is the table's row count (the report's source side).
	Count(ctx context.Context, table string) (int64, error)
	// Rows streams the table's rows, values in the order of columns:
	// nil, int64, float64, string, []byte, bool or time.Time (a SQL
	// DATETIME/TIMESTAMP without zone comes as time.Time in UTC with the
	// wall clock as stored: the mapping's timezone gives it its zone).
	Rows(ctx context.Context, table string, columns []string, fn func(row []any) error) error
	// Describe is the source for messages and the report, credentials removed.
	Describe() string
	Close() error
}

// Open opens --from: sqlite:///abs/path.db, mysql://user:pass@host[:port]/db,
// csv:///abs/dir. Errors are tenant.EInvalid / EUnavailable with ONE clear
// line and never contain the password.
func Open(ctx context.Context, rawURL string) (Source, error) {
	scheme, _, ok := strings.Cut(rawURL, "://")
	if !ok || scheme == "" {
		return nil, tenant.Errorf(tenant.EInvalid, "--from must be sqlite:///path.db, mysql://user:pass@host/db or csv:///dir, not %q", redactURL(rawURL))
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, tenant.Errorf(tenant.EInvalid, "--from %s: not a valid URL", redactURL(rawURL))
	}
	switch strings.ToLower(u.Scheme) {
	case "sqlite":
		return openSQLite(ctx, u)
	case "csv":
		return openCSV(u)
	case "mysql":
		return openMySQL(ctx, u)
	}
	return nil, tenant.Errorf(tenant.EInvalid, "--from: unknown source type %q (sqlite, mysql or csv)", u.Scheme)
}

// filePath is the absolute path of a sqlite:/// or csv:/// URL.
func filePath(u *url.URL) (string, error) {
	if u.Host != "" || u.User != nil || !strings.HasPrefix(u.Path, "/") {
		return "", tenant.Errorf(tenant.EInvalid, "--from %s:///ABSOLUTE/PATH: the path must be absolute (three slashes)", u.Scheme)
	}
	return u.Path, nil
}

// redactURL is a URL for messages with no credentials: whatever lies
// between the scheme's separator ("://", or ":/" or ":" mistyped) and
// the last "@" is dropped before any parsing, since a password with an
// unescaped "#", "?" or "/" makes url.Parse see a different user, host
// or fragment.
func redactURL(raw string) string {
	if j := strings.LastIndex(raw, "@"); j >= 0 {
		i := strings.Index(raw, ":")
		if i < 0 || i > j {
			return "…" + raw[j:]
		}
		sep := i + 1
		for sep < j && sep < i+3 && raw[sep] == '/' {
			sep++
		}
		return raw[:sep] + "…" + raw[j:]
	}
	if u, err := url.Parse(raw); err == nil {
		return u.Redacted()
	}
	return raw
}

// schemeOf is the scheme of a source URL if it is a well-formed one, for
// messages ("" otherwise: a mistyped URL may hold a password anywhere).
func schemeOf(raw string) string {
	scheme, _, ok := strings.Cut(raw, "://")
	if !ok || !validScheme.MatchString(scheme) {
		return ""
	}
	return strings.ToLower(scheme)
}

var validScheme = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]{0,15}$`)

// lookupName finds name among names: exactly, else case-insensitively
// (MySQL and SQLite names are case-insensitive; CSV headers vary).
func lookupName(names []string, name string) (string, bool) {
	for _, n := range names {
		if n == name {
			return n, true
		}
	}
	for _, n := range names {
		if strings.EqualFold(n, name) {
			return n, true
		}
	}
	return "", false
}

// Package importer moves a legacy single-tenant application's data into a
// tenant: a Source reads the old database (SQLite, MySQL/MariaDB or a
// directory of CSV files), a Mapping says which table and column becomes
// what, and Service.Import writes the rows in one transaction through the
// API's own field rules, with a report of what was read, written and
// skipped. SQL on the tenant database lives in importer/importpg.
package importer

import (
	"context"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
	"time"

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
	// nil, int64, float64, string, []byte, bool, time.Time (an instant: a
	// MySQL TIMESTAMP, a SQLite text with a zone), Naive (a date and time
	// without zone, as a DATETIME holds it: the mapping's timezone makes it
	// an instant) or BadValue (a value its column's type cannot hold: the
	// row is skipped). A value over maxValueBytes is an error naming the
	// table and column.
	Rows(ctx context.Context, table string, columns []string, fn func(row []any) error) error
	// Describe is the source for messages and the report, credentials removed.
	Describe() string
	Close() error
}

// Naive is a date and time without a zone: the time.Time's wall clock, in
// UTC, is the one stored. It is a type of its own so that nothing takes it
// for an instant, nor an instant for it (toTime zones a Naive only).
type Naive time.Time

// BadValue stands for a source value its column's type cannot hold (a
// MySQL '2024-00-15' date, a BIGINT UNSIGNED beyond int64): the import
// skips the row with Reason, which names the column, never the value.
type BadValue struct {
	Column  string // the source's column
	Problem string // what is wrong, e.g. "not a valid date"
}

// Reason is the skip reason of the row holding b.
func (b BadValue) Reason() string { return "invalid " + b.Column + ": " + b.Problem }

// maxValueBytes is the most a single source value may hold. Every target
// field is far smaller (text up to 10 000 characters, JSON up to 1 MiB),
// so only a broken or hostile source sends more; refusing it bounds what
// an import holds in memory.
const maxValueBytes = 2 << 20

// tooBig is the error of a value over maxValueBytes (never the value).
func tooBig(source, table, column string) error {
	return tenant.Errorf(tenant.EInvalid, "%s: table %q column %q holds a value over %d MiB (the most a source value may be): nothing imported",
		source, table, column, maxValueBytes>>20)
}

// Open opens --from: sqlite:///abs/path.db, mysql://user:pass@host[:port]/db,
// csv:///abs/dir. Errors are tenant.EInvalid / EUnavailable with ONE clear,
// fixed line and never contain the password nor a driver's message; the
// cause of a failure goes to log (nil: none).
func Open(ctx context.Context, rawURL string, log *slog.Logger) (Source, error) {
	return openAs(ctx, rawURL, "", log)
}

// openAs is Open of a source that messages and the report call name ("":
// its URL): an upload's temporary file means nothing to its operator.
func openAs(ctx context.Context, rawURL, name string, log *slog.Logger) (Source, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
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
		return openSQLite(ctx, u, name, log)
	case "csv":
		return openCSV(u, log)
	case "mysql":
		return openMySQL(ctx, u, log)
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

// logCause logs why a source operation failed, for the operator who gets
// the fixed line; secret (a password) is blanked out of the text.
func logCause(log *slog.Logger, source, what string, err error, secret string) {
	if log == nil {
		return
	}
	msg := err.Error()
	if secret != "" {
		msg = strings.ReplaceAll(msg, secret, "***")
	}
	log.Warn("import source failed", "source", source, "what", what, "cause", msg)
}

// zonedLayouts and naiveLayouts are the ways legacy databases write a
// date and time with a zone and without one. Go's time.Time.String() is
// among the zoned: it is what a Go program writing through the SQLite
// driver leaves.
var (
	zonedLayouts = []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999 -0700 MST", "2006-01-02 15:04Z07:00", "2006-01-02T15:04Z07:00"}
	naiveLayouts = []string{"2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999", "2006-01-02 15:04", "2006-01-02T15:04", "2006-01-02"}
)

// parseTime reads a date and time text: an instant (time.Time) when it has
// a zone, else a Naive; ok false when it is neither.
func parseTime(s string) (any, bool) {
	s = strings.TrimSpace(s)
	if i := strings.Index(s, " m="); i > 0 { // time.Time.String()'s monotonic clock
		s = s[:i]
	}
	// Past the date, a zone shows as Z, + or - (time.Parse of a wrong
	// layout costs, and most legacy text is naive).
	if len(s) > 10 && strings.ContainsAny(s[10:], "Z+-") {
		for _, l := range zonedLayouts {
			if t, err := time.Parse(l, s); err == nil {
				return t, true
			}
		}
		return nil, false
	}
	for _, l := range naiveLayouts {
		if t, err := time.ParseInLocation(l, s, time.UTC); err == nil {
			return Naive(t), true
		}
	}
	return nil, false
}

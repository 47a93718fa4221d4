package importer

// The MySQL/MariaDB source (--from mysql://user:pass@host[:port]/db).
//
// Dates: the driver runs with parseTime=false and this file converts
// DATETIME and DATE text itself into a time.Time in UTC holding the wall
// clock as stored (naive: the mapping's timezone gives it its zone).
// parseTime=true would do the same with loc=UTC, but it turns the zero
// dates PHP-era schemas are full of ('0000-00-00 00:00:00', meaning
// "never") into year 1 silently; here they become NULL, and any other
// unparsable date is an error naming its column.
//
// A TIMESTAMP is not naive: MySQL stores the instant and shows it in the
// session's time zone, which is the server's unless set. The session here
// runs in UTC, and a TIMESTAMP comes as the RFC 3339 text of that instant
// ("2024-03-01T16:20:30Z", the Source contract's aware value), so it
// lands right whatever the server's and the mapping's zones.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/tenancy/platform/tenant"
)

// mysqlConnectTimeout bounds connecting and the server's greeting: a
// wrong address, or a port where something that is not MySQL listens
// and says nothing, fails in seconds with one line instead of the OS's
// minutes or forever.
const mysqlConnectTimeout = 10 * time.Second

type mysqlSource struct {
	db   *sql.DB
	name string // host:port/db, for messages
	desc string // mysql://user@host:port/db
}

// openMySQL opens and pings a MySQL/MariaDB database. Its errors are one
// line naming host:port/db, never the password.
func openMySQL(ctx context.Context, u *url.URL) (Source, error) {
	return mysqlOpenTimeout(ctx, u, mysqlConnectTimeout)
}

func mysqlOpenTimeout(ctx context.Context, u *url.URL, timeout time.Duration) (Source, error) {
	cfg, err := mysqlConfig(u)
	if err != nil {
		return nil, err
	}
	cfg.Timeout = timeout
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, tenant.Errorf(tenant.EInvalid, "mysql source %s/%s: bad settings", cfg.Addr, cfg.DBName)
	}
	s := &mysqlSource{
		db:   sql.OpenDB(conn),
		name: cfg.Addr + "/" + cfg.DBName,
		desc: "mysql://" + url.PathEscape(cfg.User) + "@" + cfg.Addr + "/" + url.PathEscape(cfg.DBName),
	}
	// A source is read by one import at a time: a few connections suffice
	// (Rows holds one while the others answer Count and Columns).
	s.db.SetMaxOpenConns(4)
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := s.db.PingContext(pctx); err != nil {
		_ = s.db.Close()
		if ctx.Err() != nil { // the caller's cancel, not our timeout
			return nil, ctx.Err()
		}
		return nil, s.connErr(err, cfg.Passwd)
	}
	return s, nil
}

// mysqlConfig validates the URL and builds the driver's configuration.
func mysqlConfig(u *url.URL) (*mysql.Config, error) {
	bad := func(format string, args ...any) error {
		return tenant.Errorf(tenant.EInvalid, "mysql source URL: "+format+" (want mysql://user:pass@host[:port]/db)", args...)
	}
	if u.Opaque != "" || u.Host == "" || u.Hostname() == "" {
		return nil, bad("no host")
	}
	if u.User == nil || u.User.Username() == "" {
		return nil, bad("no user")
	}
	db := strings.TrimPrefix(u.Path, "/")
	if db == "" || strings.Contains(db, "/") {
		return nil, bad("the path must be one database name")
	}
	if u.Fragment != "" {
		return nil, bad("unexpected #fragment")
	}
	port := u.Port()
	if port == "" {
		port = "3306"
	} else if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return nil, bad("bad port %q", port)
	}
	cfg := mysql.NewConfig()
	cfg.User = u.User.Username()
	cfg.Passwd, _ = u.User.Password()
	cfg.Net = "tcp"
	cfg.Addr = net.JoinHostPort(u.Hostname(), port)
	cfg.DBName = db
	cfg.ParseTime = false
	cfg.Loc = time.UTC
	cfg.Collation = "utf8mb4_general_ci"
	// TIMESTAMPs as UTC instants (see the top of the file); an offset needs
	// no time zone tables on the server.
	cfg.Params = map[string]string{"time_zone": "'+00:00'"}
	// The driver logs some connection trouble on its own besides returning
	// it; the caller gets the error, one line, and the log stays clean.
	cfg.Logger = log.New(io.Discard, "", 0)
	for k, vs := range u.Query() {
		switch k {
		case "tls":
			// true, false, skip-verify, preferred: the driver's own values.
			v := vs[len(vs)-1]
			if v != "true" && v != "false" && v != "skip-verify" && v != "preferred" {
				return nil, bad("tls=%q: want true, false, skip-verify or preferred", v)
			}
			cfg.TLSConfig = v
		default:
			return nil, bad("unknown parameter %q", k)
		}
	}
	return cfg, nil
}

func (s *mysqlSource) Describe() string { return s.desc }

func (s *mysqlSource) Close() error { return s.db.Close() }

// connErr turns a connection failure into one line without the password:
// the caller's mistakes (credentials, database name) are EInvalid, a
// server that cannot be reached EUnavailable.
func (s *mysqlSource) connErr(err error, password string) error {
	var me *mysql.MySQLError
	switch {
	case errors.As(err, &me) && (me.Number == 1045 || me.Number == 1044 || me.Number == 1698):
		return tenant.Errorf(tenant.EInvalid, "mysql source %s: access denied (check the user and password)", s.name)
	case errors.As(err, &me) && me.Number == 1049:
		return tenant.Errorf(tenant.EInvalid, "mysql source %s: no such database", s.name)
	case errors.Is(err, syscall.ECONNREFUSED):
		return tenant.Errorf(tenant.EUnavailable, "mysql source %s: connection refused", s.name)
	case errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded):
		return tenant.Errorf(tenant.EUnavailable, "mysql source %s: connection timed out", s.name)
	case errors.Is(err, context.Canceled):
		return err
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return tenant.Errorf(tenant.EUnavailable, "mysql source %s: unknown host", s.name)
	}
	msg := err.Error()
	if password != "" {
		msg = strings.ReplaceAll(msg, password, "***")
	}
	msg = strings.ReplaceAll(msg, "\n", " ")
	return tenant.Errorf(tenant.EUnavailable, "mysql source %s: %s", s.name, msg)
}

// mysqlQuote quotes an identifier with backticks, doubling any inside.
func mysqlQuote(name string) string {
	return "`" + strings.ReplaceAll(name, "`", "``") + "`"
}

func (s *mysqlSource) queryErr(table string, err error) error {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case 1146: // no such table
			return tenant.Errorf(tenant.ENotFound, "mysql source %s: no table %q", s.name, table)
		case 1054: // unknown column
			return tenant.Errorf(tenant.EInvalid, "mysql source %s: table %q: %s", s.name, table, me.Message)
		}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("mysql source %s: table %q: %w", s.name, table, err)
}

// Tables lists the base tables (not views) of the URL's database, in
// byte order (the server's collation would order them its own way).
func (s *mysqlSource) Tables(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx,
		`SELECT table_name FROM information_schema.tables
		 WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE'`)
	if err != nil {
		return nil, fmt.Errorf("mysql source %s: list tables: %w", s.name, err)
	}
	names, err := mysqlStrings(rows)
	if err != nil {
		return nil, fmt.Errorf("mysql source %s: list tables: %w", s.name, err)
	}
	sort.Strings(names)
	return names, nil
}

// Columns lists a table's columns in their order. The name is matched
// exactly (information_schema compares case-insensitively, the server's
// tables on Linux are case-sensitive).
func (s *mysqlSource) Columns(ctx context.Context, table string) ([]string, error) {
	rows, err := s.db.QueryContext(ctx,
		`SELECT column_name FROM information_schema.columns
		 WHERE table_schema = DATABASE() AND BINARY table_name = BINARY ?
		 ORDER BY ordinal_position`, table)
	if err != nil {
		return nil, fmt.Errorf("mysql source %s: columns of %q: %w", s.name, table, err)
	}
	cols, err := mysqlStrings(rows)
	if err != nil {
		return nil, err
	}
	if len(cols) == 0 {
		return nil, tenant.Errorf(tenant.ENotFound, "mysql source %s: no table %q", s.name, table)
	}
	return cols, nil
}

func mysqlStrings(rows *sql.Rows) ([]string, error) {
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func (s *mysqlSource) Count(ctx context.Context, table string) (int64, error) {
	var n int64
	if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+mysqlQuote(table)).Scan(&n); err != nil {
		return 0, s.queryErr(table, err)
	}
	return n, nil
}

// Rows streams the table (the driver reads rows off the wire as fn takes
// them: a million rows are never all in memory). Values by column type:
// integers (TINYINT(1) included) and BIT int64, FLOAT/DOUBLE float64,
// DECIMAL and TIME string, DATE/DATETIME time.Time in UTC (zero dates
// nil), TIMESTAMP RFC 3339 text in UTC, BLOB/BINARY []byte, text string.
func (s *mysqlSource) Rows(ctx context.Context, table string, columns []string, fn func(row []any) error) error {
	if len(columns) == 0 {
		return tenant.Errorf(tenant.EInvalid, "mysql source %s: table %q: no columns asked for", s.name, table)
	}
	q := make([]string, len(columns))
	for i, c := range columns {
		q[i] = mysqlQuote(c)
	}
	rows, err := s.db.QueryContext(ctx, "SELECT "+strings.Join(q, ", ")+" FROM "+mysqlQuote(table))
	if err != nil {
		return s.queryErr(table, err)
	}
	defer rows.Close()
	types, err := rows.ColumnTypes()
	if err != nil {
		return s.queryErr(table, err)
	}
	kinds := make([]string, len(types))
	for i, t := range types {
		kinds[i] = strings.TrimPrefix(t.DatabaseTypeName(), "UNSIGNED ")
	}
	raw := make([]sql.RawBytes, len(columns))
	dest := make([]any, len(columns))
	for i := range raw {
		dest[i] = &raw[i]
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return s.queryErr(table, err)
		}
		// A fresh slice each row: fn may keep it (the engine batches rows).
		row := make([]any, len(columns))
		for i, b := range raw {
			v, err := mysqlValue(kinds[i], b)
			if err != nil {
				return tenant.Errorf(tenant.EInvalid, "mysql source %s: table %q column %q: %v", s.name, table, columns[i], err)
			}
			row[i] = v
		}
		if err := fn(row); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return s.queryErr(table, err)
	}
	return nil
}

// mysqlValue converts one text-protocol value of the given column type.
func mysqlValue(kind string, b sql.RawBytes) (any, error) {
	if b == nil {
		return nil, nil
	}
	switch kind {
	case "TINYINT", "SMALLINT", "MEDIUMINT", "INT", "INTEGER", "BIGINT", "YEAR":
		n, err := strconv.ParseInt(string(b), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s %q out of range", kind, b)
		}
		return n, nil
	case "FLOAT", "DOUBLE", "REAL":
		f, err := strconv.ParseFloat(string(b), 64)
		if err != nil {
			return nil, fmt.Errorf("bad %s %q", kind, b)
		}
		return f, nil
	case "BIT":
		// BIT(1) is many schemas' boolean; up to 64 bits, big-endian.
		if len(b) > 8 {
			return nil, fmt.Errorf("BIT wider than 64")
		}
		var n uint64
		for _, c := range b {
			n = n<<8 | uint64(c)
		}
		return int64(n), nil
	case "DATE", "DATETIME":
		return mysqlTime(string(b))
	case "TIMESTAMP":
		t, err := mysqlTime(string(b))
		if t == nil || err != nil {
			return t, err
		}
		return t.(time.Time).Format(time.RFC3339Nano), nil
	case "BLOB", "TINYBLOB", "MEDIUMBLOB", "LONGBLOB", "BINARY", "VARBINARY", "GEOMETRY":
		return []byte(string(b)), nil
	default:
		// CHAR, VARCHAR, the TEXTs, ENUM, SET, JSON, DECIMAL (exact, as
		// written), TIME (may exceed 24 h or be negative in MySQL).
		return string(b), nil
	}
}

// mysqlTime parses DATE and DATETIME text as a UTC wall clock; the zero
// date ("never" in legacy schemas) is NULL.
func mysqlTime(s string) (any, error) {
	if strings.HasPrefix(s, "0000-00-00") && strings.Trim(s, "0-: .") == "" {
		return nil, nil
	}
	layout := "2006-01-02"
	if len(s) > len(layout) {
		layout = "2006-01-02 15:04:05.999999"
	}
	t, err := time.ParseInLocation(layout, s, time.UTC)
	if err != nil {
		return nil, fmt.Errorf("bad date %q", s)
	}
	return t, nil
}

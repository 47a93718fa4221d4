package importer

// The MySQL/MariaDB source (--from mysql://user:pass@host[:port]/db).
//
// Dates: the driver runs with parseTime=false and this file converts
// DATETIME and DATE text itself into a Naive holding the wall clock as
// stored (the mapping's timezone gives it its zone). parseTime=true would
// give a time.Time, which the engine takes for an instant, and it turns
// the zero dates PHP-era schemas are full of ('0000-00-00 00:00:00',
// meaning "never") into year 1 silently; here they become NULL, and a
// partly zero or otherwise impossible date ('2024-00-15') is a BadValue:
// its row is skipped, naming the column.
//
// A TIMESTAMP is not naive: MySQL stores the instant and shows it in the
// session's time zone, which is the server's unless set. The session here
// runs in UTC, and a TIMESTAMP comes as a time.Time of that instant (the
// Source contract's aware value), so it lands right whatever the server's
// and the mapping's zones.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"log"
	"log/slog"
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
	db     *sql.DB
	name   string // host:port/db, for messages
	desc   string // mysql://user@host:port/db
	log    *slog.Logger
	secret string    // the password, blanked out of logged causes
	snap   *sql.Conn // Count and Rows read through it (snapshot)
}

// snapshot is the connection Count and Rows read through, in a read-only
// transaction WITH CONSISTENT SNAPSHOT: every table as of the first read,
// so that a legacy app still writing gives counts that add up and no
// orphans of timing (InnoDB; a MyISAM table has no snapshot to give). The
// engine reads one table at a time, so one connection is enough.
func (s *mysqlSource) snapshot(ctx context.Context, table string) (*sql.Conn, error) {
	if s.snap != nil {
		return s.snap, nil
	}
	c, err := s.db.Conn(ctx)
	if err != nil {
		return nil, s.readErr(table, err)
	}
	for _, q := range []string{"SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ", "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY"} {
		if _, err := c.ExecContext(ctx, q); err != nil {
			_ = c.Close()
			return nil, s.readErr(table, err)
		}
	}
	s.snap = c
	return c, nil
}

// openMySQL opens and pings a MySQL/MariaDB database. Its errors are one
// line naming host:port/db, never the password nor the driver's text.
func openMySQL(ctx context.Context, u *url.URL, log *slog.Logger) (Source, error) {
	return mysqlOpenTimeout(ctx, u, mysqlConnectTimeout, log)
}

func mysqlOpenTimeout(ctx context.Context, u *url.URL, timeout time.Duration, log *slog.Logger) (Source, error) {
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
		db:     sql.OpenDB(conn),
		name:   cfg.Addr + "/" + cfg.DBName,
		desc:   "mysql://" + url.PathEscape(cfg.User) + "@" + cfg.Addr + "/" + url.PathEscape(cfg.DBName),
		log:    log,
		secret: cfg.Passwd,
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
		return nil, s.connErr(err)
	}
	return s, nil
}

// loopback reports whether host is this machine.
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
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
	// The rows, plaintext passwords among them, cross the network: over
	// verified TLS unless the server is this machine or the URL says
	// otherwise. No "preferred": it falls back to clear text unsaid.
	if !loopback(u.Hostname()) {
		cfg.TLSConfig = "true"
	}
	for k, vs := range u.Query() {
		switch k {
		case "tls":
			// The driver's own values.
			v := vs[len(vs)-1]
			if v != "true" && v != "false" && v != "skip-verify" {
				return nil, bad("tls=%q: want true (verified; the default off this machine), skip-verify or false", v)
			}
			cfg.TLSConfig = v
			if v == "false" {
				cfg.TLSConfig = ""
			}
		default:
			return nil, bad("unknown parameter %q", k)
		}
	}
	return cfg, nil
}

func (s *mysqlSource) Describe() string { return s.desc }

func (s *mysqlSource) Close() error {
	if s.snap != nil {
		_ = s.snap.Close() // the read-only transaction goes with it
	}
	return s.db.Close()
}

// connErr turns a connection failure into one fixed line: the caller's
// mistakes (credentials, database name) are EInvalid, a server that
// cannot be reached EUnavailable. The driver's text goes to the log.
func (s *mysqlSource) connErr(err error) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	logCause(s.log, s.desc, "connect", err, s.secret)
	var me *mysql.MySQLError
	var dnsErr *net.DNSError
	var recErr tls.RecordHeaderError
	var certErr *tls.CertificateVerificationError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	switch {
	case errors.As(err, &me) && (me.Number == 1045 || me.Number == 1044 || me.Number == 1698):
		return tenant.Errorf(tenant.EInvalid, "mysql source %s: access denied (check the user and password)", s.name)
	case errors.As(err, &me) && me.Number == 1049:
		return tenant.Errorf(tenant.EInvalid, "mysql source %s: no such database", s.name)
	case errors.As(err, &me):
		return tenant.Errorf(tenant.EUnavailable, "mysql source %s: the server refused the connection (MySQL error %d)", s.name, me.Number)
	case errors.Is(err, syscall.ECONNREFUSED):
		return tenant.Errorf(tenant.EUnavailable, "mysql source %s: connection refused", s.name)
	case errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded):
		return tenant.Errorf(tenant.EUnavailable, "mysql source %s: connection timed out", s.name)
	case errors.As(err, &dnsErr):
		return tenant.Errorf(tenant.EUnavailable, "mysql source %s: unknown host", s.name)
	case errors.Is(err, mysql.ErrNoTLS):
		return tenant.Errorf(tenant.EUnavailable, "mysql source %s: the server does not offer TLS (add ?tls=false to read it in clear over the network)", s.name)
	case errors.As(err, &recErr) || errors.As(err, &certErr) || errors.As(err, &unknownAuth) || errors.As(err, &hostErr):
		return tenant.Errorf(tenant.EUnavailable, "mysql source %s: the TLS handshake failed (certificate or protocol)", s.name)
	case mysqlLost(err):
		return tenant.Errorf(tenant.EUnavailable, "mysql source %s: the server closed the connection", s.name)
	}
	return tenant.Errorf(tenant.EUnavailable, "mysql source %s: could not connect", s.name)
}

// mysqlLost reports whether err means the connection went away: the
// server shut down, killed it or the network dropped it.
func mysqlLost(err error) bool {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case 1053, 1927, 2006, 2013: // shutdown, killed, gone away, lost
			return true
		}
	}
	var ne net.Error
	return errors.Is(err, mysql.ErrInvalidConn) || errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || (errors.As(err, &ne) && !ne.Timeout())
}

// mysqlQuote quotes an identifier with backticks, doubling any inside.
func mysqlQuote(name string) string {
	return "`" + strings.ReplaceAll(name, "`", "``") + "`"
}

// readErr is the fixed line of a failure while reading (what: a table's
// name, "the list of tables", "the columns of t"); the driver's text goes
// to the log.
func (s *mysqlSource) readErr(what string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	logCause(s.log, s.desc, what, err, s.secret)
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case 1146: // no such table
			return tenant.Errorf(tenant.ENotFound, "mysql source %s: no table %q", s.name, what)
		case 1054: // unknown column
			return tenant.Errorf(tenant.EInvalid, "mysql source %s: table %q lacks a column the mapping reads", s.name, what)
		case 1142, 1143, 1044, 1045, 1227: // denied on the table, a column, the database
			return tenant.Errorf(tenant.EInvalid, "mysql source %s: access denied while reading %s (the user needs SELECT on it)", s.name, what)
		case 1317, 3024, 1969: // interrupted: KILL QUERY, max_execution_time, max_statement_time
			return tenant.Errorf(tenant.EUnavailable, "mysql source %s: the server stopped the query while reading %s", s.name, what)
		}
	}
	var ne net.Error
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		return tenant.Errorf(tenant.EUnavailable, "mysql source %s: timed out while reading %s", s.name, what)
	case mysqlLost(err):
		return tenant.Errorf(tenant.EUnavailable, "mysql source %s: lost the connection while reading %s", s.name, what)
	case me != nil:
		return tenant.Errorf(tenant.EUnavailable, "mysql source %s: the server refused to read %s (MySQL error %d)", s.name, what, me.Number)
	}
	return tenant.Errorf(tenant.EUnavailable, "mysql source %s: could not read %s", s.name, what)
}

// Tables lists the base tables (not views) of the URL's database, in
// byte order (the server's collation would order them its own way).
func (s *mysqlSource) Tables(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx,
		`SELECT table_name FROM information_schema.tables
		 WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE'`)
	if err != nil {
		return nil, s.readErr("the list of tables", err)
	}
	names, err := mysqlStrings(rows)
	if err != nil {
		return nil, s.readErr("the list of tables", err)
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
		return nil, s.readErr("the columns of "+table, err)
	}
	cols, err := mysqlStrings(rows)
	if err != nil {
		return nil, s.readErr("the columns of "+table, err)
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
	c, err := s.snapshot(ctx, table)
	if err != nil {
		return 0, err
	}
	var n int64
	if err := c.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+mysqlQuote(table)).Scan(&n); err != nil {
		return 0, s.readErr(table, err)
	}
	return n, nil
}

// Rows streams the table (the driver reads rows off the wire as fn takes
// them: a million rows are never all in memory). Values by column type:
// integers (TINYINT(1) included) and BIT int64, FLOAT/DOUBLE float64,
// DECIMAL and TIME string, DATE/DATETIME Naive (zero dates nil),
// TIMESTAMP time.Time in UTC, BLOB/BINARY []byte, text string; a value
// its type cannot hold is a BadValue, one over maxValueBytes an error.
//
// The driver has read a value whole before it is checked here (it joins
// 16 MiB packets without a limit), so the bound is on what an import
// keeps, not on one row off the wire.
func (s *mysqlSource) Rows(ctx context.Context, table string, columns []string, fn func(row []any) error) error {
	if len(columns) == 0 {
		return tenant.Errorf(tenant.EInvalid, "mysql source %s: table %q: no columns asked for", s.name, table)
	}
	q := make([]string, len(columns))
	for i, c := range columns {
		q[i] = mysqlQuote(c)
	}
	c, err := s.snapshot(ctx, table)
	if err != nil {
		return err
	}
	rows, err := c.QueryContext(ctx, "SELECT "+strings.Join(q, ", ")+" FROM "+mysqlQuote(table))
	if err != nil {
		return s.readErr(table, err)
	}
	defer rows.Close()
	types, err := rows.ColumnTypes()
	if err != nil {
		return s.readErr(table, err)
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
			return s.readErr(table, err)
		}
		// A fresh slice each row: fn may keep it (the engine batches rows).
		row := make([]any, len(columns))
		for i, b := range raw {
			if len(b) > maxValueBytes {
				return tooBig("mysql source "+s.name, table, columns[i])
			}
			v, problem := mysqlValue(kinds[i], b)
			if problem != "" {
				v = BadValue{Column: columns[i], Problem: problem}
			}
			row[i] = v
		}
		if err := fn(row); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return s.readErr(table, err)
	}
	return nil
}

// mysqlValue converts one text-protocol value of the given column type,
// or says what is wrong with it (never quoting it).
func mysqlValue(kind string, b sql.RawBytes) (any, string) {
	if b == nil {
		return nil, ""
	}
	switch kind {
	case "TINYINT", "SMALLINT", "MEDIUMINT", "INT", "INTEGER", "BIGINT", "YEAR":
		n, err := strconv.ParseInt(string(b), 10, 64)
		if err != nil {
			return nil, "not a whole number within ±2^63"
		}
		return n, ""
	case "FLOAT", "DOUBLE", "REAL":
		f, err := strconv.ParseFloat(string(b), 64)
		if err != nil {
			return nil, "not a number"
		}
		return f, ""
	case "BIT":
		// BIT(1) is many schemas' boolean; up to 64 bits, big-endian.
		if len(b) > 8 {
			return nil, "wider than 64 bits"
		}
		var n uint64
		for _, c := range b {
			n = n<<8 | uint64(c)
		}
		return int64(n), ""
	case "DATE", "DATETIME":
		return mysqlTime(string(b))
	case "TIMESTAMP":
		v, problem := mysqlTime(string(b))
		if n, ok := v.(Naive); ok {
			return time.Time(n), "" // the session's UTC: an instant
		}
		return v, problem
	case "BLOB", "TINYBLOB", "MEDIUMBLOB", "LONGBLOB", "BINARY", "VARBINARY", "GEOMETRY":
		return []byte(string(b)), ""
	default:
		// CHAR, VARCHAR, the TEXTs, ENUM, SET, JSON, DECIMAL (exact, as
		// written), TIME (may exceed 24 h or be negative in MySQL).
		return string(b), ""
	}
}

// mysqlTime parses DATE and DATETIME text as a Naive; the zero date
// ("never" in legacy schemas) is NULL.
func mysqlTime(s string) (any, string) {
	if strings.HasPrefix(s, "0000-00-00") && strings.Trim(s, "0-: .") == "" {
		return nil, ""
	}
	layout := "2006-01-02"
	if len(s) > len(layout) {
		layout = "2006-01-02 15:04:05.999999"
	}
	t, err := time.ParseInLocation(layout, s, time.UTC)
	if err != nil {
		return nil, "not a valid date"
	}
	return Naive(t), ""
}

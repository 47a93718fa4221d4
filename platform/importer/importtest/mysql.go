package importtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/tenancy/platform/platform/platformtest"
)

// MySQLDatabasePrefix starts every database MySQL creates (the dev
// MariaDB's test user may create platformtest_* databases only).
const MySQLDatabasePrefix = "platformtest_src_"

// MySQLTimeZone is the session zone MySQL's statements run in: a PHP app
// of Mexico City's, so a TIMESTAMP written as '2024-03-01 10:20:30' is
// the instant 16:20:30Z.
const MySQLTimeZone = "-06:00"

// MySQL creates an empty database on the dev MariaDB of
// PLATFORM_TEST_MYSQL_URL, runs stmts in it as a PHP-era app would (no
// strict mode: zero dates accepted; the session in MySQLTimeZone), drops
// it at cleanup and returns its mysql://…/db URL.
func MySQL(t testing.TB, stmts ...string) string {
	t.Helper()
	u := mysqlBase(t)
	var rnd [6]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		t.Fatal(err)
	}
	name := MySQLDatabasePrefix + hex.EncodeToString(rnd[:])
	admin := MySQLDB(t, u.String(), "")
	if _, err := admin.ExecContext(t.Context(), "CREATE DATABASE `"+name+"` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"); err != nil {
		t.Fatalf("importtest: create database on %s: %v (run scripts/dev-services up)", u.Host, err)
	}
	t.Cleanup(func() {
		// t.Context() is over by now.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP DATABASE `"+name+"`"); err != nil {
			t.Errorf("importtest: drop database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	db := MySQLDB(t, u.String(), MySQLTimeZone)
	for _, s := range stmts {
		if _, err := db.ExecContext(t.Context(), s); err != nil {
			t.Fatalf("importtest: mysql: %s: %v", s, err)
		}
	}
	return u.String()
}

// MySQLDB opens rawURL (one of PLATFORM_TEST_MYSQL_URL's databases, as
// MySQL and Sisca return) for a test's own statements and queries, closed
// at cleanup: no strict mode, several statements per Exec, and the
// session in timeZone ("+00:00", "-06:00"; "" for the server's).
func MySQLDB(t testing.TB, rawURL, timeZone string) *sql.DB {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "mysql" || u.User == nil {
		t.Fatal("importtest: MySQLDB wants a mysql://user:pass@host:port/db URL")
	}
	pw, _ := u.User.Password()
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.Net, cfg.Addr = u.User.Username(), pw, "tcp", u.Host
	cfg.DBName = strings.TrimPrefix(u.Path, "/")
	cfg.Loc = time.UTC
	cfg.MultiStatements = true
	cfg.Params = map[string]string{"sql_mode": "'NO_ENGINE_SUBSTITUTION'"}
	if timeZone != "" {
		cfg.Params["time_zone"] = "'" + timeZone + "'"
	}
	db := mysqlOpen(t, cfg)
	t.Cleanup(func() { db.Close() })
	return db
}

// mysqlBase is PLATFORM_TEST_MYSQL_URL, checked.
func mysqlBase(t testing.TB) *url.URL {
	t.Helper()
	u, err := url.Parse(platformtest.Getenv(t, "PLATFORM_TEST_MYSQL_URL"))
	if err != nil || u.Scheme != "mysql" || u.User == nil {
		t.Fatalf("PLATFORM_TEST_MYSQL_URL is not a mysql://user:pass@host:port/ URL: run scripts/dev-services up and eval its env")
	}
	return u
}

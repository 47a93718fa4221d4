package pool

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/tenant"
)

// strayEnv sets every PG* variable pgx reads to a value that would send a
// connection elsewhere, change how it connects or make it fail. Not
// parallel: the environment is the process's.
func strayEnv(t *testing.T) {
	dir := t.TempDir()
	services := filepath.Join(dir, "pg_service.conf")
	if err := os.WriteFile(services, []byte("[stray]\nhost=192.0.2.1\nport=1\ndbname=stray\nuser=stray\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	passfile := filepath.Join(dir, "pgpass")
	if err := os.WriteFile(passfile, []byte("*:*:*:*:stray-password\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"PGHOST":               "192.0.2.1", // TEST-NET-1: nothing answers
		"PGPORT":               "1",
		"PGDATABASE":           "stray_db",
		"PGUSER":               "stray_user",
		"PGPASSWORD":           "stray-password",
		"PGPASSFILE":           passfile,
		"PGAPPNAME":            "stray-app",
		"PGCONNECT_TIMEOUT":    "1",
		"PGSSLMODE":            "verify-full",
		"PGSSLKEY":             "/nonexistent/stray.key",
		"PGSSLCERT":            "/nonexistent/stray.crt",
		"PGSSLCERTMODE":        "require",
		"PGSSLSNI":             "stray",
		"PGSSLROOTCERT":        "/nonexistent/root.crt",
		"PGSSLPASSWORD":        "stray",
		"PGSSLNEGOTIATION":     "direct",
		"PGTARGETSESSIONATTRS": "standby",
		"PGSERVICE":            "stray",
		"PGSERVICEFILE":        services,
		"PGTZ":                 "Asia/Tokyo",
		"PGOPTIONS":            "-c search_path=stray -c work_mem=77kB",
		"PGMINPROTOCOLVERSION": "3.2",
		"PGMAXPROTOCOLVERSION": "3.2",
		"PGCHANNELBINDING":     "require",
		"PGREQUIREAUTH":        "scram-sha-256",
	} {
		t.Setenv(k, v)
	}
}

// TestStrayPGEnvironment: with every PG* variable set to something stray,
// a tenant pool still connects to its Target, as its user, with only our
// runtime parameters.
func TestStrayPGEnvironment(t *testing.T) {
	target, _ := testDB(t) // before the stray environment: the admin connection reads it too
	strayEnv(t)
	m := New(Config{ConnectTimeout: 3 * time.Second}, func(context.Context, *tenant.Tenant) (Target, error) { return target, nil })
	defer m.Close()
	ctx := platformtest.Context(t)
	tn := tenants(1)[0]
	c, err := m.Acquire(ctx, tn)
	if err != nil {
		t.Fatalf("Acquire under stray PG* variables: %v", err)
	}
	defer c.Release() // before m.Close, which waits for it; Release twice is a no-op
	var db, user, app, tz, path, workMem string
	if err := c.QueryRow(ctx, `SELECT current_database(), current_user, current_setting('application_name'),
		(SELECT source FROM pg_settings WHERE name = 'TimeZone'), current_setting('search_path'), current_setting('work_mem')`).
		Scan(&db, &user, &app, &tz, &path, &workMem); err != nil {
		t.Fatal(err)
	}
	if db != target.Database || user != target.User || app != "platform:"+tn.Slug {
		t.Errorf("connected to %s as %s (application_name %q), want %s as %s", db, user, app, target.Database, target.User)
	}
	if tz == "client" || path != `"$user", public` || workMem == "77kB" {
		t.Errorf("session settings from the environment: TimeZone source %q, search_path %q, work_mem %q", tz, path, workMem)
	}

	cc := entryOf(m, tn).pool.Config().ConnConfig
	if cc.Host != target.Host || int(cc.Port) != target.Port || cc.Password != target.Password ||
		cc.TLSConfig != nil || len(cc.Fallbacks) != 0 || cc.ValidateConnect != nil || cc.ConnectTimeout != 3*time.Second ||
		cc.RequireAuth != "" || cc.ChannelBinding != "prefer" || cc.MaxProtocolVersion != "3.0" || cc.SSLNegotiation != "postgres" {
		t.Errorf("connection config shaped by the environment: host %s port %d tls %v fallbacks %d validate %v timeout %v require_auth %q channel_binding %q max_protocol %q sslnegotiation %q",
			cc.Host, cc.Port, cc.TLSConfig != nil, len(cc.Fallbacks), cc.ValidateConnect != nil, cc.ConnectTimeout,
			cc.RequireAuth, cc.ChannelBinding, cc.MaxProtocolVersion, cc.SSLNegotiation)
	}
	if len(cc.RuntimeParams) != 3 {
		t.Errorf("runtime parameters %v, want only ours", cc.RuntimeParams)
	}
	// Our service file goes with the manager.
	c.Release()
	service := m.services.name
	m.Close()
	if _, err := os.Stat(service); service == "" || !os.IsNotExist(err) {
		t.Errorf("service file %q after Close: %v", service, err)
	}
}

// TestConnStringQuoting: values with quotes, backslashes, spaces and '='
// reach pgx as given, even under stray PG* variables.
func TestConnStringQuoting(t *testing.T) {
	strayEnv(t)
	var f serviceFile
	defer f.remove()
	service, err := f.path()
	if err != nil {
		t.Fatal(err)
	}
	for _, tg := range []Target{
		{Host: "db.internal", Port: 6543, Database: "tenant_a", User: "tenant_a_app", Password: `it's a \ pass='word' `},
		{Host: "127.0.0.1", Port: 5432, Database: "d b", User: `u'\`, Password: ""},
		{Host: "/var/run/postgresql", Port: 5432, Database: "x=y", User: "u", Password: "p"},
	} {
		cc, err := pgx.ParseConfig(connString(tg, 1500*time.Millisecond, service))
		if err != nil {
			t.Fatalf("%+v: %v", tg, err)
		}
		if cc.Host != tg.Host || int(cc.Port) != tg.Port || cc.Database != tg.Database || cc.User != tg.User || cc.Password != tg.Password {
			t.Errorf("parsed %s:%d %q %q %q, want %+v", cc.Host, cc.Port, cc.Database, cc.User, cc.Password, tg)
		}
		if cc.ConnectTimeout != 2*time.Second {
			t.Errorf("connect_timeout %v, want 2s (rounded up)", cc.ConnectTimeout)
		}
	}
}

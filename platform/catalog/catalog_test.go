package catalog_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenancy/platform/platform/catalog"
	"github.com/tenancy/platform/platform/pgadmin"
	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/tenant"
)

func newTenant(t *testing.T, cat *catalog.DB, slug string) *tenant.Tenant {
	t.Helper()
	ctx := platformtest.Context(t)
	srv, err := cat.EnsureDBServer(ctx, "default", "127.0.0.1", 5432)
	if err != nil {
		t.Fatal(err)
	}
	tn := &tenant.Tenant{Slug: slug, Kind: tenant.Restaurant, Name: slug, Database: tenant.DatabaseName(slug), TimeZone: "UTC"}
	if err := cat.CreateTenant(ctx, tn, srv.ID); err != nil {
		t.Fatal(err)
	}
	return tn
}

// catalogName is the name of cat's database.
func catalogName(t *testing.T, cat *catalog.DB) string {
	t.Helper()
	var db string
	if err := cat.Pool().QueryRow(platformtest.Context(t), `SELECT current_database()`).Scan(&db); err != nil {
		t.Fatal(err)
	}
	return db
}

// onAdmin runs sql on an admin connection to the postgres database.
func onAdmin(t *testing.T, sql string, args ...any) {
	t.Helper()
	ctx := platformtest.Context(t)
	err := platformtest.Admin(t).In(ctx, "postgres", "", func(c *pgx.Conn) error {
		_, err := c.Exec(ctx, sql, args...)
		return err
	})
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// TestTenantByIDUsesTheIndex (item 7): the id is compared as a uuid, so the
// primary key answers; id::text = $1 cannot use it.
func TestTenantByIDUsesTheIndex(t *testing.T) {
	cat, _ := platformtest.Catalog(t)
	ctx := platformtest.Context(t)
	tn := newTenant(t, cat, "acme")
	var plan string
	err := pgx.BeginFunc(ctx, cat.Pool(), func(tx pgx.Tx) error {
		// Rule the table scan out, so that only an unusable index shows.
		if _, err := tx.Exec(ctx, `SET LOCAL enable_seqscan = off`); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `EXPLAIN (FORMAT TEXT) `+catalog.TenantByIDQuery, tn.ID)
		if err != nil {
			return err
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		plan = strings.Join(lines, "\n")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(plan, "tenants_pkey") {
		t.Errorf("TenantByID does not use the primary key:\n%s", plan)
	}
	got, err := cat.TenantByID(ctx, tn.ID)
	if err != nil || got.Slug != "acme" {
		t.Fatalf("TenantByID = %v, %v", got, err)
	}
	if got, err := cat.TenantByID(ctx, strings.ToUpper(tn.ID)); err != nil || got.Slug != "acme" {
		t.Errorf("TenantByID(upper case) = %v, %v", got, err)
	}
	// A notification's payload is anyone's: not a uuid is not found.
	for _, id := range []string{"", "acme", "not-a-uuid-not-a-uuid-not-a-uuid-xxxx", "'; SELECT 1; --", "00000000-0000-0000-0000-000000000000", "\x00"} {
		if _, err := cat.TenantByID(ctx, id); tenant.ErrorCode(err) != tenant.ENotFound {
			t.Errorf("TenantByID(%q): %v, want not_found", id, err)
		}
	}
}

// TestErrorsTranslated (item 8): what the server refuses comes back as a
// caller-safe error with the right code, never internal.
func TestErrorsTranslated(t *testing.T) {
	cat, _ := platformtest.Catalog(t)
	ctx := platformtest.Context(t)
	newTenant(t, cat, "taken")
	srv, err := cat.EnsureDBServer(ctx, "default", "127.0.0.1", 5432)
	if err != nil {
		t.Fatal(err)
	}
	mk := func(slug, name string) *tenant.Tenant {
		return &tenant.Tenant{Slug: slug, Kind: tenant.Restaurant, Name: name, Database: tenant.DatabaseName(slug), TimeZone: "UTC"}
	}
	tests := []struct {
		what string
		err  error
		code string
		msg  string // the whole caller-safe message, if not empty
	}{
		{"unique_violation", cat.CreateTenant(ctx, mk("taken", "x"), srv.ID), tenant.EConflict, `tenant "taken" already exists`},
		{"character_not_in_repertoire (NUL)", cat.CreateTenant(ctx, mk("nul-name", "a\x00b"), srv.ID), tenant.EInvalid, ""},
		{"check_violation", cat.CreateTenant(ctx, mk("long-name", strings.Repeat("n", 201)), srv.ID), tenant.EInvalid, ""},
		{"check_violation (slug)", cat.CreateTenant(ctx, mk("Bad Slug", "x"), srv.ID), tenant.EInvalid, ""},
		{"foreign_key_violation", cat.CreateTenant(ctx, mk("no-server", "x"), 999999), tenant.EInvalid, ""},
		{"domain unique_violation", cat.CreateTenant(ctx, &tenant.Tenant{Slug: "dup-domain", Kind: tenant.Restaurant, Name: "x",
			Database: "tenant_dup_domain", TimeZone: "UTC", Hosts: []string{"a.example.com", "a.example.com"}}, srv.ID),
			tenant.EConflict, `domain "a.example.com" is already in use`},
	}
	for _, tt := range tests {
		if tenant.ErrorCode(tt.err) != tt.code {
			t.Errorf("%s: %v (code %s), want %s", tt.what, tt.err, tenant.ErrorCode(tt.err), tt.code)
			continue
		}
		msg := tenant.ErrorMessage(tt.err)
		if (tt.msg != "" && msg != tt.msg) || strings.Contains(msg, "violates") || strings.Contains(msg, "SQLSTATE") {
			t.Errorf("%s: message %q", tt.what, msg)
		}
	}
	if ts, err := cat.ListTenants(ctx, catalog.TenantFilter{}); err != nil || len(ts) != 1 {
		t.Errorf("refused writes left rows: %d tenants, %v", len(ts), err)
	}
}

// unavailable checks an error is the catalog's 503 and leaks nothing.
func unavailable(t *testing.T, what string, err error) {
	t.Helper()
	if tenant.ErrorCode(err) != tenant.EUnavailable {
		t.Errorf("%s: %v (code %q), want unavailable", what, err, tenant.ErrorCode(err))
		return
	}
	if msg := tenant.ErrorMessage(err); strings.Contains(msg, "127.0.0.1") || strings.Contains(msg, "terminat") || strings.Contains(msg, "platformtest") {
		t.Errorf("%s: the message shows the cause: %q", what, msg)
	}
}

// TestCutQueryIsUnavailable (item 8, B9): a query cut by the server
// (pg_terminate_backend, as a restart does) is unavailable, not internal.
func TestCutQueryIsUnavailable(t *testing.T) {
	cat, url := platformtest.Catalog(t)
	ctx := platformtest.Context(t)
	newTenant(t, cat, "acme")
	locker, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer locker.Close(context.Background())
	tx, err := locker.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background())
	if _, err := tx.Exec(ctx, `LOCK TABLE tenants IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := cat.ListTenants(ctx, catalog.TenantFilter{})
		errc <- err
	}()
	var pid int
	platformtest.Eventually(t, 5*time.Second, "ListTenants waiting on the lock", func() bool {
		err := locker.QueryRow(ctx, `SELECT pid FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()`).Scan(&pid)
		return err == nil
	})
	var ok bool
	if err := locker.QueryRow(ctx, `SELECT pg_terminate_backend($1)`, pid).Scan(&ok); err != nil || !ok {
		t.Fatalf("terminate %d: %v %v", pid, ok, err)
	}
	unavailable(t, "ListTenants cut", <-errc)
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if ts, err := cat.ListTenants(ctx, catalog.TenantFilter{}); err != nil || len(ts) != 1 {
		t.Errorf("after the cut: %v, %v", ts, err)
	}
}

// TestOutageIsUnavailable (item 8, B9): while the catalog database refuses
// connections, every call is unavailable; it answers again afterwards.
func TestOutageIsUnavailable(t *testing.T) {
	cat, _ := platformtest.Catalog(t)
	ctx := platformtest.Context(t)
	tn := newTenant(t, cat, "acme")
	name := catalogName(t, cat)
	onAdmin(t, "ALTER DATABASE "+pgadmin.Ident(name)+" ALLOW_CONNECTIONS false")
	t.Cleanup(func() { onAdmin(t, "ALTER DATABASE "+pgadmin.Ident(name)+" ALLOW_CONNECTIONS true") })
	onAdmin(t, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`, name)

	_, err := cat.ListTenants(ctx, catalog.TenantFilter{})
	unavailable(t, "ListTenants", err)
	_, err = cat.TenantBySlug(ctx, "acme")
	unavailable(t, "TenantBySlug", err)
	_, err = cat.TenantByID(ctx, tn.ID)
	unavailable(t, "TenantByID", err)
	_, err = cat.DBServers(ctx)
	unavailable(t, "DBServers", err)
	_, err = cat.BaseDomain(ctx)
	unavailable(t, "BaseDomain", err)
	_, err = cat.EnsureBaseDomain(ctx, "localhost")
	unavailable(t, "EnsureBaseDomain", err)
	unavailable(t, "SetStatus", cat.SetStatus(ctx, "acme", tenant.StatusSuspended, tenant.StatusProvisioning))
	unavailable(t, "Ping", cat.Ping(ctx))
	unavailable(t, "WithLock", cat.WithLock(ctx, "k", func() error { return nil }))
	unavailable(t, "RecordOperatorAction", cat.RecordOperatorAction(ctx, catalog.OperatorAction{Actor: "t", Source: "cli", Action: "x"}))

	onAdmin(t, "ALTER DATABASE "+pgadmin.Ident(name)+" ALLOW_CONNECTIONS true")
	if ts, err := cat.ListTenants(ctx, catalog.TenantFilter{}); err != nil || len(ts) != 1 {
		t.Errorf("after the outage: %v, %v", ts, err)
	}
}

// TestEnsureDBServerKeepsTheStoredAddress (hostile run): registering a
// server that exists returns the stored row and changes nothing.
func TestEnsureDBServerKeepsTheStoredAddress(t *testing.T) {
	cat, _ := platformtest.Catalog(t)
	ctx := platformtest.Context(t)
	first, err := cat.EnsureDBServer(ctx, "default", "127.0.0.1", 5432)
	if err != nil {
		t.Fatal(err)
	}
	again, err := cat.EnsureDBServer(ctx, "default", "db.elsewhere.example", 6543)
	if err != nil {
		t.Fatal(err)
	}
	if again != first || again.Host != "127.0.0.1" || again.Port != 5432 || again.ConnectionBudget != 80 {
		t.Errorf("EnsureDBServer with another address = %+v, want the stored %+v", again, first)
	}
	ss, err := cat.DBServers(ctx)
	if err != nil || len(ss) != 1 || ss[0] != first {
		t.Errorf("DBServers = %+v, %v", ss, err)
	}
}

func TestUpdateDBServer(t *testing.T) {
	cat, _ := platformtest.Catalog(t)
	ctx := platformtest.Context(t)
	orig, err := cat.EnsureDBServer(ctx, "default", "127.0.0.1", 5432)
	if err != nil {
		t.Fatal(err)
	}
	str := func(s string) *string { return &s }
	num := func(n int) *int { return &n }
	for _, c := range []struct {
		what   string
		change catalog.DBServerChange
		code   string
	}{
		{"empty host", catalog.DBServerChange{Host: str("")}, tenant.EInvalid},
		{"host with a port", catalog.DBServerChange{Host: str("db:5432")}, tenant.EInvalid},
		{"upper-case host", catalog.DBServerChange{Host: str("DB.example")}, tenant.EInvalid},
		{"port 0", catalog.DBServerChange{Port: num(0)}, tenant.EInvalid},
		{"port 70000", catalog.DBServerChange{Port: num(70000)}, tenant.EInvalid},
		{"budget 0", catalog.DBServerChange{Budget: num(0)}, tenant.EInvalid},
	} {
		if _, _, err := cat.UpdateDBServer(ctx, "default", c.change); tenant.ErrorCode(err) != c.code {
			t.Errorf("%s: %v, want %s", c.what, err, c.code)
		}
	}
	if _, _, err := cat.UpdateDBServer(ctx, "nope", catalog.DBServerChange{Budget: num(5)}); tenant.ErrorCode(err) != tenant.ENotFound {
		t.Errorf("unknown server: %v", err)
	}
	old, updated, err := cat.UpdateDBServer(ctx, "default", catalog.DBServerChange{Host: str("db.example"), Budget: num(12)})
	if err != nil {
		t.Fatal(err)
	}
	want := orig
	want.Host, want.ConnectionBudget = "db.example", 12
	if old != orig || updated != want {
		t.Errorf("UpdateDBServer = %+v -> %+v, want %+v -> %+v", old, updated, orig, want)
	}
	if s, err := cat.DBServer(ctx, "default"); err != nil || s != want {
		t.Errorf("DBServer = %+v, %v", s, err)
	}
}

// syncBuffer collects log lines from the listener goroutine.
type syncBuffer struct {
	mu    sync.Mutex
	lines []string
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	sc := bufio.NewScanner(strings.NewReader(string(p)))
	for sc.Scan() {
		b.lines = append(b.lines, sc.Text())
	}
	return len(p), nil
}

// backoffs returns the backoff of every "listener lost" line.
func (b *syncBuffer) backoffs(t *testing.T) []time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	var ds []time.Duration
	for _, l := range b.lines {
		var rec struct {
			Msg     string `json:"msg"`
			Backoff int64  `json:"backoff"`
		}
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		if rec.Msg == "catalog listener lost; reconnecting" {
			ds = append(ds, time.Duration(rec.Backoff))
		}
	}
	return ds
}

// TestListenerBackoffResets (item 7): after a connection that came up
// healthy, the next reconnect waits the shortest delay again, however
// many drops came before.
func TestListenerBackoffResets(t *testing.T) {
	cat, _ := platformtest.Catalog(t)
	ctx, cancel := context.WithCancel(platformtest.Context(t))
	defer cancel()
	var logs syncBuffer
	cat.SetLogger(slog.New(slog.NewJSONHandler(&logs, nil)))
	var connects atomic.Int64
	done := make(chan error, 1)
	go func() {
		done <- cat.Listen(ctx, func(context.Context) error { connects.Add(1); return nil }, func(string, string, string) {})
	}()
	const drops = 4
	for i := 1; i <= drops; i++ {
		platformtest.Eventually(t, 10*time.Second, fmt.Sprintf("listener connection %d", i), func() bool { return connects.Load() == int64(i) })
		var pid int
		err := cat.Pool().QueryRow(ctx, `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1`,
			catalog.ListenerApplicationName).Scan(&pid)
		if err != nil {
			t.Fatalf("find listener %d: %v", i, err)
		}
		var ok bool
		if err := cat.Pool().QueryRow(ctx, `SELECT pg_terminate_backend($1)`, pid).Scan(&ok); err != nil || !ok {
			t.Fatalf("terminate listener %d: %v %v", pid, ok, err)
		}
	}
	platformtest.Eventually(t, 10*time.Second, "the listener back after the last drop", func() bool { return connects.Load() == drops+1 })
	got := logs.backoffs(t)
	if len(got) != drops {
		t.Fatalf("%d reconnect lines, want %d: %v", len(got), drops, got)
	}
	for i, d := range got {
		if d != 100*time.Millisecond {
			t.Errorf("reconnect %d waited %v, want 100ms (each drop followed a healthy connection): %v", i+1, d, got)
		}
	}
	cancel()
	if err := <-done; err != context.Canceled {
		t.Errorf("Listen returned %v, want context.Canceled", err)
	}
}

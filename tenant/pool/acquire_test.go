package pool

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"
	"github.com/jackc/pgx/v5"

	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/platform/secrets"
	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/secretcache"
)

const unavailableMessage = "this account is temporarily unavailable; try again shortly"

// logSink collects the JSON lines of a slog logger.
type logSink struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *logSink) logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(s, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// records returns the lines written so far, decoded.
func (s *logSink) records(t *testing.T) []map[string]any {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(s.buf.String()), "\n") {
		if line == "" {
			continue
		}
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, r)
	}
	return out
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return port
}

// requestContext is a request's context as the router makes it: a logger
// carrying the tenant and the request id.
func requestContext(t *testing.T, log *slog.Logger, tn *tenant.Tenant, requestID string) context.Context {
	return tenant.WithLogger(platformtest.Context(t), log.With("tenant", tn.Slug, "request_id", requestID))
}

// TestAcquireCausesAreTenantUnavailable: every cause but capacity is one
// tenant_unavailable with a fixed message; the cause is in the log, with
// the tenant and the request id. Each cause is made for real.
func TestAcquireCausesAreTenantUnavailable(t *testing.T) {
	target, _ := testDB(t)
	admin := platformtest.Admin(t)

	// The secrets cache in front of the test Vault, and in front of a
	// Vault that is down, as `platform serve` reads a tenant's password.
	vaultUp := secretcache.New(platformtest.Vault(t), secretcache.Config{})
	down := vault.DefaultConfig()
	down.Address = "http://127.0.0.1:" + strconv.Itoa(closedPort(t))
	down.MaxRetries = 0
	down.Timeout = 2 * time.Second
	dc, err := vault.NewClient(down)
	if err != nil {
		t.Fatal(err)
	}
	vaultDown := secretcache.New(secrets.NewStore(dc, ""), secretcache.Config{})

	noLogin := "platformtest_pool_nologin_" + platformtest.Rand(6)
	if err := admin.EnsureLoginRole(platformtest.Context(t), noLogin, "pw-"+noLogin, -1); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.DropRole(context.Background(), noLogin) })
	if err := admin.SetLogin(platformtest.Context(t), noLogin, false); err != nil {
		t.Fatal(err)
	}

	withTarget := func(f func(*Target)) Resolve {
		return func(context.Context, *tenant.Tenant) (Target, error) {
			tg := target
			f(&tg)
			return tg, nil
		}
	}
	cases := []struct {
		name    string
		resolve Resolve
		cause   string // in the logged err
	}{
		{"secrets missing from Vault", func(ctx context.Context, tn *tenant.Tenant) (Target, error) {
			_, err := vaultUp.Get(ctx, tn.Slug)
			return Target{}, err
		}, "has no secrets in Vault"},
		{"Vault down", func(ctx context.Context, tn *tenant.Tenant) (Target, error) {
			_, err := vaultDown.Get(ctx, tn.Slug)
			return Target{}, err
		}, "Vault unreachable"},
		// What `platform serve`'s resolve says for a server not in the catalog.
		{"unknown database server", func(context.Context, *tenant.Tenant) (Target, error) {
			return Target{}, tenant.Errorf(tenant.EUnavailable, "database server %q is unknown", "nowhere")
		}, `database server "nowhere" is unknown`},
		{"dial error", withTarget(func(tg *Target) { tg.Port = closedPort(t) }), "connection refused"},
		{"login refused", withTarget(func(tg *Target) { tg.User = noLogin }), "not permitted to log in"},
		{"role does not exist", withTarget(func(tg *Target) { tg.User = "no_such_role_" + platformtest.Rand(6) }), "does not exist"},
		{"database does not exist", withTarget(func(tg *Target) { tg.Database = "no_such_db_" + platformtest.Rand(6) }), "does not exist"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var sink logSink
			m := New(Config{ConnectTimeout: 2 * time.Second}, c.resolve)
			defer m.Close()
			tn := &tenant.Tenant{ID: "id-" + platformtest.Rand(6), Slug: platformtest.Slug("cause")}
			ctx := requestContext(t, sink.logger(), tn, "req-"+tn.Slug)
			_, err := m.Acquire(ctx, tn)
			checkUnavailable(t, err, c.cause)
			checkFailureLogged(t, sink.records(t), tn, "req-"+tn.Slug, c.cause)
		})
	}

	// PostgreSQL here may trust loopback connections (issue 10, item 11):
	// then no password is checked and this cause cannot be made.
	t.Run("wrong password", func(t *testing.T) {
		ctx := platformtest.Context(t)
		ok, err := admin.RoleExists(ctx, tenant.LoginGroup)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			t.Skipf("no %s group role on this server: passwords of tenant login roles are not checked", tenant.LoginGroup)
		}
		role := "platformtest_pool_pw_" + platformtest.Rand(6)
		if err := admin.EnsureLoginRole(ctx, role, "right-"+role, -1, tenant.LoginGroup); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { admin.DropRole(context.Background(), role) })
		wrong := target
		wrong.User, wrong.Password = role, "wrong-"+role
		cc, err := pgx.ParseConfig(connString(wrong, 5*time.Second, ""))
		if err != nil {
			t.Fatal(err)
		}
		if c, err := pgx.ConnectConfig(ctx, cc); err == nil {
			c.Close(ctx)
			t.Skip("this PostgreSQL lets a tenant login role in with a wrong password (trust): the cause cannot be made here")
		}
		var sink logSink
		m := New(Config{}, func(context.Context, *tenant.Tenant) (Target, error) { return wrong, nil })
		defer m.Close()
		tn := tenants(1)[0]
		_, err = m.Acquire(requestContext(t, sink.logger(), tn, "req-pw"), tn)
		checkUnavailable(t, err, "password authentication failed")
		checkFailureLogged(t, sink.records(t), tn, "req-pw", "password authentication failed")
	})

	t.Run("manager closed", func(t *testing.T) {
		var sink logSink
		m := New(Config{}, withTarget(func(*Target) {}))
		m.Close()
		tn := tenants(1)[0]
		_, err := m.Acquire(requestContext(t, sink.logger(), tn, "req-closed"), tn)
		checkUnavailable(t, err, "closed")
		checkFailureLogged(t, sink.records(t), tn, "req-closed", "closed")
	})
}

func checkUnavailable(t *testing.T, err error, cause string) {
	t.Helper()
	var te *tenant.Error
	if !errors.As(err, &te) || te.Code != tenant.ETenantUnavailable || te.Message != unavailableMessage {
		t.Fatalf("Acquire: %#v (%v), want tenant_unavailable %q", err, err, unavailableMessage)
	}
	if err.Error() != unavailableMessage || errors.Unwrap(err) != nil {
		t.Errorf("the error shows or wraps more than the fixed message: %q", err)
	}
	if strings.Contains(err.Error(), cause) {
		t.Errorf("the cause %q reaches the caller: %q", cause, err)
	}
}

// checkFailureLogged wants exactly one WARN line, with the tenant, the
// request id and the cause.
func checkFailureLogged(t *testing.T, recs []map[string]any, tn *tenant.Tenant, requestID, cause string) {
	t.Helper()
	if len(recs) != 1 {
		t.Fatalf("%d log lines, want 1: %v", len(recs), recs)
	}
	r := recs[0]
	if r["level"] != "WARN" || r["tenant"] != tn.Slug || r["request_id"] != requestID {
		t.Errorf("log line %v: want WARN with tenant %s and request_id %s", r, tn.Slug, requestID)
	}
	if msg, _ := r["err"].(string); !strings.Contains(msg, cause) {
		t.Errorf("logged err %q does not say %q", msg, cause)
	}
}

// TestServerTooManyConnections: PostgreSQL's own "too many connections"
// (here the login role's CONNECTION LIMIT) is capacity_exhausted, never
// shown to the caller as such, and logged.
func TestServerTooManyConnections(t *testing.T) {
	target, _ := testDB(t)
	admin := platformtest.Admin(t)
	ctx := platformtest.Context(t)
	role := "platformtest_pool_limit_" + platformtest.Rand(6)
	if err := admin.EnsureLoginRole(ctx, role, "pw-"+role, 1); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.DropRole(context.Background(), role) })
	limited := target
	limited.User = role
	var sink logSink
	m := New(Config{Logger: sink.logger()}, func(context.Context, *tenant.Tenant) (Target, error) { return limited, nil })
	defer m.Close()
	tn := tenants(1)[0]
	held, err := m.Acquire(ctx, tn)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release() // before m.Close, which waits for it (Release twice is a no-op)
	c, err := m.Acquire(ctx, tn)
	if tenant.ErrorCode(err) != tenant.ECapacity {
		if c != nil {
			c.Release()
		}
		t.Fatalf("second connection past the role's limit: %v, want capacity_exhausted", err)
	}
	if strings.Contains(err.Error(), "too many") {
		t.Errorf("PostgreSQL's text reaches the caller: %q", err)
	}
	recs := sink.records(t)
	if len(recs) != 1 || !strings.Contains(fmt.Sprint(recs[0]["err"]), "too many connections") {
		t.Errorf("log %v, want one line with the cause", recs)
	}
}

// TestFailureLogWithoutRequestLogger: outside a request (no logger on the
// context) the manager's logger is used, with the tenant added.
func TestFailureLogWithoutRequestLogger(t *testing.T) {
	var sink logSink
	m := New(Config{Logger: sink.logger()}, func(context.Context, *tenant.Tenant) (Target, error) {
		return Target{}, errors.New("no target today")
	})
	defer m.Close()
	tn := tenants(1)[0]
	_, err := m.Acquire(platformtest.Context(t), tn)
	checkUnavailable(t, err, "no target today")
	recs := sink.records(t)
	if len(recs) != 1 || recs[0]["tenant"] != tn.Slug || recs[0]["err"] != "no target today" {
		t.Errorf("log = %v, want one line with tenant %s and the cause", recs, tn.Slug)
	}
}

// TestFailuresLogStateChanges: a tenant failing N times in a row makes one
// WARN line, a summary with the count once the period has passed, and one
// INFO line when it recovers.
func TestFailuresLogStateChanges(t *testing.T) {
	target, _ := testDB(t)
	var mu sync.Mutex
	tg := target
	tg.Port = closedPort(t)
	m := New(Config{}, func(context.Context, *tenant.Tenant) (Target, error) {
		mu.Lock()
		defer mu.Unlock()
		return tg, nil
	})
	defer m.Close()
	var sink logSink
	log := sink.logger()
	ts := tenants(2)
	const n = 50
	for i := range n {
		for _, tn := range ts {
			_, err := m.Acquire(requestContext(t, log, tn, "req-"+strconv.Itoa(i)), tn)
			checkUnavailable(t, err, "connect")
		}
		// Each failed pool is closed by nobody: the next Acquire reuses it
		// and fails again, like requests during an outage.
	}
	recs := sink.records(t)
	if len(recs) > 2 {
		t.Fatalf("%d failures of 2 tenants made %d log lines, want 1 each: %v", 2*n, len(recs), recs)
	}
	for i, tn := range ts {
		if len(recs) != 2 || recs[i]["tenant"] != tn.Slug || recs[i]["level"] != "WARN" || recs[i]["request_id"] != "req-0" {
			t.Fatalf("log = %v, want one WARN per tenant, on its first failure", recs)
		}
	}

	// Past the period, the next failure writes one summary with the count.
	m.health.mu.Lock()
	m.health.byTenant.Range(func(_, v any) bool {
		f := v.(*failure)
		f.logged = f.logged.Add(-failLogEvery)
		return true
	})
	m.health.mu.Unlock()
	for range 3 {
		if _, err := m.Acquire(requestContext(t, log, ts[0], "req-late"), ts[0]); err == nil {
			t.Fatal("connected to a closed port")
		}
	}
	recs = sink.records(t)[2:]
	if len(recs) != 1 || recs[0]["level"] != "WARN" || recs[0]["tenant"] != ts[0].Slug || recs[0]["failures"] != float64(n) {
		t.Fatalf("summary lines %v, want one WARN counting the %d failures since the first line", recs, n)
	}

	// The database comes back: one INFO line, then nothing per request.
	mu.Lock()
	tg = target
	mu.Unlock()
	m.Evict(ts[0].ID) // the pool of the failing target; a rotation evicts like this
	for range 5 {
		if err := query(requestContext(t, log, ts[0], "req-ok"), m, ts[0]); err != nil {
			t.Fatal(err)
		}
	}
	recs = sink.records(t)[3:]
	if len(recs) != 1 || recs[0]["level"] != "INFO" || recs[0]["tenant"] != ts[0].Slug || recs[0]["failures"] != float64(n+3) {
		t.Fatalf("after recovery: %v, want one INFO line with the %d failures", recs, n+3)
	}
	if got := m.health.failing.Load(); got != 1 {
		t.Errorf("%d tenants counted as failing, want 1 (the other still fails)", got)
	}
}

// TestCancelledRequest: a request whose context ends gets ctx.Err(), not
// tenant_unavailable, and logs nothing, both before and while waiting.
func TestCancelledRequest(t *testing.T) {
	target, _ := testDB(t)
	var sink logSink
	m := New(Config{MaxConnsPerTenant: 1, BudgetWait: time.Minute, Logger: sink.logger()},
		func(context.Context, *tenant.Tenant) (Target, error) { return target, nil })
	defer m.Close()
	tn := tenants(1)[0]

	ctx, cancel := context.WithCancel(platformtest.Context(t))
	cancel()
	if _, err := m.Acquire(ctx, tn); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled before: %v, want context.Canceled", err)
	}

	held, err := m.Acquire(platformtest.Context(t), tn)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release()
	ctx, cancel = context.WithCancel(platformtest.Context(t))
	done := make(chan error, 1)
	go func() {
		_, err := m.Acquire(ctx, tn)
		done <- err
	}()
	m.mu.Lock()
	e := m.pools[tn.ID]
	m.mu.Unlock()
	platformtest.Eventually(t, 5*time.Second, "second Acquire waiting for the tenant's connection", func() bool {
		_, _, _, waiting := e.own.stats()
		return waiting == 1
	})
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled while waiting: %v, want context.Canceled", err)
	}
	if recs := sink.records(t); len(recs) != 0 {
		t.Errorf("cancelled requests logged %v", recs)
	}
}

// TestFailingTenantsBounded: the memory of failing tenants is bounded;
// the one logged longest ago is forgotten first.
func TestFailingTenantsBounded(t *testing.T) {
	m := New(Config{}, func(context.Context, *tenant.Tenant) (Target, error) {
		return Target{}, errors.New("down")
	})
	defer m.Close()
	ctx := platformtest.Context(t)
	for i := range maxFailing + 5 {
		tn := &tenant.Tenant{ID: "id-" + strconv.Itoa(i), Slug: "t-" + strconv.Itoa(i)}
		if _, err := m.Acquire(ctx, tn); tenant.ErrorCode(err) != tenant.ETenantUnavailable {
			t.Fatal(err)
		}
	}
	if n := m.health.failing.Load(); n != maxFailing {
		t.Errorf("%d failing tenants remembered, want the cap of %d", n, maxFailing)
	}
	if _, ok := m.health.byTenant.Load("id-" + strconv.Itoa(maxFailing+4)); !ok {
		t.Error("the latest failing tenant was forgotten")
	}
}

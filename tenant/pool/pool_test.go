package pool

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/tenant"
)

// testDB makes a database and a login role for the pools to connect to;
// "tenants" in these tests share it, since budgets count connections, not
// databases.
func testDB(t testing.TB) (Target, func(context.Context) int) {
	t.Helper()
	ctx := platformtest.Context(t)
	admin := platformtest.Admin(t)
	name := "platformtest_pool_" + platformtest.Rand(8)
	if err := admin.EnsureLoginRole(ctx, name, "pw-"+name, -1); err != nil {
		t.Fatal(err)
	}
	if err := admin.CreateDatabase(ctx, name, name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		admin.DropDatabase(context.Background(), name)
		admin.DropRole(context.Background(), name)
	})
	count := func(ctx context.Context) int {
		var n int
		err := admin.In(ctx, "postgres", "", func(c *pgx.Conn) error {
			return c.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = $1`, name).Scan(&n)
		})
		if err != nil {
			t.Error(err)
		}
		return n
	}
	return Target{Server: "default", Host: admin.Host(), Port: int(admin.Port()), Database: name, User: name, Password: "pw-" + name}, count
}

func tenants(n int) []*tenant.Tenant {
	ts := make([]*tenant.Tenant, n)
	for i := range ts {
		ts[i] = &tenant.Tenant{ID: fmt.Sprintf("id-%d", i), Slug: fmt.Sprintf("t-%d", i)}
	}
	return ts
}

func query(ctx context.Context, m *Manager, t *tenant.Tenant) error {
	c, err := m.Acquire(ctx, t)
	if err != nil {
		return err
	}
	defer c.Release()
	var one int
	return c.QueryRow(ctx, `SELECT 1 FROM pg_sleep(0.002)`).Scan(&one)
}

// TestBudgetNeverExceeded drives 40 tenants at once through a budget of 6
// and samples the server's own count of connections meanwhile.
func TestBudgetNeverExceeded(t *testing.T) {
	target, _ := testDB(t)
	m := New(Config{Budget: 6, BudgetWait: 10 * time.Second}, func(context.Context, *tenant.Tenant) (Target, error) { return target, nil })
	defer m.Close()
	ctx := platformtest.Context(t)

	stop := platformtest.PeakConnections(t, "datname = $1", target.Database)
	ts := tenants(40)
	var wg sync.WaitGroup
	var failures atomic.Int32
	for i := range 400 {
		wg.Go(func() {
			if err := query(ctx, m, ts[i%len(ts)]); err != nil {
				failures.Add(1)
				t.Log(err)
			}
		})
	}
	wg.Wait()
	peak := stop()
	st := m.Stats().Servers["default"]
	t.Logf("server peak %d, budget peak %d, pools %d", peak, st.Peak, m.Stats().Pools)
	if failures.Load() != 0 {
		t.Errorf("%d of 400 queries failed", failures.Load())
	}
	if peak > 6 || st.Peak > 6 {
		t.Errorf("connections: server saw %d, budget saw %d; budget is 6", peak, st.Peak)
	}
	if st.Peak == 0 || peak == 0 {
		t.Error("no connection was ever counted: the test measured nothing")
	}
}

func TestCapacityExhaustedThenReclaimed(t *testing.T) {
	target, _ := testDB(t)
	m := New(Config{Budget: 1, BudgetWait: 100 * time.Millisecond}, func(context.Context, *tenant.Tenant) (Target, error) { return target, nil })
	defer m.Close()
	ctx := platformtest.Context(t)
	ts := tenants(2)

	held, err := m.Acquire(ctx, ts[0])
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release() // before m.Close, which waits for it (Release twice is a no-op)
	start := time.Now()
	_, err = m.Acquire(ctx, ts[1])
	if tenant.ErrorCode(err) != tenant.ECapacity {
		t.Fatalf("second tenant with the budget full: %v, want capacity_exhausted", err)
	}
	if waited := time.Since(start); waited < 100*time.Millisecond {
		t.Errorf("gave up after %v, before BudgetWait", waited)
	}
	// Tenant 0's connection goes back to its pool, idle: tenant 1 gets the
	// slot by closing it.
	held.Release()
	if err := query(ctx, m, ts[1]); err != nil {
		t.Fatalf("after release: %v", err)
	}
	if s := m.Stats().Servers["default"]; s.InUse != 1 || s.Peak != 1 {
		t.Errorf("stats = %+v", s)
	}
}

func TestLRUCapAndIdleClose(t *testing.T) {
	target, count := testDB(t)
	m := New(Config{MaxPools: 3, IdleTimeout: 300 * time.Millisecond}, func(context.Context, *tenant.Tenant) (Target, error) { return target, nil })
	defer m.Close()
	ctx := platformtest.Context(t)
	for _, tn := range tenants(5) {
		if err := query(ctx, m, tn); err != nil {
			t.Fatal(err)
		}
	}
	if n := m.Stats().Pools; n != 3 {
		t.Errorf("pools = %d, want the cap of 3", n)
	}
	platformtest.Eventually(t, 5*time.Second, "idle pools closed and their connections gone", func() bool {
		return m.Stats().Pools == 0 && count(ctx) == 0
	})
	if s := m.Stats().Servers["default"]; s.InUse != 0 {
		t.Errorf("budget still counts %d connections after every pool closed", s.InUse)
	}
}

func TestResolveErrorAndBadPassword(t *testing.T) {
	target, _ := testDB(t)
	ctx := platformtest.Context(t)
	m := New(Config{}, func(_ context.Context, tn *tenant.Tenant) (Target, error) {
		if tn.ID == "id-0" {
			return Target{}, tenant.Errorf(tenant.EUnavailable, "secrets unavailable")
		}
		bad := target
		bad.Database = "no_such_database_" + platformtest.Rand(6)
		return bad, nil
	})
	defer m.Close()
	ts := tenants(2)
	if _, err := m.Acquire(ctx, ts[0]); tenant.ErrorCode(err) != tenant.ETenantUnavailable {
		t.Errorf("resolve error: %v", err)
	}
	if _, err := m.Acquire(ctx, ts[1]); tenant.ErrorCode(err) != tenant.ETenantUnavailable {
		t.Errorf("missing database: %v, want tenant_unavailable", err)
	}
	// A failed connection gives its slot back (once the server has closed).
	platformtest.Eventually(t, 3*time.Second, "failed connections give their slots back", func() bool {
		return m.Stats().Servers["default"].InUse == 0
	})
}

// TestBusyTenantWaitsForItsOwn: with the budget full, a tenant that has
// connections waits for one of them rather than closing another tenant's
// idle connection; a tenant with none takes the least recently used idle one.
func TestBusyTenantWaitsForItsOwn(t *testing.T) {
	target, _ := testDB(t)
	m := New(Config{Budget: 2, BudgetWait: 5 * time.Second}, func(context.Context, *tenant.Tenant) (Target, error) { return target, nil })
	defer m.Close()
	ctx := platformtest.Context(t)
	ts := tenants(3)
	a, b, cold := ts[0], ts[1], ts[2]
	held, err := m.Acquire(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release()                     // before m.Close, which waits for it (Release twice is a no-op)
	if err := query(ctx, m, b); err != nil { // b keeps one idle connection
		t.Fatal(err)
	}
	idleOf := func(tn *tenant.Tenant) int32 {
		m.mu.Lock()
		defer m.mu.Unlock()
		return m.pools[tn.ID].pool.Stat().IdleConns()
	}
	done := make(chan error, 1)
	go func() { done <- query(ctx, m, a) }() // a needs a second connection
	// a waits for its own connection, round after round, and takes none of b's.
	m.mu.Lock()
	ea := m.pools[a.ID]
	m.mu.Unlock()
	platformtest.Eventually(t, 5*time.Second, "a waiting for its own connection", func() bool { return ea.ownRounds.Load() >= 5 })
	if n := idleOf(b); n != 1 {
		t.Fatalf("b's idle connection was closed for busy tenant a (b idle = %d)", n)
	}
	held.Release()
	if err := <-done; err != nil {
		t.Fatalf("a's second query: %v", err)
	}
	if n := idleOf(b); n != 1 {
		t.Errorf("b idle = %d after a was served by its own connection", n)
	}
	// A tenant without connections makes room from the least recently
	// used idle ones (b's is older than a's).
	if err := query(ctx, m, cold); err != nil {
		t.Fatalf("cold tenant: %v", err)
	}
	if n := idleOf(b); n != 0 {
		t.Errorf("b idle = %d, want its connection reclaimed for the cold tenant", n)
	}
	if s := m.Stats().Servers["default"]; s.Peak > 2 {
		t.Errorf("budget peak %d > 2", s.Peak)
	}
}

func TestServerSideLimits(t *testing.T) {
	target, _ := testDB(t)
	m := New(Config{StatementTimeout: 50 * time.Millisecond}, func(context.Context, *tenant.Tenant) (Target, error) { return target, nil })
	defer m.Close()
	ctx := platformtest.Context(t)
	c, err := m.Acquire(ctx, tenants(1)[0])
	if err != nil {
		t.Fatal(err)
	}
	defer c.Release()
	var app string
	if err := c.QueryRow(ctx, `SHOW application_name`).Scan(&app); err != nil {
		t.Fatal(err)
	}
	if app != "platform:t-0" {
		t.Errorf("application_name = %q", app)
	}
	// A runaway statement is ended by the server, not left holding a slot.
	if _, err := c.Exec(ctx, `SELECT pg_sleep(5)`); err == nil || !strings.Contains(err.Error(), "statement timeout") {
		t.Errorf("pg_sleep(5) with a 50 ms statement_timeout: %v", err)
	}
}

package pool

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/tenant"
)

// acquireWithin runs Acquire with a context that ends after limit, so that
// a wait that is not bounded fails the test instead of hanging it.
func acquireWithin(t *testing.T, m *Manager, tn *tenant.Tenant, limit time.Duration) (*pgxpool.Conn, time.Duration, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(platformtest.Context(t), limit)
	defer cancel()
	start := time.Now()
	c, err := m.Acquire(ctx, tn)
	return c, time.Since(start), err
}

// TestOwnConnectionsWaitIsBounded: a tenant at MaxConnsPerTenant with all
// its connections in use waits BudgetWait for one, then gets
// capacity_exhausted (before, pgxpool's Acquire waited as long as the
// request's context, and requests have no deadline).
func TestOwnConnectionsWaitIsBounded(t *testing.T) {
	target, _ := testDB(t)
	const wait = 200 * time.Millisecond
	m := New(Config{MaxConnsPerTenant: 1, BudgetWait: wait}, func(context.Context, *tenant.Tenant) (Target, error) { return target, nil })
	defer m.Close()
	tn := tenants(1)[0]
	held, err := m.Acquire(platformtest.Context(t), tn)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release() // before m.Close, which waits for it (Release twice is a no-op)
	c, took, err := acquireWithin(t, m, tn, 10*time.Second)
	if tenant.ErrorCode(err) != tenant.ECapacity {
		if c != nil {
			c.Release()
		}
		t.Fatalf("second Acquire with the tenant's only connection in use: %v after %v, want capacity_exhausted", err, took)
	}
	if took < wait || took > wait+2*time.Second {
		t.Errorf("gave up after %v, want about BudgetWait (%v)", took, wait)
	}
	// The slot comes back with the connection: the next Acquire is served.
	held.Release()
	c, _, err = acquireWithin(t, m, tn, 10*time.Second)
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	c.Release()
}

// TestOwnWaiterServedOnRelease: a request waiting for one of its tenant's
// connections gets it as soon as it comes back.
func TestOwnWaiterServedOnRelease(t *testing.T) {
	target, _ := testDB(t)
	m := New(Config{MaxConnsPerTenant: 1, BudgetWait: time.Minute}, func(context.Context, *tenant.Tenant) (Target, error) { return target, nil })
	defer m.Close()
	tn := tenants(1)[0]
	held, err := m.Acquire(platformtest.Context(t), tn)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release() // before m.Close, which waits for it (Release twice is a no-op)
	done := make(chan error, 1)
	go func() {
		c, _, err := acquireWithin(t, m, tn, 30*time.Second)
		if err == nil {
			c.Release()
		}
		done <- err
	}()
	e := entryOf(m, tn)
	platformtest.Eventually(t, 5*time.Second, "a waiter for the tenant's connection", func() bool {
		_, _, _, waiting := e.own.stats()
		return waiting == 1
	})
	held.Release()
	if err := <-done; err != nil {
		t.Errorf("waiter after the connection came back: %v", err)
	}
	if n, _, _, _ := e.own.stats(); n != 0 {
		t.Errorf("%d slots held with every connection released", n)
	}
}

// TestOwnBusyWaitIsBounded: the budget is full and the tenant has a
// connection, all in use (the errOwnBusy path): capacity_exhausted after
// about BudgetWait.
func TestOwnBusyWaitIsBounded(t *testing.T) {
	target, _ := testDB(t)
	const wait = 200 * time.Millisecond
	m := New(Config{Budget: 1, BudgetWait: wait}, func(context.Context, *tenant.Tenant) (Target, error) { return target, nil })
	defer m.Close()
	tn := tenants(1)[0]
	held, err := m.Acquire(platformtest.Context(t), tn)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release()
	c, took, err := acquireWithin(t, m, tn, 10*time.Second)
	if tenant.ErrorCode(err) != tenant.ECapacity {
		if c != nil {
			c.Release()
		}
		t.Fatalf("Acquire with the budget full of the tenant's own: %v after %v, want capacity_exhausted", err, took)
	}
	if took < wait || took > wait+2*time.Second {
		t.Errorf("gave up after %v, want about BudgetWait (%v)", took, wait)
	}
	if r := entryOf(m, tn).ownRounds.Load(); r == 0 {
		t.Error("the wait did not go through the wait for own connections")
	}
}

// TestBudgetWaitCutByConnectTimeout: a dial waiting for the budget longer
// than ConnectTimeout (which bounds the whole connect) is cut by it; that
// is still capacity_exhausted, not tenant_unavailable.
func TestBudgetWaitCutByConnectTimeout(t *testing.T) {
	target, _ := testDB(t)
	var sink logSink
	m := New(Config{Budget: 1, BudgetWait: time.Minute, ConnectTimeout: 300 * time.Millisecond, Logger: sink.logger()},
		func(context.Context, *tenant.Tenant) (Target, error) { return target, nil })
	defer m.Close()
	ts := tenants(2)
	held, err := m.Acquire(platformtest.Context(t), ts[0])
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release() // before m.Close, which waits for it (Release twice is a no-op)
	c, took, err := acquireWithin(t, m, ts[1], 10*time.Second)
	if tenant.ErrorCode(err) != tenant.ECapacity {
		if c != nil {
			c.Release()
		}
		t.Fatalf("dial waiting past ConnectTimeout: %v after %v, want capacity_exhausted", err, took)
	}
	if recs := sink.records(t); len(recs) != 0 {
		t.Errorf("capacity logged as a tenant failure: %v", recs)
	}
}

func entryOf(m *Manager, tn *tenant.Tenant) *entry {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.pools[tn.ID]
}

func currentDatabase(t *testing.T, m *Manager, tn *tenant.Tenant) string {
	t.Helper()
	ctx := platformtest.Context(t)
	c, err := m.Acquire(ctx, tn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Release()
	var db string
	if err := c.QueryRow(ctx, `SELECT current_database()`).Scan(&db); err != nil {
		t.Fatal(err)
	}
	return db
}

// TestEvictWhileOpening: an Evict that comes while the tenant's pool is
// being opened (its target already read: the old database or password)
// makes that pool unused; the next Acquire sees the new target.
func TestEvictWhileOpening(t *testing.T) {
	oldTarget, _ := testDB(t)
	newTarget, _ := testDB(t)
	var current atomic.Pointer[Target]
	current.Store(&oldTarget)
	var resolves atomic.Int32
	gate := make(chan struct{})
	var once sync.Once
	m := New(Config{}, func(ctx context.Context, _ *tenant.Tenant) (Target, error) {
		tg := *current.Load()
		if resolves.Add(1) == 1 {
			<-gate // the first opening holds the old target until Evict
		}
		return tg, nil
	})
	defer m.Close()
	defer once.Do(func() { close(gate) })
	tn := tenants(1)[0]

	first := make(chan string, 1)
	go func() {
		c, err := m.Acquire(platformtest.Context(t), tn)
		if err != nil {
			t.Error(err)
			first <- ""
			return
		}
		defer c.Release()
		var db string
		if err := c.QueryRow(context.Background(), `SELECT current_database()`).Scan(&db); err != nil {
			t.Error(err)
		}
		first <- db
	}()
	platformtest.Eventually(t, 5*time.Second, "the pool being opened", func() bool { return resolves.Load() == 1 })
	// The password rotates, or the database moves: the resolver evicts.
	current.Store(&newTarget)
	m.Evict(tn.ID)
	once.Do(func() { close(gate) })

	if db := <-first; db != newTarget.Database {
		t.Errorf("the Acquire under way got %q, want the new target %q", db, newTarget.Database)
	}
	if db := currentDatabase(t, m, tn); db != newTarget.Database {
		t.Errorf("after Evict during opening, Acquire connects to %q, want the new target %q", db, newTarget.Database)
	}
	if n := m.Stats().Pools; n != 1 {
		t.Errorf("%d pools, want 1", n)
	}
}

// TestSetBudgetGrowFreesWaiters: a dial waiting for a slot goes through as
// soon as the budget grows.
func TestSetBudgetGrowFreesWaiters(t *testing.T) {
	target, _ := testDB(t)
	m := New(Config{Budget: 1, BudgetWait: 20 * time.Second, ConnectTimeout: 25 * time.Second}, func(context.Context, *tenant.Tenant) (Target, error) { return target, nil })
	defer m.Close()
	ts := tenants(2)
	held, err := m.Acquire(platformtest.Context(t), ts[0])
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release()
	done := make(chan error, 1)
	go func() {
		c, _, err := acquireWithin(t, m, ts[1], 30*time.Second)
		if err == nil {
			c.Release()
		}
		done <- err
	}()
	b := m.Budget("default")
	platformtest.Eventually(t, 5*time.Second, "a dial waiting for the budget", func() bool { return b.Waiting() == 1 })
	start := time.Now()
	m.SetBudget("default", 2)
	if err := <-done; err != nil {
		t.Fatalf("waiter after the budget grew: %v", err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("waiter served %v after the budget grew", took)
	}
	if s := m.Stats().Servers["default"]; s.Budget != 2 || s.Peak != 2 {
		t.Errorf("stats %+v, want budget 2 and peak 2", s)
	}
}

// TestSetBudgetShrink: shrinking closes no connection in use, opens no
// new one until fewer than the limit are open, and reclaims idle ones for
// waiting dials as usual.
func TestSetBudgetShrink(t *testing.T) {
	target, count := testDB(t)
	ctx := platformtest.Context(t)
	m := New(Config{Budget: 3, BudgetWait: 300 * time.Millisecond}, func(context.Context, *tenant.Tenant) (Target, error) { return target, nil })
	defer m.Close()
	ts := tenants(3)
	a, err := m.Acquire(ctx, ts[0])
	if err != nil {
		t.Fatal(err)
	}
	defer a.Release() // before m.Close, which waits for it (Release twice is a no-op)
	b, err := m.Acquire(ctx, ts[1])
	if err != nil {
		t.Fatal(err)
	}
	defer b.Release()
	m.SetBudget("default", 1)
	for _, c := range []*pgxpool.Conn{a, b} {
		if _, err := c.Exec(ctx, `SELECT 1`); err != nil {
			t.Errorf("a connection in use after the shrink: %v", err)
		}
	}
	if c, _, err := acquireWithin(t, m, ts[2], 10*time.Second); tenant.ErrorCode(err) != tenant.ECapacity {
		if c != nil {
			c.Release()
		}
		t.Fatalf("a third tenant with 2 open and a budget of 1: %v, want capacity_exhausted", err)
	}
	if s := m.Stats().Servers["default"]; s.InUse != 2 || s.Budget != 1 {
		t.Errorf("stats %+v, want 2 in use of a budget of 1", s)
	}
	// Both go idle: the third tenant's dial reclaims them until under the limit.
	a.Release()
	b.Release()
	if err := query(ctx, m, ts[2]); err != nil {
		t.Fatalf("third tenant once the others are idle: %v", err)
	}
	platformtest.Eventually(t, 5*time.Second, "one connection left on the server", func() bool {
		return count(ctx) == 1 && m.Stats().Servers["default"].InUse == 1
	})
}

// TestEvictServer: every pool of the server closes (a connection in use
// stays usable until released); other servers' pools stay; the next
// Acquire opens a pool on the server's new address.
func TestEvictServer(t *testing.T) {
	oldTarget, count := testDB(t)
	newTarget, _ := testDB(t)
	other := oldTarget
	other.Server = "other"
	var moved atomic.Bool
	m := New(Config{}, func(_ context.Context, tn *tenant.Tenant) (Target, error) {
		switch {
		case tn.ID == "id-2":
			return other, nil
		case moved.Load():
			return newTarget, nil
		}
		return oldTarget, nil
	})
	defer m.Close()
	ctx := platformtest.Context(t)
	ts := tenants(3)
	held, err := m.Acquire(ctx, ts[0])
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release() // before m.Close, which waits for it (Release twice is a no-op)
	for _, tn := range ts[1:] {
		if err := query(ctx, m, tn); err != nil {
			t.Fatal(err)
		}
	}
	moved.Store(true)
	m.EvictServer("default")
	if n := m.Stats().Pools; n != 1 {
		t.Errorf("%d pools after EvictServer, want only the other server's", n)
	}
	if _, err := held.Exec(ctx, `SELECT 1`); err != nil {
		t.Errorf("the connection in use: %v", err)
	}
	held.Release()
	platformtest.Eventually(t, 5*time.Second, "the default server's connections closed", func() bool {
		return count(ctx) == 1 && m.Stats().Servers["default"].InUse == 0 // the other server's one idle
	})
	for _, tn := range ts[:2] {
		if db := currentDatabase(t, m, tn); db != newTarget.Database {
			t.Errorf("%s after the move: connected to %q, want %q", tn.Slug, db, newTarget.Database)
		}
	}
	if db := currentDatabase(t, m, ts[2]); db != other.Database {
		t.Errorf("other server's tenant: %q", db)
	}
}

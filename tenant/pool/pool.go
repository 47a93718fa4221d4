// Package pool keeps one small pgx pool per tenant, opened lazily as the
// tenant's own login role, closed when idle, least-recently-used pools
// evicted beyond a cap, and every pool of a database server sharing that
// server's connection budget.
package pool

import (
	"container/list"
	"context"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tenancy/platform/tenant"
)

// Target says how to reach one tenant's database.
type Target struct {
	Server   string // database server name; budgets are per server
	Host     string
	Port     int
	Database string
	User     string
	Password string
}

// Config tunes the manager; zero values take the defaults.
type Config struct {
	MaxConnsPerTenant int32         // default 4
	IdleTimeout       time.Duration // a pool unused this long is closed; default 5 min
	MaxPools          int           // LRU cap on open pools; default 1000
	Budget            int           // connections per database server; default 80
	BudgetWait        time.Duration // wait for a free slot before capacity_exhausted; default 3 s
	ConnectTimeout    time.Duration // default 5 s
	StatementTimeout  time.Duration // server-side limit of one statement; default 15 s
	// Budgets overrides Budget per database server name.
	Budgets map[string]int
	Logger  *slog.Logger
}

// Resolve returns the connection target of a tenant (its password from
// the secrets cache).
type Resolve func(ctx context.Context, t *tenant.Tenant) (Target, error)

// Manager owns the tenant pools.
type Manager struct {
	cfg     Config
	resolve Resolve
	log     *slog.Logger

	mu         sync.Mutex
	reclaiming sync.Mutex
	pools      map[string]*entry // by tenant id
	lru        *list.List        // of *entry, most recent at front
	budgets    map[string]*Budget
	opening    map[string]*opening // pools being opened, so concurrent misses open one
	closed     bool
	stop       chan struct{}
	done       chan struct{}
}

type entry struct {
	open     atomic.Int32 // connections open to the server
	tenantID string
	server   string
	pool     *pgxpool.Pool
	lastUsed time.Time
	elem     *list.Element
}

type opening struct {
	done chan struct{}
	e    *entry
	err  error
}

// New returns a manager; Close it to close every pool.
func New(cfg Config, resolve Resolve) *Manager {
	if cfg.MaxConnsPerTenant == 0 {
		cfg.MaxConnsPerTenant = 4
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = 5 * time.Minute
	}
	if cfg.MaxPools == 0 {
		cfg.MaxPools = 1000
	}
	if cfg.Budget == 0 {
		cfg.Budget = 80
	}
	if cfg.BudgetWait == 0 {
		cfg.BudgetWait = 3 * time.Second
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 5 * time.Second
	}
	if cfg.StatementTimeout == 0 {
		cfg.StatementTimeout = 15 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	m := &Manager{cfg: cfg, resolve: resolve, log: cfg.Logger,
		pools: map[string]*entry{}, lru: list.New(), budgets: map[string]*Budget{}, opening: map[string]*opening{},
		stop: make(chan struct{}), done: make(chan struct{})}
	go m.sweep()
	return m
}

// Budget returns the budget of a database server.
func (m *Manager) Budget(server string) *Budget {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.budgetLocked(server)
}

func (m *Manager) budgetLocked(server string) *Budget {
	b, ok := m.budgets[server]
	if !ok {
		limit := m.cfg.Budget
		if n, ok := m.cfg.Budgets[server]; ok {
			limit = n
		}
		b = NewBudget(limit)
		b.reclaim = func(except string, n int) { m.reclaim(server, except, n) }
		m.budgets[server] = b
	}
	return b
}

// Acquire returns a connection to the tenant's database; Release it when
// done. When the server's budget is exhausted for longer than BudgetWait
// it fails with code capacity_exhausted.
func (m *Manager) Acquire(ctx context.Context, t *tenant.Tenant) (*pgxpool.Conn, error) {
	e, err := m.get(ctx, t)
	if err != nil {
		return nil, err
	}
	c, err := e.pool.Acquire(ctx)
	if errors.Is(err, errOwnBusy) {
		c, err = m.awaitOwn(ctx, e)
	}
	if err != nil {
		var te *tenant.Error
		if errors.As(err, &te) {
			return nil, te // capacity_exhausted from the dialer
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		m.log.WarnContext(ctx, "tenant database connection failed", "tenant", t.Slug, "err", err)
		return nil, tenant.Errorf(tenant.EUnavailable, "the database of this account is unavailable; try again shortly")
	}
	return c, nil
}

func (m *Manager) get(ctx context.Context, t *tenant.Tenant) (*entry, error) {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil, errors.New("pool manager closed")
	}
	if e, ok := m.pools[t.ID]; ok {
		e.lastUsed = time.Now()
		m.lru.MoveToFront(e.elem)
		m.mu.Unlock()
		return e, nil
	}
	if op, ok := m.opening[t.ID]; ok {
		m.mu.Unlock()
		select {
		case <-op.done:
			return op.e, op.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	op := &opening{done: make(chan struct{})}
	m.opening[t.ID] = op
	m.mu.Unlock()

	op.e, op.err = m.open(ctx, t)

	m.mu.Lock()
	delete(m.opening, t.ID)
	var evict []*entry
	if op.err == nil {
		if m.closed {
			op.e.pool.Close()
			op.err = errors.New("pool manager closed")
		} else {
			m.pools[t.ID] = op.e
			op.e.elem = m.lru.PushFront(op.e)
			for m.lru.Len() > m.cfg.MaxPools {
				evict = append(evict, m.removeLocked(m.lru.Back().Value.(*entry)))
			}
		}
	}
	m.mu.Unlock()
	close(op.done)
	closeAll(evict)
	return op.e, op.err
}

// awaitOwn acquires a connection for a tenant that has some while the
// budget is full: it takes the first of them to come back idle, or a new
// one if a slot frees up, within BudgetWait.
func (m *Manager) awaitOwn(ctx context.Context, e *entry) (*pgxpool.Conn, error) {
	deadline := time.Now().Add(m.cfg.BudgetWait)
	for {
		c, err := e.pool.Acquire(ctx)
		if !errors.Is(err, errOwnBusy) {
			return c, err
		}
		if time.Now().After(deadline) {
			return nil, tenant.Errorf(tenant.ECapacity, "no database connection available: try again shortly")
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(reclaimEvery):
		}
	}
}

// open builds the tenant's pool; no connection is made until a query needs one.
func (m *Manager) open(ctx context.Context, t *tenant.Tenant) (*entry, error) {
	target, err := m.resolve(ctx, t)
	if err != nil {
		return nil, err
	}
	cc, err := pgx.ParseConfig("")
	if err != nil {
		return nil, err
	}
	cc.Host, cc.Port = target.Host, uint16(target.Port)
	cc.Database, cc.User, cc.Password = target.Database, target.User, target.Password
	cc.ConnectTimeout = m.cfg.ConnectTimeout
	cc.TLSConfig = nil // loopback and private networks; TLS comes with placement
	cc.Fallbacks = nil
	// Limits enforced by the server: no request holds a connection (and a
	// slot of the budget) for long, whatever the handler does.
	cc.RuntimeParams = map[string]string{
		"application_name":                    "platform:" + t.Slug,
		"statement_timeout":                   strconv.FormatInt(m.cfg.StatementTimeout.Milliseconds(), 10),
		"idle_in_transaction_session_timeout": strconv.FormatInt(4*m.cfg.StatementTimeout.Milliseconds(), 10),
	}
	m.mu.Lock()
	budget := m.budgetLocked(target.Server)
	m.mu.Unlock()
	e := &entry{tenantID: t.ID, server: target.Server, lastUsed: time.Now()}
	cc.DialFunc = budget.dialer(t.ID, m.cfg.BudgetWait, &e.open)

	pc, err := pgxpool.ParseConfig("")
	if err != nil {
		return nil, err
	}
	pc.ConnConfig = cc
	pc.MaxConns = m.cfg.MaxConnsPerTenant
	pc.MinConns = 0
	pc.MaxConnIdleTime = m.cfg.IdleTimeout
	pc.HealthCheckPeriod = time.Minute
	p, err := pgxpool.NewWithConfig(context.WithoutCancel(ctx), pc)
	if err != nil {
		return nil, err
	}
	e.pool = p
	return e, nil
}

// removeLocked unlinks an entry; the caller closes its pool outside the
// lock (Close waits for acquired connections to come back).
func (m *Manager) removeLocked(e *entry) *entry {
	delete(m.pools, e.tenantID)
	m.lru.Remove(e.elem)
	return e
}

func closeAll(es []*entry) {
	for _, e := range es {
		go e.pool.Close()
	}
}

// Evict closes a tenant's pool now (suspended, deleted, password rotated).
func (m *Manager) Evict(tenantID string) {
	m.mu.Lock()
	e, ok := m.pools[tenantID]
	if ok {
		m.removeLocked(e)
	}
	m.mu.Unlock()
	if ok {
		closeAll([]*entry{e})
	}
}

// reclaim closes up to n idle connections of a server's pools, least
// recently used pool first. One reclaim runs at a time; waiters that find
// one running skip theirs and look again shortly.
func (m *Manager) reclaim(server, except string, n int) {
	if !m.reclaiming.TryLock() {
		return
	}
	defer m.reclaiming.Unlock()
	var victims []*pgxpool.Pool
	m.mu.Lock()
	found := 0
	for el := m.lru.Back(); el != nil && found < n; el = el.Prev() {
		e := el.Value.(*entry)
		if e.server == server && e.tenantID != except {
			if idle := int(e.pool.Stat().IdleConns()); idle > 0 {
				victims = append(victims, e.pool)
				found += idle
			}
		}
	}
	m.mu.Unlock()
	freed := 0
	for _, p := range victims {
		for _, c := range p.AcquireAllIdle(context.Background()) {
			if freed >= n {
				c.Release()
				continue
			}
			conn := c.Hijack()
			conn.Close(context.Background())
			freed++
		}
	}
}

// sweep closes pools unused for IdleTimeout.
func (m *Manager) sweep() {
	defer close(m.done)
	tick := time.NewTicker(m.cfg.IdleTimeout / 10)
	defer tick.Stop()
	for {
		select {
		case <-m.stop:
			return
		case now := <-tick.C:
			var idle []*entry
			m.mu.Lock()
			for el := m.lru.Back(); el != nil; {
				e := el.Value.(*entry)
				el = el.Prev()
				if now.Sub(e.lastUsed) < m.cfg.IdleTimeout {
					break
				}
				if e.pool.Stat().AcquiredConns() == 0 {
					idle = append(idle, m.removeLocked(e))
				}
			}
			m.mu.Unlock()
			closeAll(idle)
		}
	}
}

// Stats describes the manager for /readyz and metrics.
type Stats struct {
	Pools   int                    `json:"pools"`
	Servers map[string]ServerStats `json:"servers"`
}

// ServerStats is one database server's budget.
type ServerStats struct {
	Budget  int `json:"budget"`
	InUse   int `json:"in_use"`
	Peak    int `json:"peak"`
	Waiting int `json:"waiting"`
}

// Stats returns current figures.
func (m *Manager) Stats() Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := Stats{Pools: len(m.pools), Servers: map[string]ServerStats{}}
	for name, b := range m.budgets {
		s.Servers[name] = ServerStats{Budget: b.Limit(), InUse: b.InUse(), Peak: b.Peak(), Waiting: b.Waiting()}
	}
	return s
}

// Close closes every pool, waiting for acquired connections to come back.
func (m *Manager) Close() {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	m.closed = true
	var all []*entry
	for el := m.lru.Front(); el != nil; el = el.Next() {
		all = append(all, el.Value.(*entry))
	}
	m.pools = map[string]*entry{}
	m.lru.Init()
	m.mu.Unlock()
	close(m.stop)
	<-m.done
	var wg sync.WaitGroup
	for _, e := range all {
		wg.Go(e.pool.Close)
	}
	wg.Wait()
	// Slots come back once the server has closed each connection.
	for deadline := time.Now().Add(drainTimeout + time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if m.inUse() == 0 {
			return
		}
	}
}

func (m *Manager) inUse() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, b := range m.budgets {
		n += b.InUse()
	}
	return n
}

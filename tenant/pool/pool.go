// Package pool keeps one small pgx pool per tenant, opened lazily as the
// tenant's own login role, closed when idle, least-recently-used pools
// evicted beyond a cap, and every pool of a database server sharing that
// server's connection budget.
//
// What a caller of Manager.Acquire can get: a connection; capacity_exhausted
// after about BudgetWait (the server's budget is full, or the tenant's own
// connections are all in use; never more than twice BudgetWait, when a
// wait for its own connections turns into a wait for the budget);
// ctx.Err() when the request ends first;
// or tenant_unavailable with a fixed message for any other cause, which
// goes to the log by change of state (health.go), never to the caller.
//
// Changes at run time: Evict (a tenant changed: a pool being opened is
// not used either), EvictServer (a server's address changed) and
// SetBudget (a server's budget changed).
package pool

import (
	"cmp"
	"container/list"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
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
	// PreviousPassword, while a db_password rotation is half-way (the new
	// password in Vault, not yet on the server), is the one the role still
	// has: a connection refused with Password tries it.
	PreviousPassword string
}

// Config tunes the manager; zero values take the defaults.
type Config struct {
	MaxConnsPerTenant int32         // default 4
	IdleTimeout       time.Duration // a pool unused this long is closed; default 5 min
	MaxPools          int           // LRU cap on open pools; default 1000
	Budget            int           // connections per database server; default 80
	BudgetWait        time.Duration // wait for a free slot before capacity_exhausted; default 3 s (a dial's wait ends at ConnectTimeout too)
	ConnectTimeout    time.Duration // default 5 s
	StatementTimeout  time.Duration // server-side limit of one statement; default 15 s
	// MaxConnLifetime closes a connection this old when it is released;
	// default pgxpool's (1 h).
	MaxConnLifetime time.Duration
	// OnAuthFailure is called when a new connection of a tenant is refused
	// with invalid_password (28P01): its password was rotated. It must drop
	// the tenant's cached secrets; the connection is then tried once more
	// with what Resolve returns.
	OnAuthFailure func(t *tenant.Tenant)
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
	health  health

	mu         sync.Mutex
	reclaiming sync.Mutex
	pools      map[string]*entry // by tenant id
	lru        *list.List        // of *entry, most recent at front
	budgets    map[string]*Budget
	limits     map[string]int      // budget per server: Config.Budgets, then SetBudget
	opening    map[string]*opening // pools being opened, so concurrent misses open one
	services   serviceFile
	closed     bool
	stop       chan struct{}
	done       chan struct{}
}

type entry struct {
	open atomic.Int32 // connections open to the server
	// own counts the connections handed out to callers, at most
	// MaxConnsPerTenant: only holders of a slot enter pgxpool's Acquire,
	// so that never waits for a connection in use (which could take as
	// long as a request, and requests have no deadline). A caller that
	// finds no slot waits for one, bounded by BudgetWait. The slot comes
	// back in Release (releaseHook).
	own       *sem
	ownRounds atomic.Int64 // rounds spent waiting for an own connection (tests watch it)
	evicted   atomic.Bool  // removed from the manager; its pool is closing
	tenantID  string
	tenant    *tenant.Tenant
	server    string
	// password is what new connections log in with: the target's, until a
	// refusal makes acquireConn pick a fresh one.
	password atomic.Pointer[string]
	pool     *pgxpool.Pool
	lastUsed time.Time
	elem     *list.Element
}

// opening is one pool being opened. Its fields are set under Manager.mu;
// e and err are read by the callers waiting on done once it is closed.
type opening struct {
	done   chan struct{}
	server string // once resolved; EvictServer marks openings of its server stale
	// stale: an Evict (or EvictServer) came while this opening ran, so its
	// result may hold the old database or password and must not be used.
	stale bool
	e     *entry
	err   error
}

var (
	errClosed = errors.New("pool manager closed")
	// errStale: the pool being opened was evicted meanwhile; open again.
	errStale = errors.New("tenant pool evicted while it was being opened")
)

// maxAttempts bounds how often one Acquire opens again a pool that was
// evicted under it.
const maxAttempts = 3

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
		pools: map[string]*entry{}, lru: list.New(), budgets: map[string]*Budget{}, limits: maps.Clone(cfg.Budgets),
		opening: map[string]*opening{}, stop: make(chan struct{}), done: make(chan struct{})}
	if m.limits == nil {
		m.limits = map[string]int{}
	}
	m.health.every = failLogEvery
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
		if n, ok := m.limits[server]; ok {
			limit = n
		}
		b = NewBudget(limit)
		b.reclaim = func(except string, n int) { m.reclaim(server, except, n) }
		m.budgets[server] = b
	}
	return b
}

// SetBudget changes the connection budget of a database server at run
// time (its db_servers row changed); a limit of 0 or less means
// Config.Budget. Growing lets waiting dials through at once; shrinking
// closes no connection in use, but no new one opens until fewer than the
// new limit are open (idle ones are reclaimed for waiting dials as usual).
func (m *Manager) SetBudget(server string, limit int) {
	if limit <= 0 {
		limit = m.cfg.Budget
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.limits[server] = limit
	if b, ok := m.budgets[server]; ok {
		b.SetLimit(limit)
	}
}

// Acquire returns a connection to the tenant's database; Release it when
// done (never Hijack it: its slot among the tenant's connections comes
// back in Release).
//
// When no connection can be had within BudgetWait — the server's budget
// is exhausted, or the tenant's MaxConnsPerTenant connections are all in
// use — it fails with code capacity_exhausted. When ctx ends first it
// returns ctx.Err(). Every other failure (secrets missing or Vault down,
// unknown database server, dial or authentication error, manager closed)
// is tenant_unavailable with a fixed message: the cause goes to the log,
// once when the tenant starts failing, then at most once per
// failLogEvery with a count, and once at INFO when it recovers.
func (m *Manager) Acquire(ctx context.Context, t *tenant.Tenant) (*pgxpool.Conn, error) {
	c, err := m.acquire(ctx, t)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var te *tenant.Error
		if errors.As(err, &te) && te.Code == tenant.ECapacity {
			return nil, te
		}
		m.failed(ctx, t, err)
		// PostgreSQL's own "too many connections" (the server's
		// max_connections below the budget, or the role's CONNECTION
		// LIMIT) is capacity too; it is logged, being a misconfiguration.
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == pgerrcode.TooManyConnections {
			return nil, errCapacity()
		}
		return nil, tenant.Errorf(tenant.ETenantUnavailable, "this account is temporarily unavailable; try again shortly")
	}
	m.succeeded(ctx, t)
	return c, nil
}

func (m *Manager) acquire(ctx context.Context, t *tenant.Tenant) (*pgxpool.Conn, error) {
	for attempt := 1; ; attempt++ {
		retry := attempt < maxAttempts
		e, err := m.get(ctx, t)
		if err != nil {
			if errors.Is(err, errStale) && retry {
				continue
			}
			return nil, err
		}
		c, err := m.acquireFrom(ctx, e)
		// A pool evicted under us (tenant changed, server moved) is closing:
		// the next round opens the new one.
		if err != nil && retry && e.evicted.Load() && ctx.Err() == nil && tenant.ErrorCode(err) != tenant.ECapacity {
			continue
		}
		return c, err
	}
}

// acquireFrom takes one of the entry's slots, then a connection. The fast
// path (a slot free) arms no timer.
func (m *Manager) acquireFrom(ctx context.Context, e *entry) (*pgxpool.Conn, error) {
	var deadline time.Time
	if !e.own.tryAcquire() {
		deadline = time.Now().Add(m.cfg.BudgetWait)
		if err := m.awaitSlot(ctx, e, deadline); err != nil {
			return nil, err
		}
	}
	// Holding a slot, this cannot wait for a connection in use: the pool
	// has fewer than MaxConns of them handed out.
	c, err := m.acquireConn(ctx, e)
	if errors.Is(err, errOwnBusy) {
		if deadline.IsZero() {
			deadline = time.Now().Add(m.cfg.BudgetWait)
		}
		c, err = m.awaitOwn(ctx, e, deadline)
	}
	if err != nil {
		e.own.release()
		return nil, err
	}
	return c, nil
}

func errCapacity() error {
	return tenant.Errorf(tenant.ECapacity, "no database connection available: try again shortly")
}

// awaitSlot waits until deadline for one of the entry's slots.
func (m *Manager) awaitSlot(ctx context.Context, e *entry, deadline time.Time) error {
	w := e.own.enqueue()
	if w == nil {
		return nil
	}
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	select {
	case <-w.ready:
		return nil
	case <-timer.C:
		if e.own.cancel(w) {
			return nil
		}
		return errCapacity()
	case <-ctx.Done():
		if e.own.cancel(w) {
			e.own.release()
		}
		return ctx.Err()
	}
}

// awaitOwn acquires a connection for a tenant that has some while the
// budget is full: it takes the first of them to come back idle, or a new
// one if a slot frees up, until deadline.
func (m *Manager) awaitOwn(ctx context.Context, e *entry, deadline time.Time) (*pgxpool.Conn, error) {
	tick := time.NewTicker(reclaimEvery)
	defer tick.Stop()
	for {
		e.ownRounds.Add(1)
		if time.Now().After(deadline) {
			return nil, errCapacity()
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-tick.C:
		}
		c, err := m.acquireConn(ctx, e)
		if !errors.Is(err, errOwnBusy) {
			return c, err
		}
	}
}

// get returns the tenant's entry, opening its pool on a miss: one opening
// per tenant at a time, run detached from the callers (who each wait with
// their own context), so one caller giving up fails nobody else.
func (m *Manager) get(ctx context.Context, t *tenant.Tenant) (*entry, error) {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil, errClosed
	}
	if e, ok := m.pools[t.ID]; ok {
		e.lastUsed = time.Now()
		m.lru.MoveToFront(e.elem)
		m.mu.Unlock()
		return e, nil
	}
	op, ok := m.opening[t.ID]
	if !ok {
		op = &opening{done: make(chan struct{})}
		m.opening[t.ID] = op
		go m.runOpening(context.WithoutCancel(ctx), t, op)
	}
	m.mu.Unlock()
	select {
	case <-op.done:
		return op.e, op.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// runOpening opens a tenant's pool and publishes it, unless the manager
// closed or an Evict came meanwhile (then the pool is closed unused and
// its waiters open again).
func (m *Manager) runOpening(ctx context.Context, t *tenant.Tenant, op *opening) {
	e, err := m.open(ctx, t, op)

	m.mu.Lock()
	delete(m.opening, t.ID)
	var discard []*entry
	switch {
	case op.stale:
		if e != nil {
			e.evicted.Store(true)
			discard = append(discard, e)
		}
		e, err = nil, errStale
	case err != nil:
	case m.closed:
		e.evicted.Store(true)
		discard = append(discard, e)
		e, err = nil, errClosed
	default:
		m.pools[t.ID] = e
		e.elem = m.lru.PushFront(e)
		for m.lru.Len() > m.cfg.MaxPools {
			discard = append(discard, m.removeLocked(m.lru.Back().Value.(*entry)))
		}
	}
	op.e, op.err = e, err
	m.mu.Unlock()
	close(op.done)
	closeAll(discard)
}

// open builds the tenant's pool; no connection is made until a query needs one.
func (m *Manager) open(ctx context.Context, t *tenant.Tenant, op *opening) (*entry, error) {
	target, err := m.resolve(ctx, t)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	op.server = target.Server
	budget := m.budgetLocked(target.Server)
	m.mu.Unlock()

	service, err := m.services.path()
	if err != nil {
		return nil, err
	}
	pc, err := pgxpool.ParseConfig(connString(target, m.cfg.ConnectTimeout, service))
	if err != nil {
		// Never the error's text: it quotes the connection string, and
		// pgx's redaction misses an escaped quote in a password.
		return nil, fmt.Errorf("connection settings of %s:%d/%s refused: %v", target.Host, target.Port, target.Database, cmp.Or(errors.Unwrap(err), errors.New("invalid")))
	}
	cc := pc.ConnConfig
	cc.ConnectTimeout = m.cfg.ConnectTimeout
	cc.TLSConfig = nil // loopback and private networks; TLS comes with placement
	cc.Fallbacks = nil
	cc.ValidateConnect = nil
	// Limits enforced by the server: no request holds a connection (and a
	// slot of the budget) for long, whatever the handler does. A fresh map:
	// nothing from PGOPTIONS, PGTZ or PGAPPNAME.
	cc.RuntimeParams = map[string]string{
		"application_name":                    "platform:" + t.Slug,
		"statement_timeout":                   strconv.FormatInt(m.cfg.StatementTimeout.Milliseconds(), 10),
		"idle_in_transaction_session_timeout": strconv.FormatInt(4*m.cfg.StatementTimeout.Milliseconds(), 10),
	}
	e := &entry{tenantID: t.ID, tenant: t, server: target.Server, lastUsed: time.Now(), own: newSem(int(m.cfg.MaxConnsPerTenant))}
	password := target.Password
	e.password.Store(&password)
	cc.DialFunc = budget.dialer(t.ID, m.cfg.BudgetWait, &e.open)
	cc.Tracer = releaseHook{e.own}
	pc.BeforeConnect = e.beforeConnect

	pc.MaxConns = m.cfg.MaxConnsPerTenant
	pc.MinConns = 0
	pc.MaxConnIdleTime = m.cfg.IdleTimeout
	pc.HealthCheckPeriod = time.Minute
	if m.cfg.MaxConnLifetime > 0 {
		pc.MaxConnLifetime = m.cfg.MaxConnLifetime
		pc.MaxConnLifetimeJitter = m.cfg.MaxConnLifetime / 10
	}
	p, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, err
	}
	e.pool = p
	return e, nil
}

// releaseHook gives a connection's slot among its tenant's back when the
// caller releases it (pgxpool calls TraceRelease in Conn.Release). It
// traces nothing else.
type releaseHook struct{ own *sem }

func (h releaseHook) TraceRelease(*pgxpool.Pool, pgxpool.TraceReleaseData) { h.own.release() }

func (releaseHook) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	return ctx
}

func (releaseHook) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// removeLocked unlinks an entry; the caller closes its pool outside the
// lock (Close waits for acquired connections to come back).
func (m *Manager) removeLocked(e *entry) *entry {
	delete(m.pools, e.tenantID)
	m.lru.Remove(e.elem)
	e.evicted.Store(true)
	return e
}

func closeAll(es []*entry) {
	for _, e := range es {
		go e.pool.Close()
	}
}

// Evict closes a tenant's pool now (suspended, deleted, password rotated).
// A pool being opened meanwhile is not used: it may hold the old target.
func (m *Manager) Evict(tenantID string) {
	m.mu.Lock()
	e, ok := m.pools[tenantID]
	if ok {
		m.removeLocked(e)
	}
	if op, ok := m.opening[tenantID]; ok {
		op.stale = true
	}
	m.mu.Unlock()
	if ok {
		closeAll([]*entry{e})
	}
}

// EvictServer closes every pool of a database server now (its address
// changed); the next Acquire of each tenant opens a pool on the new
// address. Connections in use stay usable until released. The server's
// budget stays: it counts the connections until they are closed.
func (m *Manager) EvictServer(server string) {
	var evict []*entry
	m.mu.Lock()
	for el := m.lru.Front(); el != nil; {
		e := el.Value.(*entry)
		el = el.Next()
		if e.server == server {
			evict = append(evict, m.removeLocked(e))
		}
	}
	for _, op := range m.opening {
		if op.server == server || op.server == "" { // "" still resolving: maybe the old address
			op.stale = true
		}
	}
	m.mu.Unlock()
	closeAll(evict)
}

// reclaim closes up to n idle connections of a server's pools, least
// recently used pool first. One reclaim runs at a time; waiters that find
// one running skip theirs and look again shortly.
func (m *Manager) reclaim(server, except string, n int) {
	if !m.reclaiming.TryLock() {
		return
	}
	defer m.reclaiming.Unlock()
	var victims []*entry
	m.mu.Lock()
	found := 0
	for el := m.lru.Back(); el != nil && found < n; el = el.Prev() {
		e := el.Value.(*entry)
		if e.server == server && e.tenantID != except {
			if idle := int(e.pool.Stat().IdleConns()); idle > 0 {
				victims = append(victims, e)
				found += idle
			}
		}
	}
	m.mu.Unlock()
	freed := 0
	for _, e := range victims {
		for _, c := range e.pool.AcquireAllIdle(context.Background()) {
			if freed >= n {
				e.own.force() // Release gives a slot back: this one took none
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
	// Totals since start: dials that waited for a slot, and those that
	// found none in time (capacity_exhausted).
	Waits     uint64 `json:"waits"`
	Exhausted uint64 `json:"exhausted"`
}

// Stats returns current figures.
func (m *Manager) Stats() Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := Stats{Pools: len(m.pools), Servers: map[string]ServerStats{}}
	for name, b := range m.budgets {
		s.Servers[name] = ServerStats{Budget: b.Limit(), InUse: b.InUse(), Peak: b.Peak(), Waiting: b.Waiting(), Waits: b.Waits(), Exhausted: b.Exhausted()}
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
		e.evicted.Store(true)
		wg.Go(e.pool.Close)
	}
	wg.Wait()
	m.services.remove()
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

package pool

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tenancy/platform/tenant"
)

// Budget caps the real connections open to one database server. A slot is
// taken before a connection is dialled and given back when the connection
// closes or fails to open, so the count is of server connections, not of
// pool promises. PostgreSQL's own "too many clients" therefore never
// reaches a user: the request waits for a slot or gets capacity_exhausted.
//
// Its size can change at run time (SetLimit, when the catalog's
// db_servers row changes): growing frees waiting dials at once; shrinking
// closes no connection in use but lets no dial through until fewer than
// the new limit are open.
type Budget struct {
	slots   *sem
	waiting atomic.Int32
	closing atomic.Int32 // closed, slot not yet back (waiting for the server's EOF)
	// waits counts dials that had to wait for a slot, exhausted those that
	// found none in time (capacity_exhausted: 503): totals for metrics.
	waits, exhausted atomic.Uint64
	// reclaim closes idle connections of other tenants, least recently
	// used first, to free up to n slots; it is called while dials wait.
	reclaim func(except string, n int)
}

// NewBudget returns a budget of limit connections.
func NewBudget(limit int) *Budget {
	return &Budget{slots: newSem(limit)}
}

// SetLimit resizes the budget; connections already open stay open.
func (b *Budget) SetLimit(limit int) { b.slots.setLimit(limit) }

// Limit is the budget's size.
func (b *Budget) Limit() int { _, l, _, _ := b.slots.stats(); return l }

// InUse is the number of open connections (above Limit for a while after
// a shrink).
func (b *Budget) InUse() int { n, _, _, _ := b.slots.stats(); return n }

// Peak is the highest InUse seen.
func (b *Budget) Peak() int { _, _, p, _ := b.slots.stats(); return p }

// Waiting is the number of dials waiting for a slot.
func (b *Budget) Waiting() int { return int(b.waiting.Load()) }

// Waits is the number of dials that have waited for a slot.
func (b *Budget) Waits() uint64 { return b.waits.Load() }

// Exhausted is the number of dials that found no slot in time.
func (b *Budget) Exhausted() uint64 { return b.exhausted.Load() }

// reclaimEvery is how often a waiting dial looks again for idle
// connections to close: connections go idle all the time under load, and
// the least recently used of them should make room.
const reclaimEvery = 2 * time.Millisecond

// acquire takes a slot, waiting at most wait. While the budget is full it
// has idle connections of other tenants closed, least recently used first.
func (b *Budget) acquire(ctx context.Context, tenantID string, wait time.Duration) error {
	w := b.slots.enqueue()
	if w == nil {
		return nil
	}
	b.waits.Add(1)
	b.waiting.Add(1)
	defer b.waiting.Add(-1)
	timer := time.NewTimer(wait)
	defer timer.Stop()
	tick := time.NewTicker(reclaimEvery)
	defer tick.Stop()
	for {
		// Free what the waiters need, and what a shrink left above the
		// limit, beyond the slots already on their way.
		if n := b.Waiting() + b.excess() - int(b.closing.Load()); n > 0 && b.reclaim != nil {
			b.reclaim(tenantID, n)
		}
		select {
		case <-w.ready:
			return nil
		case <-tick.C:
		case <-timer.C:
			if b.slots.cancel(w) {
				return nil
			}
			b.exhausted.Add(1)
			return tenant.Errorf(tenant.ECapacity, "no database connection available: try again shortly")
		case <-ctx.Done():
			if b.slots.cancel(w) {
				b.release()
			}
			// The dial's context ends at ConnectTimeout: a wait cut by it
			// found no slot, like one past BudgetWait. (The request's own
			// end is told apart by Manager.Acquire.)
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				b.exhausted.Add(1)
				return tenant.Errorf(tenant.ECapacity, "no database connection available: try again shortly")
			}
			return ctx.Err()
		}
	}
}

// excess is how many connections are open beyond the limit (after a shrink).
func (b *Budget) excess() int {
	n, limit, _, _ := b.slots.stats()
	return max(0, n-limit)
}

func (b *Budget) release() { b.slots.release() }

// errOwnBusy refuses a dial when the budget is full and the tenant already
// has connections: its request waits for one of them instead of taking
// another tenant's (see Manager.Acquire). Without it, a busy tenant's pool
// would dial whenever its connections are all in use, and under a full
// budget every such dial would close someone's connection: churn.
var errOwnBusy = errors.New("connection budget full; waiting for the tenant's own connections")

// dialer returns a pgconn DialFunc that holds a slot for the life of each
// connection; open counts the tenant's open connections.
func (b *Budget) dialer(tenantID string, wait time.Duration, open *atomic.Int32) func(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if !b.slots.tryAcquire() {
			if open.Load() > 0 {
				return nil, errOwnBusy
			}
			if err := b.acquire(ctx, tenantID, wait); err != nil {
				return nil, err
			}
		}
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			b.release()
			return nil, err
		}
		open.Add(1)
		return &budgetConn{Conn: c, budget: b, open: open}, nil
	}
}

// budgetConn gives its slot back exactly once, after the server has let
// go of the connection. pgx sends Terminate and closes; a backend leaves
// pg_stat_activity only some time after that (measured: still listed
// right after the client's close in 110 of 200 tries), and before it
// closes its end of the socket (0 of 200 when the client waits for EOF).
// So the slot is released once the server's EOF arrives: PostgreSQL's own
// count never exceeds the budget, not even for a moment.
type budgetConn struct {
	net.Conn
	once   sync.Once
	budget *Budget
	open   *atomic.Int32
}

// drainTimeout bounds the wait for the server's EOF, for connections
// closed without Terminate (broken, or cancelled mid-query).
const drainTimeout = time.Second

func (c *budgetConn) Close() error {
	c.once.Do(func() {
		c.open.Add(-1)
		c.budget.closing.Add(1)
		go func() {
			c.Conn.SetReadDeadline(time.Now().Add(drainTimeout))
			_, err := io.Copy(io.Discard, c.Conn)
			c.Conn.Close()
			if err != nil { // no EOF: the backend learns of the close only now
				time.Sleep(100 * time.Millisecond)
			}
			c.budget.closing.Add(-1)
			c.budget.release()
		}()
	})
	return nil
}

package httpx

import (
	"net/netip"
	"sync"
	"time"
)

// Failures counts failures (a wrong operator token, say) per client
// address in fixed windows, to rate-limit them and to aggregate their
// audit: at most one audit row per address and window, carrying the
// number of failures it stands for. IPv6 clients are counted per /64 (one
// subscriber's whole block). Memory stays bounded: at most maxAddrs
// addresses are tracked; the counts of addresses evicted to make room are
// handed to the next row.
type Failures struct {
	limit    int
	window   time.Duration
	maxAddrs int
	now      func() time.Time

	mu      sync.Mutex
	addrs   map[string]*failCount
	evicted int // failures of evicted addresses, not yet in a row
}

type failCount struct {
	start   time.Time // the current window
	n       int       // failures in it
	pending int       // failures not in an audit row yet
	lastRow time.Time
}

// NewFailures allows limit failures per address and window before Blocked
// says wait; maxAddrs <= 0 means 10,000.
func NewFailures(limit int, window time.Duration, maxAddrs int) *Failures {
	if maxAddrs <= 0 {
		maxAddrs = 10000
	}
	return &Failures{limit: limit, window: window, maxAddrs: maxAddrs, now: time.Now, addrs: map[string]*failCount{}}
}

// failKey is the address failures are counted under.
func failKey(addr string) string {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// Blocked reports how long addr must wait: > 0 when it failed limit times
// in the current window.
func (f *Failures) Blocked(addr string) time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	e := f.addrs[failKey(addr)]
	if e == nil {
		return 0
	}
	now := f.now()
	end := e.start.Add(f.window)
	if e.n < f.limit || !now.Before(end) {
		return 0
	}
	return end.Sub(now)
}

// Fail records a failure of addr. When an audit row is due (the address's
// first failure, or its first one a window after its last row), it returns
// the number of failures that row stands for (this one included), and
// the failures of evicted addresses since the last row; otherwise 0, 0.
func (f *Failures) Fail(addr string) (failures, others int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.now()
	key := failKey(addr)
	e := f.addrs[key]
	if e == nil {
		if len(f.addrs) >= f.maxAddrs {
			f.evict(now)
		}
		e = &failCount{start: now}
		f.addrs[key] = e
	}
	if !now.Before(e.start.Add(f.window)) {
		e.start, e.n = now, 0
	}
	e.n++
	e.pending++
	if !e.lastRow.IsZero() && now.Sub(e.lastRow) < f.window {
		return 0, 0
	}
	failures, others = e.pending, f.evicted
	e.pending, e.lastRow, f.evicted = 0, now, 0
	return failures, others
}

// evict makes room: addresses quiet for a window go first (nothing is
// lost but a limit that has expired), then any, down to 90 % so that the
// sweep is not repeated for every new address.
func (f *Failures) evict(now time.Time) {
	for k, e := range f.addrs {
		if now.Sub(e.start) >= f.window && now.Sub(e.lastRow) >= f.window && e.pending == 0 {
			delete(f.addrs, k)
		}
	}
	for k, e := range f.addrs {
		if len(f.addrs) < f.maxAddrs*9/10 {
			break
		}
		f.evicted += e.pending
		delete(f.addrs, k)
	}
}

// Len is the number of addresses tracked.
func (f *Failures) Len() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.addrs)
}

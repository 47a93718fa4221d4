package pool

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tenancy/platform/tenant"
)

// Logging a failed Acquire is by change of state, not by request: a
// database outage made 8,746 WARN lines in 6 s when every request logged.
// A tenant's first failure after a success is one WARN with the cause;
// while it keeps failing, at most one WARN per failLogEvery with the count;
// its next success is one INFO.
const (
	failLogEvery = 30 * time.Second
	// maxFailing bounds the tenants remembered as failing; past it the one
	// logged longest ago is forgotten (it logs anew if it fails again).
	maxFailing = 10000
)

type health struct {
	every time.Duration
	// failing counts the tenants in byTenant, so that a success costs one
	// atomic load while no tenant fails, and a lock-free map read while
	// some do (a tenant with no secrets may fail for days).
	failing  atomic.Int32
	byTenant sync.Map // tenant id → *failure

	mu sync.Mutex // adds and removes tenants; guards the failures' fields
}

type failure struct {
	since  time.Time // first failure
	logged time.Time // last line written
	count  int       // failures since the last line
	total  int
}

// noLogger tells "ctx carries no logger" apart in logger.
var noLogger = slog.New(slog.DiscardHandler)

// logger is the request's logger (which carries the tenant and the request
// id), or the manager's with the tenant added.
func (m *Manager) logger(ctx context.Context, t *tenant.Tenant) *slog.Logger {
	if l := tenant.Logger(ctx, noLogger); l != noLogger {
		return l
	}
	return m.log.With("tenant", t.Slug)
}

// failed records a failure of t and logs it if it changes the state or a
// summary is due. The cause's text is safe to log: pgconn's errors never
// hold the password and the secrets cache's never a secret.
func (m *Manager) failed(ctx context.Context, t *tenant.Tenant, cause error) {
	h := &m.health
	now := time.Now()
	h.mu.Lock()
	var f *failure
	v, known := h.byTenant.Load(t.ID)
	if known {
		f = v.(*failure)
	} else {
		if h.failing.Load() >= maxFailing {
			h.forgetOldestLocked()
		}
		f = &failure{since: now, logged: now}
		h.byTenant.Store(t.ID, f)
		h.failing.Add(1)
	}
	f.total++
	f.count++
	summary := known && now.Sub(f.logged) >= h.every
	n, since := f.count, f.since
	if !known || summary {
		f.count, f.logged = 0, now
	}
	h.mu.Unlock()
	switch {
	case !known:
		m.logger(ctx, t).WarnContext(ctx, "tenant database unavailable", "err", cause)
	case summary:
		m.logger(ctx, t).WarnContext(ctx, "tenant database still unavailable",
			"failures", n, "since", since.UTC().Format(time.RFC3339), "err", cause)
	}
}

// succeeded logs the first success of a failing tenant, once.
func (m *Manager) succeeded(ctx context.Context, t *tenant.Tenant) {
	h := &m.health
	if h.failing.Load() == 0 {
		return
	}
	if _, ok := h.byTenant.Load(t.ID); !ok {
		return
	}
	h.mu.Lock()
	v, ok := h.byTenant.LoadAndDelete(t.ID)
	if ok {
		h.failing.Add(-1)
	}
	var total int
	var since time.Time
	if ok {
		f := v.(*failure)
		total, since = f.total, f.since
	}
	h.mu.Unlock()
	if ok {
		m.logger(ctx, t).InfoContext(ctx, "tenant database available again",
			"failures", total, "down_for", time.Since(since).Round(time.Millisecond).String())
	}
}

func (h *health) forgetOldestLocked() {
	var oldest any
	var at time.Time
	h.byTenant.Range(func(id, v any) bool {
		if f := v.(*failure); oldest == nil || f.logged.Before(at) {
			oldest, at = id, f.logged
		}
		return true
	})
	if _, ok := h.byTenant.LoadAndDelete(oldest); ok {
		h.failing.Add(-1)
	}
}

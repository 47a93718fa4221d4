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
	// failing is len(byTenant), so that a success takes no lock while no
	// tenant fails.
	failing atomic.Int32

	mu       sync.Mutex
	byTenant map[string]*failure // by tenant id
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
	f, known := h.byTenant[t.ID]
	if !known {
		if len(h.byTenant) >= maxFailing {
			h.forgetOldestLocked()
		}
		f = &failure{since: now, logged: now}
		h.byTenant[t.ID] = f
		h.failing.Store(int32(len(h.byTenant)))
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

// recovered logs the first success of a failing tenant.
func (m *Manager) recovered(ctx context.Context, t *tenant.Tenant) {
	h := &m.health
	h.mu.Lock()
	f, ok := h.byTenant[t.ID]
	if ok {
		delete(h.byTenant, t.ID)
		h.failing.Store(int32(len(h.byTenant)))
	}
	h.mu.Unlock()
	if ok {
		m.logger(ctx, t).InfoContext(ctx, "tenant database available again",
			"failures", f.total, "down_for", time.Since(f.since).Round(time.Millisecond).String())
	}
}

func (h *health) forgetOldestLocked() {
	var oldest string
	var at time.Time
	for id, f := range h.byTenant {
		if oldest == "" || f.logged.Before(at) {
			oldest, at = id, f.logged
		}
	}
	delete(h.byTenant, oldest)
}

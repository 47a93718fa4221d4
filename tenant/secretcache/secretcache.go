// Package secretcache keeps tenants' secrets in memory in front of Vault
// (DESIGN.md, "Secrets cache"): concurrent misses for one tenant make one
// Vault read, an entry past its TTL is served while one background refresh
// runs, and while Vault is down an entry is served for a bounded grace time
// and never after it.
package secretcache

import (
	"context"
	"log/slog"
	"maps"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/tenancy/platform/tenant"
)

// Getter reads one tenant's secrets from the source of truth (Vault).
// *secrets.Store is one.
type Getter interface {
	Get(ctx context.Context, slug string) (map[string]string, error)
}

// Config tunes the cache; zero values take the defaults.
type Config struct {
	TTL    time.Duration    // an entry is fresh this long; default 5 min
	Grace  time.Duration    // past TTL, an entry may still be served this long while refreshes fail; default 1 h
	Now    func() time.Time // for tests; default time.Now
	Logger *slog.Logger     // default discard; it is never given a secret value
}

const (
	// fetchTimeout bounds every Vault read. Reads are detached from the
	// caller's context (one caller giving up must not fail the others
	// waiting on the same read), so this is what ends them.
	fetchTimeout = 10 * time.Second
	// retryEvery spaces background refreshes of one entry after one failed,
	// so a stale entry under load does not hammer a Vault that is down.
	retryEvery = 5 * time.Second
)

// Cache is a per-slug cache of tenant secrets; it is safe for concurrent
// use. Create it with New.
type Cache struct {
	src Getter
	cfg Config
	sf  singleflight.Group // keyed by slug: one Vault read per tenant at a time

	mu      sync.Mutex
	entries map[string]*entry
	// epoch changes on every Invalidate. A read that started before an
	// Invalidate may hold the old secrets, so it must not store them; a
	// per-cache counter (not per slug) keeps this bounded, at the price of
	// now and then not caching another tenant's read, which costs one more
	// read later.
	epoch uint64
	stats Stats
}

type entry struct {
	values     map[string]string // never handed out: callers get copies
	fetched    time.Time
	refreshing bool      // a background refresh runs
	retry      time.Time // no background refresh before this, after one failed
}

// New returns a cache over g.
func New(g Getter, cfg Config) *Cache {
	if cfg.TTL <= 0 {
		cfg.TTL = 5 * time.Minute
	}
	if cfg.Grace <= 0 {
		cfg.Grace = time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Cache{src: g, cfg: cfg, entries: map[string]*entry{}}
}

// Get returns a copy of the tenant's secrets, which the caller may keep and
// change.
//
// A fresh entry is returned without reading Vault. An entry past its TTL
// but within the grace time is returned at once and one background
// refresh is started. Otherwise Vault is read, once for all concurrent
// callers. A tenant without secrets gets Vault's not_found (never cached);
// any other failure gets unavailable, whose message holds no secret.
func (c *Cache) Get(ctx context.Context, slug string) (map[string]string, error) {
	now := c.cfg.Now()
	c.mu.Lock()
	if e := c.entries[slug]; e != nil {
		switch age := now.Sub(e.fetched); {
		case age < c.cfg.TTL:
			c.stats.Hits++
			v := maps.Clone(e.values)
			c.mu.Unlock()
			return v, nil
		case age < c.cfg.TTL+c.cfg.Grace:
			c.stats.StaleHits++
			if !e.refreshing && !now.Before(e.retry) {
				e.refreshing = true
				go c.refresh(ctx, slug, e)
			}
			v := maps.Clone(e.values)
			c.mu.Unlock()
			return v, nil
		}
		// Past the grace time: never served, even if Vault stays down.
	}
	c.stats.Misses++
	// Joining the read under c.mu makes "no entry, so join the read" atomic
	// with the read storing its entry (also under c.mu, before singleflight
	// lets the key go): a miss either joins the read in flight or sees its
	// result, so concurrent misses make exactly one read.
	ch := c.load(ctx, slug)
	c.mu.Unlock()

	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return maps.Clone(r.Val.(map[string]string)), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// refresh runs in the background for a stale entry e. On success load has
// replaced e; on failure e stays (served until its grace time ends) and is
// not retried before retryEvery.
func (c *Cache) refresh(ctx context.Context, slug string, e *entry) {
	r := <-c.load(ctx, slug)
	c.mu.Lock()
	defer c.mu.Unlock()
	e.refreshing = false
	if r.Err != nil {
		e.retry = c.cfg.Now().Add(retryEvery)
	}
}

// load starts (or joins) the one Vault read of slug and stores its result.
// The read keeps ctx's values (for logs) but not its cancellation, and is
// bounded by fetchTimeout, so no goroutine outlives it for long.
func (c *Cache) load(ctx context.Context, slug string) <-chan singleflight.Result {
	ctx = context.WithoutCancel(ctx)
	return c.sf.DoChan(slug, func() (any, error) {
		c.mu.Lock()
		epoch := c.epoch
		_, cached := c.entries[slug]
		c.mu.Unlock()

		rctx, cancel := context.WithTimeout(ctx, fetchTimeout)
		values, err := c.src.Get(rctx, slug)
		cancel()
		failed := err != nil && tenant.ErrorCode(err) != tenant.ENotFound
		if failed {
			// Vault's errors never echo secret values (platform/secrets).
			// A failed refresh is WARN: the stale entry is served, so no
			// one else sees it. A failed miss fails the caller, which logs
			// it (pool.Manager, once per state change): DEBUG, or a Vault
			// outage makes a WARN per request.
			level := slog.LevelDebug
			if cached {
				level = slog.LevelWarn
			}
			c.cfg.Logger.Log(ctx, level, "reading tenant secrets from Vault failed", "tenant", slug, "err", err)
		}

		c.mu.Lock()
		defer c.mu.Unlock()
		current := c.epoch == epoch
		switch {
		case failed:
			c.stats.RefreshErrors++
			c.stats.LastError = c.cfg.Now()
			return nil, tenant.Errorf(tenant.EUnavailable, "secrets of tenant %s are unavailable: Vault unreachable", slug)
		case err == nil:
			// A copy, so the Getter cannot change what we serve.
			values = maps.Clone(values)
			if current {
				c.entries[slug] = &entry{values: values, fetched: c.cfg.Now()}
			}
			return values, nil
		default: // not found
			// The tenant has no secrets (any more): forget old ones rather
			// than serve them through the grace time.
			if current {
				delete(c.entries, slug)
			}
			return nil, err
		}
	})
}

// Invalidate drops one tenant's entry (the tenant was purged or its secrets
// rotated): the next Get reads Vault, and a read already in flight neither
// stores its result nor is joined by later misses.
func (c *Cache) Invalidate(slug string) {
	c.mu.Lock()
	delete(c.entries, slug)
	c.epoch++
	c.mu.Unlock()
	c.sf.Forget(slug)
}

// Stats describes the cache for /readyz and metrics.
type Stats struct {
	Entries       int       `json:"entries"`
	Hits          uint64    `json:"hits"`
	StaleHits     uint64    `json:"stale_hits"`
	Misses        uint64    `json:"misses"`
	RefreshErrors uint64    `json:"refresh_errors"`
	LastError     time.Time `json:"last_error,omitzero"` // of the last failed Vault read
}

// Stats returns the current figures.
func (c *Cache) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats
	s.Entries = len(c.entries)
	return s
}

// Package secretcache keeps tenants' secrets in memory in front of Vault:
// concurrent misses for one tenant make one read, an entry past its TTL is
// served while a refresh runs, and while Vault is down entries are served
// for a bounded grace time.
package secretcache

import (
	"context"
	"log/slog"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/tenancy/platform/tenant"
)

// Getter reads one tenant's secrets from the source of truth (Vault).
type Getter interface {
	Get(ctx context.Context, slug string) (map[string]string, error)
}

// Config tunes the cache; zero values take the defaults.
type Config struct {
	TTL    time.Duration    // an entry is fresh this long; default 5 min
	Grace  time.Duration    // past TTL, served this long while refreshes fail; default 1 h
	Now    func() time.Time // for tests
	Logger *slog.Logger     // never given a secret value
}

// Cache is the secrets cache.
type Cache struct {
	src Getter
	cfg Config
	sf  singleflight.Group

	mu         sync.Mutex
	entries    map[string]entry
	refreshing map[string]bool // one background refresh per slug

	hits, stale, misses, refreshErrors atomic.Uint64
	lastError                          atomic.Int64
}

type entry struct {
	values  map[string]string
	fetched time.Time
	retry   time.Time // no background refresh before this, after one failed
}

// retryEvery spaces background refreshes while Vault fails, so a stale
// entry under load does not hammer a Vault that is down.
const retryEvery = 5 * time.Second

// New returns a cache over g.
func New(g Getter, cfg Config) *Cache {
	if cfg.TTL == 0 {
		cfg.TTL = 5 * time.Minute
	}
	if cfg.Grace == 0 {
		cfg.Grace = time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Cache{src: g, cfg: cfg, entries: map[string]entry{}, refreshing: map[string]bool{}}
}

// Get returns a copy of the tenant's secrets.
func (c *Cache) Get(ctx context.Context, slug string) (map[string]string, error) {
	c.mu.Lock()
	e, ok := c.entries[slug]
	c.mu.Unlock()
	age := c.cfg.Now().Sub(e.fetched)
	switch {
	case ok && age < c.cfg.TTL:
		c.hits.Add(1)
		return maps.Clone(e.values), nil
	case ok && age < c.cfg.TTL+c.cfg.Grace:
		c.stale.Add(1)
		c.refresh(ctx, slug)
		return maps.Clone(e.values), nil
	}
	c.misses.Add(1)
	v, err := c.fetch(ctx, slug)
	if err != nil {
		return nil, err
	}
	return maps.Clone(v), nil
}

// refresh starts one background fetch for slug, detached from the request.
func (c *Cache) refresh(ctx context.Context, slug string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.refreshing[slug] || c.cfg.Now().Before(c.entries[slug].retry) {
		return
	}
	c.refreshing[slug] = true
	go func() {
		_, err := c.fetch(context.WithoutCancel(ctx), slug)
		c.mu.Lock()
		delete(c.refreshing, slug)
		if e, ok := c.entries[slug]; ok && err != nil {
			e.retry = c.cfg.Now().Add(retryEvery)
			c.entries[slug] = e
		}
		c.mu.Unlock()
	}()
}

// fetch reads Vault once per slug at a time and stores the result.
func (c *Cache) fetch(ctx context.Context, slug string) (map[string]string, error) {
	v, err, _ := c.sf.Do(slug, func() (any, error) {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		values, err := c.src.Get(ctx, slug)
		if err != nil {
			return nil, err
		}
		c.mu.Lock()
		c.entries[slug] = entry{values: values, fetched: c.cfg.Now()}
		c.mu.Unlock()
		return values, nil
	})
	if err != nil {
		if tenant.ErrorCode(err) == tenant.ENotFound {
			return nil, err
		}
		c.refreshErrors.Add(1)
		c.lastError.Store(c.cfg.Now().UnixNano())
		c.cfg.Logger.WarnContext(ctx, "tenant secrets unavailable", "tenant", slug, "err", err)
		return nil, tenant.Errorf(tenant.EUnavailable, "the secrets of this account are unavailable; try again shortly")
	}
	return v.(map[string]string), nil
}

// Invalidate drops a tenant's entry (purged, or its secrets rotated).
func (c *Cache) Invalidate(slug string) {
	c.mu.Lock()
	delete(c.entries, slug)
	c.mu.Unlock()
}

// Stats describes the cache for /readyz and metrics.
type Stats struct {
	Entries                                int
	Hits, StaleHits, Misses, RefreshErrors uint64
	LastError                              time.Time `json:",omitzero"`
}

// Stats returns current figures.
func (c *Cache) Stats() Stats {
	c.mu.Lock()
	n := len(c.entries)
	c.mu.Unlock()
	s := Stats{Entries: n, Hits: c.hits.Load(), StaleHits: c.stale.Load(), Misses: c.misses.Load(), RefreshErrors: c.refreshErrors.Load()}
	if t := c.lastError.Load(); t != 0 {
		s.LastError = time.Unix(0, t)
	}
	return s
}

// Package resolve maps request hosts to tenants from an in-memory copy of
// the catalog: loaded whole at start, patched by LISTEN/NOTIFY, and loaded
// whole again after the listening connection comes back. An unknown host
// costs a map lookup, never a query.
package resolve

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tenancy/platform/platform/catalog"
	"github.com/tenancy/platform/tenant"
)

// Catalog is what the resolver reads.
type Catalog interface {
	Routes(ctx context.Context) ([]*tenant.Tenant, error)
	TenantByID(ctx context.Context, id string) (*tenant.Tenant, error)
	DBServers(ctx context.Context) ([]catalog.DBServer, error)
	Listen(ctx context.Context, onConnect func(context.Context) error, onChange func(string)) error
}

// Resolver answers which tenant a host belongs to.
type Resolver struct {
	cat  Catalog
	base string // ".<base domain>"
	log  *slog.Logger
	// OnChange, if set, is called with the old copy of every tenant that
	// changed or went away (so pools and caches can drop what they hold).
	OnChange func(old *tenant.Tenant)

	mu      sync.RWMutex
	hosts   map[string]*tenant.Tenant // custom domains
	slugs   map[string]*tenant.Tenant // by slug, for <slug>.<base>
	byID    map[string]*tenant.Tenant
	servers map[string]catalog.DBServer

	loaded  atomic.Int64 // unix nanos of the last full load
	patches atomic.Int64
}

// New returns a resolver for tenants at <slug>.<baseDomain> and at their
// custom domains. Call Start before Lookup.
func New(cat Catalog, baseDomain string, log *slog.Logger) *Resolver {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Resolver{cat: cat, base: "." + strings.ToLower(baseDomain), log: log,
		hosts: map[string]*tenant.Tenant{}, slugs: map[string]*tenant.Tenant{}, byID: map[string]*tenant.Tenant{},
		servers: map[string]catalog.DBServer{}}
}

// Start loads the map and keeps it current until ctx ends. It returns when
// the first load is done; the listener runs on in the background.
func (r *Resolver) Start(ctx context.Context) error {
	if err := r.Reload(ctx); err != nil {
		return err
	}
	go r.cat.Listen(ctx, r.Reload, func(id string) {
		r.patch(ctx, id)
	})
	return nil
}

// Lookup returns the tenant a normalised host belongs to, or nil. The
// returned tenant is shared and must not be modified.
func (r *Resolver) Lookup(host string) *tenant.Tenant {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if t, ok := r.hosts[host]; ok {
		return t
	}
	if slug, ok := strings.CutSuffix(host, r.base); ok && !strings.Contains(slug, ".") {
		return r.slugs[slug]
	}
	return nil
}

// Server returns a database server by name.
func (r *Resolver) Server(name string) (catalog.DBServer, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	s, ok := r.servers[name]
	return s, ok
}

// Reload replaces the whole map from the catalog.
func (r *Resolver) Reload(ctx context.Context) error {
	ts, err := r.cat.Routes(ctx)
	if err != nil {
		return err
	}
	ss, err := r.cat.DBServers(ctx)
	if err != nil {
		return err
	}
	hosts := make(map[string]*tenant.Tenant, len(ts))
	slugs := make(map[string]*tenant.Tenant, len(ts))
	byID := make(map[string]*tenant.Tenant, len(ts))
	for _, t := range ts {
		byID[t.ID] = t
		slugs[t.Slug] = t
		for _, h := range t.Hosts {
			hosts[h] = t
		}
	}
	servers := make(map[string]catalog.DBServer, len(ss))
	for _, s := range ss {
		servers[s.Name] = s
	}
	r.mu.Lock()
	old := r.byID
	r.hosts, r.slugs, r.byID, r.servers = hosts, slugs, byID, servers
	r.mu.Unlock()
	r.loaded.Store(time.Now().UnixNano())
	if r.OnChange != nil {
		for id, t := range old {
			if n, ok := byID[id]; !ok || changed(t, n) {
				r.OnChange(t)
			}
		}
	}
	r.log.InfoContext(ctx, "tenant map loaded", "tenants", len(ts))
	return nil
}

// patch reloads one tenant after a notification.
func (r *Resolver) patch(ctx context.Context, id string) {
	r.patches.Add(1)
	t, err := r.cat.TenantByID(ctx, id)
	if tenant.ErrorCode(err) == tenant.ENotFound || (err == nil && t.Status == tenant.StatusDeleted) {
		t, err = nil, nil
	}
	if err != nil {
		// The map may now be stale for this tenant: load it all again.
		r.log.WarnContext(ctx, "tenant patch failed; reloading", "tenant_id", id, "err", err)
		if err := r.Reload(ctx); err != nil {
			r.log.ErrorContext(ctx, "tenant map reload failed", "err", err)
		}
		return
	}
	r.mu.Lock()
	old := r.byID[id]
	if old != nil {
		delete(r.slugs, old.Slug)
		for _, h := range old.Hosts {
			if r.hosts[h] == old {
				delete(r.hosts, h)
			}
		}
		delete(r.byID, id)
	}
	if t != nil {
		r.byID[id] = t
		r.slugs[t.Slug] = t
		for _, h := range t.Hosts {
			r.hosts[h] = t
		}
	}
	_, known := r.servers[serverOf(t)]
	r.mu.Unlock()
	if t != nil && !known {
		if err := r.Reload(ctx); err != nil {
			r.log.ErrorContext(ctx, "tenant map reload failed", "err", err)
		}
	}
	if r.OnChange != nil && old != nil && (t == nil || changed(old, t)) {
		r.OnChange(old)
	}
}

func serverOf(t *tenant.Tenant) string {
	if t == nil {
		return ""
	}
	return t.DBServer
}

// changed reports a change that matters to what is held for a tenant.
func changed(a, b *tenant.Tenant) bool {
	return a.Status != b.Status || a.DBServer != b.DBServer || a.Database != b.Database
}

// Stats describes the map for /readyz and metrics.
type Stats struct {
	Tenants  int       `json:"tenants"`
	Hosts    int       `json:"hosts"`
	LoadedAt time.Time `json:"loaded_at"` // last full load: at start and after each reconnect
	Patches  int64     `json:"patches"`
}

// Stats returns current figures.
func (r *Resolver) Stats() Stats {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return Stats{Tenants: len(r.byID), Hosts: len(r.hosts) + len(r.slugs),
		LoadedAt: time.Unix(0, r.loaded.Load()), Patches: r.patches.Load()}
}

// Package resolve maps request hosts to tenants from an in-memory copy of
// the catalog: loaded whole at start, patched by LISTEN/NOTIFY, and loaded
// whole again after the listening connection comes back. An unknown host
// costs a map lookup, never a query.
//
// The base domain comes from the catalog (its platform_settings), not from
// the caller's configuration, and a host under it is only ever resolved as
// <slug>.<base>: a custom domain can never take a tenant's subdomain.
//
// Notices are trusted only from the catalog's own role (or a superuser):
// any other role that can connect to the catalog database could NOTIFY
// fake changes, and each would cost catalog reads. Those are dropped and
// counted (Stats.IgnoredNotices). A sender that exited before it could be
// looked up is trusted: that is the normal CLI run (see catalog.Listen).
package resolve

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tenancy/platform/tenant"
)

// Catalog is what the resolver reads (platform/catalog.DB implements it).
type Catalog interface {
	Routes(ctx context.Context) ([]*tenant.Tenant, error)
	TenantByID(ctx context.Context, id string) (*tenant.Tenant, error)
	DBServers(ctx context.Context) ([]tenant.DBServer, error)
	BaseDomain(ctx context.Context) (string, error)
	// Listen calls onConnect after every (re)connect and onNotice for each
	// notification until ctx ends; foreign is "" when the catalog's own
	// role sent it, and describes the sender otherwise.
	Listen(ctx context.Context, onConnect func(context.Context) error, onNotice func(channel, payload, foreign string)) error
}

// The catalog's notification channels (platform/catalog's ChangesChannel,
// ServerChangesChannel and SettingsChangesChannel; a test checks they agree).
const (
	TenantChannel   = "tenant_changes"            // payload: a tenant id
	ServerChannel   = "db_server_changes"         // payload: a server name
	SettingsChannel = "platform_settings_changes" // payload: a setting key
	// SentChannel follows every change notice in the same transaction
	// (catalog migration 000009), with its send time: microseconds since
	// the epoch by the database server's clock. A separate notice, not a
	// longer payload: replicas of the previous version read a
	// tenant_changes payload as a tenant id.
	SentChannel = "catalog_notice_sent"
)

// Options are the resolver's callbacks and logger. The callbacks are
// called from the listener goroutine, one at a time, never during the
// first load: everything that they use must exist before Start.
type Options struct {
	Logger *slog.Logger
	// OnChange is called with the old copy of every tenant that changed or
	// went away (so pools and caches can drop what they hold).
	OnChange func(old *tenant.Tenant)
	// OnSecretsChange is called instead of OnChange for a tenant whose
	// only change is its secrets version (a rotation): its cached secrets
	// must go, but not its pool, whose connections in use would fail.
	OnSecretsChange func(old *tenant.Tenant)
	// OnServerChange is called for every database server whose address or
	// connection budget changed; old is the zero DBServer for a server
	// added, updated the zero DBServer for one removed.
	OnServerChange func(old, updated tenant.DBServer)
	// OnPatch is called after every tenant notification applied, whatever
	// changed (settings too), with the tenant's id: for consumers that
	// re-read tenants, such as the backup scheduler.
	OnPatch func(id string)
	// NoticeLag is called with the time each change notice took from the
	// catalog's trigger (the change, before its commit) to this process
	// (SentChannel): receive time minus send time, across two clocks, so
	// skew between the database server and this one adds to it (and the
	// rest of the changing transaction); a negative difference is
	// reported as 0.
	// Catalogs before migration 000009 send no times: never called.
	NoticeLag func(time.Duration)
}

// maxSenders bounds the set of foreign senders already warned about.
const maxSenders = 1024

// Resolver answers which tenant a host belongs to.
type Resolver struct {
	cat  Catalog
	log  *slog.Logger
	opts Options

	mu      sync.RWMutex
	base    string                    // the catalog's base domain
	hosts   map[string]*tenant.Tenant // custom domains
	slugs   map[string]*tenant.Tenant // by slug, for <slug>.<base>
	byID    map[string]*tenant.Tenant
	servers map[string]tenant.DBServer
	first   bool // the first load is done

	loaded  atomic.Int64 // unix nanos of the last full load
	patches atomic.Int64
	ignored atomic.Int64

	// Only the listener goroutine touches warned.
	warned map[string]bool
}

// New returns a resolver for tenants at <slug>.<base domain> and at their
// custom domains. Call Start (or Reload) before Lookup.
func New(cat Catalog, opts Options) *Resolver {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Resolver{cat: cat, log: log, opts: opts,
		hosts: map[string]*tenant.Tenant{}, slugs: map[string]*tenant.Tenant{}, byID: map[string]*tenant.Tenant{},
		servers: map[string]tenant.DBServer{}, warned: map[string]bool{}}
}

// Start loads the map and keeps it current until ctx ends. It returns when
// the first load is done; the listener runs on in the background.
func (r *Resolver) Start(ctx context.Context) error {
	if err := r.Reload(ctx); err != nil {
		return err
	}
	go r.cat.Listen(ctx, r.Reload, func(channel, payload, foreign string) {
		r.notice(ctx, channel, payload, foreign)
	})
	return nil
}

// Lookup returns the tenant a normalised host belongs to, or nil. The
// returned tenant is shared and must not be modified. The base domain and
// every host under it are only ever <slug>.<base>; custom domains answer
// for other hosts only.
func (r *Resolver) Lookup(host string) *tenant.Tenant {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.base != "" {
		if host == r.base {
			return nil
		}
		if rest, ok := strings.CutSuffix(host, r.base); ok && strings.HasSuffix(rest, ".") {
			slug := rest[:len(rest)-1]
			if strings.Contains(slug, ".") {
				return nil
			}
			return r.slugs[slug]
		}
	}
	return r.hosts[host]
}

// BaseDomain returns the base domain of the last load.
func (r *Resolver) BaseDomain() string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.base
}

// Server returns a database server by name.
func (r *Resolver) Server(name string) (tenant.DBServer, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	s, ok := r.servers[name]
	return s, ok
}

// Reload replaces the whole map from the catalog.
func (r *Resolver) Reload(ctx context.Context) error {
	base, err := r.cat.BaseDomain(ctx)
	if err != nil {
		return err
	}
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
	shadowed := 0
	for _, t := range ts {
		byID[t.ID] = t
		slugs[t.Slug] = t
		for _, h := range t.Hosts {
			if underBase(h, base) {
				shadowed++
				continue
			}
			hosts[h] = t
		}
	}
	servers := make(map[string]tenant.DBServer, len(ss))
	for _, s := range ss {
		servers[s.Name] = s
	}
	r.mu.Lock()
	oldTenants, oldServers, first := r.byID, r.servers, !r.first
	r.base, r.hosts, r.slugs, r.byID, r.servers, r.first = base, hosts, slugs, byID, servers, true
	r.mu.Unlock()
	r.loaded.Store(time.Now().UnixNano())
	if shadowed > 0 {
		r.log.WarnContext(ctx, "custom domains under the base domain ignored: <slug>.<base> is the platform's", "domains", shadowed, "base_domain", base)
	}
	if !first {
		r.serversChanged(oldServers, servers)
		for id, t := range oldTenants {
			r.changed(t, byID[id])
		}
	}
	r.log.InfoContext(ctx, "tenant map loaded", "tenants", len(ts), "base_domain", base)
	return nil
}

// underBase reports whether h is the base domain or a name under it.
func underBase(h, base string) bool {
	return h == base || strings.HasSuffix(h, "."+base)
}

// notice handles one notification.
func (r *Resolver) notice(ctx context.Context, channel, payload, foreign string) {
	if foreign != "" {
		// Anyone who can connect to the catalog can NOTIFY: a fake notice
		// must cost no catalog read.
		r.ignored.Add(1)
		if !r.warned[foreign] {
			if len(r.warned) >= maxSenders {
				clear(r.warned)
			}
			r.warned[foreign] = true
			r.log.WarnContext(ctx, "catalog notice from a foreign role ignored", "sender", foreign, "channel", channel)
		}
		return
	}
	switch channel {
	case SentChannel:
		r.lag(payload)
	case TenantChannel:
		r.patch(ctx, payload)
	case ServerChannel:
		r.patchServers(ctx)
	default: // settings (the base domain), or a channel this version does not know
		r.reload(ctx)
	}
}

// lag reports a notice's send time (SentChannel's payload) against now.
// A payload that is not a time is dropped: it costs nothing.
func (r *Resolver) lag(payload string) {
	if r.opts.NoticeLag == nil {
		return
	}
	us, err := strconv.ParseInt(payload, 10, 64)
	if err != nil || us <= 0 {
		return
	}
	r.opts.NoticeLag(max(time.Since(time.UnixMicro(us)), 0))
}

func (r *Resolver) reload(ctx context.Context) {
	if err := r.Reload(ctx); err != nil {
		r.log.ErrorContext(ctx, "tenant map reload failed", "err", err)
	}
}

// patchServers reads the servers again (a handful of rows) after one
// changed.
func (r *Resolver) patchServers(ctx context.Context) {
	r.patches.Add(1)
	ss, err := r.cat.DBServers(ctx)
	if err != nil {
		r.log.WarnContext(ctx, "database server patch failed; reloading", "err", err)
		r.reload(ctx)
		return
	}
	servers := make(map[string]tenant.DBServer, len(ss))
	for _, s := range ss {
		servers[s.Name] = s
	}
	r.mu.Lock()
	old := r.servers
	r.servers = servers
	r.mu.Unlock()
	r.serversChanged(old, servers)
}

// serversChanged calls OnServerChange for each difference.
func (r *Resolver) serversChanged(old, updated map[string]tenant.DBServer) {
	if r.opts.OnServerChange == nil {
		return
	}
	for name, o := range old {
		if n, ok := updated[name]; !ok {
			r.opts.OnServerChange(o, tenant.DBServer{})
		} else if o.Host != n.Host || o.Port != n.Port || o.ConnectionBudget != n.ConnectionBudget {
			r.opts.OnServerChange(o, n)
		}
	}
	for name, n := range updated {
		if _, ok := old[name]; !ok {
			r.opts.OnServerChange(tenant.DBServer{}, n)
		}
	}
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
		r.reload(ctx)
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
			if !underBase(h, r.base) {
				r.hosts[h] = t
			}
		}
	}
	_, known := r.servers[serverOf(t)]
	r.mu.Unlock()
	if t != nil && !known {
		r.reload(ctx)
	}
	if old != nil {
		r.changed(old, t)
	}
	if r.opts.OnPatch != nil {
		r.opts.OnPatch(id)
	}
}

// changed calls the callback a tenant's change calls for, if any: old is
// what was held, updated what the catalog says now (nil: gone).
func (r *Resolver) changed(old, updated *tenant.Tenant) {
	switch {
	case updated == nil || changed(old, updated):
		if r.opts.OnChange != nil {
			r.opts.OnChange(old)
		}
	case old.SecretsVersion != updated.SecretsVersion:
		if r.opts.OnSecretsChange != nil {
			r.opts.OnSecretsChange(old)
		}
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
	// IgnoredNotices counts notifications sent by a role other than the
	// catalog's (see Catalog.Listen): dropped without a catalog read.
	IgnoredNotices int64 `json:"ignored_notices"`
}

// Stats returns current figures.
func (r *Resolver) Stats() Stats {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return Stats{Tenants: len(r.byID), Hosts: len(r.hosts) + len(r.slugs),
		LoadedAt: time.Unix(0, r.loaded.Load()), Patches: r.patches.Load(), IgnoredNotices: r.ignored.Load()}
}

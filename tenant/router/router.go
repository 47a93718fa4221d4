// Package router is the HTTP face of tenant hosts: it resolves the tenant
// from the host name, refuses unknown, suspended and in-maintenance
// tenants, and serves the request from the tenant's own pool.
package router

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/httpx"
	"github.com/tenancy/platform/tenant/metrics"
)

// Resolver finds the tenant of a normalised host.
type Resolver interface {
	Lookup(host string) *tenant.Tenant
}

// Pools hands out connections to tenant databases.
type Pools interface {
	Acquire(ctx context.Context, t *tenant.Tenant) (*pgxpool.Conn, error)
}

// Config wires the router.
type Config struct {
	Resolver       Resolver
	Pools          Pools
	Health         fiber.Handler // /healthz
	Ready          fiber.Handler // /readyz
	TrustedProxies []string      // only these may set X-Forwarded-* headers
	Logger         *slog.Logger
	Limits         httpx.Limits // read/idle timeouts; zero: the defaults
	// Routes adds routes served inside the tenant context (FromContext
	// works in them), before the catch-all 404: the kinds' routers, and
	// tests. Paths are relative to the root.
	Routes func(r fiber.Router)
	// Metrics counts every request (kind, route template, method, status,
	// latency, top-N tenants); nil: none.
	Metrics *metrics.Metrics
	// HSTSMaxAge is Strict-Transport-Security's max-age on responses that
	// came over TLS (directly or through a trusted proxy); 0: a year,
	// negative: no HSTS.
	HSTSMaxAge time.Duration
	// Before runs after /healthz and /readyz (probes stay on plain HTTP)
	// and before everything else: serve's redirect to HTTPS and ACME
	// http-01 answers (tenant/tlsserve.Redirect). nil: none.
	Before fiber.Handler
}

// New returns the Fiber app for tenant hosts (httpx.NewApp: its
// middleware runs first on every request: request id, request logger,
// panic recovery, access log).
func New(cfg Config) *fiber.App {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	proxies, err := httpx.ParseProxies(cfg.TrustedProxies)
	if err != nil {
		// serve validates them first; here, trusting none is the safe side.
		cfg.Logger.Error("router: trusted proxies ignored", "err", err)
		proxies = httpx.Proxies{}
	}
	var obs httpx.Observer
	if m := cfg.Metrics; m != nil {
		obs = func(c *fiber.Ctx, route string, status int, d time.Duration) {
			var kind, slug string
			if t := FromContext(c); t != nil {
				kind, slug = string(t.Kind), t.Slug
			}
			m.Observe(kind, route, c.Method(), status, d, slug)
		}
	}
	app := httpx.NewObservedApp(cfg.Logger, proxies, cfg.Limits, obs)
	// Security headers on every response of tenant hosts: errors, 404s and
	// unknown hosts included.
	hsts := httpx.HSTS(365 * 24 * time.Hour)
	if cfg.HSTSMaxAge != 0 {
		hsts = httpx.HSTS(cfg.HSTSMaxAge)
	}
	app.Use(httpx.SecurityHeadersHSTS(func(c *fiber.Ctx) bool { return httpx.IsTLS(c, proxies) }, hsts))
	app.Get("/healthz", cfg.Health)
	app.Get("/readyz", cfg.Ready)
	if cfg.Before != nil {
		app.Use(cfg.Before)
	}

	h := &handlers{cfg: cfg, proxies: proxies}
	api := app.Group("/api", h.tenantContext)
	api.Get("/tenant", h.tenant)
	api.Get("/tenant/db", h.tenantDB)
	if cfg.Routes != nil {
		cfg.Routes(app.Group("", h.tenantContext))
	}
	app.Use(h.tenantContext, func(c *fiber.Ctx) error { return fiber.ErrNotFound })
	return app
}

type handlers struct {
	cfg     Config
	proxies httpx.Proxies
}

type ctxKey struct{}

// FromContext returns the tenant of a request.
func FromContext(c *fiber.Ctx) *tenant.Tenant {
	t, _ := c.Locals(ctxKey{}).(*tenant.Tenant)
	return t
}

// tenantContext resolves the tenant from the host (httpx.Host: the host
// the nearest trusted proxy saw, malformed hosts refused) and names it to
// the request logger.
func (h *handlers) tenantContext(c *fiber.Ctx) error {
	if FromContext(c) != nil {
		return c.Next()
	}
	raw, err := httpx.Host(c, h.proxies)
	if err != nil {
		return err
	}
	t := h.cfg.Resolver.Lookup(tenant.NormalizeHost(raw))
	if t == nil || t.Status == tenant.StatusProvisioning || t.Status == tenant.StatusDeleted {
		return tenant.Errorf(tenant.ETenantNotFound, "no tenant at this address")
	}
	httpx.SetTenant(c, t.Slug)
	switch t.Status {
	case tenant.StatusSuspended:
		return tenant.Errorf(tenant.ETenantSuspended, "this account is suspended")
	case tenant.StatusMaintenance:
		return tenant.Errorf(tenant.ETenantMaintenance, "this account is under maintenance; try again shortly")
	}
	// No per-request context deadline: a timer per request cost more than
	// the rest of the routing together (measured 1.3 µs vs 0.1 µs). Tenant
	// connections carry statement_timeout instead (tenant/pool), which ends
	// a runaway query on the server, where it costs.
	c.Locals(ctxKey{}, t)
	return c.Next()
}

// tenant answers who this host is.
func (h *handlers) tenant(c *fiber.Ctx) error {
	t := FromContext(c)
	return c.JSON(fiber.Map{"slug": t.Slug, "name": t.Name, "kind": t.Kind})
}

// tenantDB runs one small query on the tenant's own database: the
// database it reached and its schema version.
func (h *handlers) tenantDB(c *fiber.Ctx) error {
	t := FromContext(c)
	ctx := c.UserContext()
	conn, err := h.cfg.Pools.Acquire(ctx, t)
	if err != nil {
		return unavailable(c, "acquire a tenant connection", err)
	}
	defer conn.Release()
	var db string
	var version int64
	err = conn.QueryRow(ctx, `SELECT current_database(), coalesce((SELECT version FROM schema_migrations LIMIT 1), 0)`).Scan(&db, &version)
	if err != nil {
		return unavailable(c, "query the tenant database", err)
	}
	return c.JSON(fiber.Map{"database": db, "schema_version": version})
}

// unavailable is what a tenant user sees of a failure to reach the
// tenant's database: 503 tenant_unavailable (Retry-After), whatever the
// cause (missing secrets, Vault down, unknown server, dial or query
// error). The cause goes to the request's access-log line with tenant and
// request id (httpx.SetCause): once per request, at INFO. The pool logs
// the state change loudly, once; a WARN per request would flood the log
// during an outage (TestServeOutageLogsStateChanges). Only
// capacity_exhausted is told as such: waiting helps then, and it says so.
func unavailable(c *fiber.Ctx, what string, err error) error {
	if tenant.ErrorCode(err) == tenant.ECapacity {
		return err
	}
	httpx.SetCause(c, fmt.Errorf("%s: %w", what, err))
	return tenant.Errorf(tenant.ETenantUnavailable, "this account is temporarily unavailable; try again shortly")
}

package main

import (
	"context"
	"crypto/subtle"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tenancy/platform/migrations"
	"github.com/tenancy/platform/platform/catalog"
	"github.com/tenancy/platform/platform/schema"
	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/metrics"
)

// metricsConfig is the metrics' part of serveConfig.
type metricsConfig struct {
	TopTenants int    // PLATFORM_METRICS_TOP_TENANTS; 0: metrics.DefaultTopTenants
	Token      string // PLATFORM_METRICS_TOKEN; empty: /metrics is open on the admin listener
	// CatalogTTL is how long the catalog-derived gauges reuse a read
	// (PLATFORM_METRICS_CATALOG_TTL); 0: metrics.DefaultFleetTTL.
	CatalogTTL time.Duration
}

func loadMetricsConfig(getenv func(string) string) (metricsConfig, error) {
	c := metricsConfig{Token: getenv("PLATFORM_METRICS_TOKEN")}
	if v := getenv("PLATFORM_METRICS_TOP_TENANTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return c, tenant.Errorf(tenant.EInvalid, "PLATFORM_METRICS_TOP_TENANTS must be between 1 and 1000")
		}
		c.TopTenants = n
	}
	if v := getenv("PLATFORM_METRICS_CATALOG_TTL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second || d > 10*time.Minute {
			return c, tenant.Errorf(tenant.EInvalid, "PLATFORM_METRICS_CATALOG_TTL must be a duration between 1s and 10m, such as 20s")
		}
		c.CatalogTTL = d
	}
	if n := len(c.Token); n > 0 && n < minOperatorToken {
		return c, tenant.Errorf(tenant.EInvalid, "PLATFORM_METRICS_TOKEN is too short (%d characters): at least %d are required (e.g. openssl rand -hex 32)", n, minOperatorToken)
	}
	return c, nil
}

// newMetrics makes the process's one registry and its request metrics.
// The pool and resolver collectors are registered by the caller once
// those exist.
func newMetrics(cfg metricsConfig) (*prometheus.Registry, *metrics.Metrics, error) {
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg, metrics.Config{TopTenants: cfg.TopTenants})
	if err != nil {
		return nil, nil, err
	}
	return reg, m, nil
}

// metricsHandler serves reg in Prometheus's text format. With a token,
// a scrape must bring it as a bearer token: a token of its own, not the
// operator's, so that Prometheus's configuration holds nothing that can
// change a tenant.
func metricsHandler(reg *prometheus.Registry, token string) fiber.Handler {
	h := adaptor.HTTPHandler(promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		// A collector's error is a partial answer, not a failed scrape.
		ErrorHandling: promhttp.ContinueOnError,
	}))
	if token == "" {
		return h
	}
	want := []byte(token)
	return func(c *fiber.Ctx) error {
		given, ok := strings.CutPrefix(c.Get(fiber.HeaderAuthorization), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(given), want) != 1 {
			c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="metrics"`)
			return tenant.Errorf(tenant.EUnauthenticated, "a valid metrics token is required")
		}
		return h(c)
	}
}

// observe registers the run counters, the dependency probes and the
// catalog-derived gauges with reg, and hands the counters to the
// services that run things: the provisioning service now, the backup
// service (startSchedule) and the resolver (NoticeLag) as they are made.
// Called before either exists; the probes read s.redis at scrape time.
func (s *server) observe(ctx context.Context, reg prometheus.Registerer) error {
	runs, err := metrics.NewRuns(reg)
	if err != nil {
		return err
	}
	s.runs = runs
	s.app.svc = s.app.svc.WithObserver(runs)
	latest := map[string]uint{}
	for _, k := range tenant.Kinds {
		src, err := migrations.ForKind(string(k))
		if err != nil {
			return err
		}
		vs, err := schema.Versions(src)
		if err != nil {
			return err
		}
		if len(vs) > 0 {
			latest[string(k)] = vs[len(vs)-1]
		}
	}
	cat := s.app.cat
	fleet := metrics.NewFleetCollector(ctx, metrics.FleetConfig{
		Read:   func(ctx context.Context) (metrics.Fleet, error) { return readFleet(ctx, cat) },
		Latest: latest, TTL: s.cfg.Metrics.CatalogTTL,
		Statuses: []string{string(tenant.StatusProvisioning), string(tenant.StatusActive), string(tenant.StatusSuspended),
			string(tenant.StatusMaintenance), string(tenant.StatusDeleted)},
		// The scheduler's tenants (startSchedule) and the fleet migration's
		// (provision.MigrateUp).
		Scheduled: func(st string) bool { return st == string(tenant.StatusActive) },
		Migrated: func(st string) bool {
			return st == string(tenant.StatusActive) || st == string(tenant.StatusSuspended) || st == string(tenant.StatusMaintenance)
		},
	})
	return errors.Join(reg.Register(fleet),
		reg.Register(metrics.NewDependencyCollector(ctx, s.dependencyChecks(), metrics.DependencyTimeout)))
}

// readFleet is the fleet collector's read: two queries.
func readFleet(ctx context.Context, cat *catalog.DB) (metrics.Fleet, error) {
	ts, err := cat.FleetState(ctx)
	if err != nil {
		return metrics.Fleet{}, err
	}
	counts, err := cat.TenantCounts(ctx)
	if err != nil {
		return metrics.Fleet{}, err
	}
	f := metrics.Fleet{ByStatus: counts, Tenants: make([]metrics.FleetTenant, len(ts))}
	for i, t := range ts {
		f.Tenants[i] = metrics.FleetTenant{Slug: t.Slug, Kind: t.Kind, Status: t.Status,
			SchemaVersion: t.SchemaVersion, SchemaDirty: t.SchemaDirty,
			LastBackup: t.LastBackup, LastBackupDuration: t.LastBackupDuration, LastBackupSize: t.LastBackupSize,
			LastBackupFailure: t.LastBackupFailure, VerifiedAt: t.VerifiedAt, VerifyFailedAt: t.VerifyFailedAt}
	}
	return f, nil
}

// dependencyChecks are the checks of /readyz and of
// platform_dependency_up.
func (s *server) dependencyChecks() map[string]func(context.Context) error {
	return map[string]func(context.Context) error{
		"catalog": s.cat.Ping,
		"redis":   func(ctx context.Context) error { return s.redis.Ping(ctx).Err() },
		"vault":   s.vault.Ping,
	}
}

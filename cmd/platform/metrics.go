package main

import (
	"crypto/subtle"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/metrics"
)

// metricsConfig is the metrics' part of serveConfig.
type metricsConfig struct {
	TopTenants int    // PLATFORM_METRICS_TOP_TENANTS; 0: metrics.DefaultTopTenants
	Token      string // PLATFORM_METRICS_TOKEN; empty: /metrics is open on the admin listener
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

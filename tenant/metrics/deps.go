package metrics

import (
	"context"
	"errors"
	"net"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/secretcache"
)

// depBuckets span a local round trip to a call cut off by its timeout.
var depBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}

// Results of a dependency call.
const (
	ResultOK       = "ok"
	ResultNotFound = "not_found" // Vault: the tenant has no secrets
	ResultCanceled = "canceled"  // the caller went away first
	ResultError    = "error"
)

// Deps instruments the calls to Vault and Redis: counts by result and
// latency. Make it with NewDeps, once per registry.
type Deps struct {
	vaultReads   *prometheus.CounterVec
	vaultLatency prometheus.Observer
	redisCalls   *prometheus.CounterVec
	redisLatency *prometheus.HistogramVec
	redisDials   *prometheus.CounterVec
}

// NewDeps registers the dependency metrics with reg.
func NewDeps(reg prometheus.Registerer) (*Deps, error) {
	vaultLatency := prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: Namespace, Name: "vault_read_duration_seconds",
		Help: "Latency of reads of tenant secrets from Vault (cache misses and refreshes).", Buckets: depBuckets})
	d := &Deps{
		vaultReads: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "vault_reads_total",
			Help: "Reads of tenant secrets from Vault by result (ok, not_found, canceled, error)."}, []string{"result"}),
		vaultLatency: vaultLatency,
		redisCalls: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "redis_commands_total",
			Help: "Redis commands (a pipeline counts once) by result (ok, canceled, error)."}, []string{"result"}),
		redisLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Name: "redis_command_duration_seconds",
			Help: "Latency of Redis commands and pipelines by result.", Buckets: depBuckets}, []string{"result"}),
		redisDials: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "redis_dials_total",
			Help: "New connections to Redis by result (ok, canceled, error)."}, []string{"result"}),
	}
	for _, c := range []prometheus.Collector{d.vaultReads, vaultLatency, d.redisCalls, d.redisLatency, d.redisDials} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	// Every result exists from the start: an alert on a rate needs a
	// series before the first error.
	for _, r := range []string{ResultOK, ResultNotFound, ResultCanceled, ResultError} {
		d.vaultReads.WithLabelValues(r)
	}
	for _, r := range []string{ResultOK, ResultCanceled, ResultError} {
		d.redisCalls.WithLabelValues(r)
		d.redisDials.WithLabelValues(r)
	}
	return d, nil
}

// Secrets wraps the secrets cache's reader (Vault) with the read counts
// and latency.
func (d *Deps) Secrets(g secretcache.Getter) secretcache.Getter { return vaultGetter{g: g, d: d} }

type vaultGetter struct {
	g secretcache.Getter
	d *Deps
}

func (v vaultGetter) Get(ctx context.Context, slug string) (map[string]string, error) {
	start := time.Now()
	sec, err := v.g.Get(ctx, slug)
	v.d.vaultLatency.Observe(time.Since(start).Seconds())
	r := result(ctx, err)
	if err != nil && tenant.ErrorCode(err) == tenant.ENotFound {
		r = ResultNotFound
	}
	v.d.vaultReads.WithLabelValues(r).Inc()
	return sec, err
}

// result classifies a call's error; a cancelled caller is not a failing
// dependency.
func result(ctx context.Context, err error) string {
	switch {
	case err == nil:
		return ResultOK
	case errors.Is(err, context.Canceled) || ctx.Err() == context.Canceled:
		return ResultCanceled
	}
	return ResultError
}

// RedisHook returns a go-redis hook counting commands, pipelines and
// dials by result, with their latency (connection setup excluded). redis.Nil (no such key) is an
// answer, not an error, and so is NOSCRIPT: go-redis sends the script
// itself next.
func (d *Deps) RedisHook() redis.Hook { return redisHook{d} }

type redisHook struct{ d *Deps }

func (h redisHook) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := next(ctx, network, addr)
		h.d.redisDials.WithLabelValues(result(ctx, err)).Inc()
		return c, err
	}
}

func (h redisHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if setup(cmd) {
			return next(ctx, cmd)
		}
		start := time.Now()
		err := next(ctx, cmd)
		h.observe(ctx, err, start)
		return err
	}
}

func (h redisHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if len(cmds) > 0 && setup(cmds[0]) {
			return next(ctx, cmds)
		}
		start := time.Now()
		err := next(ctx, cmds)
		h.observe(ctx, err, start)
		return err
	}
}

// setup says whether cmd is part of go-redis's own connection setup
// (HELLO, AUTH, SELECT, CLIENT SETINFO…): an older Redis refuses some of
// them on every new connection and go-redis ignores it. The platform's
// own code sends none of them.
func setup(cmd redis.Cmder) bool {
	switch cmd.Name() {
	case "hello", "auth", "select", "client":
		return true
	}
	return false
}

func (h redisHook) observe(ctx context.Context, err error, start time.Time) {
	if errors.Is(err, redis.Nil) || err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT") {
		err = nil
	}
	r := result(ctx, err)
	h.d.redisCalls.WithLabelValues(r).Inc()
	h.d.redisLatency.WithLabelValues(r).Observe(time.Since(start).Seconds())
}

// secretsCollector reads the secrets cache's figures at scrape time.
type secretsCollector struct {
	stats                                        func() secretcache.Stats
	entries, hits, stale, misses, errs, lastFail *prometheus.Desc
}

// NewSecretsCollector exposes stats (secretcache.Cache.Stats).
func NewSecretsCollector(stats func() secretcache.Stats) prometheus.Collector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(Namespace+"_secrets_cache_"+name, help, nil, nil)
	}
	return &secretsCollector{stats: stats,
		entries:  d("entries", "Tenants whose secrets are cached."),
		hits:     d("hits_total", "Secret lookups answered from the cache."),
		stale:    d("stale_hits_total", "Lookups answered from an entry past its TTL (within the grace period) while it is refreshed in the background."),
		misses:   d("misses_total", "Lookups that read Vault."),
		errs:     d("refresh_errors_total", "Failed reads of Vault by the cache."),
		lastFail: d("last_error_timestamp_seconds", "Unix time of the cache's last failed Vault read (0: none)."),
	}
}

func (c *secretsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.entries, c.hits, c.stale, c.misses, c.errs, c.lastFail} {
		ch <- d
	}
}

func (c *secretsCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	last := 0.0
	if !s.LastError.IsZero() {
		last = float64(s.LastError.UnixNano()) / 1e9
	}
	ch <- prometheus.MustNewConstMetric(c.entries, prometheus.GaugeValue, float64(s.Entries))
	ch <- prometheus.MustNewConstMetric(c.hits, prometheus.CounterValue, float64(s.Hits))
	ch <- prometheus.MustNewConstMetric(c.stale, prometheus.CounterValue, float64(s.StaleHits))
	ch <- prometheus.MustNewConstMetric(c.misses, prometheus.CounterValue, float64(s.Misses))
	ch <- prometheus.MustNewConstMetric(c.errs, prometheus.CounterValue, float64(s.RefreshErrors))
	ch <- prometheus.MustNewConstMetric(c.lastFail, prometheus.GaugeValue, last)
}

// Package metrics defines the platform's Prometheus metrics. Nothing here
// registers with the global default registry: cmd/platform makes one
// *prometheus.Registry and hands it to New and to the collectors, so that
// tests (which start many servers in one process) each get their own.
//
// The request path pays for one cached series lookup and two atomic adds
// (Requests.Observe); everything else (pools, budgets, resolver) is read
// at scrape time by collectors from the figures the packages keep anyway.
package metrics

import (
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Namespace prefixes every metric of the platform.
const Namespace = "platform"

// DefaultTopTenants is how many tenants get a series of their own in
// platform_tenant_requests_total when the configuration names none.
const DefaultTopTenants = 20

// Config sizes the metrics.
type Config struct {
	// TopTenants bounds the tenant label of platform_tenant_requests_total
	// (the heaviest N tenants; the rest count as OtherTenant). 0: the
	// default.
	TopTenants int
}

// Metrics is the request-path side of the platform's metrics.
type Metrics struct {
	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	rateLimited *prometheus.CounterVec
	top         *TopN
	// series caches the request series: WithLabelValues hashes its
	// values and a sync.Map its interface key; a plain map under a read
	// lock costs half of either.
	mu     sync.RWMutex
	series map[seriesKey]*series
}

// latencyBuckets span a cached answer (well under a millisecond) to a
// request cut off by the read timeout.
var latencyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// New makes the request metrics and registers them, with the Go runtime
// and process collectors, with reg.
func New(reg prometheus.Registerer, cfg Config) (*Metrics, error) {
	if cfg.TopTenants <= 0 {
		cfg.TopTenants = DefaultTopTenants
	}
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "http_requests_total",
			Help: "Requests to tenant hosts by tenant kind, route template, method and status code.",
		}, []string{"kind", "route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "http_request_duration_seconds",
			Help:    "Latency of requests to tenant hosts by tenant kind, route template, method and status class.",
			Buckets: latencyBuckets,
		}, []string{"kind", "route", "method", "class"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "rate_limited_total",
			Help: "Requests refused (429) by the identity rate limits of tenant hosts, API and console alike, by limit (login: login and password reset per IP; default: authenticated requests per IP).",
		}, []string{"limit"}),
		top:    NewTopN(cfg.TopTenants),
		series: map[seriesKey]*series{},
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.rateLimited,
		&topCollector{top: m.top, desc: prometheus.NewDesc(Namespace+"_tenant_requests_total",
			"Requests per tenant for the heaviest tenants only (space-saving top-N); the rest are tenant=\""+OtherTenant+"\".",
			[]string{"tenant"}, nil),
			evictions: prometheus.NewDesc(Namespace+"_tenant_top_evictions_total",
				"Times a tenant lost its series in platform_tenant_requests_total to a heavier one.", nil, nil)},
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	// Both limits exist from the start: a rate of zero is a rate.
	for _, l := range []string{LimitLogin, LimitDefault} {
		m.rateLimited.WithLabelValues(l)
	}
	return m, nil
}

// The rate limits of platform_rate_limited_total.
const (
	LimitLogin   = "login"
	LimitDefault = "default"
)

// RateLimited counts a refusal by the identity limit named by its key
// prefix (session.Options.Refused): "auth" is the login limit, "api" the
// default one; any other name counts as "other".
func (m *Metrics) RateLimited(name string) {
	if m == nil {
		return
	}
	l := "other"
	switch name {
	case "auth":
		l = LimitLogin
	case "api":
		l = LimitDefault
	}
	m.rateLimited.WithLabelValues(l).Inc()
}

// seriesKey names one request series. Its strings must outlive the
// request: constants, route templates, tenant kinds.
type seriesKey struct {
	kind, route, method string
	code                int
}

type series struct {
	count   prometheus.Counter
	latency prometheus.Observer
}

// Labels for requests that have no route or no tenant.
const (
	NoRoute  = "unmatched"
	NoTenant = "none"
)

// Observe counts one finished request. kind is the tenant's kind ("" when
// no tenant was resolved), route the template that answered ("" when none
// did), method the request method (any string: only the standard methods
// become a label value), slug the tenant's ("" when none). Safe for
// concurrent use; a nil *Metrics does nothing.
func (m *Metrics) Observe(kind, route, method string, code int, d time.Duration, slug string) {
	if m == nil {
		return
	}
	if kind == "" {
		kind = NoTenant
	}
	if route == "" {
		route = NoRoute
	}
	k := seriesKey{kind: kind, route: route, method: methodLabel(method), code: code}
	m.mu.RLock()
	s := m.series[k]
	m.mu.RUnlock()
	if s == nil {
		s = m.newSeries(k)
	}
	s.count.Inc()
	s.latency.Observe(d.Seconds())
	if slug != "" {
		m.top.Add(slug)
	}
}

func (m *Metrics) newSeries(k seriesKey) *series {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s := m.series[k]; s != nil {
		return s
	}
	s := &series{
		count:   m.requests.WithLabelValues(k.kind, k.route, k.method, strconv.Itoa(k.code)),
		latency: m.duration.WithLabelValues(k.kind, k.route, k.method, statusClass(k.code)),
	}
	m.series[k] = s
	return s
}

// methodLabel maps a method to a constant: the caller's string may be a
// view of a request buffer, and the label set stays bounded.
func methodLabel(m string) string {
	switch m {
	case "GET":
		return "GET"
	case "HEAD":
		return "HEAD"
	case "POST":
		return "POST"
	case "PUT":
		return "PUT"
	case "PATCH":
		return "PATCH"
	case "DELETE":
		return "DELETE"
	case "OPTIONS":
		return "OPTIONS"
	}
	return "other"
}

func statusClass(code int) string {
	switch {
	case code >= 500:
		return "5xx"
	case code >= 400:
		return "4xx"
	case code >= 300:
		return "3xx"
	case code >= 200:
		return "2xx"
	}
	return "1xx"
}

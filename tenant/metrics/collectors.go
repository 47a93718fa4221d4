package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tenancy/platform/tenant/pool"
	"github.com/tenancy/platform/tenant/resolve"
)

// poolCollector reads the pool manager's figures at scrape time: the
// request path pays nothing for them.
type poolCollector struct {
	stats                                          func() pool.Stats
	pools, limit, inUse, peak, waiting, waits, exh *prometheus.Desc
}

// NewPoolCollector exposes stats (pool.Manager.Stats): open pools, and per
// database server its connection budget, connections in use, peak,
// dials waiting, and the totals of dials that waited and that found no
// slot in time (capacity_exhausted, answered 503).
func NewPoolCollector(stats func() pool.Stats) prometheus.Collector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(Namespace+"_"+name, help, labels, nil)
	}
	return &poolCollector{stats: stats,
		pools:   d("tenant_pools", "Open tenant connection pools."),
		limit:   d("db_budget_connections", "Connection budget of a database server (the most connections open to it).", "server"),
		inUse:   d("db_connections_open", "Connections open to a database server (they hold a budget slot).", "server"),
		peak:    d("db_connections_peak", "Highest number of connections open to a database server since start.", "server"),
		waiting: d("db_budget_waiting", "Dials waiting now for a slot of a database server's budget.", "server"),
		waits:   d("db_budget_waits_total", "Dials that had to wait for a slot of a database server's budget.", "server"),
		exh:     d("db_budget_exhausted_total", "Dials that found no slot in time: requests answered 503 capacity_exhausted.", "server"),
	}
}

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.pools, c.limit, c.inUse, c.peak, c.waiting, c.waits, c.exh} {
		ch <- d
	}
}

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	ch <- prometheus.MustNewConstMetric(c.pools, prometheus.GaugeValue, float64(s.Pools))
	for name, srv := range s.Servers {
		ch <- prometheus.MustNewConstMetric(c.limit, prometheus.GaugeValue, float64(srv.Budget), name)
		ch <- prometheus.MustNewConstMetric(c.inUse, prometheus.GaugeValue, float64(srv.InUse), name)
		ch <- prometheus.MustNewConstMetric(c.peak, prometheus.GaugeValue, float64(srv.Peak), name)
		ch <- prometheus.MustNewConstMetric(c.waiting, prometheus.GaugeValue, float64(srv.Waiting), name)
		ch <- prometheus.MustNewConstMetric(c.waits, prometheus.CounterValue, float64(srv.Waits), name)
		ch <- prometheus.MustNewConstMetric(c.exh, prometheus.CounterValue, float64(srv.Exhausted), name)
	}
}

// resolverCollector reads the resolver's figures at scrape time.
type resolverCollector struct {
	stats                                 func() resolve.Stats
	tenants, hosts, loaded, patches, ignd *prometheus.Desc
}

// NewResolverCollector exposes stats (resolve.Resolver.Stats): tenants and
// hosts known, the time of the last full load, catalog notifications
// applied and ignored. Their lag is a histogram of Runs (NoticeLag).
func NewResolverCollector(stats func() resolve.Stats) prometheus.Collector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(Namespace+"_resolver_"+name, help, nil, nil)
	}
	return &resolverCollector{stats: stats,
		tenants: d("tenants", "Tenants the resolver knows."),
		hosts:   d("hosts", "Host names the resolver routes (custom domains and slug subdomains)."),
		loaded:  d("last_load_timestamp_seconds", "Unix time of the resolver's last full load of the catalog (at start and after each reconnect of its listener)."),
		patches: d("patches_total", "Catalog change notifications applied."),
		ignd:    d("ignored_notices_total", "Catalog notifications dropped because a role other than the catalog's sent them."),
	}
}

func (c *resolverCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.tenants, c.hosts, c.loaded, c.patches, c.ignd} {
		ch <- d
	}
}

func (c *resolverCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	ch <- prometheus.MustNewConstMetric(c.tenants, prometheus.GaugeValue, float64(s.Tenants))
	ch <- prometheus.MustNewConstMetric(c.hosts, prometheus.GaugeValue, float64(s.Hosts))
	ch <- prometheus.MustNewConstMetric(c.loaded, prometheus.GaugeValue, float64(s.LoadedAt.UnixNano())/1e9)
	ch <- prometheus.MustNewConstMetric(c.patches, prometheus.CounterValue, float64(s.Patches))
	ch <- prometheus.MustNewConstMetric(c.ignd, prometheus.CounterValue, float64(s.IgnoredNotices))
}

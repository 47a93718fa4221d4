package metrics

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Results of a run (platform_backup_runs_total, platform_provision_total,
// platform_migrations_total).
const (
	RunOK     = "ok"
	RunFailed = "failed"
)

// The kinds of platform_backup_runs_total.
const (
	KindBackup = "backup"
	KindVerify = "verify"
)

// runBuckets span a small tenant's backup (a second) to a large one's
// restore drill (hours).
var runBuckets = []float64{1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400}

// provisionBuckets span a clone from a ready template to a first tenant
// that builds the template and waits on Vault.
var provisionBuckets = []float64{.25, .5, 1, 2.5, 5, 10, 20, 30, 60, 120}

// lagBuckets span a notice on a quiet local catalog to one that queued
// behind a reload.
var lagBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// Runs counts what this process ran: backups and verifications (the
// scheduler's and the operator jobs'), tenant creations, tenant
// migrations, and the lag of the catalog notices its resolver received.
// Its methods are the Observer hooks of platform/backup and
// platform/provision and resolve.Options.NoticeLag; safe for concurrent
// use.
type Runs struct {
	backups       *prometheus.CounterVec
	backupLatency *prometheus.HistogramVec
	provisions    *prometheus.CounterVec
	provisionLat  prometheus.Histogram
	migrations    *prometheus.CounterVec
	noticeLag     prometheus.Histogram
}

// NewRuns registers the run metrics with reg, every label value at 0.
func NewRuns(reg prometheus.Registerer) (*Runs, error) {
	r := &Runs{
		backups: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "backup_runs_total",
			Help: "Backups and verifications (restore drills) run by this process, by kind (backup, verify) and result (ok, failed)."},
			[]string{"kind", "result"}),
		backupLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Name: "backup_run_duration_seconds",
			Help: "Duration of the backups and verifications run by this process, by kind.", Buckets: runBuckets}, []string{"kind"}),
		provisions: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "provision_total",
			Help: "Tenant creations run by this process (operator API and console), by result (ok, failed)."}, []string{"result"}),
		provisionLat: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: Namespace, Name: "provision_duration_seconds",
			Help: "Duration of the tenant creations run by this process.", Buckets: provisionBuckets}),
		migrations: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "migrations_total",
			Help: "Tenant database migrations (up, down, force) run by this process, by result (ok, failed)."}, []string{"result"}),
		noticeLag: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: Namespace, Name: "resolver_notification_lag_seconds",
			Help:    "Time from a catalog change (its trigger, by the database server's clock) to its notice reaching this process's resolver; clock skew adds to it, negatives count as 0.",
			Buckets: lagBuckets}),
	}
	for _, c := range []prometheus.Collector{r.backups, r.backupLatency, r.provisions, r.provisionLat, r.migrations, r.noticeLag} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	// A rate of failures needs its series before the first failure.
	for _, k := range []string{KindBackup, KindVerify} {
		r.backupLatency.WithLabelValues(k)
		for _, res := range []string{RunOK, RunFailed} {
			r.backups.WithLabelValues(k, res)
		}
	}
	for _, res := range []string{RunOK, RunFailed} {
		r.provisions.WithLabelValues(res)
		r.migrations.WithLabelValues(res)
	}
	return r, nil
}

func runResult(err error) string {
	if err != nil {
		return RunFailed
	}
	return RunOK
}

// ObserveBackupRun counts one backup or verification (backup.Observer).
// A kind other than backup and verify counts as backup: the label set
// stays bounded.
func (r *Runs) ObserveBackupRun(kind string, d time.Duration, err error) {
	if kind != KindVerify {
		kind = KindBackup
	}
	r.backups.WithLabelValues(kind, runResult(err)).Inc()
	r.backupLatency.WithLabelValues(kind).Observe(d.Seconds())
}

// ObserveProvision counts one tenant creation (provision.Observer).
func (r *Runs) ObserveProvision(d time.Duration, err error) {
	r.provisions.WithLabelValues(runResult(err)).Inc()
	r.provisionLat.Observe(d.Seconds())
}

// ObserveMigration counts one tenant database migrated
// (provision.Observer).
func (r *Runs) ObserveMigration(err error) { r.migrations.WithLabelValues(runResult(err)).Inc() }

// NoticeLag records one catalog notice's lag (resolve.Options.NoticeLag).
func (r *Runs) NoticeLag(d time.Duration) { r.noticeLag.Observe(max(d, 0).Seconds()) }

// DependencyTimeout bounds each check of NewDependencyCollector.
const DependencyTimeout = 500 * time.Millisecond

// dependencyCollector runs its checks at scrape time.
type dependencyCollector struct {
	ctx     context.Context
	checks  map[string]func(context.Context) error
	timeout time.Duration
	up      *prometheus.Desc
}

// NewDependencyCollector exposes platform_dependency_up{dependency}: 1
// when the check of the dependency (catalog, redis, vault: the checks of
// /readyz) answered within timeout at this scrape, 0 otherwise. The checks
// run concurrently, so a scrape waits at most timeout for them; ctx ends
// them with the process.
//
// At scrape time rather than from a periodic checker: the value is as
// fresh as the scrape, nothing runs when nobody scrapes, and a replica
// scraped every 15 s pays three pings per scrape.
func NewDependencyCollector(ctx context.Context, checks map[string]func(context.Context) error, timeout time.Duration) prometheus.Collector {
	if timeout <= 0 {
		timeout = DependencyTimeout
	}
	return &dependencyCollector{ctx: ctx, checks: checks, timeout: timeout,
		up: prometheus.NewDesc(Namespace+"_dependency_up",
			"Whether a dependency (catalog, redis, vault) answered this replica's check within "+timeout.String()+" at scrape time (1) or not (0).",
			[]string{"dependency"}, nil)}
}

func (c *dependencyCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.up }

func (c *dependencyCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(c.ctx, c.timeout)
	defer cancel()
	var wg sync.WaitGroup
	for name, check := range c.checks {
		wg.Go(func() {
			v := 1.0
			if err := check(ctx); err != nil {
				v = 0
			}
			ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, v, name)
		})
	}
	wg.Wait()
}

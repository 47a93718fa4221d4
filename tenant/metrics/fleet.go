package metrics

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// FleetTenant is what the fleet collector needs of one tenant (not
// deleted), read from the catalog.
type FleetTenant struct {
	Slug, Kind, Status string
	// SchemaVersion nil: no migration run has recorded it yet.
	SchemaVersion *int64
	SchemaDirty   bool
	// The newest successful backup: its finish (nil: never), duration and
	// size; the newest failed backup's finish (nil: never).
	LastBackup         *time.Time
	LastBackupDuration time.Duration
	LastBackupSize     int64
	LastBackupFailure  *time.Time
	// The newest passed and failed verifications (nil: none).
	VerifiedAt, VerifyFailedAt *time.Time
}

// Fleet is one read of the catalog.
type Fleet struct {
	Tenants []FleetTenant
	// ByStatus counts tenants by status, deleted ones included.
	ByStatus map[string]int
}

// FleetConfig configures NewFleetCollector.
type FleetConfig struct {
	// Read reads the catalog (once per TTL at most).
	Read func(ctx context.Context) (Fleet, error)
	// Latest is the newest migration version shipped for each tenant kind.
	Latest map[string]uint
	// Statuses are every tenant status, each exposed from 0.
	Statuses []string
	// Scheduled says whether a tenant in a status gets scheduled backups.
	Scheduled func(status string) bool
	// Migrated says whether migrations apply to a tenant in a status.
	Migrated func(status string) bool
	// TTL is how long a read is reused; 0: DefaultFleetTTL.
	TTL time.Duration
	// Timeout bounds a read; 0: 5 s.
	Timeout time.Duration
	// Now is the clock (tests); nil: time.Now.
	Now func() time.Time
}

// DefaultFleetTTL is how long a catalog read is reused: two replicas
// scraped every 15 s each cost one query per replica per 20 s.
const DefaultFleetTTL = 20 * time.Second

// fleetCollector exposes the catalog-derived gauges. Every replica
// exposes the same values: aggregate with max by (tenant).
type fleetCollector struct {
	cfg FleetConfig
	ctx context.Context

	scheduled, lastOK, lastDur, lastSize, lastFail, verifyAt, verifyOK *prometheus.Desc
	tenants, pending, dirty                                            *prometheus.Desc

	mu     sync.Mutex // held across a read: concurrent scrapes make one query
	at     time.Time
	cached Fleet
}

// NewFleetCollector exposes, from the catalog at scrape time (cached for
// cfg.TTL), per tenant (label tenant = slug; deleted tenants have none):
//
//	platform_backup_scheduled                        1 active (scheduled backups), 0 any other status
//	platform_backup_last_success_timestamp_seconds   absent: never a successful backup
//	platform_backup_last_duration_seconds            of that backup
//	platform_backup_last_size_bytes                  of that backup
//	platform_backup_last_failure_timestamp_seconds   absent: never a failed one
//	platform_backup_verify_last_timestamp_seconds    the latest verification, absent: never verified
//	platform_backup_verify_last_success              1 it passed, 0 it failed
//
// and for the fleet platform_tenants{state}, platform_tenant_migrations_pending
// and platform_tenant_migrations_dirty. ctx ends the reads with the process.
func NewFleetCollector(ctx context.Context, cfg FleetConfig) prometheus.Collector {
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultFleetTTL
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(Namespace+"_"+name, help+" From the catalog: every replica exposes the same value.", labels, nil)
	}
	return &fleetCollector{cfg: cfg, ctx: ctx,
		scheduled: d("backup_scheduled", "1 for a tenant whose backups are scheduled (active), 0 for one in another status (provisioning, suspended, maintenance).", "tenant"),
		lastOK:    d("backup_last_success_timestamp_seconds", "Unix time the tenant's newest successful backup finished; absent if it never had one.", "tenant"),
		lastDur:   d("backup_last_duration_seconds", "Duration of the tenant's newest successful backup.", "tenant"),
		lastSize:  d("backup_last_size_bytes", "Size (encrypted, as stored) of the tenant's newest successful backup.", "tenant"),
		lastFail:  d("backup_last_failure_timestamp_seconds", "Unix time of the tenant's newest failed backup; absent if none failed.", "tenant"),
		verifyAt:  d("backup_verify_last_timestamp_seconds", "Unix time of the tenant's latest backup verification (restore drill); absent if never verified.", "tenant"),
		verifyOK:  d("backup_verify_last_success", "1 if the tenant's latest backup verification passed, 0 if it failed (corrupt or failed restore).", "tenant"),
		tenants:   d("tenants", "Tenants by state (status in the catalog).", "state"),
		pending:   d("tenant_migrations_pending", "Tenants (active, suspended, maintenance) whose schema is behind the newest migration of their kind this binary ships, or not recorded yet."),
		dirty:     d("tenant_migrations_dirty", "Tenants whose last migration failed half-way (dirty): they need platform migrate force."),
	}
}

func (c *fleetCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.scheduled, c.lastOK, c.lastDur, c.lastSize, c.lastFail, c.verifyAt, c.verifyOK,
		c.tenants, c.pending, c.dirty} {
		ch <- d
	}
}

// read returns the cached fleet, or reads it again once the TTL passed.
// A failed read is not cached: the next scrape tries again.
func (c *fleetCollector) read() (Fleet, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.cfg.Now()
	if !c.at.IsZero() && now.Sub(c.at) < c.cfg.TTL {
		return c.cached, nil
	}
	ctx, cancel := context.WithTimeout(c.ctx, c.cfg.Timeout)
	defer cancel()
	f, err := c.cfg.Read(ctx)
	if err != nil {
		return Fleet{}, err
	}
	c.cached, c.at = f, now
	return f, nil
}

func unix(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

func (c *fleetCollector) Collect(ch chan<- prometheus.Metric) {
	f, err := c.read()
	if err != nil {
		// The scrape reports the error (promhttp.ContinueOnError keeps the
		// rest); platform_dependency_up{dependency="catalog"} says why.
		ch <- prometheus.NewInvalidMetric(c.tenants, err)
		return
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for _, s := range c.cfg.Statuses {
		gauge(c.tenants, float64(f.ByStatus[s]), s)
	}
	for s, n := range f.ByStatus {
		known := false
		for _, k := range c.cfg.Statuses {
			known = known || k == s
		}
		if !known {
			gauge(c.tenants, float64(n), s)
		}
	}
	pending, dirty := 0, 0
	for _, t := range f.Tenants {
		sched := 0.0
		if c.cfg.Scheduled != nil && c.cfg.Scheduled(t.Status) {
			sched = 1
		}
		gauge(c.scheduled, sched, t.Slug)
		if t.LastBackup != nil {
			gauge(c.lastOK, unix(*t.LastBackup), t.Slug)
			gauge(c.lastDur, t.LastBackupDuration.Seconds(), t.Slug)
			gauge(c.lastSize, float64(t.LastBackupSize), t.Slug)
		}
		if t.LastBackupFailure != nil {
			gauge(c.lastFail, unix(*t.LastBackupFailure), t.Slug)
		}
		if at, ok, seen := latestVerify(t); seen {
			gauge(c.verifyAt, unix(at), t.Slug)
			v := 0.0
			if ok {
				v = 1
			}
			gauge(c.verifyOK, v, t.Slug)
		}
		if t.SchemaDirty {
			dirty++
		}
		if c.cfg.Migrated != nil && c.cfg.Migrated(t.Status) {
			if latest, known := c.cfg.Latest[t.Kind]; known && (t.SchemaVersion == nil || *t.SchemaVersion < int64(latest)) {
				pending++
			}
		}
	}
	gauge(c.pending, float64(pending))
	gauge(c.dirty, float64(dirty))
}

// latestVerify is the newer of a tenant's latest passed and failed
// verifications; a tie counts as passed.
func latestVerify(t FleetTenant) (at time.Time, passed, seen bool) {
	switch {
	case t.VerifiedAt == nil && t.VerifyFailedAt == nil:
		return time.Time{}, false, false
	case t.VerifyFailedAt == nil || t.VerifiedAt != nil && !t.VerifiedAt.Before(*t.VerifyFailedAt):
		return *t.VerifiedAt, true, true
	}
	return *t.VerifyFailedAt, false, true
}

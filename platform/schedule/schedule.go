// Package schedule runs cron jobs per tenant inside every replica of
// `platform serve`, each (job, tenant, slot) exactly once across all of
// them: a replica runs a slot only after winning its claim in the catalog
// (job_runs), keeps the claim alive with heartbeats, and a claim whose
// replica died expires and is taken over by another. It knows nothing
// about what the jobs do.
//
// Wiring in `platform serve` (cmd reads PLATFORM_ALERT_WEBHOOK_URL):
//
//	s, err := schedule.New(schedule.Config{
//		Catalog: cat, Replica: hostname, ClaimTTL: 2 * time.Minute, Logger: log,
//		Tenants: func(ctx context.Context) ([]*tenant.Tenant, error) {
//			return cat.ListTenants(ctx, catalog.TenantFilter{Statuses: []tenant.Status{tenant.StatusActive}})
//		},
//		Jobs: []schedule.Job{{Name: "backup", Spec: schedule.SettingSpec("backup_schedule"),
//			Default: schedule.DefaultBackupSpec, Run: backupOne, CatchUp: 6 * time.Hour,
//			Retry: schedule.Backoff{Attempts: 3, Base: time.Minute, Max: 15 * time.Minute}}},
//		Alert: schedule.Webhook(webhookURL, nil), // nil when unset
//	})
//	s.Start(ctx); defer s.Stop()
package schedule

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/robfig/cron/v3"

	"github.com/tenancy/platform/platform/catalog"
	"github.com/tenancy/platform/tenant"
)

// Job is a task run for every tenant on a schedule of its own.
type Job struct {
	Name string // e.g. "backup", "verify", "prune": the job column of job_runs
	// Spec is the tenant's schedule (see SpecFormat), in its time zone
	// unless it names one. "" means Default; an error, or a spec that does
	// not parse, is logged once and Default is used too.
	Spec func(t *tenant.Tenant) (string, error)
	// Default is the schedule when Spec has none (or a bad one); nil: the
	// job is not scheduled for such a tenant.
	Default func(t *tenant.Tenant) string
	// Run does the work of one slot. It must return when ctx ends (the
	// scheduler stops, or the claim was lost to another replica).
	Run   func(ctx context.Context, t *tenant.Tenant, slot time.Time) error
	Retry Backoff
	// CatchUp, if positive, makes a replica that starts run the latest
	// slot of the last CatchUp unless some replica claimed it already: a
	// nightly backup missed because every replica was down (a deploy at
	// 03:07) runs late rather than not at all.
	CatchUp time.Duration
}

// Backoff says how a failed slot is retried: Attempts in all (0 or 1: no
// retry), the nth retry after min(Base·2^(n-1), Max).
type Backoff struct {
	Attempts int
	Base     time.Duration
	Max      time.Duration
}

// Delay is the wait after the failure of attempt n (1-based).
func (b Backoff) Delay(n int) time.Duration {
	d := b.Base
	if d <= 0 {
		d = time.Second
	}
	for i := 1; i < n && (b.Max <= 0 || d < b.Max); i++ {
		d *= 2
	}
	if b.Max > 0 && d > b.Max {
		d = b.Max
	}
	return d
}

func (b Backoff) attempts() int { return max(b.Attempts, 1) }

// Alert tells someone that a slot failed for good (after its last retry).
type Alert struct {
	Job      string    `json:"job"`
	Tenant   string    `json:"tenant"` // slug
	TenantID string    `json:"tenant_id"`
	Slot     time.Time `json:"slot"`
	Attempts int       `json:"attempts"`
	Error    string    `json:"error"` // short, as recorded in job_runs
	At       time.Time `json:"at"`
}

// Config configures a Scheduler.
type Config struct {
	Catalog  *catalog.DB
	Tenants  func(ctx context.Context) ([]*tenant.Tenant, error) // the tenants to schedule, re-read every Reload
	Jobs     []Job
	Replica  string        // this replica's name (claimed_by); unique per replica
	ClaimTTL time.Duration // a claim without heartbeat for this long expires (default 2 min)
	Reload   time.Duration // how often tenants (and their specs) are re-read (default 1 min)
	Sweep    time.Duration // how often expired claims are looked for (default ClaimTTL/2)
	// KeepRuns is how long finished runs stay in job_runs (default 90
	// days; negative keeps them forever). Every replica deletes older ones
	// in its sweep, at most once per PruneRuns (default 1 h).
	KeepRuns, PruneRuns time.Duration
	Now                 func() time.Time
	Logger              *slog.Logger
	// Alert, if set, is told of every slot that failed after its last
	// attempt; its error is logged.
	Alert func(ctx context.Context, a Alert) error
}

// Scheduler runs the jobs of Config.
type Scheduler struct {
	cfg  Config
	log  *slog.Logger
	jobs map[string]*Job

	mu      sync.Mutex
	entries map[key]*entry
	tenants map[string]*tenant.Tenant // by id
	warned  map[key]string            // the bad spec last logged per entry
	busy    map[key]bool              // a run of the job for the tenant is open here

	reload  chan struct{}
	loaded  bool // the first load is done (catch-up happens there only)
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	started bool
}

type key struct{ job, tenantID string }

type entry struct {
	job   *Job
	t     *tenant.Tenant
	spec  string
	sched cron.Schedule
	next  time.Time
}

// Entry is one scheduled (job, tenant), for display and tests.
type Entry struct {
	Job      string
	TenantID string
	Tenant   string // slug
	Spec     string // the spec in force (Default's if the tenant's was bad)
	Next     time.Time
}

// New checks cfg and returns a stopped Scheduler.
func New(cfg Config) (*Scheduler, error) {
	switch {
	case cfg.Catalog == nil:
		return nil, errors.New("schedule: no catalog")
	case cfg.Tenants == nil:
		return nil, errors.New("schedule: no tenant source")
	case cfg.Replica == "":
		return nil, errors.New("schedule: no replica name")
	}
	if cfg.ClaimTTL <= 0 {
		cfg.ClaimTTL = 2 * time.Minute
	}
	if cfg.Reload <= 0 {
		cfg.Reload = time.Minute
	}
	// Tickers need positive periods; a heartbeat every TTL/3 survives a
	// missed beat or two.
	cfg.ClaimTTL = max(cfg.ClaimTTL, 30*time.Millisecond)
	if cfg.Sweep <= 0 {
		cfg.Sweep = cfg.ClaimTTL / 2
	}
	if cfg.KeepRuns == 0 {
		cfg.KeepRuns = 90 * 24 * time.Hour
	}
	if cfg.PruneRuns <= 0 {
		cfg.PruneRuns = time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Scheduler{cfg: cfg, log: cfg.Logger.With("replica", cfg.Replica), jobs: map[string]*Job{},
		entries: map[key]*entry{}, tenants: map[string]*tenant.Tenant{}, warned: map[key]string{},
		busy: map[key]bool{}, reload: make(chan struct{}, 1)}
	for i := range cfg.Jobs {
		j := &cfg.Jobs[i]
		if j.Name == "" || j.Run == nil || (j.Spec == nil && j.Default == nil) {
			return nil, fmt.Errorf("schedule: job %q needs a name, Run and Spec or Default", j.Name)
		}
		if s.jobs[j.Name] != nil {
			return nil, fmt.Errorf("schedule: job %q given twice", j.Name)
		}
		s.jobs[j.Name] = j
	}
	return s, nil
}

// Start runs the scheduler until ctx ends or Stop. It returns at once; a
// catalog that cannot answer yet is retried at every Reload.
func (s *Scheduler) Start(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return
	}
	s.started = true
	s.ctx, s.cancel = context.WithCancel(ctx)
	s.wg.Add(2)
	go s.loop()
	go s.sweep()
}

// Stop ends the scheduler: running jobs see their context cancelled, and
// the claims they held are released for another replica to take over at
// once. It returns when every job has returned.
func (s *Scheduler) Stop() {
	s.mu.Lock()
	cancel := s.cancel
	s.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	s.wg.Wait()
}

// Reload asks for the tenants and their specs to be re-read now (on a
// catalog notification, for example).
func (s *Scheduler) Reload() {
	select {
	case s.reload <- struct{}{}:
	default:
	}
}

// Entries lists what is scheduled, by job then tenant slug.
func (s *Scheduler) Entries() []Entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Entry, 0, len(s.entries))
	for k, e := range s.entries {
		out = append(out, Entry{Job: k.job, TenantID: k.tenantID, Tenant: e.t.Slug, Spec: e.spec, Next: e.next})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Job != out[j].Job {
			return out[i].Job < out[j].Job
		}
		return out[i].Tenant < out[j].Tenant
	})
	return out
}

// loop fires due slots and re-reads the tenants.
func (s *Scheduler) loop() {
	defer s.wg.Done()
	s.load()
	reload := time.NewTicker(s.cfg.Reload)
	defer reload.Stop()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		now := s.cfg.Now()
		wait := time.Hour
		s.mu.Lock()
		for k, e := range s.entries {
			if e.next.IsZero() {
				continue
			}
			if !e.next.After(now) {
				slot := e.next
				e.next = e.sched.Next(now)
				s.wg.Add(1)
				go s.fire(k, e.job, e.t, slot)
			}
			if d := e.next.Sub(now); d < wait {
				wait = d
			}
		}
		s.mu.Unlock()
		timer.Reset(max(wait, 0))
		select {
		case <-s.ctx.Done():
			return
		case <-timer.C:
		case <-reload.C:
			s.load()
		case <-s.reload:
			s.load()
		}
	}
}

// load re-reads the tenants and rebuilds the entries whose spec changed.
func (s *Scheduler) load() {
	ctx, cancel := context.WithTimeout(s.ctx, 30*time.Second) // a hung catalog must not stop the slots for long
	ts, err := s.cfg.Tenants(ctx)
	cancel()
	if err != nil {
		if s.ctx.Err() == nil {
			s.log.Error("schedule: read tenants", "err", err)
		}
		return
	}
	now := s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tenants = make(map[string]*tenant.Tenant, len(ts))
	seen := map[key]bool{}
	for _, t := range ts {
		s.tenants[t.ID] = t
		for _, j := range s.cfg.Jobs {
			j := s.jobs[j.Name]
			k := key{j.Name, t.ID}
			spec, sched := s.specFor(k, j, t)
			if sched == nil {
				continue
			}
			seen[k] = true
			if e := s.entries[k]; e != nil && e.spec == spec && e.t.TimeZone == t.TimeZone {
				e.t = t
				continue
			}
			s.entries[k] = &entry{job: j, t: t, spec: spec, sched: sched, next: sched.Next(now)}
			if !s.loaded && j.CatchUp > 0 {
				if slot := lastSlot(sched, now.Add(-j.CatchUp), now); !slot.IsZero() {
					s.wg.Add(1)
					go s.fire(k, j, t, slot)
				}
			}
		}
	}
	s.loaded = true
	for k := range s.entries {
		if !seen[k] {
			delete(s.entries, k)
		}
	}
}

// lastSlot is the latest slot of sched in (from, now], or zero.
func lastSlot(sched cron.Schedule, from, now time.Time) time.Time {
	var last time.Time
	for range 100_000 { // "@every 1s" over a day; beyond, give up
		n := sched.Next(from)
		if n.IsZero() || n.After(now) {
			return last
		}
		last, from = n, n
	}
	return last
}

// specFor is the spec of job j for t and its schedule, falling back to
// j.Default (nil schedule: not scheduled). A bad spec is logged once (until
// it changes). s.mu is held.
func (s *Scheduler) specFor(k key, j *Job, t *tenant.Tenant) (string, cron.Schedule) {
	var spec string
	var err error
	if j.Spec != nil {
		spec, err = j.Spec(t)
	}
	if err == nil && spec != "" {
		sched, perr := ParseSpec(spec, t.TimeZone)
		if perr == nil {
			delete(s.warned, k)
			return spec, sched
		}
		err = perr
	}
	if err != nil {
		if s.warned[k] != spec+"\x00"+err.Error() {
			s.warned[k] = spec + "\x00" + err.Error()
			s.log.Warn("schedule: bad schedule, using the default", "job", j.Name, "tenant", t.Slug, "tenant_id", t.ID, "err", err)
		}
	}
	if j.Default == nil {
		return "", nil
	}
	spec = j.Default(t)
	sched, err := ParseSpec(spec, t.TimeZone)
	if err != nil {
		if s.warned[k] != "default\x00"+err.Error() {
			s.warned[k] = "default\x00" + err.Error()
			s.log.Error("schedule: bad default schedule, not scheduled", "job", j.Name, "tenant", t.Slug, "tenant_id", t.ID, "err", err)
		}
		return "", nil
	}
	return spec, sched
}

// fire claims slot for (j, t) and runs it if the claim is this replica's.
func (s *Scheduler) fire(k key, j *Job, t *tenant.Tenant, slot time.Time) {
	defer s.wg.Done()
	if !s.acquire(k) {
		// Still running here (another replica's claim is skipped too: the
		// catalog sees this run's heartbeat).
		s.log.Info("schedule: slot skipped, the previous run is still running", "job", j.Name, "tenant", t.Slug, "slot", slot)
		if err := s.cfg.Catalog.SkipJobRun(s.ctx, j.Name, t.ID, slot, s.cfg.Replica); err != nil && s.ctx.Err() == nil {
			s.log.Error("schedule: record skipped slot", "job", j.Name, "tenant", t.Slug, "slot", slot, "err", err)
		}
		return
	}
	defer s.releaseKey(k)
	run, claimed, err := s.cfg.Catalog.ClaimJobRun(s.ctx, j.Name, t.ID, slot, s.cfg.Replica, s.cfg.ClaimTTL)
	if err != nil {
		if s.ctx.Err() == nil {
			s.log.Error("schedule: claim slot", "job", j.Name, "tenant", t.Slug, "slot", slot, "err", err)
		}
		return
	}
	if run != nil && run.Status == catalog.RunSkipped {
		s.log.Info("schedule: slot skipped, the previous run is still running", "job", j.Name, "tenant", t.Slug, "slot", slot)
	}
	if !claimed {
		return
	}
	s.execute(j, t, run)
}

func (s *Scheduler) acquire(k key) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.busy[k] {
		return false
	}
	s.busy[k] = true
	return true
}

func (s *Scheduler) releaseKey(k key) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.busy, k)
}

// sweep takes over the runs whose claims expired.
func (s *Scheduler) sweep() {
	defer s.wg.Done()
	tick := time.NewTicker(s.cfg.Sweep)
	defer tick.Stop()
	var pruned time.Time
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-tick.C:
		}
		if s.cfg.KeepRuns > 0 && time.Since(pruned) >= s.cfg.PruneRuns {
			pruned = time.Now()
			s.pruneRuns()
		}
		s.mu.Lock()
		ids := make([]string, 0, len(s.tenants))
		for id := range s.tenants {
			ids = append(ids, id)
		}
		s.mu.Unlock()
		jobs := make([]string, 0, len(s.jobs))
		for n := range s.jobs {
			jobs = append(jobs, n)
		}
		for range 100 { // a bound per sweep; the rest waits for the next
			run, err := s.cfg.Catalog.TakeOverExpiredRun(s.ctx, jobs, ids, s.cfg.Replica, s.cfg.ClaimTTL)
			if err != nil {
				if s.ctx.Err() == nil {
					s.log.Error("schedule: take over expired runs", "err", err)
				}
				break
			}
			if run == nil {
				break
			}
			s.mu.Lock()
			t := s.tenants[run.TenantID]
			s.mu.Unlock()
			j := s.jobs[run.Job]
			if t == nil || j == nil { // gone since the sweep began
				s.cfg.Catalog.ReleaseJobRun(s.ctx, run.ID, s.cfg.Replica)
				continue
			}
			s.log.Warn("schedule: took over an expired claim", "job", run.Job, "tenant", t.Slug, "tenant_id", t.ID, "slot", run.Slot, "attempt", run.Attempts)
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				k := key{run.Job, run.TenantID}
				for !s.acquire(k) { // this replica runs another slot: wait for it, claim kept alive
					select {
					case <-s.ctx.Done():
						s.cfg.Catalog.ReleaseJobRun(context.WithoutCancel(s.ctx), run.ID, s.cfg.Replica)
						return
					case <-time.After(s.cfg.ClaimTTL / 3):
						s.cfg.Catalog.HeartbeatJobRun(s.ctx, run.ID, s.cfg.Replica)
					}
				}
				defer s.releaseKey(k)
				s.execute(j, t, run)
			}()
		}
	}
}

// pruneRuns deletes the finished runs older than KeepRuns, in batches so
// that no statement holds many locks for long.
func (s *Scheduler) pruneRuns() {
	const batch = 5000
	var total int64
	for {
		n, err := s.cfg.Catalog.DeleteFinishedJobRuns(s.ctx, s.cfg.KeepRuns, batch)
		total += n
		if err != nil {
			if s.ctx.Err() == nil {
				s.log.Error("schedule: delete old job runs", "err", err)
			}
			break
		}
		if n < batch {
			break
		}
	}
	if total > 0 {
		s.log.Info("schedule: deleted old job runs", "runs", total, "older_than_days", int(s.cfg.KeepRuns.Hours()/24))
	}
}

// execute runs the attempts of a claimed run until it succeeds, fails for
// good, loses its claim or the scheduler stops.
func (s *Scheduler) execute(j *Job, t *tenant.Tenant, run *catalog.JobRun) {
	log := s.log.With("job", j.Name, "tenant", t.Slug, "tenant_id", t.ID, "slot", run.Slot, "run_id", run.ID)
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	lost := make(chan struct{})
	hbDone := make(chan struct{})
	go func() { // heartbeat: the claim lives while this replica works on it
		defer close(hbDone)
		tick := time.NewTicker(s.cfg.ClaimTTL / 3)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			ok, err := s.cfg.Catalog.HeartbeatJobRun(ctx, run.ID, s.cfg.Replica)
			if err != nil {
				if ctx.Err() == nil {
					log.Warn("schedule: heartbeat", "err", err)
				}
				continue
			}
			if !ok {
				close(lost)
				cancel()
				return
			}
		}
	}()
	defer func() { cancel(); <-hbDone }()
	// Writes after the scheduler stopped still record what happened.
	bg := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.WithoutCancel(s.ctx), 10*time.Second)
	}
	isLost := func() bool {
		select {
		case <-lost:
			return true
		default:
			return false
		}
	}
	maxAttempts := j.Retry.attempts()
	status, wait := run.Status, run.RetryIn
	attempt := run.Attempts
	for {
		if status == catalog.RunRetrying {
			select {
			case <-ctx.Done():
				if !isLost() {
					c, done := bg()
					s.cfg.Catalog.ReleaseJobRun(c, run.ID, s.cfg.Replica)
					done()
				}
				return
			case <-time.After(wait):
			}
			ok, err := s.cfg.Catalog.StartJobAttempt(ctx, run.ID, s.cfg.Replica)
			if err != nil || !ok {
				log.Warn("schedule: could not start the next attempt", "err", err, "claim_lost", !ok)
				return // an expired claim is taken over by a sweep
			}
			attempt++
		}
		if attempt > maxAttempts { // the attempts were spent by replicas that died
			s.fail(log, j, t, run, attempt-1, "no attempt left: the replicas that ran it stopped responding")
			return
		}
		start := time.Now()
		err := s.call(ctx, log, j, t, run.Slot)
		if isLost() {
			log.Warn("schedule: claim lost to another replica; attempt abandoned", "attempt", attempt)
			return
		}
		if s.ctx.Err() != nil && err != nil { // stopping: another replica takes over
			c, done := bg()
			s.cfg.Catalog.ReleaseJobRun(c, run.ID, s.cfg.Replica)
			done()
			log.Info("schedule: stopped during an attempt; claim released", "attempt", attempt)
			return
		}
		if err == nil {
			c, done := bg()
			_, ferr := s.cfg.Catalog.FinishJobRun(c, run.ID, s.cfg.Replica, "")
			done()
			if ferr != nil {
				log.Error("schedule: record success", "err", ferr)
			}
			log.Info("schedule: job succeeded", "attempt", attempt, "duration", time.Since(start))
			return
		}
		text := ShortError(err)
		if attempt >= maxAttempts {
			s.fail(log, j, t, run, attempt, text)
			return
		}
		wait = j.Retry.Delay(attempt)
		c, done := bg()
		ok, rerr := s.cfg.Catalog.RetryJobRun(c, run.ID, s.cfg.Replica, text, wait)
		done()
		if rerr != nil || !ok {
			log.Error("schedule: record failure", "err", rerr, "claim_lost", !ok)
			return
		}
		log.Warn("schedule: job failed, will retry", "attempt", attempt, "of", maxAttempts, "retry_in", wait, "err", text)
		status = catalog.RunRetrying
	}
}

// fail records the final failure of a run and sends the alert.
func (s *Scheduler) fail(log *slog.Logger, j *Job, t *tenant.Tenant, run *catalog.JobRun, attempts int, text string) {
	ctx, done := context.WithTimeout(context.WithoutCancel(s.ctx), 10*time.Second)
	defer done()
	if _, err := s.cfg.Catalog.FinishJobRun(ctx, run.ID, s.cfg.Replica, text); err != nil {
		log.Error("schedule: record failure", "err", err)
	}
	log.Error("schedule: job failed", "attempts", attempts, "err", text)
	if s.cfg.Alert == nil {
		return
	}
	a := Alert{Job: j.Name, Tenant: t.Slug, TenantID: t.ID, Slot: run.Slot.UTC(), Attempts: attempts, Error: text, At: s.cfg.Now().UTC()}
	if err := s.cfg.Alert(ctx, a); err != nil {
		log.Error("schedule: send alert", "err", err)
	}
}

// call runs the job once, turning a panic into an error (logged with its
// stack) so that neither the scheduler nor the process dies of it.
func (s *Scheduler) call(ctx context.Context, log *slog.Logger, j *Job, t *tenant.Tenant, slot time.Time) (err error) {
	defer func() {
		if r := recover(); r != nil {
			log.Error("schedule: job panicked", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return j.Run(ctx, t, slot)
}

// userinfo matches the credentials of a URL (scheme://user:pass@).
var userinfo = regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9+.-]*://)[^@/\s]*@`)

// ShortError is the text of err as job_runs and alerts keep it: one line,
// at most 300 bytes, URL credentials removed. Jobs must still not put
// secrets in their errors; this is a last guard.
func ShortError(err error) string {
	s := userinfo.ReplaceAllString(err.Error(), "${1}***@")
	s = tenant.SanitizeText(strings.Join(strings.Fields(s), " "))
	if len(s) > 300 {
		cut := 297
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "..."
	}
	return s
}

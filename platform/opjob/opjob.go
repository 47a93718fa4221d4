// Package opjob runs the long operations of the operator API (backup,
// verify, restore) as jobs: recorded in the catalog (operator_jobs) so
// that any replica can answer for them, run in a goroutine of the replica
// that accepted them, detached from the request, heartbeating while they
// run. A periodic sweep fails the jobs of replicas that stopped.
package opjob

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/tenancy/platform/platform/catalog"
	"github.com/tenancy/platform/tenant"
)

// Config tunes a Runner.
type Config struct {
	Catalog *catalog.DB
	Replica string // this process, as the catalog records it; must be unique
	Logger  *slog.Logger
	// TTL is how old a job's heartbeat may get before a sweep fails it.
	// Zero: 2 minutes.
	TTL time.Duration
	// Heartbeat is how often a running job's heartbeat is written. Zero:
	// TTL/4.
	Heartbeat time.Duration
	// SweepEvery is how often this runner fails the jobs of dead replicas.
	// Zero: 1 minute; negative: never (tests).
	SweepEvery time.Duration
}

// Runner runs jobs until Close.
type Runner struct {
	cfg    Config
	log    *slog.Logger
	ctx    context.Context // cancelled by Close: every job's context ends
	cancel context.CancelFunc
	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup
}

// New returns a Runner and starts its sweep.
func New(cfg Config) *Runner {
	if cfg.TTL <= 0 {
		cfg.TTL = 2 * time.Minute
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = cfg.TTL / 4
	}
	if cfg.SweepEvery == 0 {
		cfg.SweepEvery = time.Minute
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &Runner{cfg: cfg, log: log, ctx: ctx, cancel: cancel}
	if cfg.SweepEvery > 0 {
		r.wg.Go(r.sweepLoop)
	}
	return r
}

// Func is a job's work: its result is recorded as JSON, its error as the
// job's failure.
type Func func(ctx context.Context) (result any, err error)

// Start records a queued job and runs fn in a goroutine with a context
// that keeps ctx's values (the operator actor) but not its cancellation
// (the request ends long before the job), cancelled by Close instead. The
// returned job is as recorded when queued.
func (r *Runner) Start(ctx context.Context, kind, tenantSlug, backupID, actor string, fn Func) (*catalog.OperatorJob, error) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, tenant.Errorf(tenant.EUnavailable, "this server is shutting down; try again on another replica")
	}
	r.wg.Add(1) // under mu: Close waits for every job it did not refuse
	r.mu.Unlock()
	j, err := r.cfg.Catalog.CreateOperatorJob(ctx, catalog.NewOperatorJob{Kind: kind, Tenant: tenantSlug, BackupID: backupID, Actor: actor, Replica: r.cfg.Replica})
	if err != nil {
		r.wg.Done()
		return nil, err
	}
	log := r.log.With("job_id", j.ID, "kind", j.Kind, "tenant", j.Tenant, "actor", j.Actor)
	if j.BackupID != "" {
		log = log.With("backup_id", j.BackupID)
	}
	// The request's logger reads the request's state: the job logs with
	// its own (services take it with tenant.Logger).
	jctx := tenant.WithLogger(context.WithValue(context.WithoutCancel(ctx), jobIDKey{}, j.ID), log)
	jctx, cancel := context.WithCancel(jctx)
	stop := context.AfterFunc(r.ctx, cancel)
	go func() {
		defer r.wg.Done()
		defer cancel()
		defer stop()
		r.run(jctx, j, fn, log)
	}()
	return j, nil
}

type jobIDKey struct{}

// ID is the id of the job whose context ctx is ("" outside a job).
func ID(ctx context.Context) string {
	id, _ := ctx.Value(jobIDKey{}).(string)
	return id
}

func (r *Runner) run(ctx context.Context, j *catalog.OperatorJob, fn Func, log *slog.Logger) {
	start := time.Now()
	if ok, err := r.cfg.Catalog.StartOperatorJob(ctx, j.ID, r.cfg.Replica); err != nil || !ok {
		// Not fatal: the job runs and records its outcome all the same.
		log.Warn("operator job: could not mark it running", "swept", !ok && err == nil, "err", err)
	}
	log.Info("operator job started")

	hbDone := make(chan struct{})
	hbCtx, hbStop := context.WithCancel(ctx)
	go func() {
		defer close(hbDone)
		r.heartbeat(hbCtx, j, log)
	}()
	result, err := call(ctx, fn, log)
	hbStop()
	<-hbDone

	o := catalog.JobOutcome{Result: result}
	if b, ok := result.(*catalog.Backup); ok && b != nil {
		o.BackupID = b.ID // a backup job learns its backup's id at the end
	}
	if err != nil {
		o.Code, o.Error = tenant.ErrorCode(err), Text(err)
		if r.ctx.Err() != nil && !errors.Is(err, errPanic) {
			o.Code, o.Error = tenant.EUnavailable, "interrupted: the server shut down while the job ran ("+o.Error+")"
		}
	}
	// The outcome is written even when Close cancelled the job.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	ok, ferr := r.cfg.Catalog.FinishOperatorJob(fctx, j.ID, r.cfg.Replica, o)
	attrs := []any{"duration_ms", time.Since(start).Milliseconds()}
	if o.BackupID != "" && j.BackupID == "" {
		attrs = append(attrs, "backup_id", o.BackupID)
	}
	switch {
	case ferr != nil:
		log.Error("operator job: could not record its outcome", append(attrs, "outcome_error", o.Error, "err", ferr)...)
	case !ok:
		log.Warn("operator job: its record was finished by someone else; outcome not recorded", append(attrs, "outcome_error", o.Error)...)
	case err != nil:
		log.Error("operator job failed", append(attrs, "code", o.Code, "err", err)...)
	default:
		log.Info("operator job succeeded", attrs...)
	}
}

// call runs fn, turning a panic into an internal error (the stack goes to
// the log, not to the job's record).
func call(ctx context.Context, fn Func, log *slog.Logger) (result any, err error) {
	defer func() {
		if p := recover(); p != nil {
			log.Error("operator job panicked", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			result, err = nil, errPanic
		}
	}()
	return fn(ctx)
}

var errPanic = errors.New("internal error: the job panicked (the cause is in the server log)")

// heartbeat keeps the job's heartbeat fresh until ctx ends.
func (r *Runner) heartbeat(ctx context.Context, j *catalog.OperatorJob, log *slog.Logger) {
	t := time.NewTicker(r.cfg.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			ok, err := r.cfg.Catalog.HeartbeatOperatorJob(ctx, j.ID, r.cfg.Replica)
			switch {
			case err != nil && ctx.Err() == nil:
				log.Warn("operator job heartbeat failed", "err", err)
			case err == nil && !ok:
				// Swept while alive (the catalog was out of reach for a TTL):
				// the job goes on, and its outcome replaces the sweep's.
				log.Warn("operator job was failed by a sweep while running; its outcome will be recorded over it")
				return
			}
		}
	}
}

// sweepLoop fails, every SweepEvery, the jobs of replicas that stopped.
func (r *Runner) sweepLoop() {
	t := time.NewTicker(r.cfg.SweepEvery)
	defer t.Stop()
	for {
		r.Sweep(r.ctx)
		select {
		case <-r.ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Sweep fails the open jobs, of any replica, whose heartbeat is older than
// the TTL, and logs each.
func (r *Runner) Sweep(ctx context.Context) {
	js, err := r.cfg.Catalog.SweepOperatorJobs(ctx, r.cfg.TTL)
	if err != nil {
		if ctx.Err() == nil {
			r.log.Warn("operator job sweep failed", "err", err)
		}
		return
	}
	for _, j := range js {
		r.log.Warn("operator job failed: its replica stopped responding", "job_id", j.ID, "kind", j.Kind, "tenant", j.Tenant, "replica", j.Replica)
	}
}

// Close refuses new jobs, cancels the running ones and waits for them to
// record their outcome (and for the sweep to stop). It may be called more
// than once.
func (r *Runner) Close() {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	r.cancel()
	r.wg.Wait()
}

// Text is the caller-safe line a job records for err: a platform error's
// message, else the first line of the text, at most 300 bytes (as the CLI
// prints it; no error of this code base embeds a secret).
func Text(err error) string {
	var te *tenant.Error
	if errors.As(err, &te) {
		return te.Message
	}
	msg, _, _ := strings.Cut(err.Error(), "\n")
	if len(msg) > 300 {
		msg = msg[:300]
	}
	return msg
}

package opjob_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenancy/platform/platform/catalog"
	"github.com/tenancy/platform/platform/opjob"
	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/tenant"
)

func newRunner(t *testing.T, cfg opjob.Config) (*opjob.Runner, *catalog.DB, *platformtest.LogSink) {
	t.Helper()
	if cfg.Catalog == nil {
		cfg.Catalog, _ = platformtest.Catalog(t)
	}
	if cfg.Replica == "" {
		cfg.Replica = "test-" + platformtest.Rand(6)
	}
	if cfg.SweepEvery == 0 {
		cfg.SweepEvery = -1
	}
	logs := &platformtest.LogSink{}
	cfg.Logger = slog.New(slog.NewJSONHandler(logs, nil))
	r := opjob.New(cfg)
	t.Cleanup(r.Close)
	return r, cfg.Catalog, logs
}

// waitJob polls the job until it has finished and returns it.
func waitJob(t *testing.T, cat *catalog.DB, id string) *catalog.OperatorJob {
	t.Helper()
	var j *catalog.OperatorJob
	platformtest.Eventually(t, 20*time.Second, "job "+id+" finished", func() bool {
		var err error
		if j, err = cat.OperatorJob(context.Background(), id); err != nil {
			t.Fatal(err)
		}
		return j.FinishedAt != nil
	})
	return j
}

// A job outlives its request's context, keeps the request's actor,
// heartbeats while it runs and records its result; a backup result gives
// the job its backup id.
func TestRunnerSucceeds(t *testing.T) {
	t.Parallel()
	r, cat, logs := newRunner(t, opjob.Config{Heartbeat: 10 * time.Millisecond})
	reqCtx, cancelReq := context.WithCancel(tenant.WithActor(context.Background(), tenant.Actor{Name: "api:abcd", Source: "api"}))
	release := make(chan struct{})
	var actor atomic.Value
	backupID := "6f1c9a52-8d3e-4b7a-a1c2-0d9e8f7a6b5c"
	j, err := r.Start(reqCtx, catalog.JobBackup, "acme", "", "api:abcd", func(ctx context.Context) (any, error) {
		<-release
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		a, _ := tenant.ActorFrom(ctx)
		actor.Store(a.Name)
		tenant.Logger(ctx, nil).Info("from the job", "job", opjob.ID(ctx))
		return &catalog.Backup{ID: backupID, TenantSlug: "acme", Status: catalog.BackupCompleted}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	cancelReq() // the request is over; the job is not
	if j.Status != catalog.JobQueued || j.Kind != catalog.JobBackup || j.Tenant != "acme" || j.Actor != "api:abcd" {
		t.Fatalf("queued job: %+v", j)
	}
	// Running, and its heartbeat moves.
	var first time.Time
	platformtest.Eventually(t, 10*time.Second, "the job running with a heartbeat after its start", func() bool {
		got, err := cat.OperatorJob(context.Background(), j.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status == catalog.JobRunning && first.IsZero() {
			first = got.HeartbeatAt
		}
		return got.Status == catalog.JobRunning && got.HeartbeatAt.After(first)
	})
	close(release)
	got := waitJob(t, cat, j.ID)
	var b catalog.Backup
	if err := json.Unmarshal(got.Result, &b); err != nil || b.ID != backupID {
		t.Errorf("result %s: %v", got.Result, err)
	}
	if got.Status != catalog.JobSucceeded || got.BackupID != backupID || got.Error != "" || got.StartedAt == nil {
		t.Errorf("job: %+v", got)
	}
	if actor.Load() != "api:abcd" {
		t.Errorf("actor in the job's context: %v", actor.Load())
	}
	platformtest.Eventually(t, 5*time.Second, "the end logged", func() bool {
		return len(logs.Lines(t, "operator job succeeded")) == 1
	})
	l := logs.Lines(t, "operator job succeeded")[0]
	if l["job_id"] != j.ID || l["tenant"] != "acme" || l["kind"] != "backup" || l["duration_ms"] == nil {
		t.Errorf("log line: %v", l)
	}
	if l := logs.Lines(t, "from the job"); len(l) != 1 || l[0]["job_id"] != j.ID || l[0]["job"] != j.ID {
		t.Errorf("the job's own logger and id on its context: %v", l)
	}
	if len(logs.Lines(t, "operator job started")) != 1 {
		t.Errorf("start not logged:\n%s", logs.String())
	}
}

// A failure records its code and caller-safe message; a panic is an
// internal failure whose value stays in the log; the runner goes on.
func TestRunnerFailureAndPanic(t *testing.T) {
	t.Parallel()
	r, cat, logs := newRunner(t, opjob.Config{})
	ctx := context.Background()
	fail, err := r.Start(ctx, catalog.JobVerify, "acme", "", "api:x", func(context.Context) (any, error) {
		return map[string]string{"outcome": "corrupt"}, tenant.Errorf(tenant.EConflict, "backup is expired")
	})
	if err != nil {
		t.Fatal(err)
	}
	boom, err := r.Start(ctx, catalog.JobRestore, "acme", "", "api:x", func(context.Context) (any, error) {
		panic("secret-looking panic value")
	})
	if err != nil {
		t.Fatal(err)
	}
	plain, err := r.Start(ctx, catalog.JobVerify, "acme", "", "api:x", func(context.Context) (any, error) {
		return nil, errors.New("pg_restore: error: could not read\nsecond line")
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := waitJob(t, cat, fail.ID); got.Status != catalog.JobFailed || got.Code != tenant.EConflict || got.Error != "backup is expired" ||
		!strings.Contains(string(got.Result), "corrupt") {
		t.Errorf("failed job: %+v result %s", got, got.Result)
	}
	got := waitJob(t, cat, boom.ID)
	if got.Status != catalog.JobFailed || got.Code != tenant.EInternal || strings.Contains(got.Error, "secret-looking") || got.Result != nil {
		t.Errorf("panicked job: %+v", got)
	}
	if got := waitJob(t, cat, plain.ID); got.Code != tenant.EInternal || got.Error != "pg_restore: error: could not read" {
		t.Errorf("plain error: %+v", got)
	}
	if !strings.Contains(logs.String(), "secret-looking panic value") || len(logs.Lines(t, "operator job panicked")) != 1 {
		t.Errorf("panic not logged:\n%s", logs.String())
	}
	// Still running jobs after the panic.
	ok, err := r.Start(ctx, catalog.JobBackup, "acme", "", "api:x", func(context.Context) (any, error) { return nil, nil })
	if err != nil {
		t.Fatal(err)
	}
	if got := waitJob(t, cat, ok.ID); got.Status != catalog.JobSucceeded || got.Result != nil {
		t.Errorf("after a panic: %+v", got)
	}
}

// Close cancels the running jobs, waits until they have recorded their
// outcome, and refuses new ones.
func TestRunnerCloseCancelsAndWaits(t *testing.T) {
	t.Parallel()
	r, cat, _ := newRunner(t, opjob.Config{})
	started := make(chan struct{})
	var returned atomic.Bool
	j, err := r.Start(context.Background(), catalog.JobRestore, "acme", "", "api:x", func(ctx context.Context) (any, error) {
		close(started)
		<-ctx.Done()
		returned.Store(true)
		return nil, tenant.Errorf(tenant.EUnavailable, "restore cancelled; tenant left as it was")
	})
	if err != nil {
		t.Fatal(err)
	}
	<-started
	r.Close()
	if !returned.Load() {
		t.Fatal("Close returned before the job did")
	}
	got, err := cat.OperatorJob(context.Background(), j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != catalog.JobFailed || got.Code != tenant.EUnavailable || !strings.HasPrefix(got.Error, "interrupted: the server shut down") ||
		!strings.Contains(got.Error, "tenant left as it was") {
		t.Errorf("after Close: %+v", got)
	}
	if _, err := r.Start(context.Background(), catalog.JobBackup, "acme", "", "api:x", func(context.Context) (any, error) { return nil, nil }); tenant.ErrorCode(err) != tenant.EUnavailable {
		t.Errorf("Start after Close: %v", err)
	}
	r.Close() // twice is fine
}

// The periodic sweep fails the open jobs of a replica that stopped (an
// old heartbeat), not a live one's.
func TestRunnerSweeps(t *testing.T) {
	t.Parallel()
	cat, _ := platformtest.Catalog(t)
	ctx := platformtest.Context(t)
	dead, err := cat.CreateOperatorJob(ctx, catalog.NewOperatorJob{Kind: catalog.JobBackup, Tenant: "acme", Actor: "api:x", Replica: "dead"})
	if err != nil {
		t.Fatal(err)
	}
	live, err := cat.CreateOperatorJob(ctx, catalog.NewOperatorJob{Kind: catalog.JobBackup, Tenant: "acme", Actor: "api:x", Replica: "live"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cat.Pool().Exec(ctx, `UPDATE operator_jobs SET heartbeat_at = now() - interval '10 minutes' WHERE id = $1`, dead.ID); err != nil {
		t.Fatal(err)
	}
	_, _, logs := newRunner(t, opjob.Config{Catalog: cat, TTL: 5 * time.Minute, SweepEvery: 20 * time.Millisecond})
	got := waitJob(t, cat, dead.ID)
	if got.Status != catalog.JobFailed || got.Code != catalog.JobReplicaLost {
		t.Errorf("dead replica's job: %+v", got)
	}
	if l, err := cat.OperatorJob(ctx, live.ID); err != nil || l.Status != catalog.JobQueued {
		t.Errorf("live replica's job: %+v %v", l, err)
	}
	platformtest.Eventually(t, 5*time.Second, "the sweep logged", func() bool {
		return len(logs.Lines(t, "operator job failed: its replica stopped responding")) == 1
	})
}

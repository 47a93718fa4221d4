package catalog

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
)

// Job run statuses (job_runs.status).
const (
	RunRunning   = "running"   // an attempt is running
	RunRetrying  = "retrying"  // an attempt failed; the next starts at NextRetryAt
	RunSucceeded = "succeeded" // done
	RunFailed    = "failed"    // the last attempt failed
	RunSkipped   = "skipped"   // not run: the previous run of the job for the tenant was still running
)

// JobRun is one run of a scheduled job for one tenant and slot: every
// replica competes for the same row, and one wins the claim.
type JobRun struct {
	ID          int64
	Job         string
	TenantID    string // "" for a job of the whole platform
	Slot        time.Time
	Status      string
	ClaimedBy   string // the replica that holds (or last held) the claim
	Attempts    int    // attempts started
	StartedAt   time.Time
	HeartbeatAt time.Time
	NextRetryAt *time.Time
	FinishedAt  *time.Time
	Error       string // the last failure, short and caller-safe
	Failures    []RunFailure
	// RetryIn is how long until NextRetryAt by the catalog's clock, as
	// TakeOverExpiredRun returns it (0 otherwise or when due).
	RetryIn time.Duration
}

// RunFailure is one failed attempt of a run.
type RunFailure struct {
	Attempt int       `json:"attempt"`
	At      time.Time `json:"at"`
	Error   string    `json:"error"`
}

const jobRunColumns = `id, job, coalesce(tenant_id::text, ''), slot, status, claimed_by, attempts,
	started_at, heartbeat_at, next_retry_at, finished_at, coalesce(error, ''), failures`

func scanJobRun(row pgx.Row, extra ...any) (*JobRun, error) {
	var r JobRun
	dest := append([]any{&r.ID, &r.Job, &r.TenantID, &r.Slot, &r.Status, &r.ClaimedBy, &r.Attempts,
		&r.StartedAt, &r.HeartbeatAt, &r.NextRetryAt, &r.FinishedAt, &r.Error, &r.Failures}, extra...)
	err := row.Scan(dest...)
	return &r, err
}

func nullUUID(id string) *string {
	if id == "" {
		return nil
	}
	return &id
}

// ClaimJobRun claims the run of job for tenantID ("" for none) at slot for
// replica. Exactly one caller, across every replica, gets claimed true for
// a given (job, tenant, slot); the others get (nil, false) and no error.
// When another run of the same job and tenant is still open with a live
// claim (a heartbeat younger than ttl, running or waiting to retry), the
// slot is recorded skipped instead (the run is returned, claimed false):
// a slow job never overlaps itself, whichever replica runs it.
func (db *DB) ClaimJobRun(ctx context.Context, job, tenantID string, slot time.Time, replica string, ttl time.Duration) (run *JobRun, claimed bool, err error) {
	run, err = scanJobRun(db.pool.QueryRow(ctx, `
		INSERT INTO job_runs (job, tenant_id, slot, status, claimed_by, finished_at, error)
		SELECT $1, $2, $3, CASE WHEN busy THEN 'skipped' ELSE 'running' END, $4,
			CASE WHEN busy THEN now() END,
			CASE WHEN busy THEN 'the previous run was still running' END
		FROM (SELECT EXISTS (
			SELECT 1 FROM job_runs
			WHERE job = $1 AND tenant_id IS NOT DISTINCT FROM $2::uuid AND slot <> $3
			  AND status IN ('running', 'retrying') AND heartbeat_at > now() - $5::interval) AS busy) b
		ON CONFLICT DO NOTHING
		RETURNING `+jobRunColumns, job, nullUUID(tenantID), slot, replica, ttl))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil // another replica claimed it first
	}
	if err != nil {
		return nil, false, db.translate(err, "claim job run", "")
	}
	return run, run.Status == RunRunning, nil
}

// TakeOverExpiredRun takes over one open run of one of jobs for one of
// tenantIDs whose claim expired (no heartbeat for ttl: its replica died or
// stopped) and returns it, claimed by replica with one more attempt
// counted, or nil when there is none. A run that was waiting to retry
// keeps its NextRetryAt (RetryIn says how long is left). Runs locked by
// another taker are passed over, so concurrent sweeps never take one run
// twice.
func (db *DB) TakeOverExpiredRun(ctx context.Context, jobs, tenantIDs []string, replica string, ttl time.Duration) (*JobRun, error) {
	var retryMs int64
	run, err := scanJobRun(db.pool.QueryRow(ctx, `
		UPDATE job_runs r SET claimed_by = $3, heartbeat_at = now(),
			-- The attempt of the replica that died counts, and is recorded.
			attempts = CASE WHEN r.status = 'running' THEN r.attempts + 1 ELSE r.attempts END,
			failures = CASE WHEN r.status = 'running' THEN r.failures || jsonb_build_array(jsonb_build_object(
				'attempt', r.attempts, 'at', now(), 'error', 'replica ' || r.claimed_by || ' stopped responding (claim expired)'))
				ELSE r.failures END
		FROM (SELECT o.id AS expired FROM job_runs o
			WHERE o.status IN ('running', 'retrying') AND o.heartbeat_at <= now() - $4::interval
			  AND o.job = ANY($1) AND o.tenant_id = ANY($2::uuid[])
			  -- Not while another run of the job for the tenant is open: no overlap.
			  AND NOT EXISTS (SELECT 1 FROM job_runs b
				WHERE b.job = o.job AND b.tenant_id = o.tenant_id AND b.id <> o.id
				  AND b.status IN ('running', 'retrying') AND b.heartbeat_at > now() - $4::interval)
			ORDER BY o.heartbeat_at LIMIT 1 FOR UPDATE OF o SKIP LOCKED) e
		WHERE r.id = e.expired
		RETURNING `+jobRunColumns+`,
			(extract(epoch FROM greatest(coalesce(next_retry_at - now(), '0'), '0')) * 1000)::bigint`,
		jobs, tenantIDs, replica, ttl), &retryMs)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, db.translate(err, "take over job run", "")
	}
	run.RetryIn = time.Duration(retryMs) * time.Millisecond
	return run, nil
}

// updateOwnRun runs an UPDATE of run id guarded by the claim of replica and
// reports whether the claim was still replica's (false: another replica
// took it over after it expired, and replica must stop).
func (db *DB) updateOwnRun(ctx context.Context, what, set string, id int64, replica string, args ...any) (bool, error) {
	tag, err := db.pool.Exec(ctx, `UPDATE job_runs SET `+set+`
		WHERE id = $1 AND claimed_by = $2 AND status IN ('running', 'retrying')`,
		append([]any{id, replica}, args...)...)
	if err != nil {
		return false, db.translate(err, what, "")
	}
	return tag.RowsAffected() == 1, nil
}

// HeartbeatJobRun keeps replica's claim on run id alive.
func (db *DB) HeartbeatJobRun(ctx context.Context, id int64, replica string) (bool, error) {
	return db.updateOwnRun(ctx, "heartbeat job run", `heartbeat_at = now()`, id, replica)
}

// StartJobAttempt starts the next attempt of a run waiting to retry.
func (db *DB) StartJobAttempt(ctx context.Context, id int64, replica string) (bool, error) {
	return db.updateOwnRun(ctx, "start job attempt",
		`status = 'running', attempts = attempts + 1, next_retry_at = NULL, heartbeat_at = now()`, id, replica)
}

// RetryJobRun records the failure of the current attempt and that the next
// starts after delay; the claim stays replica's.
func (db *DB) RetryJobRun(ctx context.Context, id int64, replica, errText string, delay time.Duration) (bool, error) {
	return db.updateOwnRun(ctx, "record job failure", `status = 'retrying', error = $3,
		next_retry_at = now() + $4::interval, heartbeat_at = now(),
		failures = failures || jsonb_build_array(jsonb_build_object('attempt', attempts, 'at', now(), 'error', $3::text))`,
		id, replica, errText, delay)
}

// FinishJobRun ends a run: succeeded when errText is "", failed with
// errText (recorded as its last failure) otherwise.
func (db *DB) FinishJobRun(ctx context.Context, id int64, replica, errText string) (bool, error) {
	if errText == "" {
		return db.updateOwnRun(ctx, "finish job run",
			`status = 'succeeded', finished_at = now(), next_retry_at = NULL, heartbeat_at = now()`, id, replica)
	}
	return db.updateOwnRun(ctx, "finish job run", `status = 'failed', finished_at = now(), error = $3,
		next_retry_at = NULL, heartbeat_at = now(),
		failures = failures || jsonb_build_array(jsonb_build_object('attempt', attempts, 'at', now(), 'error', $3::text))`,
		id, replica, errText)
}

// ReleaseJobRun gives up replica's claim on a run at once (a shutdown):
// the attempt it interrupted is not counted, and the next sweep of any
// replica takes the run over, as a run waiting to retry (now, or when it
// was due).
func (db *DB) ReleaseJobRun(ctx context.Context, id int64, replica string) (bool, error) {
	return db.updateOwnRun(ctx, "release job run", `heartbeat_at = 'epoch', status = 'retrying',
		attempts = CASE WHEN status = 'running' THEN greatest(attempts - 1, 0) ELSE attempts END,
		next_retry_at = CASE WHEN status = 'retrying' THEN next_retry_at ELSE now() END`, id, replica)
}

// SkipJobRun records slot as skipped (unless it is claimed already): the
// previous run of the job for the tenant is still running on replica.
func (db *DB) SkipJobRun(ctx context.Context, job, tenantID string, slot time.Time, replica string) error {
	_, err := db.pool.Exec(ctx, `
		INSERT INTO job_runs (job, tenant_id, slot, status, claimed_by, finished_at, error)
		VALUES ($1, $2, $3, 'skipped', $4, now(), 'the previous run was still running')
		ON CONFLICT DO NOTHING`, job, nullUUID(tenantID), slot, replica)
	return db.translate(err, "skip job run", "")
}

// JobRunFilter narrows JobRuns; zero values match everything.
type JobRunFilter struct {
	Job      string
	TenantID string
	Limit    int // default 100
}

// JobRuns lists runs, newest slot first.
func (db *DB) JobRuns(ctx context.Context, f JobRunFilter) ([]*JobRun, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	rows, err := db.pool.Query(ctx, `SELECT `+jobRunColumns+` FROM job_runs
		WHERE ($1 = '' OR job = $1) AND ($2::uuid IS NULL OR tenant_id = $2::uuid)
		ORDER BY slot DESC, id DESC LIMIT $3`, f.Job, nullUUID(f.TenantID), f.Limit)
	if err != nil {
		return nil, db.translate(err, "list job runs", "")
	}
	runs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*JobRun, error) { return scanJobRun(r) })
	return runs, db.translate(err, "list job runs", "")
}

// DeleteFinishedJobRuns deletes up to limit runs that ended (succeeded,
// failed or skipped) more than keep ago by the catalog's clock, oldest
// first, and says how many went: the table would otherwise grow by a row
// per job, tenant and slot forever. Open runs are never deleted.
func (db *DB) DeleteFinishedJobRuns(ctx context.Context, keep time.Duration, limit int) (int64, error) {
	tag, err := db.pool.Exec(ctx, `
		DELETE FROM job_runs WHERE id IN (
			SELECT id FROM job_runs
			WHERE status IN ('succeeded', 'failed', 'skipped') AND finished_at < now() - $1::interval
			ORDER BY finished_at LIMIT $2)`, keep, limit)
	if err != nil {
		return 0, db.translate(err, "delete finished job runs", "")
	}
	return tag.RowsAffected(), nil
}

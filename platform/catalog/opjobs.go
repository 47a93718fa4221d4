package catalog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenancy/platform/tenant"
)

// Operator job kinds and statuses (the CHECKs of operator_jobs).
const (
	JobBackup  = "backup"
	JobVerify  = "verify"
	JobRestore = "restore"
	JobImport  = "import" // a legacy import (platform/importer); its result is the report

	JobQueued    = "queued"
	JobRunning   = "running"
	JobSucceeded = "succeeded"
	JobFailed    = "failed"
)

// JobReplicaLost is the error code of a job failed by SweepOperatorJobs:
// the replica running it stopped heartbeating. Its runner, if it was only
// cut off from the catalog, may still record the real outcome over it.
const JobReplicaLost = "replica_lost"

// OperatorJob is one long operation started through the operator API.
type OperatorJob struct {
	ID          string          `json:"id"`
	Kind        string          `json:"kind"`
	Tenant      string          `json:"tenant"`
	BackupID    string          `json:"backup_id,omitempty"`
	Status      string          `json:"status"`
	Actor       string          `json:"actor"`
	Replica     string          `json:"replica"`
	CreatedAt   time.Time       `json:"created_at"`
	StartedAt   *time.Time      `json:"started_at,omitempty"`
	HeartbeatAt time.Time       `json:"heartbeat_at"`
	FinishedAt  *time.Time      `json:"finished_at,omitempty"`
	Result      json.RawMessage `json:"result,omitempty"` // the service's result, as it marshals
	Error       string          `json:"error,omitempty"`  // short and caller-safe
	Code        string          `json:"code,omitempty"`
}

// NewOperatorJob is what CreateOperatorJob records.
type NewOperatorJob struct {
	Kind, Tenant string
	BackupID     string // "" when not known yet (a backup job)
	Actor        string
	Replica      string // the replica that runs it
}

const operatorJobColumns = `id, kind, tenant_slug, coalesce(backup_id::text, ''), status, actor, replica,
	created_at, started_at, heartbeat_at, finished_at, result, coalesce(error, ''), coalesce(error_code, '')`

func scanOperatorJob(row pgx.Row) (*OperatorJob, error) {
	var j OperatorJob
	var result []byte
	err := row.Scan(&j.ID, &j.Kind, &j.Tenant, &j.BackupID, &j.Status, &j.Actor, &j.Replica,
		&j.CreatedAt, &j.StartedAt, &j.HeartbeatAt, &j.FinishedAt, &result, &j.Error, &j.Code)
	if len(result) > 0 {
		j.Result = result
	}
	return &j, err
}

// CreateOperatorJob records a queued job. A restore of a tenant while
// another restore job of it is queued or running is EConflict (a unique
// index decides, so two replicas cannot both accept one).
func (db *DB) CreateOperatorJob(ctx context.Context, n NewOperatorJob) (*OperatorJob, error) {
	if n.BackupID != "" && !isUUID(n.BackupID) {
		return nil, tenant.Errorf(tenant.EInvalid, "backup id %q is not a uuid", n.BackupID)
	}
	j, err := scanOperatorJob(db.pool.QueryRow(ctx, `
		INSERT INTO operator_jobs (kind, tenant_slug, backup_id, actor, replica)
		VALUES ($1, $2, $3, $4, $5) RETURNING `+operatorJobColumns,
		n.Kind, n.Tenant, nullUUID(n.BackupID), n.Actor, n.Replica))
	if err != nil {
		// The only unique violation possible: operator_jobs_one_restore_key.
		return nil, db.translate(err, "record operator job",
			fmt.Sprintf("a restore of tenant %q is already queued or running", n.Tenant))
	}
	return j, nil
}

// StartOperatorJob marks a queued job of replica running. false: it is
// not queued any more (a sweep failed it meanwhile).
func (db *DB) StartOperatorJob(ctx context.Context, id, replica string) (bool, error) {
	tag, err := db.pool.Exec(ctx, `UPDATE operator_jobs SET status = 'running', started_at = now(), heartbeat_at = now()
		WHERE id = $1 AND replica = $2 AND status = 'queued'`, id, replica)
	if err != nil {
		return false, db.translate(err, "start operator job", "")
	}
	return tag.RowsAffected() == 1, nil
}

// HeartbeatOperatorJob keeps an open job of replica alive. false: it is
// no longer open (a sweep failed it: the heartbeat came too late).
func (db *DB) HeartbeatOperatorJob(ctx context.Context, id, replica string) (bool, error) {
	tag, err := db.pool.Exec(ctx, `UPDATE operator_jobs SET heartbeat_at = now()
		WHERE id = $1 AND replica = $2 AND status IN ('queued', 'running')`, id, replica)
	if err != nil {
		return false, db.translate(err, "heartbeat operator job", "")
	}
	return tag.RowsAffected() == 1, nil
}

// JobOutcome is how a job ended.
type JobOutcome struct {
	Result   any    // marshalled to JSON; nil for none
	BackupID string // a backup job's backup, once known; "" leaves it
	Error    string // "" for success
	Code     string // the error's code; with Error only
}

// FinishOperatorJob records the outcome of replica's job: succeeded when
// o.Error is "", failed otherwise. A job a sweep failed as replica_lost
// takes the real outcome (its runner was only cut off from the catalog);
// any other finished job is left alone (false).
func (db *DB) FinishOperatorJob(ctx context.Context, id, replica string, o JobOutcome) (bool, error) {
	var result []byte
	if o.Result != nil {
		b, err := json.Marshal(o.Result)
		if err != nil {
			return false, fmt.Errorf("operator job result: %w", err)
		}
		if string(b) != "null" { // a typed nil: no result
			result = b
		}
	}
	if o.BackupID != "" && !isUUID(o.BackupID) {
		return false, tenant.Errorf(tenant.EInvalid, "backup id %q is not a uuid", o.BackupID)
	}
	status, errText, code := JobSucceeded, (*string)(nil), (*string)(nil)
	if o.Error != "" {
		if len(o.Error) > 500 {
			o.Error = o.Error[:500]
		}
		if o.Code == "" {
			o.Code = tenant.EInternal
		}
		status, errText, code = JobFailed, &o.Error, &o.Code
	}
	tag, err := db.pool.Exec(ctx, `UPDATE operator_jobs SET status = $3, finished_at = now(), heartbeat_at = now(),
			result = $4, error = $5, error_code = $6, backup_id = coalesce($7, backup_id)
		WHERE id = $1 AND replica = $2 AND (status IN ('queued', 'running') OR error_code = 'replica_lost')`,
		id, replica, status, result, errText, code, nullUUID(o.BackupID))
	if err != nil {
		return false, db.translate(err, "finish operator job", "")
	}
	return tag.RowsAffected() == 1, nil
}

// OperatorJob returns one job: ENotFound for an unknown id or one that is
// not a uuid (a job id is only ever a handle the API gave out).
func (db *DB) OperatorJob(ctx context.Context, id string) (*OperatorJob, error) {
	if !isUUID(id) {
		return nil, tenant.Errorf(tenant.ENotFound, "job %q not found", id)
	}
	j, err := scanOperatorJob(db.pool.QueryRow(ctx, `SELECT `+operatorJobColumns+` FROM operator_jobs WHERE id = $1::uuid`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, tenant.Errorf(tenant.ENotFound, "job %s not found", id)
	}
	if err != nil {
		return nil, db.translate(err, "read operator job", "")
	}
	return j, nil
}

// SweepOperatorJobs fails every open job whose heartbeat is older than ttl
// by the catalog's clock (replicas' clocks may disagree): the replica
// running it stopped. It returns the jobs it failed.
func (db *DB) SweepOperatorJobs(ctx context.Context, ttl time.Duration) ([]*OperatorJob, error) {
	rows, err := db.pool.Query(ctx, `UPDATE operator_jobs SET status = 'failed', finished_at = now(),
			error = 'the replica running it (' || replica || ') stopped responding', error_code = 'replica_lost'
		WHERE status IN ('queued', 'running') AND heartbeat_at < now() - $1::interval
		RETURNING `+operatorJobColumns, ttl)
	if err != nil {
		return nil, db.translate(err, "sweep operator jobs", "")
	}
	js, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*OperatorJob, error) { return scanOperatorJob(r) })
	return js, db.translate(err, "sweep operator jobs", "")
}

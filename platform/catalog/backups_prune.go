package catalog

import (
	"context"
	"time"

	"github.com/tenancy/platform/tenant"
)

// InsertBackup records a backup row with a chosen start time and status
// (completed, verified, failed or running), for imports of an existing
// history and for tests of retention; r is ignored for running rows. id
// is the row's uuid ("": a new one, as its objects' keys need it first);
// the row's id is returned.
func (db *DB) InsertBackup(ctx context.Context, id, tenantID, reason, status string, startedAt time.Time, r BackupResult) (string, error) {
	switch status {
	case BackupCompleted, BackupVerified, BackupFailed, BackupRunning:
	default:
		return "", tenant.Errorf(tenant.EInvalid, "backup status %q cannot be inserted", status)
	}
	if id != "" && !isUUID(id) {
		return "", tenant.Errorf(tenant.EInvalid, "backup id %q is not a uuid", id)
	}
	if status == BackupRunning {
		err := db.pool.QueryRow(ctx, `INSERT INTO backups (id, tenant_id, reason, started_at)
			VALUES (coalesce(nullif($1, '')::uuid, gen_random_uuid()), $2, $3, $4)
			RETURNING id`, id, tenantID, reason, startedAt).Scan(&id)
		return id, db.translate(err, "record backup", "")
	}
	finished := r.FinishedAt
	if finished.IsZero() {
		finished = startedAt
	}
	var verified *time.Time
	if status == BackupVerified {
		verified = &finished
	}
	nullable := func(s string) *string {
		if s == "" {
			return nil
		}
		return &s
	}
	err := db.pool.QueryRow(ctx, `INSERT INTO backups (id, tenant_id, reason, status, started_at, finished_at,
			verified_at, location, copy_location, size_bytes, sha256, wrapped_key, schema_version,
			server_version, dump_version, row_counts)
		VALUES (coalesce(nullif($1, '')::uuid, gen_random_uuid()), $2, $3, $4, $5, $6, $7, $8, $9, $10,
			$11, $12, $13, $14, $15, $16) RETURNING id`,
		id, tenantID, reason, status, startedAt, finished, verified, nullable(r.Location), nullable(r.CopyLocation),
		r.SizeBytes, nullable(r.SHA256), nullable(r.WrappedKey), r.SchemaVersion, nullable(r.ServerVersion),
		nullable(r.DumpVersion), r.RowCounts).Scan(&id)
	return id, db.translate(err, "record backup", "")
}

// ExpireBackup marks a completed or verified backup expired (retention
// deleted its objects). Any other status is a conflict: nothing changes.
func (db *DB) ExpireBackup(ctx context.Context, id string) error {
	tag, err := db.pool.Exec(ctx, `UPDATE backups SET status = 'expired', expires_at = now()
		WHERE id = $1 AND status IN ('completed', 'verified')`, id)
	if err != nil {
		return db.translate(err, "expire backup", "")
	}
	if tag.RowsAffected() != 1 {
		return tenant.Errorf(tenant.EConflict, "backup %s is not completed or verified", id)
	}
	return nil
}

// DeleteFailedBackup removes the row of a failed backup (it never was a
// backup; retention cleans it once it is old enough). Any other status is
// a conflict.
func (db *DB) DeleteFailedBackup(ctx context.Context, id string) error {
	tag, err := db.pool.Exec(ctx, `DELETE FROM backups WHERE id = $1 AND status = 'failed'`, id)
	if err != nil {
		return db.translate(err, "delete failed backup", "")
	}
	if tag.RowsAffected() != 1 {
		return tenant.Errorf(tenant.EConflict, "backup %s is not failed", id)
	}
	return nil
}

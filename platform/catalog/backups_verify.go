package catalog

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenancy/platform/tenant"
)

// RecordBackupVerified marks a completed (or already verified) backup
// verified now, clearing any earlier verify error, and returns the time.
// Any other status is a conflict (expired or failed meanwhile).
func (db *DB) RecordBackupVerified(ctx context.Context, id string) (time.Time, error) {
	var at time.Time
	err := db.pool.QueryRow(ctx, `UPDATE backups SET status = 'verified', verified_at = now(), error = NULL
		WHERE id = $1 AND status IN ('completed', 'verified') RETURNING verified_at`, id).Scan(&at)
	if errors.Is(err, pgx.ErrNoRows) {
		return at, tenant.Errorf(tenant.EConflict, "backup %s is no longer completed or verified", id)
	}
	return at, db.translate(err, "record backup verification", "")
}

// RecordBackupVerifyFailure keeps (or puts back) a completed or verified
// backup in status completed with msg in error: a backup that does not
// verify never counts as verified. verified_at keeps the last success,
// verify_failed_at gets now.
func (db *DB) RecordBackupVerifyFailure(ctx context.Context, id, msg string) error {
	if len(msg) > 500 {
		msg = msg[:500]
	}
	tag, err := db.pool.Exec(ctx, `UPDATE backups SET status = 'completed', error = $2, verify_failed_at = now()
		WHERE id = $1 AND status IN ('completed', 'verified')`, id, msg)
	if err != nil {
		return db.translate(err, "record backup verify failure", "")
	}
	if tag.RowsAffected() != 1 {
		return tenant.Errorf(tenant.EConflict, "backup %s is no longer completed or verified", id)
	}
	return nil
}

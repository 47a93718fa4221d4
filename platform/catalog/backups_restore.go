package catalog

import (
	"context"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"
)

// A restore in progress is recorded as one platform_settings row per
// tenant (key restore_<tenant id without dashes>, value the restorer's
// JSON), written before each step and deleted when the restore finished or
// was rolled back: a re-run after a kill reads it to finish or undo the
// interrupted one. No table of its own: a restore is rare and its record
// short-lived.

func restoreKey(tenantID string) string {
	return "restore_" + strings.ReplaceAll(strings.ToLower(tenantID), "-", "")
}

// SaveRestoreRecord writes (or replaces) the restore record of a tenant.
func (db *DB) SaveRestoreRecord(ctx context.Context, tenantID string, value []byte) error {
	_, err := db.pool.Exec(ctx, `INSERT INTO platform_settings (key, value) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()`,
		restoreKey(tenantID), string(value))
	return db.translate(err, "record restore step", "")
}

// RestoreRecord returns the restore record of a tenant, or nil without one.
func (db *DB) RestoreRecord(ctx context.Context, tenantID string) ([]byte, error) {
	var v string
	err := db.pool.QueryRow(ctx, `SELECT value FROM platform_settings WHERE key = $1`, restoreKey(tenantID)).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, db.translate(err, "read restore record", "")
	}
	return []byte(v), nil
}

// DeleteRestoreRecord removes the restore record of a tenant (none is fine).
func (db *DB) DeleteRestoreRecord(ctx context.Context, tenantID string) error {
	_, err := db.pool.Exec(ctx, `DELETE FROM platform_settings WHERE key = $1`, restoreKey(tenantID))
	return db.translate(err, "delete restore record", "")
}

package catalog

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// TenantState is what the metrics know of one tenant (FleetState).
type TenantState struct {
	Slug, Kind, Status string
	// SchemaVersion is nil when no migration run has recorded the tenant's
	// version yet (RecordTenantSchema).
	SchemaVersion *int64
	SchemaDirty   bool
	// The newest successful backup (completed, verified or since expired);
	// nil LastBackup when there is none.
	LastBackup         *time.Time // its finish
	LastBackupDuration time.Duration
	LastBackupSize     int64
	LastBackupFailure  *time.Time // the newest failed run's finish
	// The newest passed and failed verifications, over every backup.
	VerifiedAt, VerifyFailedAt *time.Time
}

// FleetState returns every tenant but the deleted ones with its backups'
// and schema's state, in one query (one pass over backups, whatever the
// number of tenants): the metrics read it at scrape time.
func (db *DB) FleetState(ctx context.Context) ([]TenantState, error) {
	rows, err := db.pool.Query(ctx, `
		WITH ok AS (
			SELECT DISTINCT ON (tenant_id) tenant_id, finished_at, started_at, size_bytes
			FROM backups WHERE status IN ('completed', 'verified', 'expired') AND finished_at IS NOT NULL
			ORDER BY tenant_id, finished_at DESC),
		agg AS (
			SELECT tenant_id,
				max(coalesce(finished_at, started_at)) FILTER (WHERE status = 'failed') AS failed_at,
				max(verified_at) AS verified_at, max(verify_failed_at) AS verify_failed_at
			FROM backups GROUP BY tenant_id)
		SELECT t.slug, t.kind, t.status, s.version, coalesce(s.dirty, false),
			ok.finished_at, coalesce(extract(epoch FROM ok.finished_at - ok.started_at), 0)::float8,
			coalesce(ok.size_bytes, 0), agg.failed_at, agg.verified_at, agg.verify_failed_at
		FROM tenants t
			LEFT JOIN tenant_schema s ON s.tenant_id = t.id
			LEFT JOIN ok ON ok.tenant_id = t.id
			LEFT JOIN agg ON agg.tenant_id = t.id
		WHERE t.status <> 'deleted'
		ORDER BY t.slug`)
	if err != nil {
		return nil, db.translate(err, "read fleet state", "")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (TenantState, error) {
		var s TenantState
		var secs float64
		err := r.Scan(&s.Slug, &s.Kind, &s.Status, &s.SchemaVersion, &s.SchemaDirty,
			&s.LastBackup, &secs, &s.LastBackupSize, &s.LastBackupFailure, &s.VerifiedAt, &s.VerifyFailedAt)
		s.LastBackupDuration = time.Duration(secs * float64(time.Second))
		return s, err
	})
	return out, db.translate(err, "read fleet state", "")
}

// TenantCounts returns how many tenants are in each status, deleted ones
// included.
func (db *DB) TenantCounts(ctx context.Context) (map[string]int, error) {
	rows, err := db.pool.Query(ctx, `SELECT status, count(*) FROM tenants GROUP BY status`)
	if err != nil {
		return nil, db.translate(err, "count tenants", "")
	}
	out := map[string]int{}
	var status string
	var n int
	_, err = pgx.ForEachRow(rows, []any{&status, &n}, func() error { out[status] = n; return nil })
	return out, db.translate(err, "count tenants", "")
}

// RecordTenantSchema records where a tenant database's schema stands after
// a migration run (version 0: none applied).
func (db *DB) RecordTenantSchema(ctx context.Context, tenantID string, version uint, dirty bool) error {
	_, err := db.pool.Exec(ctx, `INSERT INTO tenant_schema (tenant_id, version, dirty) VALUES ($1, $2, $3)
		ON CONFLICT (tenant_id) DO UPDATE SET version = EXCLUDED.version, dirty = EXCLUDED.dirty, recorded_at = now()`,
		tenantID, int64(version), dirty)
	return db.translate(err, "record tenant schema version", "")
}

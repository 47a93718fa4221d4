package catalog

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenancy/platform/tenant"
)

// Backup statuses (the CHECK of the backups table).
const (
	BackupRunning   = "running"
	BackupCompleted = "completed"
	BackupVerified  = "verified"
	BackupFailed    = "failed"
	BackupExpired   = "expired"
)

// Backup is one row of the backups table, with its tenant's slug.
type Backup struct {
	ID            string           `json:"id"`
	TenantID      string           `json:"tenant_id"`
	TenantSlug    string           `json:"tenant"`
	Status        string           `json:"status"`
	Reason        string           `json:"reason"`
	Location      string           `json:"location,omitempty"`
	CopyLocation  string           `json:"copy_location,omitempty"`
	SizeBytes     int64            `json:"size_bytes,omitempty"`
	SHA256        string           `json:"sha256,omitempty"`
	WrappedKey    string           `json:"wrapped_key,omitempty"`
	SchemaVersion int64            `json:"schema_version,omitempty"`
	ServerVersion string           `json:"server_version,omitempty"`
	DumpVersion   string           `json:"dump_version,omitempty"`
	RowCounts     map[string]int64 `json:"row_counts,omitempty"`
	StartedAt     time.Time        `json:"started_at"`
	FinishedAt    *time.Time       `json:"finished_at,omitempty"`
	VerifiedAt    *time.Time       `json:"verified_at,omitempty"`
	Error         string           `json:"error,omitempty"`
}

const backupColumns = `b.id, b.tenant_id, t.slug, b.status, b.reason, coalesce(b.location, ''),
	coalesce(b.copy_location, ''), coalesce(b.size_bytes, 0), coalesce(b.sha256, ''),
	coalesce(b.wrapped_key, ''), coalesce(b.schema_version, 0), coalesce(b.server_version, ''),
	coalesce(b.dump_version, ''), b.row_counts, b.started_at, b.finished_at, b.verified_at,
	coalesce(b.error, '')`

func scanBackup(row pgx.Row) (*Backup, error) {
	var b Backup
	err := row.Scan(&b.ID, &b.TenantID, &b.TenantSlug, &b.Status, &b.Reason, &b.Location,
		&b.CopyLocation, &b.SizeBytes, &b.SHA256, &b.WrappedKey, &b.SchemaVersion, &b.ServerVersion,
		&b.DumpVersion, &b.RowCounts, &b.StartedAt, &b.FinishedAt, &b.VerifiedAt, &b.Error)
	return &b, err
}

// StartBackup records a running backup of a tenant and returns its id and
// start time. A row left running (the process died) is never a backup:
// only completed and verified rows are.
func (db *DB) StartBackup(ctx context.Context, tenantID, reason string) (id string, startedAt time.Time, err error) {
	err = db.pool.QueryRow(ctx, `INSERT INTO backups (tenant_id, reason) VALUES ($1, $2)
		RETURNING id, started_at`, tenantID, reason).Scan(&id, &startedAt)
	return id, startedAt, db.translate(err, "record backup start", "")
}

// BackupResult is what a finished backup records.
type BackupResult struct {
	Location, CopyLocation     string
	SizeBytes                  int64
	SHA256, WrappedKey         string
	SchemaVersion              int64
	ServerVersion, DumpVersion string
	RowCounts                  map[string]int64
	FinishedAt                 time.Time
}

// CompleteBackup marks a running backup completed. A row no longer
// running (failed meanwhile by someone else) is a conflict.
func (db *DB) CompleteBackup(ctx context.Context, id string, r BackupResult) error {
	copyLoc := &r.CopyLocation
	if r.CopyLocation == "" {
		copyLoc = nil
	}
	tag, err := db.pool.Exec(ctx, `UPDATE backups SET status = 'completed', location = $2,
			copy_location = $3, size_bytes = $4, sha256 = $5, wrapped_key = $6, schema_version = $7,
			server_version = $8, dump_version = $9, row_counts = $10, finished_at = $11, error = NULL
		WHERE id = $1 AND status = 'running'`, id, r.Location, copyLoc, r.SizeBytes, r.SHA256,
		r.WrappedKey, r.SchemaVersion, r.ServerVersion, r.DumpVersion, r.RowCounts, r.FinishedAt)
	if err != nil {
		return db.translate(err, "record backup completion", "")
	}
	if tag.RowsAffected() != 1 {
		return tenant.Errorf(tenant.EConflict, "backup %s is no longer running", id)
	}
	return nil
}

// FailBackup marks a running backup failed with a short, caller-safe
// message.
func (db *DB) FailBackup(ctx context.Context, id, msg string) error {
	if len(msg) > 500 {
		msg = msg[:500]
	}
	_, err := db.pool.Exec(ctx, `UPDATE backups SET status = 'failed', error = $2, finished_at = now()
		WHERE id = $1 AND status = 'running'`, id, msg)
	return db.translate(err, "record backup failure", "")
}

// Backups lists the backups of the tenant with slug ("" for every
// tenant), newest first. An unknown slug is ENotFound.
func (db *DB) Backups(ctx context.Context, slug string) ([]*Backup, error) {
	if slug != "" {
		if _, err := db.TenantBySlug(ctx, slug); err != nil {
			return nil, err
		}
	}
	rows, err := db.pool.Query(ctx, `SELECT `+backupColumns+`
		FROM backups b JOIN tenants t ON t.id = b.tenant_id
		WHERE $1 = '' OR t.slug = $1
		ORDER BY b.started_at DESC, b.id`, slug)
	if err != nil {
		return nil, db.translate(err, "list backups", "")
	}
	bs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*Backup, error) { return scanBackup(r) })
	return bs, db.translate(err, "list backups", "")
}

// BackupByID returns one backup: EInvalid for a malformed id, ENotFound
// for an unknown one.
func (db *DB) BackupByID(ctx context.Context, id string) (*Backup, error) {
	if !isUUID(id) {
		return nil, tenant.Errorf(tenant.EInvalid, "backup id %q is not a uuid", id)
	}
	b, err := scanBackup(db.pool.QueryRow(ctx, `SELECT `+backupColumns+`
		FROM backups b JOIN tenants t ON t.id = b.tenant_id WHERE b.id = $1::uuid`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, tenant.Errorf(tenant.ENotFound, "backup %s not found", id)
	}
	if err != nil {
		return nil, db.translate(err, "read backup "+id, "")
	}
	return b, nil
}

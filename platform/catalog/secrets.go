package catalog

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/tenancy/platform/tenant"
)

// BumpSecrets records that a tenant's secrets were rotated: the tenants
// row changes, so its trigger notifies every replica, whose resolver sees
// a secrets-only change and drops the tenant's cached secrets (its pool
// stays). It returns the new secrets version.
func (db *DB) BumpSecrets(ctx context.Context, tenantID string) (int64, error) {
	var v int64
	err := db.pool.QueryRow(ctx, `
		UPDATE tenants SET secrets_version = secrets_version + 1, secrets_rotated_at = now()
		WHERE id = $1 RETURNING secrets_version`, tenantID).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, tenant.Errorf(tenant.ENotFound, "tenant %s not found", tenantID)
	}
	return v, db.translate(err, "record secret rotation", "")
}

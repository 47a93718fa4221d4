package catalog

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/tenancy/platform/tenant"
)

// UpdateSettings changes a tenant's settings with change, which gets the
// current ones and returns the new ones, in one transaction holding the
// tenant's row: two operators changing different keys at once both win.
// The tenants trigger notifies every replica, whose resolver then serves
// the new settings.
func (db *DB) UpdateSettings(ctx context.Context, slug string, change func(map[string]any) (map[string]any, error)) (map[string]any, error) {
	var out map[string]any
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		var cur map[string]any
		var status string
		err := tx.QueryRow(ctx, `SELECT settings, status FROM tenants WHERE slug = $1 FOR UPDATE`, slug).Scan(&cur, &status)
		if errors.Is(err, pgx.ErrNoRows) {
			return tenant.Errorf(tenant.ENotFound, "tenant %q not found", slug)
		}
		if err != nil {
			return err
		}
		if tenant.Status(status) == tenant.StatusDeleted {
			return tenant.Errorf(tenant.EConflict, "tenant %q is deleted", slug)
		}
		if out, err = change(cur); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE tenants SET settings = $2, updated_at = now() WHERE slug = $1`, slug, out)
		return err
	})
	if err != nil {
		if tenant.ErrorCode(err) != tenant.EInternal {
			return nil, err
		}
		return nil, db.translate(err, "update settings of "+slug, "")
	}
	return out, nil
}

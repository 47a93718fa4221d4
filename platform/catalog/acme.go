package catalog

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/tenancy/platform/tenant"
)

// ACMECacheGet reads one entry of the ACME cache (migration 000008): the
// sealed value as stored. ENotFound when there is none.
func (db *DB) ACMECacheGet(ctx context.Context, key string) (string, error) {
	var data string
	err := db.pool.QueryRow(ctx, `SELECT data FROM acme_cache WHERE key = $1`, key).Scan(&data)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", tenant.Errorf(tenant.ENotFound, "no ACME cache entry")
	}
	if err != nil {
		return "", db.translate(err, "read the ACME cache", "")
	}
	return data, nil
}

// ACMECachePut stores (or replaces) one sealed entry.
func (db *DB) ACMECachePut(ctx context.Context, key, data string) error {
	if key == "" {
		return tenant.Errorf(tenant.EInvalid, "an ACME cache key is not empty")
	}
	_, err := db.pool.Exec(ctx, `
		INSERT INTO acme_cache (key, data, updated_at) VALUES ($1, $2, now())
		ON CONFLICT (key) DO UPDATE SET data = EXCLUDED.data, updated_at = now()`, key, data)
	return db.translate(err, "write the ACME cache", "")
}

// ACMECacheDelete removes one entry; a missing one is not an error.
func (db *DB) ACMECacheDelete(ctx context.Context, key string) error {
	_, err := db.pool.Exec(ctx, `DELETE FROM acme_cache WHERE key = $1`, key)
	return db.translate(err, "delete from the ACME cache", "")
}

// ACMECacheKeys lists the keys of the cache (for checks and the operator).
func (db *DB) ACMECacheKeys(ctx context.Context) ([]string, error) {
	rows, err := db.pool.Query(ctx, `SELECT key FROM acme_cache ORDER BY key`)
	if err != nil {
		return nil, db.translate(err, "list the ACME cache", "")
	}
	keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return keys, db.translate(err, "list the ACME cache", "")
}

// Package catalog is the storage layer of the platform's own database: the
// tenants, their domains, the database servers, provisioning progress,
// backups, job runs and the operator audit. All its SQL lives here and its
// PostgreSQL errors are translated here.
package catalog

import (
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tenancy/platform/migrations"
	"github.com/tenancy/platform/platform/schema"
	"github.com/tenancy/platform/tenant"
)

// DB is the catalog.
type DB struct {
	pool   *pgxpool.Pool
	logger *slog.Logger
}

// SetLogger sets where the catalog logs (the listener's reconnects).
func (db *DB) SetLogger(l *slog.Logger) { db.logger = l }

func (db *DB) log() *slog.Logger {
	if db.logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return db.logger
}

// Ping checks that the catalog answers.
func (db *DB) Ping(ctx context.Context) error {
	return db.translate(db.pool.Ping(ctx), "ping catalog", "")
}

// Open connects to the catalog at url and migrates it to the latest
// version: every command does, so a new binary never runs on an old catalog.
func Open(ctx context.Context, url string) (*DB, error) {
	pc, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, tenant.Errorf(tenant.EInvalid, "PLATFORM_DATABASE_URL is not a valid PostgreSQL URL")
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, err
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, tenant.Errorf(tenant.EUnavailable, "catalog database at %s:%d is unreachable: %v", pc.ConnConfig.Host, pc.ConnConfig.Port, pgErrText(err))
	}
	t := schema.Target{Name: "catalog", Kind: "catalog", Conn: pc.ConnConfig, Source: migrations.Catalog()}
	if st, err := schema.GetStatus(ctx, t); err != nil || st.Pending > 0 || st.Dirty {
		if _, err := schema.Up(ctx, t); err != nil {
			pool.Close()
			return nil, fmt.Errorf("migrate catalog: %w", err)
		}
	}
	return &DB{pool: pool}, nil
}

// Close closes the catalog's connections.
func (db *DB) Close() { db.pool.Close() }

// Pool exposes the pool for LISTEN and for tests.
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// WithLock runs fn while holding a catalog-wide advisory lock on key, so
// that replicas and concurrent commands serialise on it (template
// migration against template cloning, for example).
func (db *DB) WithLock(ctx context.Context, key string, fn func() error) error {
	// A connection of its own, not the pool's: fn needs pool connections,
	// and as many holders (or waiters) as the pool has would starve it.
	conn, err := pgx.ConnectConfig(ctx, db.pool.Config().ConnConfig.Copy())
	if err != nil {
		return db.translate(err, "lock "+key, "")
	}
	defer conn.Close(context.WithoutCancel(ctx))
	class, id := lockKey(key)
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1, $2)`, class, id); err != nil {
		return db.translate(err, "lock "+key, "")
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1, $2)`, class, id)
	return fn()
}

// TryLock runs fn holding the advisory lock of key (the one WithLock
// takes) if no one holds it, and reports whether it ran: for work that one
// replica does for all (the rotation check), where the others skip
// rather than wait.
func (db *DB) TryLock(ctx context.Context, key string, fn func() error) (bool, error) {
	conn, err := pgx.ConnectConfig(ctx, db.pool.Config().ConnConfig.Copy())
	if err != nil {
		return false, db.translate(err, "lock "+key, "")
	}
	defer conn.Close(context.WithoutCancel(ctx))
	class, id := lockKey(key)
	var got bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1, $2)`, class, id).Scan(&got); err != nil {
		return false, db.translate(err, "lock "+key, "")
	}
	if !got {
		return false, nil
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1, $2)`, class, id)
	return true, fn()
}

func lockKey(key string) (class, id int32) {
	h := fnv.New32a()
	h.Write([]byte(key))
	const plat = 0x504c4154 // "PLAT": keeps our keys apart from golang-migrate's
	return int32(plat), int32(h.Sum32())
}

package catalog

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/tenancy/platform/tenant"
)

const serverColumns = `id, name, host, port, connection_budget`

func scanServer(row pgx.Row) (tenant.DBServer, error) {
	var s tenant.DBServer
	err := row.Scan(&s.ID, &s.Name, &s.Host, &s.Port, &s.ConnectionBudget)
	return s, err
}

// EnsureDBServer registers a database server under name at host:port if
// no server has that name, and returns the stored row. A stored server is
// never changed here: every tenant on it would be re-pointed by whoever
// called with another address. The caller compares the returned Host and
// Port with what it expected; servers change only through UpdateDBServer
// (`platform db-server set`).
func (db *DB) EnsureDBServer(ctx context.Context, name, host string, port int) (tenant.DBServer, error) {
	// Two statements, not one: the SELECT must see a row that a concurrent
	// INSERT committed while ours waited on it.
	if _, err := db.pool.Exec(ctx, `INSERT INTO db_servers (name, host, port) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO NOTHING`, name, host, port); err != nil {
		return tenant.DBServer{}, db.translate(err, "register database server "+name, "")
	}
	return db.DBServer(ctx, name)
}

// DBServer returns a registered database server by name; ENotFound if
// there is none.
func (db *DB) DBServer(ctx context.Context, name string) (tenant.DBServer, error) {
	s, err := scanServer(db.pool.QueryRow(ctx, `SELECT `+serverColumns+` FROM db_servers WHERE name = $1`, name))
	if errors.Is(err, pgx.ErrNoRows) {
		return s, tenant.Errorf(tenant.ENotFound, "database server %q is not registered", name)
	}
	return s, db.translate(err, "read database server "+name, "")
}

// DBServers lists the registered database servers.
func (db *DB) DBServers(ctx context.Context) ([]tenant.DBServer, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+serverColumns+` FROM db_servers ORDER BY id`)
	if err != nil {
		return nil, db.translate(err, "list database servers", "")
	}
	ss, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (tenant.DBServer, error) { return scanServer(r) })
	return ss, db.translate(err, "list database servers", "")
}

// DBServerChange says what UpdateDBServer changes; nil fields stay.
type DBServerChange struct {
	Host   *string
	Port   *int
	Budget *int // connection_budget
}

// UpdateDBServer changes where a database server listens or its
// connection budget, and returns the row before and after. Running routers
// learn of it through the db_servers trigger's notification.
func (db *DB) UpdateDBServer(ctx context.Context, name string, c DBServerChange) (old, updated tenant.DBServer, err error) {
	if c.Host != nil {
		if h := tenant.NormalizeHost(*c.Host); h == "" || h != *c.Host {
			return old, updated, tenant.Errorf(tenant.EInvalid, "invalid host %q: a lower-case host name or IPv4 address", *c.Host)
		}
	}
	if c.Port != nil && (*c.Port < 1 || *c.Port > 65535) {
		return old, updated, tenant.Errorf(tenant.EInvalid, "invalid port %d: 1 to 65535", *c.Port)
	}
	if c.Budget != nil && *c.Budget < 1 {
		return old, updated, tenant.Errorf(tenant.EInvalid, "invalid connection budget %d: at least 1", *c.Budget)
	}
	what := "update database server " + name
	err = pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		old, err = scanServer(tx.QueryRow(ctx, `SELECT `+serverColumns+` FROM db_servers WHERE name = $1 FOR UPDATE`, name))
		if errors.Is(err, pgx.ErrNoRows) {
			return tenant.Errorf(tenant.ENotFound, "database server %q is not registered", name)
		}
		if err != nil {
			return err
		}
		updated, err = scanServer(tx.QueryRow(ctx, `
			UPDATE db_servers SET host = coalesce($2, host), port = coalesce($3, port),
				connection_budget = coalesce($4, connection_budget), updated_at = now()
			WHERE id = $1 RETURNING `+serverColumns, old.ID, c.Host, c.Port, c.Budget))
		return err
	})
	if err != nil {
		return old, updated, db.translate(err, what, "")
	}
	return old, updated, nil
}

package catalog

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenancy/platform/tenant"
)

// Routes returns every tenant the router may serve or must refuse: all but
// the deleted ones, with their custom domains.
func (db *DB) Routes(ctx context.Context) ([]*tenant.Tenant, error) {
	return db.ListTenants(ctx, TenantFilter{Statuses: []tenant.Status{
		tenant.StatusProvisioning, tenant.StatusActive, tenant.StatusSuspended, tenant.StatusMaintenance}})
}

// TenantByID returns a tenant in any status; ENotFound if there is none.
func (db *DB) TenantByID(ctx context.Context, id string) (*tenant.Tenant, error) {
	t, err := scanTenant(db.pool.QueryRow(ctx, `SELECT `+tenantColumns+`
		FROM tenants t JOIN db_servers s ON s.id = t.db_server_id WHERE t.id::text = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, tenant.Errorf(tenant.ENotFound, "tenant %s not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("read tenant %s: %w", id, err)
	}
	return t, nil
}

// ChangesChannel carries the id of every tenant whose row or domains
// changed (triggers in the catalog migration).
const ChangesChannel = "tenant_changes"

// Listen calls onChange with the payload of each notification on
// ChangesChannel until ctx ends. Notifications sent while the listening
// connection is down are lost, so onConnect runs after every (re)connect,
// once LISTEN is in place: the caller reloads everything there.
func (db *DB) Listen(ctx context.Context, onConnect func(context.Context) error, onChange func(payload string)) error {
	backoff := 100 * time.Millisecond
	for {
		err := db.listenOnce(ctx, onConnect, onChange)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		db.log().WarnContext(ctx, "catalog listener lost; reconnecting", "err", err, "backoff", backoff)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

func (db *DB) listenOnce(ctx context.Context, onConnect func(context.Context) error, onChange func(string)) error {
	conn, err := pgx.ConnectConfig(ctx, db.pool.Config().ConnConfig.Copy())
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+ChangesChannel); err != nil {
		return err
	}
	if err := onConnect(ctx); err != nil {
		return err
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		onChange(n.Payload)
	}
}

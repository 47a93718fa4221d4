package catalog

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenancy/platform/tenant"
)

// CreateTenant inserts a tenant in status provisioning with its custom
// domains, all or nothing. A taken slug or domain is a conflict.
func (db *DB) CreateTenant(ctx context.Context, t *tenant.Tenant, serverID int64) error {
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return db.translate(err, "insert tenant", "")
	}
	defer tx.Rollback(ctx)
	err = tx.QueryRow(ctx, `
		INSERT INTO tenants (slug, kind, name, status, db_server_id, database_name, time_zone)
		VALUES ($1, $2, $3, 'provisioning', $4, $5, $6)
		RETURNING id, status, created_at, updated_at`,
		t.Slug, t.Kind, t.Name, serverID, t.Database, t.TimeZone,
	).Scan(&t.ID, &t.Status, &t.CreatedAt, &t.UpdatedAt)
	if err != nil {
		return db.translate(err, "insert tenant", fmt.Sprintf("tenant %q already exists", t.Slug))
	}
	if len(t.Hosts) > 0 {
		base, err := baseForDomains(ctx, tx)
		if err != nil {
			return err
		}
		for _, h := range t.Hosts {
			if err := insertDomain(ctx, tx, t.ID, h, base); err != nil {
				return err
			}
		}
	}
	return db.translate(tx.Commit(ctx), "insert tenant", "")
}

// baseForDomains reads the base domain that custom domains are checked
// against; "" while the catalog has none.
func baseForDomains(ctx context.Context, tx pgx.Tx) (string, error) {
	base, err := baseDomain(ctx, tx)
	if tenant.ErrorCode(err) == tenant.ENotFound {
		return "", nil
	}
	return base, err
}

// insertDomain adds a custom domain. The base domain and every name under
// it are the platform's (<slug>.<base>): refused here too, whatever the
// caller checked against its own configuration.
func insertDomain(ctx context.Context, tx pgx.Tx, tenantID, host, base string) error {
	if underBase(host, base) {
		return tenant.Errorf(tenant.EConflict, "domain %q is under the platform's base domain %s", host, base)
	}
	_, err := tx.Exec(ctx, `INSERT INTO tenant_domains (host, tenant_id) VALUES ($1, $2)`, host, tenantID)
	return translate(err, "insert domain", fmt.Sprintf("domain %q is already in use", host))
}

// AddDomains adds custom domains to a tenant, all or nothing.
func (db *DB) AddDomains(ctx context.Context, tenantID string, hosts []string) error {
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		base, err := baseForDomains(ctx, tx)
		if err != nil {
			return err
		}
		for _, h := range hosts {
			var owner string
			err := tx.QueryRow(ctx, `SELECT tenant_id FROM tenant_domains WHERE host = $1`, h).Scan(&owner)
			if err == nil && owner == tenantID {
				continue
			}
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
			if err := insertDomain(ctx, tx, tenantID, h, base); err != nil {
				return err
			}
		}
		return nil
	})
	return db.translate(err, "add domains", "")
}

const tenantColumns = `t.id, t.slug, t.kind, t.name, t.status, s.name, t.database_name, t.time_zone,
	t.settings, t.created_at, t.updated_at, t.secrets_version,
	coalesce((SELECT array_agg(d.host ORDER BY d.host) FROM tenant_domains d WHERE d.tenant_id = t.id), '{}')`

func scanTenant(row pgx.Row) (*tenant.Tenant, error) {
	var t tenant.Tenant
	err := row.Scan(&t.ID, &t.Slug, &t.Kind, &t.Name, &t.Status, &t.DBServer, &t.Database, &t.TimeZone,
		&t.Settings, &t.CreatedAt, &t.UpdatedAt, &t.SecretsVersion, &t.Hosts)
	return &t, err
}

// TenantBySlug returns a tenant in any status, deleted included.
func (db *DB) TenantBySlug(ctx context.Context, slug string) (*tenant.Tenant, error) {
	t, err := scanTenant(db.pool.QueryRow(ctx, `SELECT `+tenantColumns+`
		FROM tenants t JOIN db_servers s ON s.id = t.db_server_id WHERE t.slug = $1`, slug))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, tenant.Errorf(tenant.ENotFound, "tenant %q not found", slug)
	}
	if err != nil {
		return nil, db.translate(err, "read tenant "+slug, "")
	}
	return t, nil
}

// TenantFilter narrows ListTenants; zero values match everything.
type TenantFilter struct {
	Statuses []tenant.Status
	Kind     tenant.Kind
}

// ListTenants lists tenants by slug.
func (db *DB) ListTenants(ctx context.Context, f TenantFilter) ([]*tenant.Tenant, error) {
	statuses := make([]string, len(f.Statuses))
	for i, s := range f.Statuses {
		statuses[i] = string(s)
	}
	rows, err := db.pool.Query(ctx, `SELECT `+tenantColumns+`
		FROM tenants t JOIN db_servers s ON s.id = t.db_server_id
		WHERE (cardinality($1::text[]) = 0 OR t.status = ANY($1))
		  AND ($2 = '' OR t.kind = $2)
		ORDER BY t.slug`, statuses, string(f.Kind))
	if err != nil {
		return nil, db.translate(err, "list tenants", "")
	}
	ts, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*tenant.Tenant, error) { return scanTenant(r) })
	return ts, db.translate(err, "list tenants", "")
}

// SetStatus moves a tenant to status if it is in one of from; it returns a
// conflict naming the current status otherwise.
func (db *DB) SetStatus(ctx context.Context, slug string, to tenant.Status, from ...tenant.Status) error {
	fs := make([]string, len(from))
	for i, s := range from {
		fs[i] = string(s)
	}
	tag, err := db.pool.Exec(ctx, `
		UPDATE tenants SET status = $2, updated_at = now(),
			deleted_at = CASE WHEN $2 = 'deleted' THEN now() ELSE NULL END
		WHERE slug = $1 AND status = ANY($3)`, slug, string(to), fs)
	if err != nil {
		return db.translate(err, "set status of "+slug, "")
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	t, err := db.TenantBySlug(ctx, slug)
	if err != nil {
		return err
	}
	if t.Status == to {
		return nil
	}
	return tenant.Errorf(tenant.EConflict, "tenant %q is %s", slug, t.Status)
}

// DeleteTenant removes a tenant's rows: domains, steps, backups and job runs
// go with it.
func (db *DB) DeleteTenant(ctx context.Context, id string) error {
	_, err := db.pool.Exec(ctx, `DELETE FROM tenants WHERE id = $1`, id)
	return db.translate(err, "delete tenant", "")
}

// DoneSteps returns the provisioning steps already recorded for a tenant.
func (db *DB) DoneSteps(ctx context.Context, tenantID string) (map[string]time.Time, error) {
	rows, err := db.pool.Query(ctx, `SELECT step, finished_at FROM provisioning_steps WHERE tenant_id = $1`, tenantID)
	if err != nil {
		return nil, db.translate(err, "read provisioning steps", "")
	}
	defer rows.Close()
	done := map[string]time.Time{}
	for rows.Next() {
		var s string
		var at time.Time
		if err := rows.Scan(&s, &at); err != nil {
			return nil, db.translate(err, "read provisioning steps", "")
		}
		done[s] = at
	}
	return done, db.translate(rows.Err(), "read provisioning steps", "")
}

// RecordStep records that a provisioning step finished.
func (db *DB) RecordStep(ctx context.Context, tenantID, step string) error {
	_, err := db.pool.Exec(ctx, `
		INSERT INTO provisioning_steps (tenant_id, step) VALUES ($1, $2)
		ON CONFLICT (tenant_id, step) DO NOTHING`, tenantID, step)
	return db.translate(err, "record provisioning step", "")
}

// Activate ends provisioning: the tenant becomes active and the step that
// says so is recorded in the same transaction, so a crash leaves either a
// tenant still provisioning or one completely done.
func (db *DB) Activate(ctx context.Context, tenantID, step string) error {
	return db.translate(pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE tenants SET status = 'active', updated_at = now() WHERE id = $1 AND status = 'provisioning'`, tenantID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() != 1 {
			return tenant.Errorf(tenant.EConflict, "tenant is no longer provisioning")
		}
		_, err = tx.Exec(ctx, `INSERT INTO provisioning_steps (tenant_id, step) VALUES ($1, $2) ON CONFLICT DO NOTHING`, tenantID, step)
		return err
	}), "activate tenant", "")
}

// OperatorAction is one line of the operator audit.
type OperatorAction struct {
	Actor   string
	Source  string // cli, api or scheduler
	Action  string // e.g. tenant.create
	Tenant  string // slug, if any
	Failed  bool
	Details map[string]any // never a secret
}

// RecordOperatorAction appends to the operator audit.
func (db *DB) RecordOperatorAction(ctx context.Context, a OperatorAction) error {
	outcome := "succeeded"
	if a.Failed {
		outcome = "failed"
	}
	if a.Details == nil {
		a.Details = map[string]any{}
	}
	var slug *string
	if a.Tenant != "" {
		slug = &a.Tenant
	}
	_, err := db.pool.Exec(ctx, `
		INSERT INTO operator_audit (actor, source, action, tenant_slug, outcome, details)
		VALUES ($1, $2, $3, $4, $5, $6)`, a.Actor, a.Source, a.Action, slug, outcome, a.Details)
	return db.translate(err, "record operator action", "")
}

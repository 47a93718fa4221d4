package catalog

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tenancy/platform/tenant"
)

// Routes returns every tenant the router may serve or must refuse: all but
// the deleted ones, with their custom domains.
func (db *DB) Routes(ctx context.Context) ([]*tenant.Tenant, error) {
	return db.ListTenants(ctx, TenantFilter{Statuses: []tenant.Status{
		tenant.StatusProvisioning, tenant.StatusActive, tenant.StatusSuspended, tenant.StatusMaintenance}})
}

// TenantByID returns a tenant in any status; ENotFound if there is none,
// and for an id that is not a uuid (a notification's payload is only
// trusted so far).
func (db *DB) TenantByID(ctx context.Context, id string) (*tenant.Tenant, error) {
	if !isUUID(id) {
		return nil, tenant.Errorf(tenant.ENotFound, "tenant %q not found", id)
	}
	t, err := scanTenant(db.pool.QueryRow(ctx, tenantByIDQuery, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, tenant.Errorf(tenant.ENotFound, "tenant %s not found", id)
	}
	if err != nil {
		return nil, db.translate(err, "read tenant "+id, "")
	}
	return t, nil
}

// tenantByIDQuery compares the uuid itself, so the primary key's index
// answers (id::text = $1 would read every row).
const tenantByIDQuery = `SELECT ` + tenantColumns + `
	FROM tenants t JOIN db_servers s ON s.id = t.db_server_id WHERE t.id = $1::uuid`

// isUUID reports the canonical text form of a uuid, the only one the
// catalog writes.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return false
			}
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f', c >= 'A' && c <= 'F':
		default:
			return false
		}
	}
	return true
}

// Channels the catalog's triggers notify (migrations 000001, 000002 and
// 000009). The payload is a tenant id, a database server's name, or a
// setting's key; on NoticeSentChannel, which follows each of the others
// in the same transaction, the send time in microseconds since the epoch.
const (
	ChangesChannel         = "tenant_changes"
	ServerChangesChannel   = "db_server_changes"
	SettingsChangesChannel = "platform_settings_changes"
	NoticeSentChannel      = "catalog_notice_sent"
)

// ListenerApplicationName marks the listening connection in
// pg_stat_activity.
const ListenerApplicationName = "platform catalog listener"

// Listener reconnect delays: the first retry comes soon, later ones back
// off, and a connection that came up healthy starts the sequence again.
const (
	listenBackoffMin = 100 * time.Millisecond
	listenBackoffMax = 5 * time.Second
)

// Listen calls onNotice with the channel and payload of each notification
// on the channels above until ctx ends. Notifications sent while the
// listening connection is down are lost, so onConnect runs after every
// (re)connect, once LISTEN is in place: the caller reloads everything
// there.
//
// Any role that can connect to the catalog database can NOTIFY on its
// channels, so each notice's sender is looked up (senders below): foreign
// is "" for a notice sent by the catalog's own role or a superuser, and
// otherwise describes the sending backend, for the caller to ignore and
// report.
func (db *DB) Listen(ctx context.Context, onConnect func(context.Context) error, onNotice func(channel, payload, foreign string)) error {
	backoff := listenBackoffMin
	for {
		healthy, err := db.listenOnce(ctx, onConnect, onNotice)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if healthy {
			backoff = listenBackoffMin
		}
		db.log().WarnContext(ctx, "catalog listener lost; reconnecting", "err", err, "backoff", backoff)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, listenBackoffMax)
	}
}

// listenOnce listens on one connection until it fails. healthy reports
// that it got as far as LISTEN and the caller's reload.
func (db *DB) listenOnce(ctx context.Context, onConnect func(context.Context) error, onNotice func(string, string, string)) (healthy bool, err error) {
	cc := db.pool.Config().ConnConfig.Copy()
	if cc.RuntimeParams == nil {
		cc.RuntimeParams = map[string]string{}
	}
	cc.RuntimeParams["application_name"] = ListenerApplicationName
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		return false, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+ChangesChannel+"; LISTEN "+ServerChangesChannel+"; LISTEN "+SettingsChangesChannel+"; LISTEN "+NoticeSentChannel); err != nil {
		return false, err
	}
	if err := onConnect(ctx); err != nil {
		return false, err
	}
	// An already-ended context makes WaitForNotification return only
	// notifications already read (during the previous lookup): a burst is
	// looked up with one query.
	drained, cancel := context.WithCancel(ctx)
	cancel()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return true, err
		}
		batch := []*pgconn.Notification{n}
		for len(batch) < maxNoticeBatch {
			n, err := conn.WaitForNotification(drained)
			if err != nil || n == nil {
				break
			}
			batch = append(batch, n)
		}
		foreign, err := senders(ctx, conn, batch)
		if err != nil {
			return true, err
		}
		for _, n := range batch {
			onNotice(n.Channel, n.Payload, foreign[n.PID])
		}
	}
}

// maxNoticeBatch bounds the notices looked up at once.
const maxNoticeBatch = 1000

// senders looks up the backends that sent notifications, on the listening
// connection itself (pg_stat_activity is shared memory: no catalog table
// is read, no pool connection taken). It returns, for each sender that is
// neither the catalog's own role (the one listening) nor a superuser, a
// description of it; trusted senders are absent.
//
// A sender that has already exited cannot be looked up, and is trusted:
// the normal sender is a short-lived CLI run that commits and exits, and a
// fake notice costs only a re-read of what the catalog really holds. What
// keeps other roles from sending at all is that they cannot connect to the
// catalog database (CONNECT is revoked from PUBLIC there); this check is
// the second line, for a catalog still open to them.
func senders(ctx context.Context, conn *pgx.Conn, batch []*pgconn.Notification) (map[uint32]string, error) {
	pids := make([]int64, 0, len(batch))
	seen := map[uint32]bool{}
	for _, n := range batch {
		if !seen[n.PID] {
			seen[n.PID] = true
			pids = append(pids, int64(n.PID))
		}
	}
	rows, err := conn.Query(ctx, `
		SELECT a.pid, coalesce(a.usename, ''), a.backend_start
		FROM pg_stat_activity a LEFT JOIN pg_roles r ON r.oid = a.usesysid
		WHERE a.pid = ANY($1) AND NOT coalesce(a.usename = current_user OR r.rolsuper, false)`, pids)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	foreign := map[uint32]string{}
	for rows.Next() {
		var pid int64
		var role string
		var started *time.Time // null for another role's session without pg_read_all_stats
		if err := rows.Scan(&pid, &role, &started); err != nil {
			return nil, err
		}
		desc := fmt.Sprintf("role %q, pid %d", role, pid)
		if started != nil {
			desc += ", connected " + started.UTC().Format(time.RFC3339Nano)
		}
		foreign[uint32(pid)] = desc
	}
	return foreign, rows.Err()
}

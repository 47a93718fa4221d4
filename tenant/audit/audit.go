// Package audit is a tenant's audit log: an append-only table in the
// tenant's own database, written by the request path's role (which may
// INSERT and SELECT it, nothing else) and by the control plane for the
// operations it performs on a tenant (secret rotation).
//
// Record writes one row on any connection to a tenant database (the
// request path's pool or transaction, or an owner-role *pgx.Conn of the
// control plane); Query reads keyset-paginated pages of it, newest first;
// ParseFilter reads a Filter from the query string of GET /api/audit.
package audit

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// DBTX is a tenant database connection or transaction.
type DBTX interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Actions. Domain writes (a later issue) use "<entity>.created|updated|deleted".
const (
	LoginSuccess   = "login.success"
	LoginFailure   = "login.failure"
	AccountLocked  = "account.locked"
	AccountUnlock  = "account.unlocked"
	Logout         = "logout"
	PasswordChange = "password.changed"
	ResetRequested = "password.reset_requested"
	ResetIssued    = "password.reset_issued"
	PasswordReset  = "password.reset"
	SessionRevoked = "session.revoked"
	UserCreated    = "user.created"
	UserUpdated    = "user.updated"
	UserDeleted    = "user.deleted"
	SecretsRotated = "secrets.rotated"
)

// Outcomes.
const (
	Success = "success"
	Failure = "failure"
	Denied  = "denied"
)

// Entry is one audit row. Details never hold a secret, password or token:
// Record drops keys that look like one.
type Entry struct {
	ID         int64          `json:"id"`
	OccurredAt time.Time      `json:"occurred_at"`
	UserID     *int64         `json:"actor_id"` // nil once the user is deleted (SET NULL)
	Actor      string         `json:"actor"`    // username snapshot, or e.g. "operator:cli:alice"
	Action     string         `json:"action"`
	Entity     string         `json:"entity,omitempty"`
	EntityID   string         `json:"entity_id,omitempty"`
	Outcome    string         `json:"outcome"`
	IP         string         `json:"ip,omitempty"`
	UserAgent  string         `json:"user_agent,omitempty"`
	RequestID  string         `json:"request_id,omitempty"`
	Details    map[string]any `json:"details"`
}

// Filter selects audit rows, newest first. Actor matches the username
// snapshot (case-insensitive) or, when numeric, the actor id. From is
// inclusive, To exclusive. Limit 0 means 50; at most 500. Cursor is the
// opaque NextCursor of the previous page.
type Filter struct {
	Actor, Action, Entity string
	// EntityID narrows Entity to one thing (exact match).
	EntityID string
	From, To time.Time
	Limit    int
	Cursor   string
}

// Page is one page of a query.
type Page struct {
	Entries    []Entry `json:"entries"`
	NextCursor string  `json:"next_cursor,omitempty"`
}

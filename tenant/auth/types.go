package auth

import (
	"context"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tenancy/platform/tenant"
)

// This file holds the types shared by the identity packages: the service
// (this package), its storage (authpg), the Redis sessions and limits
// (session) and the HTTP handlers (authhttp).

// DBTX is a tenant database connection or transaction: the request
// path's role (tenant_<slug>__app), never the owner.
type DBTX interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Begin(ctx context.Context) (pgx.Tx, error)
}

// User is a tenant user as the API shows it: never a hash.
type User struct {
	ID                 int64      `json:"id"`
	Username           string     `json:"username"`
	Email              string     `json:"email,omitempty"`
	FullName           string     `json:"full_name"`
	Active             bool       `json:"active"`
	Locked             bool       `json:"locked"`
	MustChangePassword bool       `json:"must_change_password"`
	Language           string     `json:"language" doc:"es, en, or empty: the browser's language"`
	Roles              []string   `json:"roles"`
	LastLoginAt        *time.Time `json:"last_login_at"`
	PasswordChangedAt  *time.Time `json:"password_changed_at"`
	CreatedAt          time.Time  `json:"created_at"`
	UpdatedAt          time.Time  `json:"updated_at"`
}

// Principal is who an authenticated request acts as, read from its
// session (one Redis round trip, no database query).
type Principal struct {
	TenantID           string
	UserID             int64
	Username           string
	Roles              []string
	Permissions        []string
	MustChangePassword bool
	Language           string // the user's screen language; "": the browser's
	// Session is the current session's public handle (SessionInfo.ID),
	// never the secret session id.
	Session string
}

// Can reports whether p holds permission perm.
func (p *Principal) Can(perm string) bool {
	return p != nil && slices.Contains(p.Permissions, perm)
}

// SessionData is what a session stores about its user and client. The
// user fields are a snapshot refreshed by Sessions.UpdateUser whenever the
// user changes, so a request needs no database read to authorise.
type SessionData struct {
	UserID             int64     `json:"user_id"`
	Username           string    `json:"username"`
	Roles              []string  `json:"roles"`
	Permissions        []string  `json:"permissions"`
	MustChangePassword bool      `json:"must_change_password"`
	Language           string    `json:"language,omitempty"`
	IP                 string    `json:"ip"`
	UserAgent          string    `json:"user_agent"`
	CreatedAt          time.Time `json:"created_at"`
	LastSeenAt         time.Time `json:"last_seen_at"`
	// ExpiresAt is the absolute end (CreatedAt + lifetime); Idle ends it
	// earlier when no request comes for that long.
	ExpiresAt time.Time     `json:"expires_at"`
	Idle      time.Duration `json:"-"`
}

// SessionInfo is a session as listed: ID is its public handle (the hex
// SHA-256 of the secret id), safe to show an admin and to revoke by; the
// secret id itself is never listed, logged or stored in Redis.
type SessionInfo struct {
	ID      string `json:"id"`
	Current bool   `json:"current"`
	SessionData
}

// Policy is a tenant's session settings (per-tenant, PolicyFor).
type Policy struct {
	Lifetime time.Duration // absolute; default 8 h
	Idle     time.Duration // without a request; default 30 min
}

// Limit is a rate limit: at most Rate requests per Period for one Key
// (within a tenant: the session store prefixes t:<tenant-id>:).
type Limit struct {
	Key    string // e.g. "login:ip:203.0.113.7"
	Rate   int
	Period time.Duration
}

// Verdict is a rate limiter's answer.
type Verdict struct {
	Allowed    bool
	Remaining  int
	RetryAfter time.Duration // when not allowed
}

// Sessions keeps tenant sessions (tenant/auth/session implements it over
// Redis). Every key of a tenant starts with t:<tenant-id>:. Errors:
// ErrNoSession for an unknown, expired or revoked session; a Redis
// failure is a tenant.EUnavailable error.
type Sessions interface {
	// Create stores a new session and returns its secret id (256 random
	// bits, base64url) and its listing.
	Create(ctx context.Context, tenantID string, d SessionData, p Policy) (secret string, info SessionInfo, err error)
	// Check validates the secret id in one round trip: the session exists
	// and is neither idle nor past its lifetime; it records the activity
	// (at most once a minute) and, when lim is not nil, counts the request
	// against lim in the same round trip.
	Check(ctx context.Context, tenantID, secret string, ip string, lim *Limit) (SessionInfo, Verdict, error)
	// Allow counts one request against lim (login, reset, other
	// unauthenticated endpoints).
	Allow(ctx context.Context, tenantID string, lim Limit) (Verdict, error)
	// List returns the live sessions of the tenant (userID 0) or of one user.
	List(ctx context.Context, tenantID string, userID int64) ([]SessionInfo, error)
	// Get returns one live session by its public handle.
	Get(ctx context.Context, tenantID, handle string) (SessionInfo, error)
	// Revoke ends one session by its public handle (ErrNoSession if none).
	Revoke(ctx context.Context, tenantID, handle string) error
	// RevokeUser ends every session of a user but the one whose handle is
	// except ("" for none) and says how many ended.
	RevokeUser(ctx context.Context, tenantID string, userID int64, except string) (int, error)
	// RevokeTenant ends every session of a tenant (secret rotation, restore).
	RevokeTenant(ctx context.Context, tenantID string) (int, error)
	// UpdateUser rewrites the user snapshot of each of a user's sessions.
	UpdateUser(ctx context.Context, tenantID string, userID int64, f func(*SessionData)) error
}

// Mail is one message to a tenant user.
type Mail struct {
	To, ToName string
	FromName   string // the tenant's name
	Subject    string
	Text       string
}

// Mailer sends mail (tenant/mail implements it over SMTP).
type Mailer interface {
	Send(ctx context.Context, m Mail) error
}

// ErrNoSession is an unknown, expired or revoked session or token: 401.
var ErrNoSession = tenant.Errorf(tenant.EUnauthenticated, "not logged in, or the session has ended")

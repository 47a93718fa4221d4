package catalog

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenancy/platform/tenant"
)

// JobMigrate is the operator job kind of a fleet migration started from
// the operator console (migration 000007 added it to operator_jobs).
const JobMigrate = "migrate"

// OperatorSession is one operator console session. IDHash is the SHA-256
// of the cookie's session id: the id itself is never stored.
type OperatorSession struct {
	IDHash     []byte
	TokenFP    string // fingerprint of the operator token it was opened with
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time // absolute expiry
	IP         string
	UserAgent  string
}

// CreateOperatorSession records a new session.
func (db *DB) CreateOperatorSession(ctx context.Context, s OperatorSession) error {
	if len(s.IDHash) != 32 {
		return tenant.Errorf(tenant.EInvalid, "an operator session id hash is 32 bytes")
	}
	_, err := db.pool.Exec(ctx, `
		INSERT INTO operator_sessions (id_hash, token_fp, created_at, last_seen_at, expires_at, ip, user_agent)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		s.IDHash, s.TokenFP, s.CreatedAt, s.LastSeenAt, s.ExpiresAt, s.IP, s.UserAgent)
	return db.translate(err, "record operator session", "")
}

// OperatorSession reads the session of idHash: ENotFound when there is
// none (never opened, logged out, or swept).
func (db *DB) OperatorSession(ctx context.Context, idHash []byte) (*OperatorSession, error) {
	var s OperatorSession
	err := db.pool.QueryRow(ctx, `
		SELECT id_hash, token_fp, created_at, last_seen_at, expires_at, ip, user_agent
		FROM operator_sessions WHERE id_hash = $1`, idHash).
		Scan(&s.IDHash, &s.TokenFP, &s.CreatedAt, &s.LastSeenAt, &s.ExpiresAt, &s.IP, &s.UserAgent)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, tenant.Errorf(tenant.ENotFound, "no such operator session")
	}
	if err != nil {
		return nil, db.translate(err, "read operator session", "")
	}
	return &s, nil
}

// TouchOperatorSession moves the session's last activity to at (never
// back: two replicas touching at once keep the later time).
func (db *DB) TouchOperatorSession(ctx context.Context, idHash []byte, at time.Time) error {
	_, err := db.pool.Exec(ctx, `UPDATE operator_sessions SET last_seen_at = greatest(last_seen_at, $2) WHERE id_hash = $1`, idHash, at)
	return db.translate(err, "touch operator session", "")
}

// DeleteOperatorSession ends a session; ending one that is gone is no error.
func (db *DB) DeleteOperatorSession(ctx context.Context, idHash []byte) error {
	_, err := db.pool.Exec(ctx, `DELETE FROM operator_sessions WHERE id_hash = $1`, idHash)
	return db.translate(err, "delete operator session", "")
}

// DeleteExpiredOperatorSessions deletes the sessions past their absolute
// expiry at now, idle for longer than idle, or opened with a token whose
// fingerprint is not tokenFP (the token was rotated); it returns how many.
func (db *DB) DeleteExpiredOperatorSessions(ctx context.Context, now time.Time, idle time.Duration, tokenFP string) (int64, error) {
	tag, err := db.pool.Exec(ctx, `DELETE FROM operator_sessions
		WHERE expires_at <= $1 OR last_seen_at <= $2 OR token_fp <> $3`, now, now.Add(-idle), tokenFP)
	if err != nil {
		return 0, db.translate(err, "delete expired operator sessions", "")
	}
	return tag.RowsAffected(), nil
}

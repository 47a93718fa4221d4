package pool

import (
	"context"
	"errors"
	"sync"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// A rotated db_password reaches the pools without closing them (closing
// would fail the requests holding their connections): connections open
// stay logged in, and a new one refused with invalid_password drops the
// tenant's cached secrets and is tried once more with a fresh password.
// While a rotation is half-way, Vault holds the new password and the
// previous one (Target.PreviousPassword) and one of the two works, so no
// request fails.

// usedKey carries, through pgxpool's Acquire into beforeConnect, where to
// note the password a new connection logged in with (pgxpool passes the
// caller's context values to the connection it makes).
type usedKey struct{}

type usedPassword struct {
	mu sync.Mutex
	pw string
	ok bool
}

func (u *usedPassword) set(pw string) { u.mu.Lock(); u.pw, u.ok = pw, true; u.mu.Unlock() }

func (u *usedPassword) get() (string, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.pw, u.ok
}

// beforeConnect gives a new connection the entry's current password.
func (e *entry) beforeConnect(ctx context.Context, cc *pgx.ConnConfig) error {
	pw := *e.password.Load()
	cc.Password = pw
	if u, ok := ctx.Value(usedKey{}).(*usedPassword); ok {
		u.set(pw)
	}
	return nil
}

// acquireConn is pgxpool's Acquire, tried once more after a new
// connection's password was refused.
func (m *Manager) acquireConn(ctx context.Context, e *entry) (*pgxpool.Conn, error) {
	used := &usedPassword{}
	c, err := e.pool.Acquire(context.WithValue(ctx, usedKey{}, used))
	if err == nil || !isInvalidPassword(err) {
		return c, err
	}
	failed, ok := used.get()
	if !ok {
		return nil, err
	}
	next, ok := m.freshPassword(ctx, e, failed)
	if !ok {
		return nil, err
	}
	e.password.Store(&next)
	return e.pool.Acquire(ctx)
}

// freshPassword drops the tenant's cached secrets and returns the first
// password Vault now gives that is not the one refused.
func (m *Manager) freshPassword(ctx context.Context, e *entry, failed string) (string, bool) {
	if m.cfg.OnAuthFailure != nil {
		m.cfg.OnAuthFailure(e.tenant)
	}
	target, err := m.resolve(ctx, e.tenant)
	if err != nil {
		return "", false
	}
	for _, pw := range []string{target.Password, target.PreviousPassword} {
		if pw != "" && pw != failed {
			return pw, true
		}
	}
	return "", false
}

func isInvalidPassword(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == pgerrcode.InvalidPassword
}

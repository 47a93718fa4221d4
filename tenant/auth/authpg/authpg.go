// Package authpg is the SQL of tenant identity: users, their roles and
// permissions, lockout counters and password reset tokens, in the tenant's
// own database as the request path's role. PostgreSQL errors are
// translated here into *tenant.Error codes; everything else is wrapped.
package authpg

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tenancy/platform/tenant"
)

// DBTX is a tenant connection, pool or transaction.
type DBTX interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// ErrNoUser is an unknown user id or username.
var ErrNoUser = tenant.Errorf(tenant.ENotFound, "user not found")

// ErrNotLoggable is a user that became locked or inactive between the
// password check and the login's update (a concurrent failure locked it).
var ErrNotLoggable = errors.New("authpg: user is locked or inactive")

// PermUsersManage is the permission that makes a user an admin.
const PermUsersManage = "users.manage"

// Account is a user row with its password hash, roles and permissions.
type Account struct {
	ID                 int64
	Username           string
	Email              string // "" when none
	FullName           string
	Active             bool
	Locked             bool
	MustChangePassword bool
	FailedAttempts     int
	LockedAt           *time.Time
	LastLoginAt        *time.Time
	PasswordChangedAt  *time.Time
	CreatedAt          time.Time
	UpdatedAt          time.Time
	PasswordHash       string
	Language           string   // "es", "en"; "" follows the browser
	Roles              []string // sorted
	Permissions        []string // sorted, distinct
}

// accountCols reads an Account from users u.
const accountCols = `u.id, u.username, coalesce(u.email, ''), u.full_name, u.active, u.locked,
	u.must_change_password, u.failed_attempts, u.locked_at, u.last_login_at, u.password_changed_at,
	u.created_at, u.updated_at, u.password_hash, coalesce(u.language, ''),
	coalesce((SELECT array_agg(r.name ORDER BY r.name) FROM user_roles ur JOIN roles r ON r.id = ur.role_id
		WHERE ur.user_id = u.id), '{}'),
	coalesce((SELECT array_agg(DISTINCT p.code ORDER BY p.code) FROM user_roles ur
		JOIN role_permissions rp ON rp.role_id = ur.role_id JOIN permissions p ON p.id = rp.permission_id
		WHERE ur.user_id = u.id), '{}')`

func scanAccount(row pgx.Row) (Account, error) {
	var a Account
	err := row.Scan(&a.ID, &a.Username, &a.Email, &a.FullName, &a.Active, &a.Locked,
		&a.MustChangePassword, &a.FailedAttempts, &a.LockedAt, &a.LastLoginAt, &a.PasswordChangedAt,
		&a.CreatedAt, &a.UpdatedAt, &a.PasswordHash, &a.Language, &a.Roles, &a.Permissions)
	if errors.Is(err, pgx.ErrNoRows) {
		return Account{}, ErrNoUser
	}
	return a, err
}

// ByUsername finds a user by username, case-insensitively (the
// lower(username) unique index).
func ByUsername(ctx context.Context, db DBTX, username string) (Account, error) {
	a, err := scanAccount(db.QueryRow(ctx, `SELECT `+accountCols+` FROM users u WHERE lower(u.username) = lower($1)`, username))
	if err != nil && err != ErrNoUser {
		return a, fmt.Errorf("read user by name: %w", err)
	}
	return a, err
}

// ByID finds a user by id; forUpdate locks its row (inside a transaction).
func ByID(ctx context.Context, db DBTX, id int64, forUpdate bool) (Account, error) {
	q := `SELECT ` + accountCols + ` FROM users u WHERE u.id = $1`
	if forUpdate {
		q += ` FOR UPDATE OF u`
	}
	a, err := scanAccount(db.QueryRow(ctx, q, id))
	if err != nil && err != ErrNoUser {
		return a, fmt.Errorf("read user %d: %w", id, err)
	}
	return a, err
}

// RecordFailure counts one failed password for the user, atomically under
// concurrent attempts, and locks the account when the count reaches max.
// justLocked is true for the one failure that reached max: the count is
// incremented under the row lock, so exactly one caller sees n == max.
func RecordFailure(ctx context.Context, db DBTX, id int64, max int) (n int, locked, justLocked bool, err error) {
	err = db.QueryRow(ctx, `
		UPDATE users SET failed_attempts = failed_attempts + 1,
			locked = locked OR failed_attempts + 1 >= $2,
			locked_at = CASE WHEN NOT locked AND failed_attempts + 1 >= $2 THEN now() ELSE locked_at END
		WHERE id = $1
		RETURNING failed_attempts, locked`, id, max).Scan(&n, &locked)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, false, ErrNoUser
	}
	if err != nil {
		return 0, false, false, fmt.Errorf("count failed login: %w", err)
	}
	return n, locked, locked && n == max, nil
}

// RecordLogin resets the failure counter and records the login time of a
// user who is still active and unlocked (ErrNotLoggable otherwise); a
// non-empty newHash (a rehash at the current cost) replaces oldHash, the
// hash the password was checked against, unless the password changed
// meanwhile.
func RecordLogin(ctx context.Context, db DBTX, id int64, now time.Time, oldHash, newHash string) (Account, error) {
	a, err := scanAccount(db.QueryRow(ctx, `
		WITH upd AS (
			UPDATE users SET failed_attempts = 0, last_login_at = $2,
				password_hash = CASE WHEN $3 <> '' AND password_hash = $4 THEN $3 ELSE password_hash END
			WHERE id = $1 AND active AND NOT locked
			RETURNING id, password_hash)
		SELECT `+strings.Replace(accountCols, "u.password_hash", "upd.password_hash", 1)+`
		FROM users u JOIN upd ON upd.id = u.id`, id, now, newHash, oldHash))
	if err == ErrNoUser {
		return a, ErrNotLoggable
	}
	if err != nil {
		return a, fmt.Errorf("record login: %w", err)
	}
	// The outer SELECT sees the row as it was before the UPDATE.
	a.FailedAttempts, a.LastLoginAt = 0, &now
	return a, nil
}

// SetPassword replaces a user's password hash, sets must_change_password
// and password_changed_at, and clears the failure counter. It does not
// unlock: only an admin unlocks.
func SetPassword(ctx context.Context, db DBTX, id int64, hash string, mustChange bool, now time.Time) error {
	tag, err := db.Exec(ctx, `
		UPDATE users SET password_hash = $2, must_change_password = $3, password_changed_at = $4, failed_attempts = 0
		WHERE id = $1`, id, hash, mustChange, now)
	if err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNoUser
	}
	return nil
}

// Unlock clears a user's lock and failure counter.
func Unlock(ctx context.Context, db DBTX, id int64) (Account, error) {
	tag, err := db.Exec(ctx, `UPDATE users SET locked = false, locked_at = NULL, failed_attempts = 0 WHERE id = $1`, id)
	if err != nil {
		return Account{}, fmt.Errorf("unlock user: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return Account{}, ErrNoUser
	}
	return ByID(ctx, db, id, false)
}

// Filter selects users for List. AfterID is the keyset cursor (ids
// ascending); Limit rows at most.
type Filter struct {
	Q       string
	Role    string
	Active  *bool
	Locked  *bool
	AfterID int64
	Limit   int
}

// likeEscape makes s a literal for LIKE (escape character \).
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// List returns users matching f in id order.
func List(ctx context.Context, db DBTX, f Filter) ([]Account, error) {
	var q *string
	if f.Q != "" {
		s := "%" + likeEscape(f.Q) + "%"
		q = &s
	}
	var role *string
	if f.Role != "" {
		role = &f.Role
	}
	rows, err := db.Query(ctx, `
		SELECT `+accountCols+` FROM users u
		WHERE u.id > $1
		  AND ($2::text IS NULL OR u.username ILIKE $2 OR u.full_name ILIKE $2 OR u.email ILIKE $2)
		  AND ($3::text IS NULL OR EXISTS (SELECT 1 FROM user_roles ur JOIN roles r ON r.id = ur.role_id
		                                   WHERE ur.user_id = u.id AND r.name = $3))
		  AND ($4::boolean IS NULL OR u.active = $4)
		  AND ($5::boolean IS NULL OR u.locked = $5)
		ORDER BY u.id
		LIMIT $6`, f.AfterID, q, role, f.Active, f.Locked, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	var out []Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, fmt.Errorf("list users: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return out, nil
}

// UnknownRoles returns the names among roles that the tenant does not have.
func UnknownRoles(ctx context.Context, db DBTX, roles []string) ([]string, error) {
	var unknown []string
	err := db.QueryRow(ctx, `
		SELECT coalesce(array_agg(n ORDER BY n), '{}') FROM unnest($1::text[]) AS n
		WHERE NOT EXISTS (SELECT 1 FROM roles WHERE name = n)`, roles).Scan(&unknown)
	if err != nil {
		return nil, fmt.Errorf("check roles: %w", err)
	}
	return unknown, nil
}

// PermissionsOf returns the distinct, sorted permissions the roles grant.
func PermissionsOf(ctx context.Context, db DBTX, roles []string) ([]string, error) {
	var perms []string
	err := db.QueryRow(ctx, `
		SELECT coalesce(array_agg(DISTINCT p.code ORDER BY p.code), '{}')
		FROM roles r JOIN role_permissions rp ON rp.role_id = r.id JOIN permissions p ON p.id = rp.permission_id
		WHERE r.name = ANY($1)`, roles).Scan(&perms)
	if err != nil {
		return nil, fmt.Errorf("read permissions: %w", err)
	}
	return perms, nil
}

// NewAccount is a user to create.
type NewAccount struct {
	Username, Email, FullName, PasswordHash string
	MustChangePassword                      bool
	Roles                                   []string // known role names (UnknownRoles first)
}

// conflict translates a unique violation on users into an EConflict.
func conflict(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == pgerrcode.UniqueViolation {
		switch pe.ConstraintName {
		case "users_email_lower_key":
			return tenant.Errorf(tenant.EConflict, "another user has this email address")
		default:
			return tenant.Errorf(tenant.EConflict, "a user with this username exists already")
		}
	}
	return nil
}

// Create inserts a user with its roles and returns its id.
func Create(ctx context.Context, db DBTX, n NewAccount) (int64, error) {
	var id int64
	err := db.QueryRow(ctx, `
		INSERT INTO users (username, email, full_name, password_hash, must_change_password, password_changed_at)
		VALUES ($1, nullif($2, ''), $3, $4, $5, now()) RETURNING id`,
		n.Username, n.Email, n.FullName, n.PasswordHash, n.MustChangePassword).Scan(&id)
	if c := conflict(err); c != nil {
		return 0, c
	}
	if err != nil {
		return 0, fmt.Errorf("create user: %w", err)
	}
	if err := SetRoles(ctx, db, id, n.Roles); err != nil {
		return 0, err
	}
	return id, nil
}

// SetRoles makes roles (known names) exactly the user's roles.
func SetRoles(ctx context.Context, db DBTX, id int64, roles []string) error {
	if roles == nil {
		roles = []string{}
	}
	_, err := db.Exec(ctx, `
		DELETE FROM user_roles ur USING roles r
		WHERE ur.user_id = $1 AND r.id = ur.role_id AND NOT r.name = ANY($2)`, id, roles)
	if err != nil {
		return fmt.Errorf("set roles: %w", err)
	}
	_, err = db.Exec(ctx, `
		INSERT INTO user_roles (user_id, role_id) SELECT $1, id FROM roles WHERE name = ANY($2)
		ON CONFLICT DO NOTHING`, id, roles)
	if err != nil {
		return fmt.Errorf("set roles: %w", err)
	}
	return nil
}

// Changes are the columns Update writes; nil leaves one as it is. Email
// "" clears the address.
type Changes struct {
	Email, FullName    *string
	Active             *bool
	MustChangePassword *bool
}

// Update writes c to the user's row.
func Update(ctx context.Context, db DBTX, id int64, c Changes) error {
	tag, err := db.Exec(ctx, `
		UPDATE users SET
			email = CASE WHEN $2::text IS NULL THEN email ELSE nullif($2, '') END,
			full_name = coalesce($3, full_name),
			active = coalesce($4, active),
			must_change_password = coalesce($5, must_change_password),
			updated_at = now()
		WHERE id = $1`, id, c.Email, c.FullName, c.Active, c.MustChangePassword)
	if cf := conflict(err); cf != nil {
		return cf
	}
	if err != nil {
		return fmt.Errorf("update user: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNoUser
	}
	return nil
}

// SetLanguage stores the user's screen language ("" clears it: the
// browser's then).
func SetLanguage(ctx context.Context, db DBTX, id int64, lang string) error {
	tag, err := db.Exec(ctx, `UPDATE users SET language = nullif($2, ''), updated_at = now() WHERE id = $1`, id, lang)
	if err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == pgerrcode.CheckViolation {
			return tenant.Invalid(map[string]string{"language": "must be es or en"})
		}
		return fmt.Errorf("set user language: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNoUser
	}
	return nil
}

// Delete removes a user (its roles and reset tokens cascade; its audit
// rows keep the username, their user_id becomes NULL).
func Delete(ctx context.Context, db DBTX, id int64) error {
	tag, err := db.Exec(ctx, `DELETE FROM users WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("delete user: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNoUser
	}
	return nil
}

// adminIDs selects the ids of admins: active users holding a role with
// users.manage.
const adminIDs = `SELECT ur.user_id FROM user_roles ur
	JOIN role_permissions rp ON rp.role_id = ur.role_id
	JOIN permissions p ON p.id = rp.permission_id AND p.code = '` + PermUsersManage + `'`

// LockAdmins locks, inside a transaction, the rows of the user id and of
// every admin, in id order (no deadlock between two callers). Callers that
// may remove an admin (deletion, deactivation, demotion) take it first, so
// they run one after another; OtherAdmins, a later statement, then sees
// what the previous one committed.
func LockAdmins(ctx context.Context, tx pgx.Tx, id int64) error {
	rows, err := tx.Query(ctx, `
		SELECT u.id FROM users u
		WHERE u.id = $1 OR (u.active AND u.id IN (`+adminIDs+`))
		ORDER BY u.id FOR UPDATE OF u`, id)
	if err != nil {
		return fmt.Errorf("lock admins: %w", err)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("lock admins: %w", err)
	}
	return nil
}

// OtherAdmins counts the admins other than the user id.
func OtherAdmins(ctx context.Context, db DBTX, id int64) (int, error) {
	var n int
	err := db.QueryRow(ctx, `SELECT count(*) FROM users u WHERE u.id <> $1 AND u.active AND u.id IN (`+adminIDs+`)`, id).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count admins: %w", err)
	}
	return n, nil
}

// InsertResetToken stores the SHA-256 of a new reset token for the user,
// valid from now until expires, and voids the user's older unused tokens.
func InsertResetToken(ctx context.Context, db DBTX, userID int64, hash []byte, now, expires time.Time) error {
	if _, err := db.Exec(ctx, `DELETE FROM password_reset_tokens WHERE user_id = $1 AND used_at IS NULL`, userID); err != nil {
		return fmt.Errorf("void reset tokens: %w", err)
	}
	_, err := db.Exec(ctx, `
		INSERT INTO password_reset_tokens (user_id, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4)`,
		userID, hash, now, expires)
	if err != nil {
		return fmt.Errorf("store reset token: %w", err)
	}
	return nil
}

// ErrBadToken is an unknown, used or expired reset token.
var ErrBadToken = tenant.Invalid(map[string]string{"token": "is invalid or has expired"})

// ConsumeResetToken marks the token with this hash used, atomically (two
// concurrent confirmations: one wins), if it is unused and not expired at
// now, and returns its user (ErrBadToken otherwise).
func ConsumeResetToken(ctx context.Context, db DBTX, hash []byte, now time.Time) (int64, error) {
	var id int64
	err := db.QueryRow(ctx, `
		UPDATE password_reset_tokens SET used_at = $2
		WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2
		RETURNING user_id`, hash, now).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, ErrBadToken
	}
	if err != nil {
		return 0, fmt.Errorf("use reset token: %w", err)
	}
	return id, nil
}

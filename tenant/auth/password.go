// Package auth is tenant users' identity: passwords, lockout, reset
// tokens and sessions. This file holds password hashing and the first
// administrator a new tenant gets.
package auth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/trustelem/zxcvbn"
	"golang.org/x/crypto/bcrypt"

	"github.com/tenancy/platform/tenant"
)

// DefaultCost is the bcrypt work factor for tenant passwords.
const DefaultCost = 12

// HashPassword returns the bcrypt hash of password.
func HashPassword(password string, cost int) (string, error) {
	if cost == 0 {
		cost = DefaultCost
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), cost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

// CheckPassword reports whether password matches hash.
func CheckPassword(hash, password string) bool {
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
}

// OneTimePassword returns a random password of 128 bits for a user who
// must change it at first login. URL-safe, no padding: easy to copy.
func OneTimePassword() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// AdminUsername is the first administrator of every tenant.
const AdminUsername = "admin"

// AdminRole is the top role of a tenant kind (every permission): the
// role of the first administrator (migrations 000004).
func AdminRole(k tenant.Kind) string {
	if k == tenant.Restaurant {
		return "owner"
	}
	return "admin"
}

// EnsureAdmin creates the tenant's first administrator with passwordHash,
// or, if it exists, resets its password, unlocks it and makes it change
// the password at next login. It holds role (AdminRole of the tenant's
// kind) either way.
func EnsureAdmin(ctx context.Context, conn *pgx.Conn, username, fullName, passwordHash, role string) error {
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		var id int64
		err := tx.QueryRow(ctx, `
			INSERT INTO users (username, full_name, password_hash, must_change_password)
			VALUES ($1, $2, $3, true)
			ON CONFLICT (lower(username)) DO UPDATE
			SET password_hash = excluded.password_hash, must_change_password = true,
				failed_attempts = 0, locked = false, locked_at = NULL, active = true, updated_at = now()
			RETURNING id`, username, fullName, passwordHash).Scan(&id)
		if err != nil {
			return fmt.Errorf("create admin user: %w", err)
		}
		_, err = tx.Exec(ctx, `
			INSERT INTO user_roles (user_id, role_id)
			SELECT $1, id FROM roles WHERE name = $2
			ON CONFLICT DO NOTHING`, id, role)
		if err != nil {
			return fmt.Errorf("grant admin role: %w", err)
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM user_roles ur JOIN roles r ON r.id = ur.role_id WHERE ur.user_id = $1 AND r.name = $2`, id, role).Scan(&n); err != nil {
			return err
		}
		if n != 1 {
			return fmt.Errorf("create admin user: the %s role is missing from the schema", role)
		}
		return nil
	})
}

// Password rules (issue 11): bcrypt reads at most 72 bytes, so a longer
// password is refused rather than silently truncated.
const (
	MinPasswordChars = 12
	MaxPasswordBytes = 72
	// minScore is zxcvbn's "safely unguessable" (10^8 guesses and more).
	minScore = 3
)

// CheckPasswordPolicy checks a new password: 12 characters at least, 72
// bytes at most, and not weak or common by zxcvbn's estimate, which also
// counts the user's own names (inputs: username, full name, email) as
// guessable. It returns a validation error on field.
func CheckPasswordPolicy(field, password string, inputs ...string) error {
	msg := ""
	switch {
	case !utf8.ValidString(password):
		msg = "is not valid UTF-8"
	case utf8.RuneCountInString(password) < MinPasswordChars:
		msg = fmt.Sprintf("is too short: use at least %d characters", MinPasswordChars)
	case len(password) > MaxPasswordBytes:
		msg = fmt.Sprintf("is too long: at most %d bytes (accented letters and symbols count as 2 to 4)", MaxPasswordBytes)
	default:
		var words []string
		for _, in := range inputs {
			if in = strings.TrimSpace(in); in != "" {
				words = append(words, in)
				if local, _, ok := strings.Cut(in, "@"); ok && local != "" {
					words = append(words, local)
				}
				words = append(words, strings.Fields(in)...)
			}
		}
		if zxcvbn.PasswordStrength(password, words).Score < minScore {
			msg = "is too easy to guess (a common password, a name, a date, a keyboard pattern or a repetition): " +
				"try a few unrelated words, or a password manager's suggestion"
		}
	}
	if msg == "" {
		return nil
	}
	return tenant.Invalid(map[string]string{field: msg})
}

// verifyPassword compares password with a bcrypt hash of any of the
// prefixes the replaced systems wrote: $2y$ (PHP) is the same algorithm as
// $2a$ under another name, so it is compared as $2a$.
func verifyPassword(hash, password string) bool {
	return bcrypt.CompareHashAndPassword([]byte(asX(hash)), []byte(password)) == nil
}

// asX is a hash as x/crypto/bcrypt reads it ($2y$ as $2a$).
func asX(hash string) string {
	if strings.HasPrefix(hash, "$2y$") {
		return "$2a$" + hash[4:]
	}
	return hash
}

// LooksBcrypt reports whether s starts as a bcrypt hash of a prefix
// logins verify ($2a$, $2b$, $2y$): what an import keeps rather than
// hashes as plaintext.
func LooksBcrypt(s string) bool {
	return strings.HasPrefix(s, "$2a$") || strings.HasPrefix(s, "$2b$") || strings.HasPrefix(s, "$2y$")
}

// ValidBcrypt reports whether s is a whole bcrypt hash logins verify
// (LooksBcrypt, its length and cost).
func ValidBcrypt(s string) bool {
	if len(s) != 60 || !LooksBcrypt(s) {
		return false
	}
	_, err := bcrypt.Cost([]byte(asX(s)))
	return err == nil
}

// needsRehash reports whether a hash that verified should be replaced: a
// prefix other than the one x/crypto writes, or another cost.
func needsRehash(hash string, cost int) bool {
	if !strings.HasPrefix(hash, "$2a$") {
		return true
	}
	c, err := bcrypt.Cost([]byte(hash))
	return err != nil || c != cost
}

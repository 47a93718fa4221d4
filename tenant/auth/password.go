// Package auth is tenant users' identity: passwords, lockout, reset
// tokens and sessions. This file holds password hashing and the first
// administrator a new tenant gets.
package auth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"

	"github.com/jackc/pgx/v5"
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

package pgadmin

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"os"
	"strconv"
	"strings"
	"testing"
)

// platformtest imports this package, so the test reads its environment
// itself.
func adminURL(t *testing.T) string {
	u := os.Getenv("PLATFORM_DB_ADMIN_URL")
	if u == "" {
		t.Fatal("PLATFORM_DB_ADMIN_URL is not set: run `make test`")
	}
	return u
}

func randHex() string {
	b := make([]byte, 4)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// TestSCRAMVerifierMatchesPostgres lets PostgreSQL hash a password, then
// recomputes the verifier with PostgreSQL's salt: they must be equal.
func TestSCRAMVerifierMatchesPostgres(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, adminURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	role := "pgadmin_scram_" + randHex()
	password := "pencil's-" + randHex()
	if _, err := s.pool.Exec(ctx, "SET password_encryption = 'scram-sha-256'; CREATE ROLE "+ident(role)+" PASSWORD "+literal(password)); err != nil {
		t.Fatal(err)
	}
	defer s.DropRole(ctx, role)
	var stored string
	if err := s.pool.QueryRow(ctx, `SELECT rolpassword FROM pg_authid WHERE rolname = $1`, role).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	// SCRAM-SHA-256$<iter>:<salt>$<stored>:<server>
	head, _, _ := strings.Cut(strings.TrimPrefix(stored, "SCRAM-SHA-256$"), "$")
	iterS, saltB64, _ := strings.Cut(head, ":")
	iter, _ := strconv.Atoi(iterS)
	salt, err := base64.StdEncoding.DecodeString(saltB64)
	if err != nil {
		t.Fatalf("parse %q: %v", stored, err)
	}
	got, err := scramVerifierWithSalt(password, salt, iter)
	if err != nil {
		t.Fatal(err)
	}
	if got != stored {
		t.Errorf("verifier = %s\nPostgreSQL = %s", got, stored)
	}

	// A role created through EnsureLoginRole stores a verifier of its
	// password, never the password, and a second call resets it.
	login := role + "_login"
	if err := s.EnsureLoginRole(ctx, login, password, 5); err != nil {
		t.Fatal(err)
	}
	defer s.DropRole(ctx, login)
	first := storedVerifier(t, s, login)
	if !verifies(t, first, password) {
		t.Fatalf("first verifier %q does not verify the password", first)
	}
	if err := s.EnsureLoginRole(ctx, login, password+"2", 7); err != nil {
		t.Fatal(err)
	}
	var pw string
	var limit int
	if err := s.pool.QueryRow(ctx, `SELECT rolpassword, rolconnlimit FROM pg_authid WHERE rolname = $1`, login).Scan(&pw, &limit); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(pw, "SCRAM-SHA-256$4096:") || strings.Contains(pw, password) || limit != 7 {
		t.Errorf("stored %q, limit %d", pw, limit)
	}
	if pw == first || !verifies(t, pw, password+"2") || verifies(t, pw, password) {
		t.Errorf("the second call did not reset the verifier to the new password (changed=%v)", pw != first)
	}

	// A rename keeps the SCRAM verifier (an MD5 one would be cleared).
	renamed := role + "__renamed"
	if err := s.RenameRole(ctx, login, renamed); err != nil {
		t.Fatal(err)
	}
	defer s.DropRole(ctx, renamed)
	if got := storedVerifier(t, s, renamed); got != pw {
		t.Errorf("after rename: verifier %q, want %q", got, pw)
	}
	if err := s.EnsureRole(ctx, login); err != nil {
		t.Fatal(err)
	}
	if err := s.RenameRole(ctx, renamed, login); err != ErrRoleExists {
		t.Errorf("rename onto a taken name: %v, want ErrRoleExists", err)
	}
}

func storedVerifier(t *testing.T, s *Server, role string) string {
	t.Helper()
	var v string
	if err := s.pool.QueryRow(context.Background(), `SELECT coalesce(rolpassword, '') FROM pg_authid WHERE rolname = $1`, role).Scan(&v); err != nil {
		t.Fatalf("read verifier of %s: %v", role, err)
	}
	return v
}

// verifies recomputes a SCRAM verifier for password with the stored salt
// and iteration count, as PostgreSQL does at login.
func verifies(t *testing.T, stored, password string) bool {
	t.Helper()
	head, _, _ := strings.Cut(strings.TrimPrefix(stored, "SCRAM-SHA-256$"), "$")
	iterS, saltB64, _ := strings.Cut(head, ":")
	iter, err := strconv.Atoi(iterS)
	if err != nil {
		t.Fatalf("parse %q: %v", stored, err)
	}
	salt, err := base64.StdEncoding.DecodeString(saltB64)
	if err != nil {
		t.Fatalf("parse %q: %v", stored, err)
	}
	got, err := scramVerifierWithSalt(password, salt, iter)
	if err != nil {
		t.Fatal(err)
	}
	return got == stored
}

package pgadmin

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

// SetPassword stores a SCRAM verifier of the new password (never the
// password itself) and refuses a missing role with ErrNoRole.
func TestSetPassword(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, adminURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	role := "pgadmin_setpw_" + randHex()
	if err := s.EnsureLoginRole(ctx, role, "first-"+randHex(), 1); err != nil {
		t.Fatal(err)
	}
	defer s.DropRole(ctx, role)
	password := "it's-new-" + randHex()
	if err := s.SetPassword(ctx, role, password); err != nil {
		t.Fatal(err)
	}
	var stored string
	if err := s.pool.QueryRow(ctx, `SELECT rolpassword FROM pg_authid WHERE rolname = $1`, role).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(stored, "SCRAM-SHA-256$4096:") || strings.Contains(stored, password) {
		t.Fatalf("stored %q", stored)
	}
	// The stored verifier is the one of this password (its salt reused).
	head, _, _ := strings.Cut(strings.TrimPrefix(stored, "SCRAM-SHA-256$4096:"), "$")
	if v, err := scramVerifierWithSalt(password, mustB64(t, head), 4096); err != nil || v != stored {
		t.Errorf("verifier of the new password %q, stored %q (%v)", v, stored, err)
	}
	if err := s.SetPassword(ctx, "pgadmin_missing_"+randHex(), "x"); !errors.Is(err, ErrNoRole) {
		t.Errorf("missing role: %v, want ErrNoRole", err)
	}
}

func mustB64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

package secrets_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/platform/secrets"
)

// TestACMESeal: an ACME cache entry sealed for one key opens under that
// key only, and its plaintext is nowhere in the sealed value.
func TestACMESeal(t *testing.T) {
	t.Parallel()
	ctx := platformtest.Context(t)
	vs := platformtest.Vault(t)
	if err := vs.EnsureACMEKey(ctx); err != nil {
		t.Fatal(err)
	}
	data := []byte("-----BEGIN EC PRIVATE KEY-----\n" + platformtest.Rand(40) + "\n-----END EC PRIVATE KEY-----\n")
	host := platformtest.Rand(8) + ".example.org"
	sealed, err := vs.SealACME(ctx, host, data)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(sealed, "vault:v") || strings.Contains(sealed, "PRIVATE") {
		t.Fatalf("sealed = %q", sealed)
	}
	got, err := vs.OpenACME(ctx, host, sealed)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("open: %q %v", got, err)
	}
	if _, err := vs.OpenACME(ctx, "other."+host, sealed); !errors.Is(err, secrets.ErrACMEOpen) {
		t.Fatalf("open under another key: %v", err)
	}
}

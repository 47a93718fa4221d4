package secrets_test

import (
	"strings"
	"testing"
	"time"

	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/platform/secrets"
	"github.com/tenancy/platform/tenant"
)

// Stray VAULT_* variables in the process environment must not change
// where the client goes, with what token, namespace or headers.
func TestNewClientIgnoresStrayEnvironment(t *testing.T) {
	addr := platformtest.Getenv(t, "VAULT_ADDR")
	token := platformtest.Getenv(t, "VAULT_TOKEN")
	for k, v := range map[string]string{
		"VAULT_ADDR":           "http://127.0.0.1:1",
		"VAULT_AGENT_ADDR":     "http://127.0.0.1:1",
		"VAULT_TOKEN":          "stray-token",
		"VAULT_NAMESPACE":      "stray-namespace",
		"VAULT_HEADERS":        `{"X-Stray":"1"}`,
		"VAULT_MAX_RETRIES":    "9",
		"VAULT_CLIENT_TIMEOUT": "1ms",
	} {
		t.Setenv(k, v)
	}
	c, err := secrets.NewClient(addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Token(); got != "" {
		t.Errorf("token from the environment was taken (%d characters)", len(got))
	}
	if ns := c.Namespace(); ns != "" {
		t.Errorf("namespace from the environment: %q", ns)
	}
	if h := c.Headers().Get("X-Stray"); h != "" {
		t.Errorf("header from the environment: %q", h)
	}
	if c.Address() != addr {
		t.Errorf("address %q, want %q", c.Address(), addr)
	}
	c.SetToken(token)
	store := secrets.NewStore(c, "")
	if err := store.Ping(platformtest.Context(t)); err != nil {
		t.Fatalf("ping with the injected address: %v", err)
	}
	// A read that goes through the mount (not only sys/health) works: no
	// namespace or 1 ms timeout crept in.
	if _, err := store.Get(platformtest.Context(t), "no-such-"+platformtest.Rand(6)); tenant.ErrorCode(err) != tenant.ENotFound {
		t.Fatalf("read of a missing tenant: %v, want not found", err)
	}
}

func TestNewClientRefusesBadAddress(t *testing.T) {
	for _, addr := range []string{"", "127.0.0.1:8200", "ftp://vault", "http://", "http://user:s3cret@127.0.0.1:8200"} {
		_, err := secrets.NewClient(addr, time.Second)
		if tenant.ErrorCode(err) != tenant.EInvalid {
			t.Errorf("NewClient(%q): %v, want invalid_input", addr, err)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("NewClient(%q) echoed the password: %v", addr, err)
		}
	}
}

package secrets_test

import (
	"context"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	vault "github.com/hashicorp/vault/api"

	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/platform/secrets"
)

// The policies of deploy/vault, with transit/ moved to a mount of the
// test's own: the set-up (mount, create keys) must not touch the shared
// transit/ mount. deploy/vault's own tests run the everyday policy on it.

type policyGrant struct{ path, capability string }

var policyPathRE = regexp.MustCompile(`(?m)^path "([^"]+)" \{\n\s*capabilities = \[([^\]]*)\]\n\}`)

// policyAt reads a policy of deploy/vault with transit/ at mount.
func policyAt(t *testing.T, file, mount string) []policyGrant {
	t.Helper()
	b, err := os.ReadFile("../../deploy/vault/" + file)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	ms := policyPathRE.FindAllStringSubmatch(text, -1)
	if n := strings.Count(text, "\npath "); len(ms) != n || n == 0 {
		t.Fatalf("%s: %d path stanzas, %d of the form the test reads", file, n, len(ms))
	}
	var gs []policyGrant
	for _, m := range ms {
		p := strings.Replace(strings.Replace(m[1], "sys/mounts/transit", "sys/mounts/"+mount, 1), "transit/", mount+"/", 1)
		for _, c := range strings.Split(m[2], ",") {
			gs = append(gs, policyGrant{p, strings.Trim(strings.TrimSpace(c), `"`)})
		}
	}
	return gs
}

func renderPolicy(gs []policyGrant) string {
	var b strings.Builder
	for _, g := range gs {
		b.WriteString("path \"" + g.path + "\" { capabilities = [\"" + g.capability + "\"] }\n")
	}
	return b.String()
}

// tokenWith returns a store whose token holds only the given grants.
func tokenWith(t *testing.T, gs []policyGrant) *secrets.Store {
	t.Helper()
	ctx := platformtest.Context(t)
	root := platformtest.VaultClient(t)
	name := "policytest-" + platformtest.Rand(10)
	if err := root.Sys().PutPolicyWithContext(ctx, name, renderPolicy(gs)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Sys().DeletePolicy(name) })
	tok, err := root.Auth().Token().CreateWithContext(ctx, &vault.TokenCreateRequest{Policies: []string{name}, NoDefaultPolicy: true, TTL: "10m"})
	if err != nil {
		t.Fatal(err)
	}
	c := platformtest.VaultClient(t)
	c.SetToken(tok.Auth.ClientToken)
	t.Cleanup(func() { c.Auth().Token().RevokeSelfWithContext(context.Background(), "") })
	return secrets.NewStore(c, "")
}

// testMount names a transit mount of the test's own, unmounted at the end.
func testMount(t *testing.T) string {
	m := "transit-pol-" + platformtest.Rand(8)
	t.Cleanup(func() {
		if err := platformtest.VaultClient(t).Sys().UnmountWithContext(context.Background(), m); err != nil {
			t.Errorf("unmount %s: %v", m, err)
		}
	})
	return m
}

// TestSetupPolicy: the everyday policy cannot set transit up (that is why
// the set-up policy exists); platform-setup.hcl can, for both keys, and
// then the everyday policy wraps and unwraps; each set-up grant is needed.
func TestSetupPolicy(t *testing.T) {
	t.Parallel()
	ctx := platformtest.Context(t)
	mount := testMount(t)
	keys := []string{secrets.BackupKey, secrets.ACMEKey}

	everyday := tokenWith(t, policyAt(t, "platform.hcl", mount))
	// The line docs/operations.md tells operators to read as "run the set-up".
	if err := everyday.EnsureTransitKeyAt(ctx, mount, secrets.BackupKey); !platformtest.VaultDenied(err) || !strings.Contains(err.Error(), "refused mount transit at "+mount+"/") {
		t.Fatalf("set-up with the everyday policy: %v, want permission denied", err)
	}
	// Nor create a missing key through encrypt's upsert (which needs
	// create on the encrypt path): transit mounted, no key yet.
	bare := testMount(t)
	if err := platformtest.VaultClient(t).Sys().MountWithContext(ctx, bare, &vault.MountInput{Type: "transit"}); err != nil {
		t.Fatal(err)
	}
	if _, err := tokenWith(t, policyAt(t, "platform.hcl", bare)).WrapKeyAt(ctx, bare, secrets.BackupKey, "tenant-1", []byte("data key")); !platformtest.VaultDenied(err) {
		t.Fatalf("encrypt with a missing key and the everyday policy: %v, want permission denied", err)
	}
	if k, err := platformtest.VaultClient(t).Logical().ReadWithContext(ctx, bare+"/keys/"+secrets.BackupKey); err != nil || k != nil {
		t.Fatalf("key after a refused encrypt: %v, %v", k, err)
	}
	setupGrants := policyAt(t, "platform-setup.hcl", mount)
	setup := tokenWith(t, setupGrants)
	for range 2 { // the second run reads only
		for _, k := range keys {
			if err := setup.EnsureTransitKeyAt(ctx, mount, k); err != nil {
				t.Fatalf("set-up of %s with platform-setup.hcl: %v", k, err)
			}
		}
	}
	for _, k := range keys {
		if err := everyday.EnsureTransitKeyAt(ctx, mount, k); err != nil {
			t.Fatalf("key check of %s with the everyday policy: %v", k, err)
		}
		w, err := everyday.WrapKeyAt(ctx, mount, k, "tenant-1", []byte("data key"))
		if err != nil {
			t.Fatal(err)
		}
		if got, err := everyday.UnwrapKeyAt(ctx, mount, k, "tenant-1", w); err != nil || string(got) != "data key" {
			t.Fatalf("unwrap with %s: %q, %v", k, got, err)
		}
		// Set-up gives no use of the keys.
		if _, err := setup.WrapKeyAt(ctx, mount, k, "tenant-1", []byte("data key")); !platformtest.VaultDenied(err) {
			t.Errorf("encrypt with the set-up policy: %v, want permission denied", err)
		}
	}

	// Each grant taken away: the set-up step that needs it is refused.
	// sys/mounts/<m> read serves the path where transit is mounted already
	// (another replica, or the admin's `vault secrets enable transit`).
	for _, g := range setupGrants {
		t.Run("without "+g.path+" "+g.capability, func(t *testing.T) {
			t.Parallel()
			ctx := platformtest.Context(t)
			m := testMount(t)
			less := slices.DeleteFunc(policyAt(t, "platform-setup.hcl", m), func(h policyGrant) bool {
				return h.capability == g.capability && strings.Replace(h.path, m, mount, 1) == g.path
			})
			if len(less) != len(setupGrants)-1 {
				t.Fatalf("grants %v without %v", less, g)
			}
			if strings.HasPrefix(g.path, "sys/mounts/") && g.capability == "read" {
				if err := platformtest.VaultClient(t).Sys().MountWithContext(ctx, m, &vault.MountInput{Type: "transit"}); err != nil {
					t.Fatal(err)
				}
			}
			key := secrets.BackupKey
			if strings.HasSuffix(g.path, "/"+secrets.ACMEKey) {
				key = secrets.ACMEKey
			}
			if err := tokenWith(t, less).EnsureTransitKeyAt(ctx, m, key); !platformtest.VaultDenied(err) {
				t.Errorf("set-up of %s without %s on %s: %v, want permission denied", key, g.capability, g.path, err)
			}
		})
	}
}

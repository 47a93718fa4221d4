package secrets_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"sync"
	"testing"

	vault "github.com/hashicorp/vault/api"

	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/platform/secrets"
	"github.com/tenancy/platform/tenant"
)

func dataKey(t *testing.T) []byte {
	t.Helper()
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

// The real key on the real mount: a wrapped key opens for its own tenant
// only; an altered one opens for nobody; two wraps of one key differ.
func TestBackupKeyWrapUnwrap(t *testing.T) {
	t.Parallel()
	ctx := platformtest.Context(t)
	vs := platformtest.Vault(t)
	for range 2 {
		if err := vs.EnsureBackupKey(ctx); err != nil {
			t.Fatal(err)
		}
	}
	sec, err := platformtest.VaultClient(t).Logical().ReadWithContext(ctx, secrets.TransitMount+"/keys/"+secrets.BackupKey)
	if err != nil || sec == nil {
		t.Fatalf("read key: %v, %v", sec, err)
	}
	if sec.Data["derived"] != true || sec.Data["type"] != "aes256-gcm96" {
		t.Errorf("key is derived=%v type=%v", sec.Data["derived"], sec.Data["type"])
	}

	a, b := platformtest.Rand(12), platformtest.Rand(12)
	key := dataKey(t)
	wrapped, err := vs.WrapKey(ctx, a, key)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(wrapped, "vault:v") || strings.Contains(wrapped, string(key)) {
		t.Errorf("wrapped = %q", wrapped)
	}
	again, err := vs.WrapKey(ctx, a, key)
	if err != nil || again == wrapped {
		t.Errorf("second wrap: %v, same ciphertext %t", err, again == wrapped)
	}
	got, err := vs.UnwrapKey(ctx, a, wrapped)
	if err != nil || !bytes.Equal(got, key) {
		t.Fatalf("unwrap for its tenant: %v (equal %t)", err, bytes.Equal(got, key))
	}
	if got, err := vs.UnwrapKey(ctx, b, wrapped); !errors.Is(err, secrets.ErrUnwrap) || got != nil {
		t.Errorf("unwrap for another tenant: %x, %v; want ErrUnwrap", got, err)
	}
	// One character of the ciphertext changed (base64 body after "vault:v1:").
	i := len(wrapped) - 5
	c := byte('A')
	if wrapped[i] == 'A' {
		c = 'B'
	}
	altered := wrapped[:i] + string(c) + wrapped[i+1:]
	if _, err := vs.UnwrapKey(ctx, a, altered); !errors.Is(err, secrets.ErrUnwrap) {
		t.Errorf("unwrap of an altered key: %v; want ErrUnwrap", err)
	}
	if _, err := vs.UnwrapKey(ctx, a, "not a ciphertext"); !errors.Is(err, secrets.ErrUnwrap) {
		t.Errorf("unwrap of garbage: %v; want ErrUnwrap", err)
	}
	if _, err := vs.WrapKey(ctx, "", key); err == nil {
		t.Error("wrap without a tenant id accepted")
	}
}

// On a mount of its own: four concurrent first runs mount the engine and
// create the key once, all succeed, and the key works; a key that is not
// derived, or another engine at the path, is refused.
func TestEnsureTransitKeyConcurrent(t *testing.T) {
	t.Parallel()
	ctx := platformtest.Context(t)
	vc := platformtest.VaultClient(t)
	vs := secrets.NewStore(vc, "")
	mount := "transit-" + platformtest.Rand(8)
	t.Cleanup(func() {
		if err := vc.Sys().UnmountWithContext(context.Background(), mount); err != nil {
			t.Errorf("unmount %s: %v", mount, err)
		}
	})
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() { errs[i] = vs.EnsureTransitKeyAt(ctx, mount, "backups") })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("run %d: %v", i, err)
		}
	}
	m, err := vc.Sys().GetMountWithContext(ctx, mount)
	if err != nil || m.Type != "transit" {
		t.Fatalf("mount: %+v, %v", m, err)
	}
	key := dataKey(t)
	w, err := vs.WrapKeyAt(ctx, mount, "backups", "t1", key)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := vs.UnwrapKeyAt(ctx, mount, "backups", "t1", w); err != nil || !bytes.Equal(got, key) {
		t.Errorf("unwrap: %v", err)
	}
	if _, err := vs.UnwrapKeyAt(ctx, mount, "backups", "t2", w); !errors.Is(err, secrets.ErrUnwrap) {
		t.Errorf("other context: %v", err)
	}

	if _, err := vs.UnwrapKeyAt(ctx, mount, "absent", "t1", w); tenant.ErrorCode(err) != tenant.EUnavailable || errors.Is(err, secrets.ErrUnwrap) {
		t.Errorf("unwrap with a missing key: %v, want unavailable", err)
	}

	// A non-derived key would ignore contexts: tenants would share it.
	if _, err := vc.Logical().WriteWithContext(ctx, mount+"/keys/flat", map[string]any{"type": "aes256-gcm96"}); err != nil {
		t.Fatal(err)
	}
	if err := vs.EnsureTransitKeyAt(ctx, mount, "flat"); tenant.ErrorCode(err) != tenant.EConflict {
		t.Errorf("non-derived key: %v, want conflict", err)
	}

	kv := "kv-" + platformtest.Rand(8)
	if err := vc.Sys().MountWithContext(ctx, kv, &vault.MountInput{Type: "kv"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := vc.Sys().UnmountWithContext(context.Background(), kv); err != nil {
			t.Errorf("unmount %s: %v", kv, err)
		}
	})
	if err := vs.EnsureTransitKeyAt(ctx, kv, "backups"); tenant.ErrorCode(err) != tenant.EConflict {
		t.Errorf("kv engine at the path: %v, want conflict", err)
	}
}

func TestTransitUnreachable(t *testing.T) {
	t.Parallel()
	ctx := platformtest.Context(t)
	c := platformtest.VaultClient(t)
	c.SetAddress("http://127.0.0.1:1")
	vs := secrets.NewStore(c, "")
	for name, err := range map[string]error{
		"ensure": vs.EnsureBackupKey(ctx),
		"wrap":   func() error { _, err := vs.WrapKey(ctx, "t1", make([]byte, 32)); return err }(),
		"unwrap": func() error { _, err := vs.UnwrapKey(ctx, "t1", "vault:v1:AAAA"); return err }(),
	} {
		if tenant.ErrorCode(err) != tenant.EUnavailable {
			t.Errorf("%s: %v, want unavailable", name, err)
		}
	}
}

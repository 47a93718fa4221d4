package resolve

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/tenant"
)

// A rotation bumps only the secrets version: OnSecretsChange fires, not
// OnChange (which would evict the tenant's pool); a real change after it
// still fires OnChange only. Both through NOTIFY and through a reload.
func TestSecretsOnlyChange(t *testing.T) {
	cat, _ := testCatalog(t)
	ctx, cancel := context.WithCancel(platformtest.Context(t))
	defer cancel()
	tn := addTenant(t, cat, "acme", tenant.StatusActive)
	var mu sync.Mutex
	var changes, secretChanges []int64 // the old secrets version of each call
	r := New(cat, Options{
		OnChange: func(old *tenant.Tenant) { mu.Lock(); changes = append(changes, old.SecretsVersion); mu.Unlock() },
		OnSecretsChange: func(old *tenant.Tenant) {
			mu.Lock()
			secretChanges = append(secretChanges, old.SecretsVersion)
			mu.Unlock()
		},
	})
	start(t, ctx, r)
	counts := func() (int, int) {
		mu.Lock()
		defer mu.Unlock()
		return len(changes), len(secretChanges)
	}
	v, err := cat.BumpSecrets(ctx, tn.ID)
	if err != nil || v != 1 {
		t.Fatalf("bump: %d %v", v, err)
	}
	platformtest.Eventually(t, 5*time.Second, "OnSecretsChange after the bump", func() bool { _, s := counts(); return s == 1 })
	if got := r.Lookup("acme.localhost"); got == nil || got.SecretsVersion != 1 {
		t.Fatalf("lookup after bump: %+v", got)
	}
	if err := cat.SetStatus(ctx, "acme", tenant.StatusSuspended, tenant.StatusActive); err != nil {
		t.Fatal(err)
	}
	platformtest.Eventually(t, 5*time.Second, "OnChange after the suspend", func() bool { c, _ := counts(); return c == 1 })
	if c, s := counts(); c != 1 || s != 1 {
		t.Errorf("after suspend: %d changes, %d secret changes; want 1 and 1", c, s)
	}

	mu.Lock()
	if len(changes) != 1 || len(secretChanges) != 1 || secretChanges[0] != 0 || changes[0] != 1 {
		t.Errorf("changes %v, secret changes %v; want [1] and [0]", changes, secretChanges)
	}
	mu.Unlock()

	// A full reload (after the listener reconnects) compares the same way:
	// a resolver that does not listen sees the bump at its next reload.
	var reloaded, reloadedChanges int
	quiet := New(cat, Options{OnChange: func(*tenant.Tenant) { reloadedChanges++ }, OnSecretsChange: func(*tenant.Tenant) { reloaded++ }})
	if err := quiet.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := cat.BumpSecrets(ctx, tn.ID); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second finds nothing new
		if err := quiet.Reload(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if reloaded != 1 || reloadedChanges != 0 {
		t.Errorf("reloads: %d secret changes, %d changes; want 1 and 0", reloaded, reloadedChanges)
	}
}

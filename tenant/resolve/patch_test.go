package resolve

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/tenant"
)

// TestOnPatchSeesSettingsChanges: a settings change, which neither
// OnChange nor OnSecretsChange is about, still calls OnPatch with the
// tenant's id (the scheduler re-reads its schedules on it).
func TestOnPatchSeesSettingsChanges(t *testing.T) {
	cat, _ := testCatalog(t)
	ctx, cancel := context.WithCancel(platformtest.Context(t))
	defer cancel()
	tn := addTenant(t, cat, "patched", tenant.StatusActive)
	var mu sync.Mutex
	var patched []string
	changes := 0
	r := New(cat, Options{
		OnChange: func(*tenant.Tenant) { mu.Lock(); changes++; mu.Unlock() },
		OnPatch:  func(id string) { mu.Lock(); patched = append(patched, id); mu.Unlock() },
	})
	start(t, ctx, r)
	if _, err := cat.UpdateSettings(ctx, "patched", func(cur map[string]any) (map[string]any, error) {
		return tenant.ApplySettings(cur, map[string]string{tenant.SettingBackupSchedule: "@every 1h"}, nil)
	}); err != nil {
		t.Fatal(err)
	}
	platformtest.Eventually(t, 5*time.Second, "OnPatch after the settings change", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(patched) > 0
	})
	mu.Lock()
	defer mu.Unlock()
	if patched[0] != tn.ID || changes != 0 {
		t.Errorf("patched %v (want [%s]), %d OnChange calls (want 0)", patched, tn.ID, changes)
	}
}

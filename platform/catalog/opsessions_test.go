package catalog_test

import (
	"crypto/sha256"
	"testing"
	"time"

	"github.com/tenancy/platform/platform/catalog"
	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/tenant"
)

// TestOperatorSessions: create, read, touch (never backwards), delete;
// the sweep removes expired, idle and other-token sessions only.
func TestOperatorSessions(t *testing.T) {
	t.Parallel()
	cat, _ := platformtest.Catalog(t)
	ctx := platformtest.Context(t)
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	hash := func(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }
	mk := func(id, fp string, created, seen time.Time) {
		t.Helper()
		if err := cat.CreateOperatorSession(ctx, catalog.OperatorSession{IDHash: hash(id), TokenFP: fp, CreatedAt: created,
			LastSeenAt: seen, ExpiresAt: created.Add(8 * time.Hour), IP: "192.0.2.1", UserAgent: "test"}); err != nil {
			t.Fatalf("create %s: %v", id, err)
		}
	}
	mk("live", "fp1", now.Add(-time.Hour), now.Add(-time.Minute))
	mk("old", "fp1", now.Add(-9*time.Hour), now.Add(-time.Minute))
	mk("idle", "fp1", now.Add(-time.Hour), now.Add(-31*time.Minute))
	mk("rotated", "fp0", now.Add(-time.Hour), now.Add(-time.Minute))

	if err := cat.CreateOperatorSession(ctx, catalog.OperatorSession{IDHash: []byte("short")}); tenant.ErrorCode(err) != tenant.EInvalid {
		t.Errorf("short hash: %v", err)
	}
	if err := cat.CreateOperatorSession(ctx, catalog.OperatorSession{IDHash: hash("live"), TokenFP: "fp1", CreatedAt: now, LastSeenAt: now, ExpiresAt: now}); tenant.ErrorCode(err) != tenant.EConflict {
		t.Errorf("same id twice: %v", err)
	}
	s, err := cat.OperatorSession(ctx, hash("live"))
	if err != nil || s.TokenFP != "fp1" || s.IP != "192.0.2.1" || s.UserAgent != "test" || !s.ExpiresAt.Equal(now.Add(7*time.Hour)) {
		t.Fatalf("read: %+v %v", s, err)
	}
	if err := cat.TouchOperatorSession(ctx, hash("live"), now); err != nil {
		t.Fatal(err)
	}
	if err := cat.TouchOperatorSession(ctx, hash("live"), now.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if s, err := cat.OperatorSession(ctx, hash("live")); err != nil || !s.LastSeenAt.Equal(now) {
		t.Errorf("after touches: %+v %v", s, err)
	}
	n, err := cat.DeleteExpiredOperatorSessions(ctx, now, 30*time.Minute, "fp1")
	if err != nil || n != 3 {
		t.Errorf("sweep: %d %v", n, err)
	}
	for _, id := range []string{"old", "idle", "rotated"} {
		if _, err := cat.OperatorSession(ctx, hash(id)); tenant.ErrorCode(err) != tenant.ENotFound {
			t.Errorf("%s after the sweep: %v", id, err)
		}
	}
	if err := cat.DeleteOperatorSession(ctx, hash("live")); err != nil {
		t.Fatal(err)
	}
	if _, err := cat.OperatorSession(ctx, hash("live")); tenant.ErrorCode(err) != tenant.ENotFound {
		t.Errorf("after logout: %v", err)
	}
	if err := cat.DeleteOperatorSession(ctx, hash("live")); err != nil {
		t.Errorf("delete twice: %v", err)
	}
	// The console's audit source and fleet migration job kind, of the same migration.
	if err := cat.RecordOperatorAction(ctx, catalog.OperatorAction{Actor: "console:test", Source: "console", Action: "console.login"}); err != nil {
		t.Errorf("console audit row: %v", err)
	}
	j, err := cat.CreateOperatorJob(ctx, catalog.NewOperatorJob{Kind: catalog.JobMigrate, Actor: "console:test", Replica: "a"})
	if err != nil || j.Kind != catalog.JobMigrate {
		t.Errorf("migrate job: %+v %v", j, err)
	}
}

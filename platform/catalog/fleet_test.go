package catalog_test

import (
	"testing"
	"time"

	"github.com/tenancy/platform/platform/catalog"
	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/tenant"
)

// TestFleetState: per tenant the newest successful backup (not a newer
// failed or running one), the newest failure, the newest passed and failed
// verifications, the recorded schema version; deleted tenants are left
// out but counted by status.
func TestFleetState(t *testing.T) {
	t.Parallel()
	cat, _ := platformtest.Catalog(t)
	ctx := platformtest.Context(t)
	a := newTenant(t, cat, platformtest.Slug("fla"))
	b := newTenant(t, cat, platformtest.Slug("flb"))
	gone := newTenant(t, cat, platformtest.Slug("flc"))
	if err := cat.SetStatus(ctx, a.Slug, tenant.StatusActive, tenant.StatusProvisioning); err != nil {
		t.Fatal(err)
	}
	if err := cat.SetStatus(ctx, gone.Slug, tenant.StatusDeleted, tenant.StatusProvisioning); err != nil {
		t.Fatal(err)
	}
	backup := func(tn *tenant.Tenant, size int64) string {
		t.Helper()
		id, started, err := cat.StartBackup(ctx, tn.ID, "manual")
		if err != nil {
			t.Fatal(err)
		}
		if err := cat.CompleteBackup(ctx, id, catalog.BackupResult{Location: "file:///x/" + id, SizeBytes: size,
			SHA256: "00", WrappedKey: "k", FinishedAt: started.Add(1500 * time.Millisecond)}); err != nil {
			t.Fatal(err)
		}
		return id
	}
	first := backup(a, 100)
	second := backup(a, 200)
	failed, _, err := cat.StartBackup(ctx, a.ID, "scheduled")
	if err != nil {
		t.Fatal(err)
	}
	if err := cat.FailBackup(ctx, failed, "pg_dump: boom"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := cat.StartBackup(ctx, a.ID, "scheduled"); err != nil { // still running
		t.Fatal(err)
	}
	if _, err := cat.RecordBackupVerified(ctx, first); err != nil {
		t.Fatal(err)
	}
	if err := cat.RecordBackupVerifyFailure(ctx, second, "verify corrupt: digest"); err != nil {
		t.Fatal(err)
	}
	if err := cat.RecordTenantSchema(ctx, a.ID, 7, false); err != nil {
		t.Fatal(err)
	}
	if err := cat.RecordTenantSchema(ctx, a.ID, 9, true); err != nil { // replaces
		t.Fatal(err)
	}

	ss, err := cat.FleetState(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ss) != 2 || ss[0].Slug > ss[1].Slug {
		t.Fatalf("fleet: %+v, want the two tenants not deleted, by slug", ss)
	}
	by := map[string]catalog.TenantState{ss[0].Slug: ss[0], ss[1].Slug: ss[1]}
	sa, sb := by[a.Slug], by[b.Slug]
	bk, err := cat.BackupByID(ctx, second)
	if err != nil {
		t.Fatal(err)
	}
	fb, err := cat.BackupByID(ctx, failed)
	if err != nil {
		t.Fatal(err)
	}
	fv, err := cat.BackupByID(ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case sa.Status != "active" || sa.Kind != "restaurant":
		t.Errorf("a: %+v", sa)
	case sa.LastBackup == nil || !sa.LastBackup.Equal(*bk.FinishedAt) || sa.LastBackupSize != 200:
		t.Errorf("a's last backup: %v size %d, want %v size 200", sa.LastBackup, sa.LastBackupSize, bk.FinishedAt)
	case sa.LastBackupDuration != 1500*time.Millisecond:
		t.Errorf("a's last backup took %v, want 1.5s", sa.LastBackupDuration)
	case sa.LastBackupFailure == nil || !sa.LastBackupFailure.Equal(*fb.FinishedAt):
		t.Errorf("a's last failure: %v, want %v", sa.LastBackupFailure, fb.FinishedAt)
	case sa.VerifiedAt == nil || !sa.VerifiedAt.Equal(*fv.VerifiedAt):
		t.Errorf("a's last verification: %v, want %v", sa.VerifiedAt, fv.VerifiedAt)
	case sa.VerifyFailedAt == nil || sa.VerifyFailedAt.Before(*sa.VerifiedAt):
		t.Errorf("a's last failed verification: %v, want after %v", sa.VerifyFailedAt, sa.VerifiedAt)
	case sa.SchemaVersion == nil || *sa.SchemaVersion != 9 || !sa.SchemaDirty:
		t.Errorf("a's schema: %v dirty %v, want 9 dirty", sa.SchemaVersion, sa.SchemaDirty)
	}
	if sb.Status != "provisioning" || sb.LastBackup != nil || sb.LastBackupFailure != nil || sb.VerifiedAt != nil ||
		sb.VerifyFailedAt != nil || sb.SchemaVersion != nil || sb.SchemaDirty {
		t.Errorf("b (nothing recorded): %+v", sb)
	}

	counts, err := cat.TenantCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if counts["active"] != 1 || counts["provisioning"] != 1 || counts["deleted"] != 1 || len(counts) != 3 {
		t.Errorf("counts: %v", counts)
	}
}

// BenchmarkFleetState: the metrics' catalog read for 1,000 tenants with
// 30 backups each (a month of daily backups), a few failed and verified.
func BenchmarkFleetState(b *testing.B) {
	cat, _ := platformtest.Catalog(b)
	ctx := platformtest.Context(b)
	srv, err := cat.EnsureDBServer(ctx, "default", "127.0.0.1", 5432)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := cat.Pool().Exec(ctx, `
		INSERT INTO tenants (slug, kind, name, status, db_server_id, database_name)
		SELECT 'bench-' || i, 'restaurant', 'Bench ' || i, 'active', $1, 'tenant_bench_' || i FROM generate_series(1, 1000) i`, srv.ID); err != nil {
		b.Fatal(err)
	}
	if _, err := cat.Pool().Exec(ctx, `
		INSERT INTO backups (tenant_id, status, size_bytes, started_at, finished_at, verified_at, verify_failed_at)
		SELECT t.id, CASE WHEN d % 10 = 3 THEN 'failed' WHEN d = 7 THEN 'verified' ELSE 'completed' END, 1000000 + d,
			now() - d * interval '1 day', now() - d * interval '1 day' + interval '90 seconds',
			CASE WHEN d = 7 THEN now() - interval '6 days' END, CASE WHEN d = 8 THEN now() - interval '7 days' END
		FROM tenants t, generate_series(1, 30) d`); err != nil {
		b.Fatal(err)
	}
	if _, err := cat.Pool().Exec(ctx, `ANALYZE backups; ANALYZE tenants`); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		ss, err := cat.FleetState(ctx)
		if err != nil || len(ss) != 1000 {
			b.Fatalf("%d tenants, %v", len(ss), err)
		}
		if _, err := cat.TenantCounts(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

package backup

import (
	"testing"
	"time"

	"github.com/tenancy/platform/platform/catalog"
	"github.com/tenancy/platform/platform/platformtest/tenanttest"
	"github.com/tenancy/platform/tenant"
)

// TestDrill: the drill verifies the newest completed backup (a newer
// failed one is passed over, an older one is left alone), and a tenant
// with nothing to verify is an error, not a silent success.
func TestDrill(t *testing.T) {
	t.Parallel()
	e := tenanttest.New(t)
	tn := e.Create(t, tenant.Restaurant)
	svc := newService(e, fileStore(t), nil, Config{})

	_, err := svc.Drill(e.Ctx, tn.Slug)
	wantCode(t, err, tenant.ENotFound)
	_, err = svc.Drill(e.Ctx, "no-such-tenant")
	wantCode(t, err, tenant.ENotFound)

	older, err := svc.Run(e.Ctx, tn.Slug, ReasonManual)
	if err != nil {
		t.Fatal(err)
	}
	newer, err := svc.Run(e.Ctx, tn.Slug, ReasonScheduled)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Catalog.InsertBackup(e.Ctx, "", tn.ID, ReasonScheduled, catalog.BackupFailed,
		time.Now().Add(time.Minute), catalog.BackupResult{}); err != nil {
		t.Fatal(err)
	}
	res, err := svc.Drill(e.Ctx, tn.Slug)
	if err != nil || res.BackupID != newer.ID || res.Outcome != OutcomeVerified {
		t.Fatalf("drill: %+v %v, want %s verified", res, err, newer.ID)
	}
	for id, want := range map[string]string{newer.ID: catalog.BackupVerified, older.ID: catalog.BackupCompleted} {
		b, err := svc.Get(e.Ctx, id)
		if err != nil || b.Status != want {
			t.Errorf("backup %s: %+v %v, want %s", id, b, err, want)
		}
	}
}

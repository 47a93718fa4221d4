package backup

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tenancy/platform/platform/backup/storage"
	"github.com/tenancy/platform/platform/platformtest/tenanttest"
	"github.com/tenancy/platform/tenant"
)

// TestPruneSweepsPartialUploads: prune removes the .partial file a killed
// upload of the tenant's left once it is older than StaleAfter; a young
// one (an upload maybe still running) and a dry run leave them.
func TestPruneSweepsPartialUploads(t *testing.T) {
	t.Parallel()
	e := tenanttest.New(t)
	tn := e.Create(t, tenant.Restaurant)
	dir := t.TempDir()
	st, err := storage.Open(e.Ctx, "file://"+dir, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	svc := newService(e, st, nil, Config{StaleAfter: time.Hour})
	if _, err := svc.Run(e.Ctx, tn.Slug, ReasonManual); err != nil {
		t.Fatal(err)
	}
	partial := func(name string, age time.Duration) string {
		p := filepath.Join(dir, tn.ID, name, "data.98765.partial")
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("half"), 0o600); err != nil {
			t.Fatal(err)
		}
		at := time.Now().Add(-age)
		if err := os.Chtimes(p, at, at); err != nil {
			t.Fatal(err)
		}
		return p
	}
	old, young := partial("killed", 2*time.Hour), partial("running", time.Minute)
	exists := func(p string) bool { _, err := os.Stat(p); return err == nil }

	rep, err := svc.Prune(e.Ctx, tn.Slug, true)
	if err != nil || rep.PartialsRemoved != 0 || !exists(old) {
		t.Fatalf("dry run: %+v %v (old partial there: %v)", rep, err, exists(old))
	}
	rep, err = svc.Prune(e.Ctx, tn.Slug, false)
	if err != nil || rep.PartialsRemoved != 1 || rep.Errors != 0 {
		t.Fatalf("prune: %+v %v, want one partial removed", rep, err)
	}
	if exists(old) || !exists(young) {
		t.Errorf("after prune: old partial there %v (want false), young there %v (want true)", exists(old), exists(young))
	}
}

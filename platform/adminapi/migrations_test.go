package adminapi

import (
	"strings"
	"testing"

	"github.com/tenancy/platform/platform/catalog"
)

// TestFleetMigrationJob: POST /v1/migrations starts the fleet migration
// as a job (202, kind migrate, tenant ""), which ends with every
// database's result, the tenant's among them, audited by the service; a
// body is refused.
func TestFleetMigrationJob(t *testing.T) {
	t.Parallel()
	be := newBackupEnv(t)
	if code, res, _ := send(t, be.app, "POST", "/v1/migrations", testToken, `{"x":1}`); code != 400 {
		t.Fatalf("with a body: %d %v", code, res)
	}
	code, res, hdr := send(t, be.app, "POST", "/v1/migrations", testToken, "")
	job, _ := res["job"].(map[string]any)
	id, _ := job["id"].(string)
	if code != 202 || job["kind"] != catalog.JobMigrate || job["tenant"] != "" || !strings.HasPrefix(job["actor"].(string), "api:") ||
		hdr.Get("Location") != "/v1/jobs/"+id {
		t.Fatalf("POST /v1/migrations: %d %v", code, res)
	}
	out := be.succeeded(t, id)
	results, _ := out["results"].([]any)
	found := false
	for _, r := range results {
		m := r.(map[string]any)
		if m["name"] == be.tn.Slug {
			found = m["error"] == nil && m["pending"] == 0.0 && m["version"] == m["latest"]
		}
	}
	if !found {
		t.Fatalf("results without the tenant migrated: %v", out)
	}
	var n int
	if err := be.e.Catalog.Pool().QueryRow(be.e.Ctx, `SELECT count(*) FROM operator_audit WHERE action = 'migrate.up' AND source = 'api' AND outcome = 'succeeded'`).Scan(&n); err != nil || n != 1 {
		t.Errorf("migrate.up audit rows: %d %v", n, err)
	}
}

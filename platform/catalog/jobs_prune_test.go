package catalog_test

import (
	"testing"
	"time"

	"github.com/tenancy/platform/platform/platformtest"
)

// TestDeleteFinishedJobRuns: finished runs older than the retention go,
// oldest first and at most limit per call; recent and open runs stay.
func TestDeleteFinishedJobRuns(t *testing.T) {
	t.Parallel()
	cat, _ := platformtest.Catalog(t)
	ctx := platformtest.Context(t)
	tn := newTenant(t, cat, platformtest.Slug("jobprune"))
	rows := []struct {
		name, status string
		age          string // finished this long ago; "" is open
	}{
		{"old-succeeded", "succeeded", "100 days"},
		{"old-failed", "failed", "95 days"},
		{"old-skipped", "skipped", "91 days"},
		{"recent", "succeeded", "1 day"},
		{"open-running", "running", ""},
		{"open-retrying", "retrying", ""},
	}
	for i, r := range rows {
		slot := time.Date(2026, 1, 1, 3, 0, 0, 0, time.UTC).Add(time.Duration(i) * 24 * time.Hour)
		if _, err := cat.Pool().Exec(ctx, `INSERT INTO job_runs (job, tenant_id, slot, status, claimed_by, started_at, finished_at, error)
			VALUES ('backup', $1, $2, $3, 'a', now() - interval '200 days',
				CASE WHEN $4 = '' THEN NULL ELSE now() - $4::interval END, $5)`,
			tn.ID, slot, r.status, r.age, r.name); err != nil {
			t.Fatalf("insert %s: %v", r.name, err)
		}
	}
	left := func() map[string]bool {
		t.Helper()
		got := map[string]bool{}
		rs, err := cat.Pool().Query(ctx, `SELECT error FROM job_runs WHERE tenant_id = $1`, tn.ID)
		if err != nil {
			t.Fatal(err)
		}
		defer rs.Close()
		for rs.Next() {
			var n string
			if err := rs.Scan(&n); err != nil {
				t.Fatal(err)
			}
			got[n] = true
		}
		if err := rs.Err(); err != nil {
			t.Fatal(err)
		}
		return got
	}
	n, err := cat.DeleteFinishedJobRuns(ctx, 90*24*time.Hour, 2)
	if err != nil || n != 2 {
		t.Fatalf("first call: %d %v, want 2 (the limit)", n, err)
	}
	if got := left(); got["old-succeeded"] || got["old-failed"] || !got["old-skipped"] {
		t.Errorf("oldest first: left %v", got)
	}
	if n, err = cat.DeleteFinishedJobRuns(ctx, 90*24*time.Hour, 100); err != nil || n != 1 {
		t.Fatalf("second call: %d %v, want 1", n, err)
	}
	got := left()
	for _, keep := range []string{"recent", "open-running", "open-retrying"} {
		if !got[keep] {
			t.Errorf("%s was deleted", keep)
		}
	}
	if len(got) != 3 {
		t.Errorf("left %v, want the recent and open runs", got)
	}
}

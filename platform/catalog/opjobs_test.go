package catalog_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/tenancy/platform/platform/catalog"
	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/tenant"
)

func newJob(t *testing.T, cat *catalog.DB, kind, slug, backupID, replica string) *catalog.OperatorJob {
	t.Helper()
	j, err := cat.CreateOperatorJob(platformtest.Context(t), catalog.NewOperatorJob{Kind: kind, Tenant: slug, BackupID: backupID, Actor: "api:test", Replica: replica})
	if err != nil {
		t.Fatalf("create %s job: %v", kind, err)
	}
	return j
}

// TestOperatorJobLifecycle: queued → running → succeeded with its result
// and backup id; only its replica moves it; unknown and malformed ids are
// not found; one open restore per tenant.
func TestOperatorJobLifecycle(t *testing.T) {
	t.Parallel()
	cat, _ := platformtest.Catalog(t)
	ctx := platformtest.Context(t)
	slug := platformtest.Slug("opjob")
	j := newJob(t, cat, catalog.JobBackup, slug, "", "a")
	if j.Status != catalog.JobQueued || j.StartedAt != nil || j.FinishedAt != nil || j.BackupID != "" || j.Actor != "api:test" || j.Tenant != slug {
		t.Fatalf("created: %+v", j)
	}
	if ok, err := cat.StartOperatorJob(ctx, j.ID, "b"); err != nil || ok {
		t.Errorf("started by another replica: %v %v", ok, err)
	}
	if ok, err := cat.StartOperatorJob(ctx, j.ID, "a"); err != nil || !ok {
		t.Fatalf("start: %v %v", ok, err)
	}
	if ok, err := cat.HeartbeatOperatorJob(ctx, j.ID, "a"); err != nil || !ok {
		t.Errorf("heartbeat: %v %v", ok, err)
	}
	backupID := "0b6c3f63-2b1e-4d56-9f0a-3c1d2e4f5a6b"
	if ok, err := cat.FinishOperatorJob(ctx, j.ID, "b", catalog.JobOutcome{}); err != nil || ok {
		t.Errorf("finished by another replica: %v %v", ok, err)
	}
	ok, err := cat.FinishOperatorJob(ctx, j.ID, "a", catalog.JobOutcome{Result: map[string]any{"id": backupID, "size_bytes": 42}, BackupID: backupID})
	if err != nil || !ok {
		t.Fatalf("finish: %v %v", ok, err)
	}
	got, err := cat.OperatorJob(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	var res map[string]any
	if err := json.Unmarshal(got.Result, &res); err != nil || res["size_bytes"] != 42.0 {
		t.Errorf("result %s: %v", got.Result, err)
	}
	if got.Status != catalog.JobSucceeded || got.BackupID != backupID || got.StartedAt == nil || got.FinishedAt == nil || got.Error != "" || got.Code != "" {
		t.Errorf("finished: %+v", got)
	}
	if ok, err := cat.HeartbeatOperatorJob(ctx, j.ID, "a"); err != nil || ok {
		t.Errorf("heartbeat of a finished job: %v %v", ok, err)
	}
	if ok, err := cat.FinishOperatorJob(ctx, j.ID, "a", catalog.JobOutcome{Error: "again"}); err != nil || ok {
		t.Errorf("finished twice: %v %v", ok, err)
	}
	for _, id := range []string{"not-a-uuid", "00000000-0000-0000-0000-000000000000", "'; DROP TABLE operator_jobs; --"} {
		if _, err := cat.OperatorJob(ctx, id); tenant.ErrorCode(err) != tenant.ENotFound {
			t.Errorf("job %q: %v", id, err)
		}
	}

	// One open restore per tenant; others' and other kinds are independent.
	r1 := newJob(t, cat, catalog.JobRestore, slug, backupID, "a")
	_, err = cat.CreateOperatorJob(ctx, catalog.NewOperatorJob{Kind: catalog.JobRestore, Tenant: slug, BackupID: backupID, Actor: "api:test", Replica: "b"})
	if tenant.ErrorCode(err) != tenant.EConflict {
		t.Errorf("second open restore: %v", err)
	}
	newJob(t, cat, catalog.JobRestore, platformtest.Slug("other"), backupID, "b")
	newJob(t, cat, catalog.JobVerify, slug, backupID, "b")
	if ok, err := cat.FinishOperatorJob(ctx, r1.ID, "a", catalog.JobOutcome{Error: "restore --as is not supported yet", Code: tenant.EInvalid}); err != nil || !ok {
		t.Fatalf("fail restore: %v %v", ok, err)
	}
	if got, err := cat.OperatorJob(ctx, r1.ID); err != nil || got.Status != catalog.JobFailed || got.Code != tenant.EInvalid ||
		got.Error != "restore --as is not supported yet" || got.FinishedAt == nil || got.Result != nil {
		t.Errorf("failed restore: %+v %v", got, err)
	}
	newJob(t, cat, catalog.JobRestore, slug, backupID, "b") // the first one ended
}

// TestSweepOperatorJobs: an open job whose heartbeat is older than the TTL
// (by the catalog's clock) is failed as replica_lost; a fresh one and a
// finished one are not. Its runner, if alive after all, records the real
// outcome over the sweep's.
func TestSweepOperatorJobs(t *testing.T) {
	t.Parallel()
	cat, _ := platformtest.Catalog(t)
	ctx := platformtest.Context(t)
	slug := platformtest.Slug("sweep")
	old := newJob(t, cat, catalog.JobVerify, slug, "", "dead")
	oldQueued := newJob(t, cat, catalog.JobBackup, slug, "", "dead")
	fresh := newJob(t, cat, catalog.JobVerify, slug, "", "alive")
	done := newJob(t, cat, catalog.JobBackup, slug, "", "dead")
	for _, j := range []*catalog.OperatorJob{old, fresh, done} {
		if ok, err := cat.StartOperatorJob(ctx, j.ID, j.Replica); err != nil || !ok {
			t.Fatalf("start %s: %v %v", j.ID, ok, err)
		}
	}
	if ok, err := cat.FinishOperatorJob(ctx, done.ID, "dead", catalog.JobOutcome{Result: map[string]string{"ok": "yes"}}); err != nil || !ok {
		t.Fatal(ok, err)
	}
	if _, err := cat.Pool().Exec(ctx, `UPDATE operator_jobs SET heartbeat_at = now() - interval '3 minutes' WHERE id = ANY($1::uuid[])`,
		[]string{old.ID, oldQueued.ID, done.ID}); err != nil {
		t.Fatal(err)
	}
	swept, err := cat.SweepOperatorJobs(ctx, 2*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, j := range swept {
		ids[j.ID] = true
		if j.Status != catalog.JobFailed || j.Code != catalog.JobReplicaLost || j.Error != "the replica running it (dead) stopped responding" || j.FinishedAt == nil {
			t.Errorf("swept: %+v", j)
		}
	}
	if len(swept) != 2 || !ids[old.ID] || !ids[oldQueued.ID] {
		t.Fatalf("swept %v, want the two old open jobs", ids)
	}
	for id, want := range map[string]string{fresh.ID: catalog.JobRunning, done.ID: catalog.JobSucceeded} {
		if j, err := cat.OperatorJob(ctx, id); err != nil || j.Status != want {
			t.Errorf("job %s after the sweep: %+v %v, want %s", id, j, err, want)
		}
	}
	if again, err := cat.SweepOperatorJobs(ctx, 2*time.Minute); err != nil || len(again) != 0 {
		t.Errorf("second sweep: %v %v", again, err)
	}
	// The dead replica was only cut off: its heartbeat says so, its outcome wins.
	if ok, err := cat.HeartbeatOperatorJob(ctx, old.ID, "dead"); err != nil || ok {
		t.Errorf("heartbeat of a swept job: %v %v", ok, err)
	}
	if ok, err := cat.FinishOperatorJob(ctx, old.ID, "dead", catalog.JobOutcome{Result: map[string]string{"outcome": "verified"}}); err != nil || !ok {
		t.Fatalf("finish after the sweep: %v %v", ok, err)
	}
	if j, err := cat.OperatorJob(ctx, old.ID); err != nil || j.Status != catalog.JobSucceeded || j.Code != "" || j.Error != "" {
		t.Errorf("finished after the sweep: %+v %v", j, err)
	}
}

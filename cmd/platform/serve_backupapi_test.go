package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tenancy/platform/platform/platformtest"
)

// startJob POSTs path on the operator listener and returns the job id of
// its 202.
func (ts *testServer) startJob(t *testing.T, path, body string) string {
	t.Helper()
	code, res := ts.api(t, "POST", path, testOperatorToken, body)
	job, _ := res["job"].(map[string]any)
	id, _ := job["id"].(string)
	if code != 202 || id == "" {
		t.Fatalf("POST %s: %d %v", path, code, res)
	}
	return id
}

// waitJob polls GET /v1/jobs/{id} until the job has finished.
func (ts *testServer) waitJob(t *testing.T, id string) map[string]any {
	t.Helper()
	var job map[string]any
	platformtest.Eventually(t, 90*time.Second, "job "+id+" finished", func() bool {
		code, res := ts.api(t, "GET", "/v1/jobs/"+id, testOperatorToken, "")
		if code != 200 {
			t.Fatalf("GET job %s: %d %v", id, code, res)
		}
		job = res
		return res["status"] == "succeeded" || res["status"] == "failed"
	})
	return job
}

// TestServeBackupAPI: through serve's wiring, a backup, a restore
// (sessions through the real Redis) and a restore --as run as jobs that
// any replica reports on; shutdown waits for a running job to record its end; a serve without
// PLATFORM_BACKUP_URL answers 503.
func TestServeBackupAPI(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	slug := platformtest.Slug("bapi")
	c.ok("tenant", "create", slug, "--kind", "restaurant", "--name", "Backup API")
	env := map[string]string{"PLATFORM_BACKUP_URL": "file://" + t.TempDir()}
	a := c.serve(t, env)
	b := c.serve(t, env)

	id := a.startJob(t, "/v1/tenants/"+slug+"/backups", "")
	job := b.waitJob(t, id) // the other replica reads it from the catalog
	backupID, _ := job["backup_id"].(string)
	if job["status"] != "succeeded" || job["kind"] != "backup" || job["tenant"] != slug || backupID == "" {
		t.Fatalf("backup job: %v", job)
	}
	if bk, err := c.cat.BackupByID(context.Background(), backupID); err != nil || bk.Status != "completed" || bk.Reason != "manual" {
		t.Fatalf("backup %s: %+v %v", backupID, bk, err)
	}
	code, list := b.api(t, "GET", "/v1/tenants/"+slug+"/backups", testOperatorToken, "")
	if bs, _ := list["backups"].([]any); code != 200 || len(bs) != 1 {
		t.Fatalf("list: %d %v", code, list)
	}

	rs := a.waitJob(t, a.startJob(t, "/v1/backups/"+backupID+"/restore", `{"confirm": "`+slug+`"}`))
	res, _ := rs["result"].(map[string]any)
	if rs["status"] != "succeeded" || res["previous_database"] == nil || res["sessions_ended"] == nil {
		t.Fatalf("restore job: %v", rs)
	}
	// --as: into a fresh tenant, through serve's provisioner; the source
	// stays as it is.
	as := platformtest.Slug("bapias")
	rs = a.waitJob(t, a.startJob(t, "/v1/backups/"+backupID+"/restore", `{"confirm": "`+slug+`", "as": "`+as+`"}`))
	res, _ = rs["result"].(map[string]any)
	if rs["status"] != "succeeded" || res["tenant"] != as || res["source_tenant"] != slug {
		t.Fatalf("restore --as job: %v", rs)
	}
	for _, s := range []string{slug, as} {
		if tn, err := c.cat.TenantBySlug(context.Background(), s); err != nil || tn.Status != "active" {
			t.Fatalf("tenant %s after restore --as: %+v %v", s, tn, err)
		}
	}
	lines := a.logs.Lines(t, "operator job succeeded")
	if len(lines) != 3 || lines[0]["job_id"] != id || lines[0]["tenant"] != slug || lines[0]["kind"] != "backup" {
		t.Errorf("job log lines: %v", lines)
	}
	if strings.Contains(a.logs.String(), testOperatorToken) {
		t.Error("the operator token reached the log")
	}

	// Shutdown: the job has recorded its end (done or interrupted) by the
	// time serve returns.
	id = b.startJob(t, "/v1/tenants/"+slug+"/backups", "")
	b.stop()
	j, err := c.cat.OperatorJob(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if j.FinishedAt == nil || (j.Status == "failed" && j.Code != "unavailable") {
		t.Errorf("job after shutdown: %+v", j)
	}

	off := c.serve(t, nil)
	if code, body := off.api(t, "POST", "/v1/tenants/"+slug+"/backups", testOperatorToken, ""); code != 503 || errCode(body) != "unavailable" {
		t.Errorf("without PLATFORM_BACKUP_URL: %d %v", code, body)
	}
}

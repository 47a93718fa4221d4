package adminapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5"

	"github.com/tenancy/platform/platform/backup"
	"github.com/tenancy/platform/platform/backup/storage"
	"github.com/tenancy/platform/platform/catalog"
	"github.com/tenancy/platform/platform/opjob"
	"github.com/tenancy/platform/platform/pgadmin"
	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/platform/platformtest/tenanttest"
	"github.com/tenancy/platform/tenant"
)

// send makes a request with an optional JSON body and decodes the answer.
func send(t *testing.T, app *fiber.App, method, path, token, body string) (int, map[string]any, http.Header) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, r)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s %s: body %q: %v", method, path, b, err)
	}
	return res.StatusCode, out, res.Header
}

type countingSessions struct{ calls atomic.Int64 }

func (s *countingSessions) RevokeTenant(context.Context, string) (int, error) {
	s.calls.Add(1)
	return 2, nil
}

// backupEnv is an operator API over a real tenant, a backup service on a
// file store and a job runner.
type backupEnv struct {
	e        *tenanttest.Env
	tn       *tenanttest.Tenant
	svc      *backup.Service
	app      *fiber.App
	sessions *countingSessions
	dir      string // the file store's
}

func newBackupEnv(t *testing.T) *backupEnv {
	t.Helper()
	e := tenanttest.New(t)
	tn := e.Create(t, tenant.Restaurant)
	dir := t.TempDir()
	st, err := storage.Open(e.Ctx, "file://"+dir, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	svc := backup.New(e.Catalog, map[string]*pgadmin.Server{"default": e.Admin}, e.Vault, st, nil, backup.Config{})
	runner := opjob.New(opjob.Config{Catalog: e.Catalog, Replica: "adminapi-test-" + platformtest.Rand(6), SweepEvery: -1})
	t.Cleanup(runner.Close) // before the tenants are purged
	sessions := &countingSessions{}
	app := New(Config{Service: e.Service, Catalog: e.Catalog, Token: testToken, Backups: svc, Jobs: runner, Sessions: sessions})
	return &backupEnv{e: e, tn: tn, svc: svc, app: app, sessions: sessions, dir: dir}
}

// start POSTs path, wants 202 with a queued job of kind and its Location,
// and returns the job's id.
func (be *backupEnv) start(t *testing.T, path, body, kind string) string {
	t.Helper()
	code, res, hdr := send(t, be.app, "POST", path, testToken, body)
	job, _ := res["job"].(map[string]any)
	id, _ := job["id"].(string)
	if code != 202 || id == "" || job["kind"] != kind || job["tenant"] != be.tn.Slug || job["status"] != "queued" ||
		!strings.HasPrefix(job["actor"].(string), "api:") || hdr.Get("Location") != "/v1/jobs/"+id {
		t.Fatalf("POST %s: %d %v Location %q", path, code, res, hdr.Get("Location"))
	}
	return id
}

// wait polls GET /v1/jobs/{id} until the job has finished and returns it.
func (be *backupEnv) wait(t *testing.T, id string) map[string]any {
	t.Helper()
	var job map[string]any
	platformtest.Eventually(t, 90*time.Second, "job "+id+" finished", func() bool {
		code, res, _ := send(t, be.app, "GET", "/v1/jobs/"+id, testToken, "")
		if code != 200 {
			t.Fatalf("GET job %s: %d %v", id, code, res)
		}
		job = res
		return res["status"] == "succeeded" || res["status"] == "failed"
	})
	return job
}

func (be *backupEnv) succeeded(t *testing.T, id string) map[string]any {
	t.Helper()
	job := be.wait(t, id)
	if job["status"] != "succeeded" || job["finished_at"] == nil || job["started_at"] == nil {
		t.Fatalf("job %s: %v", id, job)
	}
	res, ok := job["result"].(map[string]any)
	if !ok {
		t.Fatalf("job %s has no result: %v", id, job)
	}
	return res
}

// auditActions returns action → outcome of the operator audit rows of slug.
func auditActions(t *testing.T, cat *catalog.DB, slug string) map[string][]string {
	t.Helper()
	rows, err := cat.Pool().Query(platformtest.Context(t),
		`SELECT action, outcome, actor FROM operator_audit WHERE tenant_slug = $1 ORDER BY id`, slug)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for rows.Next() {
		var action, outcome, actor string
		if err := rows.Scan(&action, &outcome, &actor); err != nil {
			t.Fatal(err)
		}
		out[action] = append(out[action], outcome+" "+actor)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestBackupAPI: backup, list, show, verify and restore through the API,
// each a job followed to its end with GET /v1/jobs/{id}, against a real
// tenant, Vault and PostgreSQL.
func TestBackupAPI(t *testing.T) {
	t.Parallel()
	be := newBackupEnv(t)
	e, tn := be.e, be.tn
	slug := tn.Slug

	jobID := be.start(t, "/v1/tenants/"+slug+"/backups", "", "backup")
	b := be.succeeded(t, jobID)
	backupID, _ := b["id"].(string)
	if b["status"] != "completed" || b["tenant"] != slug || b["reason"] != "manual" || backupID == "" {
		t.Fatalf("backup job's result: %v", b)
	}
	if _, job, _ := send(t, be.app, "GET", "/v1/jobs/"+jobID, testToken, ""); job["backup_id"] != backupID || job["error"] != nil {
		t.Errorf("backup job: %v", job)
	}

	code, list, _ := send(t, be.app, "GET", "/v1/tenants/"+slug+"/backups", testToken, "")
	bs, _ := list["backups"].([]any)
	if code != 200 || len(bs) != 1 || bs[0].(map[string]any)["id"] != backupID {
		t.Fatalf("list: %d %v", code, list)
	}
	// The same JSON as `platform backup list -o json`: the service's Backup.
	want, err := be.svc.List(e.Ctx, slug)
	if err != nil {
		t.Fatal(err)
	}
	wantJSON, err := json.Marshal(map[string]any{"backups": want})
	if err != nil {
		t.Fatal(err)
	}
	var wantList map[string]any
	if err := json.Unmarshal(wantJSON, &wantList); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(list, wantList) {
		t.Errorf("list JSON\n got %v\nwant %v", list, wantList)
	}
	if code, one, _ := send(t, be.app, "GET", "/v1/backups/"+backupID, testToken, ""); code != 200 || one["id"] != backupID || one["row_counts"] == nil {
		t.Errorf("show: %d %v", code, one)
	}

	v := be.succeeded(t, be.start(t, "/v1/backups/"+backupID+"/verify", "{}", "verify"))
	if v["outcome"] != "verified" || v["backup_id"] != backupID {
		t.Fatalf("verify result: %v", v)
	}
	if got, err := be.svc.Get(e.Ctx, backupID); err != nil || got.Status != catalog.BackupVerified {
		t.Fatalf("after verify: %+v %v", got, err)
	}

	// A table made after the backup is gone after the restore.
	if err := e.Admin.In(e.Ctx, tn.Database, tenant.OwnerRole(slug), func(c *pgx.Conn) error {
		_, err := c.Exec(e.Ctx, `CREATE TABLE api_after_backup (id int)`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	rs := be.succeeded(t, be.start(t, "/v1/backups/"+backupID+"/restore", `{"confirm": "`+slug+`"}`, "restore"))
	if rs["backup_id"] != backupID || !strings.HasPrefix(rs["previous_database"].(string), tn.Database+"_pre_restore_") ||
		rs["safety_backup_id"] == "" || rs["sessions_ended"] != 2.0 {
		t.Fatalf("restore result: %v", rs)
	}
	var gone bool
	if err := e.Admin.In(e.Ctx, tn.Database, "", func(c *pgx.Conn) error {
		return c.QueryRow(e.Ctx, `SELECT to_regclass('api_after_backup') IS NULL`).Scan(&gone)
	}); err != nil || !gone {
		t.Fatalf("table made after the backup still there after the restore (gone %v, %v)", gone, err)
	}
	if got, err := e.Catalog.TenantBySlug(e.Ctx, slug); err != nil || got.Status != tenant.StatusActive {
		t.Fatalf("tenant after restore: %+v %v", got, err)
	}
	if be.sessions.calls.Load() != 1 {
		t.Errorf("sessions ended %d times", be.sessions.calls.Load())
	}

	// Every action is in the operator audit under the API's operator.
	actor := "api:" + fingerprint(testToken)
	got := auditActions(t, e.Catalog, slug)
	for _, action := range []string{"backup.run", "backup.verify", "backup.restore"} {
		if len(got[action]) != 1 || got[action][0] != "succeeded "+actor {
			t.Errorf("audit of %s: %v (all: %v)", action, got[action], got)
		}
	}
}

// TestBackupAPIRefusals: bad input is refused before any job exists, with
// the status of its code; a job that fails records its code and message.
func TestBackupAPIRefusals(t *testing.T) {
	t.Parallel()
	be := newBackupEnv(t)
	e, slug := be.e, be.tn.Slug
	b, err := be.svc.Run(e.Ctx, slug, backup.ReasonManual)
	if err != nil {
		t.Fatal(err)
	}
	failedID, _, err := e.Catalog.StartBackup(e.Ctx, be.tn.ID, backup.ReasonManual)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Catalog.FailBackup(e.Ctx, failedID, "pg_dump failed"); err != nil {
		t.Fatal(err)
	}
	unknown := "5d0f4b1e-7c2a-4e8b-9a6d-3f1e2c4b5a69"
	jobs := func() int {
		var n int
		if err := e.Catalog.Pool().QueryRow(e.Ctx, `SELECT count(*) FROM operator_jobs`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	// An open restore of the tenant (another replica's).
	other, err := e.Catalog.CreateOperatorJob(e.Ctx, catalog.NewOperatorJob{Kind: catalog.JobRestore, Tenant: slug, BackupID: b.ID, Actor: "api:other", Replica: "other"})
	if err != nil {
		t.Fatal(err)
	}
	confirm := `{"confirm": "` + slug + `"}`
	for _, c := range []struct {
		name, method, path, token, body string
		status                          int
		code, field, msg                string
	}{
		{"no token", "POST", "/v1/tenants/" + slug + "/backups", "", "", 401, "unauthorized", "", ""},
		{"wrong token", "POST", "/v1/backups/" + b.ID + "/restore", "wrong", confirm, 401, "unauthorized", "", ""},
		{"unknown tenant", "POST", "/v1/tenants/no-such-tenant/backups", testToken, "", 404, tenant.ENotFound, "", "no-such-tenant"},
		{"unknown tenant's list", "GET", "/v1/tenants/no-such-tenant/backups", testToken, "", 404, tenant.ENotFound, "", ""},
		{"backup body", "POST", "/v1/tenants/" + slug + "/backups", testToken, `{"reason": "x"}`, 400, tenant.EInvalid, "", "unknown field"},
		{"unknown backup", "GET", "/v1/backups/" + unknown, testToken, "", 404, tenant.ENotFound, "", ""},
		{"verify unknown backup", "POST", "/v1/backups/" + unknown + "/verify", testToken, "", 404, tenant.ENotFound, "", ""},
		{"restore unknown backup", "POST", "/v1/backups/" + unknown + "/restore", testToken, confirm, 404, tenant.ENotFound, "", ""},
		{"verify non-uuid", "POST", "/v1/backups/not-a-uuid/verify", testToken, "", 400, tenant.EInvalid, "", "not a uuid"},
		{"restore non-uuid", "POST", "/v1/backups/not-a-uuid/restore", testToken, confirm, 400, tenant.EInvalid, "", "not a uuid"},
		{"verify failed backup", "POST", "/v1/backups/" + failedID + "/verify", testToken, "", 409, tenant.EConflict, "", "is failed"},
		{"restore failed backup", "POST", "/v1/backups/" + failedID + "/restore", testToken, confirm, 409, tenant.EConflict, "", "is failed"},
		{"restore without a body", "POST", "/v1/backups/" + b.ID + "/restore", testToken, "", 422, tenant.EValidation, "confirm", ""},
		{"restore without confirm", "POST", "/v1/backups/" + b.ID + "/restore", testToken, `{"as": ""}`, 422, tenant.EValidation, "confirm", ""},
		{"restore wrong confirm", "POST", "/v1/backups/" + b.ID + "/restore", testToken, `{"confirm": "someone-else"}`, 422, tenant.EValidation, "confirm", ""},
		{"restore unknown field", "POST", "/v1/backups/" + b.ID + "/restore", testToken, `{"confirm": "` + slug + `", "yes": true}`, 400, tenant.EInvalid, "", "unknown field"},
		{"restore malformed", "POST", "/v1/backups/" + b.ID + "/restore", testToken, `{"confirm": `, 400, tenant.EInvalid, "", ""},
		{"restore while another runs", "POST", "/v1/backups/" + b.ID + "/restore", testToken, confirm, 409, tenant.EConflict, "", "already queued or running"},
		{"job not a uuid", "GET", "/v1/jobs/not-a-uuid", testToken, "", 404, tenant.ENotFound, "", ""},
		{"unknown job", "GET", "/v1/jobs/" + unknown, testToken, "", 404, tenant.ENotFound, "", ""},
	} {
		before := jobs()
		code, res, _ := send(t, be.app, c.method, c.path, c.token, c.body)
		eo, _ := res["error"].(map[string]any)
		fields, _ := eo["fields"].(map[string]any)
		msg, _ := eo["message"].(string)
		switch {
		case code != c.status || errCode(res) != c.code:
			t.Errorf("%s: %d %v, want %d %s", c.name, code, res, c.status, c.code)
		case c.field != "" && (len(fields) != 1 || fields[c.field] == nil || !strings.Contains(fields[c.field].(string), slug)):
			t.Errorf("%s: fields %v, want one naming %s and the tenant", c.name, fields, c.field)
		case !strings.Contains(msg, c.msg):
			t.Errorf("%s: message %q, want it to mention %q", c.name, msg, c.msg)
		}
		if jobs() != before {
			t.Errorf("%s: a job was created", c.name)
		}
	}

	// Once the other restore ended, a restore into a bad --as slug is
	// accepted and fails as a job, with the service's clear error; the
	// tenant is untouched.
	if ok, err := e.Catalog.FinishOperatorJob(e.Ctx, other.ID, "other", catalog.JobOutcome{Error: "x", Code: tenant.EInternal}); err != nil || !ok {
		t.Fatal(ok, err)
	}
	job := be.wait(t, be.start(t, "/v1/backups/"+b.ID+"/restore", `{"confirm": "`+slug+`", "as": "Not A Slug"}`, "restore"))
	if job["status"] != "failed" || (job["code"] != tenant.EInvalid && job["code"] != tenant.EValidation) || job["error"] == "" || job["backup_id"] != b.ID {
		t.Errorf("restore --as job: %v", job)
	}
	if got, err := e.Catalog.TenantBySlug(e.Ctx, slug); err != nil || got.Status != tenant.StatusActive {
		t.Errorf("tenant after a refused restore: %+v %v", got, err)
	}
	// A verify job of a backup whose artifact is gone fails as corrupt,
	// with the line the CLI prints and the service's result.
	if err := os.Remove(filepath.Join(be.dir, be.tn.ID, b.ID, "data")); err != nil {
		t.Fatal(err)
	}
	job = be.wait(t, be.start(t, "/v1/backups/"+b.ID+"/verify", "", "verify"))
	res, _ := job["result"].(map[string]any)
	if job["status"] != "failed" || job["code"] != EVerifyCorrupt || !strings.HasPrefix(job["error"].(string), "backup "+b.ID+" corrupt: ") ||
		res["outcome"] != backup.OutcomeCorrupt {
		t.Errorf("verify of a missing artifact: %v", job)
	}
	if got := auditActions(t, e.Catalog, slug)["backup.verify"]; len(got) != 2 || !strings.HasPrefix(got[0], "failed ") || !strings.HasPrefix(got[1], "failed ") {
		t.Errorf("audit of verify (the failed backup refused, the missing artifact failed): %v", got)
	}
}

// fingerprint is how the API names the operator of a token.
func fingerprint(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:4])
}

// TestBackupAPIOff: without a backup service the backup routes answer 503
// with a clear message; jobs are still looked up in the catalog.
func TestBackupAPIOff(t *testing.T) {
	t.Parallel()
	cat, _ := platformtest.Catalog(t)
	var off *backup.Service // what serve has without PLATFORM_BACKUP_URL
	app := New(Config{Catalog: cat, Token: testToken, Backups: off})
	id := "5d0f4b1e-7c2a-4e8b-9a6d-3f1e2c4b5a69"
	for _, r := range [][2]string{
		{"POST", "/v1/tenants/acme/backups"}, {"GET", "/v1/tenants/acme/backups"}, {"GET", "/v1/backups/" + id},
		{"POST", "/v1/backups/" + id + "/verify"}, {"POST", "/v1/backups/" + id + "/restore"},
	} {
		code, res, hdr := send(t, app, r[0], r[1], testToken, "")
		e, _ := res["error"].(map[string]any)
		if code != 503 || errCode(res) != tenant.EUnavailable || !strings.Contains(e["message"].(string), "PLATFORM_BACKUP_URL") || hdr.Get("Retry-After") == "" {
			t.Errorf("%s %s: %d %v", r[0], r[1], code, res)
		}
	}
	if code, res, _ := send(t, app, "GET", "/v1/jobs/"+id, testToken, ""); code != 404 || errCode(res) != tenant.ENotFound {
		t.Errorf("job: %d %v", code, res)
	}
	if code, res, _ := send(t, app, "POST", "/v1/tenants/acme/backups", "", ""); code != 401 {
		t.Errorf("no token, backups off: %d %v", code, res)
	}
}

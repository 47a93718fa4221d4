package opconsole_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tenancy/platform/platform/catalog"
	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/tenant"
)

// jobOf follows the 303 of a form that started a job and returns its id.
func jobOf(t *testing.T, r resp) string {
	t.Helper()
	id, ok := strings.CutPrefix(r.Location, "/jobs/")
	if r.Status != 303 || !ok || id == "" {
		t.Fatalf("no job: %d %q %s", r.Status, r.Location, r.Body)
	}
	return id
}

// waitJob polls the job page until the job has finished and returns the
// last page; while it runs the page refreshes itself.
func (c *client) waitJob(t *testing.T, e *env, id string) (string, *catalog.OperatorJob) {
	t.Helper()
	var body string
	var j *catalog.OperatorJob
	platformtest.Eventually(t, 90*time.Second, "job "+id+" finished", func() bool {
		body = c.get("/jobs/"+id).want(t, 200).Body
		var err error
		if j, err = e.te.Catalog.OperatorJob(e.te.Ctx, id); err != nil {
			t.Fatal(err)
		}
		done := j.Status == catalog.JobSucceeded || j.Status == catalog.JobFailed
		return done && !strings.Contains(body, `http-equiv="refresh"`)
	})
	return body, j
}

// TestBackupScreens: run now, the list, verify and restore are the API's
// jobs with the console's actor; a wrong or missing typed confirmation
// starts nothing; a job page refreshes itself while its job is open.
func TestBackupScreens(t *testing.T) {
	t.Parallel()
	e := newEnv(t, options{backups: true})
	tn := e.te.Create(t, tenant.Restaurant)
	c := e.client(t)
	tok := c.login(testToken)

	id := jobOf(t, c.post("/tenants/"+tn.Slug+"/backups", url.Values{"csrf": {tok}}))
	body, j := c.waitJob(t, e, id)
	if j.Status != catalog.JobSucceeded || j.Actor != "console:"+e.ops.Fingerprint() || !strings.Contains(body, "Listo.") || j.BackupID == "" {
		t.Fatalf("backup job %+v: %s", j, body)
	}
	if strings.Contains(body, "wrapped_key") {
		t.Error("the job page shows the wrapped key")
	}
	list := c.get("/tenants/"+tn.Slug+"/backups").want(t, 200).Body
	if !strings.Contains(list, "/backups/"+j.BackupID+"/restore") || !strings.Contains(list, "completado") {
		t.Fatalf("backups list: %s", list)
	}

	vid := jobOf(t, c.post("/backups/"+j.BackupID+"/verify", url.Values{"csrf": {tok}}))
	if _, vj := c.waitJob(t, e, vid); vj.Status != catalog.JobSucceeded || vj.Kind != catalog.JobVerify {
		t.Fatalf("verify job %+v", vj)
	}
	if list := c.get("/tenants/" + tn.Slug + "/backups").Body; !strings.Contains(list, "verificado") {
		t.Errorf("list after verify: %s", list)
	}

	c.get("/backups/"+j.BackupID+"/restore").want(t, 200)
	openRestores := func() int {
		var n int
		if err := e.te.Catalog.Pool().QueryRow(e.te.Ctx, `SELECT count(*) FROM operator_jobs WHERE kind = 'restore'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, confirm := range []string{"", tn.Slug + "x"} {
		r := c.post("/backups/"+j.BackupID+"/restore", url.Values{"csrf": {tok}, "confirm": {confirm}}).want(t, 422)
		if !strings.Contains(r.Body, `id="err-confirm"`) || openRestores() != 0 {
			t.Fatalf("confirm %q: %s", confirm, r.Body)
		}
	}
	c.post("/backups/"+j.BackupID+"/restore", url.Values{"csrf": {tok}, "confirm": {tn.Slug}, "as": {"Not A Slug"}}).want(t, 422)
	rid := jobOf(t, c.post("/backups/"+j.BackupID+"/restore", url.Values{"csrf": {tok}, "confirm": {tn.Slug}}))
	if _, rj := c.waitJob(t, e, rid); rj.Status != catalog.JobSucceeded || rj.Kind != catalog.JobRestore {
		t.Fatalf("restore job %+v", rj)
	}
	c.get("/backups/not-a-uuid/restore").want(t, 422)

	// An open job's page reloads itself and says how to refresh by hand.
	open, err := e.te.Catalog.CreateOperatorJob(e.te.Ctx, catalog.NewOperatorJob{Kind: catalog.JobBackup, Tenant: tn.Slug, Actor: "console:x", Replica: "elsewhere"})
	if err != nil {
		t.Fatal(err)
	}
	page := c.get("/jobs/"+open.ID).want(t, 200).Body
	if !strings.Contains(page, `<meta http-equiv="refresh" content="2">`) || !strings.Contains(page, `href="/jobs/`+open.ID+`"`) {
		t.Errorf("open job page: %s", page)
	}
	c.get("/jobs/00000000-0000-0000-0000-000000000000").want(t, 404)
}

// TestMigrationScreens: the status of the templates and the tenants, one
// tenant migrated at once, and the fleet as a job (the adminapi's).
func TestMigrationScreens(t *testing.T) {
	t.Parallel()
	e := newEnv(t, options{})
	tn := e.te.Create(t, tenant.Institution)
	c := e.client(t)
	tok := c.login(testToken)
	page := c.get("/migrations").want(t, 200).Body
	for _, want := range []string{"template:institution", tn.Slug, "Al día"} {
		if !strings.Contains(page, want) {
			t.Errorf("migrations page lacks %q", want)
		}
	}
	if r := c.post("/tenants/"+tn.Slug+"/migrate", url.Values{"csrf": {tok}}).want(t, 303); r.Location != "/tenants/"+tn.Slug+"?done=migrated" {
		t.Fatalf("migrate redirects to %q", r.Location)
	}
	id := jobOf(t, c.post("/migrations", url.Values{"csrf": {tok}}))
	body, j := c.waitJob(t, e, id)
	if j.Status != catalog.JobSucceeded || j.Kind != catalog.JobMigrate || !strings.Contains(body, "Toda la flota") || !strings.Contains(body, tn.Slug) {
		t.Fatalf("fleet job %+v: %s", j, body)
	}
	var n int
	if err := e.te.Catalog.Pool().QueryRow(e.te.Ctx, `SELECT count(*) FROM operator_audit WHERE action = 'migrate.up' AND source = 'console'`).Scan(&n); err != nil || n != 2 {
		t.Errorf("console migrate.up rows: %d %v", n, err)
	}
}

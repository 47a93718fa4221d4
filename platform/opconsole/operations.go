package opconsole

import (
	"encoding/json"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/tenancy/platform/platform/adminapi"
	"github.com/tenancy/platform/platform/backup"
	"github.com/tenancy/platform/platform/catalog"
	"github.com/tenancy/platform/platform/importer"
	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/httpx"
)

// idParam copies the path parameter: Fiber's strings die with the request.
func idParam(c *fiber.Ctx) string { return strings.Clone(c.Params("id")) }

type migrationsData struct {
	Results []adminapi.Migration
	JobsOn  bool
}

// migrations: GET /migrations, each template's and tenant's version
// against the latest, dirty ones marked, and the fleet-wide run.
func (s *Console) migrations(c *fiber.Ctx) error {
	p := s.page(c, "op.migrations.title")
	rs, err := s.ops.MigrationStatus(c.UserContext(), "")
	if err != nil {
		return s.fail(c, p, err)
	}
	p.Data = &migrationsData{Results: adminapi.MigrationViews(rs), JobsOn: s.api.Jobs != nil}
	return s.Render(c, fiber.StatusOK, "migrations", p)
}

// migrateFleet: POST /migrations, the fleet migration as a job.
func (s *Console) migrateFleet(c *fiber.Ctx) error {
	j, err := s.ops.StartFleetMigration(c.UserContext())
	if err != nil {
		return s.fail(c, s.page(c, "op.migrations.title"), err)
	}
	return see(c, "/jobs/"+j.ID)
}

// migrateTenant: POST /tenants/{slug}/migrate, one tenant, at once.
func (s *Console) migrateTenant(c *fiber.Ctx) error {
	slug := slugParam(c)
	p := s.page(c, "op.tenant.title")
	rs, err := s.ops.Migrate(c.UserContext(), slug)
	if tenant.ErrorCode(err) == httpx.EMigrationFailed {
		p.Title, p.FormError, p.Reason = "op.migrations.title", "op.migrations.failed", tenant.ErrorMessage(err)
		p.Data = &migrationsData{Results: adminapi.MigrationViews(rs)}
		return s.Render(c, httpx.Status(httpx.EMigrationFailed), "migrations", p)
	}
	if err != nil {
		return s.fail(c, p, err)
	}
	return see(c, "/tenants/"+slug+"?done=migrated")
}

// backupsOff is the page of a server without backups.
func (s *Console) backupsOff(c *fiber.Ctx) error {
	p := s.page(c, "op.backups.title")
	p.FormError = "op.backups.off"
	return s.Render(c, fiber.StatusServiceUnavailable, "error", p)
}

type backupsData struct {
	T       adminapi.Tenant
	Backups []*backup.Backup
	CanRun  bool
}

// backups: GET /tenants/{slug}/backups, the tenant's backups.
func (s *Console) backups(c *fiber.Ctx) error {
	if !s.ops.BackupsEnabled(false) {
		return s.backupsOff(c)
	}
	p := s.page(c, "op.backups.title")
	ctx := c.UserContext()
	t, err := s.api.Service.Get(ctx, slugParam(c))
	if err != nil {
		return s.fail(c, p, err)
	}
	bs, err := s.ops.Backups(ctx, t.Slug)
	if err != nil {
		return s.fail(c, p, err)
	}
	p.Data = &backupsData{T: adminapi.TenantView(s.api.Service, t), Backups: bs,
		CanRun: s.ops.BackupsEnabled(true) && (t.Status == tenant.StatusActive || t.Status == tenant.StatusSuspended)}
	return s.Render(c, fiber.StatusOK, "backups", p)
}

// backupRun: POST /tenants/{slug}/backups, a backup job.
func (s *Console) backupRun(c *fiber.Ctx) error {
	if !s.ops.BackupsEnabled(true) {
		return s.backupsOff(c)
	}
	j, err := s.ops.StartBackup(c.UserContext(), slugParam(c))
	if err != nil {
		return s.fail(c, s.page(c, "op.backups.title"), err)
	}
	return see(c, "/jobs/"+j.ID)
}

// backupVerify: POST /backups/{id}/verify, a verify job.
func (s *Console) backupVerify(c *fiber.Ctx) error {
	if !s.ops.BackupsEnabled(true) {
		return s.backupsOff(c)
	}
	j, err := s.ops.StartVerify(c.UserContext(), idParam(c))
	if err != nil {
		return s.fail(c, s.page(c, "op.backups.title"), err)
	}
	return see(c, "/jobs/"+j.ID)
}

// restoreForm: GET /backups/{id}/restore, the typed confirmation.
func (s *Console) restoreForm(c *fiber.Ctx) error {
	if !s.ops.BackupsEnabled(true) {
		return s.backupsOff(c)
	}
	p := s.page(c, "op.restore.title")
	b, err := s.ops.Backup(c.UserContext(), idParam(c))
	if err != nil {
		return s.fail(c, p, err)
	}
	p.Data = b
	return s.Render(c, fiber.StatusOK, "restore", p)
}

// restore: POST /backups/{id}/restore {confirm, as}: confirm must be the
// backup's tenant slug; as, if given, restores into a new tenant.
func (s *Console) restore(c *fiber.Ctx) error {
	if !s.ops.BackupsEnabled(true) {
		return s.backupsOff(c)
	}
	p := s.page(c, "op.restore.title")
	ctx := c.UserContext()
	b, err := s.ops.Backup(ctx, idParam(c))
	if err != nil {
		return s.fail(c, p, err)
	}
	p.Data = b
	confirm, as := strings.Clone(c.FormValue("confirm")), strings.TrimSpace(strings.Clone(c.FormValue("as")))
	p.Values["confirm"], p.Values["as"] = confirm, as
	if as != "" && tenant.ValidateSlug(as) != nil {
		p.Errors["as"] = p.T("op.create.slug_invalid")
	}
	if confirm != b.TenantSlug {
		p.Errors["confirm"] = p.T("op.confirm.mismatch", "Slug", b.TenantSlug)
	}
	if len(p.Errors) > 0 {
		p.FormError = "op.form.has_errors"
		return s.Render(c, fiber.StatusUnprocessableEntity, "restore", p)
	}
	j, err := s.ops.StartRestore(ctx, b.ID, confirm, as)
	if err != nil {
		return s.fail(c, p, err)
	}
	return see(c, "/jobs/"+j.ID)
}

type jobData struct {
	J       *catalog.OperatorJob
	Done    bool
	Result  string           // the result, indented JSON (operator-facing)
	Backups bool             // a link to the tenant's backups makes sense
	Report  *importer.Report // an import job's result
}

// job: GET /jobs/{id}, a job's progress and result; it reloads itself
// every two seconds while the job runs.
func (s *Console) job(c *fiber.Ctx) error {
	p := s.page(c, "op.job.title")
	j, err := s.ops.Job(c.UserContext(), idParam(c))
	if err != nil {
		return s.fail(c, p, err)
	}
	d := &jobData{J: j, Done: j.Status == catalog.JobSucceeded || j.Status == catalog.JobFailed, Backups: j.Kind != catalog.JobMigrate}
	if j.Kind == catalog.JobImport && len(j.Result) > 0 {
		// The report as a table, not as JSON.
		var rep importer.Report
		if err := json.Unmarshal(j.Result, &rep); err != nil {
			return s.fail(c, p, err)
		}
		d.Report = &rep
	} else if len(j.Result) > 0 {
		var v any
		if json.Unmarshal(j.Result, &v) == nil {
			if m, ok := v.(map[string]any); ok {
				delete(m, "wrapped_key") // of no use on a page
			}
			if b, err := json.MarshalIndent(v, "", "  "); err == nil {
				d.Result = string(b)
			}
		}
	}
	p.Refresh = !d.Done
	p.Data = d
	return s.Render(c, fiber.StatusOK, "job", p)
}

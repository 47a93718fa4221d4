package adminapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/tenancy/platform/platform/backup"
	"github.com/tenancy/platform/platform/catalog"
	"github.com/tenancy/platform/platform/opjob"
	"github.com/tenancy/platform/tenant"
)

// Backups is what the API needs of the backup service (*backup.Service).
type Backups interface {
	Run(ctx context.Context, slug, reason string) (*backup.Backup, error)
	List(ctx context.Context, slug string) ([]*backup.Backup, error)
	Get(ctx context.Context, id string) (*backup.Backup, error)
	Verify(ctx context.Context, id string) (*backup.VerifyResult, error)
	Restore(ctx context.Context, id string, opts backup.RestoreOptions) (*backup.RestoreResult, error)
}

// Codes a verify job records when the backup did not verify (the job's
// code, not an HTTP status: the job itself was answered 202).
const (
	EVerifyCorrupt = "verify_corrupt" // the artifact or its manifest cannot be trusted
	EVerifyFailed  = "verify_failed"  // authentic, but pg_restore failed or a count differs
)

// backupsOff answers the backup routes of a server without a backup store.
var errBackupsOff = tenant.Errorf(tenant.EUnavailable, "backups are not configured on this server (PLATFORM_BACKUP_URL is not set)")

func (a *api) backups(jobs bool) error {
	if a.cfg.Backups == nil || jobs && a.cfg.Jobs == nil {
		return errBackupsOff
	}
	return nil
}

// id copies the path parameter: Fiber's strings die with the request.
func id(c *fiber.Ctx) string { return strings.Clone(c.Params("id")) }

// emptyBody refuses any body but none, {} or whitespace.
func emptyBody(c *fiber.Ctx) error {
	if len(bytes.TrimSpace(c.Body())) == 0 {
		return nil
	}
	var none struct{}
	return decode(c, &none)
}

// actorName is the job's actor: the operator the API authenticated.
func actorName(ctx context.Context) string {
	if a, ok := tenant.ActorFrom(ctx); ok {
		return a.Name
	}
	return "api:anonymous"
}

// accepted answers 202 with the job and where to follow it.
func accepted(c *fiber.Ctx, j *catalog.OperatorJob) error {
	c.Location("/v1/jobs/" + j.ID)
	return c.Status(fiber.StatusAccepted).JSON(fiber.Map{"job": j})
}

// auditJob records the end of a backup or verify job in the operator audit
// (restore is recorded by the backup service itself), with the actor the
// job's context carries.
func (a *api) auditJob(ctx context.Context, action, slug string, details map[string]any, err error) {
	actor, ok := tenant.ActorFrom(ctx)
	if !ok {
		actor = tenant.Actor{Name: "api:anonymous", Source: "api"}
	}
	if actor.IP != "" {
		details["ip"] = actor.IP
	}
	if err != nil {
		details["error"] = ErrorText(err)
	}
	if aerr := a.cfg.Catalog.RecordOperatorAction(context.WithoutCancel(ctx), catalog.OperatorAction{
		Actor: actor.Name, Source: "api", Action: action, Tenant: slug, Failed: err != nil, Details: details}); aerr != nil {
		a.cfg.Logger.ErrorContext(ctx, "operator audit write failed", "action", action, "tenant", slug, "err", aerr)
	}
}

// backupRun starts a backup job of the tenant: 404 for an unknown tenant
// and 409 for one that is not backed up in its state, before any job.
func (a *api) backupRun(c *fiber.Ctx) error {
	if err := a.backups(true); err != nil {
		return err
	}
	if err := emptyBody(c); err != nil {
		return err
	}
	s := slug(c)
	ctx := a.opCtx(c)
	t, err := a.cfg.Catalog.TenantBySlug(ctx, s)
	if err != nil {
		return a.audit(c, "backup.run", s, nil, err)
	}
	if t.Status != tenant.StatusActive && t.Status != tenant.StatusSuspended {
		return a.audit(c, "backup.run", s, nil,
			tenant.Errorf(tenant.EConflict, "tenant %q is %s; only active or suspended tenants are backed up", s, t.Status))
	}
	j, err := a.cfg.Jobs.Start(ctx, catalog.JobBackup, s, "", actorName(ctx), func(ctx context.Context) (any, error) {
		b, err := a.cfg.Backups.Run(ctx, s, backup.ReasonManual)
		details := map[string]any{"job_id": opjob.ID(ctx)}
		if b != nil {
			details["backup_id"] = b.ID
		}
		a.auditJob(ctx, "backup.run", s, details, err)
		return b, err
	})
	if err != nil {
		return err
	}
	return accepted(c, j)
}

func (a *api) backupList(c *fiber.Ctx) error {
	if err := a.backups(false); err != nil {
		return err
	}
	bs, err := a.cfg.Backups.List(c.UserContext(), slug(c))
	if err != nil {
		return err
	}
	if bs == nil {
		bs = []*backup.Backup{}
	}
	return c.JSON(fiber.Map{"backups": bs})
}

func (a *api) backupShow(c *fiber.Ctx) error {
	if err := a.backups(false); err != nil {
		return err
	}
	b, err := a.cfg.Backups.Get(c.UserContext(), id(c))
	if err != nil {
		return err
	}
	return c.JSON(b)
}

// usableBackup reads the backup of the path for verify or restore: 400 for
// a malformed id, 404 for an unknown one, 409 for one not completed or
// verified (running, stale, failed, expired). A refused backup's tenant
// slug is returned too, for the audit.
func (a *api) usableBackup(c *fiber.Ctx, what string) (*backup.Backup, string, error) {
	b, err := a.cfg.Backups.Get(c.UserContext(), id(c))
	if err != nil {
		return nil, "", err
	}
	if b.Status != catalog.BackupCompleted && b.Status != catalog.BackupVerified {
		return nil, b.TenantSlug, tenant.Errorf(tenant.EConflict, "backup %s is %s; only completed or verified backups can be %s", b.ID, b.Status, what)
	}
	return b, b.TenantSlug, nil
}

func (a *api) backupVerify(c *fiber.Ctx) error {
	if err := a.backups(true); err != nil {
		return err
	}
	if err := emptyBody(c); err != nil {
		return err
	}
	b, owner, err := a.usableBackup(c, "verified")
	if err != nil {
		return a.audit(c, "backup.verify", owner, map[string]any{"backup_id": id(c)}, err)
	}
	ctx := a.opCtx(c)
	j, err := a.cfg.Jobs.Start(ctx, catalog.JobVerify, b.TenantSlug, b.ID, actorName(ctx), func(ctx context.Context) (any, error) {
		res, err := a.cfg.Backups.Verify(ctx, b.ID)
		err = verifyJobError(b.ID, err)
		details := map[string]any{"job_id": opjob.ID(ctx), "backup_id": b.ID}
		if res != nil {
			details["outcome"] = res.Outcome
		}
		a.auditJob(ctx, "backup.verify", b.TenantSlug, details, err)
		return res, err
	})
	if err != nil {
		return err
	}
	return accepted(c, j)
}

// verifyJobError gives a verification that did not pass its code and the
// line the CLI prints ("backup ID corrupt: …"); other errors (refusals)
// pass as they are.
func verifyJobError(backupID string, err error) error {
	var ve *backup.VerifyError
	if !errors.As(err, &ve) {
		return err
	}
	code := tenant.EUnavailable
	switch ve.Outcome {
	case backup.OutcomeCorrupt:
		code = EVerifyCorrupt
	case backup.OutcomeFailed:
		code = EVerifyFailed
	}
	return &jobError{safe: tenant.Errorf(code, "backup %s %s: %s", backupID, ve.Outcome, ErrorText(ve.Err)), cause: err}
}

// jobError carries a caller-safe error and its cause (for the log).
type jobError struct {
	safe  *tenant.Error
	cause error
}

func (e *jobError) Error() string   { return e.safe.Message + " (" + e.cause.Error() + ")" }
func (e *jobError) Unwrap() []error { return []error{e.safe, e.cause} }

type restoreBody struct {
	// Confirm must be the backup's tenant slug: the typed confirmation of
	// the CLI's --yes.
	Confirm string `json:"confirm"`
	// As restores into a fresh tenant of that slug (backup.RestoreOptions.As).
	As string `json:"as"`
}

func (a *api) backupRestore(c *fiber.Ctx) error {
	if err := a.backups(true); err != nil {
		return err
	}
	var body restoreBody
	if len(bytes.TrimSpace(c.Body())) > 0 { // none: confirm is missing (422 below)
		if err := decode(c, &body); err != nil {
			return err
		}
	}
	details := map[string]any{"backup_id": id(c)}
	if body.As != "" {
		details["as"] = body.As
	}
	b, owner, err := a.usableBackup(c, "restored")
	if err != nil {
		return a.audit(c, "backup.restore", owner, details, err)
	}
	switch {
	case body.Confirm == "":
		err = tenant.Invalid(map[string]string{"confirm": fmt.Sprintf("required: the slug of the backup's tenant (%q), to confirm that its database is replaced", b.TenantSlug)})
	case body.Confirm != b.TenantSlug:
		err = tenant.Invalid(map[string]string{"confirm": fmt.Sprintf("must be the slug of the backup's tenant (%q)", b.TenantSlug)})
	}
	if err != nil {
		return a.audit(c, "backup.restore", b.TenantSlug, details, err)
	}
	ctx := a.opCtx(c)
	opts := backup.RestoreOptions{As: body.As, Sessions: a.cfg.Sessions}
	j, err := a.cfg.Jobs.Start(ctx, catalog.JobRestore, b.TenantSlug, b.ID, actorName(ctx), func(ctx context.Context) (any, error) {
		return a.cfg.Backups.Restore(ctx, b.ID, opts) // audited by the service
	})
	if err != nil {
		return a.audit(c, "backup.restore", b.TenantSlug, details, err)
	}
	return accepted(c, j)
}

// job answers from the catalog: any replica knows every job.
func (a *api) job(c *fiber.Ctx) error {
	j, err := a.cfg.Catalog.OperatorJob(c.UserContext(), id(c))
	if err != nil {
		return err
	}
	return c.JSON(j)
}

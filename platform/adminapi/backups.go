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

func (a *Ops) backups(jobs bool) error {
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

// accepted answers 202 with the job and where to follow it.
func accepted(c *fiber.Ctx, j *catalog.OperatorJob) error {
	c.Location("/v1/jobs/" + j.ID)
	return c.Status(fiber.StatusAccepted).JSON(fiber.Map{"job": j})
}

// auditJob records the end of a backup, verify or migrate job in the
// operator audit (restore is recorded by the backup service itself), with
// the actor the job's context carries.
func (a *Ops) auditJob(ctx context.Context, action, slug string, details map[string]any, err error) {
	if err != nil {
		details["error"] = ErrorText(err)
	}
	_ = a.record(ctx, actorOf(ctx), action, slug, details, err)
}

// BackupsEnabled reports whether backups are configured (jobs: and their
// jobs can run).
func (a *Ops) BackupsEnabled(jobs bool) bool { return a.backups(jobs) == nil }

// StartBackup starts a backup job of the tenant slug for the operator of
// ctx: ENotFound for an unknown tenant and EConflict for one that is not
// backed up in its state, before any job (both audited), EUnavailable
// without backups.
func (a *Ops) StartBackup(ctx context.Context, s string) (*catalog.OperatorJob, error) {
	if err := a.backups(true); err != nil {
		return nil, err
	}
	actor := actorOf(ctx)
	t, err := a.cfg.Catalog.TenantBySlug(ctx, s)
	if err != nil {
		return nil, a.record(ctx, actor, "backup.run", s, nil, err)
	}
	if t.Status != tenant.StatusActive && t.Status != tenant.StatusSuspended {
		return nil, a.record(ctx, actor, "backup.run", s, nil,
			tenant.Errorf(tenant.EConflict, "tenant %q is %s; only active or suspended tenants are backed up", s, t.Status))
	}
	return a.cfg.Jobs.Start(ctx, catalog.JobBackup, s, "", actor.Name, func(ctx context.Context) (any, error) {
		b, err := a.cfg.Backups.Run(ctx, s, backup.ReasonManual)
		details := map[string]any{"job_id": opjob.ID(ctx)}
		if b != nil {
			details["backup_id"] = b.ID
		}
		a.auditJob(ctx, "backup.run", s, details, err)
		return b, err
	})
}

// backupRun starts a backup job of the tenant: 404 for an unknown tenant
// and 409 for one that is not backed up in its state, before any job.
func (a *Ops) backupRun(c *fiber.Ctx) error {
	if err := a.backups(true); err != nil {
		return err
	}
	if err := emptyBody(c); err != nil {
		return err
	}
	j, err := a.StartBackup(a.opCtx(c), slug(c))
	if err != nil {
		return err
	}
	return accepted(c, j)
}

// Backups lists a tenant's backups, newest first (EUnavailable without
// backups).
func (a *Ops) Backups(ctx context.Context, s string) ([]*backup.Backup, error) {
	if err := a.backups(false); err != nil {
		return nil, err
	}
	return a.cfg.Backups.List(ctx, s)
}

func (a *Ops) backupList(c *fiber.Ctx) error {
	bs, err := a.Backups(c.UserContext(), slug(c))
	if err != nil {
		return err
	}
	if bs == nil {
		bs = []*backup.Backup{}
	}
	return c.JSON(fiber.Map{"backups": bs})
}

// Backup reads one backup (EUnavailable without backups).
func (a *Ops) Backup(ctx context.Context, id string) (*backup.Backup, error) {
	if err := a.backups(false); err != nil {
		return nil, err
	}
	return a.cfg.Backups.Get(ctx, id)
}

func (a *Ops) backupShow(c *fiber.Ctx) error {
	b, err := a.Backup(c.UserContext(), id(c))
	if err != nil {
		return err
	}
	return c.JSON(b)
}

// usableBackup reads the backup id for verify or restore: EInvalid for a
// malformed id, ENotFound for an unknown one, EConflict for one not
// completed or verified (running, stale, failed, expired). A refused
// backup's tenant slug is returned too, for the audit.
func (a *Ops) usableBackup(ctx context.Context, id, what string) (*backup.Backup, string, error) {
	b, err := a.cfg.Backups.Get(ctx, id)
	if err != nil {
		return nil, "", err
	}
	if b.Status != catalog.BackupCompleted && b.Status != catalog.BackupVerified {
		return nil, b.TenantSlug, tenant.Errorf(tenant.EConflict, "backup %s is %s; only completed or verified backups can be %s", b.ID, b.Status, what)
	}
	return b, b.TenantSlug, nil
}

// StartVerify starts a verify job of backup id for the operator of ctx;
// refusals (see usableBackup) are audited.
func (a *Ops) StartVerify(ctx context.Context, id string) (*catalog.OperatorJob, error) {
	if err := a.backups(true); err != nil {
		return nil, err
	}
	actor := actorOf(ctx)
	b, owner, err := a.usableBackup(ctx, id, "verified")
	if err != nil {
		return nil, a.record(ctx, actor, "backup.verify", owner, map[string]any{"backup_id": id}, err)
	}
	return a.cfg.Jobs.Start(ctx, catalog.JobVerify, b.TenantSlug, b.ID, actor.Name, func(ctx context.Context) (any, error) {
		res, err := a.cfg.Backups.Verify(ctx, b.ID)
		err = verifyJobError(b.ID, err)
		details := map[string]any{"job_id": opjob.ID(ctx), "backup_id": b.ID}
		if res != nil {
			details["outcome"] = res.Outcome
		}
		a.auditJob(ctx, "backup.verify", b.TenantSlug, details, err)
		return res, err
	})
}

func (a *Ops) backupVerify(c *fiber.Ctx) error {
	if err := a.backups(true); err != nil {
		return err
	}
	if err := emptyBody(c); err != nil {
		return err
	}
	j, err := a.StartVerify(a.opCtx(c), id(c))
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

// StartRestore starts a restore job of backup id for the operator of
// ctx. confirm must be the backup's tenant slug (the typed confirmation
// of the CLI's --yes; otherwise an EValidation on field "confirm"); as,
// when not empty, restores into a fresh tenant of that slug
// (backup.RestoreOptions.As). Refusals are audited; the restore itself is
// audited by the backup service.
func (a *Ops) StartRestore(ctx context.Context, id, confirm, as string) (*catalog.OperatorJob, error) {
	if err := a.backups(true); err != nil {
		return nil, err
	}
	actor := actorOf(ctx)
	details := map[string]any{"backup_id": id}
	if as != "" {
		details["as"] = as
	}
	b, owner, err := a.usableBackup(ctx, id, "restored")
	if err != nil {
		return nil, a.record(ctx, actor, "backup.restore", owner, details, err)
	}
	switch {
	case confirm == "":
		err = tenant.Invalid(map[string]string{"confirm": fmt.Sprintf("required: the slug of the backup's tenant (%q), to confirm that its database is replaced", b.TenantSlug)})
	case confirm != b.TenantSlug:
		err = tenant.Invalid(map[string]string{"confirm": fmt.Sprintf("must be the slug of the backup's tenant (%q)", b.TenantSlug)})
	}
	if err != nil {
		return nil, a.record(ctx, actor, "backup.restore", b.TenantSlug, details, err)
	}
	opts := backup.RestoreOptions{As: as, Sessions: a.cfg.Sessions}
	j, err := a.cfg.Jobs.Start(ctx, catalog.JobRestore, b.TenantSlug, b.ID, actor.Name, func(ctx context.Context) (any, error) {
		return a.cfg.Backups.Restore(ctx, b.ID, opts) // audited by the service
	})
	if err != nil {
		return nil, a.record(ctx, actor, "backup.restore", b.TenantSlug, details, err)
	}
	return j, nil
}

func (a *Ops) backupRestore(c *fiber.Ctx) error {
	if err := a.backups(true); err != nil {
		return err
	}
	var body restoreBody
	if len(bytes.TrimSpace(c.Body())) > 0 { // none: confirm is missing (422 below)
		if err := decode(c, &body); err != nil {
			return err
		}
	}
	j, err := a.StartRestore(a.opCtx(c), id(c), body.Confirm, body.As)
	if err != nil {
		return err
	}
	return accepted(c, j)
}

// Job reads an operator job from the catalog: any replica knows every job.
func (a *Ops) Job(ctx context.Context, id string) (*catalog.OperatorJob, error) {
	return a.cfg.Catalog.OperatorJob(ctx, id)
}

// job answers from the catalog: any replica knows every job.
func (a *Ops) job(c *fiber.Ctx) error {
	j, err := a.Job(c.UserContext(), id(c))
	if err != nil {
		return err
	}
	return c.JSON(j)
}

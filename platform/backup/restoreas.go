package backup

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/tenancy/platform/platform/catalog"
	"github.com/tenancy/platform/tenant"
)

// Provisioner makes and purges tenants for restore --as: the path of
// `platform tenant create` and `tenant delete --purge`
// (*provision.Service through an adapter in cmd; an interface here keeps
// backup free of provision).
type Provisioner interface {
	// CreateTenant provisions an active tenant (database, roles, Vault
	// secrets) or fails; a slug that exists is an EConflict.
	CreateTenant(ctx context.Context, slug string, kind tenant.Kind, name, timeZone string) (*tenant.Tenant, error)
	// PurgeTenant removes every part of a tenant, half-made ones too.
	PurgeTenant(ctx context.Context, slug string) error
}

// restoreAs restores backup id into a fresh tenant of slug as, made by the
// Provisioner with the backup's tenant's kind and time zone. The backup's
// tenant is only read (its key context unwraps the data key): no
// maintenance, no safety backup. The fresh tenant is put in maintenance,
// the backup restored into a new database owned and granted as the fresh
// tenant's roles, checked against the manifest and swapped in by rename
// for the provisioned (empty) one, which is dropped; then it is active.
//
// Its users are the backup's (the dump holds the users table): the
// provisioned first admin and its password are gone.
//
// A failure purges the fresh tenant (nothing of it is left). A kill
// leaves it in maintenance with a restore record naming the source; a
// re-run of the same restore purges it and starts again. A kill while the
// provisioner runs leaves what `tenant create` leaves: a tenant in
// provisioning, which `tenant delete --purge` removes.
func (s *Service) restoreAs(ctx context.Context, id, as string, hook rsHookFunc) (res *RestoreResult, err error) {
	start := time.Now()
	if err := tenant.ValidateSlug(as); err != nil {
		return nil, err
	}
	p := s.cfg.Provisioner
	if p == nil {
		return nil, tenant.Errorf(tenant.EUnavailable, "restore --as needs the provisioning service, which this process was not given")
	}
	b, err := s.cat.BackupByID(ctx, id)
	if err != nil {
		return nil, err
	}
	if b.Status != catalog.BackupCompleted && b.Status != catalog.BackupVerified {
		return nil, tenant.Errorf(tenant.EConflict, "backup %s is %s; only completed or verified backups are restored", id, b.Status)
	}
	if as == b.TenantSlug {
		return nil, tenant.Errorf(tenant.EConflict, "tenant %q is the backup's own tenant: restore without --as to replace its database", as)
	}
	src, err := s.cat.TenantBySlug(ctx, b.TenantSlug)
	if err != nil {
		return nil, err
	}
	res = &RestoreResult{BackupID: b.ID, Tenant: as, SourceTenant: src.Slug}
	defer func() {
		if err != nil {
			s.auditAs(ctx, src.Slug, as, b.ID, err)
		}
	}()

	recovered, err := s.purgeInterruptedAs(ctx, b, as)
	if err != nil {
		return nil, err
	}
	res.Recovered = recovered

	// Everything that can be checked is checked before the tenant is made.
	manifest, err := s.readManifest(ctx, b)
	if err != nil {
		return nil, err
	}
	key, err := s.vault.UnwrapKey(ctx, b.TenantID, b.WrappedKey) // backups are keyed by their tenant
	if err != nil {
		return nil, err
	}
	if srv := s.servers[src.DBServer]; srv != nil {
		if _, err := s.findPGRestore(ctx, srv); err != nil {
			return nil, err
		}
	}

	name := tenant.SanitizeText(src.Name) // one stored before names were checked may hold control characters
	if utf8.RuneCountInString(name) > 140 {
		name = string([]rune(name)[:140])
	}
	if _, err := p.CreateTenant(ctx, as, src.Kind, name+" (restore of backup "+b.ID+")", src.TimeZone); err != nil {
		switch tenant.ErrorCode(err) {
		case tenant.EConflict, tenant.EInvalid:
			return nil, err // refused: nothing of ours was made
		}
		return nil, s.purgeAs(ctx, as, err)
	}
	err = s.cat.WithLock(ctx, "tenant:"+as, func() error {
		return s.restoreAsLocked(ctx, b, manifest, key, as, res, hook)
	})
	var crash rsCrash
	if errors.As(err, &crash) {
		return nil, err
	}
	if err != nil {
		return nil, s.purgeAs(ctx, as, err)
	}
	res.Duration = time.Since(start)
	if nt, err := s.cat.TenantBySlug(ctx, as); err == nil {
		s.restoredSchema(ctx, nt, b)
	} else {
		s.log.WarnContext(ctx, "record tenant schema version after restore --as", "tenant", as, "err", err)
	}
	s.auditAs(ctx, src.Slug, as, b.ID, nil)
	s.log.Info("restore --as completed", "tenant", as, "source_tenant", src.Slug, "backup_id", b.ID,
		"duration_ms", res.Duration.Milliseconds())
	return res, nil
}

// purgeInterruptedAs refuses a slug that exists, unless it is the fresh
// tenant of an interrupted restore --as of this same backup: that one is
// purged, and the returned message says so.
func (s *Service) purgeInterruptedAs(ctx context.Context, b *Backup, as string) (string, error) {
	t, err := s.cat.TenantBySlug(ctx, as)
	if tenant.ErrorCode(err) == tenant.ENotFound {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	exists := tenant.Errorf(tenant.EConflict, "tenant %q already exists (%s): restore --as makes a new tenant; choose another slug", as, t.Status)
	rec, err := s.loadRestoreRecord(ctx, t.ID)
	if err != nil {
		return "", err
	}
	if rec == nil || rec.Source == "" || rec.BackupID != b.ID {
		return "", exists
	}
	// A run that is not dead holds the tenant's lock for as long as the
	// record exists: only a record nobody holds is an interrupted run's.
	free, err := s.cat.TryLock(ctx, "tenant:"+as, func() error {
		rec, err := s.loadRestoreRecord(ctx, t.ID)
		if err == nil && (rec == nil || rec.Source == "" || rec.BackupID != b.ID) {
			return exists // it finished meanwhile
		}
		return err
	})
	if err != nil {
		return "", err
	}
	if !free {
		return "", tenant.Errorf(tenant.EConflict, "a restore --as of backup %s into %q is running", b.ID, as)
	}
	if err := s.cfg.Provisioner.PurgeTenant(ctx, as); err != nil {
		return "", fmt.Errorf("purge tenant %q, left by an interrupted restore --as: %w", as, err)
	}
	s.log.Warn("purged the tenant of an interrupted restore --as", "tenant", as, "backup_id", b.ID)
	return fmt.Sprintf("purged tenant %s, left by an interrupted restore of backup %s, and started again", as, b.ID), nil
}

// purgeAs removes the fresh tenant after cause, and says what is left. A
// domain error keeps its code, and the line says what happened too.
func (s *Service) purgeAs(ctx context.Context, as string, cause error) error {
	msg := fmt.Sprintf("restore --as %s failed; the new tenant was purged, the backup's tenant untouched", as)
	if err := s.cfg.Provisioner.PurgeTenant(context.WithoutCancel(ctx), as); err != nil && tenant.ErrorCode(err) != tenant.ENotFound {
		msg = fmt.Sprintf("restore --as %s failed and purging the new tenant failed too (%s): run `platform tenant delete %s --purge --yes`",
			as, errText(err), as)
	}
	if code := tenant.ErrorCode(cause); code != tenant.EInternal {
		return tenant.Errorf(code, "%s: %s", msg, tenant.ErrorMessage(cause))
	}
	return fmt.Errorf("%s: %w", msg, cause)
}

func errText(err error) string {
	if tenant.ErrorCode(err) != tenant.EInternal {
		return tenant.ErrorMessage(err)
	}
	return err.Error()
}

func (s *Service) restoreAsLocked(ctx context.Context, b *Backup, m *Manifest, key []byte, as string,
	res *RestoreResult, hook rsHookFunc) error {
	t, err := s.cat.TenantBySlug(ctx, as)
	if err != nil {
		return err
	}
	if t.Status != tenant.StatusActive {
		return tenant.Errorf(tenant.EConflict, "the new tenant %q is %s, not active", as, t.Status)
	}
	srv := s.servers[t.DBServer]
	if srv == nil {
		return tenant.Errorf(tenant.EUnavailable, "tenant %q is on database server %q, which this process has no admin connection to", t.Slug, t.DBServer)
	}
	bin, err := s.findPGRestore(ctx, srv)
	if err != nil {
		return err
	}
	rec := &restoreRecord{BackupID: b.ID, Slug: t.Slug, Database: t.Database, PrevStatus: tenant.StatusActive,
		Source: b.TenantSlug, StartedAt: time.Now().UTC()}
	if err := nameRestore(ctx, srv, rec); err != nil {
		return err
	}
	res.Database = t.Database
	if err := s.saveRestoreStep(ctx, t.ID, rec, rsStepMaintenance); err != nil {
		return err
	}
	if err := runHook(hook, rsStepMaintenance); err != nil {
		return err
	}
	// Nobody knows the provisioned admin's password, but the router
	// should not serve the empty database either.
	if err := s.cat.SetStatus(ctx, t.Slug, tenant.StatusMaintenance, tenant.StatusActive); err != nil {
		return err
	}
	if err := s.saveRestoreStep(ctx, t.ID, rec, rsStepRestoring); err != nil {
		return err
	}
	if err := runHook(hook, rsStepRestoring); err != nil {
		return err
	}
	// restoreInto creates and grants as t's roles: the fresh tenant's.
	if res.Tables, res.Rows, err = s.restoreInto(ctx, srv, bin, t, b, m, key, rec.NewDatabase); err != nil {
		return err
	}
	if err := s.saveRestoreStep(ctx, t.ID, rec, rsStepSwapping); err != nil {
		return err
	}
	if err := runHook(hook, rsStepSwapping); err != nil {
		return err
	}
	if err := s.swap(ctx, srv, rec); err != nil {
		return err
	}
	// The replaced database is the provisioned, empty one: nothing to keep.
	if err := srv.DropDatabase(ctx, rec.PreDatabase); err != nil {
		return err
	}
	if err := s.saveRestoreStep(ctx, t.ID, rec, rsStepSwapped); err != nil {
		return err
	}
	if err := runHook(hook, rsStepSwapped); err != nil {
		return err
	}
	if err := s.cat.SetStatus(ctx, t.Slug, tenant.StatusActive, tenant.StatusMaintenance); err != nil {
		return err
	}
	return s.cat.DeleteRestoreRecord(ctx, t.ID)
}

// auditAs records a restore --as, naming both tenants.
func (s *Service) auditAs(ctx context.Context, source, as, backupID string, err error) {
	a, ok := tenant.ActorFrom(ctx)
	if !ok {
		a = tenant.Actor{Name: "unknown", Source: "cli"}
	}
	details := map[string]any{"backup_id": backupID, "source_tenant": source, "new_tenant": as}
	if aerr := s.cat.RecordOperatorAction(context.WithoutCancel(ctx), catalog.OperatorAction{
		Actor: a.Name, Source: a.Source, Action: "backup.restore_as", Tenant: as, Failed: err != nil, Details: details}); aerr != nil {
		s.log.Error("operator audit write failed", "action", "backup.restore_as", "tenant", as, "err", aerr)
	}
}

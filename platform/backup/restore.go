package backup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenancy/platform/platform/backup/crypt"
	"github.com/tenancy/platform/platform/catalog"
	"github.com/tenancy/platform/platform/pgadmin"
	"github.com/tenancy/platform/tenant"
)

// SessionEnder ends every session of a tenant (tenant/auth/session.Store).
type SessionEnder interface {
	RevokeTenant(ctx context.Context, tenantID string) (int, error)
}

// RestoreOptions tune one restore.
type RestoreOptions struct {
	// As restores into a fresh tenant of that slug (see restoreAs) instead
	// of replacing the backup's tenant's database.
	As string
	// Sessions, if not nil, ends the tenant's sessions after the swap.
	Sessions SessionEnder
}

// RestoreResult says what a restore did.
type RestoreResult struct {
	BackupID string `json:"backup_id"`
	Tenant   string `json:"tenant"`
	// SourceTenant is the backup's tenant when it was restored --as Tenant.
	SourceTenant      string        `json:"source_tenant,omitempty"`
	SafetyBackupID    string        `json:"safety_backup_id,omitempty"`
	Database          string        `json:"database"`
	PreviousDatabase  string        `json:"previous_database"`
	Tables            int           `json:"tables"`
	Rows              int64         `json:"rows"`
	SessionsEnded     int           `json:"sessions_ended"`
	Duration          time.Duration `json:"duration_ns"`
	MaintenanceWindow time.Duration `json:"maintenance_window_ns"`
	// Recovered says what this run did with an interrupted earlier one.
	Recovered string `json:"recovered,omitempty"`
}

// Restore steps, recorded in the catalog before each starts.
const (
	rsStepMaintenance = "maintenance"
	rsStepRestoring   = "restoring"
	rsStepSwapping    = "swapping"
	rsStepSwapped     = "swapped"
)

// restoreRecord is the catalog's record of a restore in progress.
type restoreRecord struct {
	BackupID       string        `json:"backup_id"`
	Slug           string        `json:"slug"`
	Database       string        `json:"database"`
	NewDatabase    string        `json:"new_database"`
	PreDatabase    string        `json:"pre_database"`
	PrevStatus     tenant.Status `json:"prev_status"`
	SafetyBackupID string        `json:"safety_backup_id"`
	// Source is set for a restore --as: the backup's tenant, while Slug is
	// the fresh one being made (a re-run purges it and starts again).
	Source    string    `json:"source,omitempty"`
	Step      string    `json:"step"`
	StartedAt time.Time `json:"started_at"`
}

// rsHook, when set by tests, runs before each step; an error aborts there
// like a crash (nothing is rolled back).
type rsHookFunc func(step string) error

// rsCrash is a hook's error: a simulated crash, after which nothing is
// cleaned up.
type rsCrash struct{ error }

func (c rsCrash) Unwrap() error { return c.error }

func runHook(hook rsHookFunc, step string) error {
	if hook == nil {
		return nil
	}
	if err := hook(step); err != nil {
		return rsCrash{err}
	}
	return nil
}

// maintenanceDB is where ALTER DATABASE statements run from: never a
// database being renamed, never template1 (a session there blocks
// CREATE DATABASE on the server).
const maintenanceDB = "postgres"

// Restore replaces the database of the backup's tenant with the backup,
// under the tenant's lock: a safety backup of the current database first,
// then maintenance, a restore into a new database checked against the
// manifest, a swap by rename (the previous database is kept, connections
// refused, as <db>_pre_restore_<ts>), and maintenance ends. A failure
// before the swap drops the new database and leaves the tenant as it was.
// A run that finds an interrupted restore of the tenant finishes it (the
// swap was committed) or rolls it back first, and says so.
func (s *Service) Restore(ctx context.Context, id string, opts RestoreOptions) (*RestoreResult, error) {
	return s.restore(ctx, id, opts, nil)
}

func (s *Service) restore(ctx context.Context, id string, opts RestoreOptions, hook rsHookFunc) (*RestoreResult, error) {
	if opts.As != "" {
		return s.restoreAs(ctx, id, opts.As, hook)
	}
	start := time.Now()
	b, err := s.cat.BackupByID(ctx, id)
	if err != nil {
		return nil, err
	}
	if b.Status != catalog.BackupCompleted && b.Status != catalog.BackupVerified {
		return nil, tenant.Errorf(tenant.EConflict, "backup %s is %s; only completed or verified backups are restored", id, b.Status)
	}
	var res *RestoreResult
	err = s.cat.WithLock(ctx, "tenant:"+b.TenantSlug, func() error {
		var err error
		res, err = s.restoreLocked(ctx, b, opts, hook)
		return err
	})
	if err != nil {
		s.audit(ctx, b.TenantSlug, id, nil, err)
		return nil, err
	}
	res.Duration = time.Since(start)
	s.log.Info("restore completed", "tenant", res.Tenant, "backup_id", id, "duration_ms", res.Duration.Milliseconds(),
		"maintenance_ms", res.MaintenanceWindow.Milliseconds(), "previous_database", res.PreviousDatabase)
	return res, nil
}

func (s *Service) restoreLocked(ctx context.Context, b *Backup, opts RestoreOptions, hook rsHookFunc) (*RestoreResult, error) {
	step := func(name string) error { return runHook(hook, name) }
	t, err := s.cat.TenantBySlug(ctx, b.TenantSlug)
	if err != nil {
		return nil, err
	}
	srv := s.servers[t.DBServer]
	if srv == nil {
		return nil, tenant.Errorf(tenant.EUnavailable, "tenant %q is on database server %q, which this process has no admin connection to", t.Slug, t.DBServer)
	}
	res := &RestoreResult{BackupID: b.ID, Tenant: t.Slug, Database: t.Database}
	if rec, err := s.loadRestoreRecord(ctx, t.ID); err != nil {
		return nil, err
	} else if rec != nil && rec.Source != "" {
		return nil, tenant.Errorf(tenant.EConflict, "tenant %q is the target of an unfinished restore --as of backup %s: run `platform backup restore %s --as %s --yes` again (it starts over) or purge the tenant",
			t.Slug, rec.BackupID, rec.BackupID, t.Slug)
	} else if rec != nil {
		msg, err := s.recoverRestore(ctx, srv, t, rec, opts)
		if err != nil {
			return nil, fmt.Errorf("an interrupted restore of %q could not be recovered: %w", t.Slug, err)
		}
		res.Recovered = msg
		if t, err = s.cat.TenantBySlug(ctx, t.Slug); err != nil {
			return nil, err
		}
	}
	if t.Status != tenant.StatusActive && t.Status != tenant.StatusSuspended {
		return nil, tenant.Errorf(tenant.EConflict, "tenant %q is %s; only active or suspended tenants are restored", t.Slug, t.Status)
	}

	// Everything that can be checked is checked before the first change.
	manifest, err := s.readManifest(ctx, b)
	if err != nil {
		return nil, err
	}
	key, err := s.vault.UnwrapKey(ctx, t.ID, b.WrappedKey)
	if err != nil {
		return nil, err
	}
	bin, err := s.findPGRestore(ctx, srv)
	if err != nil {
		return nil, err
	}

	safety, err := s.Run(ctx, t.Slug, ReasonPreRestore)
	if err != nil {
		return nil, fmt.Errorf("safety backup before restore failed; nothing changed: %w", err)
	}
	res.SafetyBackupID = safety.ID
	rec := &restoreRecord{BackupID: b.ID, Slug: t.Slug, Database: t.Database, PrevStatus: t.Status,
		SafetyBackupID: safety.ID, StartedAt: time.Now().UTC()}
	if err := nameRestore(ctx, srv, rec); err != nil {
		return nil, err
	}
	res.PreviousDatabase = rec.PreDatabase

	if err := s.saveRestoreStep(ctx, t.ID, rec, rsStepMaintenance); err != nil {
		return nil, err
	}
	if err := step(rsStepMaintenance); err != nil {
		return nil, err
	}
	mStart := time.Now()
	fail := func(cause error) (*RestoreResult, error) {
		if rerr := s.rollbackRestore(context.WithoutCancel(ctx), srv, t, rec); rerr != nil {
			return nil, fmt.Errorf("restore failed (%w) and its rollback too (%v): run the restore again to roll back", cause, rerr)
		}
		return nil, fmt.Errorf("restore failed; tenant %q left as it was (%s, its database untouched): %w", t.Slug, rec.PrevStatus, cause)
	}
	if err := s.cat.SetStatus(ctx, t.Slug, tenant.StatusMaintenance, rec.PrevStatus); err != nil {
		return fail(err)
	}

	if err := s.saveRestoreStep(ctx, t.ID, rec, rsStepRestoring); err != nil {
		return fail(err)
	}
	if err := step(rsStepRestoring); err != nil {
		return nil, err
	}
	tables, rows, err := s.restoreInto(ctx, srv, bin, t, b, manifest, key, rec.NewDatabase)
	if err != nil {
		return fail(err)
	}
	res.Tables, res.Rows = tables, rows

	if err := s.saveRestoreStep(ctx, t.ID, rec, rsStepSwapping); err != nil {
		return fail(err)
	}
	if err := step(rsStepSwapping); err != nil {
		return nil, err
	}
	if err := s.swap(ctx, srv, rec); err != nil {
		return fail(err)
	}
	if err := s.saveRestoreStep(ctx, t.ID, rec, rsStepSwapped); err != nil {
		return nil, fmt.Errorf("restore swapped in but not finished (run it again to finish): %w", err)
	}
	if err := step(rsStepSwapped); err != nil {
		return nil, err
	}
	n, err := s.finishRestore(ctx, t, rec, opts)
	if err != nil {
		return nil, fmt.Errorf("restore swapped in but not finished (run it again to finish): %w", err)
	}
	res.SessionsEnded = n
	res.MaintenanceWindow = time.Since(mStart)
	s.restoredSchema(ctx, t, b)
	s.audit(ctx, t.Slug, b.ID, res, nil)
	return res, nil
}

// restoredSchema records that the tenant's database is now at the
// backup's schema version (restore runs no migration): the fleet's
// pending-migrations metric reads it. A backup does not record whether
// its database was dirty: recorded clean. A record that fails is logged;
// the restore itself is done.
func (s *Service) restoredSchema(ctx context.Context, t *tenant.Tenant, b *Backup) {
	if b.SchemaVersion < 0 {
		return
	}
	if err := s.cat.RecordTenantSchema(context.WithoutCancel(ctx), t.ID, uint(b.SchemaVersion), false); err != nil {
		s.log.WarnContext(ctx, "record tenant schema version after restore", "tenant", t.Slug, "err", err)
	}
}

// rsTSLayout is the timestamp in restore database names, to the
// millisecond (the three digits are appended).
const rsTSLayout = "20060102_150405"

func rsTS(at time.Time) string {
	return at.UTC().Format(rsTSLayout) + fmt.Sprintf("%03d", at.Nanosecond()/1e6)
}

// nameRestore names rec's new and previous databases by the time to the
// millisecond, never one that exists (two restores in one millisecond, or
// a clock set back).
func nameRestore(ctx context.Context, srv *pgadmin.Server, rec *restoreRecord) error {
	for at := rec.StartedAt; ; at = at.Add(time.Millisecond) {
		ts := rsTS(at)
		rec.NewDatabase, rec.PreDatabase = rsName(rec.Database, "_restore_"+ts), rsName(rec.Database, "_pre_restore_"+ts)
		taken := false
		for _, n := range []string{rec.NewDatabase, rec.PreDatabase} {
			exists, err := srv.DatabaseExists(ctx, n)
			if err != nil {
				return err
			}
			taken = taken || exists
		}
		if !taken {
			return nil
		}
	}
}

// rsName is db+suffix within PostgreSQL's 63 bytes: a long db name is cut
// and made unique again with a hash of it.
func rsName(db, suffix string) string {
	if len(db)+len(suffix) <= 63 {
		return db + suffix
	}
	h := crypt.NewDigest()
	io.WriteString(h.Writer(io.Discard), db)
	keep := 63 - len(suffix) - 9
	return db[:keep] + "_" + h.Sum()[:8] + suffix
}

func (s *Service) loadRestoreRecord(ctx context.Context, tenantID string) (*restoreRecord, error) {
	raw, err := s.cat.RestoreRecord(ctx, tenantID)
	if err != nil || raw == nil {
		return nil, err
	}
	var rec restoreRecord
	if err := json.Unmarshal(raw, &rec); err != nil {
		return nil, fmt.Errorf("read restore record: %w", err)
	}
	return &rec, nil
}

func (s *Service) saveRestoreStep(ctx context.Context, tenantID string, rec *restoreRecord, step string) error {
	rec.Step = step
	raw, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return s.cat.SaveRestoreRecord(ctx, tenantID, raw)
}

// recoverRestore finishes (the swap committed: the previous database
// exists) or rolls back an interrupted restore, and says which.
func (s *Service) recoverRestore(ctx context.Context, srv *pgadmin.Server, t *tenant.Tenant, rec *restoreRecord, opts RestoreOptions) (string, error) {
	swapped, err := srv.DatabaseExists(ctx, rec.PreDatabase)
	if err != nil {
		return "", err
	}
	if swapped {
		if _, err := s.finishRestore(ctx, t, rec, opts); err != nil {
			return "", err
		}
		s.log.Warn("finished an interrupted restore", "tenant", t.Slug, "backup_id", rec.BackupID)
		return fmt.Sprintf("finished the interrupted restore of backup %s (previous database %s)", rec.BackupID, rec.PreDatabase), nil
	}
	if err := s.rollbackRestore(ctx, srv, t, rec); err != nil {
		return "", err
	}
	s.log.Warn("rolled back an interrupted restore", "tenant", t.Slug, "backup_id", rec.BackupID)
	return fmt.Sprintf("rolled back the interrupted restore of backup %s: the tenant was as before it", rec.BackupID), nil
}

// rollbackRestore undoes a restore that did not swap: the new database
// dropped, connections allowed again, the status back, the record gone.
func (s *Service) rollbackRestore(ctx context.Context, srv *pgadmin.Server, t *tenant.Tenant, rec *restoreRecord) error {
	if err := srv.DropDatabase(ctx, rec.NewDatabase); err != nil {
		return err
	}
	if err := s.allowConnections(ctx, srv, rec.Database, true); err != nil {
		return err
	}
	if err := s.cat.SetStatus(ctx, t.Slug, rec.PrevStatus, tenant.StatusMaintenance, rec.PrevStatus); err != nil {
		return err
	}
	return s.cat.DeleteRestoreRecord(ctx, t.ID)
}

// finishRestore ends maintenance, ends the sessions and drops the record.
func (s *Service) finishRestore(ctx context.Context, t *tenant.Tenant, rec *restoreRecord, opts RestoreOptions) (int, error) {
	if err := s.cat.SetStatus(ctx, t.Slug, rec.PrevStatus, tenant.StatusMaintenance, rec.PrevStatus); err != nil {
		return 0, err
	}
	n := 0
	if opts.Sessions != nil {
		var err error
		if n, err = opts.Sessions.RevokeTenant(ctx, t.ID); err != nil {
			return 0, fmt.Errorf("end the sessions of %s: %w", t.Slug, err)
		}
	}
	return n, s.cat.DeleteRestoreRecord(ctx, t.ID)
}

func (s *Service) allowConnections(ctx context.Context, srv *pgadmin.Server, db string, allow bool) error {
	exists, err := srv.DatabaseExists(ctx, db)
	if err != nil || !exists {
		return err
	}
	return srv.In(ctx, maintenanceDB, "", func(c *pgx.Conn) error {
		_, err := c.Exec(ctx, "ALTER DATABASE "+pgadmin.Ident(db)+" WITH ALLOW_CONNECTIONS "+strconv.FormatBool(allow))
		return err
	})
}

// swap refuses new connections to the tenant database, ends the ones it
// has, and renames current → previous and new → current in one
// transaction: either both renames happened or neither. The previous
// database keeps refusing connections.
func (s *Service) swap(ctx context.Context, srv *pgadmin.Server, rec *restoreRecord) error {
	if err := s.allowConnections(ctx, srv, rec.Database, false); err != nil {
		return err
	}
	return srv.In(ctx, maintenanceDB, "", func(c *pgx.Conn) error {
		deadline := time.Now().Add(30 * time.Second)
		for {
			if _, err := c.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
				WHERE datname = ANY($1) AND pid <> pg_backend_pid()`, []string{rec.Database, rec.NewDatabase}); err != nil {
				return err
			}
			var n int
			if err := c.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = ANY($1)`,
				[]string{rec.Database, rec.NewDatabase}).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%d sessions still connected to %s after 30 s", n, rec.Database)
			}
			select { // pg_terminate_backend only signals: give the sessions a moment
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
		}
		return pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, "ALTER DATABASE "+pgadmin.Ident(rec.Database)+" RENAME TO "+pgadmin.Ident(rec.PreDatabase)+
				"; ALTER DATABASE "+pgadmin.Ident(rec.NewDatabase)+" RENAME TO "+pgadmin.Ident(rec.Database))
			return err
		})
	})
}

// readManifest reads the backup's manifest and checks it against the
// catalog row.
func (s *Service) readManifest(ctx context.Context, b *Backup) (*Manifest, error) {
	r, err := s.store.Get(ctx, ManifestKey(b.TenantID, b.ID))
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var m Manifest
	if err := json.NewDecoder(io.LimitReader(r, 1<<20)).Decode(&m); err != nil {
		return nil, tenant.Errorf(tenant.EInvalid, "backup %s has an unreadable manifest: %v", b.ID, err)
	}
	if m.BackupID != b.ID || m.TenantID != b.TenantID || m.SHA256 != b.SHA256 || m.Size != b.SizeBytes {
		return nil, tenant.Errorf(tenant.EInvalid, "backup %s: its manifest does not match the catalog", b.ID)
	}
	return &m, nil
}

// findPGRestore is the pg_restore next to a pg_dump at least as new as
// the server.
func (s *Service) findPGRestore(ctx context.Context, srv *pgadmin.Server) (string, error) {
	var version string
	var num int
	err := srv.In(ctx, maintenanceDB, "", func(c *pgx.Conn) error {
		return c.QueryRow(ctx, `SELECT current_setting('server_version'), current_setting('server_version_num')::int`).Scan(&version, &num)
	})
	if err != nil {
		return "", err
	}
	dump, err := findPGDump(ctx, s.cfg.PGBinDir, num/10000, version)
	if err != nil {
		return "", err
	}
	return filepath.Join(filepath.Dir(dump.path), "pg_restore"), nil
}

// rsErrReader remembers the first error of the artifact's stream, so a
// corrupt artifact is named as such rather than as pg_restore's complaint.
type rsErrReader struct {
	r   io.Reader
	mu  sync.Mutex
	err error
}

func (e *rsErrReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF {
		e.mu.Lock()
		if e.err == nil {
			e.err = err
		}
		e.mu.Unlock()
	}
	return n, err
}

func (e *rsErrReader) first() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.err
}

// restoreInto creates database owned by the tenant's owner role and
// restores the artifact into it (store → digest → decrypt → pg_restore,
// objects created as the owner role, privileges as provisioning grants
// them), then checks checksum and every table's count against the
// manifest. It returns the tables and rows restored.
func (s *Service) restoreInto(ctx context.Context, srv *pgadmin.Server, bin string, t *tenant.Tenant, b *Backup,
	m *Manifest, key []byte, database string) (int, int64, error) {
	owner, app := tenant.OwnerRole(t.Slug), tenant.AppRole(t.Slug)
	if err := srv.CreateDatabase(ctx, database, owner); err != nil {
		return 0, 0, err
	}
	if err := srv.RestrictConnect(ctx, database, owner, app); err != nil {
		return 0, 0, err
	}
	obj, err := s.store.Get(ctx, DataKey(b.TenantID, b.ID))
	if err != nil {
		return 0, 0, err
	}
	defer obj.Close()
	digest := crypt.NewDigest()
	plain, err := crypt.NewReader(digest.Reader(obj), key)
	if err != nil {
		return 0, 0, s.corrupt(b, err)
	}
	src := &rsErrReader{r: plain}

	cmd, stderr := pgCommand(ctx, srv, database, "platform-restore", bin,
		"--no-owner", "--no-privileges", "--role="+owner, "--exit-on-error", "--single-transaction")
	cmd.Stdin = src
	runErr := cmd.Run()
	if err := src.first(); err != nil {
		return 0, 0, s.corrupt(b, err)
	}
	if runErr != nil {
		if ctx.Err() != nil {
			return 0, 0, ctx.Err()
		}
		var exit *exec.ExitError
		if errors.As(runErr, &exit) {
			return 0, 0, fmt.Errorf("pg_restore failed (%v): %s", exit, stderr.lastLine())
		}
		return 0, 0, fmt.Errorf("pg_restore: %w", runErr)
	}
	// pg_restore may stop reading before the end: the rest must still be
	// read, so the last chunk is authenticated and the checksum covers all.
	if _, err := io.Copy(io.Discard, src); err != nil {
		return 0, 0, s.corrupt(b, err)
	}
	if err := digest.Check(b.SHA256, b.SizeBytes); err != nil {
		return 0, 0, s.corrupt(b, err)
	}

	var rows int64
	err = srv.In(ctx, database, "", func(conn *pgx.Conn) error {
		if _, err := conn.Exec(ctx, "REVOKE CREATE ON SCHEMA public FROM PUBLIC"); err != nil {
			return err
		}
		q, err := conn.Query(ctx, `SELECT c.relname FROM pg_class c
			JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY c.relname`)
		if err != nil {
			return err
		}
		got, err := pgx.CollectRows(q, pgx.RowTo[string])
		if err != nil {
			return err
		}
		if len(got) != len(m.RowCounts) {
			return fmt.Errorf("restored %d tables, the manifest lists %d", len(got), len(m.RowCounts))
		}
		for _, name := range got {
			want, ok := m.RowCounts[name]
			if !ok {
				return fmt.Errorf("restored table %s is not in the manifest", name)
			}
			var n int64
			if err := conn.QueryRow(ctx, `SELECT count(*) FROM public.`+pgadmin.Ident(name)).Scan(&n); err != nil {
				return err
			}
			if n != want {
				return fmt.Errorf("restored %s has %d rows, the manifest says %d", name, n, want)
			}
			rows += n
		}
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	if err := srv.GrantApp(ctx, database, owner, app); err != nil {
		return 0, 0, err
	}
	return len(m.RowCounts), rows, nil
}

func (s *Service) corrupt(b *Backup, err error) error {
	return tenant.Errorf(tenant.EInvalid, "backup %s is damaged (%v); restore another backup", b.ID, err)
}

// audit records the restore in the operator audit.
func (s *Service) audit(ctx context.Context, slug, backupID string, res *RestoreResult, err error) {
	a, ok := tenant.ActorFrom(ctx)
	if !ok {
		a = tenant.Actor{Name: "unknown", Source: "cli"}
	}
	details := map[string]any{"backup_id": backupID}
	if res != nil && res.SourceTenant == "" {
		details["previous_database"] = res.PreviousDatabase
		details["safety_backup_id"] = res.SafetyBackupID
	}
	if aerr := s.cat.RecordOperatorAction(context.WithoutCancel(ctx), catalog.OperatorAction{
		Actor: a.Name, Source: a.Source, Action: "backup.restore", Tenant: slug, Failed: err != nil, Details: details}); aerr != nil {
		s.log.Error("operator audit write failed", "action", "backup.restore", "tenant", slug, "err", aerr)
	}
}

// Package backup makes, records and (in later slices) verifies and
// restores per-tenant backups. A backup is `pg_dump -Fc` of the tenant
// database streamed through crypt (AES-256-GCM chunks under a fresh data
// key wrapped by Vault transit for the tenant) and a Digest into the store,
// never held in memory or in a temporary file; a manifest written last
// next to it makes it a backup, and the catalog row records it.
//
// Layout in a store: <tenant-id>/<backup-id>/data (the encrypted dump) and
// <tenant-id>/<backup-id>/manifest.json. An artifact without its manifest
// is incomplete and never counted.
package backup

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenancy/platform/platform/backup/crypt"
	"github.com/tenancy/platform/platform/backup/storage"
	"github.com/tenancy/platform/platform/catalog"
	"github.com/tenancy/platform/platform/pgadmin"
	"github.com/tenancy/platform/platform/secrets"
	"github.com/tenancy/platform/tenant"
)

// Backup is a backup as the catalog records it.
type Backup = catalog.Backup

// Reasons a backup is made (the catalog's CHECK).
const (
	ReasonScheduled  = "scheduled"
	ReasonManual     = "manual"
	ReasonPreRestore = "pre_restore"
	ReasonPreMigrate = "pre_migrate"
)

// ManifestVersion is the version of the manifest's JSON format.
const ManifestVersion = 1

// Encryption names the artifact's format in the manifest: crypt's STREAM
// construction, format version 1, 1 MiB chunks.
const Encryption = "aes-256-gcm-stream"

// Manifest describes one artifact; it is written after the artifact and
// only when the artifact is whole.
type Manifest struct {
	ManifestVersion int              `json:"manifest_version"`
	BackupID        string           `json:"backup_id"`
	TenantID        string           `json:"tenant_id"`
	TenantSlug      string           `json:"tenant_slug"`
	Kind            string           `json:"kind"`
	Reason          string           `json:"reason"`
	Database        string           `json:"database"`
	SchemaVersion   int64            `json:"schema_version"`
	ServerVersion   string           `json:"server_version"`
	DumpVersion     string           `json:"pg_dump_version"`
	DumpFormat      string           `json:"dump_format"` // "custom" (pg_dump -Fc)
	StartedAt       time.Time        `json:"started_at"`
	FinishedAt      time.Time        `json:"finished_at"`
	Size            int64            `json:"size_bytes"` // of the stored (encrypted) artifact
	SHA256          string           `json:"sha256"`     // of the stored (encrypted) artifact
	WrappedKey      string           `json:"wrapped_key"`
	Encryption      string           `json:"encryption"`
	ChunkFormat     int              `json:"chunk_format_version"`
	ChunkSize       int              `json:"chunk_size"`
	RowCounts       map[string]int64 `json:"row_counts"` // exact, in the dump's snapshot
}

// DataKey and ManifestKey are where a backup's objects live in a store.
func DataKey(tenantID, backupID string) string { return tenantID + "/" + backupID + "/data" }
func ManifestKey(tenantID, backupID string) string {
	return tenantID + "/" + backupID + "/manifest.json"
}

// Config tunes a Service.
type Config struct {
	// PGBinDir is where pg_dump (and pg_restore) live. Empty: PATH, then
	// /usr/lib/postgresql/<major>/bin (Debian keeps them off PATH).
	PGBinDir string
	// StaleAfter is how long a running backup may run before List calls
	// it stale (its process most likely died). Zero: 6 hours.
	StaleAfter time.Duration
	// RestoreKeepDays is how many days PrunePreRestore keeps the database a
	// restore replaced (<db>_pre_restore_<ts>); 0 keeps it forever. The
	// CLI's default (PLATFORM_RESTORE_KEEP_DAYS unset) is 7.
	RestoreKeepDays int
	// Provisioner makes (and on failure purges) the fresh tenant of a
	// restore --as; without one, --as is refused.
	Provisioner Provisioner
	Logger      *slog.Logger
	// Observer is told of every backup and verification this Service
	// runs (metrics); nil: none.
	Observer Observer
}

// Observer learns of each run: kind is RunBackup or RunVerify, err nil
// for a success. Runs refused before any work (an unknown tenant or
// backup, a tenant or backup in the wrong state, a bad reason) are not
// runs.
type Observer interface {
	ObserveBackupRun(kind string, d time.Duration, err error)
}

// The kinds of run an Observer is told of.
const (
	RunBackup = "backup"
	RunVerify = "verify"
)

// WithObserver returns a copy of s that tells o of its runs: for a
// process that makes its metrics after the Service.
func (s *Service) WithObserver(o Observer) *Service {
	c := *s
	c.cfg.Observer = o
	return &c
}

func (s *Service) observe(kind string, start time.Time, err error) {
	if s.cfg.Observer != nil {
		s.cfg.Observer.ObserveBackupRun(kind, time.Since(start), err)
	}
}

// Service makes backups of tenants.
type Service struct {
	cat     *catalog.DB
	servers map[string]*pgadmin.Server
	vault   *secrets.Store
	store   storage.Store
	copy    storage.Store
	cfg     Config
	log     *slog.Logger
}

// New returns a Service storing into store and, if copy is not nil, the
// same artifact into copy as well. servers are the database servers by
// catalog name.
func New(cat *catalog.DB, servers map[string]*pgadmin.Server, vault *secrets.Store, store, copy storage.Store, cfg Config) *Service {
	if cfg.StaleAfter == 0 {
		cfg.StaleAfter = 6 * time.Hour
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{cat: cat, servers: servers, vault: vault, store: store, copy: copy, cfg: cfg, log: log}
}

// Run backs up the tenant with slug. The returned Backup is completed; on
// failure the catalog row (if one was written) is failed with a short
// message, the partial objects are deleted and the error is returned.
func (s *Service) Run(ctx context.Context, slug, reason string) (*Backup, error) {
	switch reason {
	case ReasonScheduled, ReasonManual, ReasonPreRestore, ReasonPreMigrate:
	default:
		return nil, tenant.Errorf(tenant.EInvalid, "backup reason %q is not one of scheduled, manual, pre_restore, pre_migrate", reason)
	}
	t, err := s.cat.TenantBySlug(ctx, slug)
	if err != nil {
		return nil, err
	}
	if t.Status != tenant.StatusActive && t.Status != tenant.StatusSuspended {
		return nil, tenant.Errorf(tenant.EConflict, "tenant %q is %s; only active or suspended tenants are backed up", slug, t.Status)
	}
	start := time.Now()
	b, err := s.runTenant(ctx, t, reason)
	s.observe(RunBackup, start, err)
	return b, err
}

// runTenant is Run past its refusals.
func (s *Service) runTenant(ctx context.Context, t *tenant.Tenant, reason string) (*Backup, error) {
	slug := t.Slug
	srv := s.servers[t.DBServer]
	if srv == nil {
		return nil, tenant.Errorf(tenant.EUnavailable, "tenant %q is on database server %q, which this process has no admin connection to", slug, t.DBServer)
	}
	if err := s.vault.EnsureBackupKey(ctx); err != nil {
		return nil, err
	}
	key, err := crypt.NewKey()
	if err != nil {
		return nil, err
	}
	wrapped, err := s.vault.WrapKey(ctx, t.ID, key)
	if err != nil {
		return nil, err
	}

	// The snapshot: a REPEATABLE READ transaction held open while pg_dump
	// imports it, so the dump and the row counts see the same data.
	snap, err := openSnapshot(ctx, srv, t.Database)
	if err != nil {
		return nil, err
	}
	defer snap.close(ctx)
	dump, err := findPGDump(ctx, s.cfg.PGBinDir, snap.serverMajor, snap.serverVersion)
	if err != nil {
		return nil, err
	}

	id, started, err := s.cat.StartBackup(ctx, t.ID, reason)
	if err != nil {
		return nil, err
	}
	b, err := s.run(ctx, t, id, started, reason, key, wrapped, srv, snap, dump)
	if err != nil {
		s.fail(ctx, t, id, err)
		return nil, err
	}
	return b, nil
}

// run streams the dump and writes the manifest; Run cleans up after it.
func (s *Service) run(ctx context.Context, t *tenant.Tenant, id string, started time.Time, reason string,
	key []byte, wrapped string, srv *pgadmin.Server, snap *snapshot, dump pgDump) (*Backup, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// Counts run on the snapshot's connection while pg_dump streams.
	type counted struct {
		counts map[string]int64
		schema int64
		err    error
	}
	countsDone := make(chan counted, 1)
	go func() {
		c, v, err := snap.counts(ctx)
		countsDone <- counted{c, v, err}
	}()

	dataKey := DataKey(t.ID, id)
	digest := crypt.NewDigest()
	size, err := s.stream(ctx, dataKey, srv, t.Database, snap.id, dump, key, digest)
	cnt := <-countsDone
	if err != nil {
		return nil, err
	}
	if cnt.err != nil {
		return nil, fmt.Errorf("count rows: %w", cnt.err)
	}
	if size != digest.Size() {
		return nil, fmt.Errorf("store accepted %d bytes of %d", size, digest.Size())
	}
	snap.close(ctx) // the dump is done: release the snapshot before the manifest

	finished := time.Now().UTC()
	m := Manifest{
		ManifestVersion: ManifestVersion, BackupID: id, TenantID: t.ID, TenantSlug: t.Slug,
		Kind: string(t.Kind), Reason: reason, Database: t.Database, SchemaVersion: cnt.schema,
		ServerVersion: snap.serverVersion, DumpVersion: dump.version, DumpFormat: "custom",
		StartedAt: started.UTC(), FinishedAt: finished, Size: digest.Size(), SHA256: digest.Sum(),
		WrappedKey: wrapped, Encryption: Encryption, ChunkFormat: 1, ChunkSize: crypt.ChunkSize,
		RowCounts: cnt.counts,
	}
	body, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	manifestKey := ManifestKey(t.ID, id)
	for _, st := range s.stores() {
		if _, err := st.Put(ctx, manifestKey, bytes.NewReader(body)); err != nil {
			return nil, fmt.Errorf("write manifest to %s: %w", st, err)
		}
	}
	res := catalog.BackupResult{
		Location: location(s.store, dataKey), SizeBytes: m.Size, SHA256: m.SHA256, WrappedKey: wrapped,
		SchemaVersion: m.SchemaVersion, ServerVersion: m.ServerVersion, DumpVersion: m.DumpVersion,
		RowCounts: m.RowCounts, FinishedAt: finished,
	}
	if s.copy != nil {
		res.CopyLocation = location(s.copy, dataKey)
	}
	if err := s.cat.CompleteBackup(context.WithoutCancel(ctx), id, res); err != nil {
		return nil, err
	}
	b, err := s.cat.BackupByID(context.WithoutCancel(ctx), id)
	if err != nil {
		return nil, err
	}
	s.log.Info("backup completed", "tenant", t.Slug, "tenant_id", t.ID, "backup_id", id,
		"reason", reason, "last_success", finished, "duration_ms", finished.Sub(started).Milliseconds(),
		"size_bytes", m.Size, "tables", len(m.RowCounts))
	return b, nil
}

func (s *Service) stores() []storage.Store {
	if s.copy == nil {
		return []storage.Store{s.store}
	}
	return []storage.Store{s.store, s.copy}
}

func location(st storage.Store, key string) string {
	return strings.TrimSuffix(st.String(), "/") + "/" + key
}

// stream runs pg_dump into crypt → Digest → one pipe per store (a tee, so
// the copy gets the same bytes in the same pass). It returns the size the
// primary store accepted. A failure anywhere cancels the rest; a Put that
// fails or whose reader ends in an error leaves no object.
func (s *Service) stream(ctx context.Context, key string, srv *pgadmin.Server, database, snapshotID string,
	dump pgDump, dataKey []byte, digest *crypt.Digest) (int64, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	stores := s.stores()
	type put struct {
		size int64
		err  error
	}
	results := make(chan put, len(stores))
	writers := make([]io.Writer, len(stores))
	pipes := make([]*io.PipeWriter, len(stores))
	for i, st := range stores {
		pr, pw := io.Pipe()
		writers[i], pipes[i] = pw, pw
		go func(i int, st storage.Store) {
			n, err := st.Put(ctx, key, pr)
			if err != nil {
				err = fmt.Errorf("store artifact in %s: %w", st, err)
				cancel(err)
			}
			pr.CloseWithError(errStoreClosed(err))
			if i == 0 {
				results <- put{n, err}
			} else {
				results <- put{-1, err}
			}
		}(i, st)
	}
	closeAll := func(err error) {
		for _, pw := range pipes {
			if err != nil {
				pw.CloseWithError(err)
			} else {
				pw.Close()
			}
		}
	}
	enc, err := crypt.NewWriter(digest.Writer(io.MultiWriter(writers...)), dataKey)
	if err == nil {
		err = dump.run(ctx, srv, database, snapshotID, enc)
	}
	if err == nil {
		err = enc.Close()
	}
	// Whoever failed first is the cause: a store that stopped reading makes
	// the dump fail with a broken pipe, a failed dump aborts the Puts.
	if err != nil {
		if c := context.Cause(ctx); c != nil && !errors.Is(c, context.Canceled) {
			err = c
		}
	}
	closeAll(err)
	var size int64
	var storeErr error
	for range stores {
		r := <-results
		if r.size >= 0 {
			size = r.size
		}
		if r.err != nil && storeErr == nil {
			storeErr = r.err
		}
	}
	if err != nil {
		return 0, err
	}
	if storeErr != nil {
		return 0, storeErr
	}
	return size, nil
}

// errStoreClosed is what writers see after a store stopped reading.
func errStoreClosed(err error) error {
	if err == nil {
		return io.ErrClosedPipe
	}
	return err
}

// fail marks the row failed and deletes what was stored, with a context
// that outlives a cancelled run (bounded, so a dead store does not hang).
func (s *Service) fail(ctx context.Context, t *tenant.Tenant, id string, cause error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	for _, st := range s.stores() {
		for _, k := range []string{ManifestKey(t.ID, id), DataKey(t.ID, id)} {
			if err := st.Delete(ctx, k); err != nil {
				s.log.Error("backup cleanup: delete partial object", "tenant", t.Slug, "backup_id", id, "store", st.String(), "key", k, "err", err)
			}
		}
	}
	if err := s.cat.FailBackup(ctx, id, shortError(cause)); err != nil {
		s.log.Error("backup: record failure", "tenant", t.Slug, "backup_id", id, "err", err)
	}
	s.log.Error("backup failed", "tenant", t.Slug, "tenant_id", t.ID, "backup_id", id, "err", cause)
}

// shortError is the message kept in the catalog: a platform error's safe
// text, or the first line of anything else (pg_dump's own message; no
// error built here embeds a password or a key).
func shortError(err error) string {
	var te *tenant.Error
	if errors.As(err, &te) {
		return te.Message
	}
	msg := err.Error()
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	if len(msg) > 300 {
		msg = msg[:300]
	}
	return msg
}

// List returns the backups of the tenant with slug ("" for all), newest
// first. A running row older than Config.StaleAfter is reported with
// status "stale": its process most likely died, and it was never a backup.
func (s *Service) List(ctx context.Context, slug string) ([]*Backup, error) {
	bs, err := s.cat.Backups(ctx, slug)
	if err != nil {
		return nil, err
	}
	for _, b := range bs {
		s.markStale(b)
	}
	return bs, nil
}

// Get returns one backup: EInvalid for a malformed id, ENotFound for an
// unknown one.
func (s *Service) Get(ctx context.Context, id string) (*Backup, error) {
	b, err := s.cat.BackupByID(ctx, id)
	if err != nil {
		return nil, err
	}
	s.markStale(b)
	return b, nil
}

// StatusStale is how List and Get show a running row past StaleAfter; the
// catalog itself still says running.
const StatusStale = "stale"

func (s *Service) markStale(b *Backup) {
	if b.Status == catalog.BackupRunning && time.Since(b.StartedAt) > s.cfg.StaleAfter {
		b.Status = StatusStale
	}
}

// snapshot is an open REPEATABLE READ transaction on the tenant database
// whose snapshot pg_dump imports.
type snapshot struct {
	conn          *pgx.Conn
	tx            pgx.Tx
	id            string
	serverVersion string
	serverMajor   int
	closed        bool
}

func openSnapshot(ctx context.Context, srv *pgadmin.Server, database string) (*snapshot, error) {
	conn, err := pgx.ConnectConfig(ctx, srv.ConnConfig(database, ""))
	if err != nil {
		return nil, tenant.Errorf(tenant.EUnavailable, "cannot connect to database %s for a backup: %v", database, err)
	}
	s := &snapshot{conn: conn}
	s.tx, err = conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err == nil {
		var num int
		err = s.tx.QueryRow(ctx, `SELECT pg_export_snapshot(), current_setting('server_version'),
			current_setting('server_version_num')::int`).Scan(&s.id, &s.serverVersion, &num)
		s.serverMajor = num / 10000
	}
	if err != nil {
		conn.Close(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("export a snapshot of %s: %w", database, err)
	}
	return s, nil
}

// counts returns the exact row count of every table of the public schema
// and the schema version (golang-migrate's schema_migrations; 0 without).
func (s *snapshot) counts(ctx context.Context) (map[string]int64, int64, error) {
	rows, err := s.tx.Query(ctx, `SELECT c.relname FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY c.relname`)
	if err != nil {
		return nil, 0, err
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, 0, err
	}
	counts := make(map[string]int64, len(names))
	var version int64
	for _, n := range names {
		var c int64
		if err := s.tx.QueryRow(ctx, `SELECT count(*) FROM public.`+pgadmin.Ident(n)).Scan(&c); err != nil {
			return nil, 0, fmt.Errorf("count %s: %w", n, err)
		}
		counts[n] = c
		if n == "schema_migrations" && c > 0 {
			if err := s.tx.QueryRow(ctx, `SELECT version FROM public.schema_migrations LIMIT 1`).Scan(&version); err != nil {
				return nil, 0, fmt.Errorf("read schema version: %w", err)
			}
		}
	}
	return counts, version, nil
}

func (s *snapshot) close(ctx context.Context) {
	if s.closed {
		return
	}
	s.closed = true
	ctx = context.WithoutCancel(ctx)
	s.tx.Rollback(ctx)
	s.conn.Close(ctx)
}

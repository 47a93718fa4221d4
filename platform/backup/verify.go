package backup

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenancy/platform/platform/backup/crypt"
	"github.com/tenancy/platform/platform/catalog"
	"github.com/tenancy/platform/platform/pgadmin"
	"github.com/tenancy/platform/platform/secrets"
	"github.com/tenancy/platform/tenant"
)

// Outcomes of a verification.
const (
	// OutcomeVerified: the artifact matched its manifest and row, decrypted
	// to the end, restored, and every table has the manifest's row count.
	OutcomeVerified = "verified"
	// OutcomeCorrupt: the backup cannot be trusted: manifest or artifact
	// missing, manifest and row disagree, size or sha256 differ, the key
	// does not open for the tenant, or a chunk fails its tag.
	OutcomeCorrupt = "corrupt"
	// OutcomeFailed: the artifact is authentic but pg_restore failed or
	// the restored counts differ from the manifest.
	OutcomeFailed = "failed"
	// OutcomeUnavailable: the store, Vault or the database server could
	// not be reached (or the verify was cancelled): nothing was learned
	// about the backup, and nothing is recorded on its row.
	OutcomeUnavailable = "unavailable"
)

// TableCount is one table's row count in the manifest and after restore
// (-1: the table is missing on that side).
type TableCount struct {
	Table    string `json:"table"`
	Manifest int64  `json:"manifest"`
	Restored int64  `json:"restored"`
}

// VerifyResult is what one verification found.
type VerifyResult struct {
	BackupID   string        `json:"backup_id"`
	Tenant     string        `json:"tenant"`
	Outcome    string        `json:"outcome"`
	Error      string        `json:"error,omitempty"`
	Tables     []TableCount  `json:"tables,omitempty"` // sorted by name; only after a restore
	Mismatched int           `json:"mismatched"`
	SizeBytes  int64         `json:"size_bytes"` // ciphertext read from the store
	Scratch    string        `json:"scratch_database,omitempty"`
	Duration   time.Duration `json:"duration_ns"`
	VerifiedAt *time.Time    `json:"verified_at,omitempty"`
}

// VerifyError is the error of a verification that did not pass. It
// matches crypt.ErrCorrupt (errors.Is) when Outcome is corrupt.
type VerifyError struct {
	Outcome string
	Err     error
}

func (e *VerifyError) Error() string { return e.Outcome + ": " + e.Err.Error() }
func (e *VerifyError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, crypt.ErrCorrupt) hold for a corrupt backup
// even when the cause (a missing manifest, a foreign key) is not crypt's.
func (e *VerifyError) Is(target error) bool {
	return target == crypt.ErrCorrupt && e.Outcome == OutcomeCorrupt
}

func corrupt(format string, args ...any) *VerifyError {
	return &VerifyError{OutcomeCorrupt, fmt.Errorf(format, args...)}
}

// Verify checks backup id end to end: the manifest against the row, the
// stored artifact (streamed, never held) through a Digest and
// crypt.NewReader, with the data key Vault unwraps under the backup's
// tenant, into pg_restore --no-owner --no-acl in a scratch database
// verify_<short id>_<rand> on the tenant's server, then exact row counts
// of every table against the manifest. The scratch database is dropped
// whatever happens.
//
// It counts as verified only if the reader reached io.EOF, the digest
// matched, pg_restore exited 0 and every count matched: pg_restore may
// have consumed a prefix of a stream that later proves truncated.
//
// The row: verified sets status verified and verified_at (and clears
// error). Corrupt or failed keeps (or puts back) status completed, with
// the reason in error, "verify <outcome>: …": a backup that was made but
// does not verify is not a failed backup run, and it never counts as
// verified (prune keeps the newest verified one). Unavailable records
// nothing. Refused without any work: a malformed id (EInvalid), an
// unknown one (ENotFound), a backup not completed or verified
// (EConflict).
//
// The result is nil only when refused; otherwise it says what was found,
// and the error is a *VerifyError unless the outcome is verified.
func (s *Service) Verify(ctx context.Context, id string) (*VerifyResult, error) {
	b, err := s.cat.BackupByID(ctx, id)
	if err != nil {
		return nil, err
	}
	switch b.Status {
	case catalog.BackupCompleted, catalog.BackupVerified:
	default:
		s.markStale(b)
		return nil, tenant.Errorf(tenant.EConflict, "backup %s is %s; only completed or verified backups can be verified", id, b.Status)
	}
	if s.store == nil {
		return nil, tenant.Errorf(tenant.EUnavailable, "no backup store configured (PLATFORM_BACKUP_URL)")
	}
	start := time.Now()
	res, err := s.verifyBackup(ctx, b, start)
	s.observe(RunVerify, start, err)
	return res, err
}

// verifyBackup is Verify past its refusals.
func (s *Service) verifyBackup(ctx context.Context, b *Backup, start time.Time) (*VerifyResult, error) {
	res := &VerifyResult{BackupID: b.ID, Tenant: b.TenantSlug}
	verr := s.verify(ctx, b, res)
	res.Duration = time.Since(start)
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if verr == nil {
		res.Outcome = OutcomeVerified
		at, err := s.cat.RecordBackupVerified(rctx, b.ID)
		if err != nil {
			return res, &VerifyError{OutcomeUnavailable, fmt.Errorf("verified, but the result could not be recorded: %w", err)}
		}
		res.VerifiedAt = &at
		s.log.Info("backup verified", "tenant", b.TenantSlug, "tenant_id", b.TenantID, "backup_id", b.ID,
			"duration_ms", res.Duration.Milliseconds(), "size_bytes", res.SizeBytes, "tables", len(res.Tables))
		return res, nil
	}
	var ve *VerifyError
	if !errors.As(verr, &ve) {
		ve = &VerifyError{OutcomeUnavailable, verr}
	}
	if ctx.Err() != nil && ve.Outcome != OutcomeCorrupt {
		ve = &VerifyError{OutcomeUnavailable, fmt.Errorf("verify cancelled: %w", context.Cause(ctx))}
	}
	res.Outcome, res.Error = ve.Outcome, shortError(ve.Err)
	if ve.Outcome != OutcomeUnavailable {
		if err := s.cat.RecordBackupVerifyFailure(rctx, b.ID, "verify "+ve.Outcome+": "+res.Error); err != nil {
			s.log.Error("backup verify: record failure", "backup_id", b.ID, "err", err)
		}
	}
	s.log.Error("backup verify failed", "tenant", b.TenantSlug, "tenant_id", b.TenantID, "backup_id", b.ID,
		"outcome", ve.Outcome, "err", ve.Err)
	return res, ve
}

func (s *Service) verify(ctx context.Context, b *Backup, res *VerifyResult) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	m, err := s.verifyManifest(ctx, b)
	if err != nil {
		return err
	}
	t, err := s.cat.TenantByID(ctx, b.TenantID)
	if err != nil {
		return err
	}
	srv := s.servers[t.DBServer]
	if srv == nil {
		return tenant.Errorf(tenant.EUnavailable, "tenant %q is on database server %q, which this process has no admin connection to", t.Slug, t.DBServer)
	}
	key, err := s.vault.UnwrapKey(ctx, b.TenantID, m.WrappedKey)
	if errors.Is(err, secrets.ErrUnwrap) {
		return &VerifyError{OutcomeCorrupt, err}
	}
	if err != nil {
		return err
	}

	var serverMajor int
	var serverVersion string
	err = srv.In(ctx, "postgres", "", func(c *pgx.Conn) error {
		return c.QueryRow(ctx, `SELECT current_setting('server_version_num')::int / 10000,
			current_setting('server_version')`).Scan(&serverMajor, &serverVersion)
	})
	if err != nil {
		return err
	}
	_, dumpMajor, _ := parseVersion("(PostgreSQL) " + m.DumpVersion)
	restore, err := verifyFindPGRestore(ctx, s.cfg.PGBinDir, max(serverMajor, dumpMajor), serverVersion)
	if err != nil {
		return err
	}

	obj, err := s.store.Get(ctx, DataKey(b.TenantID, b.ID))
	if tenant.ErrorCode(err) == tenant.ENotFound {
		return corrupt("the artifact is missing from %s", s.store)
	}
	if err != nil {
		return err
	}
	defer obj.Close()

	scratch := "verify_" + strings.ReplaceAll(b.ID, "-", "")[:8] + "_" + strings.ToLower(rand.Text()[:8])
	admin := srv.ConnConfig("", "").User
	if err := srv.CreateDatabase(ctx, scratch, admin); err != nil {
		return err
	}
	res.Scratch = scratch
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if err := srv.DropDatabase(dctx, scratch); err != nil {
			s.log.Error("backup verify: drop scratch database", "database", scratch, "backup_id", b.ID, "err", err)
		}
	}()
	// The tenant's data goes in: nobody but the admin may connect.
	if err := srv.RestrictConnect(ctx, scratch); err != nil {
		return err
	}

	digest := crypt.NewDigest()
	plain, err := crypt.NewReader(digest.Reader(obj), key)
	if err != nil {
		return readFailure(err)
	}
	restoreErr, readErr := restore.run(ctx, srv, scratch, plain)
	res.SizeBytes = digest.Size()
	switch {
	case readErr != nil:
		return readFailure(readErr)
	case ctx.Err() != nil:
		return ctx.Err()
	}
	if err := digest.Check(m.SHA256, m.Size); err != nil {
		return &VerifyError{OutcomeCorrupt, err}
	}
	if restoreErr != nil {
		return &VerifyError{OutcomeFailed, restoreErr}
	}

	got, err := verifyCounts(ctx, srv, scratch)
	if err != nil {
		return err
	}
	names := slices.Sorted(maps.Keys(m.RowCounts))
	for n := range got {
		if _, ok := m.RowCounts[n]; !ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	var bad []string
	for _, n := range names {
		tc := TableCount{Table: n, Manifest: -1, Restored: -1}
		if c, ok := m.RowCounts[n]; ok {
			tc.Manifest = c
		}
		if c, ok := got[n]; ok {
			tc.Restored = c
		}
		if tc.Manifest != tc.Restored {
			bad = append(bad, fmt.Sprintf("%s: manifest %d, restored %d", n, tc.Manifest, tc.Restored))
		}
		res.Tables = append(res.Tables, tc)
	}
	res.Mismatched = len(bad)
	if len(bad) > 0 {
		return &VerifyError{OutcomeFailed, fmt.Errorf("%d of %d tables differ from the manifest (%s)", len(bad), len(names), strings.Join(bad, "; "))}
	}
	return nil
}

// readFailure classifies an error reading the artifact: crypt's
// ErrCorrupt (a changed, cut, reordered or foreign stream) is corrupt;
// anything else is the store failing.
func readFailure(err error) error {
	if errors.Is(err, crypt.ErrCorrupt) {
		return &VerifyError{OutcomeCorrupt, err}
	}
	return err
}

// verifyManifest reads the manifest from the primary store and checks it
// against the row.
func (s *Service) verifyManifest(ctx context.Context, b *Backup) (*Manifest, error) {
	r, err := s.store.Get(ctx, ManifestKey(b.TenantID, b.ID))
	if tenant.ErrorCode(err) == tenant.ENotFound {
		return nil, corrupt("the manifest is missing from %s", s.store)
	}
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var m Manifest
	if err := json.NewDecoder(io.LimitReader(r, 1<<20)).Decode(&m); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, new(*json.SyntaxError)) || errors.As(err, new(*json.UnmarshalTypeError)) {
			return nil, corrupt("the manifest does not decode: %v", err)
		}
		return nil, err
	}
	var diff []string
	check := func(what string, ok bool) {
		if !ok {
			diff = append(diff, what)
		}
	}
	check("manifest_version", m.ManifestVersion == ManifestVersion)
	check("backup_id", m.BackupID == b.ID)
	check("tenant_id", m.TenantID == b.TenantID)
	check("size_bytes", m.Size == b.SizeBytes)
	check("sha256", m.SHA256 == b.SHA256)
	check("wrapped_key", m.WrappedKey == b.WrappedKey)
	check("encryption", m.Encryption == Encryption)
	check("row_counts", maps.Equal(m.RowCounts, b.RowCounts))
	if len(diff) > 0 {
		return nil, corrupt("the manifest disagrees with the catalog row on %s", strings.Join(diff, ", "))
	}
	return &m, nil
}

// pgRestoreBin is a pg_restore binary and its version.
type pgRestoreBin struct {
	path    string
	version string
	major   int
}

// verifyFindPGRestore finds pg_restore where pg_dump is looked for (the
// configured directory, else PATH then /usr/lib/postgresql/*/bin newest
// first): the first one at least as new as both the server and the
// pg_dump that made the archive.
func verifyFindPGRestore(ctx context.Context, binDir string, needMajor int, serverVersion string) (pgRestoreBin, error) {
	var cs []string
	if binDir != "" {
		cs = []string{filepath.Join(binDir, "pg_restore")}
	} else {
		if p, err := exec.LookPath("pg_restore"); err == nil {
			cs = append(cs, p)
		}
		found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_restore")
		slices.SortFunc(found, func(a, b string) int { return versionDir(b) - versionDir(a) })
		cs = append(cs, found...)
	}
	var best pgRestoreBin
	for _, p := range cs {
		out, err := exec.CommandContext(ctx, p, "--version").Output()
		if err != nil {
			continue
		}
		v, major, err := parseVersion(string(out))
		if err != nil {
			continue
		}
		if major >= needMajor {
			return pgRestoreBin{p, v, major}, nil
		}
		if major > best.major {
			best = pgRestoreBin{p, v, major}
		}
	}
	where := "on PATH or in /usr/lib/postgresql/*/bin"
	if binDir != "" {
		where = "in " + binDir + " (PLATFORM_PG_BIN_DIR)"
	}
	if best.path == "" {
		return best, tenant.Errorf(tenant.EUnavailable, "no working pg_restore %s; install the PostgreSQL %d client", where, needMajor)
	}
	return best, tenant.Errorf(tenant.EUnavailable, "pg_restore %s (%s) is older than the database server (PostgreSQL %s) or the archive; install the PostgreSQL %d client or set PLATFORM_PG_BIN_DIR",
		best.version, best.path, serverVersion, needMajor)
}

// run restores the archive read from plain into database and reads plain
// to its end even when pg_restore stops early. It returns pg_restore's
// failure and, separately, the error reading plain (nil at io.EOF).
func (p pgRestoreBin) run(ctx context.Context, srv *pgadmin.Server, database string, plain io.Reader) (restoreErr, readErr error) {
	cmd, stderr := pgCommand(ctx, srv, database, "platform-verify", p.path,
		"--no-owner", "--no-acl", "--exit-on-error", "--single-transaction")
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdin = pr
	if err := cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		return fmt.Errorf("start pg_restore: %w", err), nil
	}
	pr.Close()
	// Our own copy, so a read error is ours to see; a write error means
	// pg_restore stopped reading (done, or failed), and the rest of the
	// stream is read anyway: it is good only if it reaches io.EOF.
	copied := make(chan error, 1)
	go func() {
		_, err := io.Copy(pw, readOnly{plain})
		pw.Close()
		copied <- err
	}()
	werr := cmd.Wait()
	cerr := <-copied
	var rerr error
	if cerr != nil {
		var re *readError
		if errors.As(cerr, &re) {
			rerr = re.err
		} else if ctx.Err() == nil {
			// pg_restore closed its input: drain to the end.
			if _, err := io.Copy(io.Discard, plain); err != nil {
				rerr = err
			}
		}
	}
	if werr != nil {
		if ctx.Err() != nil {
			return ctx.Err(), rerr
		}
		var exit *exec.ExitError
		if errors.As(werr, &exit) {
			return fmt.Errorf("pg_restore failed (%v): %s", exit, stderr.lastLine()), rerr
		}
		return fmt.Errorf("pg_restore: %w", werr), rerr
	}
	return nil, rerr
}

// readOnly hides plain's WriteTo (if any) and marks its errors, so the
// copy loop tells a read error from a write error.
type readOnly struct{ r io.Reader }

type readError struct{ err error }

func (e *readError) Error() string { return e.err.Error() }
func (e *readError) Unwrap() error { return e.err }

func (r readOnly) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		return n, &readError{err}
	}
	return n, err
}

// verifyCounts counts the rows of every table of the public schema of
// database exactly.
func verifyCounts(ctx context.Context, srv *pgadmin.Server, database string) (map[string]int64, error) {
	counts := map[string]int64{}
	err := srv.In(ctx, database, "", func(c *pgx.Conn) error {
		rows, err := c.Query(ctx, `SELECT c.relname FROM pg_class c
			JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY c.relname`)
		if err != nil {
			return err
		}
		names, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		for _, n := range names {
			var k int64
			if err := c.QueryRow(ctx, `SELECT count(*) FROM public.`+pgadmin.Ident(n)).Scan(&k); err != nil {
				return fmt.Errorf("count %s: %w", n, err)
			}
			counts[n] = k
		}
		return nil
	})
	return counts, err
}

package backup

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenancy/platform/platform/backup/crypt"
	"github.com/tenancy/platform/platform/backup/storage"
	"github.com/tenancy/platform/platform/catalog"
	"github.com/tenancy/platform/platform/pgadmin"
	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/platform/platformtest/tenanttest"
	"github.com/tenancy/platform/platform/secrets"
	"github.com/tenancy/platform/tenant"
)

func fileStore(t testing.TB) storage.Store {
	t.Helper()
	st, err := storage.Open(platformtest.Context(t), "file://"+t.TempDir(), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// s3Store is a store under a random prefix of the dev bucket; its objects
// are deleted when the test ends.
func s3Store(t testing.TB) storage.Store {
	t.Helper()
	opts := storage.Options{
		Endpoint:  platformtest.Getenv(t, "PLATFORM_TEST_S3_ENDPOINT"),
		AccessKey: platformtest.Getenv(t, "PLATFORM_TEST_S3_ACCESS_KEY"),
		SecretKey: platformtest.Getenv(t, "PLATFORM_TEST_S3_SECRET_KEY"),
		Insecure:  true,
	}
	u := "s3://" + platformtest.Getenv(t, "PLATFORM_TEST_S3_BUCKET") + "/backup-test-" + platformtest.Rand(10)
	st, err := storage.Open(platformtest.Context(t), u, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		keys, err := st.List(ctx, "")
		if err != nil {
			t.Errorf("list %s: %v", st, err)
		}
		for _, k := range keys {
			if err := st.Delete(ctx, k); err != nil {
				t.Errorf("delete %s: %v", k, err)
			}
		}
	})
	return st
}

func newService(e *tenanttest.Env, st, cp storage.Store, cfg Config) *Service {
	return New(e.Catalog, map[string]*pgadmin.Server{"default": e.Admin}, e.Vault, st, cp, cfg)
}

// seed creates table bt_items in the tenant database as its owner, with
// rows rows of about payload bytes each (md5 text: compresses ~2×).
func seed(t testing.TB, e *tenanttest.Env, tn *tenanttest.Tenant, rows, payload int) {
	t.Helper()
	err := e.Admin.In(e.Ctx, tn.Database, tenant.OwnerRole(tn.Slug), func(c *pgx.Conn) error {
		_, err := c.Exec(e.Ctx, fmt.Sprintf(`CREATE TABLE bt_items (id int PRIMARY KEY, payload text NOT NULL);
			INSERT INTO bt_items SELECT g, (SELECT string_agg(md5(random()::text || g || r), '') FROM generate_series(1, %d) r)
			FROM generate_series(1, %d) g`, max(1, payload/32), rows))
		return err
	})
	if err != nil {
		t.Fatalf("seed %s: %v", tn.Slug, err)
	}
}

func wantCode(t testing.TB, err error, code string) {
	t.Helper()
	if tenant.ErrorCode(err) != code {
		t.Fatalf("error = %v (code %q), want code %q", err, tenant.ErrorCode(err), code)
	}
}

// readManifest reads and decodes a backup's manifest from st.
func readManifest(t testing.TB, st storage.Store, b *Backup) Manifest {
	t.Helper()
	r, err := st.Get(context.Background(), ManifestKey(b.TenantID, b.ID))
	if err != nil {
		t.Fatalf("manifest of %s in %s: %v", b.ID, st, err)
	}
	defer r.Close()
	var m Manifest
	if err := json.NewDecoder(r).Decode(&m); err != nil {
		t.Fatalf("decode manifest: %v", err)
	}
	return m
}

// checkArtifact checks everything a backup in st promises: the manifest
// matches the row, the stored bytes match the manifest's size and sha256,
// and the artifact decrypts (with the key Vault unwraps for the tenant)
// to an archive pg_restore can list, naming table.
func checkArtifact(t *testing.T, e *tenanttest.Env, st storage.Store, b *Backup, table string) Manifest {
	t.Helper()
	m := readManifest(t, st, b)
	if m.BackupID != b.ID || m.TenantID != b.TenantID || m.SHA256 != b.SHA256 || m.Size != b.SizeBytes ||
		m.WrappedKey != b.WrappedKey || m.SchemaVersion != b.SchemaVersion || m.ManifestVersion != ManifestVersion {
		t.Fatalf("manifest %+v does not match row %+v", m, b)
	}
	key, err := e.Vault.UnwrapKey(e.Ctx, b.TenantID, m.WrappedKey)
	if err != nil {
		t.Fatalf("unwrap: %v", err)
	}
	obj, err := st.Get(e.Ctx, DataKey(b.TenantID, b.ID))
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	d := crypt.NewDigest()
	plain, err := crypt.NewReader(d.Reader(obj), key)
	if err != nil {
		t.Fatalf("open artifact: %v", err)
	}
	cmd := exec.CommandContext(e.Ctx, pgRestore(t), "--list")
	cmd.Stdin = plain
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("pg_restore --list: %v: %s", err, errOut.String())
	}
	// pg_restore may stop reading before the end: the digest needs it all.
	if _, err := io.Copy(io.Discard, plain); err != nil {
		t.Fatalf("decrypt to the end: %v", err)
	}
	if err := d.Check(m.SHA256, m.Size); err != nil {
		t.Fatalf("stored artifact vs manifest: %v", err)
	}
	if !strings.Contains(out.String(), "TABLE public "+table) {
		t.Fatalf("pg_restore --list does not name table %s:\n%s", table, out.String())
	}
	return m
}

func pgRestore(t testing.TB) string {
	t.Helper()
	for _, c := range PGDumpCandidates("") {
		p := filepath.Join(filepath.Dir(c), "pg_restore")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Fatal("no pg_restore")
	return ""
}

// assertEmpty fails unless st holds nothing of the tenant.
func assertEmpty(t *testing.T, st storage.Store, tenantID string) {
	t.Helper()
	keys, err := st.List(context.Background(), tenantID+"/")
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 0 {
		t.Fatalf("%s still holds %v", st, keys)
	}
}

func TestRunFile(t *testing.T) {
	t.Parallel()
	e := tenanttest.New(t)
	tn := e.Create(t, tenant.Restaurant)
	seed(t, e, tn, 1234, 100)
	st := fileStore(t)
	var logs platformtest.LogSink
	svc := newService(e, st, nil, Config{Logger: slogJSON(&logs)})

	b, err := svc.Run(e.Ctx, tn.Slug, ReasonManual)
	if err != nil {
		t.Fatal(err)
	}
	if b.Status != catalog.BackupCompleted || b.Reason != ReasonManual || b.FinishedAt == nil || b.SizeBytes == 0 ||
		len(b.SHA256) != 64 || !strings.HasPrefix(b.WrappedKey, "vault:v") || b.SchemaVersion == 0 ||
		b.DumpVersion == "" || b.ServerVersion == "" || b.CopyLocation != "" {
		t.Fatalf("backup row %+v", b)
	}
	if want := st.String() + "/" + DataKey(tn.ID, b.ID); b.Location != want {
		t.Fatalf("location %q, want %q", b.Location, want)
	}
	m := checkArtifact(t, e, st, b, "bt_items")
	if m.RowCounts["bt_items"] != 1234 || b.RowCounts["bt_items"] != 1234 {
		t.Fatalf("row counts: manifest %v, row %v", m.RowCounts, b.RowCounts)
	}
	if _, ok := m.RowCounts["schema_migrations"]; !ok {
		t.Fatalf("row counts miss the tenant's own tables: %v", m.RowCounts)
	}
	if m.TenantSlug != tn.Slug || m.Kind != "restaurant" || m.Encryption != Encryption || m.ChunkFormat != 1 {
		t.Fatalf("manifest %+v", m)
	}
	keys, err := st.List(e.Ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{DataKey(tn.ID, b.ID), ManifestKey(tn.ID, b.ID)}; fmt.Sprint(keys) != fmt.Sprint(want) {
		t.Fatalf("store holds %v, want %v", keys, want)
	}

	got, err := svc.Get(e.Ctx, b.ID)
	if err != nil || got.SHA256 != b.SHA256 || got.TenantSlug != tn.Slug {
		t.Fatalf("Get = %+v, %v", got, err)
	}
	list, err := svc.List(e.Ctx, tn.Slug)
	if err != nil || len(list) != 1 || list[0].ID != b.ID {
		t.Fatalf("List = %v, %v", list, err)
	}
	lines := logs.Lines(t, "backup completed")
	if len(lines) != 1 || lines[0]["tenant"] != tn.Slug || lines[0]["size_bytes"] != float64(b.SizeBytes) ||
		lines[0]["last_success"] == nil || lines[0]["duration_ms"] == nil {
		t.Fatalf("log lines %v", lines)
	}
	if strings.Contains(logs.String(), b.WrappedKey) {
		t.Fatal("the wrapped key is in the log")
	}
}

func TestRunS3WithCopy(t *testing.T) {
	t.Parallel()
	e := tenanttest.New(t)
	tn := e.Create(t, tenant.Institution)
	seed(t, e, tn, 60000, 100) // several crypt chunks
	st, cp := s3Store(t), fileStore(t)
	svc := newService(e, st, cp, Config{})
	b, err := svc.Run(e.Ctx, tn.Slug, ReasonScheduled)
	if err != nil {
		t.Fatal(err)
	}
	if b.SizeBytes < 2*crypt.ChunkSize {
		t.Fatalf("artifact of %d bytes: want several chunks", b.SizeBytes)
	}
	if !strings.HasPrefix(b.Location, "s3://") || b.CopyLocation != cp.String()+"/"+DataKey(tn.ID, b.ID) {
		t.Fatalf("locations %q, %q", b.Location, b.CopyLocation)
	}
	m1 := checkArtifact(t, e, st, b, "bt_items")
	m2 := checkArtifact(t, e, cp, b, "bt_items")
	if m1.RowCounts["bt_items"] != 60000 || fmt.Sprint(m1) != fmt.Sprint(m2) {
		t.Fatalf("manifests differ or counts wrong:\n%+v\n%+v", m1, m2)
	}
}

// failingStore is a real store whose Puts of data fail after n bytes.
type failingStore struct {
	storage.Store
	n     int64
	after func() // called once when the limit is reached, if set
}

func (f *failingStore) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	if strings.HasSuffix(key, "/data") {
		r = &limitReader{r: r, n: f.n, after: f.after}
	}
	return f.Store.Put(ctx, key, r)
}

type limitReader struct {
	r     io.Reader
	n     int64
	after func()
	fired atomic.Bool
}

var errInjected = errors.New("injected storage failure")

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		if l.after != nil {
			if !l.fired.Swap(true) {
				l.after()
			}
			return l.r.Read(p) // keep reading: the cancellation must stop it
		}
		return 0, errInjected
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

func TestFailureMidway(t *testing.T) {
	t.Parallel()
	e := tenanttest.New(t)
	tn := e.Create(t, tenant.Restaurant)
	seed(t, e, tn, 40000, 100)

	check := func(t *testing.T, svc *Service, b []storage.Store, err error) {
		t.Helper()
		if err == nil {
			t.Fatal("Run succeeded")
		}
		list, lerr := svc.List(e.Ctx, tn.Slug)
		if lerr != nil {
			t.Fatal(lerr)
		}
		if len(list) == 0 || list[0].Status != catalog.BackupFailed || list[0].Error == "" || list[0].FinishedAt == nil {
			t.Fatalf("newest row %+v, want failed with an error", list[0])
		}
		if list[0].SHA256 != "" || list[0].Location != "" {
			t.Fatalf("a failed row records an artifact: %+v", list[0])
		}
		for _, st := range b {
			assertEmpty(t, st, tn.ID)
		}
	}

	t.Run("store fails", func(t *testing.T) {
		base, cp := fileStore(t), fileStore(t)
		svc := newService(e, &failingStore{Store: base, n: 1 << 20}, cp, Config{})
		_, err := svc.Run(e.Ctx, tn.Slug, ReasonManual)
		if !errors.Is(err, errInjected) {
			t.Fatalf("error %v, want the store's", err)
		}
		check(t, svc, []storage.Store{base, cp}, err)
	})
	t.Run("copy fails", func(t *testing.T) {
		base, cp := fileStore(t), fileStore(t)
		svc := newService(e, base, &failingStore{Store: cp, n: 512 << 10}, Config{})
		_, err := svc.Run(e.Ctx, tn.Slug, ReasonManual)
		if !errors.Is(err, errInjected) {
			t.Fatalf("error %v, want the copy store's", err)
		}
		check(t, svc, []storage.Store{base, cp}, err)
	})
	t.Run("cancelled", func(t *testing.T) {
		base := fileStore(t)
		ctx, cancel := context.WithCancel(e.Ctx)
		defer cancel()
		svc := newService(e, &failingStore{Store: base, n: 1 << 20, after: cancel}, nil, Config{})
		_, err := svc.Run(ctx, tn.Slug, ReasonManual)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("error %v, want context.Canceled", err)
		}
		check(t, svc, []storage.Store{base}, err)
	})
}

func TestOtherTenantCannotUnwrap(t *testing.T) {
	t.Parallel()
	e := tenanttest.New(t)
	a, other := e.Create(t, tenant.Restaurant), e.Create(t, tenant.Restaurant)
	st := fileStore(t)
	b, err := newService(e, st, nil, Config{}).Run(e.Ctx, a.Slug, ReasonManual)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Vault.UnwrapKey(e.Ctx, other.ID, b.WrappedKey); !errors.Is(err, secrets.ErrUnwrap) {
		t.Fatalf("unwrap under another tenant: %v, want ErrUnwrap", err)
	}
	if _, err := e.Vault.UnwrapKey(e.Ctx, a.ID, b.WrappedKey); err != nil {
		t.Fatalf("unwrap under its own tenant: %v", err)
	}
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	e := tenanttest.New(t)
	tn := e.Create(t, tenant.Restaurant)
	gone := e.Create(t, tenant.Restaurant)
	if err := e.Service.Delete(e.Ctx, gone.Slug); err != nil {
		t.Fatal(err)
	}
	st := fileStore(t)
	svc := newService(e, st, nil, Config{})

	_, err := svc.Run(e.Ctx, "no-such-"+platformtest.Rand(6), ReasonManual)
	wantCode(t, err, tenant.ENotFound)
	_, err = svc.Run(e.Ctx, gone.Slug, ReasonManual)
	wantCode(t, err, tenant.EConflict)
	if !strings.Contains(err.Error(), "deleted") {
		t.Fatalf("message %q does not say deleted", err)
	}
	_, err = svc.Run(e.Ctx, tn.Slug, "because")
	wantCode(t, err, tenant.EInvalid)
	_, err = svc.Get(e.Ctx, "00000000-0000-4000-8000-000000000000")
	wantCode(t, err, tenant.ENotFound)
	_, err = svc.Get(e.Ctx, "not-a-uuid")
	wantCode(t, err, tenant.EInvalid)
	_, err = svc.List(e.Ctx, "no-such-"+platformtest.Rand(6))
	wantCode(t, err, tenant.ENotFound)

	// An unreachable store: a failed row, the error returned.
	srv, err := storage.Open(e.Ctx, "s3://platform-dev/x", storage.Options{Endpoint: "127.0.0.1:1", Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = newService(e, srv, nil, Config{}).Run(e.Ctx, tn.Slug, ReasonManual)
	if err == nil {
		t.Fatal("backup to an unreachable store succeeded")
	}
	list, lerr := svc.List(e.Ctx, tn.Slug)
	if lerr != nil || len(list) != 1 || list[0].Status != catalog.BackupFailed {
		t.Fatalf("rows %v, %v: want one failed", list, lerr)
	}

	// Vault down: refused before any row or object.
	client, err := secrets.NewClient("http://"+closedAddr(t), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	client.SetToken("unused")
	down := New(e.Catalog, map[string]*pgadmin.Server{"default": e.Admin}, secrets.NewStore(client, ""), st, nil, Config{})
	_, err = down.Run(e.Ctx, tn.Slug, ReasonManual)
	wantCode(t, err, tenant.EUnavailable)
	assertEmpty(t, st, tn.ID)

	for _, b := range list {
		if b.TenantSlug != tn.Slug {
			t.Fatalf("a backup of %s listed for %s", b.TenantSlug, tn.Slug)
		}
	}
	if all, err := svc.List(e.Ctx, ""); err != nil || len(all) != 1 {
		t.Fatalf("List all = %v, %v", all, err)
	}
}

// TestOldPGDump: a pg_dump older than the server is refused before any
// row is written, naming both versions.
func TestOldPGDump(t *testing.T) {
	t.Parallel()
	e := tenanttest.New(t)
	tn := e.Create(t, tenant.Restaurant)
	dir := t.TempDir()
	script := "#!/bin/sh\necho 'pg_dump (PostgreSQL) 9.6.24'\n"
	if err := os.WriteFile(filepath.Join(dir, "pg_dump"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	svc := newService(e, fileStore(t), nil, Config{PGBinDir: dir})
	_, err := svc.Run(e.Ctx, tn.Slug, ReasonManual)
	wantCode(t, err, tenant.EUnavailable)
	if !strings.Contains(err.Error(), "9.6") || !strings.Contains(err.Error(), "older than the database server (PostgreSQL 1") {
		t.Fatalf("message %q does not name both versions", err)
	}
	if list, err := svc.List(e.Ctx, tn.Slug); err != nil || len(list) != 0 {
		t.Fatalf("rows %v, %v: want none", list, err)
	}

	svc = newService(e, fileStore(t), nil, Config{PGBinDir: t.TempDir()})
	_, err = svc.Run(e.Ctx, tn.Slug, ReasonManual)
	wantCode(t, err, tenant.EUnavailable)
}

// TestRunningRow: a row left running by a dead process is listed as
// running, then stale, and never as a backup.
func TestRunningRow(t *testing.T) {
	t.Parallel()
	e := tenanttest.New(t)
	tn := e.Create(t, tenant.Restaurant)
	id, _, err := e.Catalog.StartBackup(e.Ctx, tn.ID, ReasonScheduled)
	if err != nil {
		t.Fatal(err)
	}
	b, err := newService(e, fileStore(t), nil, Config{}).Get(e.Ctx, id)
	if err != nil || b.Status != catalog.BackupRunning {
		t.Fatalf("Get = %+v, %v", b, err)
	}
	list, err := newService(e, fileStore(t), nil, Config{StaleAfter: time.Nanosecond}).List(e.Ctx, tn.Slug)
	if err != nil || len(list) != 1 || list[0].Status != StatusStale {
		t.Fatalf("List = %+v, %v", list, err)
	}
}

func TestParseVersion(t *testing.T) {
	for _, c := range []struct {
		out   string
		v     string
		major int
	}{
		{"pg_dump (PostgreSQL) 15.14 (Debian 15.14-0+deb12u1)\n", "15.14", 15},
		{"pg_dump (PostgreSQL) 17.2\n", "17.2", 17},
		{"pg_dump (PostgreSQL) 18beta1\n", "18", 18},
		{"pg_dump (PostgreSQL) 9.6.24\n", "9.6", 9},
	} {
		v, major, err := parseVersion(c.out)
		if err != nil || v != c.v || major != c.major {
			t.Errorf("parseVersion(%q) = %q, %d, %v; want %q, %d", c.out, v, major, err, c.v, c.major)
		}
	}
	if _, _, err := parseVersion("psql 15"); err == nil {
		t.Error("parseVersion accepted nonsense")
	}
}

func TestQuoteConninfo(t *testing.T) {
	if got := quoteConninfo(`a b'c\d`); got != `'a b\'c\\d'` {
		t.Fatalf("quoteConninfo = %s", got)
	}
}

func slogJSON(w io.Writer) *slog.Logger { return slog.New(slog.NewJSONHandler(w, nil)) }

// closedAddr is a local address nothing listens on.
func closedAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

package backup

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/tenancy/platform/platform/backup/crypt"
	"github.com/tenancy/platform/platform/backup/storage"
	"github.com/tenancy/platform/platform/catalog"
	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/platform/platformtest/tenanttest"
	"github.com/tenancy/platform/tenant"
)

// vtStore is a file store and its directory, so tests can edit artifacts.
func vtStore(t *testing.T) (storage.Store, string) {
	t.Helper()
	dir := t.TempDir()
	st, err := storage.Open(platformtest.Context(t), "file://"+dir, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return st, dir
}

// vtEdit rewrites the stored artifact of b with edit applied.
func vtEdit(t *testing.T, dir string, b *Backup, edit func([]byte) []byte) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(DataKey(b.TenantID, b.ID)))
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, edit(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

// vtRewrite changes the manifest of b in st and the catalog row alike
// (so the two agree and only what follows can catch the change).
func vtRewrite(t *testing.T, e *tenanttest.Env, st storage.Store, b *Backup, change func(*Manifest)) {
	t.Helper()
	m := readManifest(t, st, b)
	change(&m)
	body, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Put(e.Ctx, ManifestKey(b.TenantID, b.ID), bytes.NewReader(body)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Catalog.Pool().Exec(e.Ctx, `UPDATE backups SET wrapped_key = $2, row_counts = $3 WHERE id = $1`,
		b.ID, m.WrappedKey, m.RowCounts); err != nil {
		t.Fatal(err)
	}
}

// vtScratchGone fails if a scratch database of backup id is left.
func vtScratchGone(t *testing.T, e *tenanttest.Env, id string) {
	t.Helper()
	prefix := "verify_" + strings.ReplaceAll(id, "-", "")[:8] + "_"
	var left []string
	err := e.Admin.In(e.Ctx, "postgres", "", func(c *pgx.Conn) error {
		rows, err := c.Query(e.Ctx, `SELECT datname FROM pg_database WHERE starts_with(datname, $1)`, prefix)
		if err != nil {
			return err
		}
		left, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Fatalf("scratch databases left: %v", left)
	}
}

func vtRow(t *testing.T, e *tenanttest.Env, id string) *Backup {
	t.Helper()
	b, err := e.Catalog.BackupByID(e.Ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestVerify: a good backup verifies (every table compared, the row says
// verified); then each kind of damage is caught and reported corrupt, the
// row goes back to completed with the reason, and no scratch database is
// left either way.
func TestVerify(t *testing.T) {
	t.Parallel()
	e := tenanttest.New(t)
	tn := e.Create(t, tenant.Restaurant)
	other := e.Create(t, tenant.Restaurant)
	// ~3 MiB of dump: at least three 1 MiB chunks, for the swap.
	seed(t, e, tn, 12000, 512)
	st, dir := vtStore(t)
	svc := newService(e, st, nil, Config{})
	backupOf := func(t *testing.T) *Backup {
		t.Helper()
		b, err := svc.Run(e.Ctx, tn.Slug, ReasonManual)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}

	b := backupOf(t)
	if b.SizeBytes < 3*(crypt.ChunkSize+16) {
		t.Fatalf("artifact %d bytes: want at least three chunks", b.SizeBytes)
	}
	res, err := svc.Verify(e.Ctx, b.ID)
	if err != nil {
		t.Fatalf("verify a good backup: %v (%+v)", err, res)
	}
	if res.Outcome != OutcomeVerified || res.SizeBytes != b.SizeBytes || res.Mismatched != 0 ||
		len(res.Tables) != len(b.RowCounts) || res.VerifiedAt == nil || !strings.HasPrefix(res.Scratch, "verify_") {
		t.Fatalf("result %+v", res)
	}
	for _, tc := range res.Tables {
		if tc.Manifest != b.RowCounts[tc.Table] || tc.Restored != tc.Manifest {
			t.Fatalf("table %+v vs manifest %d", tc, b.RowCounts[tc.Table])
		}
	}
	if res.Tables[0].Table > res.Tables[len(res.Tables)-1].Table {
		t.Fatalf("tables not sorted: %+v", res.Tables)
	}
	var found bool
	for _, tc := range res.Tables {
		found = found || (tc.Table == "bt_items" && tc.Restored == 12000)
	}
	if !found {
		t.Fatalf("bt_items with 12000 rows not compared: %+v", res.Tables)
	}
	row := vtRow(t, e, b.ID)
	if row.Status != catalog.BackupVerified || row.VerifiedAt == nil || row.Error != "" {
		t.Fatalf("row after verify: %+v", row)
	}
	vtScratchGone(t, e, b.ID)

	const header = 8 + 1 + 4 + 16
	const chunk = crypt.ChunkSize + 16
	cases := []struct {
		name   string
		damage func(t *testing.T, b *Backup)
	}{
		{"flipped byte", func(t *testing.T, b *Backup) {
			// In the second chunk: pg_restore has started on the first.
			vtEdit(t, dir, b, func(d []byte) []byte { d[header+chunk+1000] ^= 0x01; return d })
		}},
		{"truncated", func(t *testing.T, b *Backup) {
			vtEdit(t, dir, b, func(d []byte) []byte { return d[:header+2*chunk] }) // at a chunk boundary
		}},
		{"truncated mid-chunk", func(t *testing.T, b *Backup) {
			vtEdit(t, dir, b, func(d []byte) []byte { return d[:len(d)-100] })
		}},
		{"swapped chunks", func(t *testing.T, b *Backup) {
			vtEdit(t, dir, b, func(d []byte) []byte {
				out := append([]byte{}, d[:header]...)
				out = append(out, d[header+chunk:header+2*chunk]...)
				out = append(out, d[header:header+chunk]...)
				return append(out, d[header+2*chunk:]...)
			})
		}},
		{"other tenant's key", func(t *testing.T, b *Backup) {
			key, err := crypt.NewKey()
			if err != nil {
				t.Fatal(err)
			}
			w, err := e.Vault.WrapKey(e.Ctx, other.ID, key)
			if err != nil {
				t.Fatal(err)
			}
			vtRewrite(t, e, st, b, func(m *Manifest) { m.WrappedKey = w })
		}},
		{"another key of the tenant", func(t *testing.T, b *Backup) {
			key, err := crypt.NewKey()
			if err != nil {
				t.Fatal(err)
			}
			w, err := e.Vault.WrapKey(e.Ctx, tn.ID, key)
			if err != nil {
				t.Fatal(err)
			}
			vtRewrite(t, e, st, b, func(m *Manifest) { m.WrappedKey = w })
		}},
		{"manifest disagrees with row", func(t *testing.T, b *Backup) {
			if _, err := e.Catalog.Pool().Exec(e.Ctx, `UPDATE backups SET sha256 = repeat('0', 64) WHERE id = $1`, b.ID); err != nil {
				t.Fatal(err)
			}
		}},
		{"manifest missing", func(t *testing.T, b *Backup) {
			if err := st.Delete(e.Ctx, ManifestKey(b.TenantID, b.ID)); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := backupOf(t)
			if i == 0 { // a verified backup that goes bad loses its verified status
				if _, err := svc.Verify(e.Ctx, b.ID); err != nil {
					t.Fatal(err)
				}
			}
			c.damage(t, b)
			res, err := svc.Verify(e.Ctx, b.ID)
			if !errors.Is(err, crypt.ErrCorrupt) || res == nil || res.Outcome != OutcomeCorrupt || res.VerifiedAt != nil {
				t.Fatalf("verify = %+v, %v; want corrupt", res, err)
			}
			row := vtRow(t, e, b.ID)
			if row.Status != catalog.BackupCompleted || !strings.HasPrefix(row.Error, "verify corrupt: ") {
				t.Fatalf("row after a corrupt verify: status %s, error %q", row.Status, row.Error)
			}
			if i == 0 && row.VerifiedAt == nil {
				t.Fatalf("the earlier success's verified_at is gone")
			}
			vtScratchGone(t, e, b.ID)
		})
	}

	// Authentic artifact, counts that differ: failed, not corrupt.
	t.Run("counts differ", func(t *testing.T) {
		b := backupOf(t)
		vtRewrite(t, e, st, b, func(m *Manifest) { m.RowCounts["bt_items"]++ })
		res, err := svc.Verify(e.Ctx, b.ID)
		var ve *VerifyError
		if !errors.As(err, &ve) || ve.Outcome != OutcomeFailed || errors.Is(err, crypt.ErrCorrupt) ||
			res.Mismatched != 1 || !strings.Contains(res.Error, "bt_items: manifest 12001, restored 12000") {
			t.Fatalf("verify = %+v, %v; want failed on bt_items", res, err)
		}
		if row := vtRow(t, e, b.ID); row.Status != catalog.BackupCompleted || !strings.HasPrefix(row.Error, "verify failed: ") {
			t.Fatalf("row: %+v", row)
		}
		vtScratchGone(t, e, b.ID)
	})

	// The store down: unavailable, not corrupt, and the row untouched.
	t.Run("store unavailable", func(t *testing.T) {
		down, err := storage.Open(e.Ctx, "s3://platform-dev/x", storage.Options{Endpoint: closedAddr(t), Insecure: true})
		if err != nil {
			t.Fatal(err)
		}
		res, err := newService(e, down, nil, Config{}).Verify(e.Ctx, b.ID)
		if errors.Is(err, crypt.ErrCorrupt) || res == nil || res.Outcome != OutcomeUnavailable {
			t.Fatalf("verify = %+v, %v; want unavailable", res, err)
		}
		if row := vtRow(t, e, b.ID); row.Status != catalog.BackupVerified || row.Error != "" {
			t.Fatalf("row changed by an unavailable verify: %+v", row)
		}
	})

	// A cancelled verify drops its scratch database too.
	t.Run("cancelled", func(t *testing.T) {
		b := backupOf(t)
		ctx, cancel := context.WithCancel(e.Ctx)
		cst := &cancelStore{Store: st, cancel: cancel}
		res, err := newService(e, cst, nil, Config{}).Verify(ctx, b.ID)
		if err == nil || res == nil || res.Outcome != OutcomeUnavailable || res.Scratch == "" {
			t.Fatalf("verify = %+v, %v; want unavailable after creating a scratch database", res, err)
		}
		if row := vtRow(t, e, b.ID); row.Status != catalog.BackupCompleted || row.Error != "" {
			t.Fatalf("row changed by a cancelled verify: %+v", row)
		}
		vtScratchGone(t, e, b.ID)
	})
}

// cancelStore cancels the verify once a second chunk of the artifact has
// been read (pg_restore is running in the scratch database by then).
type cancelStore struct {
	storage.Store
	cancel context.CancelFunc
}

func (c *cancelStore) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	r, err := c.Store.Get(ctx, key)
	if err != nil || !strings.HasSuffix(key, "/data") {
		return r, err
	}
	return &cancelReader{ReadCloser: r, cancel: c.cancel}, nil
}

type cancelReader struct {
	io.ReadCloser
	n      int
	cancel context.CancelFunc
}

func (c *cancelReader) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n += n
	if c.n > 2*crypt.ChunkSize {
		c.cancel()
	}
	return n, err
}

// TestVerifyRefused: unknown and malformed ids, and backups that are not
// completed, are refused before any work.
func TestVerifyRefused(t *testing.T) {
	t.Parallel()
	e := tenanttest.New(t)
	tn := e.Create(t, tenant.Restaurant)
	st, _ := vtStore(t)
	svc := newService(e, st, nil, Config{})

	res, err := svc.Verify(e.Ctx, "00000000-0000-4000-8000-000000000000")
	wantCode(t, err, tenant.ENotFound)
	if res != nil {
		t.Fatalf("result for an unknown id: %+v", res)
	}
	_, err = svc.Verify(e.Ctx, "nope")
	wantCode(t, err, tenant.EInvalid)

	running, _, err := e.Catalog.StartBackup(e.Ctx, tn.ID, ReasonManual)
	if err != nil {
		t.Fatal(err)
	}
	_, err = svc.Verify(e.Ctx, running)
	wantCode(t, err, tenant.EConflict)
	if !strings.Contains(err.Error(), "is running") {
		t.Fatalf("message %q does not say running", err)
	}
	failed, _, err := e.Catalog.StartBackup(e.Ctx, tn.ID, ReasonManual)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Catalog.FailBackup(e.Ctx, failed, "boom"); err != nil {
		t.Fatal(err)
	}
	_, err = svc.Verify(e.Ctx, failed)
	wantCode(t, err, tenant.EConflict)
	if !strings.Contains(err.Error(), "is failed") {
		t.Fatalf("message %q does not say failed", err)
	}
	if row := vtRow(t, e, failed); row.Status != catalog.BackupFailed || row.Error != "boom" {
		t.Fatalf("refused verify changed the row: %+v", row)
	}
}

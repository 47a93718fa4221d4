package backup

import (
	"bytes"
	"context"
	"os/exec"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenancy/platform/platform/backup/crypt"
	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/platform/platformtest/tenanttest"
	"github.com/tenancy/platform/tenant"
)

// TestCountsMatchDumpUnderWrites: rows inserted all through a backup do
// not make the manifest's counts disagree with the dump. The artifact is
// restored into a scratch database and every table counted: equal to the
// manifest, while the live table has grown past it.
func TestCountsMatchDumpUnderWrites(t *testing.T) {
	t.Parallel()
	e := tenanttest.New(t)
	tn := e.Create(t, tenant.Restaurant)
	seed(t, e, tn, 60000, 100)
	st := fileStore(t)
	svc := newService(e, st, nil, Config{})

	ctx, stop := context.WithCancel(e.Ctx)
	var inserted atomic.Int64
	writerDone := make(chan error, 1)
	go func() {
		writerDone <- e.Admin.In(ctx, tn.Database, tenant.OwnerRole(tn.Slug), func(c *pgx.Conn) error {
			for id := 1_000_000; ctx.Err() == nil; id++ {
				if _, err := c.Exec(ctx, `INSERT INTO bt_items VALUES ($1, 'x')`, id); err != nil {
					return err
				}
				inserted.Add(1)
			}
			return nil
		})
	}()
	platformtest.Eventually(t, 10*time.Second, "the writer inserting", func() bool { return inserted.Load() >= 10 })
	b, err := svc.Run(e.Ctx, tn.Slug, ReasonManual)
	atStop := inserted.Load()
	stop()
	if werr := <-writerDone; werr != nil && ctx.Err() == nil {
		t.Fatalf("writer: %v", werr)
	}
	if err != nil {
		t.Fatal(err)
	}
	if b.RowCounts["bt_items"] <= 60000 || b.RowCounts["bt_items"] >= 60000+atStop {
		t.Fatalf("bt_items counted %d: want some but not all of the %d rows the writer inserted", b.RowCounts["bt_items"], atStop)
	}

	scratch := "bk_scratch_" + platformtest.Rand(10)
	cc := e.Admin.ConnConfig(scratch, "")
	if err := e.Admin.CreateDatabase(e.Ctx, scratch, cc.User); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Admin.DropDatabase(context.Background(), scratch) })
	key, err := e.Vault.UnwrapKey(e.Ctx, tn.ID, b.WrappedKey)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := st.Get(e.Ctx, DataKey(tn.ID, b.ID))
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	plain, err := crypt.NewReader(obj, key)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(e.Ctx, pgRestore(t), "--no-owner", "--no-privileges", "--exit-on-error",
		"--dbname=host="+quoteConninfo(cc.Host)+" port="+strconv.Itoa(int(cc.Port))+" user="+quoteConninfo(cc.User)+" dbname="+scratch+" sslmode=disable")
	cmd.Env = []string{"PGPASSWORD=" + cc.Password}
	cmd.Stdin = plain
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("pg_restore: %v: %s", err, errOut.String())
	}
	err = e.Admin.In(e.Ctx, scratch, "", func(c *pgx.Conn) error {
		for table, want := range b.RowCounts {
			var got int64
			if err := c.QueryRow(e.Ctx, `SELECT count(*) FROM public.`+pgx.Identifier{table}.Sanitize()).Scan(&got); err != nil {
				return err
			}
			if got != want {
				t.Errorf("restored %s has %d rows, manifest says %d", table, got, want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

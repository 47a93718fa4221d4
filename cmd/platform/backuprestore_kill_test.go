package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/tenant"
)

// digests returns an md5 of every public table's contents of database,
// by table, read as the superuser.
func digests(t *testing.T, c *cli, database string) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	err := c.admin.In(ctx, database, "", func(conn *pgx.Conn) error {
		rows, err := conn.Query(ctx, `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')`)
		if err != nil {
			return err
		}
		names, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		for _, n := range names {
			var d string
			q := `SELECT coalesce(md5(string_agg(x::text, E'\n' ORDER BY x::text)), 'empty') FROM public.` + pgx.Identifier{n}.Sanitize() + ` x`
			if err := conn.QueryRow(ctx, q).Scan(&d); err != nil {
				return err
			}
			out[n] = d
		}
		return nil
	})
	if err != nil {
		t.Fatalf("digest tables of %s: %v", database, err)
	}
	return out
}

func sameTables(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d tables, want %d", what, len(got), len(want))
	}
	for n, d := range want {
		if got[n] != d {
			t.Errorf("%s: table %s differs", what, n)
		}
	}
}

// asOwner runs sql in slug's database as its owner role.
func asOwner(t *testing.T, c *cli, slug, sql string) {
	t.Helper()
	ctx := context.Background()
	err := c.admin.In(ctx, tenant.DatabaseName(slug), tenant.OwnerRole(slug), func(conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, sql)
		return err
	})
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func tenantStatus(t *testing.T, c *cli, slug string) tenant.Status {
	t.Helper()
	tn, err := c.cat.TenantBySlug(context.Background(), slug)
	if err != nil {
		t.Fatal(err)
	}
	return tn.Status
}

// TestRestoreKill9 starts `platform backup restore ID --yes` as a process
// of its own and kills it with SIGKILL once, seen from outside, it is
// restoring (the catalog's record says so and its new database exists).
// The tenant's data is as before and it is in maintenance; running the
// command again says it rolled the interrupted restore back, restores,
// and the tenant serves the backup's data.
func TestRestoreKill9(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	bin := filepath.Join(t.TempDir(), "platform")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	slug := platformtest.Slug("k9")
	c.ok("tenant", "create", slug, "--kind", "restaurant", "--name", "Kill")
	db := tenant.DatabaseName(slug)
	// Enough data that pg_restore runs for a while (the window to see).
	asOwner(t, c, slug, `CREATE TABLE k9_items (id int PRIMARY KEY, payload text NOT NULL);
		INSERT INTO k9_items SELECT g, (SELECT string_agg(md5(random()::text || g || r), '') FROM generate_series(1, 8) r)
		FROM generate_series(1, 30000) g`)
	c.env["PLATFORM_BACKUP_URL"] = "file://" + t.TempDir()
	var runs []struct{ Backup struct{ ID string } }
	if err := json.Unmarshal([]byte(c.ok("backup", "run", slug, "-o", "json")), &runs); err != nil || len(runs) != 1 {
		t.Fatalf("backup run: %v %v", runs, err)
	}
	b := runs[0]
	want := digests(t, c, db)
	asOwner(t, c, slug, `DELETE FROM k9_items WHERE id % 2 = 0; CREATE TABLE k9_after (id int)`)
	before := digests(t, c, db)
	tn, err := c.cat.TenantBySlug(context.Background(), slug)
	if err != nil {
		t.Fatal(err)
	}
	killedAt := killWhileRestoring(t, c, bin, slug, "backup", "restore", b.Backup.ID, "--yes")

	// Killed: in maintenance, data untouched, the record still there.
	if st := tenantStatus(t, c, slug); st != tenant.StatusMaintenance {
		t.Fatalf("after the kill (%s) the tenant is %s", killedAt, st)
	}
	sameTables(t, "after the kill", digests(t, c, db), before)
	if raw, err := c.cat.RestoreRecord(context.Background(), tn.ID); err != nil || raw == nil {
		t.Fatalf("the record is gone after the kill: %v", err)
	}

	out := c.ok("backup", "restore", b.Backup.ID, "--yes")
	if !strings.Contains(out, "rolled back the interrupted restore of backup "+b.Backup.ID) ||
		!strings.Contains(out, "tenant "+slug+": restored backup "+b.Backup.ID) {
		t.Fatalf("re-run after a kill while %s printed %q", killedAt, out)
	}
	if st := tenantStatus(t, c, slug); st != tenant.StatusActive {
		t.Fatalf("after the re-run the tenant is %s", st)
	}
	sameTables(t, "after the re-run", digests(t, c, db), want)
	var left []string
	err = c.admin.In(context.Background(), "postgres", "", func(conn *pgx.Conn) error {
		rows, err := conn.Query(context.Background(), `SELECT datname FROM pg_database WHERE starts_with(datname, $1)`, db+"_restore_")
		if err != nil {
			return err
		}
		left, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil || len(left) != 0 {
		t.Fatalf("restore databases left: %v, %v", left, err)
	}
	// It serves: its app role reads the restored data with its password.
	sec, err := platformtest.Vault(t).Get(context.Background(), slug)
	if err != nil {
		t.Fatal(err)
	}
	conf := c.admin.ConnConfig(db, "")
	conf.User, conf.Password = tenant.AppRole(slug), sec["db_password"]
	conn, err := pgx.ConnectConfig(context.Background(), conf)
	if err != nil {
		t.Fatalf("the app role cannot connect after the re-run: %v", err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM k9_items`).Scan(&n); err != nil || n != 30000 {
		t.Fatalf("app role sees %d rows (%v), want 30000", n, err)
	}
}

// killWhileRestoring runs the platform binary bin with args and kills it
// with SIGKILL once, seen from outside, it restores into slug: the
// catalog's restore record of slug says "restoring" and its new database
// exists. It returns where the kill landed.
func killWhileRestoring(t *testing.T, c *cli, bin, slug string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = os.Environ() // as TestCreateResumesAfterKill9: PATH finds pg_restore
	for k, v := range c.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	poll := time.NewTicker(5 * time.Millisecond)
	defer poll.Stop()
	timeout := time.After(2 * time.Minute)
	for {
		select {
		case err := <-exited:
			t.Fatalf("platform %s ended (%v) before it was seen restoring:\n%s", strings.Join(args, " "), err, out.String())
		case <-timeout:
			cmd.Process.Kill()
			<-exited
			t.Fatalf("platform %s was never seen restoring:\n%s", strings.Join(args, " "), out.String())
		case <-poll.C:
		}
		tn, err := c.cat.TenantBySlug(context.Background(), slug)
		if tenant.ErrorCode(err) == tenant.ENotFound {
			continue // restore --as: not made yet
		} else if err != nil {
			t.Fatal(err)
		}
		raw, err := c.cat.RestoreRecord(context.Background(), tn.ID)
		if err != nil {
			t.Fatal(err)
		}
		if raw == nil {
			continue
		}
		var rec struct {
			Step        string `json:"step"`
			NewDatabase string `json:"new_database"`
		}
		if err := json.Unmarshal(raw, &rec); err != nil {
			t.Fatal(err)
		}
		if rec.Step != "restoring" {
			continue
		}
		if ok, err := c.admin.DatabaseExists(context.Background(), rec.NewDatabase); err != nil {
			t.Fatal(err)
		} else if !ok {
			continue
		}
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		if err := <-exited; err == nil || !strings.Contains(err.Error(), "killed") {
			t.Fatalf("platform %s was not killed (%v):\n%s", strings.Join(args, " "), err, out.String())
		}
		return rec.Step + " into " + rec.NewDatabase
	}
}

// TestRestoreAsKill9 kills `platform backup restore ID --yes --as NEW`
// while it restores: NEW is left in maintenance, the source untouched;
// the same command again purges NEW, says so, and makes it with the
// backup's data.
func TestRestoreAsKill9(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	bin := filepath.Join(t.TempDir(), "platform")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	src := platformtest.Slug("k9s")
	c.ok("tenant", "create", src, "--kind", "restaurant", "--name", "Source")
	asOwner(t, c, src, `CREATE TABLE k9_items (id int PRIMARY KEY, payload text NOT NULL);
		INSERT INTO k9_items SELECT g, (SELECT string_agg(md5(random()::text || g || r), '') FROM generate_series(1, 8) r)
		FROM generate_series(1, 30000) g`)
	c.env["PLATFORM_BACKUP_URL"] = "file://" + t.TempDir()
	id := backupID(t, c, src)
	want := digests(t, c, tenant.DatabaseName(src))
	as := platformtest.Slug("k9n")

	killedAt := killWhileRestoring(t, c, bin, as, "backup", "restore", id, "--yes", "--as", as)
	if st := tenantStatus(t, c, as); st != tenant.StatusMaintenance {
		t.Fatalf("after the kill (%s) the new tenant is %s", killedAt, st)
	}
	if st := tenantStatus(t, c, src); st != tenant.StatusActive {
		t.Fatalf("after the kill the source is %s", st)
	}
	sameTables(t, "source after the kill", digests(t, c, tenant.DatabaseName(src)), want)

	out := c.ok("backup", "restore", id, "--yes", "--as", as)
	if !strings.Contains(out, "purged tenant "+as+", left by an interrupted restore of backup "+id) ||
		!strings.Contains(out, "tenant "+as+": created and restored from backup "+id) {
		t.Fatalf("re-run after a kill while %s printed %q", killedAt, out)
	}
	if st := tenantStatus(t, c, as); st != tenant.StatusActive {
		t.Fatalf("after the re-run the new tenant is %s", st)
	}
	sameTables(t, "new tenant", digests(t, c, tenant.DatabaseName(as)), want)
}

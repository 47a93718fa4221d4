package platformtest

import (
	"context"
	"io/fs"
	"testing"

	"github.com/golang-migrate/migrate/v4/source"
	"github.com/jackc/pgx/v5"

	"github.com/tenancy/platform/platform/pgadmin"
)

// MigrationsUpTo shows only the migrations of src up to version max: a
// test steps a database through them and holds whatever later ones add.
func MigrationsUpTo(src fs.FS, max uint) fs.ReadDirFS { return upTo{src, max} }

type upTo struct {
	src fs.FS
	max uint
}

func (u upTo) Open(name string) (fs.File, error) { return u.src.Open(name) }

func (u upTo) ReadDir(name string) ([]fs.DirEntry, error) {
	es, err := fs.ReadDir(u.src, name)
	if err != nil {
		return nil, err
	}
	var out []fs.DirEntry
	for _, e := range es {
		if m, err := source.DefaultParse(e.Name()); err == nil && m.Version <= u.max {
			out = append(out, e)
		}
	}
	return out, nil
}

// ScratchDatabase creates an empty database named prefix + random, owned
// by the admin URL's user, dropped when the test ends; for a test that
// migrates a database itself.
func ScratchDatabase(t testing.TB, admin *pgadmin.Server, prefix string) string {
	t.Helper()
	ctx := Context(t)
	db := prefix + Rand(8)
	conn, err := pgx.Connect(ctx, AdminURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var me string
	if err := conn.QueryRow(ctx, `SELECT current_user`).Scan(&me); err != nil {
		t.Fatal(err)
	}
	if err := admin.CreateDatabase(ctx, db, me); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := admin.DropDatabase(context.Background(), db); err != nil {
			t.Errorf("drop %s: %v", db, err)
		}
	})
	return db
}

// Package schema runs golang-migrate over one database and over a fleet of
// them. Migrations come from embedded files (package migrations); a target
// names the database, the role the migrations run as, and their source.
package schema

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sort"

	"github.com/golang-migrate/migrate/v4"
	pgxmigrate "github.com/golang-migrate/migrate/v4/database/pgx/v5"
	"github.com/golang-migrate/migrate/v4/source"
	"github.com/golang-migrate/migrate/v4/source/iofs"
	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/tenancy/platform/tenant"
)

// Target is one database to migrate.
type Target struct {
	Name   string          // what reports call it: a tenant slug or "template:<kind>"
	Kind   string          // catalog, restaurant or institution
	Conn   *pgx.ConnConfig // where to connect, and as which role (RuntimeParams["role"])
	Source fs.FS           // the migrations
}

// Status is where a database stands against its migrations.
type Status struct {
	Version uint // 0: no migration applied
	Dirty   bool // a migration failed half-way; needs a look and `migrate force`
	Latest  uint
	Pending int // migrations above Version
}

// ErrDirty is returned when a database is dirty: it is never forced
// automatically.
var ErrDirty = errors.New("database is dirty")

// Versions lists the versions of a migration source, ascending.
func Versions(src fs.FS) ([]uint, error) {
	entries, err := fs.ReadDir(src, ".")
	if err != nil {
		return nil, err
	}
	seen := map[uint]bool{}
	var vs []uint
	for _, e := range entries {
		m, err := source.DefaultParse(e.Name())
		if err != nil {
			continue
		}
		if !seen[m.Version] {
			seen[m.Version] = true
			vs = append(vs, m.Version)
		}
	}
	sort.Slice(vs, func(i, j int) bool { return vs[i] < vs[j] })
	return vs, nil
}

// open builds a migrate instance for t; close it with the returned func.
func open(t Target) (*migrate.Migrate, func(), error) {
	src, err := iofs.New(t.Source, ".")
	if err != nil {
		return nil, nil, fmt.Errorf("%s: read migrations: %w", t.Name, err)
	}
	db := stdlib.OpenDB(*t.Conn)
	drv, err := pgxmigrate.WithInstance(db, &pgxmigrate.Config{})
	if err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("%s: connect: %w", t.Name, err)
	}
	m, err := migrate.NewWithInstance("iofs", src, "pgx5", drv)
	if err != nil {
		drv.Close()
		return nil, nil, fmt.Errorf("%s: %w", t.Name, err)
	}
	return m, func() { m.Close() }, nil
}

// withStop stops m gracefully (after the running migration) when ctx ends.
func withStop(ctx context.Context, m *migrate.Migrate) func() {
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			select {
			case m.GracefulStop <- true:
			default:
			}
		case <-done:
		}
	}()
	return func() { close(done) }
}

// GetStatus reads the version of t's database without changing anything.
func GetStatus(ctx context.Context, t Target) (Status, error) {
	vs, err := Versions(t.Source)
	if err != nil {
		return Status{}, err
	}
	st := Status{}
	if len(vs) > 0 {
		st.Latest = vs[len(vs)-1]
	}
	conn, err := pgx.ConnectConfig(ctx, t.Conn)
	if err != nil {
		return st, fmt.Errorf("%s: connect: %w", t.Name, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var version int64
	err = conn.QueryRow(ctx, `SELECT version, dirty FROM schema_migrations LIMIT 1`).Scan(&version, &st.Dirty)
	switch {
	case errors.Is(err, pgx.ErrNoRows), isUndefinedTable(err):
		version = 0
	case err != nil:
		return st, fmt.Errorf("%s: read version: %w", t.Name, err)
	}
	if version < 0 {
		version = 0
	}
	st.Version = uint(version)
	for _, v := range vs {
		if v > st.Version {
			st.Pending++
		}
	}
	return st, nil
}

// Up applies every pending migration of t. A dirty database is refused.
func Up(ctx context.Context, t Target) (Status, error) {
	return run(ctx, t, func(m *migrate.Migrate) error { return m.Up() })
}

// Down reverts the last steps migrations of t.
func Down(ctx context.Context, t Target, steps int) (Status, error) {
	if steps < 1 {
		return Status{}, tenant.Errorf(tenant.EInvalid, "--steps must be at least 1")
	}
	// golang-migrate reverts what it can before it reports a short limit:
	// check first, so a wrong --steps changes nothing.
	st, err := GetStatus(ctx, t)
	if err != nil {
		return st, err
	}
	vs, err := Versions(t.Source)
	if err != nil {
		return st, err
	}
	applied := 0
	for _, v := range vs {
		if v <= st.Version {
			applied++
		}
	}
	if steps > applied {
		return st, tenant.Errorf(tenant.EInvalid, "%s: cannot go down %d steps: %d migrations applied", t.Name, steps, applied)
	}
	return run(ctx, t, func(m *migrate.Migrate) error { return m.Steps(-steps) })
}

// Force sets t's version without running anything and clears dirty: the
// operator's way out after repairing a failed migration by hand.
func Force(ctx context.Context, t Target, version int) (Status, error) {
	vs, err := Versions(t.Source)
	if err != nil {
		return Status{}, err
	}
	known := version == -1
	for _, v := range vs {
		known = known || int(v) == version
	}
	if !known {
		return Status{}, tenant.Errorf(tenant.EInvalid, "version %d is not a migration of %s", version, t.Kind)
	}
	return run(ctx, t, func(m *migrate.Migrate) error { return m.Force(version) })
}

func run(ctx context.Context, t Target, op func(*migrate.Migrate) error) (Status, error) {
	before, err := GetStatus(ctx, t)
	if err != nil {
		return before, err
	}
	m, closeM, err := open(t)
	if err != nil {
		return before, err
	}
	stop := withStop(ctx, m)
	err = op(m)
	stop()
	closeM()
	if errors.Is(err, migrate.ErrNoChange) {
		err = nil
	}
	var dirty migrate.ErrDirty
	if errors.As(err, &dirty) {
		err = fmt.Errorf("%s: %w at version %d: fix it by hand, then `platform migrate force`", t.Name, ErrDirty, dirty.Version)
	} else if errors.As(err, new(migrate.ErrShortLimit)) {
		err = tenant.Errorf(tenant.EInvalid, "%s: cannot go down that many steps", t.Name)
	} else if err != nil {
		err = fmt.Errorf("%s: %w", t.Name, err)
	}
	after, serr := GetStatus(context.WithoutCancel(ctx), t)
	if serr != nil && err == nil {
		err = serr
	}
	return after, err
}

func isUndefinedTable(err error) bool {
	var pg interface{ SQLState() string }
	return errors.As(err, &pg) && pg.SQLState() == pgerrcode.UndefinedTable
}

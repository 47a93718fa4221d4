// Package seed fills an empty tenant with realistic Spanish-language demo
// data of its kind: a Chilean restaurant chain (branches, menu, customers,
// orders, reservations, customer messages) or a Chilean university
// (periods, programs, curricula, groups, teachers, teaching loads,
// tutoring, prefecture reports). The rows are generated inside PostgreSQL
// (INSERT … SELECT over generate_series), deterministically, so a large
// seed of ~500 MB takes minutes rather than hours of round trips.
//
// The data is made for the demo tenants of `make run` and for benchmarks
// that need a populated tenant; it respects every rule the domain APIs
// enforce (order totals, unit prices, reservation capacity, unique
// teaching loads).
package seed

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenancy/platform/platform/catalog"
	"github.com/tenancy/platform/platform/pgadmin"
	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/audit"
)

// Size says how much data to generate.
type Size string

const (
	// Small is hundreds to a few thousand rows per kind, in seconds: the
	// demo tenants and the tests.
	Small Size = "small"
	// Large is about 500 MB of database, in minutes: backup and router
	// benchmarks.
	Large Size = "large"
)

// ParseSize validates a size given by a user.
func ParseSize(s string) (Size, error) {
	switch Size(s) {
	case Small, Large:
		return Size(s), nil
	}
	return "", tenant.Errorf(tenant.EInvalid, "unknown size %q (small or large)", s)
}

// errHasData is the refusal of a tenant that already has domain data.
func errHasData() error {
	return tenant.Errorf(tenant.EConflict, "tenant already has data; seed only an empty tenant")
}

// TableCount is the number of rows inserted into one table.
type TableCount struct {
	Table string `json:"table"`
	Rows  int64  `json:"rows"`
}

// Result is what a seed inserted.
type Result struct {
	Slug          string       `json:"slug"`
	Kind          tenant.Kind  `json:"kind"`
	Size          Size         `json:"size"`
	Tables        []TableCount `json:"tables"` // in the order they were filled
	Rows          int64        `json:"rows"`   // sum of Tables
	DatabaseBytes int64        `json:"database_bytes"`
	DurationMS    int64        `json:"duration_ms"`
}

// Seeder seeds tenants registered in a catalog, through the admin
// connection of each tenant's database server, as the tenant's owner role
// (like the other operations the control plane performs on a tenant).
type Seeder struct {
	cat     *catalog.DB
	servers map[string]*pgadmin.Server
}

// New returns a Seeder; servers are the database servers by name.
func New(cat *catalog.DB, servers map[string]*pgadmin.Server) *Seeder {
	return &Seeder{cat: cat, servers: servers}
}

// Seed fills the tenant slug with data of its kind and size in one
// transaction: an error leaves the tenant as it was. A tenant that already
// has domain data is refused with EConflict. It holds the tenant's catalog
// lock (no restore, purge or other seed of it meanwhile); the request
// path's writes to the domain tables wait until it commits (seconds for
// Small, about half a minute for Large), its reads go on. The action is
// recorded in the tenant's audit log and the operator audit, with the
// actor of ctx.
func (s *Seeder) Seed(ctx context.Context, slug string, size Size) (res *Result, err error) {
	if _, err := ParseSize(string(size)); err != nil {
		return nil, err
	}
	if err := tenant.ValidateSlug(slug); err != nil {
		return nil, tenant.Errorf(tenant.ENotFound, "tenant %q not found", slug)
	}
	actor, ok := tenant.ActorFrom(ctx)
	if !ok {
		actor = tenant.Actor{Name: "unknown", Source: "cli"}
	}
	defer func() { s.record(ctx, actor, slug, size, res, err) }()
	start := time.Now()
	err = s.cat.WithLock(ctx, "tenant:"+slug, func() error {
		t, err := s.cat.TenantBySlug(ctx, slug)
		if err != nil {
			return err
		}
		if t.Status != tenant.StatusActive && t.Status != tenant.StatusSuspended {
			return tenant.Errorf(tenant.EConflict, "tenant %q is %s; only an active or suspended tenant can be seeded", slug, t.Status)
		}
		srv, ok := s.servers[t.DBServer]
		if !ok {
			return tenant.Errorf(tenant.EUnavailable, "database server %q of tenant %q is not configured", t.DBServer, slug)
		}
		res = &Result{Slug: slug, Kind: t.Kind, Size: size}
		return srv.In(ctx, t.Database, tenant.OwnerRole(slug), func(c *pgx.Conn) error {
			err := pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error {
				counts, err := Fill(ctx, tx, t.Kind, size)
				if err != nil {
					return err
				}
				res.Tables = counts
				details := map[string]any{"size": string(size)}
				for _, tc := range counts {
					res.Rows += tc.Rows
					details[tc.Table] = tc.Rows
				}
				return audit.Record(ctx, tx, audit.Entry{
					Actor: audit.OperatorActor(actor.Source, actor.Name), Action: AuditAction,
					Entity: "tenant", EntityID: t.ID, Details: details})
			})
			if err != nil {
				return err
			}
			return c.QueryRow(ctx, `SELECT pg_database_size(current_database())`).Scan(&res.DatabaseBytes)
		})
	})
	if err != nil {
		return nil, err
	}
	res.DurationMS = time.Since(start).Milliseconds()
	return res, nil
}

// AuditAction is the tenant audit log's action of a seed.
const AuditAction = "tenant.seeded"

// record writes the operator audit row of a seed; a failure to write it is
// not the seed's failure (the data is in), so it is dropped here as the
// provisioning service logs and drops its own.
func (s *Seeder) record(ctx context.Context, a tenant.Actor, slug string, size Size, res *Result, err error) {
	details := map[string]any{"size": string(size)}
	if a.IP != "" {
		details["ip"] = a.IP
	}
	if err != nil {
		details["error_code"] = tenant.ErrorCode(err)
	}
	if res != nil && err == nil {
		details["rows"], details["database_bytes"] = res.Rows, res.DatabaseBytes
	}
	if tenant.ValidateSlug(slug) != nil {
		slug = ""
	}
	_ = s.cat.RecordOperatorAction(context.WithoutCancel(ctx), catalog.OperatorAction{
		Actor: a.Name, Source: a.Source, Action: "tenant.seed", Tenant: slug, Failed: err != nil, Details: details})
}

// Fill generates the data of kind and size in tx, which must be a
// transaction on a tenant database of that kind, as a role that may write
// every domain table and set their sequences (the owner). It locks the
// domain tables against writes first and refuses (EConflict) when any of
// them has data; the branch every restaurant is created with does not
// count as data and becomes the chain's first branch. It returns the rows
// inserted per table.
func Fill(ctx context.Context, tx pgx.Tx, kind tenant.Kind, size Size) ([]TableCount, error) {
	if _, err := ParseSize(string(size)); err != nil {
		return nil, err
	}
	var g generator
	switch kind {
	case tenant.Restaurant:
		g = restaurant{size: size}
	case tenant.Institution:
		g = institution{size: size}
	default:
		return nil, tenant.Errorf(tenant.EInvalid, "unknown tenant kind %q", kind)
	}
	f := &filler{ctx: ctx, tx: tx}
	if err := f.lockEmpty(g.tables(), g.baseline()); err != nil {
		return nil, err
	}
	if err := g.fill(f); err != nil {
		return nil, err
	}
	// Fresh statistics: a benchmark right after a large seed must not plan
	// against empty tables.
	for _, t := range g.tables() {
		f.exec("ANALYZE " + t)
	}
	return f.counts, f.err
}

// generator is one kind's data.
type generator interface {
	// tables are the domain tables, parents first.
	tables() []string
	// baseline is the rows a table has in a new tenant (the first branch).
	baseline() map[string]int64
	fill(f *filler) error
}

// filler runs the statements of one seed and keeps the first error, so
// that the generators read as a list of statements.
type filler struct {
	ctx    context.Context
	tx     pgx.Tx
	counts []TableCount
	err    error
}

// exec runs one statement unless an earlier one failed.
func (f *filler) exec(sql string, args ...any) int64 {
	if f.err != nil {
		return 0
	}
	tag, err := f.tx.Exec(f.ctx, sql, args...)
	if err != nil {
		f.err = fmt.Errorf("seed: %s: %w", firstLine(sql), err)
		return 0
	}
	return tag.RowsAffected()
}

// insert runs an INSERT into table and counts its rows.
func (f *filler) insert(table, sql string, args ...any) {
	n := f.exec(sql, args...)
	if f.err != nil {
		return
	}
	for i := range f.counts {
		if f.counts[i].Table == table {
			f.counts[i].Rows += n
			return
		}
	}
	f.counts = append(f.counts, TableCount{Table: table, Rows: n})
}

// scan runs a one-row query unless an earlier statement failed.
func (f *filler) scan(sql string, args []any, dest ...any) {
	if f.err != nil {
		return
	}
	if err := f.tx.QueryRow(f.ctx, sql, args...).Scan(dest...); err != nil {
		f.err = fmt.Errorf("seed: %s: %w", firstLine(sql), err)
	}
}

// reserveIDs takes n values of table's id sequence at once and returns the
// one before the first: rows inserted with ids base+1 … base+n
// (OVERRIDING SYSTEM VALUE) can then be referred to by number from the
// rows generated after them. The tables are locked, so nothing else takes
// ids meanwhile; ids of rows deleted earlier are never reused.
func (f *filler) reserveIDs(table string, n int) int64 {
	var base int64
	f.scan(`SELECT setval(s, coalesce(pg_sequence_last_value(s), 0) + $2) - $2
		FROM CAST(pg_get_serial_sequence($1, 'id') AS regclass) AS s`, []any{table, n}, &base)
	return base
}

// lockEmpty locks tables against concurrent writes (the request path's,
// another seed's: readers go on) and refuses when any holds more rows
// than its baseline.
func (f *filler) lockEmpty(tables []string, baseline map[string]int64) error {
	for _, t := range tables {
		f.exec("LOCK TABLE " + t + " IN EXCLUSIVE MODE")
	}
	for _, t := range tables {
		var n int64
		// count(*) over at most baseline+1 rows: cheap on any table.
		f.scan("SELECT count(*) FROM (SELECT 1 FROM "+t+" LIMIT $1) x", []any{baseline[t] + 1}, &n)
		if f.err == nil && n > baseline[t] {
			return errHasData()
		}
	}
	return f.err
}

func firstLine(s string) string {
	for i, r := range s {
		if r == '\n' {
			s = s[:i]
			break
		}
	}
	if len(s) > 60 {
		s = s[:60] + "…"
	}
	return s
}

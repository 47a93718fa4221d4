package importer_test

import (
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenancy/platform/platform/importer"
	"github.com/tenancy/platform/platform/pgadmin"
	"github.com/tenancy/platform/tenant"
)

var errRollback = errors.New("rollback")

var benchRows = flag.Int("import-rows", 1_000_000, "BenchmarkImport: rows of the generated SMS log")

const benchMapping = `
name: bench
kind: restaurant
source: sqlite
timezone: America/Santiago
tables:
  - from: sucursales
    to: branches
    key: [id]
    columns:
      name: {from: nombre, transform: [trim]}
  - from: mensajes
    to: customer_messages
    key: [id]
    columns:
      branch_id: {from: sucursal_id, ref: sucursales}
      channel: {value: sms}
      purpose: {value: verification}
      recipient: {from: telefono, transform: [trim]}
      body: {from: cuerpo}
      status: {from: estado, enum: {E: sent, F: failed, P: queued}}
      created_at: {from: enviado, transform: [datetime]}
`

// benchSource is a SQLite SMS log of n messages over 20 branches.
func benchSource(b *testing.B, n int) string {
	b.Helper()
	path := filepath.Join(b.TempDir(), "bench.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	for _, s := range []string{
		`CREATE TABLE sucursales (id INTEGER PRIMARY KEY, nombre TEXT)`,
		`CREATE TABLE mensajes (id INTEGER PRIMARY KEY, sucursal_id INTEGER, telefono TEXT, cuerpo TEXT, estado TEXT, enviado DATETIME)`,
	} {
		if _, err := db.Exec(s); err != nil {
			b.Fatal(err)
		}
	}
	tx, err := db.Begin()
	if err != nil {
		b.Fatal(err)
	}
	for i := 1; i <= 20; i++ {
		if _, err := tx.Exec(`INSERT INTO sucursales VALUES (?, ?)`, i, fmt.Sprintf("Sucursal %d", i)); err != nil {
			b.Fatal(err)
		}
	}
	st, err := tx.Prepare(`INSERT INTO mensajes VALUES (?, ?, ?, ?, ?, ?)`)
	if err != nil {
		b.Fatal(err)
	}
	t0 := time.Date(2024, 3, 4, 9, 0, 0, 0, time.UTC)
	for i := 1; i <= n; i++ {
		if _, err := st.Exec(i, 1+i%20, fmt.Sprintf("+56 9 %08d", i), fmt.Sprintf("VerificarSMS: su código es %06d", i%1000000),
			[]string{"E", "F", "P"}[i%3], t0.Add(time.Duration(i)*time.Second).Format("2006-01-02 15:04:05")); err != nil {
			b.Fatal(err)
		}
	}
	if err := st.Close(); err != nil {
		b.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	return path
}

// BenchmarkImport: the import of a generated SMS log (-import-rows,
// default a million) vs a bare COPY of the same rows, already in memory
// and typed, into the same table of the same tenant. Both roll back
// (the import as a dry run, which does everything but commit), so every
// iteration starts from the same tenant. Figures in docs/BENCHMARKS.md.
//
//	go test ./platform/importer/ -run '^$' -bench BenchmarkImport -benchtime 3x
func BenchmarkImport(b *testing.B) {
	f := newFixture(b)
	tn := f.e.Create(b, tenant.Restaurant)
	n := *benchRows
	t0 := time.Now()
	src := "sqlite://" + benchSource(b, n)
	b.Logf("generated %d rows in SQLite in %s", n, time.Since(t0).Round(time.Millisecond))
	total := int64(n + 20)

	b.Run("import", func(b *testing.B) {
		var rep *importer.Report
		for b.Loop() {
			var err error
			rep, err = f.svc.Import(f.e.Ctx, importer.Request{Tenant: tn.Slug, From: src, MappingFile: "bench.yaml",
				MappingBytes: []byte(benchMapping), DryRun: true})
			if err != nil {
				b.Fatal(err)
			}
			if rep.Written != total {
				b.Fatalf("wrote %d rows, want %d", rep.Written, total)
			}
		}
		b.ReportMetric(float64(total)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	})

	// The same rows as the import writes them, typed, in memory.
	branchIDs := make([]int64, 20)
	rows := make([][]any, n)
	cols := []string{"id", "branch_id", "channel", "purpose", "recipient", "body", "status", "created_at"}
	loc, err := time.LoadLocation("America/Santiago")
	if err != nil {
		b.Fatal(err)
	}
	start := time.Date(2024, 3, 4, 9, 0, 0, 0, loc)
	br := make([][]any, 20)
	for i := range br {
		branchIDs[i] = int64(1_000_000 + i) // past any id the tenant has
		br[i] = []any{branchIDs[i], fmt.Sprintf("Sucursal %d", i+1)}
	}
	for i := range rows {
		k := i + 1
		rows[i] = []any{int64(10_000_000 + k), branchIDs[k%20], "sms", "verification", fmt.Sprintf("+56 9 %08d", k),
			fmt.Sprintf("VerificarSMS: su código es %06d", k%1000000), []string{"sent", "failed", "queued"}[k%3],
			start.Add(time.Duration(k) * time.Second)}
	}
	b.Run("copy", func(b *testing.B) {
		for b.Loop() {
			f.owner(b, tn, func(c *pgx.Conn) error {
				err := pgx.BeginFunc(f.e.Ctx, c, func(tx pgx.Tx) error {
					if _, err := tx.CopyFrom(f.e.Ctx, pgx.Identifier{"branches"}, []string{"id", "name"}, pgx.CopyFromRows(br)); err != nil {
						return err
					}
					if _, err := tx.CopyFrom(f.e.Ctx, pgx.Identifier{"customer_messages"}, cols, pgx.CopyFromRows(rows)); err != nil {
						return err
					}
					return errRollback
				})
				if errors.Is(err, errRollback) {
					return nil
				}
				return err
			})
		}
		b.ReportMetric(float64(total)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	})
}

var benchUsers = flag.Int("import-users", 64, "BenchmarkImportPasswords: users with plaintext passwords")

// BenchmarkImportPasswords: users with plaintext passwords hashed at the
// production cost (12), GOMAXPROCS at a time; bcrypt's share of the
// import's time is reported apart, as the import's report does.
//
//	go test ./platform/importer/ -run '^$' -bench BenchmarkImportPasswords -benchtime 1x
func BenchmarkImportPasswords(b *testing.B) {
	f := newFixture(b)
	svc := importer.New(importer.Config{Catalog: f.e.Catalog, Servers: map[string]*pgadmin.Server{"default": f.e.Admin}, BcryptCost: 12})
	src, mapping := plaintextUsers(b, *benchUsers)
	tn := f.e.Create(b, tenant.Restaurant)
	var bcryptMS, totalMS int64
	for b.Loop() {
		rep, err := svc.Import(f.e.Ctx, importer.Request{Tenant: tn.Slug, From: src, MappingFile: "users.yaml", MappingBytes: mapping, DryRun: true})
		if err != nil {
			b.Fatal(err)
		}
		if rep.Passwords.Hashed != int64(*benchUsers) {
			b.Fatalf("hashed %d, want %d", rep.Passwords.Hashed, *benchUsers)
		}
		bcryptMS, totalMS = bcryptMS+rep.BcryptMS, totalMS+rep.DurationMS
	}
	b.ReportMetric(float64(bcryptMS)/float64(b.N)/float64(*benchUsers), "bcrypt-ms/user")
	b.ReportMetric(float64(totalMS-bcryptMS)/float64(b.N), "other-ms")
}

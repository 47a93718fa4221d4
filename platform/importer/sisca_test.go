package importer_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/crypto/bcrypt"

	"github.com/tenancy/platform/platform/importer"
	"github.com/tenancy/platform/platform/importer/importtest"
	"github.com/tenancy/platform/tenant"
)

// TestImportSisca: the shipped sisca mapping imports the SISCA fixture
// (MariaDB) end to end: every table's counts, the guest without a
// password skipped, orphan loads and the case-twin user reported;
// plaintext passwords hashed with a forced change, $2y$ hashes kept, both
// verifying the old password; a user's TIMESTAMP and DATETIME stored as
// the instants MariaDB says they are; a second import adds nothing.
func TestImportSisca(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tn := f.e.Create(t, tenant.Institution)
	opt := importtest.Options{Orphans: 2, Duplicates: 1}
	src := importtest.Sisca(t, opt)
	counts := importtest.SiscaCounts(opt)
	// A dry run first: it writes audit_log rows with reserved ids and then
	// the import's own audit entry, and leaves the sequences as they were.
	seqs := func() (v []int64) {
		f.owner(t, tn, func(c *pgx.Conn) error {
			rows, err := c.Query(f.e.Ctx, `SELECT coalesce(last_value, 0) FROM pg_sequences WHERE schemaname = 'public' ORDER BY sequencename`)
			if err == nil {
				v, err = pgx.CollectRows(rows, pgx.RowTo[int64])
			}
			return err
		})
		return v
	}
	before := seqs()
	if dry, err := f.svc.Import(f.e.Ctx, importer.Request{Tenant: tn.Slug, From: src, Mapping: "sisca", DryRun: true}); err != nil || !dry.CountsMatch {
		t.Fatalf("dry run: %v %+v", err, dry)
	}
	if after := seqs(); !slices.Equal(before, after) {
		t.Errorf("the dry run moved id sequences: %v → %v", before, after)
	}
	rep, err := f.svc.Import(f.e.Ctx, importer.Request{Tenant: tn.Slug, From: src, Mapping: "sisca"})
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	skipped := map[string]int64{"usuarios": 2, "carga_academica": 2} // guest + case twin; orphans
	for _, from := range importtest.SiscaTables() {
		tr := table(t, rep, from)
		w := counts[from] - skipped[from]
		if tr.SourceRows != counts[from] || tr.Read != counts[from] || tr.Written != w || tr.SkippedRows() != skipped[from] || !tr.CountsMatch() {
			t.Errorf("%s: %+v, want %d written, %d skipped of %d", from, tr, w, skipped[from], counts[from])
		}
	}
	if n := table(t, rep, "usuarios").Skipped["no password"]; n != 1 {
		t.Errorf("usuarios skips: %v", table(t, rep, "usuarios").Skipped)
	}
	var kept, hashed int64
	for _, l := range importtest.SiscaLogins() {
		switch l.Stored {
		case importtest.StoredBcrypt:
			kept++
		case importtest.StoredPlaintext:
			hashed++
		}
	}
	if rep.Passwords != (importer.Passwords{Kept: kept, Hashed: hashed, Skipped: 1}) {
		t.Errorf("passwords %+v, want %d kept, %d hashed, 1 skipped", rep.Passwords, kept, hashed)
	}
	if len(rep.Orphans) != 2 || len(rep.Duplicates) != 1 || !rep.CountsMatch {
		t.Errorf("report: orphans %v duplicates %v counts match %v", rep.Orphans, rep.Duplicates, rep.CountsMatch)
	}
	for _, l := range importtest.SiscaLogins() {
		var hash string
		var mustChange bool
		var n int
		f.owner(t, tn, func(c *pgx.Conn) error {
			return c.QueryRow(f.e.Ctx, `SELECT count(*), coalesce(max(password_hash), ''), coalesce(bool_or(must_change_password), false)
				FROM users WHERE username = $1`, l.Username).Scan(&n, &hash, &mustChange)
		})
		if l.Stored == importtest.StoredEmpty {
			if n != 0 {
				t.Errorf("%s (no password) was imported", l.Username)
			}
			continue
		}
		if n != 1 {
			t.Fatalf("%s: %d users", l.Username, n)
		}
		if strings.Contains(hash, l.Password) {
			t.Errorf("%s: the plaintext is stored", l.Username)
		}
		// $2y$ is $2a$ under PHP's name (tenant/auth compares it so).
		if bcrypt.CompareHashAndPassword([]byte(strings.Replace(hash, "$2y$", "$2a$", 1)), []byte(l.Password)) != nil {
			t.Errorf("%s: the stored hash does not verify the old password", l.Username)
		}
		wantChange := l.Stored == importtest.StoredPlaintext || l.Username == "rnavarro" // SISCA's own flag
		if mustChange != wantChange {
			t.Errorf("%s (%s): must_change_password %v, want %v", l.Username, l.Stored, mustChange, wantChange)
		}
		if l.Stored == importtest.StoredBcrypt && !strings.HasPrefix(hash, "$2y$") {
			t.Errorf("%s: hash %.4q, want SISCA's $2y$ kept as is", l.Username, hash)
		}
	}
	// Times as MariaDB knows them: a TIMESTAMP is an instant whatever the
	// session's zone; a DATETIME is Mexico City's wall clock, which is
	// UTC-6 all year since 2022 (the fixture's dates are of 2024).
	var srcUpdated, srcLogin int64
	if err := importtest.MySQLDB(t, src, "-06:00").QueryRowContext(f.e.Ctx,
		"SELECT UNIX_TIMESTAMP(fecha_actualizacion), UNIX_TIMESTAMP(ultimo_acceso) FROM usuarios WHERE nombre_usuario = 'coordinacion'").Scan(&srcUpdated, &srcLogin); err != nil {
		t.Fatal(err)
	}
	var updated, login time.Time
	f.owner(t, tn, func(c *pgx.Conn) error {
		return c.QueryRow(f.e.Ctx, `SELECT updated_at, last_login_at FROM users WHERE username = 'coordinacion'`).Scan(&updated, &login)
	})
	if updated.Unix() != srcUpdated || login.Unix() != srcLogin {
		t.Errorf("coordinacion: updated_at %v (TIMESTAMP %v), last_login_at %v (DATETIME %v): want the same instants",
			updated.UTC(), time.Unix(srcUpdated, 0).UTC(), login.UTC(), time.Unix(srcLogin, 0).UTC())
	}

	tables := written(rep)
	rows := f.counts(t, tn, tables...)
	again, err := f.svc.Import(f.e.Ctx, importer.Request{Tenant: tn.Slug, From: src, Mapping: "sisca"})
	if err != nil || !again.NothingNew || again.Written != 0 {
		t.Errorf("second import: %v %+v", err, again)
	}
	if after := f.counts(t, tn, tables...); !equal(rows, after) {
		t.Errorf("the second import changed the tenant: %v → %v", rows, after)
	}
}

// BenchmarkImportSisca: a million SISCA audit rows read from MariaDB
// through the MySQL source and the sisca mapping into a tenant, dry run
// (everything but the commit):
//
//	go test ./platform/importer/ -run '^$' -bench ImportSisca -benchtime 1x
func BenchmarkImportSisca(b *testing.B) {
	const rows = 1_000_000
	f := newFixture(b)
	tn := f.e.Create(b, tenant.Institution)
	src := importtest.Sisca(b, importtest.Options{Rows: map[string]int{"auditoria": rows}})
	var total int64
	for b.Loop() {
		rep, err := f.svc.Import(f.e.Ctx, importer.Request{Tenant: tn.Slug, From: src, Mapping: "sisca", DryRun: true})
		if err != nil {
			b.Fatal(err)
		}
		for _, tr := range rep.Tables {
			if tr.From == "auditoria" && tr.Written != rows {
				b.Fatalf("auditoria: %d written, want %d", tr.Written, rows)
			}
		}
		total = rep.Written
	}
	b.ReportMetric(float64(total)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

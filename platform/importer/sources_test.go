package importer_test

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/crypto/bcrypt"

	"github.com/tenancy/platform/platform/importer"
	"github.com/tenancy/platform/platform/importer/importtest"
	"github.com/tenancy/platform/tenant"
)

// branchApp is one branch's copy of the small SMS app: the same keys in
// every branch (1 and 2 in each table), each branch's own values.
func branchApp(t *testing.T, b string) string {
	t.Helper()
	return importtest.SQLite(t,
		`CREATE TABLE sucursales (id INTEGER PRIMARY KEY, nombre TEXT, telefono TEXT, activa INTEGER, borrada INTEGER)`,
		`INSERT INTO sucursales VALUES (1, 'Centro `+b+`', NULL, 1, 0), (2, 'Norte `+b+`', NULL, 1, 0)`,
		`CREATE TABLE usuarios (id INTEGER PRIMARY KEY, nombre_usuario TEXT, correo TEXT, contrasena TEXT, nombre TEXT, creado DATETIME)`,
		`INSERT INTO usuarios VALUES (1, 'uno-`+b+`', NULL, 'clave-uno-`+b+`-2021', 'Uno', NULL), (2, 'dos-`+b+`', NULL, 'clave-dos-`+b+`-2021', 'Dos', NULL)`,
		`CREATE TABLE mensajes (id INTEGER PRIMARY KEY, sucursal_id INTEGER, telefono TEXT, cuerpo TEXT, estado TEXT, enviado DATETIME)`,
		`INSERT INTO mensajes VALUES (1, 2, '5511111111', 'mensaje uno `+b+`', 'E', '2024-02-10 08:15:00'),
			(2, 1, '5522222222', 'mensaje dos `+b+`', 'F', '2024-02-11 08:15:00')`,
	)
}

// sqliteExec changes a legacy SQLite file, as its app would between two
// imports.
func sqliteExec(t *testing.T, path string, stmts ...string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestImportTwoSourcesOneMapping: two branches' databases, the same keys,
// the same mapping. Imported as the same (default) source, the second
// branch's rows are all "changed" — counted, listed, not written — and
// the tenant is unchanged; with its own --source it writes every row,
// its references resolved to its own rows; each source again adds
// nothing.
func TestImportTwoSourcesOneMapping(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tn := f.e.Create(t, tenant.Restaurant)
	a, b := "sqlite://"+branchApp(t, "a"), "sqlite://"+branchApp(t, "b")
	imp := func(from, source string) *importer.Report {
		t.Helper()
		rep, err := f.svc.Import(f.e.Ctx, importer.Request{Tenant: tn.Slug, From: from, MappingFile: "m.yaml", MappingBytes: []byte(smsMapping), Source: source})
		if err != nil {
			t.Fatalf("import %s (source %q): %v", from, source, err)
		}
		if !rep.CountsMatch || rep.SourceLabel != source {
			t.Errorf("import %s (source %q): counts match %v, label %q", from, source, rep.CountsMatch, rep.SourceLabel)
		}
		return rep
	}
	if rep := imp(a, ""); rep.Written != 6 || rep.Changed != 0 {
		t.Fatalf("branch a: %+v", rep)
	}
	before := f.counts(t, tn, allTables...)

	same := imp(b, "")
	if same.Written != 0 || same.Changed != 6 || same.AlreadyImported != 0 || same.NothingNew {
		t.Errorf("branch b as the same source: written %d changed %d already %d nothing new %v, want 6 changed", same.Written, same.Changed, same.AlreadyImported, same.NothingNew)
	}
	var day time.Time
	f.owner(t, tn, func(c *pgx.Conn) error {
		return c.QueryRow(f.e.Ctx, `SELECT imported_at FROM import_ids WHERE source_table = 'mensajes' AND source_key = '1'`).Scan(&day)
	})
	reason := "changed in the source since it was imported on " + day.UTC().Format(time.DateOnly) +
		" (an import never updates a row; another database of the same system needs its own --source)"
	for _, from := range []string{"sucursales", "usuarios", "mensajes"} {
		tr := table(t, same, from)
		if tr.Changed != 2 || tr.Written != 0 || tr.SkippedRows() != 0 || len(tr.Examples) != 2 || tr.Examples[0] != (importer.Example{Key: "1", Reason: reason}) {
			t.Errorf("%s: %+v, want 2 changed, listed as %q", from, tr, reason)
		}
	}
	after := f.counts(t, tn, allTables...)
	for _, tb := range allTables {
		if tb != "audit_log" && after[tb] != before[tb] {
			t.Errorf("branch b as the same source changed %s: %d → %d rows", tb, before[tb], after[tb])
		}
	}
	var text bytes.Buffer
	if err := same.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"(2 CHANGED)", "2  changed in the source since imported (not updated)", "e.g. key 1: " + reason,
		"6 rows changed in the source", "its own --source", "written + skipped + already imported + changed"} {
		if !strings.Contains(text.String(), w) {
			t.Errorf("text report lacks %q:\n%s", w, text.String())
		}
	}

	own := imp(b, "branch-2")
	if own.Written != 6 || own.Changed != 0 || own.AlreadyImported != 0 || own.Skipped != 0 {
		t.Errorf("branch b as branch-2: %+v, want its 6 rows written", own)
	}
	var branch string
	var bySource map[string]int
	f.owner(t, tn, func(c *pgx.Conn) error {
		if err := c.QueryRow(f.e.Ctx, `SELECT b.name FROM customer_messages m JOIN branches b ON b.id = m.branch_id WHERE m.body = 'mensaje uno b'`).Scan(&branch); err != nil {
			return err
		}
		rows, err := c.Query(f.e.Ctx, `SELECT source, count(*)::int FROM import_ids WHERE row_hash IS NOT NULL GROUP BY source`)
		if err != nil {
			return err
		}
		bySource = map[string]int{}
		var s string
		var n int
		_, err = pgx.ForEachRow(rows, []any{&s, &n}, func() error { bySource[s] = n; return nil })
		return err
	})
	if branch != "Norte b" {
		t.Errorf("branch b's message 1 refers to %q, want its own Norte b", branch)
	}
	if len(bySource) != 2 || bySource[""] != 6 || bySource["branch-2"] != 6 {
		t.Errorf("import_ids rows with a hash by source: %v", bySource)
	}
	for _, again := range []struct{ from, source string }{{a, ""}, {b, "branch-2"}} {
		if rep := imp(again.from, again.source); !rep.NothingNew || rep.Written != 0 || rep.Changed != 0 || rep.AlreadyImported != 6 {
			t.Errorf("again %s (source %q): %+v, want nothing new", again.from, again.source, rep)
		}
	}

	// A third branch with a username the first one's import wrote: a
	// duplicate of an earlier import's row (skipped, listed), not a
	// conflict with the tenant's own data.
	cPath := branchApp(t, "c")
	sqliteExec(t, cPath, `UPDATE usuarios SET nombre_usuario = 'uno-a' WHERE id = 1`)
	third := imp("sqlite://"+cPath, "branch-3")
	if u := table(t, third, "usuarios"); u.Written != 1 || u.Duplicates != 1 || u.Skipped["duplicate username of an earlier import's row"] != 1 {
		t.Errorf("branch c's usuarios: %+v, want uno-a skipped as a duplicate of an earlier import's row", u)
	}
}

// TestImportChangedRow: a source row edited since it was imported is
// "changed" — counted, listed, not written, the tenant's row as it was;
// a changed password alone is not a change (the hash leaves it out: the
// stored hash is the row's without it, not with it); a row of an import
// before hashes (row_hash null) is already imported whatever it holds.
func TestImportChangedRow(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tn := f.e.Create(t, tenant.Restaurant)
	path := smsApp(t)
	src := "sqlite://" + path
	req := importer.Request{Tenant: tn.Slug, From: src, MappingFile: "m.yaml", MappingBytes: []byte(smsMapping)}
	if rep, err := f.svc.Import(f.e.Ctx, req); err != nil || rep.Written != 8 {
		t.Fatalf("import: %v %+v", err, rep)
	}
	const newPassword = "ana-clave-nueva-2026"
	sqliteExec(t, path, `UPDATE mensajes SET cuerpo = 'Su código es 0000' WHERE id = 2`,
		`UPDATE usuarios SET contrasena = '`+newPassword+`' WHERE id = 1`)
	before := f.counts(t, tn, allTables...)

	rep, err := f.svc.Import(f.e.Ctx, req)
	if err != nil {
		t.Fatalf("second import: %v", err)
	}
	msgs, users := table(t, rep, "mensajes"), table(t, rep, "usuarios")
	if msgs.Changed != 1 || msgs.Written != 0 || msgs.AlreadyImported != 2 || len(msgs.Examples) != 1 || msgs.Examples[0].Key != "2" ||
		!strings.HasPrefix(msgs.Examples[0].Reason, "changed in the source since it was imported on ") {
		t.Errorf("mensajes: %+v, want row 2 changed", msgs)
	}
	if users.Changed != 0 || users.AlreadyImported != 3 || users.Written != 0 {
		t.Errorf("usuarios: %+v, want the password change not counted as a change", users)
	}
	if rep.Changed != 1 || rep.Written != 0 || rep.NothingNew || !rep.CountsMatch {
		t.Errorf("report: %+v", rep)
	}
	if after := f.counts(t, tn, allTables...); after["customer_messages"] != before["customer_messages"] || after["import_ids"] != before["import_ids"] {
		t.Errorf("tenant changed: %v → %v", before, after)
	}
	var old, edited int
	var anaHash string
	var stored []byte
	f.owner(t, tn, func(c *pgx.Conn) error {
		if err := c.QueryRow(f.e.Ctx, `SELECT count(*) FILTER (WHERE body = 'Su código es 9876'), count(*) FILTER (WHERE body = 'Su código es 0000') FROM customer_messages`).Scan(&old, &edited); err != nil {
			return err
		}
		if err := c.QueryRow(f.e.Ctx, `SELECT password_hash FROM users WHERE username = 'ana'`).Scan(&anaHash); err != nil {
			return err
		}
		return c.QueryRow(f.e.Ctx, `SELECT row_hash FROM import_ids WHERE source_table = 'usuarios' AND source_key = '1'`).Scan(&stored)
	})
	if old != 1 || edited != 0 {
		t.Errorf("customer_messages: %d with the old body, %d with the edited one; want the row unchanged", old, edited)
	}
	if bcrypt.CompareHashAndPassword([]byte(anaHash), []byte(plainAna)) != nil {
		t.Error("ana's password changed in the tenant")
	}
	without, err := importer.RowHashes(f.e.Ctx, src, []byte(smsMapping), "usuarios", false)
	if err != nil {
		t.Fatal(err)
	}
	with, err := importer.RowHashes(f.e.Ctx, src, []byte(smsMapping), "usuarios", true)
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != 16 || !bytes.Equal(stored, without["1"]) || bytes.Equal(stored, with["1"]) {
		t.Errorf("usuarios 1: stored hash %x, the row's without its password %x, with it %x: want the one without", stored, without["1"], with["1"])
	}
	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	noPlaintext(t, "report", text.String(), string(js), f.log.String())
	if strings.Contains(text.String()+string(js)+f.log.String(), newPassword) {
		t.Error("the report or the log shows the new password")
	}

	// An id map row from before hashes: already imported, as before.
	f.owner(t, tn, func(c *pgx.Conn) error {
		_, err := c.Exec(f.e.Ctx, `UPDATE import_ids SET row_hash = NULL WHERE source_table = 'mensajes' AND source_key = '2'`)
		return err
	})
	rep, err = f.svc.Import(f.e.Ctx, req)
	if err != nil {
		t.Fatalf("third import: %v", err)
	}
	if msgs := table(t, rep, "mensajes"); msgs.Changed != 0 || msgs.AlreadyImported != 3 || !rep.NothingNew {
		t.Errorf("mensajes with a null hash: %+v, want already imported", msgs)
	}
}

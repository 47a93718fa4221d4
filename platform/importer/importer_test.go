package importer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/crypto/bcrypt"

	"github.com/tenancy/platform/platform/importer"
	"github.com/tenancy/platform/platform/importer/importtest"
	"github.com/tenancy/platform/platform/pgadmin"
	"github.com/tenancy/platform/platform/platformtest/tenanttest"
	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/auth"
)

// Plaintext passwords of the legacy users: they must never show in a
// report, a log line or an error.
const (
	plainAna  = "ana-clave-secreta-41"
	plainLuis = "luis-clave-secreta-77"
	phpPass   = "php-hash-pass-2019"
)

// fixture is a test's control plane, import service and log.
type fixture struct {
	e   *tenanttest.Env
	svc *importer.Service
	log *bytes.Buffer
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	e := tenanttest.New(t)
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})) // the handler serializes writes
	svc := importer.New(importer.Config{Catalog: e.Catalog, Servers: map[string]*pgadmin.Server{"default": e.Admin},
		BcryptCost: 4, Logger: logger})
	return &fixture{e: e, svc: svc, log: &buf}
}

// smsApp is a small legacy SMS app: branches, users with plaintext and
// PHP-hashed passwords, and its message log.
func smsApp(t *testing.T, extra ...string) string {
	stmts := []string{
		`CREATE TABLE sucursales (id INTEGER PRIMARY KEY, nombre TEXT, telefono TEXT, activa INTEGER, borrada INTEGER)`,
		`INSERT INTO sucursales VALUES (1, ' Centro ', '+52 55 1234 5678', 1, 0), (2, 'Norte', '', 0, 0), (3, 'Vieja', NULL, 1, 1)`,
		`CREATE TABLE usuarios (id INTEGER PRIMARY KEY, nombre_usuario TEXT, correo TEXT, contrasena TEXT, nombre TEXT, creado DATETIME)`,
		`INSERT INTO usuarios VALUES (1, 'ana', 'ana@example.mx', '` + plainAna + `', 'Ana Pérez', '2021-03-04 09:30:00'),
			(2, 'luis', NULL, '` + plainLuis + `', 'Luis Ñúñez', '2021-05-06 18:00:00'),
			(3, 'pepe', '', '` + importtest.PHPHash(t, phpPass) + `', 'Pepe', '2022-01-01 00:00:00'),
			(4, 'sinclave', NULL, '', 'Sin Clave', NULL)`,
		`CREATE TABLE mensajes (id INTEGER PRIMARY KEY, sucursal_id INTEGER, telefono TEXT, cuerpo TEXT, estado TEXT, enviado DATETIME)`,
		`INSERT INTO mensajes VALUES (1, 1, '5512345678', 'Su código es 1234', 'E', '2024-02-10 08:15:00'),
			(2, 2, '5587654321', 'Su código es 9876', 'F', '2024-02-11 20:45:30'),
			(3, 1, '5511112222', 'Su código es 5555', 'P', '2024-02-12 12:00:00')`,
	}
	return importtest.SQLite(t, append(stmts, extra...)...)
}

// smsMapping imports smsApp into a restaurant.
const smsMapping = `
name: smsapp
description: test SMS app
kind: restaurant
source: [sqlite, csv]
timezone: America/Mexico_City
tables:
  - from: sucursales
    to: branches
    key: [id]
    skip: {column: borrada, equals: 1, reason: deleted in the source}
    columns:
      name: {from: nombre, transform: [trim]}
      phone: {from: telefono, transform: [trim, nullempty]}
      active: {from: activa, transform: [bool]}
      address: {from: direccion, default: ""}
  - from: usuarios
    to: users
    key: id
    columns:
      username: {from: nombre_usuario, transform: [trim]}
      email: {from: correo, transform: [trim, nullempty]}
      full_name: {from: nombre}
      password_hash: {from: [contrasena_hash, contrasena], password: true}
      created_at: {from: creado, transform: [datetime]}
      roles: {value: "staff, manager"}
  - from: mensajes
    to: customer_messages
    key: [id]
    columns:
      branch_id: {from: sucursal_id, ref: sucursales}
      channel: {value: sms}
      purpose: {value: verification}
      recipient: {from: telefono}
      body: {from: cuerpo}
      status: {from: estado, enum: {E: sent, F: failed, P: queued}}
      created_at: {from: enviado}
  - from: tokens_reset
    to: password_reset_tokens
    key: [id]
    columns:
      user_id: {from: usuario_id, ref: usuarios}
      token_hash: {from: token}
      expires_at: {from: expira}
`

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// owner runs fn on the tenant's database as its owner.
func (f *fixture) owner(t testing.TB, tn *tenanttest.Tenant, fn func(c *pgx.Conn) error) {
	t.Helper()
	if err := f.e.Admin.In(f.e.Ctx, tn.Database, tenant.OwnerRole(tn.Slug), fn); err != nil {
		t.Fatal(err)
	}
}

// counts is the row count of each table.
func (f *fixture) counts(t *testing.T, tn *tenanttest.Tenant, tables ...string) map[string]int64 {
	t.Helper()
	m := map[string]int64{}
	f.owner(t, tn, func(c *pgx.Conn) error {
		for _, tb := range tables {
			var n int64
			if err := c.QueryRow(f.e.Ctx, "SELECT count(*) FROM "+pgx.Identifier{tb}.Sanitize()).Scan(&n); err != nil {
				return err
			}
			m[tb] = n
		}
		return nil
	})
	return m
}

// written are the tables an import with rep's plan writes: its targets,
// user_roles and the id map (audit_log takes the import's own entry).
func written(rep *importer.Report) []string {
	ts := []string{"user_roles", "import_ids"}
	for _, t := range rep.Tables {
		if !t.Absent && !slices.Contains(ts, t.To) && t.To != "audit_log" {
			ts = append(ts, t.To)
		}
	}
	return ts
}

// plaintextUsers is a SQLite app of n users with plaintext passwords
// (usuario1 … with clave-en-texto-1 …) and its mapping into users.
func plaintextUsers(t testing.TB, n int) (from string, mapping []byte) {
	t.Helper()
	stmts := []string{`CREATE TABLE usuarios (id INTEGER PRIMARY KEY, usuario TEXT, clave TEXT)`}
	for i := 1; i <= n; i++ {
		stmts = append(stmts, fmt.Sprintf(`INSERT INTO usuarios VALUES (%d, 'usuario%d', 'clave-en-texto-%d')`, i, i, i))
	}
	return "sqlite://" + importtest.SQLite(t, stmts...), []byte("name: plaintext-users\nkind: restaurant\nsource: sqlite\ntables:\n  - from: usuarios\n    to: users\n    key: id\n" +
		"    columns:\n      username: {from: usuario}\n      password_hash: {from: clave, password: true}\n")
}

// unchanged fails t unless the tenant's tables count as before.
func (f *fixture) unchanged(t *testing.T, tn *tenanttest.Tenant, before map[string]int64) {
	t.Helper()
	tables := make([]string, 0, len(before))
	for tb := range before {
		tables = append(tables, tb)
	}
	if after := f.counts(t, tn, tables...); !equal(before, after) {
		t.Errorf("tenant changed: %v → %v", before, after)
	}
}

var allTables = []string{"branches", "users", "customer_messages", "password_reset_tokens", "import_ids", "audit_log"}

func table(t *testing.T, r *importer.Report, from string) *importer.TableReport {
	t.Helper()
	for _, tr := range r.Tables {
		if tr.From == from {
			return tr
		}
	}
	t.Fatalf("report has no table %s", from)
	return nil
}

// noPlaintext fails if a legacy plaintext password shows in any text.
func noPlaintext(t *testing.T, where string, texts ...string) {
	t.Helper()
	for _, s := range texts {
		for _, pw := range []string{plainAna, plainLuis, phpPass} {
			if strings.Contains(s, pw) {
				t.Errorf("%s holds a plaintext password", where)
			}
		}
	}
}

// TestImportEndToEnd: a SQLite app into a restaurant; counts per table
// and in the tenant; plaintext hashed with a forced change, $2y$ kept;
// naive dates in the mapping's zone; the deleted branch and the user
// without a password skipped with their reasons; the absent table
// reported; the audit log has the import; a second import adds nothing.
func TestImportEndToEnd(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tn := f.e.Create(t, tenant.Restaurant)
	src := "sqlite://" + smsApp(t)
	mapping := writeFile(t, "smsapp.yaml", smsMapping)
	before := f.counts(t, tn, allTables...)

	rep, err := f.svc.Import(f.e.Ctx, importer.Request{Tenant: tn.Slug, From: src, Mapping: mapping})
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	after := f.counts(t, tn, allTables...)
	want := map[string]struct{ read, written, skipped int64 }{
		"sucursales": {3, 2, 1}, "usuarios": {4, 3, 1}, "mensajes": {3, 3, 0},
	}
	for from, w := range want {
		tr := table(t, rep, from)
		if tr.Read != w.read || tr.Written != w.written || tr.SkippedRows() != w.skipped || tr.SourceRows != w.read || !tr.CountsMatch() {
			t.Errorf("%s: %+v, want read %d written %d skipped %d", from, tr, w.read, w.written, w.skipped)
		}
		if got := after[tr.To] - before[tr.To]; got != w.written || tr.TargetAfter-tr.TargetBefore != w.written {
			t.Errorf("%s: the tenant's %s grew by %d, report says %d→%d, want %d", from, tr.To, got, tr.TargetBefore, tr.TargetAfter, w.written)
		}
	}
	if !rep.CountsMatch || rep.NothingNew || rep.Written != 8 || rep.Read != 10 || rep.Skipped != 2 {
		t.Errorf("report totals: %+v", rep)
	}
	if len(rep.Absent) != 1 || rep.Absent[0] != "tokens_reset" || !table(t, rep, "tokens_reset").Absent {
		t.Errorf("absent = %v, want tokens_reset", rep.Absent)
	}
	if rep.Passwords != (importer.Passwords{Kept: 1, Hashed: 2, Skipped: 1}) {
		t.Errorf("passwords = %+v, want 1 kept, 2 hashed, 1 skipped", rep.Passwords)
	}
	if n := table(t, rep, "sucursales").Skipped["skipped by the mapping: deleted in the source"]; n != 1 {
		t.Errorf("branch skips: %v", table(t, rep, "sucursales").Skipped)
	}
	if n := table(t, rep, "usuarios").Skipped["no password"]; n != 1 {
		t.Errorf("user skips: %v", table(t, rep, "usuarios").Skipped)
	}
	if after["import_ids"] != 8 {
		t.Errorf("import_ids: %d rows, want 8", after["import_ids"])
	}
	if tr := table(t, rep, "usuarios"); tr.RolesGranted != 6 {
		t.Errorf("roles granted: %d, want 6 (staff and manager to 3 users)", tr.RolesGranted)
	}
	var grants int
	f.owner(t, tn, func(c *pgx.Conn) error {
		return c.QueryRow(f.e.Ctx, `SELECT count(*) FROM user_roles ur JOIN users u ON u.id = ur.user_id JOIN roles r ON r.id = ur.role_id
			WHERE u.username <> 'admin' AND r.name IN ('staff', 'manager')`).Scan(&grants)
	})
	if grants != 6 {
		t.Errorf("user_roles: %d grants of staff and manager, want 6", grants)
	}
	if after["audit_log"] != before["audit_log"]+1 {
		t.Errorf("audit_log grew by %d, want 1 (the import)", after["audit_log"]-before["audit_log"])
	}

	// What the tenant holds.
	type user struct {
		hash   string
		change bool
		email  *string
		name   string
	}
	users := map[string]user{}
	var created time.Time
	var msgBranch, centro int64
	var status, phone string
	var active bool
	f.owner(t, tn, func(c *pgx.Conn) error {
		rows, err := c.Query(f.e.Ctx, `SELECT username, password_hash, must_change_password, email, full_name FROM users WHERE username <> 'admin'`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var name string
			var u user
			if err := rows.Scan(&name, &u.hash, &u.change, &u.email, &u.name); err != nil {
				return err
			}
			users[name] = u
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if err := c.QueryRow(f.e.Ctx, `SELECT id, phone, active FROM branches WHERE name = 'Centro'`).Scan(&centro, &phone, &active); err != nil {
			return err
		}
		return c.QueryRow(f.e.Ctx, `SELECT created_at, branch_id, status FROM customer_messages WHERE body = 'Su código es 9876'`).Scan(&created, &msgBranch, &status)
	})
	if len(users) != 3 {
		t.Fatalf("users imported: %v", users)
	}
	for name, pw := range map[string]string{"ana": plainAna, "luis": plainLuis} {
		u := users[name]
		if !u.change || !strings.HasPrefix(u.hash, "$2a$04$") || bcrypt.CompareHashAndPassword([]byte(u.hash), []byte(pw)) != nil {
			t.Errorf("%s: hash %.7s… must change %v: want a bcrypt at cost 4 of the old password and a forced change", name, u.hash, u.change)
		}
	}
	if u := users["pepe"]; u.change || !strings.HasPrefix(u.hash, "$2y$") || u.email != nil {
		t.Errorf("pepe: hash %.7s… must change %v email %v: want the $2y$ hash kept, no forced change, no email", u.hash, u.change, u.email)
	}
	if users["luis"].name != "Luis Ñúñez" || users["ana"].email == nil || *users["ana"].email != "ana@example.mx" {
		t.Errorf("user fields: %+v", users)
	}
	if phone != "+52 55 1234 5678" || !active {
		t.Errorf("Centro: phone %q active %v", phone, active)
	}
	// 20:45:30 in Mexico City (UTC-6, no DST since 2022) is 02:45:30 UTC.
	if want := time.Date(2024, 2, 12, 2, 45, 30, 0, time.UTC); !created.Equal(want) || status != "failed" || msgBranch == centro {
		t.Errorf("message: created %v (want %v), status %s, branch %d (Centro is %d)", created.UTC(), want, status, msgBranch, centro)
	}
	var auditDetails map[string]any
	f.owner(t, tn, func(c *pgx.Conn) error {
		return c.QueryRow(f.e.Ctx, `SELECT details FROM audit_log WHERE action = $1 AND actor LIKE 'operator:%'`, importer.AuditAction).Scan(&auditDetails)
	})
	if auditDetails["mapping"] != "smsapp" || auditDetails["rows_written"] != float64(8) {
		t.Errorf("audit details: %v", auditDetails)
	}

	// The report in JSON and as text, and the log, hold no plaintext.
	js, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"sucursales", "customer_messages", "absent", "2 plaintext hashed", "counts add up"} {
		if !strings.Contains(text.String(), w) {
			t.Errorf("text report lacks %q:\n%s", w, text.String())
		}
	}

	// Again: nothing new.
	rep2, err := f.svc.Import(f.e.Ctx, importer.Request{Tenant: tn.Slug, From: src, Mapping: mapping})
	if err != nil {
		t.Fatalf("second import: %v", err)
	}
	again := f.counts(t, tn, allTables...)
	for _, tb := range allTables {
		if tb != "audit_log" && again[tb] != after[tb] {
			t.Errorf("second import changed %s: %d → %d rows", tb, after[tb], again[tb])
		}
	}
	if !rep2.NothingNew || rep2.Written != 0 || rep2.AlreadyImported != 8 || !rep2.CountsMatch {
		t.Errorf("second import: %+v", rep2)
	}
	var text2 bytes.Buffer
	if err := rep2.WriteText(&text2); err != nil || !strings.Contains(text2.String(), "nothing new") {
		t.Errorf("second report (%v):\n%s", err, text2.String())
	}
	noPlaintext(t, "report, log", string(js), text.String(), f.log.String(), text2.String())
}

// TestImportOrphansAndDuplicates: a message of a missing branch is an
// orphan, listed and skipped; a username repeating another's in another
// case and a branch name repeated are duplicates, listed and skipped.
func TestImportOrphansAndDuplicates(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tn := f.e.Create(t, tenant.Restaurant)
	src := smsApp(t,
		`INSERT INTO mensajes VALUES (10, 99, '5500000000', 'huérfano', 'E', '2024-03-01 10:00:00')`,
		`INSERT INTO mensajes VALUES (11, 3, '5500000001', 'de la borrada', 'E', '2024-03-01 10:00:00')`,
		`INSERT INTO usuarios VALUES (5, 'ANA', NULL, 'otra-clave-cualquiera', 'Ana bis', NULL)`,
		`INSERT INTO sucursales VALUES (4, 'Centro', NULL, 1, 0)`,
		`INSERT INTO usuarios VALUES (6, 'largo', NULL, '`+strings.Repeat("clave larga ", 7)+`', 'Largo', NULL)`,
	)
	rep, err := f.svc.Import(f.e.Ctx, importer.Request{Tenant: tn.Slug, From: "sqlite://" + src, Mapping: writeFile(t, "m.yaml", smsMapping)})
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	msgs := table(t, rep, "mensajes")
	if msgs.Orphans != 2 || msgs.Written != 3 || len(rep.Orphans) != 2 {
		t.Fatalf("mensajes: %+v; orphans %+v", msgs, rep.Orphans)
	}
	got := map[string]string{}
	for _, o := range rep.Orphans {
		got[o.Key] = o.Table + "." + o.Column + " → " + o.Missing
	}
	if got["10"] != "mensajes.branch_id → sucursales 99" || got["11"] != "mensajes.branch_id → sucursales 3" {
		t.Errorf("orphans: %v", got)
	}
	dups := map[string]importer.Duplicate{}
	for _, d := range rep.Duplicates {
		dups[d.Table+" "+d.Key] = d
	}
	if d, ok := dups["usuarios 5"]; !ok || d.Of != "source row 1" || d.Fields[0] != "username" {
		t.Errorf("duplicates: %+v", rep.Duplicates)
	}
	if d, ok := dups["sucursales 4"]; !ok || d.Of != "source row 1" {
		t.Errorf("duplicates: %+v", rep.Duplicates)
	}
	if u := table(t, rep, "usuarios"); u.Skipped["invalid password_hash: a plaintext password longer than 72 bytes (bcrypt's limit)"] != 1 {
		t.Errorf("usuarios: %+v, want the 84-byte plaintext skipped", u)
	}
	if u := table(t, rep, "usuarios"); u.Duplicates != 1 || u.Written != 3 || !u.CountsMatch() {
		t.Errorf("usuarios: %+v", u)
	}
	if n := f.counts(t, tn, "customer_messages")["customer_messages"]; n != 3 {
		t.Errorf("customer_messages: %d rows, want 3", n)
	}
	if !rep.CountsMatch {
		t.Errorf("counts do not match: %+v", rep)
	}
}

// TestImportConflictingData: a tenant that already has a user of the
// source's (not from an earlier import) refuses the import with a clear
// error naming it, and nothing changes.
func TestImportConflictingData(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tn := f.e.Create(t, tenant.Restaurant)
	f.owner(t, tn, func(c *pgx.Conn) error {
		_, err := c.Exec(f.e.Ctx, `INSERT INTO users (username, password_hash) VALUES ('Luis', 'x')`)
		return err
	})
	before := f.counts(t, tn, allTables...)
	_, err := f.svc.Import(f.e.Ctx, importer.Request{Tenant: tn.Slug, From: "sqlite://" + smsApp(t), Mapping: writeFile(t, "m.yaml", smsMapping)})
	if tenant.ErrorCode(err) != tenant.EConflict || !strings.Contains(err.Error(), "usuarios: the tenant already has users") ||
		!strings.Contains(err.Error(), "source row 2") || !strings.Contains(err.Error(), "nothing imported") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("import into conflicting data: %v (%s)", err, tenant.ErrorCode(err))
	}
	noPlaintext(t, "the error", err.Error())
	f.unchanged(t, tn, before)
}

func equal(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestImportFailureMidwayLeavesTenantUnchanged: the last table breaks a
// rule only the database knows (a constraint the test adds), after the
// branches and users are written: the whole import is undone.
func TestImportFailureMidwayLeavesTenantUnchanged(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tn := f.e.Create(t, tenant.Restaurant)
	f.owner(t, tn, func(c *pgx.Conn) error {
		_, err := c.Exec(f.e.Ctx, `ALTER TABLE customer_messages ADD CONSTRAINT test_no_boom CHECK (body <> 'boom')`)
		return err
	})
	src := smsApp(t, `INSERT INTO mensajes VALUES (20, 1, '5500000002', 'boom', 'E', '2024-03-01 10:00:00')`)
	before := f.counts(t, tn, allTables...)
	_, err := f.svc.Import(f.e.Ctx, importer.Request{Tenant: tn.Slug, From: "sqlite://" + src, Mapping: writeFile(t, "m.yaml", smsMapping)})
	if tenant.ErrorCode(err) != tenant.EInvalid || !strings.Contains(err.Error(), "customer_messages") || !strings.Contains(err.Error(), "test_no_boom") {
		t.Fatalf("import: %v (%s), want the constraint named", err, tenant.ErrorCode(err))
	}
	noPlaintext(t, "the error", err.Error())
	f.unchanged(t, tn, before)
	// And a good source imports afterwards (the failed run left no ids).
	rep, err := f.svc.Import(f.e.Ctx, importer.Request{Tenant: tn.Slug, From: "sqlite://" + smsApp(t), Mapping: writeFile(t, "m.yaml", smsMapping)})
	if err != nil || rep.Written != 8 {
		t.Fatalf("import after the failure: %v %+v", err, rep)
	}
}

// TestImportDryRun does everything and writes nothing; the real import
// after it writes what the dry run said.
func TestImportDryRun(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tn := f.e.Create(t, tenant.Restaurant)
	src, mapping := "sqlite://"+smsApp(t), writeFile(t, "m.yaml", smsMapping)
	before := f.counts(t, tn, allTables...)
	seq := func() (n int64) {
		f.owner(t, tn, func(c *pgx.Conn) error {
			return c.QueryRow(f.e.Ctx, `SELECT coalesce(pg_sequence_last_value(pg_get_serial_sequence('customer_messages', 'id')::regclass), 0)`).Scan(&n)
		})
		return n
	}
	seqBefore := seq()
	dry, err := f.svc.Import(f.e.Ctx, importer.Request{Tenant: tn.Slug, From: src, Mapping: mapping, DryRun: true})
	if err != nil {
		t.Fatalf("dry run: %v", err)
	}
	if !dry.DryRun || dry.Written != 8 || dry.Passwords.Hashed != 2 || !dry.CountsMatch {
		t.Errorf("dry run report: %+v", dry)
	}
	if after := f.counts(t, tn, allTables...); !equal(before, after) {
		t.Errorf("dry run changed the tenant: %v → %v", before, after)
	}
	if n := seq(); n != seqBefore {
		t.Errorf("dry run moved the customer_messages id sequence: %d → %d", seqBefore, n)
	}
	real, err := f.svc.Import(f.e.Ctx, importer.Request{Tenant: tn.Slug, From: src, Mapping: mapping})
	if err != nil || real.Written != dry.Written || real.NothingNew {
		t.Fatalf("import after the dry run: %v %+v", err, real)
	}
}

// TestImportCSV: the same app as CSV files (every value text).
func TestImportCSV(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tn := f.e.Create(t, tenant.Restaurant)
	dir := t.TempDir()
	files := map[string]string{
		"sucursales.csv": "\ufeffid,nombre,telefono,activa,borrada\n1,Centro,+52 55 1234 5678,1,0\n2,Norte,,sí,0\n3,Vieja,,1,1\n",
		"usuarios.csv":   "id,nombre_usuario,correo,contrasena,nombre,creado\n1,ana,ana@example.mx," + plainAna + ",Ana,2021-03-04 09:30:00\n",
		"mensajes.csv":   "id,sucursal_id,telefono,cuerpo,estado,enviado\n1,2,5512345678,\"Hola, su código\",E,2024-02-10 08:15:00\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := f.svc.Import(f.e.Ctx, importer.Request{Tenant: tn.Slug, From: "csv://" + dir, MappingFile: "inline.yaml", MappingBytes: []byte(smsMapping)})
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	if rep.Written != 4 || rep.Skipped != 1 || !rep.CountsMatch || rep.Passwords.Hashed != 1 {
		t.Errorf("report: %+v", rep)
	}
	var active bool
	f.owner(t, tn, func(c *pgx.Conn) error {
		return c.QueryRow(f.e.Ctx, `SELECT active FROM branches WHERE name = 'Norte'`).Scan(&active)
	})
	if !active {
		t.Error("Norte: activa 'sí' not imported as true")
	}
}

// TestImportErrorsAreOneLine: bad mapping files, sources that cannot be
// read and requests that do not fit get one clear line each, before
// anything is written, and never the source's password.
func TestImportErrorsAreOneLine(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tn := f.e.Create(t, tenant.Restaurant)
	inst := f.e.Create(t, tenant.Institution)
	good := "sqlite://" + smsApp(t)
	bad := func(old, new string) string { return strings.Replace(smsMapping, old, new, 1) }
	notSQLite := writeFile(t, "notes.db", "these are not the droids")
	// A SQLite file whose pages after the first (the schema) are garbage.
	damaged := smsApp(t, `CREATE TABLE relleno (x TEXT)`, `INSERT INTO relleno VALUES (hex(zeroblob(20000)))`)
	if b, err := os.ReadFile(damaged); err != nil || len(b) < 3*4096 {
		t.Fatalf("damaged: %d bytes, %v", len(b), err)
	} else {
		for i := 4096; i < len(b); i++ {
			b[i] = 0xA5
		}
		if err := os.WriteFile(damaged, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	before := f.counts(t, tn, allTables...)
	for _, c := range []struct {
		name, mapping, from, slug string
		code, want                string
		source                    string // Request.Source
	}{
		{"yaml", "name: [unclosed", good, "", tenant.EInvalid, "m.yaml: not valid YAML or JSON", ""},
		{"unknown key", bad("      name: {from: nombre, transform: [trim]}", "      name: {from: nombre, tranform: [trim]}"), good, "", tenant.EInvalid,
			`m.yaml: tables[0](sucursales).columns.name.tranform: unknown key`, ""},
		{"unknown top key", "nmae: x\n" + smsMapping, good, "", tenant.EInvalid, "m.yaml: nmae: unknown key", ""},
		{"unknown transform", bad("[trim]}", "[trimm]}"), good, "", tenant.EInvalid, `m.yaml: sucursales.name: unknown transform "trimm"`, ""},
		{"unknown target column", bad("      name: {from: nombre", "      nombre: {from: nombre"), good, "", tenant.EInvalid,
			`sucursales.nombre: branches has no column "nombre"`, ""},
		{"required column", bad("      recipient: {from: telefono}\n", ""), good, "", tenant.EInvalid, "mensajes: customer_messages.recipient is required: map it", ""},
		{"ref to a later table", bad("ref: sucursales", "ref: tokens_reset"), good, "", tenant.EInvalid, `mensajes.branch_id: ref "tokens_reset" names no earlier table`, ""},
		{"read-only column", bad("      body: {from: cuerpo}", "      body: {from: cuerpo}\n      id: {from: id}"), good, "", tenant.EInvalid,
			"mensajes.id: customer_messages.id is set by the platform", ""},
		{"unknown target table", bad("to: customer_messages", "to: sms"), good, "", tenant.EInvalid, `mensajes: to: "sms" is not a table`, ""},
		{"password on another column", bad("{from: nombre}", "{from: nombre, password: true}"), good, "", tenant.EInvalid, "usuarios.full_name: password: true only on users.password_hash", ""},
		{"password as the key", bad("    key: id\n    columns:\n      username", "    key: contrasena\n    columns:\n      username"), good, "", tenant.EInvalid,
			"usuarios: key: contrasena is the password column", ""},
		{"password as the skip column", bad("    key: id\n    columns:\n      username", "    key: id\n    skip: {column: contrasena, equals: x}\n    columns:\n      username"), good, "", tenant.EInvalid,
			"usuarios: skip: contrasena is the password column", ""},
		{"missing source column", bad("recipient: {from: telefono}", "recipient: {from: tel}"), good, "", tenant.EInvalid,
			`mensajes.recipient: the source table has no column "tel"`, ""},
		{"wrong kind", smsMapping, good, inst.Slug, tenant.EInvalid, "mapping smsapp is for restaurant tenants; " + inst.Slug + " is a institution tenant", ""},
		{"unknown tenant", smsMapping, good, "no-such-tenant", tenant.ENotFound, `tenant "no-such-tenant" not found`, ""},
		{"missing file", smsMapping, "sqlite:///no/such/legacy.db", "", tenant.EInvalid, "sqlite:///no/such/legacy.db: no such file", ""},
		{"not sqlite", smsMapping, "sqlite://" + notSQLite, "", tenant.EInvalid, "not a SQLite database", ""},
		{"relative path", smsMapping, "sqlite://legacy.db", "", tenant.EInvalid, "the path must be absolute", ""},
		{"scheme", smsMapping, "postgres://u:hunter2@h/db", "", tenant.EInvalid, "mapping smsapp reads sqlite or csv sources", ""},
		{"no scheme", smsMapping, "legacy.db", "", tenant.EInvalid, "--from must be sqlite:///path.db", ""},
		// Mistyped URLs and passwords url.Parse misreads: no part of the
		// password in the error or the operator audit.
		{"one slash", smsMapping, "mysql:/root:hunter2@db.example/sisca", "", tenant.EInvalid, `not "mysql:/…@db.example/sisca"`, ""},
		{"hash in the password", smsMapping, "mysql://root:12#hunter2@127.0.0.1:1/sisca", "", tenant.EInvalid, `reads sqlite or csv sources, not "mysql"`, ""},
		{"slash in the password", smsMapping, "mysql://root:p@ss/hunter2@db/sisca", "", tenant.EInvalid, `reads sqlite or csv sources, not "mysql"`, ""},
		{"csv dir", smsMapping, "csv:///no/such/dir", "", tenant.EInvalid, "csv:///no/such/dir: no such directory", ""},
		{"damaged sqlite", smsMapping, "sqlite://" + damaged, "", tenant.EInvalid, "the file is damaged (a corrupt SQLite database)", ""},
		{"source label", smsMapping, good, "", tenant.EInvalid, `--source "Sucursal 2": a source label is 1 to 63 of a-z, 0-9`, "Sucursal 2"},
		{"source label too long", smsMapping, good, "", tenant.EInvalid, "a source label is 1 to 63", strings.Repeat("b", 64)},
		{"source label dot first", smsMapping, good, "", tenant.EInvalid, "starting with a letter or digit", ".branch"},
	} {
		slug := c.slug
		if slug == "" {
			slug = tn.Slug
		}
		_, err := f.svc.Import(f.e.Ctx, importer.Request{Tenant: slug, From: c.from, MappingFile: "m.yaml", MappingBytes: []byte(c.mapping), Source: c.source})
		if err == nil || tenant.ErrorCode(err) != c.code || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v (%s), want %s containing %q on one line", c.name, err, tenant.ErrorCode(err), c.code, c.want)
		}
		if err != nil && (strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "malformed")) {
			t.Errorf("%s: the error shows the source's password or the driver's text: %v", c.name, err)
		}
	}
	_, err := importer.Open(f.e.Ctx, "mysql://root:hunter2@127.0.0.1:1/legacy", nil)
	if want := "mysql source 127.0.0.1:1/legacy: connection refused"; tenant.ErrorCode(err) != tenant.EUnavailable || err == nil || err.Error() != want {
		t.Errorf("unreachable mysql: %v (%s), want unavailable %q", err, tenant.ErrorCode(err), want)
	}
	f.unchanged(t, tn, before)
	var audit []string
	rows, err := f.e.Catalog.Pool().Query(f.e.Ctx, `SELECT details::text FROM operator_audit WHERE tenant_slug = $1 AND action = 'tenant.import'`, tn.Slug)
	if err == nil {
		audit, err = pgx.CollectRows(rows, pgx.RowTo[string])
	}
	if err != nil || len(audit) == 0 {
		t.Fatalf("operator audit: %v %v", audit, err)
	}
	for _, a := range audit {
		if strings.Contains(a, "hunter2") || strings.Contains(a, "ss/") {
			t.Errorf("the operator audit holds a password: %s", a)
		}
	}
}

// TestImportJoinObjectOrphanNull: join puts several source columns into
// one, object:KEY makes text a JSON object, and orphan: null writes a row
// whose parent is missing with the reference cleared (still listed).
func TestImportJoinObjectOrphanNull(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tn := f.e.Create(t, tenant.Restaurant)
	src := importtest.SQLite(t,
		`CREATE TABLE clientes (id INTEGER PRIMARY KEY, nombre TEXT, paterno TEXT, materno TEXT)`,
		`INSERT INTO clientes VALUES (1, 'Ana', 'Pérez', NULL), (2, 'Luis', ' Soto ', 'Ruiz')`,
		`CREATE TABLE mensajes (id INTEGER PRIMARY KEY, cliente_id INTEGER, telefono TEXT)`,
		`INSERT INTO mensajes VALUES (1, 2, '5511112222'), (2, 77, '5533334444')`,
		`CREATE TABLE bitacora (id INTEGER PRIMARY KEY, accion TEXT, detalle TEXT)`,
		`INSERT INTO bitacora VALUES (1, 'alta', 'Alta de "cliente"'), (2, 'baja', NULL)`,
	)
	mapping := `
name: joins
kind: restaurant
source: sqlite
tables:
  - from: clientes
    to: customers
    key: id
    columns:
      name: {from: [nombre, paterno, materno], join: " "}
  - from: mensajes
    to: customer_messages
    key: id
    columns:
      customer_id: {from: cliente_id, ref: clientes, orphan: "null"}
      channel: {value: sms}
      purpose: {value: other}
      recipient: {from: telefono}
  - from: bitacora
    to: audit_log
    key: id
    columns:
      action: {from: accion}
      details: {from: detalle, transform: ["object:detalle"]}
`
	rep, err := f.svc.Import(f.e.Ctx, importer.Request{Tenant: tn.Slug, From: "sqlite://" + src, MappingFile: "joins.yaml", MappingBytes: []byte(mapping)})
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	if rep.Written != 6 || len(rep.Orphans) != 1 || !rep.Orphans[0].SetNull || rep.Orphans[0].Key != "2" || !rep.CountsMatch {
		t.Fatalf("report: %+v orphans %+v", rep, rep.Orphans)
	}
	var names []string
	var nullCustomers int
	var detail, empty string
	f.owner(t, tn, func(c *pgx.Conn) error {
		rows, err := c.Query(f.e.Ctx, `SELECT name FROM customers ORDER BY id`)
		if err != nil {
			return err
		}
		names, err = pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		if err := c.QueryRow(f.e.Ctx, `SELECT count(*) FROM customer_messages WHERE customer_id IS NULL AND recipient = '5533334444'`).Scan(&nullCustomers); err != nil {
			return err
		}
		if err := c.QueryRow(f.e.Ctx, `SELECT details->>'detalle' FROM audit_log WHERE action = 'alta'`).Scan(&detail); err != nil {
			return err
		}
		return c.QueryRow(f.e.Ctx, `SELECT details::text FROM audit_log WHERE action = 'baja'`).Scan(&empty)
	})
	if len(names) != 2 || names[0] != "Ana Pérez" || names[1] != "Luis Soto Ruiz" {
		t.Errorf("joined names: %q", names)
	}
	if nullCustomers != 1 || detail != `Alta de "cliente"` || empty != "{}" {
		t.Errorf("orphan set null: %d rows; details %q and %q", nullCustomers, detail, empty)
	}
}

// TestImportUnknownRoleSkipsUser: a role the tenant does not have skips
// the user with the reason; nothing of it is granted.
func TestImportUnknownRoleSkipsUser(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tn := f.e.Create(t, tenant.Restaurant)
	m := strings.Replace(smsMapping, `roles: {value: "staff, manager"}`, `roles: {value: "staff, chef"}`, 1)
	rep, err := f.svc.Import(f.e.Ctx, importer.Request{Tenant: tn.Slug, From: "sqlite://" + smsApp(t), MappingFile: "m.yaml", MappingBytes: []byte(m)})
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	u := table(t, rep, "usuarios")
	reason := `invalid roles: not roles of the tenant (manager, owner, staff)` // never the value
	if u.Written != 0 || u.Skipped[reason] != 3 || u.RolesGranted != 0 || !rep.CountsMatch {
		t.Errorf("usuarios: %+v, want 3 skipped with %q", u, reason)
	}
	if rep.Passwords.Hashed != 0 {
		t.Errorf("passwords of skipped users were hashed: %+v", rep.Passwords)
	}
}

// TestImportNeedsMigration: a tenant whose schema predates import_ids,
// or its sources (000008), is told to migrate, and nothing is written.
func TestImportNeedsMigration(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, drop := range []string{`DROP TABLE import_ids`, `ALTER TABLE import_ids DROP COLUMN row_hash`} {
		tn := f.e.Create(t, tenant.Restaurant)
		f.owner(t, tn, func(c *pgx.Conn) error {
			_, err := c.Exec(f.e.Ctx, drop)
			return err
		})
		before := f.counts(t, tn, "branches", "users", "customer_messages")
		_, err := f.svc.Import(f.e.Ctx, importer.Request{Tenant: tn.Slug, From: "sqlite://" + smsApp(t), MappingFile: "m.yaml", MappingBytes: []byte(smsMapping)})
		if tenant.ErrorCode(err) != tenant.EUnavailable || !strings.Contains(err.Error(), "platform migrate up --tenant "+tn.Slug) {
			t.Fatalf("%s: import: %v (%s)", drop, err, tenant.ErrorCode(err))
		}
		if after := f.counts(t, tn, "branches", "users", "customer_messages"); !equal(before, after) {
			t.Errorf("%s: tenant changed: %v → %v", drop, before, after)
		}
	}
}

// TestImportCancelledWhileHashing: a context that ends while plaintext
// passwords are hashed stops the import promptly (not after every hash)
// with one clear line, and nothing is written.
func TestImportCancelledWhileHashing(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	const users, cost = 40, 12
	// What one hash takes here: a cancelled import may finish the hashes
	// under way, no more.
	t0 := time.Now()
	if _, err := auth.HashPassword("clave-de-medida", cost); err != nil {
		t.Fatal(err)
	}
	one := time.Since(t0)
	limit := time.Second + 3*one
	if all := users * one / time.Duration(runtime.GOMAXPROCS(0)); all < 2*limit {
		t.Fatalf("hashing all takes %v here: too little to tell a cancelled import from a finished one (limit %v)", all, limit)
	}
	svc := importer.New(importer.Config{Catalog: f.e.Catalog, Servers: map[string]*pgadmin.Server{"default": f.e.Admin}, BcryptCost: cost})
	src, mapping := plaintextUsers(t, users)
	tn := f.e.Create(t, tenant.Restaurant)
	before := f.counts(t, tn, "users", "import_ids")
	ctx, cancel := context.WithTimeout(f.e.Ctx, time.Second)
	defer cancel()
	start := time.Now()
	_, err := svc.Import(ctx, importer.Request{Tenant: tn.Slug, From: src, MappingFile: "users.yaml", MappingBytes: mapping})
	took := time.Since(start)
	if tenant.ErrorCode(err) != tenant.EUnavailable || !strings.Contains(err.Error(), "import cancelled before it ended: nothing imported") {
		t.Errorf("cancelled import: %v", err)
	}
	if took > limit {
		t.Errorf("the import took %v after its context ended at 1 s (a hash takes %v)", took, one)
	}
	f.unchanged(t, tn, before)
}

// TestImportReasonsHoldNoValues: rows skipped for values the mapping does
// not take are counted under one fixed reason, however many distinct
// values they have, and no reason carries a source value.
func TestImportReasonsHoldNoValues(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tn := f.e.Create(t, tenant.Restaurant)
	src := smsApp(t, `INSERT INTO mensajes VALUES (4, 1, '5500000001', 'a', 'secreto-1', NULL), (5, 1, '5500000002', 'b', 'secreto-2', NULL), (6, 1, '5500000003', 'c', 'secreto-3', NULL)`)
	rep, err := f.svc.Import(f.e.Ctx, importer.Request{Tenant: tn.Slug, From: "sqlite://" + src, MappingFile: "m.yaml", MappingBytes: []byte(smsMapping), DryRun: true})
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	m := table(t, rep, "mensajes")
	const reason = "invalid status: not in the mapping's enum (E, F, P)"
	if len(m.Skipped) != 1 || m.Skipped[reason] != 3 {
		t.Errorf("mensajes skipped: %v, want 3 under %q", m.Skipped, reason)
	}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "secreto") {
		t.Errorf("the report holds source values: %s", b)
	}
}

// TestImportTenantBusy: a transaction of the tenant holding a target
// table makes the import give up after LockWait with one clear line,
// rather than queue every writer of the tenant behind it; nothing is
// written.
func TestImportTenantBusy(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	svc := importer.New(importer.Config{Catalog: f.e.Catalog, Servers: map[string]*pgadmin.Server{"default": f.e.Admin}, BcryptCost: 4,
		LockWait: 200 * time.Millisecond})
	tn := f.e.Create(t, tenant.Restaurant)
	before := f.counts(t, tn, "branches", "import_ids")
	held := make(chan struct{})
	release := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- f.e.Admin.In(f.e.Ctx, tn.Database, tenant.OwnerRole(tn.Slug), func(c *pgx.Conn) error {
			return pgx.BeginFunc(f.e.Ctx, c, func(tx pgx.Tx) error {
				if _, err := tx.Exec(f.e.Ctx, `UPDATE branches SET name = name`); err != nil {
					return err
				}
				close(held)
				<-release
				return nil
			})
		})
	}()
	select {
	case <-held:
	case err := <-done:
		t.Fatalf("holding branches: %v", err)
	}
	_, err := svc.Import(f.e.Ctx, importer.Request{Tenant: tn.Slug, From: "sqlite://" + smsApp(t), MappingFile: "m.yaml", MappingBytes: []byte(smsMapping)})
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if tenant.ErrorCode(err) != tenant.EUnavailable || !strings.Contains(err.Error(), "the tenant's branches table stayed busy for 200ms") {
		t.Errorf("import into a busy tenant: %v", err)
	}
	f.unchanged(t, tn, before)
}

// TestImportSourceFailsLate: a source that breaks after thousands of rows
// (past the reader's buffer, while the COPY streams) fails the import
// with one line, and nothing is written.
func TestImportSourceFailsLate(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tn := f.e.Create(t, tenant.Restaurant)
	var b strings.Builder
	b.WriteString("id,nombre,telefono,activa,borrada\n")
	for i := 1; i <= 20_000; i++ {
		fmt.Fprintf(&b, "%d,Sucursal %d,,1,0\n", i, i)
	}
	b.WriteString("20001,\"sin cerrar,,1,0\n")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "sucursales.csv"), []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	before := f.counts(t, tn, "branches", "import_ids")
	_, err := f.svc.Import(f.e.Ctx, importer.Request{Tenant: tn.Slug, From: "csv://" + dir, MappingFile: "m.yaml", MappingBytes: []byte(smsMapping)})
	if tenant.ErrorCode(err) != tenant.EInvalid || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "sucursales") {
		t.Errorf("a CSV broken at row 20,001: %v (%s)", err, tenant.ErrorCode(err))
	}
	f.unchanged(t, tn, before)
}

// TestImportAfterTheTenantDeletedARow: a branch the tenant deleted since
// it was imported is not brought back by a later export, and a new
// message of it is an orphan, listed — not a foreign-key failure of the
// whole import.
func TestImportAfterTheTenantDeletedARow(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tn := f.e.Create(t, tenant.Restaurant)
	first := smsApp(t)
	if _, err := f.svc.Import(f.e.Ctx, importer.Request{Tenant: tn.Slug, From: "sqlite://" + first, MappingFile: "m.yaml", MappingBytes: []byte(smsMapping)}); err != nil {
		t.Fatalf("first import: %v", err)
	}
	f.owner(t, tn, func(c *pgx.Conn) error {
		_, err := c.Exec(f.e.Ctx, `WITH b AS (SELECT target_id FROM import_ids WHERE source_table = 'sucursales' AND source_key = '1'),
			m AS (DELETE FROM customer_messages WHERE branch_id IN (SELECT target_id FROM b))
			DELETE FROM branches WHERE id IN (SELECT target_id FROM b)`)
		return err
	})
	before := f.counts(t, tn, "branches", "customer_messages")
	later := smsApp(t, `INSERT INTO mensajes VALUES (4, 1, '5599998888', 'Su código es 4321', 'E', '2024-02-13 09:00:00')`)
	rep, err := f.svc.Import(f.e.Ctx, importer.Request{Tenant: tn.Slug, From: "sqlite://" + later, MappingFile: "m.yaml", MappingBytes: []byte(smsMapping)})
	if err != nil {
		t.Fatalf("later import: %v", err)
	}
	s, m := table(t, rep, "sucursales"), table(t, rep, "mensajes")
	if s.Written != 0 || s.Skipped["deleted in the tenant since an earlier import (an import never brings a row back)"] != 1 || !rep.CountsMatch {
		t.Errorf("sucursales: %+v", s)
	}
	if m.Written != 0 || m.Orphans != 1 || len(rep.Orphans) != 1 || rep.Orphans[0].Key != "4" {
		t.Errorf("mensajes: %+v, orphans %+v", m, rep.Orphans)
	}
	f.unchanged(t, tn, before)
}

// TestImportResetTokenAlreadyInTheTenant: a reset token the tenant holds
// already (from another source's import) is found by the unique checks,
// which compare digests as the tenant stores them: a listed duplicate,
// not a unique-key failure of the whole COPY.
func TestImportResetTokenAlreadyInTheTenant(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tn := f.e.Create(t, tenant.Restaurant)
	tokens := []string{`CREATE TABLE tokens_reset (id INTEGER PRIMARY KEY, usuario_id INTEGER, token TEXT, expira DATETIME)`,
		`INSERT INTO tokens_reset VALUES (1, 1, 'token-de-ana-123456', '2030-01-01 00:00:00')`}
	req := importer.Request{Tenant: tn.Slug, From: "sqlite://" + smsApp(t, tokens...), MappingFile: "m.yaml", MappingBytes: []byte(smsMapping)}
	if rep, err := f.svc.Import(f.e.Ctx, req); err != nil || table(t, rep, "tokens_reset").Written != 1 {
		t.Fatalf("first import: %v", err)
	}
	// Another branch's file: its own users, the same token.
	req.Source, req.From = "branch-2", "sqlite://"+smsApp(t, append(tokens, `UPDATE usuarios SET nombre_usuario = nombre_usuario || '2', correo = NULL`)...)
	rep, err := f.svc.Import(f.e.Ctx, req)
	if err != nil {
		t.Fatalf("the same token from another source: %v", err)
	}
	if tr := table(t, rep, "tokens_reset"); tr.Written != 0 || tr.Duplicates != 1 {
		t.Errorf("tokens_reset: %+v, want the token a duplicate of the earlier import's", tr)
	}
}

// notifyWriter closes seen the first time a log line holds want.
type notifyWriter struct {
	want string
	once sync.Once
	seen chan struct{}
}

func (w *notifyWriter) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte(w.want)) {
		w.once.Do(func() { close(w.seen) })
	}
	return len(p), nil
}

// TestImportHashesBeforeLocking: plaintext passwords are hashed before
// the import locks the tenant's tables, so that the tenant's writes to
// users (a login's) go on meanwhile; the users still get their hashes and
// the forced change.
func TestImportHashesBeforeLocking(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	const users, cost = 16, 10 // about a second of hashing on 2 cores
	w := &notifyWriter{want: "hashing plaintext passwords before locking the tenant", seen: make(chan struct{})}
	svc := importer.New(importer.Config{Catalog: f.e.Catalog, Servers: map[string]*pgadmin.Server{"default": f.e.Admin}, BcryptCost: cost,
		Logger: slog.New(slog.NewTextHandler(w, nil))})
	src, mapping := plaintextUsers(t, users)
	tn := f.e.Create(t, tenant.Restaurant)
	type result struct {
		rep *importer.Report
		err error
	}
	done := make(chan result, 1)
	go func() {
		rep, err := svc.Import(f.e.Ctx, importer.Request{Tenant: tn.Slug, From: src, MappingFile: "u.yaml", MappingBytes: mapping})
		done <- result{rep, err}
	}()
	select {
	case <-w.seen:
	case r := <-done:
		t.Fatalf("the import ended before it said it hashed: %v", r.err)
	}
	// A login's write, while the import hashes: it must not wait for it.
	f.owner(t, tn, func(c *pgx.Conn) error {
		if _, err := c.Exec(f.e.Ctx, `SET lock_timeout = '1s'`); err != nil {
			return err
		}
		_, err := c.Exec(f.e.Ctx, `UPDATE users SET last_login_at = now() WHERE username = 'admin'`)
		return err
	})
	r := <-done
	if r.err != nil || r.rep.Passwords.Hashed != users || r.rep.Written != users {
		t.Fatalf("import: %v %+v", r.err, r.rep)
	}
	var forced int
	f.owner(t, tn, func(c *pgx.Conn) error {
		return c.QueryRow(f.e.Ctx, `SELECT count(*) FROM users WHERE username LIKE 'usuario%' AND must_change_password AND password_hash LIKE '$2a$10$%'`).Scan(&forced)
	})
	if forced != users {
		t.Errorf("%d users with a cost-10 hash and the forced change, want %d", forced, users)
	}
}

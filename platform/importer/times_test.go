package importer_test

import (
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenancy/platform/platform/importer"
	"github.com/tenancy/platform/platform/importer/importtest"
	"github.com/tenancy/platform/tenant"
)

// timesMapping reads the same instant written five ways into the five
// time columns of users, from con with the datetime transform and from
// sin without it.
const timesMapping = `
name: tiempos
kind: restaurant
source: mysql
timezone: America/Mexico_City
tables:
  - from: con
    to: users
    key: id
    columns:
      username:            {from: usuario}
      password_hash:       {from: clave, password: true}
      created_at:          {from: rfc3339, transform: [datetime]}
      password_changed_at: {from: con_offset, transform: [datetime]}
      updated_at:          {from: sello, transform: [datetime]}
      last_login_at:       {from: unix, transform: [datetime]}
      locked_at:           {from: local, transform: [datetime]}
  - from: sin
    to: users
    key: id
    columns:
      username:            {from: usuario}
      password_hash:       {from: clave, password: true}
      created_at:          {from: rfc3339}
      password_changed_at: {from: con_offset}
      updated_at:          {from: sello}
      last_login_at:       {from: unix}
      locked_at:           {from: local}
`

// TestImportTimesLandOnOneInstant: an RFC 3339 text, a text with an
// offset, a MySQL TIMESTAMP and Unix seconds, each with and without
// transform: [datetime], are stored as the same instant; a naive DATETIME
// is placed in the mapping's zone (10:20:30 in Mexico City, UTC-6 all
// year since 2022, is 16:20:30Z).
func TestImportTimesLandOnOneInstant(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tn := f.e.Create(t, tenant.Restaurant)
	table := func(name string) string {
		return "CREATE TABLE " + name + " (id INT PRIMARY KEY, usuario VARCHAR(20), clave VARCHAR(60), rfc3339 VARCHAR(40), con_offset VARCHAR(40)," +
			" sello TIMESTAMP NULL DEFAULT NULL, unix INT, local DATETIME)"
	}
	// The session of importtest.MySQL is at -06:00: the TIMESTAMP written
	// as 10:20:30 is the instant 16:20:30Z.
	row := "VALUES (1, '%s', 'clave-de-prueba-1', '2024-03-01T16:20:30Z', '2024-03-01 10:20:30-06:00', '2024-03-01 10:20:30', 1709310030, '2024-03-01 10:20:30')"
	src := importtest.MySQL(t, table("con"), "INSERT INTO con "+strings.Replace(row, "%s", "con", 1),
		table("sin"), "INSERT INTO sin "+strings.Replace(row, "%s", "sin", 1))
	rep, err := f.svc.Import(f.e.Ctx, importer.Request{Tenant: tn.Slug, From: src, MappingFile: "tiempos.yaml", MappingBytes: []byte(timesMapping)})
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	if rep.Written != 2 || !rep.CountsMatch {
		t.Fatalf("report: %+v", rep)
	}
	want := time.Date(2024, 3, 1, 16, 20, 30, 0, time.UTC)
	for _, user := range []string{"con", "sin"} {
		var got [5]time.Time
		f.owner(t, tn, func(c *pgx.Conn) error {
			return c.QueryRow(f.e.Ctx, `SELECT created_at, password_changed_at, updated_at, last_login_at, locked_at FROM users WHERE username = $1`, user).
				Scan(&got[0], &got[1], &got[2], &got[3], &got[4])
		})
		for i, col := range []string{"created_at (RFC 3339)", "password_changed_at (offset)", "updated_at (TIMESTAMP)", "last_login_at (Unix)", "locked_at (DATETIME)"} {
			if !got[i].Equal(want) {
				t.Errorf("%s: %s = %v, want %v (off by %v)", user, col, got[i].UTC(), want, got[i].Sub(want))
			}
		}
	}
}

// TestImportMySQLBadValueSkipsRow: a partly zero date and a BIGINT
// UNSIGNED beyond int64 skip their rows with a reason naming the column
// (never the value); the other rows are imported.
func TestImportMySQLBadValueSkipsRow(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tn := f.e.Create(t, tenant.Restaurant)
	src := importtest.MySQL(t,
		"CREATE TABLE usuarios (id INT PRIMARY KEY, usuario VARCHAR(20), clave VARCHAR(60), intentos BIGINT UNSIGNED, alta DATETIME)",
		"INSERT INTO usuarios VALUES (1, 'ana', 'clave-de-ana-1', 0, '2024-03-01 10:00:00'),"+
			" (2, 'beto', 'clave-de-beto-2', 1, '2024-00-15 10:00:00'),"+
			" (3, 'caro', 'clave-de-caro-3', 18446744073709551615, '2024-03-01 10:00:00'),"+
			" (4, 'dani', 'clave-de-dani-4', 2, '0000-00-00 00:00:00')",
	)
	mapping := `
name: malos
kind: restaurant
source: mysql
timezone: America/Mexico_City
tables:
  - from: usuarios
    to: users
    key: id
    columns:
      username:        {from: usuario}
      password_hash:   {from: clave, password: true}
      failed_attempts: {from: intentos}
      created_at:      {from: alta}
`
	before := f.counts(t, tn, "users")
	rep, err := f.svc.Import(f.e.Ctx, importer.Request{Tenant: tn.Slug, From: src, MappingFile: "malos.yaml", MappingBytes: []byte(mapping)})
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	tr := table(t, rep, "usuarios")
	wantSkips := map[string]int64{"invalid alta: not a valid date": 1, "invalid intentos: not a whole number within ±2^63": 1}
	if tr.Written != 2 || len(tr.Skipped) != 2 || !tr.CountsMatch() {
		t.Errorf("usuarios: %+v, want 2 written and %v", tr, wantSkips)
	}
	for reason, n := range wantSkips {
		if tr.Skipped[reason] != n {
			t.Errorf("skipped %v, want %v", tr.Skipped, wantSkips)
		}
	}
	for reason := range tr.Skipped {
		if strings.Contains(reason, "2024-00-15") || strings.Contains(reason, "18446744073709551615") {
			t.Errorf("the reason %q quotes the value", reason)
		}
	}
	if n := f.counts(t, tn, "users")["users"] - before["users"]; n != 2 {
		t.Errorf("users grew by %d, want 2", n)
	}
	// dani's zero date means "never": the default (the import's time).
	var created time.Time
	f.owner(t, tn, func(c *pgx.Conn) error {
		return c.QueryRow(f.e.Ctx, `SELECT created_at FROM users WHERE username = 'dani'`).Scan(&created)
	})
	if time.Since(created) > time.Hour {
		t.Errorf("dani: created_at %v, want the import's time", created)
	}
}

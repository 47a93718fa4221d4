package main

import (
	"database/sql"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
	_ "modernc.org/sqlite"

	"github.com/tenancy/platform/platform/importer"
	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/tenant"
)

// legacyUsers is a SQLite app's users table: one plaintext password, one
// PHP ($2y$) bcrypt hash.
func legacyUsers(t *testing.T, plain, php string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(php), 4)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "app.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, s := range []string{
		`CREATE TABLE usuarios (id INTEGER PRIMARY KEY, usuario TEXT, clave TEXT, activo INTEGER)`,
		`INSERT INTO usuarios VALUES (1, 'maria', ?, 1), (2, 'pedro', ?, 1)`,
	} {
		args := []any{}
		if strings.HasPrefix(s, "INSERT") {
			args = []any{plain, "$2y$" + string(h)[4:]}
		}
		if _, err := db.Exec(s, args...); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

const cliMapping = `name: cliapp
kind: restaurant
source: sqlite
tables:
  - from: usuarios
    to: users
    key: id
    columns:
      username: {from: usuario}
      password_hash: {from: clave, password: true}
      active: {from: activo}
`

// TestCLITenantImport: `tenant import` from a SQLite file, then a real
// login on the tenant's host: the user whose password was plaintext logs
// in with it and must change it; the one with a PHP $2y$ hash logs in as
// before. A second import adds nothing; the report never shows a
// password; errors are one line.
func TestCLITenantImport(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	slug := platformtest.Slug("impo")
	c.ok("tenant", "create", slug, "--kind", "restaurant", "--name", "Importada")
	const plain, php = "clave-de-maria-2020", "clave-de-pedro-2019"
	src := "sqlite://" + legacyUsers(t, plain, php)
	mapping := filepath.Join(t.TempDir(), "cliapp.yaml")
	if err := os.WriteFile(mapping, []byte(cliMapping), 0o600); err != nil {
		t.Fatal(err)
	}

	out, stderr, err := c.run("tenant", "import", slug, "--from", src, "--mapping", mapping, "--dry-run")
	if err != nil || !strings.Contains(out, "dry run (nothing written)") || !strings.Contains(out, "1 plaintext hashed") {
		t.Fatalf("dry run: %v\n%s%s", err, out, stderr)
	}
	js, stderr2, err := c.run("tenant", "import", slug, "--from", src, "--mapping", mapping, "-o", "json")
	if err != nil {
		t.Fatalf("import: %v\n%s", err, stderr2)
	}
	var rep importer.Report
	if err := json.Unmarshal([]byte(js), &rep); err != nil {
		t.Fatalf("-o json: %v\n%s", err, js)
	}
	if rep.Written != 2 || rep.Passwords.Hashed != 1 || rep.Passwords.Kept != 1 || !rep.CountsMatch || rep.DryRun {
		t.Errorf("report: %s", js)
	}
	again := c.ok("tenant", "import", slug, "--from", src, "--mapping", mapping)
	if !strings.Contains(again, "nothing new") {
		t.Errorf("second import:\n%s", again)
	}
	for _, s := range []string{out, stderr, js, stderr2, again} {
		if strings.Contains(s, plain) || strings.Contains(s, php) {
			t.Errorf("a password shows in the output:\n%s", s)
		}
	}

	ts := c.serve(t, nil)
	ts.await(t, slug)
	host := slug + ".localhost"
	code, body := ts.call(t, "POST", host, "/api/auth/login", "", map[string]string{"username": "maria", "password": plain})
	if code != 200 || body["must_change_password"] != true {
		t.Errorf("maria (plaintext in the source): %d %v, want 200 with must_change_password", code, body)
	}
	code, body = ts.call(t, "POST", host, "/api/auth/login", "", map[string]string{"username": "pedro", "password": php})
	if code != 200 || body["must_change_password"] == true {
		t.Errorf("pedro ($2y$ kept): %d %v, want 200 without a forced change", code, body)
	}
	if code, body := ts.call(t, "POST", host, "/api/auth/login", "", map[string]string{"username": "pedro", "password": php + "x"}); code == 200 {
		t.Errorf("pedro with a wrong password: %d %v", code, body)
	}

	for _, tt := range []struct {
		args  []string
		code  string
		want  string
		usage bool
	}{
		{[]string{"tenant", "import", "no-such-tenant", "--from", src, "--mapping", mapping}, tenant.ENotFound, `tenant "no-such-tenant" not found`, false},
		{[]string{"tenant", "import", slug, "--from", src, "--mapping", "/no/such/mapping.yaml"}, tenant.EInvalid, "--mapping /no/such/mapping.yaml: no such file or directory", false},
		{[]string{"tenant", "import", slug, "--from", src, "--mapping", "nosuchbuiltin"}, tenant.EInvalid, "no such built-in mapping", false},
		{[]string{"tenant", "import", slug, "--from", "sqlite:///no/such/app.db", "--mapping", mapping}, tenant.EInvalid, "no such file", false},
		{[]string{"tenant", "import", slug, "--mapping", mapping}, "", "--from URL and --mapping NAME|FILE are required", true},
	} {
		_, _, err := c.run(tt.args...)
		var u usageError
		if err == nil || errors.As(err, &u) != tt.usage || !strings.Contains(errorLine(err), tt.want) || strings.Contains(errorLine(err), "\n") {
			t.Errorf("platform %s: %v (usage=%v), want %q", strings.Join(tt.args, " "), err, errors.As(err, &u), tt.want)
			continue
		}
		if tt.code != "" && tenant.ErrorCode(err) != tt.code {
			t.Errorf("platform %s: code %s, want %s", strings.Join(tt.args, " "), tenant.ErrorCode(err), tt.code)
		}
	}
}

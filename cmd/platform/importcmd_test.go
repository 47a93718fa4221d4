package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/tenancy/platform/platform/importer"
	"github.com/tenancy/platform/platform/importer/importtest"
	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/tenant"
)

// legacyUsers is a SQLite app's users table: one plaintext password, one
// PHP ($2y$) bcrypt hash.
func legacyUsers(t *testing.T, plain, php string) string {
	t.Helper()
	return importtest.SQLite(t,
		`CREATE TABLE usuarios (id INTEGER PRIMARY KEY, usuario TEXT, clave TEXT, activo INTEGER)`,
		`INSERT INTO usuarios VALUES (1, 'maria', '`+plain+`', 1), (2, 'pedro', '`+importtest.PHPHash(t, php)+`', 1)`)
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
	js, stderr2, err := c.run("tenant", "import", slug, "--from", src, "--mapping", mapping, "--source", "branch-1", "-o", "json")
	if err != nil {
		t.Fatalf("import: %v\n%s", err, stderr2)
	}
	var rep importer.Report
	if err := json.Unmarshal([]byte(js), &rep); err != nil {
		t.Fatalf("-o json: %v\n%s", err, js)
	}
	if rep.Written != 2 || rep.Passwords.Hashed != 1 || rep.Passwords.Kept != 1 || !rep.CountsMatch || rep.DryRun || rep.SourceLabel != "branch-1" {
		t.Errorf("report: %s", js)
	}
	again := c.ok("tenant", "import", slug, "--from", src, "--mapping", mapping, "--source", "branch-1")
	if !strings.Contains(again, "nothing new") || !strings.Contains(again, "(source branch-1)") {
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
		{[]string{"tenant", "import", slug, "--from", src, "--mapping", mapping, "--source", "Branch 2"}, tenant.EInvalid, `--source "Branch 2": a source label is 1 to 63`, false},
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

// verificarUsers is a SQLite file shaped like VerificarSMS's users table
// only (its other tables absent), with one $2b$ user.
func verificarUsers(t *testing.T, pw string) []byte {
	t.Helper()
	path := importtest.SQLite(t,
		`CREATE TABLE users (id INTEGER PRIMARY KEY, username TEXT, password_hash TEXT, nombre TEXT, email TEXT, activo INTEGER, creado_en DATETIME, ultimo_acceso DATETIME)`,
		`INSERT INTO users VALUES (1, 'operadora', '`+importtest.PythonHash(t, pw)+`', 'Operadora Uno', NULL, 1, '2024-03-04 09:15:00', NULL)`)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestOperatorAPIImport: POST /v1/tenants/{slug}/imports takes the SQLite
// file as the body with a built-in mapping (dry run, then for real) and
// answers the report; local paths and unknown mappings are refused; the
// operator token is required.
func TestOperatorAPIImport(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	ts := c.serve(t, nil)
	slug := platformtest.Slug("apim")
	c.ok("tenant", "create", slug, "--kind", "restaurant", "--name", "Por API")
	file := verificarUsers(t, "clave-de-operadora-1")
	upload := func(query, token string) (int, map[string]any) {
		req, err := http.NewRequest("POST", ts.adminURL+"/v1/tenants/"+slug+"/imports?"+query, bytes.NewReader(file))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/vnd.sqlite3")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		return do(t, req)
	}
	if code, body := upload("mapping=verificarsms", ""); code != 401 {
		t.Errorf("without the token: %d %v", code, body)
	}
	code, body := upload("mapping=verificarsms&dry_run=true", testOperatorToken)
	if code != 200 || body["dry_run"] != true || body["written"] != float64(1) || len(body["absent"].([]any)) != 3 {
		t.Fatalf("dry run: %d %v", code, body)
	}
	code, body = upload("mapping=verificarsms", testOperatorToken)
	if code != 200 || body["dry_run"] != false || body["written"] != float64(1) || body["counts_match"] != true {
		t.Fatalf("import: %d %v", code, body)
	}
	var n int
	err := c.admin.In(t.Context(), tenant.DatabaseName(slug), tenant.OwnerRole(slug), func(conn *pgx.Conn) error {
		return conn.QueryRow(t.Context(), `SELECT count(*) FROM users WHERE username = 'operadora'`).Scan(&n)
	})
	if err != nil || n != 1 {
		t.Fatalf("imported user: %d (%v)", n, err)
	}
	for _, tt := range []struct{ body, want string }{
		{`{"from":"sqlite:///etc/passwd","mapping":"verificarsms"}`, "from: a mysql:// URL, or upload the SQLite file"},
		{`{"from":"csv:///etc","mapping":"verificarsms"}`, "from: a mysql:// URL"},
		{`{"from":"mysql://u:p@127.0.0.1:1/x","mapping":"/etc/mapping.yaml"}`, "mapping: not a built-in mapping"},
		{`{"from":"mysql://u:p@127.0.0.1:1/x"}`, "mapping is required"},
		{`{"from":"mysql://u:p@127.0.0.1:1/x","mapping":{"name":"x","kind":"restaurant","source":"mysql","tables":[],"extra":1}}`, "extra: unknown key"},
		{`{"mapping":"verificarsms","surprise":1}`, "request body"},
	} {
		code, body := ts.api(t, "POST", "/v1/tenants/"+slug+"/imports", testOperatorToken, tt.body)
		msg, _ := body["error"].(map[string]any)["message"].(string)
		if code != 400 || !strings.Contains(msg, tt.want) {
			t.Errorf("%s: %d %v, want 400 with %q", tt.body, code, body, tt.want)
		}
	}
}

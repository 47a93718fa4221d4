package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
		t.Fatalf("maria (plaintext in the source): %d %v, want 200 with must_change_password", code, body)
	}
	// Held to it: nothing but the change until it is made; then the old
	// password is refused and the new one works.
	tok, _ := body["token"].(string)
	if code, body := ts.call(t, "GET", host, "/api/branches", tok, nil); code != 403 || body["error"].(map[string]any)["code"] != tenant.EPasswordChangeRequired {
		t.Errorf("maria before the change: %d %v, want 403 %s", code, body, tenant.EPasswordChangeRequired)
	}
	if code, body := ts.call(t, "POST", host, "/api/auth/change-password", tok, map[string]string{"current_password": plain, "new_password": strongPassword}); code != 204 && code != 200 {
		t.Fatalf("maria's change: %d %v", code, body)
	}
	if code, body := ts.call(t, "POST", host, "/api/auth/login", "", map[string]string{"username": "maria", "password": plain}); code != 401 {
		t.Errorf("maria with the imported password after the change: %d %v", code, body)
	}
	if code, body := ts.call(t, "POST", host, "/api/auth/login", "", map[string]string{"username": "maria", "password": strongPassword}); code != 200 || body["must_change_password"] == true {
		t.Errorf("maria with her new password: %d %v", code, body)
	}
	code, body = ts.call(t, "POST", host, "/api/auth/login", "", map[string]string{"username": "pedro", "password": php})
	if code != 200 || body["must_change_password"] == true {
		t.Errorf("pedro ($2y$ kept): %d %v, want 200 without a forced change", code, body)
	}
	if code, body := ts.call(t, "POST", host, "/api/auth/login", "", map[string]string{"username": "pedro", "password": php + "x"}); code == 200 {
		t.Errorf("pedro with a wrong password: %d %v", code, body)
	}

	c.wantErrors(t, []cliError{
		{[]string{"tenant", "import", "no-such-tenant", "--from", src, "--mapping", mapping}, tenant.ENotFound, `tenant "no-such-tenant" not found`, false},
		{[]string{"tenant", "import", slug, "--from", src, "--mapping", "/no/such/mapping.yaml"}, tenant.EInvalid, "--mapping /no/such/mapping.yaml: no such file or directory", false},
		{[]string{"tenant", "import", slug, "--from", src, "--mapping", "nosuchbuiltin"}, tenant.EInvalid, "no such built-in mapping", false},
		{[]string{"tenant", "import", slug, "--from", "sqlite:///no/such/app.db", "--mapping", mapping}, tenant.EInvalid, "no such file", false},
		{[]string{"tenant", "import", slug, "--mapping", mapping}, "", "--from URL and --mapping NAME|FILE are required", true},
		{[]string{"tenant", "import", slug, "--from", src, "--mapping", mapping, "--source", "Branch 2"}, tenant.EInvalid, `--source "Branch 2": a source label is 1 to 63`, false},
	})
}

// verificarUsers is a SQLite file shaped like VerificarSMS's users table
// only (its other tables absent), with one $2b$ user; pad bytes of a
// table no mapping reads make it as large as an upload needs.
func verificarUsers(t *testing.T, pw string, pad ...int) []byte {
	t.Helper()
	stmts := []string{
		`CREATE TABLE users (id INTEGER PRIMARY KEY, username TEXT, password_hash TEXT, nombre TEXT, email TEXT, activo INTEGER, creado_en DATETIME, ultimo_acceso DATETIME)`,
		`INSERT INTO users VALUES (1, 'operadora', '` + importtest.PythonHash(t, pw) + `', 'Operadora Uno', NULL, 1, '2024-03-04 09:15:00', NULL)`}
	if len(pad) > 0 {
		stmts = append(stmts, `CREATE TABLE padding (b BLOB)`, fmt.Sprintf(`INSERT INTO padding VALUES (randomblob(%d))`, pad[0]))
	}
	path := importtest.SQLite(t, stmts...)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestOperatorAPIImport: POST /v1/tenants/{slug}/imports takes the SQLite
// file as the body, streamed (3 MiB here, over the 1 MiB every other
// request keeps), with a built-in mapping, and answers 202 with an import
// job whose result is the report (dry run, then for real); a file over
// PLATFORM_IMPORT_MAX_UPLOAD_MIB is 413; a request the checks refuse is
// answered before its body is read; local paths and unknown mappings are
// refused; the operator token is required.
func TestOperatorAPIImport(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	spool := t.TempDir()
	ts := c.serve(t, map[string]string{"PLATFORM_IMPORT_MAX_UPLOAD_MIB": "4", "PLATFORM_IMPORT_UPLOAD_DIR": spool})
	slug := platformtest.Slug("apim")
	c.ok("tenant", "create", slug, "--kind", "restaurant", "--name", "Por API")
	file := verificarUsers(t, "clave-de-operadora-1", 3<<20)
	if len(file) < 3<<20 {
		t.Fatalf("the file is %d bytes, not over 3 MiB", len(file))
	}
	upload := func(query, token string, file []byte) (int, map[string]any) {
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
	run := func(query string) map[string]any {
		t.Helper()
		code, body := upload(query, testOperatorToken, file)
		j, _ := body["job"].(map[string]any)
		if code != 202 || j["kind"] != "import" || j["tenant"] != slug {
			t.Fatalf("%s: %d %v", query, code, body)
		}
		job := ts.waitJob(t, j["id"].(string))
		rep, _ := job["result"].(map[string]any)
		if job["status"] != "succeeded" || rep == nil {
			t.Fatalf("%s: job %v", query, job)
		}
		return rep
	}
	if code, body := upload("mapping=verificarsms", "", file); code != 401 {
		t.Errorf("without the token: %d %v", code, body)
	}
	if rep := run("mapping=verificarsms&dry_run=true"); rep["dry_run"] != true || rep["written"] != float64(1) || len(rep["absent"].([]any)) != 3 {
		t.Fatalf("dry run: %v", rep)
	}
	if rep := run("mapping=verificarsms"); rep["dry_run"] != false || rep["written"] != float64(1) || rep["counts_match"] != true ||
		rep["source"] != fmt.Sprintf("uploaded SQLite file (%d bytes)", len(file)) {
		t.Fatalf("import: %v", rep)
	}
	// The same file as another source of the system: its rows are not
	// taken for the first one's (its user repeats one: a duplicate).
	if rep := run("mapping=verificarsms&source=branch-2"); rep["source_label"] != "branch-2" || rep["already_imported"] != float64(0) || rep["written"] != float64(0) {
		t.Errorf("source branch-2: %v", rep)
	}
	if code, body := upload("mapping=verificarsms&source=Branch 2", testOperatorToken, file); code != 400 || !strings.Contains(fmt.Sprint(body), "source label") {
		t.Errorf("a bad source label: %d %v", code, body)
	}
	if dirs, err := filepath.Glob(filepath.Join(spool, "platform-uploads-*")); err != nil || len(dirs) != 1 {
		t.Errorf("the uploads' directory: %v %v", dirs, err)
	} else if fi, err := os.Stat(dirs[0]); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("the uploads' directory: %v %v", fi.Mode(), err)
	}
	if left, err := filepath.Glob(filepath.Join(spool, "platform-uploads-*", "*")); err != nil || len(left) != 0 {
		t.Errorf("the uploads were not removed: %v %v", left, err)
	}
	var n int
	err := c.admin.In(t.Context(), tenant.DatabaseName(slug), tenant.OwnerRole(slug), func(conn *pgx.Conn) error {
		return conn.QueryRow(t.Context(), `SELECT count(*) FROM users WHERE username = 'operadora'`).Scan(&n)
	})
	if err != nil || n != 1 {
		t.Fatalf("imported user: %d (%v)", n, err)
	}
	// A damaged file fails its job; the error calls it what the operator
	// sent, not the server's temporary file.
	code, body := upload("mapping=verificarsms", testOperatorToken, append(bytes.Clone(file[:4096]), bytes.Repeat([]byte{0xee}, 8192)...))
	j, _ := body["job"].(map[string]any)
	if code != 202 || j == nil {
		t.Fatalf("a damaged file: %d %v", code, body)
	}
	if job := ts.waitJob(t, j["id"].(string)); job["status"] != "failed" || strings.Contains(fmt.Sprint(job), "platform-uploads") ||
		!strings.Contains(job["error"].(string), "uploaded SQLite file (12288 bytes)") {
		t.Errorf("the damaged file's job: %v", job)
	}
	// Over the maximum: 413, and no job.
	if code, closed, msg := rawPost(t, ts.adminURL, "/v1/tenants/"+slug+"/imports?mapping=verificarsms", "application/vnd.sqlite3", 5<<20, file[:64<<10]); code != 413 || !closed ||
		msg != "the upload is larger than 4 MiB" {
		t.Errorf("5 MiB upload: %d %q", code, msg)
	}
	if code, body := upload("mapping=verificarsms", testOperatorToken, []byte("not a database, but text")); code != 400 ||
		!strings.Contains(fmt.Sprint(body), "not a SQLite database") {
		t.Errorf("a text file: %d %v", code, body)
	}
	// Refused by the checks: nothing of the upload is kept.
	if code, body := upload("mapping=sisca", testOperatorToken, file); code != 400 || !strings.Contains(fmt.Sprint(body), "mapping sisca is for institution tenants") {
		t.Errorf("sisca (an institution mapping) into a restaurant: %d %v", code, body)
	}
	if left, err := filepath.Glob(filepath.Join(spool, "platform-uploads-*", "*")); err != nil || len(left) != 0 {
		t.Errorf("refused uploads were kept: %v %v", left, err)
	}
	// A JSON body over 1 MiB is refused on the upload route too.
	if code, body := ts.api(t, "POST", "/v1/tenants/"+slug+"/imports", testOperatorToken, `{"from":"`+strings.Repeat("x", 2<<20)+`"}`); code != 413 {
		t.Errorf("a 2 MiB JSON body: %d %v", code, body)
	}
	for _, tt := range []struct{ body, want string }{
		{`{"from":"sqlite:///etc/passwd","mapping":"verificarsms"}`, "from: a mysql:// URL, or upload the SQLite file"},
		{`{"from":"csv:///etc","mapping":"verificarsms"}`, "from: a mysql:// URL"},
		{`{"from":"mysql://u:p@127.0.0.1:1/x","mapping":"/etc/mapping.yaml"}`, "mapping: not a built-in mapping"},
		{`{"from":"mysql://u:p@127.0.0.1:1/x"}`, "mapping is required"},
		{`{"from":"mysql://u:p@127.0.0.1:1/x","mapping":{"name":"x","kind":"restaurant","source":"mysql","tables":[],"extra":1}}`, "extra: unknown key"},
		{`{"mapping":"verificarsms","surprise":1}`, "request body"},
		{`{"from":"mysql://u:p@127.0.0.1:1/x","mapping":"verificarsms","dry_run":true}`, "mapping verificarsms reads sqlite or csv sources"},
	} {
		code, body := ts.api(t, "POST", "/v1/tenants/"+slug+"/imports", testOperatorToken, tt.body)
		msg, _ := body["error"].(map[string]any)["message"].(string)
		if code != 400 || !strings.Contains(msg, tt.want) {
			t.Errorf("%s: %d %v, want 400 with %q", tt.body, code, body, tt.want)
		}
	}
	// An unreachable source is the job's failure, in one line.
	inst := platformtest.Slug("apii")
	c.ok("tenant", "create", inst, "--kind", "institution", "--name", "Instituto por API")
	code, body = ts.api(t, "POST", "/v1/tenants/"+inst+"/imports", testOperatorToken, `{"from":"mysql://u:p@127.0.0.1:1/x","mapping":"sisca"}`)
	j, _ = body["job"].(map[string]any)
	if code != 202 || j == nil {
		t.Fatalf("an unreachable MySQL: %d %v", code, body)
	}
	if job := ts.waitJob(t, j["id"].(string)); job["status"] != "failed" || job["code"] != tenant.EUnavailable ||
		strings.Contains(job["error"].(string), "\n") || strings.Contains(job["error"].(string), ":p@") {
		t.Errorf("the unreachable source's job: %v", job)
	}
}

// rawPost sends path a body of length bytes of which only prefix comes,
// and reads the answer: a request refused before its body is read.
// (fasthttp waits for the first 8 KiB of a body before any handler.)
func rawPost(t *testing.T, base, path, contentType string, length int, prefix []byte) (status int, closed bool, msg string) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(30 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s",
		path, testOperatorToken, contentType, length, prefix); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body struct {
		Error struct{ Message string }
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, res.Close, body.Error.Message
}

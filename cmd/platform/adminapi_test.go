package main

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/tenant"
)

func (ts *testServer) api(t *testing.T, method, path, token, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, ts.adminURL+path, bytes.NewBufferString(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return do(t, req)
}

func TestOperatorAPI(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	ts := c.serve(t, nil)
	const tok = testOperatorToken
	slug := platformtest.Slug("api")

	// Authentication.
	for _, bad := range []string{"", "wrong", tok + "x", strings.ToUpper(tok)} {
		if code, body := ts.api(t, "GET", "/v1/tenants", bad, ""); code != 401 || errCode(body) != "unauthorized" {
			t.Errorf("token %q: %d %v", bad, code, body)
		}
	}

	// Create: bad input first, nothing changes.
	bad := []struct{ body, code string }{
		{`{`, tenant.EInvalid},
		{`{"slug":"` + slug + `","kind":"restaurant","name":"x","extra":1}`, tenant.EInvalid},
		{`{"slug":"Bad Slug","kind":"restaurant","name":"x"}`, tenant.EInvalid},
		{`{"slug":"` + slug + `","kind":"bakery","name":"x"}`, tenant.EInvalid},
		{`{"slug":"www","kind":"restaurant","name":"x"}`, tenant.EInvalid},
		{`{"slug":"` + slug + `","kind":"restaurant","name":""}`, tenant.EInvalid},
	}
	for _, b := range bad {
		code, body := ts.api(t, "POST", "/v1/tenants", tok, b.body)
		if code != 400 || errCode(body) != b.code {
			t.Errorf("POST %s: %d %v", b.body, code, body)
		}
	}
	code, body := ts.api(t, "POST", "/v1/tenants", tok, `{"slug":"`+slug+`","kind":"restaurant","name":"Api","domains":["api-`+slug+`.example.com"]}`)
	if code != 201 || body["status"] != "active" || body["admin_password"] == "" || body["database"] != tenant.DatabaseName(slug) {
		t.Fatalf("create: %d %v", code, body)
	}
	if code, body := ts.api(t, "POST", "/v1/tenants", tok, `{"slug":"`+slug+`","kind":"restaurant","name":"Api"}`); code != 409 || errCode(body) != tenant.EConflict {
		t.Errorf("duplicate: %d %v", code, body)
	}
	other := platformtest.Slug("api")
	if code, body := ts.api(t, "POST", "/v1/tenants", tok, `{"slug":"`+other+`","kind":"restaurant","name":"x","domains":["API-`+slug+`.example.com"]}`); code != 409 {
		t.Errorf("duplicate domain: %d %v", code, body)
	}

	// Read.
	code, body = ts.api(t, "GET", "/v1/tenants/"+slug, tok, "")
	if code != 200 || body["slug"] != slug || body["admin_password"] != nil {
		t.Errorf("show: %d %v", code, body)
	}
	if code, body := ts.api(t, "GET", "/v1/tenants/nope-nope", tok, ""); code != 404 || errCode(body) != tenant.ENotFound {
		t.Errorf("show unknown: %d %v", code, body)
	}
	code, body = ts.api(t, "GET", "/v1/tenants?kind=restaurant&status=active", tok, "")
	if list, _ := body["tenants"].([]any); code != 200 || len(list) != 1 {
		t.Errorf("list: %d %v", code, body)
	}
	if code, _ := ts.api(t, "GET", "/v1/tenants?status=sleeping", tok, ""); code != 400 {
		t.Errorf("list bad status: %d", code)
	}

	// Lifecycle, seen by the router.
	if code, body := ts.api(t, "POST", "/v1/tenants/"+slug+"/suspend", tok, ""); code != 200 || body["status"] != "suspended" {
		t.Errorf("suspend: %d %v", code, body)
	}
	waitStatus(t, ts, slug, 403, tenant.ETenantSuspended)
	if code, body := ts.api(t, "POST", "/v1/tenants/"+slug+"/resume", tok, ""); code != 200 || body["status"] != "active" {
		t.Errorf("resume: %d %v", code, body)
	}
	waitStatus(t, ts, slug, 200, "")

	// Migrations.
	if code, body := ts.api(t, "POST", "/v1/tenants/"+slug+"/migrate", tok, ""); code != 200 || body["results"] == nil {
		t.Errorf("migrate: %d %v", code, body)
	}
	code, body = ts.api(t, "GET", "/v1/migrations", tok, "")
	if rs, _ := body["results"].([]any); code != 200 || len(rs) != 3 { // two templates, one tenant
		t.Errorf("migrations: %d %v", code, body)
	}
	// A dirty tenant: the migration is refused and says why.
	if err := ts.app.admin.In(context.Background(), tenant.DatabaseName(slug), tenant.OwnerRole(slug), func(conn *pgx.Conn) error {
		_, err := conn.Exec(context.Background(), `UPDATE schema_migrations SET dirty = true`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	code, body = ts.api(t, "POST", "/v1/tenants/"+slug+"/migrate", tok, "")
	if code != 409 || errCode(body) != "migration_failed" || !strings.Contains(body["error"].(map[string]any)["message"].(string), "dirty") {
		t.Errorf("migrate dirty: %d %v", code, body)
	}
	c.ok("migrate", "force", "--tenant", slug, "2", "--yes")

	// Delete: bad flag, soft, then purge.
	if code, _ := ts.api(t, "DELETE", "/v1/tenants/"+slug+"?purge=maybe", tok, ""); code != 400 {
		t.Errorf("purge=maybe: %d", code)
	}
	if code, body := ts.api(t, "DELETE", "/v1/tenants/"+slug, tok, ""); code != 200 || body["result"] != "deleted" {
		t.Errorf("delete: %d %v", code, body)
	}
	waitStatus(t, ts, slug, 404, tenant.ETenantNotFound)
	if code, body := ts.api(t, "DELETE", "/v1/tenants/"+slug+"?purge=true", tok, ""); code != 200 || body["result"] != "purged" {
		t.Errorf("purge: %d %v", code, body)
	}

	// Every action is in the operator audit, none with a secret.
	// The service records operations (reads and unparsable bodies are
	// none): 13 here. Failed tokens are aggregated per address: the first
	// one's row; the other three wait for the address's next row.
	var n, unauthorized int
	ts.cat.Pool().QueryRow(context.Background(), `SELECT count(*) FILTER (WHERE source = 'api' AND action <> 'auth'), count(*) FILTER (WHERE action = 'auth' AND outcome = 'failed') FROM operator_audit`).Scan(&n, &unauthorized)
	if n != 13 || unauthorized != 1 {
		t.Errorf("operator audit: %d api rows, %d failed auth; want 13 and 1", n, unauthorized)
	}
	var leaked int
	ts.cat.Pool().QueryRow(context.Background(), `SELECT count(*) FROM operator_audit WHERE details::text LIKE '%'||$1||'%' OR actor LIKE '%'||$1||'%'`, tok).Scan(&leaked)
	if leaked != 0 {
		t.Errorf("the operator token appears in %d audit rows", leaked)
	}
}

func TestOperatorAPIDisabledWithoutToken(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	ts := c.serve(t, map[string]string{"PLATFORM_OPERATOR_TOKEN": ""})
	if code, body := ts.api(t, "GET", "/v1/tenants", "", ""); code != 503 || errCode(body) != tenant.EUnavailable {
		t.Errorf("no token configured: %d %v", code, body)
	}
	if code, body := ts.api(t, "GET", "/v1/tenants", "anything", ""); code != 503 {
		t.Errorf("no token configured, one given: %d %v", code, body)
	}
}

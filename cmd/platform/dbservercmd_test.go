package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/tenancy/platform/platform/pgadmin"
	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/tenant"
)

// TestCLIDBServer: servers are listed, and changed only by `db-server
// set`, which records the operator action. The catalog alone is enough
// (no Vault, no server admin URL).
func TestCLIDBServer(t *testing.T) {
	t.Parallel()
	cat, url := platformtest.Catalog(t)
	ctx := platformtest.Context(t)
	env := map[string]string{"PLATFORM_DATABASE_URL": url}
	cmd := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := run(context.Background(), args, func(k string) string { return env[k] }, &out, &errOut)
		return out.String(), err
	}
	ok := func(args ...string) string {
		t.Helper()
		out, err := cmd(args...)
		if err != nil {
			t.Fatalf("platform %s: %v", strings.Join(args, " "), err)
		}
		return out
	}
	servers := func() []dbServerView {
		t.Helper()
		var vs []dbServerView
		if err := json.Unmarshal([]byte(ok("db-server", "list", "-o", "json")), &vs); err != nil {
			t.Fatal(err)
		}
		return vs
	}
	if vs := servers(); len(vs) != 0 {
		t.Fatalf("fresh catalog lists %v", vs)
	}
	if _, err := cat.EnsureDBServer(ctx, "default", "127.0.0.1", 5432); err != nil {
		t.Fatal(err)
	}
	if out := ok("db-server", "list"); !strings.Contains(out, "NAME") || !strings.Contains(out, "default") || !strings.Contains(out, "127.0.0.1") {
		t.Errorf("list:\n%s", out)
	}
	out := ok("db-server", "set", "default", "--host", "db.example", "--budget", "12")
	if !strings.Contains(out, "127.0.0.1:5432 -> db.example:5432") || !strings.Contains(out, "80 -> 12") {
		t.Errorf("set:\n%s", out)
	}
	if vs := servers(); len(vs) != 1 || vs[0] != (dbServerView{Name: "default", Host: "db.example", Port: 5432, ConnectionBudget: 12}) {
		t.Errorf("after set: %+v", vs)
	}
	var v dbServerView
	if err := json.Unmarshal([]byte(ok("db-server", "set", "default", "--port", "6543", "-o", "json")), &v); err != nil || v.Port != 6543 {
		t.Errorf("set -o json: %+v, %v", v, err)
	}

	tests := []struct {
		args  []string
		usage bool
		code  string // of a non-usage error
		want  string
	}{
		{[]string{"db-server", "set", "default"}, true, "", "nothing to change"},
		{[]string{"db-server", "set"}, true, "", "exactly one NAME"},
		{[]string{"db-server", "set", "a", "b", "--port", "1"}, true, "", "exactly one NAME"},
		{[]string{"db-server", "set", "default", "--port", "x"}, true, "", "invalid value"},
		{[]string{"db-server", "list", "extra"}, true, "", "unexpected argument"},
		{[]string{"db-server", "list", "-o", "yaml"}, true, "", "table or json"},
		{[]string{"db-server", "drop", "default"}, true, "", "unknown verb"},
		{[]string{"db-server"}, true, "", "missing verb"},
		{[]string{"db-server", "set", "nope", "--budget", "5"}, false, tenant.ENotFound, "not registered"},
		{[]string{"db-server", "set", "default", "--port", "0"}, false, tenant.EInvalid, "invalid port"},
		{[]string{"db-server", "set", "default", "--budget", "-1"}, false, tenant.EInvalid, "connection budget"},
		{[]string{"db-server", "set", "default", "--host", "db.example:5432"}, false, tenant.EInvalid, "invalid host"},
	}
	for _, tt := range tests {
		_, err := cmd(tt.args...)
		var u usageError
		if err == nil || errors.As(err, &u) != tt.usage || (!tt.usage && tenant.ErrorCode(err) != tt.code) ||
			!strings.Contains(errorLine(err), tt.want) || strings.Contains(errorLine(err), "\n") {
			t.Errorf("platform %s: %v (usage %v), want %q", strings.Join(tt.args, " "), err, errors.As(err, &u), tt.want)
		}
	}
	if vs := servers(); len(vs) != 1 || vs[0].Port != 6543 || vs[0].ConnectionBudget != 12 || vs[0].Host != "db.example" {
		t.Errorf("refused changes changed the server: %+v", vs)
	}

	// The operator audit: each set that reached the catalog, with its outcome.
	rows, err := cat.Pool().Query(ctx, `SELECT source, action, outcome, details->>'name', details ? 'connection_budget', actor
		FROM operator_audit ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var source, action, outcome, name, actor string
		var budget bool
		if err := rows.Scan(&source, &action, &outcome, &name, &budget, &actor); err != nil {
			t.Fatal(err)
		}
		if source != "cli" || action != "db_server.set" || !strings.HasPrefix(actor, "cli") {
			t.Errorf("audit row: %s %s by %s", source, action, actor)
		}
		got = append(got, outcome+" "+name)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := []string{"succeeded default", "succeeded default", "failed nope", "failed default", "failed default", "failed default"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("audit = %v, want %v", got, want)
	}

	env["PLATFORM_DATABASE_URL"] = ""
	if _, err := cmd("db-server", "list"); err == nil || !strings.Contains(errorLine(err), "PLATFORM_DATABASE_URL") {
		t.Errorf("no catalog URL: %v", err)
	}
}

// TestOperatorAPICatalogOutage (B9): while the catalog database refuses
// connections, the operator API answers 503 unavailable with Retry-After
// (not 500 internal), and recovers without a restart.
func TestOperatorAPICatalogOutage(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	ts := c.serve(t, nil)
	ctx := platformtest.Context(t)
	cc, err := pgx.ParseConfig(c.env["PLATFORM_DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	admin := platformtest.Admin(t)
	onAdmin := func(sql string, args ...any) error {
		return admin.In(ctx, "postgres", "", func(conn *pgx.Conn) error {
			_, err := conn.Exec(ctx, sql, args...)
			return err
		})
	}
	list := func() (*http.Response, map[string]any) {
		t.Helper()
		req, err := http.NewRequest("GET", ts.adminURL+"/v1/tenants", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+testOperatorToken)
		resp, body, err := doRequest(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp, body
	}
	if resp, body := list(); resp.StatusCode != 200 {
		t.Fatalf("before the outage: %d %v", resp.StatusCode, body)
	}
	db := pgadmin.Ident(cc.Database)
	if err := onAdmin("ALTER DATABASE " + db + " ALLOW_CONNECTIONS false"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := onAdmin("ALTER DATABASE " + db + " ALLOW_CONNECTIONS true"); err != nil {
			t.Error(err)
		}
	})
	if err := onAdmin(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`, cc.Database); err != nil {
		t.Fatal(err)
	}
	resp, body := list()
	if resp.StatusCode != 503 || errCode(body) != tenant.EUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("during the outage: %d %v, Retry-After %q; want 503 unavailable with Retry-After", resp.StatusCode, body, resp.Header.Get("Retry-After"))
	}
	if strings.Contains(ts.logs.String(), `"level":"ERROR","msg":"internal error"`) {
		t.Errorf("the outage was logged as an internal error:\n%s", ts.logs.String())
	}
	if err := onAdmin("ALTER DATABASE " + db + " ALLOW_CONNECTIONS true"); err != nil {
		t.Fatal(err)
	}
	if resp, body := list(); resp.StatusCode != 200 {
		t.Errorf("after the outage: %d %v", resp.StatusCode, body)
	}
}

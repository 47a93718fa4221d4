package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenancy/platform/platform/adminapi"
	"github.com/tenancy/platform/platform/catalog"
	"github.com/tenancy/platform/platform/pgadmin"
	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/auth"
)

// cli runs the platform command against a catalog and templates of the
// test's own.
type cli struct {
	t     *testing.T
	env   map[string]string
	cat   *catalog.DB     // the test's catalog, for checks
	admin *pgadmin.Server // the test server's admin handle, for checks
}

func newCLI(t *testing.T) *cli {
	admin := platformtest.Admin(t)
	prefix := platformtest.TemplatePrefix(t, admin)
	cat, catURL := platformtest.Catalog(t)
	c := &cli{t: t, cat: cat, admin: admin, env: map[string]string{
		"PLATFORM_DATABASE_URL":    catURL,
		"PLATFORM_DB_ADMIN_URL":    platformtest.AdminURL(t),
		"VAULT_ADDR":               platformtest.Getenv(t, "VAULT_ADDR"),
		"VAULT_TOKEN":              platformtest.Getenv(t, "VAULT_TOKEN"),
		"PLATFORM_TEMPLATE_PREFIX": prefix,
		// bcrypt at cost 4: the production floor of 10 makes each login
		// and first admin take seconds under -race.
		"PLATFORM_BCRYPT_COST":       "4",
		"PLATFORM_ALLOW_WEAK_BCRYPT": "1",
	}}
	t.Cleanup(func() {
		out, _, _ := c.run("tenant", "list", "-o", "json")
		var ts []adminapi.Tenant
		json.Unmarshal([]byte(out), &ts)
		for _, tn := range ts {
			if _, stderr, err := c.run("tenant", "delete", tn.Slug, "--purge", "--yes"); err != nil {
				t.Errorf("purge %s: %v %s", tn.Slug, err, stderr)
			}
		}
	})
	return c
}

func (c *cli) run(args ...string) (string, string, error) {
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, func(k string) string { return c.env[k] }, &out, &errOut)
	return out.String(), errOut.String(), err
}

func (c *cli) ok(args ...string) string {
	c.t.Helper()
	out, stderr, err := c.run(args...)
	if err != nil {
		c.t.Fatalf("platform %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return out
}

// passwordWorks reports whether password logs in as slug's first
// administrator: it checks it against the bcrypt hash in the tenant's
// database, as the login does.
func (c *cli) passwordWorks(t *testing.T, slug, password string) bool {
	t.Helper()
	var hash string
	ctx := context.Background()
	err := c.admin.In(ctx, tenant.DatabaseName(slug), tenant.OwnerRole(slug), func(conn *pgx.Conn) error {
		return conn.QueryRow(ctx, `SELECT password_hash FROM users WHERE username = $1`, auth.AdminUsername).Scan(&hash)
	})
	if err != nil {
		t.Fatalf("read the admin hash of %s: %v", slug, err)
	}
	return password != "" && auth.CheckPassword(hash, password)
}

func TestCLITenantLifecycle(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	slug := platformtest.Slug("cli")
	domain := "menu-" + platformtest.Rand(6) + ".example.cl"
	out := c.ok("tenant", "create", slug, "--kind", "restaurant", "--name", "La Picantería", "--domain", domain, "--time-zone", "America/Santiago", "-o", "json")
	var created map[string]any
	if err := json.Unmarshal([]byte(out), &created); err != nil {
		t.Fatalf("create -o json is not one JSON object: %v\n%s", err, out)
	}
	for _, k := range []string{"slug", "kind", "status", "database", "hosts", "admin_username", "admin_password"} {
		if _, ok := created[k]; !ok {
			t.Errorf("create -o json lacks %q", k)
		}
	}
	if created["status"] != "active" || created["database"] != "tenant_"+strings.ReplaceAll(slug, "-", "_") {
		t.Errorf("created = %v", created)
	}
	pw := created["admin_password"].(string)

	// Nothing after creation shows the password or any secret.
	show := c.ok("tenant", "show", slug, "-o", "json")
	var tj adminapi.Tenant
	if err := json.Unmarshal([]byte(show), &tj); err != nil || tj.Slug != slug || tj.TimeZone != "America/Santiago" || len(tj.Hosts) != 2 || tj.Hosts[1] != domain {
		t.Errorf("show = %+v (%v)", tj, err)
	}
	list := c.ok("tenant", "list")
	env := c.ok("tenant", "env", slug)
	for name, text := range map[string]string{"show": show, "list": list, "env": env} {
		if strings.Contains(text, pw) {
			t.Errorf("%s prints the admin password", name)
		}
	}
	if !strings.Contains(list, slug) || !strings.Contains(list, "SLUG") {
		t.Errorf("list:\n%s", list)
	}
	revealed := c.ok("tenant", "env", slug, "--reveal")
	var dbpw string
	for _, line := range strings.Split(revealed, "\n") {
		if v, ok := strings.CutPrefix(line, "DB_PASSWORD="); ok {
			dbpw = v
		}
	}
	if len(dbpw) != 32 || strings.Contains(env, dbpw) {
		t.Errorf("env: password %q revealed; redacted env contains it: %v", dbpw, strings.Contains(env, dbpw))
	}

	c.ok("tenant", "suspend", slug)
	if out := c.ok("tenant", "list", "--status", "suspended", "-o", "json"); !strings.Contains(out, slug) {
		t.Errorf("suspended tenant not listed:\n%s", out)
	}
	c.ok("tenant", "resume", slug)
	if out := c.ok("tenant", "reset-admin", slug, "--yes", "-o", "json"); strings.Contains(out, pw) || !strings.Contains(out, "admin_password") {
		t.Errorf("reset-admin:\n%s", out)
	}
	c.ok("tenant", "delete", slug, "--yes")
	if out := c.ok("tenant", "show", slug); !strings.Contains(out, "deleted") {
		t.Errorf("after soft delete:\n%s", out)
	}
	c.ok("tenant", "delete", slug, "--yes", "--purge")
	if _, _, err := c.run("tenant", "show", slug); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("show after purge: %v", err)
	}
}

func TestCLIBadInput(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	taken := platformtest.Slug("taken")
	c.ok("tenant", "create", taken, "--kind", "institution", "--name", "Universidad")
	tests := []struct {
		args  []string
		usage bool   // exit 2
		want  string // in the one line
	}{
		{[]string{"tenant", "create", "Bad!", "--kind", "restaurant", "--name", "x"}, false, "invalid slug"},
		{[]string{"tenant", "create", "www", "--kind", "restaurant", "--name", "x"}, false, "reserved"},
		{[]string{"tenant", "create", "valid-slug", "--kind", "bakery", "--name", "x"}, false, "unknown kind"},
		{[]string{"tenant", "create", "valid-slug", "--name", "x"}, true, "--kind is required"},
		{[]string{"tenant", "create", taken, "--kind", "institution", "--name", "x"}, false, "already exists"},
		{[]string{"tenant", "create", "a", "b", "--kind", "restaurant"}, true, "exactly one SLUG"},
		{[]string{"tenant", "create", "valid-slug", "--kind", "restaurant", "--name", "x", "--bogus"}, true, "flag provided but not defined"},
		{[]string{"tenant", "delete", taken}, true, "--yes"},
		{[]string{"tenant", "show", "nope-nope"}, false, "not found"},
		{[]string{"tenant", "list", "-o", "yaml"}, true, "table or json"},
		{[]string{"tenant", "list", "--status", "sleeping"}, false, "unknown status"},
		{[]string{"tenant", "fly", taken}, true, "unknown verb"},
		{[]string{"migrate", "up"}, false, "--tenant SLUG or --all"},
		{[]string{"migrate", "up", "--all", "--parallel", "0"}, false, "--parallel"},
		{[]string{"migrate", "force", "--tenant", taken, "2"}, true, "--yes"},
		{[]string{"migrate", "force", "--tenant", taken, "x", "--yes"}, false, "VERSION"},
		{[]string{"migrate", "down"}, true, "--tenant"},
		{[]string{"migrate", "create", "--kind", "bakery", "x"}, false, "--kind"},
		{[]string{"bogus"}, true, "unknown command"},
	}
	for _, tt := range tests {
		_, _, err := c.run(tt.args...)
		if err == nil {
			t.Errorf("platform %s: succeeded", strings.Join(tt.args, " "))
			continue
		}
		var u usageError
		if errors.As(err, &u) != tt.usage || !strings.Contains(errorLine(err), tt.want) || strings.Contains(errorLine(err), "\n") {
			t.Errorf("platform %s: %q (usage=%v), want %q (usage=%v)", strings.Join(tt.args, " "), errorLine(err), errors.As(err, &u), tt.want, tt.usage)
		}
	}
	out := c.ok("tenant", "list", "-o", "json")
	var ts []adminapi.Tenant
	json.Unmarshal([]byte(out), &ts)
	if len(ts) != 1 || ts[0].Slug != taken {
		t.Errorf("bad input changed the catalog: %s", out)
	}

	// Unreachable services: one clear line, nothing written.
	c.env["VAULT_ADDR"] = "http://127.0.0.1:1"
	_, _, err := c.run("tenant", "create", "no-vault", "--kind", "restaurant", "--name", "x")
	if err == nil || !strings.Contains(errorLine(err), "Vault") {
		t.Errorf("Vault down: %v", err)
	}
	c.env["VAULT_ADDR"] = platformtest.Getenv(t, "VAULT_ADDR")
	if _, _, err := c.run("tenant", "show", "no-vault"); err == nil {
		t.Error("a tenant row was written while Vault was down")
	}
	saved := c.env["PLATFORM_DATABASE_URL"]
	c.env["PLATFORM_DATABASE_URL"] = "postgres://postgres@127.0.0.1:1/platform?sslmode=disable"
	if _, _, err := c.run("tenant", "list"); err == nil || !strings.Contains(errorLine(err), "unreachable") {
		t.Errorf("catalog down: %v", err)
	}
	c.env["PLATFORM_DATABASE_URL"] = saved
	delete(c.env, "VAULT_TOKEN")
	if _, _, err := c.run("tenant", "list"); err == nil || !strings.Contains(errorLine(err), "VAULT_TOKEN") {
		t.Errorf("missing VAULT_TOKEN: %v", err)
	}
	c.env["VAULT_TOKEN"] = platformtest.Getenv(t, "VAULT_TOKEN")
}

func TestCLIMigrate(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	a, b := platformtest.Slug("mig"), platformtest.Slug("mig")
	c.ok("tenant", "create", a, "--kind", "restaurant", "--name", "A")
	c.ok("tenant", "create", b, "--kind", "institution", "--name", "B")
	c.ok("migrate", "down", "--tenant", a, "--steps", "1")
	var st []adminapi.Migration
	json.Unmarshal([]byte(c.ok("migrate", "status", "-o", "json")), &st)
	pending := map[string]int{}
	for _, r := range st {
		pending[r.Name] = r.Pending
	}
	if len(st) != 4 || pending[a] != 1 || pending[b] != 0 || pending["template:restaurant"] != 0 {
		t.Fatalf("status = %+v", st)
	}
	out := c.ok("migrate", "up", "--all", "--parallel", "2")
	if !strings.Contains(out, a) || strings.Contains(out, "FAILED") {
		t.Errorf("up --all:\n%s", out)
	}
	json.Unmarshal([]byte(c.ok("migrate", "status", "--tenant", a, "-o", "json")), &st)
	if len(st) != 1 || st[0].Pending != 0 {
		t.Errorf("after up: %+v", st)
	}
	c.ok("migrate", "force", "--tenant", a, "1", "--yes")
	json.Unmarshal([]byte(c.ok("migrate", "status", "--tenant", a, "-o", "json")), &st)
	if st[0].Version != 1 {
		t.Errorf("after force 1: %+v", st)
	}
	c.ok("migrate", "force", "--tenant", a, "2", "--yes")
}

func TestMigrateCreate(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"catalog", "common", "restaurant", "institution"} {
		os.MkdirAll(filepath.Join(dir, d), 0o755)
	}
	write := func(p string) { os.WriteFile(filepath.Join(dir, p), nil, 0o644) }
	write("common/000001_identity.up.sql")
	write("restaurant/000002_restaurant.up.sql")
	write("institution/000002_institution.up.sql")
	write("institution/000003_more.up.sql")
	write("catalog/000001_catalog.up.sql")
	tests := []struct{ kind, want string }{
		{"restaurant", "restaurant/000003_add_x.up.sql"},
		{"institution", "institution/000004_add_x.up.sql"},
		{"common", "common/000004_add_x.up.sql"},
		{"catalog", "catalog/000002_add_x.up.sql"},
	}
	for _, tt := range tests {
		up, down, err := createMigration(dir, tt.kind, "add_x")
		if err != nil {
			t.Fatalf("%s: %v", tt.kind, err)
		}
		if up != filepath.Join(dir, tt.want) || !strings.HasSuffix(down, strings.Replace(tt.want, ".up.", ".down.", 1)) {
			t.Errorf("%s: %s %s, want %s", tt.kind, up, down, tt.want)
		}
		os.Remove(up)
		os.Remove(down)
	}
	if _, _, err := createMigration(dir, "restaurant", "Bad Name"); err == nil {
		t.Error("accepted a bad name")
	}
	if _, _, err := createMigration(filepath.Join(dir, "missing"), "restaurant", "x"); err == nil {
		t.Error("accepted a missing directory")
	}
}

func TestCLIWithAppRole(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	roleID, secretID := platformtest.AppRole(t, time.Minute, 5*time.Minute)
	delete(c.env, "VAULT_TOKEN")
	c.env["VAULT_ROLE_ID"], c.env["VAULT_SECRET_ID"] = roleID, secretID
	slug := platformtest.Slug("role")
	c.ok("tenant", "create", slug, "--kind", "restaurant", "--name", "AppRole")
	if out := c.ok("tenant", "env", slug, "--reveal"); !strings.Contains(out, "DB_PASSWORD=") || strings.Contains(out, "<redacted>") {
		t.Errorf("env --reveal with AppRole:\n%s", out)
	}
	c.ok("tenant", "delete", slug, "--purge", "--yes")
	c.env["VAULT_SECRET_ID"] = "wrong"
	if _, _, err := c.run("tenant", "list"); err == nil || !strings.Contains(errorLine(err), "AppRole") {
		t.Errorf("wrong secret id: %v", err)
	}
	c.env["VAULT_TOKEN"] = platformtest.Getenv(t, "VAULT_TOKEN") // for the cleanup's purges
}

// TestCLIConcurrentCreates is B3 through the CLI: creates of one slug run
// at once. Exactly one exits 0 and the password it prints logs the admin
// in; the others fail with one clear conflict line (never a raw "tuple
// concurrently updated").
func TestCLIConcurrentCreates(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("tenant", "create", platformtest.Slug("warm"), "--kind", "restaurant", "--name", "Warm")
	slug := platformtest.Slug("race")
	type result struct {
		out string
		err error
	}
	results := make([]result, 3)
	var wg sync.WaitGroup
	for i := range results {
		wg.Go(func() {
			out, _, err := c.run("tenant", "create", slug, "--kind", "restaurant", "--name", "Race", "-o", "json")
			results[i] = result{out, err}
		})
	}
	wg.Wait()
	var passwords []string
	for _, r := range results {
		if r.err != nil {
			if line := errorLine(r.err); !strings.Contains(line, "already exists (active)") {
				t.Errorf("a losing create printed %q, want the conflict line", line)
			}
			continue
		}
		var res map[string]any
		if err := json.Unmarshal([]byte(r.out), &res); err != nil {
			t.Fatalf("create -o json: %v\n%s", err, r.out)
		}
		pw, _ := res["admin_password"].(string)
		passwords = append(passwords, pw)
	}
	if len(passwords) != 1 {
		t.Fatalf("%d creates succeeded, want exactly one", len(passwords))
	}
	if !c.passwordWorks(t, slug, passwords[0]) {
		t.Error("the create that exited 0 printed an admin password that does not work")
	}
}

// TestAuditSameActionsFromCLIAndAPI is item 8: the service records the
// operator audit, so the CLI and the API record the same action names for
// the same operations (failures included), each with its own actor.
func TestAuditSameActionsFromCLIAndAPI(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	ts := c.serve(t, nil)
	tok := testOperatorToken
	viaCLI, viaAPI := platformtest.Slug("acli"), platformtest.Slug("aapi")

	c.ok("tenant", "create", "  "+viaCLI+" ", "--kind", "restaurant", "--name", "Via CLI")
	c.ok("tenant", "show", viaCLI) // reads are not operator actions
	c.ok("tenant", "suspend", viaCLI)
	c.ok("tenant", "resume", viaCLI)
	c.ok("migrate", "up", "--tenant", viaCLI)
	if _, _, err := c.run("tenant", "suspend", "nope-nope"); err == nil {
		t.Error("suspend of an unknown tenant succeeded")
	}
	if _, _, err := c.run("tenant", "create", platformtest.Slug("bad"), "--kind", "restaurant", "--name", "x", "--domain", "10.0.0.1"); tenant.ErrorCode(err) != tenant.EInvalid {
		t.Errorf("an IP address as a domain: %v, want invalid_input", err)
	}
	c.ok("tenant", "delete", viaCLI, "--yes")
	c.ok("tenant", "delete", viaCLI, "--yes", "--purge")

	api := func(method, path, body string, want int) {
		t.Helper()
		if code, res := ts.api(t, method, path, tok, body); code != want {
			t.Errorf("%s %s: %d %v, want %d", method, path, code, res, want)
		}
	}
	api("POST", "/v1/tenants", `{"slug":"  `+viaAPI+` ","kind":"restaurant","name":"Via API"}`, 201)
	api("GET", "/v1/tenants/"+viaAPI, "", 200)
	api("POST", "/v1/tenants/"+viaAPI+"/suspend", "", 200)
	api("POST", "/v1/tenants/"+viaAPI+"/resume", "", 200)
	api("POST", "/v1/tenants/"+viaAPI+"/migrate", "", 200)
	api("POST", "/v1/tenants/nope-nope/suspend", "", 404)
	api("POST", "/v1/tenants", `{"slug":"`+platformtest.Slug("bad")+`","kind":"restaurant","name":"x","domains":["10.0.0.1"]}`, 400)
	api("DELETE", "/v1/tenants/"+viaAPI, "", 200)
	api("DELETE", "/v1/tenants/"+viaAPI+"?purge=true", "", 200)

	rows, err := c.cat.Pool().Query(context.Background(), `
		SELECT source, actor, action, outcome, coalesce(tenant_slug, ''), details ? 'ip'
		FROM operator_audit WHERE action <> 'auth' ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		source, actor, action, outcome, slug string
		ip                                   bool
	}
	got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
		var x row
		err := r.Scan(&x.source, &x.actor, &x.action, &x.outcome, &x.slug, &x.ip)
		return x, err
	})
	if err != nil {
		t.Fatal(err)
	}
	seq := map[string][]string{}
	for _, r := range got {
		name := r.slug
		switch {
		case r.slug == viaCLI, r.slug == viaAPI:
			name = "T"
		case strings.HasPrefix(r.slug, "bad-"):
			name = "B"
		}
		seq[r.source] = append(seq[r.source], r.action+" "+r.outcome+" "+name)
		switch {
		case r.source == "cli" && !strings.HasPrefix(r.actor, "cli"):
			t.Errorf("cli row with actor %q", r.actor)
		case r.source == "api" && (!strings.HasPrefix(r.actor, "api:") || !r.ip):
			t.Errorf("api row with actor %q (ip recorded: %v)", r.actor, r.ip)
		}
	}
	want := []string{
		"tenant.create succeeded T", "tenant.suspend succeeded T", "tenant.resume succeeded T",
		"migrate.up succeeded T", "tenant.suspend failed nope-nope", "tenant.create failed B",
		"tenant.delete succeeded T", "tenant.purge succeeded T",
	}
	for _, src := range []string{"cli", "api"} {
		if !slices.Equal(seq[src], want) {
			t.Errorf("%s recorded\n  %q\nwant\n  %q", src, seq[src], want)
		}
	}
}

// TestCLIMigrateSkipsMaintenance: the table and the JSON say which
// tenants were skipped (in maintenance: a restore in progress).
func TestCLIMigrateSkipsMaintenance(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	slug := platformtest.Slug("maint")
	c.ok("tenant", "create", slug, "--kind", "institution", "--name", "Busy")
	if err := c.cat.SetStatus(context.Background(), slug, tenant.StatusMaintenance, tenant.StatusActive); err != nil {
		t.Fatal(err)
	}
	if out := c.ok("migrate", "up", "--all"); !strings.Contains(out, "skipped (maintenance)") {
		t.Errorf("up --all table:\n%s", out)
	}
	var ms []adminapi.Migration
	if err := json.Unmarshal([]byte(c.ok("migrate", "up", "--tenant", slug, "-o", "json")), &ms); err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 || !ms[0].Skipped || ms[0].Error != "" {
		t.Errorf("up --tenant -o json: %+v, want skipped", ms)
	}
	if err := c.cat.SetStatus(context.Background(), slug, tenant.StatusActive, tenant.StatusMaintenance); err != nil {
		t.Fatal(err)
	}
}

// TestControlCharactersRefused is B6/B7: a NUL in a name sent to the API
// was a 500, and newlines injected lines into `tenant env` and broke
// `tenant list`. Both are invalid input now, and nothing is written.
func TestControlCharactersRefused(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	ts := c.serve(t, nil)
	for _, name := range []string{"a\nDB_PASSWORD=x", "a\rb", "a\tb", "a\u2028b", "\x1b[2J"} {
		slug := platformtest.Slug("ctl")
		_, _, err := c.run("tenant", "create", slug, "--kind", "restaurant", "--name", name)
		if tenant.ErrorCode(err) != tenant.EInvalid || strings.ContainsAny(errorLine(err), "\n\r\x1b") {
			t.Errorf("CLI name %q: %q (code %s), want one clean invalid_input line", name, errorLine(err), tenant.ErrorCode(err))
		}
	}
	for _, name := range []string{`a\u0000b`, `a\nb`, `a\u2029b`} {
		body := `{"slug":"` + platformtest.Slug("ctl") + `","kind":"restaurant","name":"` + name + `"}`
		if code, res := ts.api(t, "POST", "/v1/tenants", testOperatorToken, body); code != 400 || errCode(res) != tenant.EInvalid {
			t.Errorf("API name %s: %d %v, want 400 invalid_input", name, code, res)
		}
	}
	if out := c.ok("tenant", "list", "-o", "json"); strings.TrimSpace(out) != "[]" {
		t.Errorf("refused creations wrote tenants: %s", out)
	}

	// A name stored before names were validated does not break the table.
	slug := platformtest.Slug("old")
	c.ok("tenant", "create", slug, "--kind", "restaurant", "--name", "Old")
	if _, err := c.cat.Pool().Exec(context.Background(), `UPDATE tenants SET name = $2 WHERE slug = $1`, slug, "Old\nfake-row\tx"); err != nil {
		t.Fatal(err)
	}
	if out := c.ok("tenant", "list"); strings.Count(out, "\n") != 2 || strings.Contains(out, "\nfake-row") {
		t.Errorf("tenant list with an old name:\n%s", out)
	}
}

// cliError is a command that must fail: with a usage error, or with code
// (when not ""), its message holding want on one line.
type cliError struct {
	args  []string
	code  string // error code, or "" for a usage error
	want  string
	usage bool
}

// wantErrors runs each case and checks its error.
func (c *cli) wantErrors(t *testing.T, cases []cliError) {
	t.Helper()
	for _, tt := range cases {
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

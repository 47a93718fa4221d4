package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tenancy/platform/platform/adminapi"
	"github.com/tenancy/platform/platform/platformtest"
)

// cli runs the platform command against a catalog and templates of the
// test's own.
type cli struct {
	t   *testing.T
	env map[string]string
}

func newCLI(t *testing.T) *cli {
	admin := platformtest.Admin(t)
	prefix := platformtest.TemplatePrefix(t, admin)
	_, catURL := platformtest.Catalog(t)
	c := &cli{t: t, env: map[string]string{
		"PLATFORM_DATABASE_URL":    catURL,
		"PLATFORM_DB_ADMIN_URL":    platformtest.AdminURL(t),
		"VAULT_ADDR":               platformtest.Getenv(t, "VAULT_ADDR"),
		"VAULT_TOKEN":              platformtest.Getenv(t, "VAULT_TOKEN"),
		"PLATFORM_TEMPLATE_PREFIX": prefix,
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
	c.env["PLATFORM_BCRYPT_COST"] = "4"
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

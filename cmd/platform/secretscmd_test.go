package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tenancy/platform/platform/adminapi"
	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/platform/provision"
	"github.com/tenancy/platform/platform/secrets"
	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/auth"
	"github.com/tenancy/platform/tenant/auth/session"
)

func testSessions(t *testing.T) *session.Store {
	t.Helper()
	opts, err := redis.ParseURL(platformtest.Getenv(t, "REDIS_URL"))
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { rdb.Close() })
	return session.New(rdb, session.Options{})
}

func liveCount(t *testing.T, s *session.Store, tid string) int {
	t.Helper()
	l, err := s.List(context.Background(), tid, 0)
	if err != nil {
		t.Fatal(err)
	}
	return len(l)
}

// The CLI and the operator API rotate through the same service, record the
// same operator action, and two replicas follow: cached secrets dropped,
// pools kept, requests answered throughout.
func TestSecretsRotateCLIAndAPI(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	ts := c.serve(t, nil)
	other := c.serve(t, nil)
	tn := ts.create(t, "restaurant")
	host := tn.Slug + ".localhost"
	for _, s := range []*testServer{ts, other} {
		waitStatus(t, s, tn.Slug, 200, "")
		if code, body := s.get(t, host, "/api/tenant/db"); code != 200 {
			t.Fatalf("before: %d %v", code, body)
		}
	}
	sessions := testSessions(t)
	newSession := func() {
		t.Helper()
		if _, _, err := sessions.Create(context.Background(), tn.ID, auth.SessionData{UserID: 1, Username: "a"}, auth.Policy{}); err != nil {
			t.Fatal(err)
		}
	}
	vault := platformtest.Vault(t)
	read := func() *secrets.Versioned {
		t.Helper()
		v, err := vault.Read(context.Background(), tn.Slug)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}

	// CLI without REDIS_URL: the secrets that end sessions are refused.
	if _, _, err := c.run("secrets", "rotate", tn.Slug, "--only", "jwt_secret"); tenant.ErrorCode(err) != tenant.EUnavailable || !strings.Contains(err.Error(), "REDIS_URL") {
		t.Errorf("jwt_secret without REDIS_URL: %v", err)
	}
	if out := c.ok("secrets", "rotate", tn.Slug, "--only", "api_key_internal"); !strings.Contains(out, "rotated api_key_internal") {
		t.Errorf("rotate api_key_internal: %q", out)
	}
	if _, _, err := c.run("secrets", "rotate", tn.Slug, "--only", "jwt_secret,nope"); tenant.ErrorCode(err) != tenant.EInvalid || !strings.Contains(err.Error(), "valid names are") {
		t.Errorf("unknown name: %v", err)
	}
	if _, _, err := c.run("secrets", "rotate"); err == nil {
		t.Error("rotate without a slug succeeded")
	}

	c.env["REDIS_URL"] = platformtest.Getenv(t, "REDIS_URL")
	newSession()
	newSession()
	var res provision.Rotation
	out := c.ok("secrets", "rotate", tn.Slug, "--only", "jwt_secret,session_secret", "-o", "json")
	if err := json.Unmarshal([]byte(out), &res); err != nil || len(res.Rotated) != 2 || res.SessionsEnded != 2 || res.VaultVersion != read().Version {
		t.Errorf("rotate -o json: %+v %v\n%s", res, err, out)
	}
	if n := liveCount(t, sessions, tn.ID); n != 0 {
		t.Errorf("%d sessions after rotating jwt_secret", n)
	}
	jwt := read().Values["jwt_secret"]
	// Both replicas drop their cached secrets on the catalog's notice.
	for _, s := range []*testServer{ts, other} {
		platformtest.Eventually(t, notifyWait, "the replica reads the rotated jwt_secret", func() bool {
			sec, err := s.secrets.Get(context.Background(), tn.Slug)
			return err == nil && sec["jwt_secret"] == jwt
		})
	}

	// API: db_password; the tenant keeps answering on both replicas and
	// neither closed its pool.
	pools := []int{ts.pools.Stats().Pools, other.pools.Stats().Pools}
	code, body := ts.api(t, "POST", "/v1/tenants/"+tn.Slug+"/secrets/rotate", testOperatorToken, `{"only":["db_password"]}`)
	if code != 200 || body["rotated"] == nil || body["sessions_ended"] != float64(0) {
		t.Fatalf("API rotate: %d %v", code, body)
	}
	for i, s := range []*testServer{ts, other} {
		if code, body := s.get(t, host, "/api/tenant/db"); code != 200 {
			t.Errorf("replica %d after db_password rotation: %d %v", i, code, body)
		}
		if n := s.pools.Stats().Pools; n != pools[i] || n == 0 {
			t.Errorf("replica %d: %d pools, had %d", i, n, pools[i])
		}
	}
	if code, body := ts.api(t, "POST", "/v1/tenants/"+tn.Slug+"/secrets/rotate", testOperatorToken, `{"only":["root"]}`); code != 400 || errCode(body) != tenant.EInvalid {
		t.Errorf("API unknown name: %d %v", code, body)
	}
	if code, body := ts.api(t, "POST", "/v1/tenants/"+tn.Slug+"/secrets/rotate", testOperatorToken, `{"names":["jwt_secret"]}`); code != 400 {
		t.Errorf("API unknown field: %d %v", code, body)
	}
	if code, body := ts.api(t, "POST", "/v1/tenants/nope-nope/secrets/rotate", testOperatorToken, ""); code != 404 {
		t.Errorf("API unknown tenant: %d %v", code, body)
	}
	newSession()
	code, body = ts.api(t, "POST", "/v1/tenants/"+tn.Slug+"/secrets/rotate", testOperatorToken, "")
	if rotated, _ := body["rotated"].([]any); code != 200 || len(rotated) != 5 || body["sessions_ended"] != float64(1) {
		t.Errorf("API rotate all: %d %v", code, body)
	}
	if code, _ := other.get(t, host, "/api/tenant/db"); code != 200 {
		t.Errorf("after rotating everything: %d", code)
	}

	// One action name from both front ends.
	var cliRows, apiRows int
	err := c.cat.Pool().QueryRow(context.Background(), `
		SELECT count(*) FILTER (WHERE source = 'cli' AND outcome = 'succeeded'), count(*) FILTER (WHERE source = 'api' AND outcome = 'succeeded')
		FROM operator_audit WHERE action = 'secrets.rotate' AND tenant_slug = $1`, tn.Slug).Scan(&cliRows, &apiRows)
	if err != nil || cliRows != 2 || apiRows != 2 {
		t.Errorf("operator audit: %d cli, %d api rows (%v); want 2 and 2", cliRows, apiRows, err)
	}

	// tenant show: each secret's age, never a value.
	values := read().Values
	var shown adminapi.Tenant
	showJSON := c.ok("tenant", "show", tn.Slug, "-o", "json")
	if err := json.Unmarshal([]byte(showJSON), &shown); err != nil || len(shown.Secrets) != 5 {
		t.Fatalf("show -o json: %v\n%s", err, showJSON)
	}
	for _, a := range shown.Secrets {
		if time.Since(a.RotatedAt) > time.Minute || a.DueAt.IsZero() {
			t.Errorf("age %+v", a)
		}
	}
	table := c.ok("tenant", "show", tn.Slug)
	if !strings.Contains(table, "SECRET") || !strings.Contains(table, "db_password") || !strings.Contains(table, "0d") {
		t.Errorf("show table:\n%s", table)
	}
	if code, body := ts.api(t, "GET", "/v1/tenants/"+tn.Slug, testOperatorToken, ""); code != 200 || len(body["secrets"].([]any)) != 5 {
		t.Errorf("API show: %d %v", code, body)
	}
	for _, v := range values {
		if strings.Contains(showJSON, v) || strings.Contains(table, v) {
			t.Error("tenant show prints a secret value")
		}
	}
}

// Two replicas with a short check interval: a tenant whose secrets are
// past secret_rotation_days is rotated once, by one of them, and its
// sessions end.
func TestServeRotatesDueSecretsOnce(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	ctx := context.Background()
	vault := platformtest.Vault(t)
	sessions := testSessions(t)
	// Tenants first, then the replicas: a due secret is found by a check.
	created := make([]*tenant.Tenant, 2)
	for i := range created {
		var res adminapi.Created
		out := c.ok("tenant", "create", platformtest.Slug("auto"), "--kind", "restaurant", "--name", "Auto", "-o", "json")
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatal(err)
		}
		tn, err := c.cat.TenantBySlug(ctx, res.Slug)
		if err != nil {
			t.Fatal(err)
		}
		created[i] = tn
	}
	due, fresh := created[0], created[1]
	tmpl, err := secrets.LoadTemplate()
	if err != nil {
		t.Fatal(err)
	}
	if err := vault.SetMeta(ctx, due.Slug, secrets.RotatedMeta(tmpl.Names(), time.Now().Add(-100*24*time.Hour))); err != nil {
		t.Fatal(err)
	}
	if _, _, err := sessions.Create(ctx, due.ID, auth.SessionData{UserID: 1, Username: "a"}, auth.Policy{}); err != nil {
		t.Fatal(err)
	}
	before, err := vault.Read(ctx, due.Slug)
	if err != nil {
		t.Fatal(err)
	}
	interval := map[string]string{"PLATFORM_ROTATION_CHECK_INTERVAL": "50ms"}
	a, b := c.serve(t, interval), c.serve(t, interval)
	var rows int
	platformtest.Eventually(t, 30*time.Second, "the due tenant rotated by a replica", func() bool {
		err := c.cat.Pool().QueryRow(ctx, `SELECT count(*) FROM operator_audit WHERE action = 'secrets.rotate' AND source = 'scheduler'`).Scan(&rows)
		return err == nil && rows > 0
	})
	// Both replicas check a few more times: nothing is rotated again.
	ca, cb := a.rotator.Checks(), b.rotator.Checks()
	platformtest.Eventually(t, 30*time.Second, "three more checks on each replica", func() bool {
		return a.rotator.Checks() >= ca+3 && b.rotator.Checks() >= cb+3
	})
	after, err := vault.Read(ctx, due.Slug)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cat.Pool().QueryRow(ctx, `SELECT count(*) FROM operator_audit WHERE action = 'secrets.rotate'`).Scan(&rows); err != nil || rows != 1 {
		t.Errorf("%d secrets.rotate rows (%v), want 1", rows, err)
	}
	if after.Version != before.Version+2 || len(after.Pending) != 0 {
		t.Errorf("due tenant: Vault version %d → %d (want +2), pending %v", before.Version, after.Version, after.Pending)
	}
	if n := liveCount(t, sessions, due.ID); n != 0 {
		t.Errorf("%d sessions after the automatic rotation", n)
	}
	if f, err := vault.Read(ctx, fresh.Slug); err != nil || f.Version != 1 {
		t.Errorf("fresh tenant rotated: %v %v", f, err)
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/platform/provision"
	"github.com/tenancy/platform/tenant"
)

// The identity API through `platform serve` itself: what only a whole
// server shows (restarts, replicas sharing Redis). The API's behaviour in
// detail is tested in tenant/auth/authhttp.

// strongPassword passes the password policy (length and zxcvbn).
const strongPassword = "violeta-tranvía-Quillota-1987"

// createAdmin provisions a tenant and returns its slug and the one-time
// password of its first admin.
func (ts *testServer) createAdmin(t *testing.T, kind string) (slug, password string) {
	t.Helper()
	res, err := ts.svc.Create(context.Background(), provision.CreateRequest{Slug: platformtest.Slug(kind[:4]), Kind: kind, Name: "Serve " + kind})
	if err != nil {
		t.Fatal(err)
	}
	ts.await(t, res.Tenant.Slug)
	return res.Tenant.Slug, res.AdminPassword
}

// await waits until the server's resolver serves slug as active: the
// catalog's notification reaches it a moment after the creation.
func (ts *testServer) await(t *testing.T, slug string) {
	t.Helper()
	platformtest.Eventually(t, 10*time.Second, "tenant "+slug+" served", func() bool {
		tn := ts.resolver.Lookup(slug + ".localhost")
		return tn != nil && tn.Status == tenant.StatusActive
	})
}

// call sends a JSON request to the tenant listener as host, with a bearer
// token when token is not empty.
func (ts *testServer) call(t *testing.T, method, host, path, token string, body any) (int, map[string]any) {
	t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, err := http.NewRequest(method, ts.tenantURL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if len(b) > 0 {
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%s %s: not JSON: %q", method, path, b)
		}
	}
	return res.StatusCode, got
}

// loginAdmin logs the first admin in and changes its one-time password,
// and returns a token of a session that may do everything.
func (ts *testServer) loginAdmin(t *testing.T, host, otp string) string {
	t.Helper()
	code, body := ts.call(t, "POST", host, "/api/auth/login", "", map[string]string{"username": "admin", "password": otp})
	if code != 200 || body["must_change_password"] != true {
		t.Fatalf("first login: %d %v", code, body)
	}
	tok, _ := body["token"].(string)
	code, body = ts.call(t, "POST", host, "/api/auth/change-password", tok,
		map[string]string{"current_password": otp, "new_password": strongPassword})
	if code != 204 && code != 200 {
		t.Fatalf("change password: %d %v", code, body)
	}
	return tok
}

// TestServeSessionsSurviveRestart: a session lives in Redis, so a token
// issued by one `platform serve` is still good after it stops and another
// starts.
func TestServeSessionsSurviveRestart(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	ts := c.serve(t, nil)
	slug, otp := ts.createAdmin(t, "restaurant")
	host := slug + ".localhost"
	tok := ts.loginAdmin(t, host, otp)
	if code, body := ts.call(t, "GET", host, "/api/users", tok, nil); code != 200 {
		t.Fatalf("users before the restart: %d %v", code, body)
	}
	ts.stop()

	ts2 := c.serve(t, nil)
	code, body := ts2.call(t, "GET", host, "/api/me", tok, nil)
	if code != 200 {
		t.Fatalf("/api/me after the restart: %d %v", code, body)
	}
	if code, body := ts2.call(t, "GET", host, "/api/users", tok, nil); code != 200 {
		t.Fatalf("users after the restart: %d %v", code, body)
	}
	// Logging out on the new server ends the session for good.
	if code, body := ts2.call(t, "POST", host, "/api/auth/logout", tok, nil); code != 204 && code != 200 {
		t.Fatalf("logout: %d %v", code, body)
	}
	if code, body := ts2.call(t, "GET", host, "/api/me", tok, nil); code != 401 {
		t.Fatalf("/api/me after logout: %d %v", code, body)
	}
}

// TestServeLoginLimitAcrossReplicas: two replicas share Redis, so the 20
// logins of one client are 20 in all, whichever replica answers; another
// tenant's budget is its own. 20 per hour, not the default 20 per 60 s:
// the default refills one attempt every 3 s, and 20 attempts under -race
// on a loaded machine took 30 s (authhttp tests the default's refill).
func TestServeLoginLimitAcrossReplicas(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	limit := map[string]string{"PLATFORM_RATE_LIMIT_LOGIN": "20/1h"}
	a := c.serve(t, limit)
	b := c.serve(t, limit)
	slug, _ := a.createAdmin(t, "institution")
	other, otherOTP := a.createAdmin(t, "restaurant")
	b.await(t, slug)
	b.await(t, other)
	host := slug + ".localhost"
	wrong := map[string]string{"username": "nobody-" + platformtest.Rand(6), "password": "not the password at all"}
	for i := range 20 {
		ts := a
		if i%2 == 1 {
			ts = b
		}
		if code, body := ts.call(t, "POST", host, "/api/auth/login", "", wrong); code != 401 {
			t.Fatalf("attempt %d: %d %v, want 401", i+1, code, body)
		}
	}
	for _, ts := range []*testServer{a, b} {
		code, body := ts.call(t, "POST", host, "/api/auth/login", "", wrong)
		if code != 429 || errCode(body) != "rate_limited" {
			t.Fatalf("21st attempt: %d %v, want 429 rate_limited", code, body)
		}
	}
	// The other tenant, same client address: its own budget.
	if code, body := b.call(t, "POST", other+".localhost", "/api/auth/login", "", map[string]string{"username": "admin", "password": otherOTP}); code != 200 {
		t.Fatalf("login at another tenant: %d %v", code, body)
	}
}

// TestServeTenantSettings: `tenant settings` changes a tenant's session
// lifetime; every replica follows through the catalog's notifications, and
// bad settings are refused with the key named, changing nothing.
func TestServeTenantSettings(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	ts := c.serve(t, nil)
	slug, otp := ts.createAdmin(t, "restaurant")
	host := slug + ".localhost"
	if out := c.ok("tenant", "settings", slug); settingOf(out, "session_lifetime") != "8h (default)" {
		t.Fatalf("defaults:\n%s", out)
	}
	for _, bad := range [][]string{{"--set", "session_lifetime=forever"}, {"--set", "colour=red"}, {"--set", "session_idle=2h", "--set", "session_lifetime=1h"}, {"--unset", "nope"}} {
		if _, _, err := c.run(append([]string{"tenant", "settings", slug}, bad...)...); err == nil || !strings.Contains(err.Error(), strings.Split(bad[1], "=")[0]) {
			t.Errorf("settings %v: err %v, want one naming the key", bad, err)
		}
	}
	if out := c.ok("tenant", "settings", slug); settingOf(out, "session_idle") != "30m (default)" || settingOf(out, "session_lifetime") != "8h (default)" {
		t.Fatalf("refused settings changed something:\n%s", out)
	}
	out := c.ok("tenant", "settings", slug, "--set", "session_lifetime=1h", "--set", "secret_rotation_days=30", "-o", "json")
	if !strings.Contains(out, `"session_lifetime": "1h0m0s"`) || !strings.Contains(out, `"secret_rotation_days": 30`) {
		t.Fatalf("settings after set:\n%s", out)
	}
	// The resolver hears of it; a new session then lasts 1 h, not 8.
	platformtest.Eventually(t, 10*time.Second, "the new lifetime served", func() bool {
		tn := ts.resolver.Lookup(host)
		return tn != nil && tn.Settings["session_lifetime"] == "1h0m0s"
	})
	code, body := ts.call(t, "POST", host, "/api/auth/login", "", map[string]string{"username": "admin", "password": otp})
	if code != 200 {
		t.Fatalf("login: %d %v", code, body)
	}
	exp, err := time.Parse(time.RFC3339, body["expires_at"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if left := time.Until(exp); left > time.Hour+time.Minute || left < 50*time.Minute {
		t.Errorf("session expires in %s, want about 1h", left)
	}
	if out := c.ok("tenant", "settings", slug, "--unset", "session_lifetime"); settingOf(out, "session_lifetime") != "8h (default)" || settingOf(out, "secret_rotation_days") != "30" {
		t.Errorf("after unset:\n%s", out)
	}
}

// settingOf reads one setting's value from the table of `tenant settings`.
func settingOf(table, key string) string {
	for _, line := range strings.Split(table, "\n") {
		if rest, ok := strings.CutPrefix(line, key+" "); ok {
			return strings.TrimSpace(rest)
		}
	}
	return ""
}

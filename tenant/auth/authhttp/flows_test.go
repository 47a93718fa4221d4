package authhttp_test

import (
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/platform/secrets"
	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/auth"
	"github.com/tenancy/platform/tenant/auth/authhttp"
	"github.com/tenancy/platform/tenant/secretcache"
)

// A revoked session fails on its very next request; logout ends the
// server session (the token is dead, not only the cookie); deactivating a
// user ends its sessions.
func TestRevocationIsImmediate(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{})
	tn := h.tenant(t, tenant.Restaurant)
	c1 := h.admin(t, tn)
	c2 := h.clientOf(t, tn)
	c2.login(tn.AdminUsername, strongPassword).want(t, 200, "")
	c2.do("GET", "/api/me", nil).want(t, 200, "")

	var other string
	for _, s := range sessions(t, c1) {
		if s["current"] != true {
			other, _ = s["id"].(string)
		}
	}
	if other == "" {
		t.Fatal("the second session is not listed")
	}
	c1.do("DELETE", "/api/sessions/"+other, nil).want(t, 204, "")
	c2.do("GET", "/api/me", nil).want(t, 401, tenant.EUnauthenticated)
	if c2.cookie() != "" {
		t.Fatal("the revoked session's cookie is still in the jar: a 401 should clear it")
	}
	c1.do("DELETE", "/api/sessions/"+other, nil).want(t, 404, tenant.ENotFound)

	tok := c1.cookie()
	r := c1.do("POST", "/api/auth/logout", nil).want(t, 204, "")
	if sc := r.header.Get("Set-Cookie"); !strings.HasPrefix(sc, authhttp.CookieName+"=;") || !strings.Contains(strings.ToLower(sc), "expires=thu, 01 jan 1970") {
		t.Fatalf("logout cookie: %q", sc)
	}
	if c1.cookie() != "" {
		t.Fatal("the jar kept the cookie after logout")
	}
	c1.do("GET", "/api/me", nil, "Authorization", "Bearer "+tok).want(t, 401, tenant.EUnauthenticated)

	// Deactivation ends every session of the user.
	admin := h.clientOf(t, tn)
	admin.login(tn.AdminUsername, strongPassword).want(t, 200, "")
	id := h.user(t, admin, "dora", "", "staff")
	dora := h.clientOf(t, tn)
	dora.login("dora", strongPassword).want(t, 200, "")
	admin.do("PATCH", "/api/users/"+strconv.FormatInt(id, 10), map[string]any{"active": false}).want(t, 200, "")
	dora.do("GET", "/api/me", nil).want(t, 401, tenant.EUnauthenticated)
	dora.login("dora", strongPassword).want(t, 401, tenant.EInvalidCredentials)
}

// Cookie requests that change state need the session's CSRF token;
// bearer requests do not; reads never do.
func TestCSRF(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{})
	tn := h.tenant(t, tenant.Restaurant)
	admin := h.admin(t, tn)
	good := admin.csrf
	newUser := func(name string) map[string]any {
		return map[string]any{"username": name, "full_name": "N " + name, "password": strongPassword, "roles": []string{"staff"}}
	}

	admin.csrf = ""
	r := admin.do("POST", "/api/users", newUser("eva")).want(t, 403, tenant.EForbidden)
	if !strings.Contains(string(r.raw), "CSRF") {
		t.Fatalf("refusal does not say why: %s", r.raw)
	}
	admin.do("POST", "/api/users", newUser("eva"), authhttp.HeaderCSRF, "AAAA"+good[4:]).want(t, 403, tenant.EForbidden)
	admin.do("GET", "/api/users", nil).want(t, 200, "")
	// Another session's token is not this one's.
	other := h.clientOf(t, tn)
	other.login(tn.AdminUsername, strongPassword).want(t, 200, "")
	admin.do("POST", "/api/users", newUser("eva"), authhttp.HeaderCSRF, other.csrf).want(t, 403, tenant.EForbidden)
	admin.do("POST", "/api/users", newUser("eva"), authhttp.HeaderCSRF, good).want(t, 201, "")

	// The same token as a bearer, from a client without the cookie.
	bearer := h.clientOf(t, tn)
	bearer.bearer = admin.cookie()
	bearer.do("POST", "/api/users", newUser("fede")).want(t, 201, "")
	bearer.do("DELETE", "/api/users/999999", nil).want(t, 404, tenant.ENotFound)
}

// A user who must change the password may only change it, log out and
// read /api/me; a wrong current password is a field error.
func TestMustChangePassword(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{})
	tn := h.tenant(t, tenant.Institution)
	c := h.clientOf(t, tn)
	r := c.login(tn.AdminUsername, tn.AdminPassword).want(t, 200, "")
	if r.body["must_change_password"] != true {
		t.Fatalf("first admin: %s", r.raw)
	}
	c.do("GET", "/api/users", nil).want(t, 403, tenant.EPasswordChangeRequired)
	c.do("GET", "/api/sessions", nil).want(t, 403, tenant.EPasswordChangeRequired)
	c.do("GET", "/api/me", nil).want(t, 200, "")
	r = c.do("POST", "/api/auth/change-password", map[string]string{"current_password": "not it at all", "new_password": strongPassword}).
		want(t, 422, tenant.EValidation)
	if r.fields["current_password"] == nil {
		t.Fatalf("fields: %s", r.raw)
	}
	r = c.do("POST", "/api/auth/change-password", map[string]string{"current_password": tn.AdminPassword, "new_password": "short"}).
		want(t, 422, tenant.EValidation)
	if r.fields["new_password"] == nil {
		t.Fatalf("fields: %s", r.raw)
	}
	c.do("POST", "/api/auth/change-password", map[string]string{"current_password": tn.AdminPassword, "new_password": strongPassword}).want(t, 204, "")
	c.do("GET", "/api/users", nil).want(t, 200, "")
	if me := c.do("GET", "/api/me", nil); me.body["user"].(map[string]any)["must_change_password"] != false {
		t.Fatalf("me after the change: %s", me.raw)
	}
	// The gate holds for other routes through Authenticate too, and logout
	// is allowed while the password must change.
	c2 := h.clientOf(t, tn)
	id := h.user(t, c, "gil", "", "teacher")
	c.do("PATCH", "/api/users/"+strconv.FormatInt(id, 10), map[string]any{"must_change_password": true}).want(t, 200, "")
	c2.login("gil", strongPassword).want(t, 200, "")
	c2.do("GET", "/api/sessions", nil).want(t, 403, tenant.EPasswordChangeRequired)
	c2.do("POST", "/api/auth/logout", nil).want(t, 204, "")
}

var tokenRE = regexp.MustCompile(`token=([A-Za-z0-9_-]{20,})`)

// A user asks for a reset (202, as for an unknown user), reads the mail
// in Mailpit, sets a new password with the token (which ends the user's
// sessions and does not log in), and the token cannot be used twice. An
// admin-issued token works the same way.
func TestPasswordResetByMail(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{})
	tn := h.tenant(t, tenant.Restaurant)
	admin := h.admin(t, tn)
	email := "reset-" + platformtest.Rand(10) + "@example.test"
	id := h.user(t, admin, "hugo", email, "staff")
	hugo := h.clientOf(t, tn)
	hugo.login("hugo", strongPassword).want(t, 200, "")

	anon := h.clientOf(t, tn)
	anon.do("POST", "/api/auth/password-reset", map[string]string{"username": "nobody-" + platformtest.Rand(6)}).want(t, 202, "")
	anon.do("POST", "/api/auth/password-reset", map[string]string{"username": "hugo"}).want(t, 202, "")
	msg := platformtest.WaitMail(t, platformtest.MailpitURL(t), email, 20*time.Second)
	m := tokenRE.FindStringSubmatch(msg.Text)
	if m == nil {
		t.Fatalf("no token link in the mail: %q", msg.Text)
	}
	if !strings.Contains(msg.Text, "http://"+tn.Slug+".localhost") {
		t.Errorf("the link is not on the tenant's host: %q", msg.Text)
	}
	const newPassword = "a brand new password, 2026!"
	r := anon.do("POST", "/api/auth/password-reset/confirm", map[string]string{"token": m[1], "new_password": newPassword}).want(t, 204, "")
	if r.header.Get("Set-Cookie") != "" {
		t.Fatal("confirm logged the user in")
	}
	hugo.do("GET", "/api/me", nil).want(t, 401, tenant.EUnauthenticated)
	r = anon.do("POST", "/api/auth/password-reset/confirm", map[string]string{"token": m[1], "new_password": "yet another new password 77"}).
		want(t, 422, tenant.EValidation)
	if r.fields["token"] == nil {
		t.Fatalf("reuse: %s", r.raw)
	}
	hugo.login("hugo", strongPassword).want(t, 401, tenant.EInvalidCredentials)
	hugo.login("hugo", newPassword).want(t, 200, "")

	// Issued by an admin, shown once.
	r = admin.do("POST", "/api/users/"+strconv.FormatInt(id, 10)+"/password-reset", nil).want(t, 201, "")
	if r.str("token") == "" || r.str("expires_at") == "" || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("issued reset: %s %v", r.raw, r.header)
	}
	anon.do("POST", "/api/auth/password-reset/confirm", map[string]string{"token": r.str("token"), "new_password": strongPassword + " again"}).want(t, 204, "")
	hugo.do("GET", "/api/me", nil).want(t, 401, tenant.EUnauthenticated)
	hugo.login("hugo", strongPassword+" again").want(t, 200, "")
}

type limited struct {
	allowed int           // answered before the 429
	took    time.Duration // from the first attempt to the 429
	at      time.Time     // of the 429
	r       resp          // the 429
}

// untilLimited sends failing logins from the clients in turn until one
// is refused with 429.
func untilLimited(t *testing.T, cs ...*client) limited {
	t.Helper()
	start := time.Now()
	for i := range 60 {
		r := cs[i%len(cs)].login("nobody"+strconv.Itoa(i), "wrong password")
		switch r.status {
		case 429:
			return limited{allowed: i, took: time.Since(start), at: time.Now(), r: r.want(t, 429, tenant.ERateLimited)}
		case 401:
		default:
			t.Fatalf("attempt %d: %d %s", i+1, r.status, r.raw)
		}
	}
	t.Fatal("never limited")
	return limited{}
}

// stillLimited checks that r, sent right after untilLimited, was refused
// too, unless the next GCRA slot (3 s) came meanwhile on a slow machine.
func (l limited) still(t *testing.T, r resp) {
	t.Helper()
	if r.code != tenant.ERateLimited && time.Since(l.at) < 3*time.Second {
		t.Fatalf("not limited %s after the 429: %d %s", time.Since(l.at), r.status, r.raw)
	}
}

// wantBurst checks a 20-per-60-s limit: 20 allowed at once, and one more
// for each 3 s the attempts took (GCRA), so a slow machine cannot make
// the test pass or fail by timing.
func (l limited) wantBurst(t *testing.T) {
	t.Helper()
	if l.allowed < 20 || l.allowed > 20+int(l.took/(3*time.Second)) {
		t.Fatalf("%d logins allowed in %s before the 429, want 20 (+1 per 3 s)", l.allowed, l.took)
	}
}

// The 21st login from one address in 60 s is 429 with Retry-After (the
// default limit); the same address at another tenant is not limited.
func TestLoginRateLimit(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{})
	a := h.tenant(t, tenant.Restaurant)
	b := h.tenant(t, tenant.Restaurant)
	ca := h.clientOf(t, a)
	l := untilLimited(t, ca)
	l.wantBurst(t)
	if s, err := strconv.Atoi(l.r.header.Get("Retry-After")); err != nil || s < 1 || s > 60 {
		t.Fatalf("Retry-After %q", l.r.header.Get("Retry-After"))
	}
	l.still(t, ca.login(a.AdminUsername, a.AdminPassword)) // the right password too
	l.still(t, ca.do("POST", "/api/auth/password-reset", map[string]string{"username": "x"}))
	cb := h.clientOf(t, b)
	cb.ip = ca.ip
	cb.login(b.AdminUsername, b.AdminPassword).want(t, 200, "")
	// Another address at the same tenant is not limited either.
	h.clientOf(t, a).login(a.AdminUsername, a.AdminPassword).want(t, 200, "")
}

// Two replicas sharing Redis share the limit: logins alternating between
// them are refused after 20 in all (40 if each counted alone); and a
// session made at one is valid at the other (a restart is a replica that
// comes later).
func TestLimitAndSessionsAcrossReplicas(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{})
	tn := h.tenant(t, tenant.Restaurant)
	addr2, _, _ := h.serve(t)
	c1 := h.clientOf(t, tn)
	c2 := clientAt(t, addr2, tn.Slug+".localhost")
	c2.ip = c1.ip
	l := untilLimited(t, c1, c2)
	l.wantBurst(t)
	l.still(t, c1.login(tn.AdminUsername, tn.AdminPassword))
	l.still(t, c2.login(tn.AdminUsername, tn.AdminPassword))

	c3 := h.clientOf(t, tn)
	tok := c3.login(tn.AdminUsername, tn.AdminPassword).want(t, 200, "").str("token")
	c4 := clientAt(t, addr2, tn.Slug+".localhost")
	c4.bearer = tok
	c4.do("GET", "/api/me", nil).want(t, 200, "")
}

// Authenticated requests count against the default limit in the session
// check itself.
func TestDefaultRateLimit(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{defaultLimit: auth.Limit{Rate: 5, Period: time.Hour}}) // one more each 12 min: no timing
	tn := h.tenant(t, tenant.Restaurant)
	c := h.admin(t, tn) // one request: change-password
	for range 4 {
		c.do("GET", "/api/me", nil).want(t, 200, "")
	}
	r := c.do("GET", "/api/me", nil).want(t, 429, tenant.ERateLimited)
	if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 1 {
		t.Fatalf("Retry-After %q", r.header.Get("Retry-After"))
	}
}

// deadAddr is a loopback port nothing listens on.
func deadAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// Redis down: 503 unavailable for login (with and without the login
// limit in front) and for authenticated requests, never 500, never a
// login without a session.
func TestRedisDown(t *testing.T) {
	t.Parallel()
	for _, lim := range []auth.Limit{{}, {Rate: -1}} {
		h := newHarness(t, options{redisURL: "redis://" + deadAddr(t) + "/0", loginLimit: lim})
		tn := h.tenant(t, tenant.Restaurant)
		c := h.clientOf(t, tn)
		r := c.login(tn.AdminUsername, tn.AdminPassword).want(t, 503, tenant.EUnavailable)
		if r.header.Get("Set-Cookie") != "" {
			t.Fatal("a cookie without a session")
		}
		tok, err := auth.IssueToken([]byte(tn.Secrets["jwt_secret"]), tn.ID, "a-session-that-cannot-be-checked", time.Now().Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		c.bearer = tok
		c.do("GET", "/api/me", nil).want(t, 503, tenant.EUnavailable)
	}
}

// Vault unreachable (and nothing cached): 503 tenant_unavailable, the
// cause in the access log only.
func TestSecretsUnavailable(t *testing.T) {
	t.Parallel()
	vc, err := secrets.NewClient("http://"+deadAddr(t), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, options{secrets: secretcache.New(secrets.NewStore(vc, ""), secretcache.Config{})})
	tn := h.tenant(t, tenant.Restaurant)
	c := h.clientOf(t, tn)
	c.login(tn.AdminUsername, tn.AdminPassword).want(t, 503, tenant.ETenantUnavailable)
	c.bearer = "x.y.z"
	c.do("GET", "/api/me", nil).want(t, 503, tenant.ETenantUnavailable)
	if lines := h.logs.Lines(t, "request"); len(lines) == 0 || lines[len(lines)-1]["cause"] == nil {
		t.Fatalf("no cause in the access log: %v", lines)
	}
}

// The audit query: filters, keyset pages, admins only, bad parameters.
func TestAuditQuery(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{})
	tn := h.tenant(t, tenant.Restaurant)
	admin := h.admin(t, tn)
	h.user(t, admin, "ines", "", "staff")
	ines := h.clientOf(t, tn)
	for range 3 {
		ines.login("ines", strongPassword).want(t, 200, "")
	}
	failed := ines.login("ines", "wrong password").want(t, 401, tenant.EInvalidCredentials)

	r := admin.do("GET", "/api/audit?actor=ines&action=login.success", nil).want(t, 200, "")
	entries, _ := r.body["entries"].([]any)
	if len(entries) != 3 {
		t.Fatalf("ines's logins: %s", r.raw)
	}
	for _, e := range entries {
		e := e.(map[string]any)
		if e["action"] != "login.success" || e["actor"] != "ines" || e["outcome"] != "success" || e["user_agent"] != "authhttp-test" || e["ip"] != ines.ip {
			t.Fatalf("entry %v", e)
		}
	}
	// Pages of one, newest first, no duplicates.
	seen := map[float64]bool{}
	last := float64(1 << 62)
	cursor := ""
	for page := 0; ; page++ {
		q := "/api/audit?actor=ines&limit=1"
		if cursor != "" {
			q += "&cursor=" + cursor
		}
		r := admin.do("GET", q, nil).want(t, 200, "")
		es, _ := r.body["entries"].([]any)
		if len(es) > 1 {
			t.Fatalf("page of %d", len(es))
		}
		for _, e := range es {
			id := e.(map[string]any)["id"].(float64)
			if seen[id] || id >= last {
				t.Fatalf("id %v after %v", id, last)
			}
			seen[id], last = true, id
		}
		cursor = r.str("next_cursor")
		if cursor == "" {
			break
		}
		if page > 10 {
			t.Fatal("endless pages")
		}
	}
	r = admin.do("GET", "/api/audit?actor=ines&action=login.failure", nil).want(t, 200, "")
	if es, _ := r.body["entries"].([]any); len(es) != 1 || es[0].(map[string]any)["request_id"] != failed.header.Get("X-Request-Id") {
		t.Fatalf("the failure's row does not carry its request id %q: %s", failed.header.Get("X-Request-Id"), r.raw)
	}
	if len(seen) != 4 {
		t.Fatalf("ines has %d audit rows, want 4 (3 logins, 1 failure)", len(seen))
	}
	r = admin.do("GET", "/api/audit?limit=abc&from=yesterday", nil).want(t, 422, tenant.EValidation)
	if r.fields["limit"] == nil || r.fields["from"] == nil {
		t.Fatalf("fields: %s", r.raw)
	}
	ines.do("GET", "/api/audit", nil).want(t, 403, tenant.EForbidden)
	h.clientOf(t, tn).do("GET", "/api/audit", nil).want(t, 401, tenant.EUnauthenticated)
}

// Security headers on every response of a tenant host, a 404 included;
// HSTS only over TLS (a trusted proxy's X-Forwarded-Proto); CORS for the
// tenant's own hosts only.
func TestSecurityHeadersAndCORS(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{})
	a := h.tenant(t, tenant.Restaurant)
	b := h.tenant(t, tenant.Institution)
	c := h.clientOf(t, a)
	r := c.do("GET", "/no/such/route", nil).want(t, 404, "route_not_found")
	if r.header.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(r.header.Get("Content-Security-Policy"), "frame-ancestors 'none'") ||
		r.header.Get("Referrer-Policy") == "" {
		t.Fatalf("headers of a 404: %v", r.header)
	}
	if r.header.Get("Strict-Transport-Security") != "" {
		t.Fatal("HSTS over plain HTTP")
	}
	r = c.do("GET", "/api/me", nil, "X-Forwarded-Proto", "https").want(t, 401, tenant.EUnauthenticated)
	if !strings.HasPrefix(r.header.Get("Strict-Transport-Security"), "max-age=") {
		t.Fatalf("no HSTS behind a TLS proxy: %v", r.header)
	}
	// Behind the TLS proxy the cookie is Secure; it is host-only always.
	r = c.do("POST", "/api/auth/login", map[string]string{"username": a.AdminUsername, "password": a.AdminPassword}, "X-Forwarded-Proto", "https").want(t, 200, "")
	sc := strings.ToLower(r.header.Get("Set-Cookie"))
	for _, want := range []string{"httponly", "samesite=lax", "path=/", "secure", "expires="} {
		if !strings.Contains(sc, want) {
			t.Errorf("cookie %q lacks %s", sc, want)
		}
	}
	if strings.Contains(sc, "domain") {
		t.Errorf("cookie %q names a domain", sc)
	}

	own := "http://" + a.Slug + ".localhost:8080"
	r = c.do("GET", "/api/me", nil, "Origin", own)
	if r.header.Get("Access-Control-Allow-Origin") != own || r.header.Get("Access-Control-Allow-Credentials") != "true" {
		t.Fatalf("own origin: %v", r.header)
	}
	other := "http://" + b.Slug + ".localhost"
	r = c.do("GET", "/api/me", nil, "Origin", other)
	if r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("other tenant's origin allowed: %v", r.header)
	}
	r = c.do("OPTIONS", "/api/users", nil, "Origin", other, "Access-Control-Request-Method", "POST")
	if r.status != 403 || r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("preflight from another tenant: %d %v", r.status, r.header)
	}
	r = c.do("OPTIONS", "/api/users", nil, "Origin", own, "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "X-CSRF-Token")
	if r.status != http.StatusNoContent || r.header.Get("Access-Control-Allow-Origin") != own {
		t.Fatalf("preflight from the own host: %d %v", r.status, r.header)
	}
}

// Bodies are decoded strictly; ids in paths are positive integers.
func TestStrictInput(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{})
	tn := h.tenant(t, tenant.Restaurant)
	c := h.clientOf(t, tn)
	r := c.do("POST", "/api/auth/login", map[string]any{"username": "a", "password": "b", "remember": true}).want(t, 422, tenant.EValidation)
	if r.fields["remember"] == nil {
		t.Fatalf("unknown field: %s", r.raw)
	}
	r = c.do("POST", "/api/auth/login", map[string]any{"username": 5, "password": "b"}).want(t, 422, tenant.EValidation)
	if r.fields["username"] == nil {
		t.Fatalf("wrong type: %s", r.raw)
	}
	c.do("POST", "/api/auth/login", `{"username":`).want(t, 400, tenant.EInvalid)
	c.do("POST", "/api/auth/login", `{"username":"a","password":"b"} {}`).want(t, 400, tenant.EInvalid)
	c.do("POST", "/api/auth/login", `["a"]`).want(t, 400, tenant.EInvalid)
	c.do("POST", "/api/auth/login", `username=a&password=b`, "Content-Type", "application/x-www-form-urlencoded").want(t, 400, tenant.EInvalid)
	c.do("POST", "/api/auth/login", `{"username":"a","password":"b"}`, "Content-Type", "text/plain").want(t, 400, tenant.EInvalid)
	c.do("POST", "/api/auth/login", `{"username":"a","password":"b"}`, "Content-Type", "").want(t, 400, tenant.EInvalid)
	c.do("POST", "/api/auth/login", `{"username":"","password":""}`, "Content-Type", "application/json; charset=utf-8").want(t, 422, tenant.EValidation)

	admin := h.admin(t, tn)
	for _, p := range []string{"abc", "0", "-1", "+1", "1e3", "99999999999999999999", "999999"} {
		if r := admin.do("GET", "/api/users/"+p, nil); r.status != 404 || r.code != tenant.ENotFound {
			t.Errorf("/api/users/%s: %d %s", p, r.status, r.raw)
		}
	}
	admin.do("DELETE", "/api/sessions/not-a-handle", nil).want(t, 404, tenant.ENotFound)
	r = admin.do("POST", "/api/users", map[string]any{"username": "jo", "full_name": "Jo", "password": strongPassword, "roles": []string{"no-such-role"}}).
		want(t, 422, tenant.EValidation)
	if r.fields["roles"] == nil {
		t.Fatalf("unknown role: %s", r.raw)
	}
}

// A role change reaches the user's live sessions at once (no new login);
// nobody deletes themselves or demotes the last admin (409).
func TestRoleChangesAndLastAdmin(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{})
	tn := h.tenant(t, tenant.Restaurant)
	admin := h.admin(t, tn)
	id := h.user(t, admin, "mara", "", "manager")
	mara := h.clientOf(t, tn)
	mara.login("mara", strongPassword).want(t, 200, "")
	mara.do("GET", "/api/audit", nil).want(t, 200, "")
	r := admin.do("PATCH", "/api/users/"+strconv.FormatInt(id, 10), map[string]any{"roles": []string{"staff"}}).want(t, 200, "")
	if roles, _ := r.body["roles"].([]any); len(roles) != 1 || roles[0] != "staff" {
		t.Fatalf("patched roles: %s", r.raw)
	}
	mara.do("GET", "/api/audit", nil).want(t, 403, tenant.EForbidden)

	me := admin.do("GET", "/api/me", nil).want(t, 200, "")
	self := strconv.FormatInt(int64(me.body["user"].(map[string]any)["id"].(float64)), 10)
	admin.do("DELETE", "/api/users/"+self, nil).want(t, 409, tenant.EConflict)
	admin.do("PATCH", "/api/users/"+self, map[string]any{"roles": []string{"staff"}}).want(t, 409, tenant.EConflict)
	admin.do("PATCH", "/api/users/"+self, map[string]any{"active": false}).want(t, 409, tenant.EConflict)
	admin.do("GET", "/api/users?role=owner", nil).want(t, 200, "")
	admin.do("GET", "/api/users?active=maybe&limit=0", nil).want(t, 422, tenant.EValidation)
}

package opconsole_test

import (
	"crypto/sha256"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tenancy/platform/platform/catalog"
	"github.com/tenancy/platform/platform/opconsole"
	"github.com/tenancy/platform/tenant"
)

// TestLoginRefusals: an empty or wrong token is a form error (422, 401)
// audited like the API's failures; past the limit the address gets 429
// with Retry-After, from the console and from the API alike (one count);
// a login from a foreign origin is refused before the token is looked at.
func TestLoginRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t, options{failLimit: 3})
	c := e.client(t)
	page := c.get("/login").want(t, 200)
	if !strings.Contains(page.Body, `type="password" autocomplete="off"`) || page.Header.Get("Cache-Control") != "no-store" ||
		page.Header.Get("Content-Security-Policy") != opconsole.CSP {
		t.Fatalf("login page: %v %s", page.Header, page.Body)
	}
	r := c.post("/login", url.Values{"token": {""}}).want(t, 422)
	if !strings.Contains(r.Body, `aria-describedby="err-token"`) || !strings.Contains(r.Body, "Escribe el token de operador.") {
		t.Errorf("empty token: %s", r.Body)
	}
	r = c.do("POST", "/login", url.Values{"token": {testToken}}, "Origin", "http://evil.example").want(t, 403)
	if c.cookie(opconsole.SessionCookie) != "" {
		t.Fatal("a foreign origin got a session")
	}
	for i := range 3 {
		r = c.post("/login", url.Values{"token": {testToken + "x"}}).want(t, 401)
		if !strings.Contains(r.Body, "El token de operador no es correcto.") || strings.Contains(r.Body, testToken) {
			t.Fatalf("wrong token %d: %s", i, r.Body)
		}
	}
	r = c.post("/login", url.Values{"token": {testToken}}).want(t, 429)
	if r.Header.Get("Retry-After") == "" || c.cookie(opconsole.SessionCookie) != "" {
		t.Fatalf("past the limit: %v, cookie %q", r.Header, c.cookie(opconsole.SessionCookie))
	}
	if code := e.api(t, "GET", "/v1/tenants", testToken); code != 429 {
		t.Errorf("the API from the same address: %d, want 429", code)
	}
	rows := e.audit(t, "auth")
	if len(rows) == 0 || rows[0] != "console:anonymous console failed" {
		t.Errorf("auth audit rows %q", rows)
	}
}

// TestSessionLifecycle: the cookie's flags; only the id's hash is stored;
// no page holds the token or the id; idle and absolute expiry by the
// console's clock; logout ends the session server-side; a changed token
// ends every session.
func TestSessionLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t, options{})
	c := e.client(t)
	r := c.post("/login", url.Values{"token": {testToken}}).want(t, 303)
	sc := r.Header.Get("Set-Cookie")
	for _, want := range []string{"op_session=", "HttpOnly", "SameSite=Strict", "path=/"} {
		if !strings.Contains(sc, want) {
			t.Errorf("Set-Cookie %q lacks %s", sc, want)
		}
	}
	if strings.Contains(sc, "Secure") {
		t.Errorf("Secure over plain HTTP: %q", sc)
	}
	id := c.cookie(opconsole.SessionCookie)
	if len(id) != 43 || e.sessionRows(t, id) != 1 {
		t.Fatalf("session id %d chars, rows %d", len(id), e.sessionRows(t, id))
	}
	var raw int
	if err := e.te.Catalog.Pool().QueryRow(e.te.Ctx, `SELECT count(*) FROM operator_sessions WHERE id_hash = $1`, []byte(id)).Scan(&raw); err != nil || raw != 0 {
		t.Fatalf("the id itself stored: %d %v", raw, err)
	}
	if rows := e.audit(t, "console.login"); len(rows) != 1 || rows[0] != "console:"+e.ops.Fingerprint()+" console succeeded" {
		t.Errorf("login audit %q", rows)
	}
	for _, path := range []string{"/tenants", "/tenants/new", "/migrations"} {
		body := c.get(path).want(t, 200).Body
		if strings.Contains(body, testToken) || strings.Contains(body, id) {
			t.Errorf("%s holds the token or the session id", path)
		}
	}

	// Idle: a request every 20 minutes keeps it; 31 minutes without one ends it.
	for range 3 {
		e.clock.Add(20 * time.Minute)
		c.get("/tenants").want(t, 200)
	}
	e.clock.Add(31 * time.Minute)
	if r := c.get("/tenants"); r.Status != 303 || r.Location != "/login" {
		t.Fatalf("after 31 idle minutes: %d %s", r.Status, r.Location)
	}
	if e.sessionRows(t, id) != 0 {
		t.Error("the idle session's row is still there")
	}

	// Absolute: 8 hours, however busy.
	c.login(testToken)
	id = c.cookie(opconsole.SessionCookie)
	for range 23 { // 7 h 40 min
		e.clock.Add(20 * time.Minute)
		c.get("/tenants").want(t, 200)
	}
	e.clock.Add(20 * time.Minute)
	if r := c.get("/tenants"); r.Status != 303 || e.sessionRows(t, id) != 0 {
		t.Fatalf("after 8 hours: %d, rows %d", r.Status, e.sessionRows(t, id))
	}

	// Logout deletes the row: the old cookie, replayed, opens nothing.
	tok := c.login(testToken)
	id = c.cookie(opconsole.SessionCookie)
	c.post("/logout", url.Values{"csrf": {tok}}).want(t, 303)
	if e.sessionRows(t, id) != 0 {
		t.Fatal("logout left the session's row")
	}
	replay := e.client(t)
	replay.hc.Jar.SetCookies(mustURL(t, e.base), []*http.Cookie{{Name: opconsole.SessionCookie, Value: id}})
	if r := replay.get("/tenants"); r.Status != 303 || r.Location != "/login" {
		t.Fatalf("replayed cookie after logout: %d %s", r.Status, r.Location)
	}

	// A new operator token (a replica restarted with it, same catalog).
	c.login(testToken)
	id = c.cookie(opconsole.SessionCookie)
	rotated := newEnvOn(t, e.te, options{token: testToken + "-rotated"})
	c2 := rotated.client(t)
	c2.hc.Jar.SetCookies(mustURL(t, rotated.base), []*http.Cookie{{Name: opconsole.SessionCookie, Value: id}})
	if r := c2.get("/tenants"); r.Status != 303 || r.Location != "/login" || rotated.sessionRows(t, id) != 0 {
		t.Fatalf("session of the old token: %d %s", r.Status, r.Location)
	}
}

// TestCSRF: a form without its token, with another session's, or a
// switch from a foreign origin is refused 403 and changes nothing.
func TestCSRF(t *testing.T) {
	t.Parallel()
	e := newEnv(t, options{})
	tn := e.te.Create(t, tenant.Restaurant)
	c := e.client(t)
	tok := c.login(testToken)
	other := e.client(t)
	otherTok := other.login(testToken)
	if otherTok == tok {
		t.Fatal("two sessions share a form token")
	}
	for name, v := range map[string]url.Values{"none": {}, "wrong": {"csrf": {otherTok}}, "garbage": {"csrf": {"x"}}} {
		r := c.post("/tenants/"+tn.Slug+"/suspend", v).want(t, 403)
		if !strings.Contains(r.Body, "El formulario expiró") {
			t.Errorf("%s: %s", name, r.Body)
		}
	}
	if got, err := e.te.Catalog.TenantBySlug(e.te.Ctx, tn.Slug); err != nil || got.Status != tenant.StatusActive {
		t.Fatalf("after refused suspends: %v %v", got.Status, err)
	}
	anon := e.client(t)
	anon.do("POST", "/lang", url.Values{"lang": {"en"}, "next": {"/login"}}, "Origin", "http://evil.example").want(t, 403)
	if anon.cookie("lang") != "" {
		t.Error("a foreign origin set the language")
	}
	anon.post("/lang", url.Values{"lang": {"en"}, "next": {"//evil.example"}}).want(t, 303)
	if anon.cookie("lang") != "en" {
		t.Error("the switch did not set the language")
	}
	if r := anon.get("/login"); !strings.Contains(r.Body, "Operator sign-in") {
		t.Errorf("English login: %s", r.Body)
	}
	// Logged in, the switch wants the session's token.
	c.post("/lang", url.Values{"lang": {"en"}, "next": {"/tenants"}}).want(t, 403)
	if r := c.post("/lang", url.Values{"csrf": {tok}, "lang": {"en"}, "next": {"/tenants"}}).want(t, 303); r.Location != "/tenants" {
		t.Errorf("switch back to %q", r.Location)
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestBehindTLSProxy: behind a trusted proxy that says https, the
// session cookie is Secure and the origin check wants https.
func TestBehindTLSProxy(t *testing.T) {
	t.Parallel()
	e := newEnv(t, options{tlsProxy: true})
	c := e.client(t)
	httpsOrigin := "https://" + e.addr
	c.do("POST", "/login", url.Values{"token": {testToken}}, "X-Forwarded-Proto", "https", "Origin", e.base).want(t, 403)
	r := c.do("POST", "/login", url.Values{"token": {testToken}}, "X-Forwarded-Proto", "https", "Origin", httpsOrigin).want(t, 303)
	if sc := r.Header.Get("Set-Cookie"); !strings.Contains(sc, "op_session=") || !strings.Contains(sc, "secure") {
		t.Errorf("Set-Cookie behind TLS: %q", sc)
	}
}

// TestPages404: an unknown page is an HTML 404; an unknown API path stays
// JSON.
func TestPages404(t *testing.T) {
	t.Parallel()
	e := newEnv(t, options{})
	c := e.client(t)
	r := c.get("/nowhere").want(t, 404)
	if !strings.Contains(r.Header.Get("Content-Type"), "text/html") || r.Header.Get("Content-Security-Policy") != opconsole.CSP {
		t.Errorf("unknown page: %v", r.Header)
	}
	r = c.do("GET", "/v1/nowhere", nil, "Authorization", "Bearer "+testToken).want(t, 404)
	if !strings.Contains(r.Header.Get("Content-Type"), "application/json") {
		t.Errorf("unknown API path: %v %s", r.Header, r.Body)
	}
	c.get("/static/console.css").want(t, 200)
	c.get("/static/nothing.css").want(t, 404)
}

// TestSessionAcrossReplicasAndTouch: a session opened on one replica
// works on another (the catalog holds it; the form token is derived from
// the operator token, not from a replica's key); last activity is written
// at most once a minute; a login sweeps ended sessions.
func TestSessionAcrossReplicasAndTouch(t *testing.T) {
	t.Parallel()
	a := newEnv(t, options{})
	b := newEnvOn(t, a.te, options{})
	tn := a.te.Create(t, tenant.Restaurant)
	ca := a.client(t)
	tok := ca.login(testToken)
	id := ca.cookie(opconsole.SessionCookie)
	cb := b.client(t)
	cb.hc.Jar.SetCookies(mustURL(t, b.base), []*http.Cookie{{Name: opconsole.SessionCookie, Value: id}})
	if got := csrf(t, cb.get("/tenants").want(t, 200).Body); got != tok {
		t.Fatalf("replica b's form token differs")
	}
	cb.post("/tenants/"+tn.Slug+"/suspend", url.Values{"csrf": {tok}}).want(t, 303)

	lastSeen := func() time.Time {
		t.Helper()
		h := sha256.Sum256([]byte(id))
		s, err := a.te.Catalog.OperatorSession(a.te.Ctx, h[:])
		if err != nil {
			t.Fatal(err)
		}
		return s.LastSeenAt
	}
	before := lastSeen()
	a.clock.Add(30 * time.Second)
	ca.get("/tenants").want(t, 200)
	if !lastSeen().Equal(before) {
		t.Error("last activity written within the minute")
	}
	a.clock.Add(31 * time.Second)
	ca.get("/tenants").want(t, 200)
	if got := lastSeen(); !got.After(before) {
		t.Errorf("last activity not written after a minute: %v, was %v", got, before)
	}

	// An ended session left in the table goes at the next login.
	stale := sha256.Sum256([]byte("stale"))
	now := a.clock.Now()
	if err := a.te.Catalog.CreateOperatorSession(a.te.Ctx, catalog.OperatorSession{IDHash: stale[:], TokenFP: a.ops.Fingerprint(),
		CreatedAt: now.Add(-9 * time.Hour), LastSeenAt: now.Add(-time.Hour), ExpiresAt: now.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	a.client(t).login(testToken)
	if _, err := a.te.Catalog.OperatorSession(a.te.Ctx, stale[:]); tenant.ErrorCode(err) != tenant.ENotFound {
		t.Errorf("the ended session survived a login: %v", err)
	}
}

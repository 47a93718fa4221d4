package authhttp_test

import (
	"encoding/base64"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/auth"
	"github.com/tenancy/platform/tenant/auth/authhttp"
)

// Two users of one tenant logged in at once from two clients (cookie
// jars); each sees itself, the admin's panel lists both sessions, the
// other user only its own, the current one marked.
func TestTwoUsersAtOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{})
	tn := h.tenant(t, tenant.Restaurant)
	admin := h.admin(t, tn)
	h.user(t, admin, "ana", "", "staff")

	ana := h.clientOf(t, tn)
	r := ana.login("ANA", strongPassword).want(t, 200, "") // case-insensitive
	if r.str("token") == "" || r.str("csrf_token") == "" || r.body["must_change_password"] != false || r.str("expires_at") == "" {
		t.Fatalf("login answer: %s", r.raw)
	}
	if u, _ := r.body["user"].(map[string]any); u["username"] != "ana" {
		t.Fatalf("login user: %s", r.raw)
	}
	if ana.cookie() != r.str("token") {
		t.Fatalf("the session cookie is not the token")
	}
	// Both at once, each as itself.
	done := make(chan string, 2)
	for _, c := range []*client{admin, ana} {
		go func() {
			for range 5 {
				me := c.do("GET", "/api/me", nil)
				if me.status != 200 {
					done <- "status " + strconv.Itoa(me.status)
					return
				}
				u, _ := me.body["user"].(map[string]any)
				if name, _ := u["username"].(string); name == "" {
					done <- "no user"
					return
				}
			}
			done <- ""
		}()
	}
	for range 2 {
		if msg := <-done; msg != "" {
			t.Fatal(msg)
		}
	}
	if u, _ := ana.do("GET", "/api/me", nil).body["user"].(map[string]any); u["username"] != "ana" {
		t.Fatalf("ana's /api/me: %v", u)
	}
	if u, _ := admin.do("GET", "/api/me", nil).body["user"].(map[string]any); u["username"] != tn.AdminUsername {
		t.Fatalf("admin's /api/me: %v", u)
	}

	all := sessions(t, admin)
	if len(all) != 2 {
		t.Fatalf("admin sees %d sessions, want 2: %v", len(all), all)
	}
	own := sessions(t, ana)
	if len(own) != 1 || own[0]["current"] != true || own[0]["username"] != "ana" {
		t.Fatalf("ana sees %v", own)
	}
}

func sessions(t *testing.T, c *client) []map[string]any {
	t.Helper()
	r := c.do("GET", "/api/sessions", nil).want(t, 200, "")
	list, _ := r.body["sessions"].([]any)
	out := make([]map[string]any, 0, len(list))
	for _, s := range list {
		out = append(out, s.(map[string]any))
	}
	return out
}

// The 5th failure locks; the 6th attempt with the right password is 423;
// a non-admin may not unlock (403); an admin's unlock lets the user in.
func TestLockoutAndUnlock(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{})
	tn := h.tenant(t, tenant.Institution)
	admin := h.admin(t, tn)
	id := h.user(t, admin, "bruno", "", "teacher")
	h.user(t, admin, "carla", "", "academic")

	b := h.clientOf(t, tn)
	for i := 1; i <= 4; i++ {
		b.login("bruno", "wrong password "+strconv.Itoa(i)).want(t, 401, tenant.EInvalidCredentials)
	}
	b.login("bruno", "wrong password 5").want(t, 423, tenant.EAccountLocked)
	b.login("bruno", strongPassword).want(t, 423, tenant.EAccountLocked)

	carla := h.clientOf(t, tn)
	carla.login("carla", strongPassword).want(t, 200, "")
	carla.do("POST", "/api/users/"+strconv.FormatInt(id, 10)+"/unlock", nil).want(t, 403, tenant.EForbidden)
	b.login("bruno", strongPassword).want(t, 423, tenant.EAccountLocked)

	u := admin.do("POST", "/api/users/"+strconv.FormatInt(id, 10)+"/unlock", nil).want(t, 200, "")
	if u.body["locked"] != false {
		t.Fatalf("unlocked user: %s", u.raw)
	}
	b.login("bruno", strongPassword).want(t, 200, "")
}

// A token or cookie of tenant A presented at tenant B is refused, and so
// are tampered, expired, alg-none and garbage tokens.
func TestTokensRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{})
	a := h.tenant(t, tenant.Restaurant)
	b := h.tenant(t, tenant.Restaurant)
	ca := h.admin(t, a)
	tok := ca.cookie()
	if tok == "" {
		t.Fatal("no cookie")
	}
	ca.do("GET", "/api/me", nil, "Authorization", "Bearer "+tok).want(t, 200, "")

	cb := h.clientOf(t, b)
	cb.do("GET", "/api/me", nil, "Authorization", "Bearer "+tok).want(t, 401, tenant.EUnauthenticated)
	cb.do("GET", "/api/me", nil, "Cookie", authhttp.CookieName+"="+tok).want(t, 401, tenant.EUnauthenticated)

	// A token for tenant B's id with A's session secret, signed with A's
	// key, still fails at B: B's key is another.
	secret := sessionSecret(t, tok)
	forged, err := auth.IssueToken([]byte(a.Secrets["jwt_secret"]), b.ID, secret, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	cb.do("GET", "/api/me", nil, "Authorization", "Bearer "+forged).want(t, 401, tenant.EUnauthenticated)

	expired, err := auth.IssueToken([]byte(a.Secrets["jwt_secret"]), a.ID, secret, time.Now().Add(-time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."
	flip := func(s string, i int) string {
		c := byte('A')
		if s[i] == 'A' {
			c = 'B'
		}
		return s[:i] + string(c) + s[i+1:]
	}
	for name, bad := range map[string]string{
		"tampered payload":   parts[0] + "." + flip(parts[1], 5) + "." + parts[2],
		"tampered signature": parts[0] + "." + parts[1] + "." + flip(parts[2], 3),
		"expired":            expired,
		"alg none":           none,
		"garbage":            "not-a-token",
	} {
		if r := ca.do("GET", "/api/me", nil, "Authorization", "Bearer "+bad); r.status != 401 || r.code != tenant.EUnauthenticated {
			t.Errorf("%s bearer: %d %s", name, r.status, r.raw)
		}
		fresh := h.clientOf(t, a) // a jar without the good cookie
		if r := fresh.do("GET", "/api/me", nil, "Cookie", authhttp.CookieName+"="+bad); r.status != 401 || r.code != tenant.EUnauthenticated {
			t.Errorf("%s cookie: %d %s", name, r.status, r.raw)
		}
	}
	// And the real one still works.
	ca.do("GET", "/api/me", nil).want(t, 200, "")
}

// sessionSecret reads the secret session id out of our own token (the
// test plays an attacker who stole it).
func sessionSecret(t *testing.T, tok string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`"sid":"([^"]+)"`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("no sid in %s", b)
	}
	return string(m[1])
}

// Other tenant routes (issue 13's domain routers) use Authenticate and
// Require: 401 without a session, 403 without the permission, the gate
// for users who must change their password, and the Principal set.
func TestAuthenticateAndRequireForOtherRoutes(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{routes: func(r fiber.Router, ah *authhttp.Handlers) {
		r.Post("/api/things", ah.Authenticate(), authhttp.Require(auth.PermDataWrite), func(c *fiber.Ctx) error {
			p := authhttp.Principal(c)
			return c.JSON(fiber.Map{"user": p.Username, "user_id": p.UserID})
		})
		r.Get("/api/unguarded", authhttp.Require(auth.PermDataRead), func(c *fiber.Ctx) error { return c.SendStatus(204) })
	}})
	tn := h.tenant(t, tenant.Institution)
	admin := h.admin(t, tn)
	h.user(t, admin, "prefect1", "", "prefect") // data.write
	h.user(t, admin, "teacher1", "", "teacher") // data.read only

	anon := h.clientOf(t, tn)
	anon.do("POST", "/api/things", map[string]any{}).want(t, 401, tenant.EUnauthenticated)
	anon.do("GET", "/api/unguarded", nil).want(t, 401, tenant.EUnauthenticated)
	anon.do("POST", "/api/things", nil, "Authorization", "Basic YTpi").want(t, 401, tenant.EUnauthenticated)

	p := h.clientOf(t, tn)
	p.login("prefect1", strongPassword).want(t, 200, "")
	if r := p.do("POST", "/api/things", nil).want(t, 200, ""); r.body["user"] != "prefect1" {
		t.Fatalf("principal: %s", r.raw)
	}
	p.do("POST", "/api/things", nil, authhttp.HeaderCSRF, "").want(t, 403, tenant.EForbidden) // CSRF here too
	// Authentication and the sessions panel take no tenant connection;
	// what takes one gives it back before the answer.
	before := h.pools.acquired.Load()
	p.do("POST", "/api/things", nil).want(t, 200, "")
	p.do("GET", "/api/sessions", nil).want(t, 200, "")
	if n := h.pools.acquired.Load() - before; n != 0 {
		t.Fatalf("%d tenant connections taken without a database query", n)
	}
	p.do("GET", "/api/me", nil).want(t, 200, "")
	if h.pools.acquired.Load() != before+1 || tn.App.Stat().AcquiredConns() != 0 {
		t.Fatalf("/api/me: %d acquired, %d held", h.pools.acquired.Load()-before, tn.App.Stat().AcquiredConns())
	}
	th := h.clientOf(t, tn)
	th.login("teacher1", strongPassword).want(t, 200, "")
	th.do("POST", "/api/things", nil).want(t, 403, tenant.EForbidden)

	fresh := h.clientOf(t, tn)
	fresh.login(tn.AdminUsername, strongPassword).want(t, 200, "")
	fresh.do("POST", "/api/things", nil).want(t, 200, "")
	must := h.clientOf(t, tn)
	id := h.user(t, admin, "newbie", "", "prefect")
	admin.do("PATCH", "/api/users/"+strconv.FormatInt(id, 10), map[string]any{"must_change_password": true}).want(t, 200, "")
	must.login("newbie", strongPassword).want(t, 200, "")
	must.do("POST", "/api/things", nil).want(t, 403, tenant.EPasswordChangeRequired)
}

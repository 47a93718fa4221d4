package console_test

import (
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/auth"
	"github.com/tenancy/platform/tenant/console"
	"github.com/tenancy/platform/tenant/domaintest"
)

// Every console page has the strict CSP and no-store; the CSS is served.
func TestHeadersAndStatic(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tenant.Restaurant)
	f := e.form(t)
	for _, path := range []string{"/login", "/password/reset", "/password/reset/confirm?token=x"} {
		r := f.get(path).want(t, 200)
		if got := r.Header.Get("Content-Security-Policy"); got != console.CSP {
			t.Errorf("%s: CSP %q", path, got)
		}
		if got := r.Header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("%s: Cache-Control %q", path, got)
		}
		if !strings.Contains(r.Body, `<html lang="es">`) {
			t.Errorf("%s: not Spanish by default: %.200s", path, r.Body)
		}
		// The one script is htmx, from our own origin; nothing inline.
		scripts := strings.ReplaceAll(r.Body, `<script src="/static/htmx.min.js" defer></script>`, "")
		if strings.Contains(scripts, "<script") || strings.Contains(r.Body, "style=") || strings.Contains(r.Body, "<style") ||
			strings.Contains(r.Body, " on") && regexp.MustCompile(` on[a-z]+=`).MatchString(r.Body) {
			t.Errorf("%s: inline script or style", path)
		}
	}
	r0 := f.get("/static/htmx.min.js").want(t, 200)
	if !strings.HasPrefix(r0.Header.Get("Content-Type"), "text/javascript") || !strings.Contains(r0.Body, "htmx") ||
		r0.Header.Get("Content-Security-Policy") != console.CSP {
		t.Errorf("htmx: %q %q %.60s", r0.Header.Get("Content-Type"), r0.Header.Get("Content-Security-Policy"), r0.Body)
	}
	r := f.get("/static/console.css").want(t, 200)
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "text/css") || !strings.Contains(r.Body, ":focus-visible") {
		t.Errorf("css: %q %.100s", r.Header.Get("Content-Type"), r.Body)
	}
	f.get("/static/nope.css").want(t, 404)
	f.get("/static/../templates/layout.html").want(t, 404)
	// Anonymous home: to the login page.
	if r := f.get("/").want(t, 303); r.Location != "/login" {
		t.Errorf("anonymous / → %q", r.Location)
	}
	// The API stays JSON.
	if r := f.get("/api/me"); r.Status != 401 || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		t.Errorf("/api/me: %d %q", r.Status, r.Header.Get("Content-Type"))
	}
}

// Forms before login are refused without a same-origin Origin or
// Sec-Fetch-Site; forms after login without the session's token. Nothing
// changes.
func TestCSRFRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tenant.Institution)
	f := e.form(t)
	creds := url.Values{"username": {e.tn.AdminUsername}, "password": {e.tn.AdminPassword}}
	for name, headers := range map[string][]string{
		"no origin":          nil,
		"foreign origin":     {"Origin", "http://evil.localhost:1"},
		"other port":         {"Origin", "http://" + e.tn.Slug + ".localhost:1"},
		"null origin":        {"Origin", "null"},
		"cross-site fetch":   {"Sec-Fetch-Site", "cross-site", "Origin", e.base},
		"same-site fetch":    {"Sec-Fetch-Site", "same-site"},
		"other tenant fetch": {"Origin", "http://other.localhost"},
	} {
		// A foreign Origin is refused by the API's CORS middleware (a
		// JSON 403) before the console sees it; the rest by the console.
		r := f.do("POST", "/login", creds, headers...)
		if r.Status != 403 || !strings.Contains(r.Body, "El formulario expiró") && !strings.Contains(r.Body, `"forbidden"`) {
			t.Errorf("%s: login %d %.300s", name, r.Status, r.Body)
		}
		if f.cookie("session") != "" {
			t.Fatalf("%s: a refused login set a session", name)
		}
		if r := f.do("POST", "/lang", url.Values{"lang": {"en"}, "next": {"/login"}}, headers...); r.Status != 403 {
			t.Errorf("%s: lang %d", name, r.Status)
		}
		if r := f.do("POST", "/password/reset", url.Values{"username": {"admin"}}, headers...); r.Status != 403 {
			t.Errorf("%s: reset %d", name, r.Status)
		}
	}
	if f.cookie("lang") != "" {
		t.Fatal("a refused switch set the language")
	}
	// Sec-Fetch-Site same-origin alone is accepted.
	r := f.do("POST", "/lang", url.Values{"lang": {"en"}, "next": {"/login"}}, "Sec-Fetch-Site", "same-origin").want(t, 303)
	if r.Location != "/login" || f.cookie("lang") != "en" {
		t.Fatalf("switch: %q, lang %q", r.Location, f.cookie("lang"))
	}

	tok := f.loginAdmin()
	sess := f.cookie("session")
	// The token is required and must be the session's; the Origin does
	// not replace it.
	for name, v := range map[string]string{"no token": "", "wrong token": tok[:len(tok)-2] + "xx"} {
		vals := url.Values{"current_password": {domaintest.Password}, "new_password": {"another fine passphrase 77"},
			"repeat_password": {"another fine passphrase 77"}}
		if v != "" {
			vals.Set("csrf", v)
		}
		f.post("/password", vals).want(t, 403)
		f.post("/logout", url.Values{"csrf": {v}}).want(t, 403)
		f.post("/lang", url.Values{"csrf": {v}, "lang": {"es"}, "next": {"/"}}).want(t, 403)
		if f.cookie("session") != sess || f.cookie("lang") != "en" {
			t.Fatalf("%s: a refused form changed a cookie", name)
		}
	}
	// A token of another session is wrong too.
	g := e.form(t)
	g.post("/login", url.Values{"username": {e.tn.AdminUsername}, "password": {domaintest.Password}}).want(t, 303)
	other := csrf(t, g.get("/").want(t, 200).Body)
	f.post("/logout", url.Values{"csrf": {other}}).want(t, 403)
	// Nothing changed: the session lives, the password is the one set.
	f.get("/").want(t, 200)
	api := e.h.Client(t, e.tn)
	api.Login(e.tn.AdminUsername, domaintest.Password).Want(t, 200, "")
	// With the token, logout works and ends the session.
	if r := f.post("/logout", url.Values{"csrf": {tok}}).want(t, 303); r.Location != "/login?done=logout" {
		t.Fatalf("logout → %q", r.Location)
	}
	if f.cookie("session") != "" {
		t.Fatal("logout kept the cookie")
	}
	g2 := e.form(t)
	if r := g2.do("GET", "/api/me", nil, "Cookie", "session="+sess); r.Status != 401 {
		t.Fatalf("the logged-out session still works: %d", r.Status)
	}
}

// No page holds the session's token or id; the reset token is only in
// the confirm form's hidden field, and gone after success.
func TestNoSecretsInPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tenant.Restaurant)
	f := e.form(t)
	f.loginAdmin()
	jwt := f.cookie("session")
	api := e.h.Client(t, e.tn)
	api.Login(e.tn.AdminUsername, domaintest.Password).Want(t, 200, "")
	me := f.do("GET", "/api/me", nil).want(t, 200)
	i := strings.Index(me.Body, `"session":{"id":"`)
	if i < 0 {
		t.Fatalf("no session id in %s", me.Body)
	}
	handle := me.Body[i+len(`"session":{"id":"`):][:64]
	for _, path := range []string{"/", "/password", "/login", "/password/reset"} {
		r := f.get(path)
		if strings.Contains(r.Body, jwt) || strings.Contains(r.Body, handle) || strings.Contains(r.Location, jwt) {
			t.Errorf("%s shows the session token or id", path)
		}
	}
	// A reset token for a user, as an admin issues it.
	u := api.Do("POST", "/api/users", map[string]any{"username": "rosa", "email": "rosa@example.test", "full_name": "Rosa",
		"password": domaintest.Password, "roles": []string{"staff"}, "must_change_password": false})
	if u.Status != 201 {
		api.Do("POST", "/api/auth/change-password", map[string]string{"current_password": domaintest.Password, "new_password": domaintest.Password})
		t.Fatalf("create user: %d %s", u.Status, u.Raw)
	}
	rt := api.Do("POST", "/api/users/"+strconv.FormatInt(u.ID(), 10)+"/password-reset", nil).Want(t, 201, "")
	token := rt.Str("token")
	anon := e.form(t)
	page := anon.get("/reset-password?token="+url.QueryEscape(token)).want(t, 200)
	if n := strings.Count(page.Body, token); n != 1 || !strings.Contains(page.Body, `name="token" value="`+token+`"`) {
		t.Fatalf("the token appears %d times, or not in the hidden field: %s", n, page.Body)
	}
	if strings.Contains(page.Body, "?token=") {
		t.Fatal("the token is echoed into a link")
	}
	// A mismatch keeps the token in the form only.
	bad := anon.post("/password/reset/confirm", url.Values{"token": {token}, "new_password": {"fresh horse staple battery 9"},
		"repeat_password": {"fresh horse staple battery"}}).want(t, 422)
	if !strings.Contains(bad.Body, "Las contraseñas nuevas no coinciden.") || strings.Count(bad.Body, token) != 1 {
		t.Fatalf("mismatch page: %s", bad.Body)
	}
	ok := anon.post("/password/reset/confirm", url.Values{"token": {token}, "new_password": {"fresh horse staple battery 9"},
		"repeat_password": {"fresh horse staple battery 9"}}).want(t, 303)
	if strings.Contains(ok.Location, token) || ok.Location != "/login?done=reset" {
		t.Fatalf("after success: %q", ok.Location)
	}
	done := anon.get(ok.Location).want(t, 200)
	if strings.Contains(done.Body, token) || !strings.Contains(done.Body, "Tu contraseña fue restablecida") {
		t.Fatalf("login after reset: %s", done.Body)
	}
	// Used once: the token is no longer valid.
	again := anon.post("/password/reset/confirm", url.Values{"token": {token}, "new_password": {"fresh horse staple battery 10"},
		"repeat_password": {"fresh horse staple battery 10"}}).want(t, 422)
	if !strings.Contains(again.Body, "El enlace no es válido") || strings.Contains(again.Body, token) {
		t.Fatalf("reused token: %s", again.Body)
	}
	e.h.Client(t, e.tn).Login("rosa", "fresh horse staple battery 9").Want(t, 200, "")
	// The reset request answers the same for anyone.
	a := anon.post("/password/reset", url.Values{"username": {"rosa"}}).want(t, 200)
	b := anon.post("/password/reset", url.Values{"username": {"nobody-here"}}).want(t, 200)
	if a.Body != b.Body || !strings.Contains(a.Body, "Si la cuenta existe") {
		t.Fatalf("reset answers differ:\n%s\n%s", a.Body, b.Body)
	}
}

// Per-field messages of the password change, each linked to its input.
func TestPasswordChangeErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tenant.Institution)
	f := e.form(t)
	f.post("/login", url.Values{"username": {e.tn.AdminUsername}, "password": {e.tn.AdminPassword}}).want(t, 303)
	if r := f.get("/").want(t, 303); r.Location != "/password" {
		t.Fatalf("forced change: home → %q", r.Location)
	}
	tok := csrf(t, f.get("/password").want(t, 200).Body)
	for name, c := range map[string]struct {
		current, next, repeat, field, msg string
	}{
		"short":    {e.tn.AdminPassword, "short", "short", "new_password", "al menos 12 caracteres"},
		"mismatch": {e.tn.AdminPassword, domaintest.Password, domaintest.Password + "x", "repeat_password", "no coinciden"},
		"wrong":    {"not the password", domaintest.Password, domaintest.Password, "current_password", "La contraseña actual no es correcta."},
		"common":   {e.tn.AdminPassword, "password1234", "password1234", "new_password", "demasiado común"},
		"same":     {e.tn.AdminPassword, e.tn.AdminPassword, e.tn.AdminPassword, "new_password", "distinta de la actual"},
	} {
		r := f.post("/password", url.Values{"csrf": {tok}, "current_password": {c.current}, "new_password": {c.next},
			"repeat_password": {c.repeat}}).want(t, 422)
		if !strings.Contains(r.Body, `aria-describedby="err-`+c.field+`"`) || !strings.Contains(r.Body, `id="err-`+c.field+`">`) ||
			!strings.Contains(r.Body, c.msg) {
			t.Errorf("%s: %s", name, r.Body)
		}
		if strings.Contains(r.Body, c.current) && c.current != "" || strings.Contains(r.Body, `value="`+c.next) {
			t.Errorf("%s: a password is shown again", name)
		}
	}
	// Still forced: nothing changed.
	f.get("/").want(t, 303)
}

// Past the login limit the form says to try later (429), in the page's
// language, and the right password does not get in meanwhile.
func TestLoginRateLimited(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tenant.Restaurant, func(c *console.Config) { c.LoginLimit = auth.Limit{Rate: 3, Period: time.Hour} })
	f := e.form(t)
	for range 3 {
		f.post("/login", url.Values{"username": {"nobody"}, "password": {"wrong password here"}}).want(t, 401)
	}
	r := f.do("POST", "/login", url.Values{"username": {e.tn.AdminUsername}, "password": {e.tn.AdminPassword}},
		"Origin", e.base, "Accept-Language", "en-US,en;q=0.9").want(t, 429)
	if !strings.Contains(r.Body, "Too many attempts. Please try again later.") || f.cookie("session") != "" {
		t.Fatalf("rate limited: %s", r.Body)
	}
	// The reset request shares the bucket.
	r = f.post("/password/reset", url.Values{"username": {"admin"}}).want(t, 429)
	if !strings.Contains(r.Body, "Demasiados intentos") {
		t.Fatalf("reset rate limited: %s", r.Body)
	}
}

// Wrong credentials and a missing field: the form's message, the field's
// message linked to its input, the username kept, the password not.
func TestLoginErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tenant.Institution)
	f := e.form(t)
	r := f.post("/login", url.Values{"username": {"admin"}, "password": {"wrong password 1"}}).want(t, 401)
	if !strings.Contains(r.Body, "El nombre de usuario o la contraseña no son correctos.") ||
		!strings.Contains(r.Body, `value="admin"`) || strings.Contains(r.Body, "wrong password 1") {
		t.Fatalf("wrong credentials: %s", r.Body)
	}
	r = f.post("/login", url.Values{"username": {"ana"}}).want(t, 422)
	if !strings.Contains(r.Body, `aria-describedby="err-password"`) || !strings.Contains(r.Body, "Este campo es obligatorio.") {
		t.Fatalf("missing password: %s", r.Body)
	}
}

// Behind a trusted TLS proxy the cookies are Secure (and the origin check
// wants https); a second login ends the browser's first session.
func TestCookiesOverTLS(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tenant.Restaurant)
	f := e.form(t)
	origin := "https://" + strings.TrimPrefix(e.base, "http://")
	creds := url.Values{"username": {e.tn.AdminUsername}, "password": {e.tn.AdminPassword}}
	// http's origin is not this https site's.
	f.do("POST", "/login", creds, "X-Forwarded-Proto", "https", "Origin", e.base).want(t, 403)
	r := f.do("POST", "/login", creds, "X-Forwarded-Proto", "https", "Origin", origin).want(t, 303)
	sc := r.Header.Values("Set-Cookie")
	if len(sc) != 1 || !strings.HasPrefix(sc[0], "session=") {
		t.Fatalf("Set-Cookie %q", sc)
	}
	for _, attr := range []string{"HttpOnly", "secure", "SameSite=Lax", "path=/"} {
		if !strings.Contains(strings.ToLower(sc[0]), strings.ToLower(attr)) {
			t.Errorf("session cookie lacks %s: %s", attr, sc[0])
		}
	}
	if strings.Contains(strings.ToLower(sc[0]), "domain=") {
		t.Errorf("session cookie names a domain: %s", sc[0])
	}
	// (A visitor: with the session, the switch would want its token.)
	r = e.form(t).do("POST", "/lang", url.Values{"lang": {"en"}, "next": {"/login"}}, "X-Forwarded-Proto", "https", "Origin", origin).want(t, 303)
	if lc := r.Header.Get("Set-Cookie"); !strings.HasPrefix(lc, "lang=en") || !strings.Contains(strings.ToLower(lc), "secure") {
		t.Errorf("lang cookie %q", lc)
	}

	// Over plain HTTP: two logins in one browser; the first session ends.
	g := e.form(t)
	g.loginAdmin()
	first := g.cookie("session")
	g.post("/login", url.Values{"username": {e.tn.AdminUsername}, "password": {domaintest.Password}}).want(t, 303)
	if g.cookie("session") == first {
		t.Fatal("the second login kept the first session's cookie")
	}
	g.get("/").want(t, 200)
	old := e.form(t)
	if r := old.do("GET", "/", nil, "Cookie", "session="+first); r.Status != 303 || r.Location != "/login" {
		t.Fatalf("the replaced session still works: %d %q", r.Status, r.Location)
	}
}

// The language switch returns only to a path of this host.
func TestLangNextIsLocal(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tenant.Institution)
	f := e.form(t)
	for next, want := range map[string]string{
		"/password/reset": "/password/reset", "/password/reset/confirm?token=abc": "/password/reset/confirm",
		"//evil.example/x": "/", "https://evil.example/": "/", "/\\evil.example": "/", "": "/",
	} {
		r := f.post("/lang", url.Values{"lang": {"en"}, "next": {next}}).want(t, 303)
		if r.Location != want {
			t.Errorf("next %q → %q, want %q", next, r.Location, want)
		}
	}
	f.post("/lang", url.Values{"lang": {"fr"}, "next": {"/"}}).want(t, 422)
}

// The switch of a logged-in user is the user's: stored with the user, it
// follows them to another browser (whose own cookie and Accept-Language
// say Spanish) at login and on every page, and the login page after
// logout stays in it.
func TestLanguageIsPerUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tenant.Restaurant)
	lang := func(r resp) string {
		t.Helper()
		const mark = `<html lang="`
		i := strings.Index(r.Body, mark)
		if i < 0 {
			t.Fatalf("no html lang in %s", r.Body)
		}
		rest := r.Body[i+len(mark):]
		return rest[:strings.IndexByte(rest, '"')]
	}
	es := []string{"Accept-Language", "es-CL,es;q=0.9"}
	one := e.form(t)
	tok := one.loginAdmin()
	one.post("/lang", url.Values{"csrf": {tok}, "lang": {"en"}, "next": {"/"}}).want(t, 303)
	if got := lang(one.do("GET", "/", nil, es...).want(t, 200)); got != "en" {
		t.Fatalf("after the switch: %s", got)
	}

	two := e.form(t)
	two.do("POST", "/lang", url.Values{"lang": {"es"}, "next": {"/"}}, "Origin", e.base).want(t, 303)
	if got := lang(two.do("GET", "/login", nil, es...).want(t, 200)); got != "es" {
		t.Fatalf("the second browser's login page: %s", got)
	}
	r := two.do("POST", "/login", url.Values{"username": {e.tn.AdminUsername}, "password": {domaintest.Password}},
		append([]string{"Origin", e.base}, es...)...).want(t, 303)
	if two.cookie(console.LangCookie) != "en" {
		t.Errorf("login set lang cookie %q, want the user's en", two.cookie(console.LangCookie))
	}
	home := two.do("GET", r.Location, nil, es...).want(t, 200)
	if got := lang(home); got != "en" {
		t.Fatalf("the second browser after login: %s", got)
	}
	// Back to Spanish from the second browser: the first one follows, though
	// its cookie still says en.
	two.post("/lang", url.Values{"csrf": {csrf(t, home.Body)}, "lang": {"es"}, "next": {"/"}}).want(t, 303)
	if got := lang(one.do("GET", "/sessions", nil, "Accept-Language", "en").want(t, 200)); got != "es" || one.cookie(console.LangCookie) != "en" {
		t.Errorf("the first browser: %s (cookie %q), want es", got, one.cookie(console.LangCookie))
	}
	one.post("/logout", url.Values{"csrf": {tok}}).want(t, 303)
	if got := lang(one.do("GET", "/login", nil, "Accept-Language", "es").want(t, 200)); got != "en" {
		t.Errorf("the login page after logout: %s, want the browser's cookie en", got)
	}
}

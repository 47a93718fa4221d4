package console_test

import (
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/domaintest"
)

// loginAs logs f in through the form as a user whose password needs no
// change.
func (f *form) loginAs(username, password string) {
	f.t.Helper()
	r := f.post("/login", url.Values{"username": {username}, "password": {password}}).want(f.t, 303)
	if r.Location != "/" {
		f.t.Fatalf("login of %s redirects to %q", username, r.Location)
	}
}

// A user without users.read gets the 403 page on the users screens, and
// without audit.read on the audit log; the sessions panel is everyone's.
// An anonymous visitor is sent to the login page.
func TestAdminScreensDenied(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tenant.Institution)
	admin := e.h.Admin(t, e.tn)
	u := admin.Do("POST", "/api/users", map[string]any{"username": "luis", "email": "luis@example.test", "full_name": "Luis",
		"password": domaintest.Password, "roles": []string{"teacher"}, "must_change_password": false}).Want(t, 201, "")
	id := strconv.FormatInt(u.ID(), 10)

	anon := e.form(t)
	for _, path := range []string{"/users", "/users/new", "/users/" + id, "/sessions", "/audit"} {
		if r := anon.get(path).want(t, 303); r.Location != "/login" {
			t.Errorf("anonymous %s → %q", path, r.Location)
		}
	}

	f := e.form(t)
	f.loginAs("luis", domaintest.Password)
	for _, path := range []string{"/users", "/users/new", "/users/" + id, "/audit"} {
		r := f.get(path).want(t, 403)
		if !strings.Contains(r.Body, "No tienes permiso para ver esta página.") {
			t.Errorf("%s: not the 403 page: %.300s", path, r.Body)
		}
	}
	tok := csrf(t, f.get("/sessions").want(t, 200).Body)
	// A change without users.manage: refused, nothing changed.
	f.post("/users/new", url.Values{"csrf": {tok}, "username": {"mallory"}, "full_name": {"M"},
		"password": {domaintest.Password}}).want(t, 403)
	f.post("/users/"+id+"/deactivate", url.Values{"csrf": {tok}}).want(t, 403)
	if got := admin.Do("GET", "/api/users?q=mallory", nil).Want(t, 200, "").Body["users"].([]any); len(got) != 0 {
		t.Fatalf("a refused create made %v", got)
	}
	if a, _ := admin.Do("GET", "/api/users/"+id, nil).Want(t, 200, "").Body["active"].(bool); !a {
		t.Fatal("a refused deactivate deactivated")
	}
}

var revokeAction = regexp.MustCompile(`action="(/sessions/[0-9a-f]{64}/revoke)"`)

// Every admin form is refused without the session's token, or with a
// wrong one, and changes nothing.
func TestAdminCSRFRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tenant.Institution)
	admin := e.h.Admin(t, e.tn)
	u := admin.Do("POST", "/api/users", map[string]any{"username": "luis", "email": "luis@example.test", "full_name": "Luis",
		"password": domaintest.Password, "roles": []string{"teacher"}, "must_change_password": false}).Want(t, 201, "")
	id := strconv.FormatInt(u.ID(), 10)
	luis := e.h.Client(t, e.tn)
	for range 5 {
		luis.Login("luis", "not the password")
	}
	f := e.form(t)
	f.loginAs(e.tn.AdminUsername, domaintest.Password)
	page := f.get("/sessions").want(t, 200).Body
	tok := csrf(t, page)
	m := revokeAction.FindAllStringSubmatch(page, -1)
	if len(m) == 0 {
		t.Fatalf("no revoke form: %s", page)
	}
	forms := map[string]url.Values{
		"/users/new":                   {"username": {"mallory"}, "full_name": {"M"}, "password": {domaintest.Password}},
		"/users/" + id:                 {"full_name": {"Changed"}, "email": {"luis@example.test"}},
		"/users/" + id + "/deactivate": {},
		"/users/" + id + "/unlock":     {},
		"/users/" + id + "/reset":      {},
	}
	for _, mm := range m {
		forms[mm[1]] = url.Values{}
	}
	for path, vals := range forms {
		for name, v := range map[string]string{"no token": "", "wrong token": tok[:len(tok)-2] + "xx"} {
			body := url.Values{}
			for k, vv := range vals {
				body[k] = vv
			}
			if v != "" {
				body.Set("csrf", v)
			}
			r := f.post(path, body).want(t, 403)
			if !strings.Contains(r.Body, "El formulario expiró") {
				t.Errorf("%s %s: %.300s", path, name, r.Body)
			}
		}
	}
	// Nothing changed: the user is as made, still locked, no reset
	// issued; every session lives.
	got := admin.Do("GET", "/api/users/"+id, nil).Want(t, 200, "")
	if got.Str("full_name") != "Luis" || got.Body["active"] != true || got.Body["locked"] != true {
		t.Fatalf("a refused form changed the user: %v", got.Body)
	}
	if n := len(admin.Do("GET", "/api/users?q=mallory", nil).Want(t, 200, "").Body["users"].([]any)); n != 0 {
		t.Fatal("a refused form created a user")
	}
	if n := len(admin.Do("GET", "/api/audit?action=password.reset_issued", nil).Want(t, 200, "").Body["entries"].([]any)); n != 0 {
		t.Fatal("a refused form issued a reset token")
	}
	f.get("/sessions").want(t, 200)
	admin.Do("GET", "/api/me", nil).Want(t, 200, "")
	// With the token the same form works.
	if r := f.post("/users/"+id+"/unlock", url.Values{"csrf": {tok}}).want(t, 303); r.Location != "/users/"+id+"?done=unlocked" {
		t.Fatalf("unlock → %q", r.Location)
	}
}

// The audit view's dates are days in the tenant's time zone, to included:
// the day of a row (in that zone) finds it, the days around it do not. A
// bad date or cursor is refused at its field, not a 500.
func TestAdminAuditDates(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tenant.Restaurant)
	admin := e.h.Admin(t, e.tn)
	admin.Do("POST", "/api/users", map[string]any{"username": "sofia", "email": "sofia@example.test", "full_name": "Sofía",
		"password": domaintest.Password, "roles": []string{"staff"}, "must_change_password": false}).Want(t, 201, "")
	rows := admin.Do("GET", "/api/audit?action=user.created", nil).Want(t, 200, "").Body["entries"].([]any)
	if len(rows) != 1 {
		t.Fatalf("audit rows %v", rows)
	}
	at, err := time.Parse(time.RFC3339Nano, rows[0].(map[string]any)["occurred_at"].(string))
	if err != nil {
		t.Fatal(err)
	}
	zone, err := time.LoadLocation(e.tn.TimeZone)
	if err != nil {
		t.Fatal(err)
	}
	day := at.In(zone)
	d := func(n int) string { return day.AddDate(0, 0, n).Format(time.DateOnly) }

	f := e.form(t)
	f.loginAs(e.tn.AdminUsername, domaintest.Password)
	found := func(from, to string) bool {
		t.Helper()
		r := f.get("/audit?"+url.Values{"action": {"user.created"}, "from": {from}, "to": {to}}.Encode()).want(t, 200)
		return strings.Contains(r.Body, `<td class="audit-action">user.created</td>`)
	}
	if !found(d(0), d(0)) {
		t.Errorf("the row's day %s (in %s) does not find it", d(0), e.tn.TimeZone)
	}
	if found(d(1), d(1)) || found(d(-1), d(-1)) || found(d(1), "") || found("", d(-1)) {
		t.Errorf("a day around %s finds the row", d(0))
	}
	if !found("", "") || !found(d(-1), d(1)) {
		t.Error("a range around the row misses it")
	}
	r := f.get("/audit?from=yesterday").want(t, 422)
	if !strings.Contains(r.Body, `id="err-from"`) {
		t.Errorf("bad date: %.400s", r.Body)
	}
	f.get("/audit?cursor=nope").want(t, 422)
	f.get("/users?cursor=nope").want(t, 422)
}

var userLink = regexp.MustCompile(`<td><a href="/users/(\d+)">`)

// The users list pages with the service's cursor: 51 users are 50 on the
// first page and one on the next, each once.
func TestAdminUsersPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tenant.Restaurant)
	admin := e.h.Admin(t, e.tn)
	for i := range 50 {
		admin.Do("POST", "/api/users", map[string]any{"username": "u" + strconv.Itoa(i), "full_name": "U " + strconv.Itoa(i),
			"password": domaintest.Password, "roles": []string{"staff"}, "must_change_password": false}).Want(t, 201, "")
	}
	f := e.form(t)
	f.loginAs(e.tn.AdminUsername, domaintest.Password)
	first := f.get("/users").want(t, 200).Body
	next := regexp.MustCompile(`<a href="(/users\?cursor=[^"]+)" rel="next">`).FindStringSubmatch(first)
	if next == nil {
		t.Fatalf("no next page link: %s", first)
	}
	second := f.get(strings.ReplaceAll(next[1], "&amp;", "&")).want(t, 200).Body
	if strings.Contains(second, `rel="next"`) {
		t.Error("a next page link on the last page")
	}
	seen := map[string]bool{}
	for _, body := range []string{first, second} {
		for _, m := range userLink.FindAllStringSubmatch(body, -1) {
			if seen[m[1]] {
				t.Errorf("user %s listed twice", m[1])
			}
			seen[m[1]] = true
		}
	}
	if n := len(userLink.FindAllString(first, -1)); n != 50 || len(seen) != 51 {
		t.Fatalf("first page %d users, %d in all; want 50 and 51", n, len(seen))
	}
}

package console_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tenancy/platform/platform/platformtest/browser"
	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/domaintest"
)

// adminPage is a browser page logged in as the tenant's admin (its
// one-time password already changed by admin.go's harness client).
// In English when en, else in Spanish.
func adminPage(t *testing.T, e *env, en bool, opts ...browser.PageOption) *browser.Page {
	t.Helper()
	if en {
		p := shared.Page(t, append([]browser.PageOption{browser.Lang("en-US", "en")}, opts...)...)
		login(p, e, e.tn.AdminUsername, domaintest.Password, "Username", "Password", "Sign in")
		p.WaitText("h1", "dashboard")
		return p
	}
	p := shared.Page(t, append([]browser.PageOption{browser.Lang("es-CL", "es")}, opts...)...)
	login(p, e, e.tn.AdminUsername, domaintest.Password, "Nombre de usuario", "Contraseña", "Ingresar")
	p.WaitText("h1", "Panel")
	return p
}

// onlyRefusedForms checks that the page's only problems are the 4xx
// answers of refused forms at path.
func onlyRefusedForms(t *testing.T, p *browser.Page, path string) {
	t.Helper()
	for _, pr := range p.Problems() {
		refused := pr.Kind == browser.Request && pr.Status >= 400 && pr.Status < 500 ||
			pr.Kind == browser.Log && pr.Source == "network" && strings.Contains(pr.Text, "status of 4")
		if !refused || !strings.HasSuffix(pr.URL, path) {
			t.Errorf("problem: %s", pr)
		}
	}
	p.ClearProblems()
}

// An admin creates a user from the form: a bad e-mail is shown next to its
// field first; then the user is created and listed.
func TestAdminCreatesUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tenant.Institution)
	e.h.Admin(t, e.tn)
	p := adminPage(t, e, false, browser.Size(browser.Phone))
	p.ClickText("Usuarios")
	p.WaitText("h1", "Usuarios")
	p.ClickText("Nuevo usuario")
	p.WaitText("h1", "Nuevo usuario")
	p.NoProblems()
	p.Fill("Nombre de usuario", "marta")
	p.Fill("Nombre completo", "Marta Rojas")
	p.Fill("Correo electrónico", "not an address")
	p.Fill("Contraseña inicial", domaintest.Password)
	p.Click(`input[name="roles"][value="teacher"]`)
	p.ClickText("Crear")
	p.WaitText("#err-email", "Escribe un correo electrónico válido.")
	if d := browser.Eval[string](p, `document.getElementById("f-email").getAttribute("aria-describedby")`); d != "err-email" {
		t.Fatalf("aria-describedby %q", d)
	}
	if !browser.Eval[bool](p, `document.querySelector('input[name="roles"][value="teacher"]').checked`) {
		t.Fatal("the checked role was lost")
	}
	if got := browser.Eval[string](p, `document.getElementById("f-username").value`); got != "marta" {
		t.Fatalf("username shown again as %q", got)
	}
	onlyRefusedForms(t, p, "/users/new")

	p.Fill("Correo electrónico", "marta@example.test")
	p.Fill("Contraseña inicial", domaintest.Password)
	p.ClickText("Crear")
	p.WaitText("main", "El usuario fue creado.")
	p.NoProblems()
	p.ClickText("Volver a usuarios")
	p.WaitText("h1", "Usuarios")
	row := p.WaitText("tbody", "marta")
	for _, want := range []string{"Marta Rojas", "marta@example.test", "teacher", "Nunca"} {
		if !strings.Contains(row, want) {
			t.Errorf("list %q lacks %q", row, want)
		}
	}
	p.NoProblems()
}

// Five bad logins lock a user; the admin sees it locked and unlocks it
// from its page; the user can log in again.
func TestAdminUnlocksUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tenant.Restaurant)
	admin := e.h.Admin(t, e.tn)
	u := admin.Do("POST", "/api/users", map[string]any{"username": "pedro", "email": "pedro@example.test", "full_name": "Pedro",
		"password": domaintest.Password, "roles": []string{"staff"}, "must_change_password": false}).Want(t, 201, "")
	c := e.h.Client(t, e.tn)
	for range 5 {
		c.Login("pedro", "not the password")
	}
	c.Login("pedro", domaintest.Password).Want(t, 423, "account_locked")

	p := adminPage(t, e, true)
	p.Navigate(e.base + "/users/" + strconv.FormatInt(u.ID(), 10))
	p.WaitText("h1", "pedro")
	if got := p.Text("#user-locked"); got != "Yes" {
		t.Fatalf("locked shown as %q", got)
	}
	p.ClickText("Unlock")
	p.WaitText("main", "The user was unlocked.")
	if got := p.Text("#user-locked"); got != "No" {
		t.Fatalf("locked after unlock shown as %q", got)
	}
	p.NoProblems()
	c.Login("pedro", domaintest.Password).Want(t, 200, "")
}

// A session revoked from the admin's panel is logged out in the other
// browser: its next page is the login page.
func TestAdminRevokesSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tenant.Institution)
	admin := e.h.Admin(t, e.tn)
	admin.Do("POST", "/api/users", map[string]any{"username": "luis", "email": "luis@example.test", "full_name": "Luis",
		"password": domaintest.Password, "roles": []string{"teacher"}, "must_change_password": false}).Want(t, 201, "")
	other := shared.Page(t, browser.Lang("es-MX", "es"))
	login(other, e, "luis", domaintest.Password, "Nombre de usuario", "Contraseña", "Ingresar")
	other.WaitText("h1", "Panel de la institución")
	// luis sees his own session, marked current.
	other.ClickText("Sesiones")
	other.WaitText("tbody", "luis (esta sesión)")
	if n := browser.Eval[int](other, `document.querySelectorAll("tbody tr").length`); n != 1 {
		t.Fatalf("luis sees %d sessions", n)
	}

	p := adminPage(t, e, false)
	p.ClickText("Sesiones")
	p.WaitText("h1", "Sesiones activas")
	body := p.WaitText("tbody", "luis")
	if !strings.Contains(body, "admin (esta sesión)") {
		t.Fatalf("the admin's own session is not marked: %q", body)
	}
	// With the keyboard: Tab to luis's revoke button (its focus
	// visible), Enter.
	for i := 0; !p.Focused(`button[data-user="luis"]`); i++ {
		if i == 40 {
			t.Fatal("Tab never reaches the revoke button")
		}
		p.Press("\t")
	}
	if o := browser.Eval[string](p, `getComputedStyle(document.activeElement).outlineStyle`); o == "none" {
		t.Fatal("no visible focus on the revoke button")
	}
	p.Press("\r")
	p.WaitText("main", "La sesión fue revocada.")
	if strings.Contains(p.Text("tbody"), "luis") {
		t.Fatal("the revoked session is still listed")
	}
	p.NoProblems()

	other.Navigate(e.base + "/sessions")
	other.WaitText("h1", "Iniciar sesión")
	other.NoProblems()
}

// The audit view filters by action: after a failed login and a created
// user, filtering by user.created shows only that row.
func TestAdminAuditFilter(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tenant.Restaurant)
	admin := e.h.Admin(t, e.tn)
	e.h.Client(t, e.tn).Login(e.tn.AdminUsername, "not the password")
	admin.Do("POST", "/api/users", map[string]any{"username": "sofia", "email": "sofia@example.test", "full_name": "Sofía",
		"password": domaintest.Password, "roles": []string{"staff"}, "must_change_password": false}).Want(t, 201, "")

	p := adminPage(t, e, true)
	p.ClickText("Audit log")
	p.WaitText("h1", "Audit log")
	all := p.WaitText("tbody", "user.created")
	if !strings.Contains(all, "login.failure") {
		t.Fatalf("unfiltered log lacks the failed login: %q", all)
	}
	p.Fill("Action", "user.created")
	p.ClickText("Filter")
	p.WaitText("main", "Clear filters")
	actions := browser.Eval[[]string](p, `[...document.querySelectorAll("td.audit-action")].map(e => e.innerText)`)
	if len(actions) != 1 || actions[0] != "user.created" {
		t.Fatalf("filtered actions %v", actions)
	}
	if !strings.Contains(p.URL(), "action=user.created") {
		t.Fatalf("the filter is not in the URL: %s", p.URL())
	}
	// A date range in the tenant's zone: from after to is refused at the field.
	// (A date input takes keys by the browser's locale: set the values.)
	browser.Eval[bool](p, `document.getElementById("f-from").value = "2026-03-02"; document.getElementById("f-to").value = "2026-03-01"; true`)
	p.ClickText("Filter")
	p.WaitText("#err-to", "The end date cannot be before the start date.")
	onlyRefusedForms(t, p, "")
}

// The admin edits a user (name, roles), issues a reset token — shown in
// that answer only, in no URL, gone on the next visit — and deactivates
// the user, whose session ends; the changes are in the API.
func TestAdminEditsUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tenant.Institution)
	admin := e.h.Admin(t, e.tn)
	u := admin.Do("POST", "/api/users", map[string]any{"username": "luis", "email": "luis@example.test", "full_name": "Luis",
		"password": domaintest.Password, "roles": []string{"teacher"}, "must_change_password": false}).Want(t, 201, "")
	id := strconv.FormatInt(u.ID(), 10)
	luis := e.h.Client(t, e.tn)
	luis.Login("luis", domaintest.Password).Want(t, 200, "")

	p := adminPage(t, e, true, browser.Size(browser.Phone))
	p.Navigate(e.base + "/users")
	p.WaitText("tbody", "luis")
	p.ClickText("luis")
	p.WaitText("h1", "User: luis")
	p.Fill("Full name", "Luis Pérez")
	p.Click(`input[name="roles"][value="academic"]`)
	p.ClickText("Save")
	p.WaitText("main", "The changes were saved.")
	got := admin.Do("GET", "/api/users/"+id, nil).Want(t, 200, "")
	if got.Str("full_name") != "Luis Pérez" || !strings.Contains(strings.Join(strs(got.Body["roles"]), ","), "academic") {
		t.Fatalf("saved user %v", got.Body)
	}

	p.ClickText("Issue a reset token")
	token := p.WaitText("#reset-token", "")
	if len(token) < 20 || strings.Contains(p.URL(), token) {
		t.Fatalf("token %q at %s", token, p.URL())
	}
	if link := p.Text("#reset-link"); !strings.HasSuffix(link, "/reset-password?token="+token) {
		t.Fatalf("link %q", link)
	}
	p.NoProblems()
	p.Navigate(e.base + "/users/" + id)
	p.WaitText("h1", "User: luis")
	if strings.Contains(browser.Eval[string](p, `document.documentElement.outerHTML`), token) {
		t.Fatal("the token is shown again")
	}

	p.ClickText("Deactivate")
	p.WaitText("main", "The user was deactivated and signed out.")
	if got := p.Text("#user-active"); got != "No" {
		t.Fatalf("active shown as %q", got)
	}
	p.NoProblems()
	luis.Do("GET", "/api/me", nil).Want(t, 401, "unauthorized")
}

func strs(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

// The admin screens in es and en, desktop and phone: each renders without
// a problem, the page never scrolls sideways (wide tables scroll in their
// own box), and a screenshot goes to -screenshots (else a temporary
// directory).
func TestAdminScreenshots(t *testing.T) {
	t.Parallel()
	dir := *screenshots
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, tenant.Restaurant)
	admin := e.h.Admin(t, e.tn)
	admin.Do("POST", "/api/users", map[string]any{"username": "sofia", "email": "sofia@example.test", "full_name": "Sofía Andrade Valenzuela",
		"password": domaintest.Password, "roles": []string{"staff", "manager"}, "must_change_password": false}).Want(t, 201, "")
	for _, en := range []bool{false, true} {
		lang := map[bool]string{false: "es", true: "en"}[en]
		for name, size := range map[string]browser.Viewport{"desktop": browser.Desktop, "phone": browser.Phone} {
			p := adminPage(t, e, en, browser.Size(size))
			for _, screen := range []struct{ path, h1 string }{
				{"/users", map[bool]string{false: "Usuarios", true: "Users"}[en]},
				{"/users/new", map[bool]string{false: "Nuevo usuario", true: "New user"}[en]},
				{"/sessions", map[bool]string{false: "Sesiones activas", true: "Active sessions"}[en]},
				{"/audit", map[bool]string{false: "Registro de auditoría", true: "Audit log"}[en]},
			} {
				p.Navigate(e.base + screen.path)
				p.WaitText("h1", screen.h1)
				if browser.Eval[bool](p, `document.documentElement.scrollWidth > window.innerWidth`) {
					t.Errorf("%s %s %s scrolls sideways", screen.path, lang, name)
				}
				shot(t, p, filepath.Join(dir, "admin-"+strings.ReplaceAll(strings.Trim(screen.path, "/"), "/", "-")+"-"+lang+"-"+name+".png"))
				p.NoProblems()
			}
		}
	}
}

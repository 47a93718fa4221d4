package console_test

import (
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"

	"github.com/tenancy/platform/platform/platformtest/browser"
	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/domaintest"
)

// login fills the login form and submits it.
func login(p *browser.Page, e *env, user, pass, userLabel, passLabel, submit string) {
	p.Navigate(e.base + "/login")
	p.Fill(userLabel, user)
	p.Fill(passLabel, pass)
	p.ClickText(submit)
}

// The first admin logs in, is made to change the one-time password, lands
// on the restaurant's dashboard, and signs out; no page has a CSP
// violation, console error or failed request.
func TestLoginForcedChangeHome(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tenant.Restaurant)
	p := shared.Page(t, browser.Lang("es-CL", "es"))
	login(p, e, e.tn.AdminUsername, e.tn.AdminPassword, "Nombre de usuario", "Contraseña", "Ingresar")
	p.WaitText("h1", "Cambia tu contraseña")
	if !strings.HasSuffix(p.URL(), "/password") {
		t.Fatalf("forced change at %s", p.URL())
	}
	c, ok := p.Cookie("session")
	if !ok || !c.HTTPOnly || c.SameSite != network.CookieSameSiteLax || c.Domain != e.tn.Slug+".localhost" {
		t.Fatalf("session cookie %+v", c)
	}
	if browser.Eval[bool](p, `document.querySelector("nav") !== null`) {
		t.Fatal("navigation shown before the forced change")
	}
	p.NoProblems()

	// A mismatch: the message is tied to its field.
	p.Fill("Contraseña actual", e.tn.AdminPassword)
	p.Fill("Contraseña nueva", domaintest.Password)
	p.Fill("Repite la contraseña nueva", domaintest.Password+"!")
	p.ClickText("Cambiar contraseña")
	p.WaitText("#err-repeat_password", "Las contraseñas nuevas no coinciden.")
	if d := browser.Eval[string](p, `document.getElementById("f-repeat_password").getAttribute("aria-describedby")`); d != "err-repeat_password" {
		t.Fatalf("aria-describedby %q", d)
	}
	p.ClearProblems() // the 422 of the refused form

	p.Fill("Contraseña actual", e.tn.AdminPassword)
	p.Fill("Contraseña nueva", domaintest.Password)
	p.Fill("Repite la contraseña nueva", domaintest.Password)
	p.ClickText("Cambiar contraseña")
	p.WaitText("h1", "Panel del restaurante")
	p.WaitText("main", "Listo, tu contraseña fue cambiada.")
	nav := p.Text("nav")
	for _, want := range []string{"Inicio", "Menú", "Pedidos", "Usuarios", "Sesiones", "Auditoría"} {
		if !strings.Contains(nav, want) {
			t.Errorf("navigation %q lacks %q", nav, want)
		}
	}
	if strings.Contains(nav, "Periodos") {
		t.Errorf("a restaurant's navigation has institution screens: %q", nav)
	}
	if got := p.Text(".brand"); got != e.tn.Name {
		t.Errorf("header %q, want the tenant's name %q", got, e.tn.Name)
	}
	p.NoProblems()

	p.ClickText("Cerrar sesión")
	p.WaitText("main", "Cerraste sesión.")
	if _, ok := p.Cookie("session"); ok {
		t.Fatal("the session cookie outlived logout")
	}
	p.Navigate(e.base + "/")
	p.WaitText("h1", "Iniciar sesión")
	p.NoProblems()
}

// Five wrong passwords lock the account: the fifth answer says so, in
// Spanish for an es-CL browser and in English for an English one, and the
// right password no longer opens it.
func TestLockoutMessage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tenant.Institution)
	es := shared.Page(t, browser.Lang("es-CL", "es"))
	for range 4 {
		login(es, e, e.tn.AdminUsername, "not the password", "Nombre de usuario", "Contraseña", "Ingresar")
		es.WaitText("#form-error", "El nombre de usuario o la contraseña no son correctos.")
	}
	login(es, e, e.tn.AdminUsername, "not the password", "Nombre de usuario", "Contraseña", "Ingresar")
	es.WaitText("#form-error", "Tu cuenta está bloqueada por demasiados intentos fallidos. Pide a un administrador que la desbloquee.")
	onlyRefusedLogins(t, es)

	en := shared.Page(t, browser.Lang("en-US", "en"))
	login(en, e, e.tn.AdminUsername, e.tn.AdminPassword, "Username", "Password", "Sign in")
	en.WaitText("#form-error", "Your account is locked after too many failed attempts. Ask an administrator to unlock it.")
	if got := browser.Eval[string](en, `document.documentElement.lang`); got != "en" {
		t.Fatalf("html lang %q", got)
	}
	if _, ok := en.Cookie("session"); ok {
		t.Fatal("a locked account got a session")
	}
	onlyRefusedLogins(t, en)
}

// onlyRefusedLogins checks that the page's only problems are the 4xx
// answers of refused logins (no CSP violation, console error, …).
func onlyRefusedLogins(t *testing.T, p *browser.Page) {
	t.Helper()
	for _, pr := range p.Problems() {
		refused := pr.Kind == browser.Request && pr.Status >= 400 && pr.Status < 500 ||
			pr.Kind == browser.Log && pr.Source == "network" && (strings.Contains(pr.Text, "status of 401") || strings.Contains(pr.Text, "status of 403"))
		if !refused || !strings.HasSuffix(pr.URL, "/login") {
			t.Errorf("problem: %s", pr)
		}
	}
}

// The language switch changes every page and is remembered, before and
// after login.
func TestLanguageSwitch(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tenant.Restaurant)
	p := shared.Page(t, browser.Lang("es-CL", "es"), browser.Size(browser.Phone))
	p.Navigate(e.base + "/login")
	p.WaitText("h1", "Iniciar sesión")
	p.ClickText("English")
	p.WaitText("h1", "Sign in")
	if got := browser.Eval[string](p, `document.documentElement.lang`); got != "en" {
		t.Fatalf("html lang %q", got)
	}
	p.Navigate(e.base + "/password/reset")
	p.WaitText("h1", "Reset your password")
	login(p, e, e.tn.AdminUsername, e.tn.AdminPassword, "Username", "Password", "Sign in")
	p.WaitText("h1", "Change your password")
	p.Fill("Current password", e.tn.AdminPassword)
	p.Fill("New password", domaintest.Password)
	p.Fill("Repeat the new password", domaintest.Password)
	p.ClickText("Change password")
	p.WaitText("h1", "Restaurant dashboard")
	p.ClickText("Español")
	p.WaitText("h1", "Panel del restaurante")
	if !strings.HasSuffix(p.URL(), "/") {
		t.Fatalf("the switch returned to %s", p.URL())
	}
	p.Navigate(e.base + "/password")
	p.WaitText("h1", "Cambia tu contraseña")
	p.NoProblems()
}

// Login with the keyboard only: Tab to the fields, Enter to submit; the
// focus is visible.
func TestKeyboardLogin(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tenant.Institution)
	p := shared.Page(t, browser.Lang("es-CL", "es"))
	p.Navigate(e.base + "/login")
	p.WaitText("h1", "Iniciar sesión")
	for i := 0; !p.Focused("#f-username"); i++ {
		if i == 10 {
			t.Fatal("Tab never reaches the username field")
		}
		p.Press("\t")
	}
	if w := browser.Eval[string](p, `getComputedStyle(document.activeElement).outlineStyle`); w == "none" {
		t.Fatal("no visible focus on the username field")
	}
	p.Press(e.tn.AdminUsername)
	p.Press("\t")
	if !p.Focused("#f-password") {
		t.Fatal("Tab does not go from username to password")
	}
	p.Press(e.tn.AdminPassword)
	p.Press("\r")
	p.WaitText("h1", "Cambia tu contraseña")
	p.NoProblems()
}

// TestScreenshots writes the login and home pages in es and en, desktop
// and phone: to -screenshots (make screenshots: docs/screenshots), else
// to a temporary directory (the pages must still render).
func TestScreenshots(t *testing.T) {
	t.Parallel()
	dir := *screenshots
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, tenant.Restaurant)
	f := e.form(t)
	f.loginAdmin()
	for _, lang := range []string{"es", "en"} {
		for name, size := range map[string]browser.Viewport{"desktop": browser.Desktop, "phone": browser.Phone} {
			p := shared.Page(t, browser.Lang(lang), browser.Size(size))
			p.Navigate(e.base + "/login")
			p.WaitText("h1", map[string]string{"es": "Iniciar sesión", "en": "Sign in"}[lang])
			shot(t, p, filepath.Join(dir, "login-"+lang+"-"+name+".png"))
			login(p, e, e.tn.AdminUsername, domaintest.Password, map[string]string{"es": "Nombre de usuario", "en": "Username"}[lang],
				map[string]string{"es": "Contraseña", "en": "Password"}[lang], map[string]string{"es": "Ingresar", "en": "Sign in"}[lang])
			p.WaitText("h1", map[string]string{"es": "Panel del restaurante", "en": "Restaurant dashboard"}[lang])
			shot(t, p, filepath.Join(dir, "home-"+lang+"-"+name+".png"))
			p.NoProblems()
		}
	}
}

func shot(t *testing.T, p *browser.Page, path string) {
	t.Helper()
	b := p.Screenshot(path)
	if len(b) < 1000 || string(b[1:4]) != "PNG" {
		t.Fatalf("%s: not a PNG (%d bytes)", path, len(b))
	}
}

// The reset pages in a browser: the request from the login page's link,
// then the confirm page from a token an admin issued, back to the login
// page; no problem on any of them.
func TestResetInBrowser(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tenant.Institution)
	admin := e.h.Admin(t, e.tn)
	u := admin.Do("POST", "/api/users", map[string]any{"username": "luis", "email": "luis@example.test", "full_name": "Luis",
		"password": domaintest.Password, "roles": []string{"teacher"}, "must_change_password": false})
	if u.Status != 201 {
		t.Fatalf("create user: %d %s", u.Status, u.Raw)
	}

	p := shared.Page(t, browser.Lang("es-MX", "es"), browser.Size(browser.Phone))
	p.Navigate(e.base + "/login")
	p.ClickText("¿Olvidaste tu contraseña?")
	p.WaitText("h1", "Recupera tu contraseña")
	p.Fill("Nombre de usuario o correo electrónico", "luis")
	p.ClickText("Enviar enlace")
	p.WaitText("main", "Si la cuenta existe")
	p.NoProblems()

	// The request replaced any earlier token (the mail goes nowhere in
	// tests): an admin issues one now.
	token := admin.Do("POST", "/api/users/"+strconv.FormatInt(u.ID(), 10)+"/password-reset", nil).Want(t, 201, "").Str("token")

	p.Navigate(e.base + "/reset-password?token=" + url.QueryEscape(token))
	p.WaitText("h1", "Crea una contraseña nueva")
	const next = "lluvia sobre Valparaíso 2031"
	p.Fill("Contraseña nueva", next)
	p.Fill("Repite la contraseña nueva", next)
	p.ClickText("Guardar contraseña")
	p.WaitText("main", "Tu contraseña fue restablecida. Ya puedes iniciar sesión.")
	if strings.Contains(p.URL(), token) || strings.Contains(browser.Eval[string](p, `document.documentElement.outerHTML`), token) {
		t.Fatal("the token outlived the reset")
	}
	p.NoProblems()
	login(p, e, "luis", next, "Nombre de usuario", "Contraseña", "Ingresar")
	p.WaitText("h1", "Panel de la institución")
	p.NoProblems()
}

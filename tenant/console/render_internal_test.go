package console

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/auth"
	"github.com/tenancy/platform/tenant/i18n"
)

// renderApp serves one page rendered by s.Render from fill's data.
func renderApp(t *testing.T, s *Console, name string, fill func(*Page)) (int, string) {
	t.Helper()
	cat, err := i18n.NewCatalog()
	if err != nil {
		t.Fatal(err)
	}
	app := fiber.New()
	app.Get("/", func(c *fiber.Ctx) error {
		p := &Page{L: cat.Localizer(i18n.English, i18n.Locale{}), TenantName: "Acme", Kind: tenant.Restaurant,
			Path: "/", Title: "home.title", RequestID: "req-4711", Errors: map[string]string{}, Values: map[string]string{}}
		fill(p)
		return s.Render(c, fiber.StatusOK, name, p)
	})
	res, err := app.Test(httptest.NewRequest("GET", "/", nil))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, string(b)
}

// Every page renders in both languages, for a visitor and for a user
// (a missing message or template argument would stop it).
func TestEveryPageRenders(t *testing.T) {
	t.Parallel()
	pages, err := parseTemplates()
	if err != nil {
		t.Fatal(err)
	}
	s := &Console{pages: pages}
	user := &auth.Principal{Username: "ana", Permissions: []string{auth.PermDataRead, auth.PermUsersRead, auth.PermAuditRead}}
	cat, err := i18n.NewCatalog()
	if err != nil {
		t.Fatal(err)
	}
	for name := range pages {
		for _, lang := range i18n.Langs() {
			for _, u := range []*auth.Principal{nil, user} {
				if name == tplHome && u == nil {
					continue // home is for users only
				}
				status, body := renderApp(t, s, name, func(p *Page) {
					p.L = cat.Localizer(lang, i18n.Locale{})
					p.User, p.Token, p.Notice, p.FormError = u, "tok", "logout.done", "error.internal"
					p.Errors["new_password"] = "bad"
					if u != nil {
						p.CSRF, p.Nav = "csrf-x", navFor(tenant.Restaurant, u, "/")
					}
				})
				if status != 200 || !strings.Contains(body, `<html lang="`+lang.String()+`">`) || !strings.HasSuffix(body, "</html>") {
					t.Errorf("%s %s user=%v: %d %s", name, lang, u != nil, status, body)
				}
				if !strings.Contains(body, "req-4711") {
					t.Errorf("%s %s: the internal error message lacks the request id", name, lang)
				}
			}
		}
	}
}

// A template that fails is the friendly 500 page with the request id,
// never half a page or the cause.
func TestRenderFailureIsFriendly500(t *testing.T) {
	t.Parallel()
	pages, err := parseTemplates()
	if err != nil {
		t.Fatal(err)
	}
	broken, err := pages[tplHome].Clone()
	if err == nil {
		_, err = broken.New("content").Parse(`<p>half a page</p>{{.L.T "no.such.key"}}`)
	}
	if err != nil {
		t.Fatal(err)
	}
	pages["broken"] = broken
	s := &Console{pages: pages}
	status, body := renderApp(t, s, "broken", func(*Page) {})
	if status != 500 || !strings.Contains(body, "report this code: req-4711") || strings.Contains(body, "half a page") ||
		strings.Contains(body, "no.such.key") || !strings.Contains(body, "</html>") {
		t.Fatalf("%d %s", status, body)
	}
}

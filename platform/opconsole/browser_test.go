package opconsole_test

import (
	"context"
	"github.com/chromedp/chromedp"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"

	"github.com/tenancy/platform/platform/importer/importtest"
	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/platform/platformtest/browser"
	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/resolve"
	"github.com/tenancy/platform/tenant/router"
)

// tenantHost is the tenant router over e's catalog (its resolver follows
// the catalog's notifications), answering for the host of slug: the
// status and body of GET /.
func tenantHost(t *testing.T, e *env) func(slug string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(e.te.Ctx)
	t.Cleanup(cancel)
	if _, err := e.te.Catalog.EnsureBaseDomain(ctx, "localhost"); err != nil {
		t.Fatal(err)
	}
	res := resolve.New(e.te.Catalog, resolve.Options{})
	if err := res.Start(ctx); err != nil {
		t.Fatal(err)
	}
	app := router.New(router.Config{Resolver: res})
	return func(slug string) (int, string) {
		t.Helper()
		r, err := app.Test(httptest.NewRequest("GET", "http://"+slug+".localhost/api/tenant", nil), -1)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		b, err := io.ReadAll(r.Body)
		if err != nil {
			t.Fatal(err)
		}
		return r.StatusCode, string(b)
	}
}

// TestOperatorBrowser: in chromium, the operator logs in with the token,
// creates a tenant (the password shown once), suspends it (the tenant's
// host answers suspended through the tenant router; the catalog and the
// list say so), resumes it, backs it up and watches the job page
// refresh itself to done, and switches the language; no page has a CSP
// violation, console error or failed request.
func TestOperatorBrowser(t *testing.T) {
	t.Parallel()
	e := newEnv(t, options{backups: true})
	host := tenantHost(t, e)
	p := shared.Page(t, browser.Lang("es-CL", "es"))
	p.Navigate(e.base + "/")
	p.WaitText("h1", "Ingreso de operadores")
	p.NoProblems()
	p.Fill("Token de operador", testToken+"-wrong")
	p.ClickText("Ingresar")
	p.WaitText("#err-token", "El token de operador no es correcto.")
	p.ClearProblems() // the 401 of the refused form
	p.Fill("Token de operador", testToken)
	p.ClickText("Ingresar")
	p.WaitText("h1", "Clientes")
	c, ok := p.Cookie("op_session")
	if !ok || !c.HTTPOnly || c.SameSite != network.CookieSameSiteStrict {
		t.Fatalf("session cookie %+v", c)
	}
	p.NoProblems()

	slug := platformtest.Slug("brw")
	p.ClickText("Crear cliente")
	p.WaitText("h1", "Crear cliente")
	p.Fill("slug", slug)
	p.Fill("kind", "restaurant")
	p.Fill("name", "Restorán del Navegador")
	p.ClickText("Crear cliente")
	p.WaitText("h1", "Cliente creado")
	pw := p.Text("#admin-password")
	if len(pw) < 12 {
		t.Fatalf("password %q", pw)
	}
	if strings.Contains(p.URL(), pw) {
		t.Fatal("the password is in the URL")
	}
	p.NoProblems()
	p.ClickText("Ir al cliente")
	p.WaitText("h1", "Restorán del Navegador")
	if strings.Contains(p.Text("main"), pw) {
		t.Fatal("the tenant page shows the password")
	}

	platformtest.Eventually(t, 30*time.Second, "the new tenant's host answers", func() bool {
		code, body := host(slug)
		return code == 200 && strings.Contains(body, slug)
	})
	p.ClickText("Suspender")
	p.WaitText("[role=status]", "El cliente quedó suspendido")
	p.WaitText("#tenant-status", "suspendido")
	if tn, err := e.te.Catalog.TenantBySlug(e.te.Ctx, slug); err != nil || tn.Status != tenant.StatusSuspended {
		t.Fatalf("catalog after suspend: %v %v", tn, err)
	}
	platformtest.Eventually(t, 30*time.Second, "the tenant host answers suspended", func() bool {
		code, body := host(slug)
		return code == 403 && strings.Contains(body, tenant.ETenantSuspended)
	})
	p.NoProblems()
	p.Navigate(e.base + "/tenants?status=suspended")
	p.WaitText("tbody", slug)
	p.Navigate(e.base + "/tenants/" + slug)
	p.ClickText("Reanudar")
	p.WaitText("[role=status]", "El cliente volvió a estar activo.")
	p.WaitText("#tenant-status", "activo")
	platformtest.Eventually(t, 30*time.Second, "the tenant host answers again", func() bool {
		code, _ := host(slug)
		return code == 200
	})
	p.NoProblems()

	p.ClickText("Respaldar ahora")
	p.WaitText("h1", "Tarea: respaldo")
	p.WaitText("#job-status", "listo") // refreshes itself: no script, no click
	p.WaitText("main", "Listo.")
	p.NoProblems()
	p.ClickText("Ver respaldos")
	p.WaitText("tbody", "manual")
	p.NoProblems()

	p.ClickText("English")
	p.WaitText("h1", "Backups")
	p.Navigate(e.base + "/tenants")
	p.WaitText("h1", "Tenants")
	p.NoProblems()
	p.ClickText("Sign out")
	p.WaitText("main", "You have signed out.")
	if _, ok := p.Cookie("op_session"); ok {
		t.Error("the session cookie outlived the logout")
	}
	p.NoProblems()
}

// TestOperatorScreenshots writes the main screens, es and en, desktop,
// to -screenshots (make screenshots: docs/screenshots).
func TestOperatorScreenshots(t *testing.T) {
	t.Parallel()
	dir := *screenshots
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, options{backups: true})
	inst := e.te.Create(t, tenant.Institution)
	sisca := importtest.Sisca(t, importtest.Options{Orphans: 1, Duplicates: 1}) // the import screen's source
	for _, lang := range []struct{ tag, code, login, created, backup, imp, dry string }{
		{"es-CL", "es", "Ingresar", "Crear cliente", "Respaldar ahora", "Importar", "Simulación terminada"},
		{"en-US", "en", "Sign in", "Create tenant", "Back up now", "Import", "Dry run done"},
	} {
		p := shared.Page(t, browser.Lang(lang.tag), browser.Size(browser.Desktop))
		shot := func(screen string) {
			t.Helper()
			p.NoProblems()
			p.Screenshot(filepath.Join(dir, "operator-"+screen+"-"+lang.code+"-desktop.png"))
		}
		p.Navigate(e.base + "/login")
		p.WaitText("button.primary", lang.login)
		shot("login")
		p.Fill("token", testToken)
		p.ClickText(lang.login)
		p.WaitText("tbody", "inst-")
		shot("tenants")
		p.Navigate(e.base + "/tenants/new")
		p.Fill("slug", platformtest.Slug("shot"+lang.code))
		p.Fill("kind", "restaurant")
		p.Fill("name", "Café Central")
		p.ClickText(lang.created)
		p.WaitText("#admin-password", "")
		shot("created")
		p.Click(".actions a")
		p.WaitText("#tenant-status", "")
		shot("tenant")
		p.ClickText(lang.backup)
		p.WaitText("#job-status", map[string]string{"es": "listo", "en": "done"}[lang.code])
		shot("job")
		// A dry run of the SISCA fixture (MariaDB) into the institution.
		p.Navigate(e.base + "/tenants/" + inst.Slug + "/import")
		p.Fill("mapping", "sisca")
		p.Fill("from", sisca)
		p.Click("form.form button.primary")
		p.WaitText("main", lang.dry) // on the import job's page, once it ended
		p.WaitText("#import-orphans", "")
		p.WaitText("#import-duplicates", "")
		p.Do(chromedp.ScrollIntoView("#import-check"))
		shot("import")
	}
}

package console_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/tenancy/platform/platform/platformtest/browser"
	"github.com/tenancy/platform/tenant"
)

// setValue sets an input's value as a date picker would (typing into a
// date input depends on the browser's locale).
func setValue(p *browser.Page, id, value string) {
	sel := chromedp.CSS("#" + id)
	p.Do(chromedp.WaitReady(sel), chromedp.SetValue(sel, value))
}

// In a real browser, in Spanish: a create refused at its field and then
// fixed, an edit, a cascading delete counted before and after, and a
// restricted delete showing what blocks it and no delete button.
func TestDataBrowserFormsAndDeletes(t *testing.T) {
	t.Parallel()
	e := newDataEnv(t, tenant.Institution)
	admin := e.h.Admin(t, e.tn)
	period, teacher := institutionData(t, admin)
	p := adminPage(t, e, false)
	p.ClickText("Periodos")
	p.WaitText("h1", "Periodos")
	p.WaitText("table", "2026-1")
	p.ClickText("Nuevo")
	p.WaitText("h1", "Nuevo")
	p.NoProblems()
	p.Fill("Código", "2026-2")
	p.Fill("Nombre", "Segundo semestre")
	setValue(p, "f-starts_on", "2026-08-01")
	setValue(p, "f-ends_on", "2026-07-01")
	p.ClickText("Crear")
	p.WaitText("#err-ends_on", "Debe ser posterior a «Comienza el» (1 de agosto de 2026)")
	if d := browser.Eval[string](p, `document.getElementById("f-ends_on").getAttribute("aria-describedby")`); d != "err-ends_on" {
		t.Fatalf("aria-describedby %q", d)
	}
	if v := browser.Eval[string](p, `document.getElementById("f-name").value`); v != "Segundo semestre" {
		t.Fatalf("the name was lost: %q", v)
	}
	onlyRefusedForms(t, p, "/data/periods/new")
	setValue(p, "f-ends_on", "2026-12-15")
	p.ClickText("Crear")
	p.WaitText(".notice", "Se creó el registro.")
	p.NoProblems()

	p.Fill("Nombre", "Semestre de primavera")
	p.ClickText("Guardar")
	p.WaitText(".notice", "Se guardaron los cambios.")
	if v := browser.Eval[string](p, `document.getElementById("f-name").value`); v != "Semestre de primavera" {
		t.Fatalf("after the edit the name is %q", v)
	}
	p.NoProblems()

	// The teacher of the load: the delete is blocked, no delete button.
	p.Navigate(e.base + "/data/teachers/" + strconv.FormatInt(teacher, 10) + "/delete")
	p.WaitText("main", "No se puede eliminar")
	p.WaitText("ul.counts", "1 carga docente")
	if browser.Eval[bool](p, `document.querySelector("main form button") !== null`) {
		t.Fatal("a blocked delete offers its button")
	}
	p.NoProblems()

	// The load's period: the load goes with it, counted before and after.
	p.Navigate(e.base + "/data/periods/" + strconv.FormatInt(period, 10))
	p.ClickText("Eliminar")
	p.WaitText("main", "Esto también eliminará:")
	p.WaitText("ul.counts", "1 carga docente")
	p.ClickText("Eliminar")
	p.WaitText(".notice", "Se eliminó el registro.")
	p.WaitText("ul.counts", "1 carga docente")
	p.NoProblems()

}

// In English: the list's filter form and its pages.
func TestDataBrowserListEnglish(t *testing.T) {
	t.Parallel()
	e := newDataEnv(t, tenant.Institution)
	admin := e.h.Admin(t, e.tn)
	for _, code := range []string{"2026-1", "2026-2", "2027-1"} {
		admin.Do("POST", "/api/periods", map[string]any{"code": code, "name": "Term " + code,
			"starts_on": code[:4] + "-03-01", "ends_on": code[:4] + "-07-01", "active": code != "2026-2"}).Want(t, 201, "")
	}
	p := adminPage(t, e, true)
	p.ClickText("Periods")
	p.WaitText("h1", "Periods")
	p.Fill("active", "true")
	p.ClickText("Filter")
	p.WaitText("main", "Clear filters")
	if got := p.Text("table"); !strings.Contains(got, "2026-1") || !strings.Contains(got, "2027-1") || strings.Contains(got, "2026-2") {
		t.Fatalf("filtered list %q", got)
	}
	if got := p.Text("thead"); !strings.Contains(got, "Starts on") || !strings.Contains(got, "Active") {
		t.Fatalf("columns %q", got)
	}
	p.Navigate(e.base + "/data/periods?limit=2")
	p.WaitText("table", "2026-2")
	p.ClickText("Next page")
	p.WaitText("table", "2027-1")
	if got := p.Text("table"); strings.Contains(got, "2026-1") {
		t.Fatalf("second page %q", got)
	}
	p.NoProblems()
}

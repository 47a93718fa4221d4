package console_test

import (
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/console"
	"github.com/tenancy/platform/tenant/domaintest"
	"github.com/tenancy/platform/tenant/institution"
	"github.com/tenancy/platform/tenant/restaurant"
)

// newDataEnv is newEnv with both kinds' resources mounted and the console's
// domain screens on them (Config.API), the audit naming the console's user.
func newDataEnv(t *testing.T, kind tenant.Kind) *env {
	t.Helper()
	h := domaintest.NewWith(t, domaintest.Options{Principal: console.Principal, Pages: func(d domaintest.Deps, r fiber.Router) {
		if _, err := console.Mount(r, console.Config{Service: d.Service, Sessions: d.Sessions, Secrets: d.Secrets,
			Pools: d.Pools, Proxies: d.Proxies, Tenant: d.Tenant, Logger: d.Logger, API: d.API}); err != nil {
			t.Fatal(err)
		}
	}}, restaurant.Mount, institution.Mount)
	tn := h.Tenant(t, kind)
	_, port, err := net.SplitHostPort(h.Addr())
	if err != nil {
		t.Fatal(err)
	}
	return &env{h: h, tn: tn, base: "http://" + tn.Slug + ".localhost:" + port}
}

// institutionData makes a period with one teaching load (by its teacher).
func institutionData(t *testing.T, admin *domaintest.Client) (period, teacher int64) {
	t.Helper()
	period = admin.Do("POST", "/api/periods", map[string]any{"code": "2026-1", "name": "Primer semestre",
		"starts_on": "2026-03-02", "ends_on": "2026-07-17"}).Want(t, 201, "").ID()
	program := admin.Do("POST", "/api/programs", map[string]any{"code": "INF", "name": "Informática"}).Want(t, 201, "").ID()
	subject := admin.Do("POST", "/api/subjects", map[string]any{"code": "MAT101", "name": "Cálculo", "hours_per_week": 4}).Want(t, 201, "").ID()
	group := admin.Do("POST", "/api/groups", map[string]any{"program_id": program, "code": "INF-1A", "semester": 1}).Want(t, 201, "").ID()
	teacher = admin.Do("POST", "/api/teachers", map[string]any{"employee_number": "D1", "full_name": "Ana Soto"}).Want(t, 201, "").ID()
	admin.Do("POST", "/api/teaching-loads", map[string]any{"period_id": period, "group_id": group, "teacher_id": teacher,
		"subject_id": subject, "hours": 2}).Want(t, 201, "")
	return period, teacher
}

// loginData logs f in as the admin whose password the harness's Admin
// changed, returning the page token.
func (f *form) loginData() string {
	f.t.Helper()
	f.loginAs(f.e.tn.AdminUsername, domaintest.Password)
	return csrf(f.t, f.get("/sessions").want(f.t, 200).Body)
}

var createdAt = regexp.MustCompile(`^/data/periods/(\d+)\?done=created$`)

// A create refused at its field (message tied to the input, values
// kept), then fixed; an edit; both audited as the console's user through
// the API's path.
func TestDataCreateEdit(t *testing.T) {
	t.Parallel()
	e := newDataEnv(t, tenant.Institution)
	admin := e.h.Admin(t, e.tn)
	f := e.form(t)
	tok := f.loginData()
	page := f.get("/data/periods/new").want(t, 200)
	for _, want := range []string{`name="csrf"`, `id="f-code"`, `type="date"`, `name="active" type="checkbox"`, "Código"} {
		if !strings.Contains(page.Body, want) {
			t.Fatalf("create form lacks %q: %s", want, page.Body)
		}
	}
	bad := url.Values{"csrf": {tok}, "code": {"2026-2"}, "name": {"Segundo semestre"}, "starts_on": {"2026-08-01"}, "ends_on": {"2026-07-01"}}
	r := f.post("/data/periods/new", bad).want(t, 422)
	for _, want := range []string{`id="f-ends_on" name="ends_on" type="date" value="2026-07-01"`, `aria-describedby="err-ends_on"`,
		`<p class="field-error" id="err-ends_on">Termina el: Debe ser posterior a «Comienza el» (1 de agosto de 2026).</p>`, `value="Segundo semestre"`} {
		if !strings.Contains(r.Body, want) {
			t.Fatalf("refused create lacks %q: %s", want, r.Body)
		}
	}
	r = f.post("/data/periods/new", url.Values{"csrf": {tok}, "code": {"2026-3"}, "starts_on": {"2026-08-01"}}).want(t, 422)
	if !strings.Contains(r.Body, `<p class="field-error" id="err-name">Nombre: Este campo es obligatorio.</p>`) ||
		!strings.Contains(r.Body, `id="err-ends_on"`) {
		t.Fatalf("missing fields: %s", r.Body)
	}
	bad.Set("ends_on", "2026-12-15")
	bad.Set("active", "on")
	r = f.post("/data/periods/new", bad).want(t, 303)
	m := createdAt.FindStringSubmatch(r.Location)
	if m == nil {
		t.Fatalf("create redirects to %q", r.Location)
	}
	id := m[1]
	got := admin.Do("GET", "/api/periods/"+id, nil).Want(t, 200, "")
	if got.Str("ends_on") != "2026-12-15" || got.Body["active"] != true || got.Str("name") != "Segundo semestre" {
		t.Fatalf("stored %s", got.Raw)
	}
	page = f.get(r.Location).want(t, 200)
	if !strings.Contains(page.Body, "Se creó el registro.") || !strings.Contains(page.Body, `value="2026-2"`) {
		t.Fatalf("item page: %s", page.Body)
	}
	// Edit: the name changes, the checkbox unticked is false.
	r = f.post("/data/periods/"+id, url.Values{"csrf": {tok}, "code": {"2026-2"}, "name": {"Semestre de primavera"},
		"starts_on": {"2026-08-01"}, "ends_on": {"2026-12-15"}}).want(t, 303)
	if r.Location != "/data/periods/"+id+"?done=saved" {
		t.Fatalf("save redirects to %q", r.Location)
	}
	got = admin.Do("GET", "/api/periods/"+id, nil).Want(t, 200, "")
	if got.Str("name") != "Semestre de primavera" || got.Body["active"] != false {
		t.Fatalf("after the edit: %s", got.Raw)
	}
	// A duplicate code: 409, shown at the field.
	r = f.post("/data/periods/new", url.Values{"csrf": {tok}, "code": {"2026-2"}, "name": {"X"}, "starts_on": {"2026-01-01"},
		"ends_on": {"2026-02-01"}}).want(t, 409)
	if !strings.Contains(r.Body, `<p class="field-error" id="err-code">Código: Ya existe un registro con este valor.</p>`) {
		t.Fatalf("duplicate not at its field: %s", r.Body)
	}
	audit := string(admin.Do("GET", "/api/audit?entity=period", nil).Want(t, 200, "").Raw)
	for _, want := range []string{`"period.create"`, `"period.update"`, `"actor":"` + e.tn.AdminUsername + `"`} {
		if !strings.Contains(audit, want) {
			t.Fatalf("audit lacks %s: %s", want, audit)
		}
	}
}

// A restricted delete names its blocking dependents and offers no delete
// button; a cascading one counts what goes before and after.
func TestDataDelete(t *testing.T) {
	t.Parallel()
	e := newDataEnv(t, tenant.Institution)
	admin := e.h.Admin(t, e.tn)
	period, teacher := institutionData(t, admin)
	f := e.form(t)
	tok := f.loginData()
	tp := "/data/teachers/" + strconv.FormatInt(teacher, 10) + "/delete"
	r := f.get(tp).want(t, 200)
	if !strings.Contains(r.Body, "No se puede eliminar") || !strings.Contains(r.Body, `data-resource="teaching_loads">1 carga docente</li>`) ||
		strings.Contains(r.Body, `action="`+tp+`"`) {
		t.Fatalf("restricted delete page: %s", r.Body)
	}
	// Posting anyway is refused by the database's rule, nothing deleted.
	f.post(tp, url.Values{"csrf": {tok}}).want(t, 409)
	admin.Do("GET", "/api/teachers/"+strconv.FormatInt(teacher, 10), nil).Want(t, 200, "")

	pp := "/data/periods/" + strconv.FormatInt(period, 10) + "/delete"
	r = f.get(pp).want(t, 200)
	if !strings.Contains(r.Body, `data-resource="teaching_loads">1 carga docente</li>`) || !strings.Contains(r.Body, `action="`+pp+`"`) {
		t.Fatalf("cascading delete page: %s", r.Body)
	}
	admin.Do("GET", "/api/periods/"+strconv.FormatInt(period, 10), nil).Want(t, 200, "") // the preview deleted nothing
	r = f.post(pp, url.Values{"csrf": {tok}}).want(t, 200)
	if !strings.Contains(r.Body, "Se eliminó el registro.") || !strings.Contains(r.Body, `data-resource="teaching_loads">1 carga docente</li>`) {
		t.Fatalf("after the delete: %s", r.Body)
	}
	admin.Do("GET", "/api/periods/"+strconv.FormatInt(period, 10), nil).Want(t, 404, "not_found")
	if got := admin.Do("GET", "/api/teaching-loads", nil).Want(t, 200, "").Items(); len(got) != 0 {
		t.Fatalf("teaching loads left: %v", got)
	}
}

// The list: columns, formatted values, a filter, pages with the cursor, in
// es and en.
func TestDataListFiltersPages(t *testing.T) {
	t.Parallel()
	e := newDataEnv(t, tenant.Restaurant)
	admin := e.h.Admin(t, e.tn)
	cat := admin.Do("POST", "/api/menu-categories", map[string]any{"name": "Fondos"}).Want(t, 201, "").ID()
	for i, name := range []string{"Lomo", "Pastel", "Cazuela"} {
		admin.Do("POST", "/api/menu-items", map[string]any{"category_id": cat, "name": name, "price_cents": 1250000 + i,
			"available": i != 1}).Want(t, 201, "")
	}
	f := e.form(t)
	f.loginData()
	r := f.get("/data/menu_items?available=true&limit=1").want(t, 200)
	cats := "/data/menu_categories/" + strconv.FormatInt(cat, 10)
	for _, want := range []string{"Lomo", `<a href="` + cats + `">`, "Sí", `href="/data/menu_items/new"`, `aria-current="page"`} {
		if !strings.Contains(r.Body, want) {
			t.Fatalf("list lacks %q: %s", want, r.Body)
		}
	}
	if strings.Contains(r.Body, "Pastel") || strings.Contains(r.Body, "Cazuela") {
		t.Fatalf("first page shows more: %s", r.Body)
	}
	next := regexp.MustCompile(`<a href="([^"]+)" rel="next">Página siguiente</a>`).FindStringSubmatch(r.Body)
	if next == nil {
		t.Fatalf("no next page: %s", r.Body)
	}
	r = f.get(strings.ReplaceAll(next[1], "&amp;", "&")).want(t, 200)
	if !strings.Contains(r.Body, "Cazuela") || strings.Contains(r.Body, "Lomo") || strings.Contains(r.Body, "Pastel") {
		t.Fatalf("second page: %s", r.Body)
	}
	r = f.do("GET", "/data/menu_items?available=false", nil, "Cookie", "lang=en")
	if r.Status != 200 || !strings.Contains(r.Body, "Pastel") || !strings.Contains(r.Body, "No") || strings.Contains(r.Body, "Lomo") ||
		!strings.Contains(r.Body, ">Price<") {
		t.Fatalf("en list: %d %s", r.Status, r.Body)
	}
	if r := f.get("/data/menu_items?price_cents=3").want(t, 422); !strings.Contains(r.Body, "alert") {
		t.Fatalf("a refused filter: %s", r.Body)
	}
	// Orders and reservations have screens of their own (restaurant.go):
	// their generic screens send there.
	for path, to := range map[string]string{"/data/orders": "/orders", "/data/orders/new": "/orders/new",
		"/data/orders/7": "/orders/7", "/data/reservations": "/reservations", "/data/reservations/new": "/reservations/new"} {
		if r := f.get(path).want(t, 303); r.Location != to {
			t.Fatalf("%s → %q, want %s", path, r.Location, to)
		}
	}
	// A time range in the tenant's zone, as the datetime-local inputs send it.
	if r := f.get("/data/customer_messages").want(t, 200); !strings.Contains(r.Body, `name="created_at_from" type="datetime-local"`) {
		t.Fatalf("customer messages' filters: %s", r.Body)
	}
	f.get("/data/customer_messages?created_at_from=2000-01-01T00%3A00&created_at_to=").want(t, 200)
	f.get("/data/customer_messages?created_at_from=yesterday").want(t, 422)
	f.get("/data/branches/new").want(t, 200)
	// A reference with few rows is a select of them, the current one chosen.
	r = f.get("/data/menu_items/new").want(t, 200)
	if want := `<option value="` + strconv.FormatInt(cat, 10) + `">` + strconv.FormatInt(cat, 10) + ` · Fondos</option>`; !strings.Contains(r.Body, want) ||
		!strings.Contains(r.Body, `<select id="f-category_id" name="category_id" required>`) {
		t.Fatalf("the category select lacks %s: %s", want, r.Body)
	}
	item := int64(admin.Do("GET", "/api/menu-items", nil).Want(t, 200, "").Items()[0]["id"].(float64))
	r = f.get("/data/menu_items/"+strconv.FormatInt(item, 10)).want(t, 200)
	if want := `<option value="` + strconv.FormatInt(cat, 10) + `" selected>`; !strings.Contains(r.Body, want) {
		t.Fatalf("the item's category is not chosen (%s): %s", want, r.Body)
	}
}

// A teacher (data.read) reads but gets 403 on the forms and POSTs; forms
// without the token are refused; the other kind's resources are 404.
func TestDataDenied(t *testing.T) {
	t.Parallel()
	e := newDataEnv(t, tenant.Institution)
	admin := e.h.Admin(t, e.tn)
	period, _ := institutionData(t, admin)
	ps := strconv.FormatInt(period, 10)
	admin.Do("POST", "/api/users", map[string]any{"username": "luis", "email": "luis@example.test", "full_name": "Luis",
		"password": domaintest.Password, "roles": []string{"teacher"}, "must_change_password": false}).Want(t, 201, "")
	anon := e.form(t)
	if r := anon.get("/data/periods").want(t, 303); r.Location != "/login" {
		t.Fatalf("anonymous → %q", r.Location)
	}
	f := e.form(t)
	f.loginAs("luis", domaintest.Password)
	r := f.get("/data/periods").want(t, 200)
	if strings.Contains(r.Body, "/data/periods/new") {
		t.Fatal("a reader is offered a create")
	}
	if r := f.get("/data/periods/"+ps).want(t, 200); strings.Contains(r.Body, "<form method=\"post\" action=\"/data/periods/"+ps) {
		t.Fatal("a reader gets the edit form")
	}
	tok := csrf(t, r.Body)
	for _, path := range []string{"/data/periods/new", "/data/periods/" + ps + "/delete"} {
		f.get(path).want(t, 403)
	}
	for _, path := range []string{"/data/periods/new", "/data/periods/" + ps, "/data/periods/" + ps + "/delete"} {
		f.post(path, url.Values{"csrf": {tok}, "name": {"X"}}).want(t, 403)
	}
	// CSRF: the admin without the token, or with a wrong one.
	a := e.form(t)
	good := a.loginData()
	for _, v := range []url.Values{{"name": {"X"}}, {"csrf": {good + "x"}, "name": {"X"}}} {
		a.post("/data/periods/"+ps, v).want(t, 403)
		a.post("/data/periods/"+ps+"/delete", v).want(t, 403)
		a.post("/data/periods/new", v).want(t, 403)
	}
	admin.Do("GET", "/api/periods/"+ps, nil).Want(t, 200, "")
	// Kind isolation: a restaurant resource on an institution tenant.
	for _, path := range []string{"/data/branches", "/data/branches/new", "/data/menu_items/1", "/data/nothing"} {
		if r := a.get(path).want(t, 404); !strings.Contains(r.Body, "No encontramos") {
			t.Fatalf("%s: not the 404 page: %.300s", path, r.Body)
		}
	}
}

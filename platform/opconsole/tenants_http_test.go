package opconsole_test

import (
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/tenant"
)

// TestCreateSuspendResumeDelete: per-field errors keep the values and
// create nothing; the created tenant's password is on the result page
// only (no-store, no referrer) and never in a URL; suspend and resume are
// the service's (audited as the console's); a wrong typed confirmation
// deletes nothing; the API still answers beside the console.
func TestCreateSuspendResumeDelete(t *testing.T) {
	t.Parallel()
	e := newEnv(t, options{})
	c := e.client(t)
	tok := c.login(testToken)

	r := c.post("/tenants", url.Values{"csrf": {tok}, "slug": {"Bad Slug"}, "kind": {"bakery"}, "name": {""},
		"time_zone": {"Mars/Olympus"}, "domains": {"no_dots"}}).want(t, 422)
	for _, f := range []string{"slug", "kind", "name", "time_zone", "domains"} {
		if !strings.Contains(r.Body, `id="err-`+f+`"`) {
			t.Errorf("no error for %s", f)
		}
	}
	if !strings.Contains(r.Body, `value="Bad Slug"`) || !strings.Contains(r.Body, `aria-describedby="err-slug hint-slug"`) {
		t.Errorf("the form lost its values or its error binding: %s", r.Body)
	}
	if ts, err := e.te.Service.List(e.te.Ctx, tenantFilter()); err != nil || len(ts) != 0 {
		t.Fatalf("tenants after a refused form: %d %v", len(ts), err)
	}

	slug := platformtest.Slug("opc")
	r = c.post("/tenants", url.Values{"csrf": {tok}, "slug": {slug}, "kind": {"restaurant"}, "name": {"Café Uno"},
		"time_zone": {"America/Santiago"}}).want(t, 201)
	pw := between(r.Body, `<p class="secret" id="admin-password">`, `</p>`)
	if len(pw) < 12 || r.Header.Get("Cache-Control") != "no-store" || r.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Fatalf("result page: password %q, headers %v", pw, r.Header)
	}
	if r.Location != "" {
		t.Fatalf("the result is a redirect to %q", r.Location)
	}
	if strings.Contains(r.Body, testToken) {
		t.Fatal("the token is on the result page")
	}
	for _, path := range []string{"/tenants", "/tenants/" + slug} {
		if body := c.get(path).want(t, 200).Body; strings.Contains(body, pw) || !strings.Contains(body, slug) {
			t.Errorf("%s shows the password, or not the tenant", path)
		}
	}
	r = c.post("/tenants", url.Values{"csrf": {tok}, "slug": {slug}, "kind": {"restaurant"}, "name": {"Again"}}).want(t, 409)
	if !strings.Contains(r.Body, "Ese identificador ya está en uso.") || strings.Contains(r.Body, "secret") {
		t.Errorf("taken slug: %s", r.Body)
	}

	if r := c.post("/tenants/"+slug+"/suspend", url.Values{"csrf": {tok}}).want(t, 303); r.Location != "/tenants/"+slug+"?done=suspended" {
		t.Fatalf("suspend redirects to %q", r.Location)
	}
	status := func() tenant.Status {
		t.Helper()
		got, err := e.te.Catalog.TenantBySlug(e.te.Ctx, slug)
		if err != nil {
			t.Fatal(err)
		}
		return got.Status
	}
	if s := status(); s != tenant.StatusSuspended {
		t.Fatalf("after suspend: %s", s)
	}
	if body := c.get("/tenants?status=suspended").want(t, 200).Body; !strings.Contains(body, slug) {
		t.Error("the suspended filter lacks the tenant")
	}
	if body := c.get("/tenants?status=active").want(t, 200).Body; strings.Contains(body, slug) {
		t.Error("the active filter has the suspended tenant")
	}
	c.get("/tenants?status=bogus").want(t, 422)
	c.post("/tenants/"+slug+"/resume", url.Values{"csrf": {tok}}).want(t, 303)
	if s := status(); s != tenant.StatusActive {
		t.Fatalf("after resume: %s", s)
	}
	if rows := e.audit(t, "tenant.suspend"); len(rows) != 1 || rows[0] != "console:"+e.ops.Fingerprint()+" console succeeded" {
		t.Errorf("suspend audit %q", rows)
	}
	// An unknown tenant: the service's refusal, as a page.
	if r := c.post("/tenants/nosuch-tenant/suspend", url.Values{"csrf": {tok}}).want(t, 404); !strings.Contains(r.Body, "No existe.") {
		t.Errorf("not found page: %s", r.Body)
	}

	c.get("/tenants/"+slug+"/delete").want(t, 200)
	r = c.post("/tenants/"+slug+"/delete", url.Values{"csrf": {tok}, "confirm": {slug + "x"}}).want(t, 422)
	if !strings.Contains(r.Body, `id="err-confirm"`) || status() != tenant.StatusActive {
		t.Fatalf("wrong confirmation: %s, status %s", r.Body, status())
	}
	if r := c.post("/tenants/"+slug+"/delete", url.Values{"csrf": {tok}, "confirm": {slug}}).want(t, 303); r.Location != "/tenants?done=deleted" {
		t.Fatalf("delete redirects to %q", r.Location)
	}
	if s := status(); s != tenant.StatusDeleted {
		t.Fatalf("after delete: %s", s)
	}
	c.get("/tenants/nosuch-tenant").want(t, 404)

	if code := e.api(t, "GET", "/v1/tenants", testToken); code != 200 {
		t.Errorf("the API beside the console: %d", code)
	}
	if code := e.api(t, "GET", "/v1/tenants", ""); code != 401 {
		t.Errorf("the API without a token: %d", code)
	}
}

// TestDisabledAndBackupsOff: without an operator token every page says
// the console is disabled (503) while health answers; without backups
// the backup pages say so (503).
func TestDisabledAndBackupsOff(t *testing.T) {
	t.Parallel()
	te := newEnv(t, options{}).te
	off := newEnvOn(t, te, options{noToken: true})
	c := off.client(t)
	for _, path := range []string{"/", "/login", "/tenants"} {
		if r := c.get(path).want(t, 503); !strings.Contains(r.Body, "PLATFORM_OPERATOR_TOKEN") {
			t.Errorf("%s: %s", path, r.Body)
		}
	}
	c.post("/login", url.Values{"token": {"anything-at-all-0123456789abcdef"}}).want(t, 503)
	if code := off.api(t, "GET", "/v1/tenants", testToken); code != 503 {
		t.Errorf("API without a token: %d", code)
	}

	on := newEnvOn(t, te, options{})
	tn := te.Create(t, tenant.Restaurant)
	c = on.client(t)
	tok := c.login(testToken)
	if r := c.get("/tenants/"+tn.Slug+"/backups").want(t, 503); !strings.Contains(r.Body, "PLATFORM_BACKUP_URL") {
		t.Errorf("backups off: %s", r.Body)
	}
	c.post("/tenants/"+tn.Slug+"/backups", url.Values{"csrf": {tok}}).want(t, 503)
	if body := c.get("/tenants/"+tn.Slug).want(t, 200).Body; !strings.Contains(body, "no están configurados") {
		t.Errorf("tenant page without backups: %s", body)
	}
}

func between(s, start, end string) string {
	i := strings.Index(s, start)
	if i < 0 {
		return ""
	}
	s = s[i+len(start):]
	j := strings.Index(s, end)
	if j < 0 {
		return ""
	}
	return s[:j]
}

// TestTenantsListPages: pages with previous and next links that keep the
// filters; the kind and text filters; each row's schema version against
// the latest and its last backup.
func TestTenantsListPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t, options{pageSize: 1})
	r1 := e.te.Create(t, tenant.Restaurant)
	r2 := e.te.Create(t, tenant.Restaurant)
	in := e.te.Create(t, tenant.Institution)
	c := e.client(t)
	c.login(testToken)
	first, second := r1.Slug, r2.Slug
	if second < first {
		first, second = second, first
	}
	p1 := c.get("/tenants?kind=restaurant").want(t, 200).Body
	if !strings.Contains(p1, first) || strings.Contains(p1, second) || strings.Contains(p1, in.Slug) ||
		!strings.Contains(p1, `href="/tenants?page=2&amp;kind=restaurant"`) || !strings.Contains(p1, "2 clientes") || !strings.Contains(p1, "Página 1 de 2") {
		t.Fatalf("page 1: %s", p1)
	}
	if m := regexp.MustCompile(`<td>(\d+) / (\d+)</td>`).FindStringSubmatch(p1); m == nil || m[1] != m[2] || m[1] == "0" {
		t.Errorf("schema version against the latest: %v", m)
	}
	p2 := c.get("/tenants?page=2&kind=restaurant").want(t, 200).Body
	if !strings.Contains(p2, second) || strings.Contains(p2, first) || !strings.Contains(p2, `href="/tenants?page=1&amp;kind=restaurant"`) {
		t.Fatalf("page 2: %s", p2)
	}
	if q := c.get("/tenants?q="+in.Slug[:8]).want(t, 200).Body; !strings.Contains(q, in.Slug) || strings.Contains(q, first) {
		t.Fatalf("text filter: %s", q)
	}
	if none := c.get("/tenants?q=zzzz-nothing").want(t, 200).Body; !strings.Contains(none, "Ningún cliente coincide.") {
		t.Errorf("empty result: %s", none)
	}
	c.get("/tenants?kind=bakery").want(t, 422)
}

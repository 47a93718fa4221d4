package console_test

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/tenancy/platform/platform/platformtest/browser"
	"github.com/tenancy/platform/platform/platformtest/tenanttest"
	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/console"
	"github.com/tenancy/platform/tenant/domaintest"
)

// screenshots is where TestScreenshots writes its PNGs (make screenshots:
// docs/screenshots); empty: a temporary directory.
var screenshots = flag.String("screenshots", "", "directory for the console's screenshots")

// shared is the package's one chromium; each test opens its own pages.
var shared *browser.Browser

func TestMain(m *testing.M) {
	flag.Parse()
	b, err := browser.Launch(context.Background(), browser.Config{Bin: os.Getenv(browser.EnvBin)})
	if err != nil {
		fmt.Fprintln(os.Stderr, err) // unset variable included: fail, do not skip
		os.Exit(1)
	}
	shared = b
	code := m.Run()
	if err := b.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	os.Exit(code)
}

// env is one test's console over a real tenant.
type env struct {
	h    *domaintest.Harness
	tn   *tenanttest.Tenant
	base string // http://<slug>.localhost:<port>
}

// newEnv starts a harness with the console mounted (its Config changed
// by opts) and provisions a tenant of kind.
func newEnv(t *testing.T, kind tenant.Kind, opts ...func(*console.Config)) *env {
	t.Helper()
	h := domaintest.NewWith(t, domaintest.Options{Pages: func(d domaintest.Deps, r fiber.Router) {
		cfg := console.Config{Service: d.Service, Sessions: d.Sessions, Secrets: d.Secrets,
			Pools: d.Pools, Proxies: d.Proxies, Tenant: d.Tenant, Logger: d.Logger}
		for _, o := range opts {
			o(&cfg)
		}
		if _, err := console.Mount(r, cfg); err != nil {
			t.Fatal(err)
		}
	}})
	tn := h.Tenant(t, kind)
	_, port, err := net.SplitHostPort(h.Addr())
	if err != nil {
		t.Fatal(err)
	}
	return &env{h: h, tn: tn, base: "http://" + tn.Slug + ".localhost:" + port}
}

// form is a plain HTTP client of the console (no browser): its own cookie
// jar, redirects not followed.
type form struct {
	t    *testing.T
	e    *env
	hc   *http.Client
	base *url.URL
}

func (e *env) form(t *testing.T) *form {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", e.h.Addr())
	}}
	t.Cleanup(tr.CloseIdleConnections)
	u, err := url.Parse(e.base)
	if err != nil {
		t.Fatal(err)
	}
	return &form{t: t, e: e, base: u, hc: &http.Client{Jar: jar, Transport: tr, Timeout: 60 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type resp struct {
	Status   int
	Header   http.Header
	Body     string
	Location string
}

// do sends a request; headers are name, value pairs.
func (f *form) do(method, path string, values url.Values, headers ...string) resp {
	f.t.Helper()
	var body io.Reader
	if values != nil {
		body = strings.NewReader(values.Encode())
	}
	req, err := http.NewRequest(method, f.e.base+path, body)
	if err != nil {
		f.t.Fatal(err)
	}
	if values != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := f.hc.Do(req)
	if err != nil {
		f.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	return resp{Status: res.StatusCode, Header: res.Header, Body: string(b), Location: res.Header.Get("Location")}
}

// get is a GET as a browser navigating sends it.
func (f *form) get(path string) resp { f.t.Helper(); return f.do("GET", path, nil) }

// post is a same-origin form POST as a browser sends it (Origin set).
func (f *form) post(path string, values url.Values) resp {
	f.t.Helper()
	return f.do("POST", path, values, "Origin", f.e.base)
}

// cookie is the jar's cookie name ("" when none).
func (f *form) cookie(name string) string {
	for _, c := range f.hc.Jar.Cookies(f.base) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// csrf is the form token of the page's forms.
func csrf(t *testing.T, body string) string {
	t.Helper()
	const mark = `name="csrf" value="`
	i := strings.Index(body, mark)
	if i < 0 {
		t.Fatalf("no csrf field in %s", body)
	}
	rest := body[i+len(mark):]
	return rest[:strings.IndexByte(rest, '"')]
}

func (r resp) want(t *testing.T, status int) resp {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	return r
}

// login logs f in through the form as the tenant's admin and changes the
// one-time password (the forced change), returning the page token.
func (f *form) loginAdmin() string {
	f.t.Helper()
	r := f.post("/login", url.Values{"username": {f.e.tn.AdminUsername}, "password": {f.e.tn.AdminPassword}}).want(f.t, 303)
	if r.Location != "/password" {
		f.t.Fatalf("login redirects to %q, want /password", r.Location)
	}
	page := f.get("/password").want(f.t, 200)
	tok := csrf(f.t, page.Body)
	r = f.post("/password", url.Values{"csrf": {tok}, "current_password": {f.e.tn.AdminPassword},
		"new_password": {domaintest.Password}, "repeat_password": {domaintest.Password}}).want(f.t, 303)
	if r.Location != "/?done=password" {
		f.t.Fatalf("change redirects to %q", r.Location)
	}
	return tok
}

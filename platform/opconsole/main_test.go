package opconsole_test

import (
	"context"
	"crypto/sha256"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/tenancy/platform/platform/adminapi"
	"github.com/tenancy/platform/platform/backup"
	"github.com/tenancy/platform/platform/backup/storage"
	"github.com/tenancy/platform/platform/catalog"
	"github.com/tenancy/platform/platform/importer"
	"github.com/tenancy/platform/platform/opconsole"
	"github.com/tenancy/platform/platform/opjob"
	"github.com/tenancy/platform/platform/pgadmin"
	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/platform/platformtest/browser"
	"github.com/tenancy/platform/platform/platformtest/tenanttest"
	"github.com/tenancy/platform/tenant/httpx"
)

// screenshots is where TestOperatorScreenshots writes its PNGs (make
// screenshots: docs/screenshots); empty: a temporary directory.
var screenshots = flag.String("screenshots", "", "directory for the operator console's screenshots")

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

const testToken = "opconsole-test-token-0123456789abcdef"

// clock is the console's Now, moved by the tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// env is one test's admin listener: the API and the console over a real
// control plane, on a loopback port.
type env struct {
	te    *tenanttest.Env
	ops   *adminapi.Ops
	clock *clock
	base  string // http://127.0.0.1:port
	addr  string
}

type options struct {
	token     string // "" with noToken: the console is disabled
	noToken   bool
	backups   bool
	failLimit int  // failed logins per minute; 0: 20
	tlsProxy  bool // trust 127.0.0.1 as a proxy (X-Forwarded-Proto)
	pageSize  int
}

func newEnv(t *testing.T, o options) *env {
	t.Helper()
	te := tenanttest.New(t)
	return newEnvOn(t, te, o)
}

// newEnvOn starts a listener over te (a second one: another replica, or
// the same catalog after a token change).
func newEnvOn(t *testing.T, te *tenanttest.Env, o options) *env {
	t.Helper()
	if o.token == "" && !o.noToken {
		o.token = testToken
	}
	runner := opjob.New(opjob.Config{Catalog: te.Catalog, Replica: "opconsole-test-" + platformtest.Rand(6), SweepEvery: -1})
	t.Cleanup(runner.Close) // before the tenants are purged
	cfg := adminapi.Config{Service: te.Service, Catalog: te.Catalog, Token: o.token, Jobs: runner,
		Importer: importer.New(importer.Config{Catalog: te.Catalog, Servers: map[string]*pgadmin.Server{"default": te.Admin}, BcryptCost: 4})}
	if o.tlsProxy {
		p, err := httpx.ParseProxies([]string{"127.0.0.1/32"})
		if err != nil {
			t.Fatal(err)
		}
		cfg.TrustedProxies, cfg.Proxies = []string{"127.0.0.1/32"}, p
	}
	if o.failLimit > 0 {
		cfg.FailedAuth = httpx.NewFailures(o.failLimit, time.Minute, 0)
	}
	if o.backups {
		st, err := storage.Open(te.Ctx, "file://"+t.TempDir(), storage.Options{})
		if err != nil {
			t.Fatal(err)
		}
		cfg.Backups = backup.New(te.Catalog, map[string]*pgadmin.Server{"default": te.Admin}, te.Vault, st, nil, backup.Config{})
	}
	ops := adminapi.NewOps(cfg)
	app := adminapi.NewApp(ops)
	clk := &clock{t: time.Now()}
	if _, err := opconsole.Mount(app, opconsole.Config{Ops: ops, Now: clk.Now, PageSize: o.pageSize}); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- app.Listener(ln) }()
	t.Cleanup(func() {
		if err := app.ShutdownWithTimeout(5 * time.Second); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return &env{te: te, ops: ops, clock: clk, base: "http://" + ln.Addr().String(), addr: ln.Addr().String()}
}

// client is a plain HTTP client of the console: its own cookie jar,
// redirects not followed.
type client struct {
	t    *testing.T
	base string
	hc   *http.Client
}

func (e *env) client(t *testing.T) *client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &client{t: t, base: e.base, hc: &http.Client{Jar: jar, Transport: tr, Timeout: 2 * time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type resp struct {
	Status   int
	Header   http.Header
	Body     string
	Location string
}

// do sends a request; headers are name, value pairs.
func (c *client) do(method, path string, values url.Values, headers ...string) resp {
	c.t.Helper()
	var body io.Reader
	if values != nil {
		body = strings.NewReader(values.Encode())
	}
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if values != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return resp{Status: res.StatusCode, Header: res.Header, Body: string(b), Location: res.Header.Get("Location")}
}

func (c *client) get(path string) resp { c.t.Helper(); return c.do("GET", path, nil) }

// post is a same-origin form POST as a browser sends it (Origin set).
func (c *client) post(path string, values url.Values) resp {
	c.t.Helper()
	return c.do("POST", path, values, "Origin", c.base)
}

// cookie is the jar's cookie name ("" when none).
func (c *client) cookie(name string) string {
	u, err := url.Parse(c.base)
	if err != nil {
		c.t.Fatal(err)
	}
	for _, ck := range c.hc.Jar.Cookies(u) {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}

func (r resp) want(t *testing.T, status int) resp {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	return r
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

// login signs c in and returns the form token of the tenants page.
func (c *client) login(token string) string {
	c.t.Helper()
	r := c.post("/login", url.Values{"token": {token}}).want(c.t, 303)
	if r.Location != "/tenants" {
		c.t.Fatalf("login redirects to %q", r.Location)
	}
	return csrf(c.t, c.get("/tenants").want(c.t, 200).Body)
}

// sessionRows counts the operator sessions whose hash is id's.
func (e *env) sessionRows(t *testing.T, id string) int {
	t.Helper()
	h := sha256.Sum256([]byte(id))
	var n int
	if err := e.te.Catalog.Pool().QueryRow(e.te.Ctx, `SELECT count(*) FROM operator_sessions WHERE id_hash = $1`, h[:]).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// audit returns "actor source outcome" of the operator audit rows of action.
func (e *env) audit(t *testing.T, action string) []string {
	t.Helper()
	rows, err := e.te.Catalog.Pool().Query(e.te.Ctx, `SELECT actor || ' ' || source || ' ' || outcome FROM operator_audit WHERE action = $1 ORDER BY id`, action)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// api calls the JSON API with the bearer token.
func (e *env) api(t *testing.T, method, path, token string) int {
	t.Helper()
	req, err := http.NewRequest(method, e.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set(fiber.HeaderAuthorization, "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

func tenantFilter() catalog.TenantFilter { return catalog.TenantFilter{} }

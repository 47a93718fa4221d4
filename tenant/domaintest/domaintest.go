// Package domaintest is the harness of the domain APIs' tests: a tenant
// router over the real services (tenants provisioned by tenanttest,
// secrets from Vault, sessions in Redis) with the identity API and the
// routes a test mounts, and HTTP clients that log in as a tenant's users.
package domaintest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/platform/platformtest/tenanttest"
	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/auth"
	"github.com/tenancy/platform/tenant/auth/authhttp"
	"github.com/tenancy/platform/tenant/auth/session"
	"github.com/tenancy/platform/tenant/httpx"
	"github.com/tenancy/platform/tenant/resource/resourcehttp"
	"github.com/tenancy/platform/tenant/router"
	"github.com/tenancy/platform/tenant/secretcache"
)

// Mount adds a test's routes to the API (restaurant.Mount, …).
type Mount func(api *resourcehttp.API, r fiber.Router)

// Harness is one tenant router replica with the identity API and the
// mounted domain routes.
type Harness struct {
	Env   *tenanttest.Env
	API   *resourcehttp.API
	App   *fiber.App
	Logs  *platformtest.LogSink
	addr  string
	mu    sync.RWMutex
	hosts map[string]*tenant.Tenant
	pools map[string]*pgxpool.Pool
}

// Lookup is the router's resolver: <slug>.localhost of the test's tenants.
func (h *Harness) Lookup(host string) *tenant.Tenant {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.hosts[host]
}

// Acquire hands out connections of the tenant's app-role pool.
func (h *Harness) Acquire(ctx context.Context, t *tenant.Tenant) (*pgxpool.Conn, error) {
	h.mu.RLock()
	p := h.pools[t.ID]
	h.mu.RUnlock()
	if p == nil {
		return nil, tenant.Errorf(tenant.EUnavailable, "no pool for tenant")
	}
	return p.Acquire(ctx)
}

// Deps are the services the harness's routes are built on, for Options.Pages.
type Deps struct {
	Service  *auth.Service
	Sessions auth.Sessions
	Secrets  authhttp.Secrets
	Pools    authhttp.Pools
	Proxies  httpx.Proxies
	Tenant   func(*fiber.Ctx) *tenant.Tenant
	Logger   *slog.Logger
	// API is the harness's resource API, with the mounts' specs (the
	// console's domain screens write through it).
	API *resourcehttp.API
}

// Options are NewWith's additions to New.
type Options struct {
	// Pages mounts routes beside the API on the same services (the web
	// console: console.Mount), after the identity API and the mounts.
	Pages func(d Deps, r fiber.Router)
	// Principal, when set, is asked who a request acts as when the API's
	// authentication did not run (console.Principal: the audit rows of
	// the console's writes name the user).
	Principal func(*fiber.Ctx) *auth.Principal
}

// New starts a harness serving the routes of mounts.
func New(t testing.TB, mounts ...Mount) *Harness { t.Helper(); return NewWith(t, Options{}, mounts...) }

// NewWith is New with opts.
func NewWith(t testing.TB, opts Options, mounts ...Mount) *Harness {
	t.Helper()
	h := &Harness{Env: tenanttest.New(t), Logs: &platformtest.LogSink{},
		hosts: map[string]*tenant.Tenant{}, pools: map[string]*pgxpool.Pool{}}
	ropt, err := redis.ParseURL(platformtest.Getenv(t, "REDIS_URL"))
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(ropt)
	t.Cleanup(func() { rdb.Close() })
	sessions := session.New(rdb, session.Options{})
	svc, err := auth.NewService(auth.Config{BcryptCost: 4, AllowWeakCost: true}, sessions, noMail{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	log := slog.New(slog.NewJSONHandler(h.Logs, nil))
	proxies, err := httpx.ParseProxies([]string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	h.App = router.New(router.Config{Resolver: h, Pools: h, TrustedProxies: []string{"127.0.0.1"}, Logger: log,
		Routes: func(r fiber.Router) {
			secrets := secretcache.New(h.Env.Vault, secretcache.Config{})
			ah := authhttp.Routes(r, authhttp.Config{Service: svc, Sessions: sessions,
				Secrets: secrets, Pools: h, Proxies: proxies,
				Tenant: router.FromContext, Logger: log,
				// Tests send many requests from one address.
				DefaultLimit: auth.Limit{Rate: -1, Period: time.Minute}})
			principal := authhttp.Principal
			if opts.Principal != nil {
				principal = func(c *fiber.Ctx) *auth.Principal {
					if p := authhttp.Principal(c); p != nil {
						return p
					}
					return opts.Principal(c)
				}
			}
			h.API = resourcehttp.New(resourcehttp.Config{Pools: h, Tenant: router.FromContext,
				Authenticate: ah.Authenticate(), Principal: principal, Require: authhttp.Require,
				Proxies: proxies, Logger: log})
			for _, m := range mounts {
				m(h.API, r)
			}
			if opts.Pages != nil {
				opts.Pages(Deps{Service: svc, Sessions: sessions, Secrets: secrets, Pools: h, Proxies: proxies,
					Tenant: router.FromContext, Logger: log, API: h.API}, r)
			}
		}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.addr = ln.Addr().String()
	done := make(chan error, 1)
	go func() { done <- h.App.Listener(ln) }()
	t.Cleanup(func() {
		if err := h.App.ShutdownWithTimeout(5 * time.Second); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return h
}

// Addr is the harness's listener, host:port; a tenant is reached at
// http://<slug>.localhost:<port> (browsers resolve *.localhost to the
// loopback address themselves).
func (h *Harness) Addr() string { return h.addr }

// Tenant provisions a tenant of kind reachable at <slug>.localhost.
func (h *Harness) Tenant(t testing.TB, kind tenant.Kind) *tenanttest.Tenant {
	t.Helper()
	tn := h.Env.Create(t, kind)
	h.mu.Lock()
	h.pools[tn.ID] = tn.App
	h.hosts[tn.Slug+".localhost"] = tn.Tenant
	h.mu.Unlock()
	return tn
}

// Client is one API client of one tenant host, with its own cookie jar.
type Client struct {
	t    testing.TB
	hc   *http.Client
	host string
	ip   string
	csrf string
}

// Client returns an anonymous client of tn.
func (h *Harness) Client(t testing.TB, tn *tenanttest.Tenant) *Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", h.addr)
	}}
	t.Cleanup(tr.CloseIdleConnections)
	var b [3]byte
	rand.Read(b[:])
	return &Client{t: t, hc: &http.Client{Jar: jar, Transport: tr, Timeout: 60 * time.Second},
		host: tn.Slug + ".localhost", ip: fmt.Sprintf("10.%d.%d.%d", b[0], b[1], 1+b[2]%250)}
}

// Resp is one response.
type Resp struct {
	Status int
	Header http.Header
	Raw    []byte
	Body   map[string]any
	Code   string         // error.code
	Fields map[string]any // error.fields
}

// Do sends one request; body is JSON-encoded unless it is a string (sent
// as is) or nil.
func (c *Client) Do(method, path string, body any) Resp {
	c.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, "http://"+c.host+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("X-Forwarded-For", c.ip)
	if c.csrf != "" {
		req.Header.Set(authhttp.HeaderCSRF, c.csrf)
	}
	res, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	r := Resp{Status: res.StatusCode, Header: res.Header}
	if r.Raw, err = io.ReadAll(res.Body); err != nil {
		c.t.Fatal(err)
	}
	if len(r.Raw) > 0 && strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(r.Raw, &r.Body); err != nil {
			c.t.Fatalf("%s %s: body %q: %v", method, path, r.Raw, err)
		}
		if e, ok := r.Body["error"].(map[string]any); ok {
			r.Code, _ = e["code"].(string)
			r.Fields, _ = e["fields"].(map[string]any)
		}
	}
	return r
}

// Want fails the test unless the response has the status and error code
// ("" for a success).
func (r Resp) Want(t testing.TB, status int, code string) Resp {
	t.Helper()
	if r.Status != status || r.Code != code {
		t.Fatalf("got %d %q, want %d %q: %s", r.Status, r.Code, status, code, r.Raw)
	}
	return r
}

// ID is the body's id.
func (r Resp) ID() int64 {
	id, _ := r.Body["id"].(float64)
	return int64(id)
}

// Str is a string field of the body.
func (r Resp) Str(key string) string { s, _ := r.Body[key].(string); return s }

// Items is a list's items.
func (r Resp) Items() []map[string]any {
	raw, _ := r.Body["items"].([]any)
	out := make([]map[string]any, 0, len(raw))
	for _, it := range raw {
		if m, ok := it.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// Password is the password of users the harness makes.
const Password = "correct horse battery staple 42"

// Login logs the client in as username.
func (c *Client) Login(username, password string) Resp {
	c.t.Helper()
	r := c.Do("POST", "/api/auth/login", map[string]string{"username": username, "password": password})
	if r.Status == 200 {
		c.csrf = r.Str("csrf_token")
	}
	return r
}

// Admin returns a client logged in as tn's first admin, its one-time
// password changed.
func (h *Harness) Admin(t testing.TB, tn *tenanttest.Tenant) *Client {
	t.Helper()
	c := h.Client(t, tn)
	c.Login(tn.AdminUsername, tn.AdminPassword).Want(t, 200, "")
	c.Do("POST", "/api/auth/change-password", map[string]string{"current_password": tn.AdminPassword, "new_password": Password}).Want(t, 204, "")
	return c
}

// User creates a user with roles (through admin) and returns a client
// logged in as it.
func (h *Harness) User(t testing.TB, tn *tenanttest.Tenant, admin *Client, username string, roles ...string) *Client {
	t.Helper()
	admin.Do("POST", "/api/users", map[string]any{
		"username": username, "email": username + "@example.test", "full_name": "User " + username,
		"password": Password, "roles": roles, "must_change_password": false,
	}).Want(t, 201, "")
	c := h.Client(t, tn)
	c.Login(username, Password).Want(t, 200, "")
	return c
}

// noMail is the mailer: the domain tests send no mail.
type noMail struct{}

func (noMail) Send(context.Context, auth.Mail) error {
	return tenant.Errorf(tenant.EUnavailable, "no mail in domain tests")
}

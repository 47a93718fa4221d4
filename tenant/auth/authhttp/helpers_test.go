package authhttp_test

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
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
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
	"github.com/tenancy/platform/tenant/mail"
	"github.com/tenancy/platform/tenant/router"
	"github.com/tenancy/platform/tenant/secretcache"
)

// hostMap is the router's resolver: <slug>.localhost of the tenants the
// test created.
type hostMap struct {
	mu sync.RWMutex
	m  map[string]*tenant.Tenant
}

func (h *hostMap) Lookup(host string) *tenant.Tenant {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.m[host]
}

func (h *hostMap) add(t *tenant.Tenant) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.m[t.Slug+".localhost"] = t
}

// sameTenant is Config.SameTenant over the resolver, as the integrator
// wires it: the origin's host resolves to the request's tenant.
func (h *hostMap) sameTenant(origin string, t *tenant.Tenant) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	o := h.Lookup(tenant.NormalizeHost(u.Host))
	return o != nil && o.ID == t.ID
}

// appPools hands out connections of each tenant's app-role pool
// (tenanttest's tn.App): the tiny Pools adapter the brief allows.
type appPools struct {
	mu       sync.RWMutex
	m        map[string]*pgxpool.Pool
	acquired atomic.Int64 // connections handed out
}

func (p *appPools) Acquire(ctx context.Context, t *tenant.Tenant) (*pgxpool.Conn, error) {
	p.acquired.Add(1)
	p.mu.RLock()
	pool := p.m[t.ID]
	p.mu.RUnlock()
	if pool == nil {
		return nil, tenant.Errorf(tenant.EUnavailable, "no pool for tenant")
	}
	return pool.Acquire(ctx)
}

// counter counts Redis round trips (commands and pipelines).
type counter struct{ n atomic.Int64 }

func (c *counter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *counter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { c.n.Add(1); return next(ctx, cmd) }
}
func (c *counter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { c.n.Add(1); return next(ctx, cmds) }
}

type options struct {
	redisURL     string // default REDIS_URL; a dead address for outages
	secrets      authhttp.Secrets
	loginLimit   auth.Limit
	defaultLimit auth.Limit
	routes       func(r fiber.Router, h *authhttp.Handlers)
}

// harness is a tenant router with the identity API over the real
// services: tenants provisioned by tenanttest, secrets from Vault through
// secretcache, sessions in Redis, mail to Mailpit.
type harness struct {
	env      *tenanttest.Env
	hosts    *hostMap
	pools    *appPools
	addr     string
	app      *fiber.App
	rt       *counter
	sessions *session.Store
	logs     *platformtest.LogSink
	o        options
}

func newHarness(t testing.TB, o options) *harness {
	t.Helper()
	h := &harness{
		env:   tenanttest.New(t),
		hosts: &hostMap{m: map[string]*tenant.Tenant{}},
		pools: &appPools{m: map[string]*pgxpool.Pool{}},
		rt:    &counter{},
		logs:  &platformtest.LogSink{},
		o:     o,
	}
	h.addr, h.app, h.sessions = h.serve(t)
	return h
}

// serve starts one replica of `platform serve`'s tenant side: a router
// with the identity API and clients of its own (Redis, Vault cache,
// service), sharing the tenants, their pools and Redis with the others.
func (h *harness) serve(t testing.TB) (string, *fiber.App, *session.Store) {
	t.Helper()
	o := h.o
	if o.redisURL == "" {
		o.redisURL = platformtest.Getenv(t, "REDIS_URL")
	}
	ropt, err := redis.ParseURL(o.redisURL)
	if err != nil {
		t.Fatal(err)
	}
	ropt.MaxRetries = -1
	ropt.DialTimeout = time.Second
	rdb := redis.NewClient(ropt)
	t.Cleanup(func() { rdb.Close() })
	rdb.AddHook(h.rt)
	sessions := session.New(rdb, session.Options{})

	mailer, err := mail.New(mail.Config{URL: platformtest.Getenv(t, "PLATFORM_SMTP_URL"), From: "noreply@platform.test", Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := auth.NewService(auth.Config{BcryptCost: 4, AllowWeakCost: true}, sessions, mailer)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close) // reset mails still being sent, before the tenants go
	if o.secrets == nil {
		o.secrets = secretcache.New(h.env.Vault, secretcache.Config{})
	}
	log := slog.New(slog.NewJSONHandler(h.logs, nil))
	proxies, err := httpx.ParseProxies([]string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	app := router.New(router.Config{
		Resolver:       h.hosts,
		Pools:          h.pools,
		TrustedProxies: []string{"127.0.0.1"},
		Logger:         log,
		Routes: func(r fiber.Router) {
			ah := authhttp.Routes(r, authhttp.Config{
				Service: svc, Sessions: sessions, Secrets: o.secrets, Pools: h.pools,
				Proxies: proxies, Tenant: router.FromContext, SameTenant: h.hosts.sameTenant,
				LoginLimit: o.loginLimit, DefaultLimit: o.defaultLimit, Logger: log,
			})
			if o.routes != nil {
				o.routes(r, ah)
			}
		},
	})
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
	return ln.Addr().String(), app, sessions
}

// tenant provisions a tenant and makes it reachable at <slug>.localhost.
func (h *harness) tenant(t testing.TB, kind tenant.Kind) *tenanttest.Tenant {
	t.Helper()
	tn := h.env.Create(t, kind)
	h.pools.mu.Lock()
	h.pools.m[tn.ID] = tn.App
	h.pools.mu.Unlock()
	h.hosts.add(tn.Tenant)
	return tn
}

// client is one browser or API client of one tenant host: its own cookie
// jar and client IP (X-Forwarded-For through the trusted loopback proxy).
type client struct {
	t      testing.TB
	hc     *http.Client
	host   string
	ip     string
	bearer string // sent as Authorization when set
	csrf   string // sent as X-CSRF-Token when set
}

func (h *harness) client(t testing.TB, host string) *client {
	t.Helper()
	return clientAt(t, h.addr, host)
}

// clientAt is a client of the replica listening at addr.
func clientAt(t testing.TB, addr, host string) *client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", addr)
	}}
	t.Cleanup(tr.CloseIdleConnections)
	return &client{t: t, hc: &http.Client{Jar: jar, Transport: tr, Timeout: 30 * time.Second}, host: host, ip: randIP()}
}

func (h *harness) clientOf(t testing.TB, tn *tenanttest.Tenant) *client {
	return h.client(t, tn.Slug+".localhost")
}

// randIP is a client address of its own, so that tests sharing a tenant
// never share a rate limit by accident.
func randIP() string {
	var b [3]byte
	rand.Read(b[:])
	return fmt.Sprintf("10.%d.%d.%d", b[0], b[1], 1+b[2]%250)
}

type resp struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
	code   string
	fields map[string]any
}

// do sends one request; body is JSON-encoded unless it is a string (sent
// as is) or nil; hdr are extra header pairs.
func (c *client) do(method, path string, body any, hdr ...string) resp {
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
	req.Header.Set("User-Agent", "authhttp-test")
	if c.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+c.bearer)
	}
	if c.csrf != "" {
		req.Header.Set(authhttp.HeaderCSRF, c.csrf)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
		} else {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	res, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	r := resp{status: res.StatusCode, header: res.Header}
	if r.raw, err = io.ReadAll(res.Body); err != nil {
		c.t.Fatal(err)
	}
	if len(r.raw) > 0 && strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(r.raw, &r.body); err != nil {
			c.t.Fatalf("%s %s: body %q: %v", method, path, r.raw, err)
		}
		if e, ok := r.body["error"].(map[string]any); ok {
			r.code, _ = e["code"].(string)
			r.fields, _ = e["fields"].(map[string]any)
		}
	}
	return r
}

// want fails the test unless the response has the status (and, for
// errors, the code).
func (r resp) want(t testing.TB, status int, code string) resp {
	t.Helper()
	if r.status != status || r.code != code {
		t.Fatalf("got %d %q, want %d %q: %s", r.status, r.code, status, code, r.raw)
	}
	return r
}

func (r resp) str(key string) string { s, _ := r.body[key].(string); return s }

// login logs the client in (cookie in its jar, CSRF token kept) and
// returns the response.
func (c *client) login(username, password string) resp {
	c.t.Helper()
	r := c.do("POST", "/api/auth/login", map[string]string{"username": username, "password": password})
	if r.status == 200 {
		c.csrf = r.str("csrf_token")
	}
	return r
}

// cookie returns the session cookie the jar holds for the client's host.
func (c *client) cookie() string {
	u := &url.URL{Scheme: "http", Host: c.host, Path: "/"}
	for _, k := range c.hc.Jar.Cookies(u) {
		if k.Name == authhttp.CookieName {
			return k.Value
		}
	}
	return ""
}

const strongPassword = "correct horse battery staple 42"

// admin logs the tenant's first admin in and changes the one-time
// password (must_change_password), returning the logged-in client.
func (h *harness) admin(t testing.TB, tn *tenanttest.Tenant) *client {
	t.Helper()
	c := h.clientOf(t, tn)
	c.login(tn.AdminUsername, tn.AdminPassword).want(t, 200, "")
	c.do("POST", "/api/auth/change-password", map[string]string{"current_password": tn.AdminPassword, "new_password": strongPassword}).want(t, 204, "")
	return c
}

// user creates a user with roles through the admin client and returns
// its id; the password needs no change.
func (h *harness) user(t testing.TB, admin *client, username, email string, roles ...string) int64 {
	t.Helper()
	r := admin.do("POST", "/api/users", map[string]any{
		"username": username, "email": email, "full_name": "User " + username,
		"password": strongPassword, "roles": roles, "must_change_password": false,
	}).want(t, 201, "")
	id, _ := r.body["id"].(float64)
	if id < 1 {
		t.Fatalf("created user without id: %s", r.raw)
	}
	return int64(id)
}

package router

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/httpx"
)

var (
	alpha = &tenant.Tenant{ID: "00000000-0000-0000-0000-00000000000a", Slug: "alpha", Name: "Alpha", Kind: tenant.Restaurant, Status: tenant.StatusActive}
	beta  = &tenant.Tenant{ID: "00000000-0000-0000-0000-00000000000b", Slug: "beta", Name: "Beta", Kind: tenant.Institution, Status: tenant.StatusActive}
	hosts = mapResolver{"alpha.localhost": alpha, "beta.localhost": beta}
)

// poolsFunc is a stand-in for pool.Manager.
type poolsFunc func(ctx context.Context, t *tenant.Tenant) (*pgxpool.Conn, error)

func (f poolsFunc) Acquire(ctx context.Context, t *tenant.Tenant) (*pgxpool.Conn, error) {
	return f(ctx, t)
}

// start serves a router on a real loopback listener.
func start(t *testing.T, cfg Config) (addr string, sink *platformtest.LogSink) {
	t.Helper()
	sink = &platformtest.LogSink{}
	cfg.Logger = slog.New(slog.NewJSONHandler(sink, nil))
	if cfg.Resolver == nil {
		cfg.Resolver = hosts
	}
	app := New(cfg)
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
	return ln.Addr().String(), sink
}

type response struct {
	status      int
	header      http.Header
	body        map[string]any
	code, reqID string
}

// raw sends raw request bytes on a new connection and reads the answer.
func raw(t *testing.T, addr, req string) response {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	defer res.Body.Close()
	r := response{status: res.StatusCode, header: res.Header}
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &r.body); err != nil {
		t.Fatalf("body %q: %v", b, err)
	}
	if e, ok := r.body["error"].(map[string]any); ok {
		r.code, _ = e["code"].(string)
		r.reqID, _ = e["request_id"].(string)
	}
	return r
}

func get(t *testing.T, addr, host, path string, hdr ...string) response {
	t.Helper()
	req := "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n"
	for i := 0; i+1 < len(hdr); i += 2 {
		req += hdr[i] + ": " + hdr[i+1] + "\r\n"
	}
	return raw(t, addr, req+"Connection: close\r\n\r\n")
}

func TestPanicDoesNotHarmOtherTenants(t *testing.T) {
	t.Parallel()
	addr, sink := start(t, Config{Routes: func(r fiber.Router) {
		r.Get("/boom", func(c *fiber.Ctx) error {
			if FromContext(c).Slug == "alpha" {
				parts := strings.Split(c.Path(), "/")
				_ = parts[len(parts)+1] // a real bug's panic: index out of range
			}
			return c.JSON(fiber.Map{"ok": true})
		})
	}})
	r := get(t, addr, "alpha.localhost", "/boom")
	if r.status != 500 || r.code != tenant.EInternal || r.reqID == "" || r.header.Get(httpx.HeaderRequestID) != r.reqID {
		t.Fatalf("panicking route: %d %v", r.status, r.body)
	}
	if b := get(t, addr, "beta.localhost", "/api/tenant"); b.status != 200 || b.body["slug"] != "beta" {
		t.Fatalf("another tenant after a panic: %d %v", b.status, b.body)
	}
	if b := get(t, addr, "beta.localhost", "/boom"); b.status != 200 {
		t.Fatalf("the same route on another tenant: %d %v", b.status, b.body)
	}
	if a := get(t, addr, "alpha.localhost", "/api/tenant"); a.status != 200 || a.body["slug"] != "alpha" {
		t.Fatalf("the same tenant after its panic: %d %v", a.status, a.body)
	}
	p := sink.Lines(t, "panic serving a request")
	if len(p) != 1 || p[0]["level"] != "ERROR" || p[0]["tenant"] != "alpha" || p[0]["request_id"] != r.reqID ||
		!strings.Contains(p[0]["stack"].(string), "router_test.go") || !strings.Contains(p[0]["panic"].(string), "index out of range") {
		t.Errorf("panic log: %v", p)
	}
}

func TestTenantUnavailable(t *testing.T) {
	t.Parallel()
	ctx := platformtest.Context(t)
	// A real connection to a database without schema_migrations: the
	// tenant query fails on the server.
	pool, err := pgxpool.New(ctx, platformtest.URLFor(t, "postgres")+"&pool_max_conns=1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	causes := []struct {
		name string
		err  error
	}{
		{"missing secrets", tenant.Errorf(tenant.ENotFound, "tenant alpha has no secrets in Vault")},
		{"vault down", tenant.Errorf(tenant.EUnavailable, "vault: connection refused at 10.0.0.9:8200")},
		{"unknown server", tenant.Errorf(tenant.EUnavailable, `database server "db9" is unknown`)},
		{"dial error", errors.New("dial tcp 10.0.0.7:5432: connect: connection refused")},
		{"query error", nil},
	}
	for _, cause := range causes {
		addr, sink := start(t, Config{Pools: poolsFunc(func(ctx context.Context, _ *tenant.Tenant) (*pgxpool.Conn, error) {
			if cause.err == nil {
				return pool.Acquire(ctx)
			}
			return nil, cause.err
		})})
		r := get(t, addr, "alpha.localhost", "/api/tenant/db")
		msg, _ := r.body["error"].(map[string]any)["message"].(string)
		if r.status != 503 || r.code != tenant.ETenantUnavailable || r.header.Get("Retry-After") == "" || r.reqID == "" {
			t.Errorf("%s: %d %v", cause.name, r.status, r.body)
		}
		for _, leak := range []string{"Vault", "vault", "10.0.0", "db9", "schema_migrations", "dial"} {
			if strings.Contains(msg, leak) {
				t.Errorf("%s: the user sees %q", cause.name, msg)
			}
		}
		want := "acquire a tenant connection: "
		if cause.err == nil {
			want = "query the tenant database: "
		}
		// The cause is in the request's access-log line, at INFO: an
		// outage must not make a WARN per request.
		access := sink.Lines(t, "request")
		if len(access) != 1 || access[0]["level"] != "INFO" || access[0]["route"] != "/api/tenant/db" || access[0]["status"] != float64(503) ||
			access[0]["tenant"] != "alpha" || access[0]["request_id"] != r.reqID {
			t.Errorf("%s: access log %v", cause.name, access)
		} else if got, _ := access[0]["cause"].(string); !strings.HasPrefix(got, want) ||
			cause.err != nil && !strings.HasSuffix(got, cause.err.Error()) || cause.err == nil && !strings.Contains(got, "schema_migrations") {
			t.Errorf("%s: cause %q", cause.name, got)
		}
		if n := strings.Count(sink.String(), `"level":"WARN"`) + strings.Count(sink.String(), `"level":"ERROR"`); n != 0 {
			t.Errorf("%s: %d loud lines for one failed request", cause.name, n)
		}
	}
	// Capacity is told as such: waiting helps.
	addr, _ := start(t, Config{Pools: poolsFunc(func(context.Context, *tenant.Tenant) (*pgxpool.Conn, error) {
		return nil, tenant.Errorf(tenant.ECapacity, "too many connections; try again shortly")
	})})
	if r := get(t, addr, "alpha.localhost", "/api/tenant/db"); r.status != 503 || r.code != tenant.ECapacity || r.header.Get("Retry-After") == "" {
		t.Errorf("capacity: %d %v", r.status, r.body)
	}
}

func TestHosts(t *testing.T) {
	t.Parallel()
	direct, _ := start(t, Config{})
	behind, _ := start(t, Config{TrustedProxies: []string{"127.0.0.1"}})
	tests := []struct {
		name, addr, req string
		status          int
		want            string // slug, or error code
	}{
		{"plain", direct, "GET /api/tenant HTTP/1.1\r\nHost: alpha.localhost:8080\r\n\r\n", 200, "alpha"},
		{"two Host headers", direct, "GET /api/tenant HTTP/1.1\r\nHost: alpha.localhost\r\nHost: beta.localhost\r\n\r\n", 400, httpx.EBadRequest},
		{"userinfo", direct, "GET /api/tenant HTTP/1.1\r\nHost: beta@alpha.localhost\r\n\r\n", 400, httpx.EBadRequest},
		{"userinfo, unknown route", direct, "GET /x HTTP/1.1\r\nHost: beta@alpha.localhost\r\n\r\n", 400, httpx.EBadRequest},
		{"not host:port", direct, "GET /api/tenant HTTP/1.1\r\nHost: alpha.localhost:x\r\n\r\n", 400, httpx.EBadRequest},
		{"ip literal", direct, "GET /api/tenant HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n", 404, tenant.ETenantNotFound},
		{"ipv6 literal", direct, "GET /api/tenant HTTP/1.1\r\nHost: [::1]\r\n\r\n", 404, tenant.ETenantNotFound},
		{"empty host", direct, "GET /api/tenant HTTP/1.1\r\nHost: \r\n\r\n", 404, tenant.ETenantNotFound},
		{"no host", direct, "GET /api/tenant HTTP/1.0\r\n\r\n", 404, tenant.ETenantNotFound},
		{"unicode", direct, "GET /api/tenant HTTP/1.1\r\nHost: \xc3\xa1lpha.localhost\r\n\r\n", 404, tenant.ETenantNotFound},
		{"punycode", direct, "GET /api/tenant HTTP/1.1\r\nHost: xn--lpha-2na.localhost\r\n\r\n", 404, tenant.ETenantNotFound},
		{"forwarded, untrusted", direct, "GET /api/tenant HTTP/1.1\r\nHost: nobody.localhost\r\nX-Forwarded-Host: alpha.localhost\r\n\r\n", 404, tenant.ETenantNotFound},
		{"forwarded, trusted", behind, "GET /api/tenant HTTP/1.1\r\nHost: proxy.internal\r\nX-Forwarded-Host: alpha.localhost\r\n\r\n", 200, "alpha"},
		{"forwarded, client's part ignored", behind, "GET /api/tenant HTTP/1.1\r\nHost: proxy.internal\r\nX-Forwarded-Host: beta.localhost, alpha.localhost\r\n\r\n", 200, "alpha"},
		{"forwarded, nearest proxy's unknown", behind, "GET /api/tenant HTTP/1.1\r\nHost: proxy.internal\r\nX-Forwarded-Host: alpha.localhost\r\nX-Forwarded-Host: nobody.localhost\r\n\r\n", 404, tenant.ETenantNotFound},
		{"header too large", direct, "GET /api/tenant HTTP/1.1\r\nHost: alpha.localhost\r\nX-Big: " + strings.Repeat("a", 5000) + "\r\n\r\n", 431, httpx.EHeadersTooLarge},
	}
	for _, tt := range tests {
		r := raw(t, tt.addr, tt.req)
		got := r.code
		if r.status == 200 {
			got, _ = r.body["slug"].(string)
		}
		if r.status != tt.status || got != tt.want {
			t.Errorf("%s: %d %v, want %d %s", tt.name, r.status, r.body, tt.status, tt.want)
		}
	}
}

func TestAccessLogRouteTemplate(t *testing.T) {
	t.Parallel()
	addr, sink := start(t, Config{Routes: func(r fiber.Router) {
		r.Get("/items/:id", func(c *fiber.Ctx) error { return c.JSON(fiber.Map{"id": c.Params("id")}) })
	}})
	if r := get(t, addr, "beta.localhost", "/items/42?token=s3cret"); r.status != 200 || r.body["id"] != "42" {
		t.Fatalf("added route: %d %v", r.status, r.body)
	}
	if r := get(t, addr, "beta.localhost", "/no/such/route"); r.status != 404 || r.code != httpx.ERouteNotFound {
		t.Fatalf("unknown route: %d %v", r.status, r.body)
	}
	if r := get(t, addr, "nobody.localhost", "/items/42"); r.status != 404 || r.code != tenant.ETenantNotFound {
		t.Fatalf("unknown tenant: %d %v", r.status, r.body)
	}
	l := sink.Lines(t, "request")
	if len(l) != 3 {
		t.Fatalf("%d access lines: %v", len(l), l)
	}
	if l[0]["route"] != "/items/:id" || l[0]["tenant"] != "beta" || l[0]["status"] != float64(200) || l[0]["method"] != "GET" {
		t.Errorf("access line: %v", l[0])
	}
	if l[1]["route"] != "" || l[1]["status"] != float64(404) || l[1]["tenant"] != "beta" {
		t.Errorf("unknown route line: %v", l[1])
	}
	if l[2]["tenant"] != "" || l[2]["status"] != float64(404) {
		t.Errorf("unknown tenant line: %v", l[2])
	}
	for _, line := range l {
		for _, v := range line {
			if s, ok := v.(string); ok && (strings.Contains(s, "s3cret") || strings.Contains(s, "/items/42")) {
				t.Errorf("raw path or query logged: %v", line)
			}
		}
	}
}

// TestSecurityHeadersEverywhere: every answer of a tenant host carries the
// security headers — found, unknown host, unknown route — and HSTS only
// when a trusted proxy says the client came over TLS.
func TestSecurityHeadersEverywhere(t *testing.T) {
	t.Parallel()
	direct, _ := start(t, Config{})
	behind, _ := start(t, Config{TrustedProxies: []string{"127.0.0.1"}})
	for _, tc := range []struct {
		name, addr, host, path string
		hdr                    []string
		hsts                   bool
	}{
		{"tenant", direct, "alpha.localhost", "/api/tenant", nil, false},
		{"unknown host", direct, "nobody.localhost", "/api/tenant", nil, false},
		{"unknown route", direct, "alpha.localhost", "/nowhere", nil, false},
		{"healthz", direct, "alpha.localhost", "/healthz", nil, false},
		{"forwarded https, untrusted", direct, "alpha.localhost", "/api/tenant", []string{"X-Forwarded-Proto", "https"}, false},
		{"forwarded https, trusted", behind, "alpha.localhost", "/api/tenant", []string{"X-Forwarded-Proto", "https"}, true},
	} {
		r := get(t, tc.addr, tc.host, tc.path, tc.hdr...)
		h := r.header
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") == "" ||
			!strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
			t.Errorf("%s: %d, headers %v", tc.name, r.status, h)
		}
		if got := h.Get("Strict-Transport-Security") != ""; got != tc.hsts {
			t.Errorf("%s: HSTS %v, want %v", tc.name, got, tc.hsts)
		}
	}
}

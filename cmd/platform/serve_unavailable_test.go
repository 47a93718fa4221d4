package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/tenant"
)

// getRes is get with the response, for its headers.
func (ts *testServer) getRes(t *testing.T, host, path string) (*http.Response, map[string]any) {
	t.Helper()
	req, err := http.NewRequest("GET", ts.tenantURL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	res, body, err := doRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	return res, body
}

// addServer registers a database server in the test's catalog.
func addServer(t *testing.T, ts *testServer, name, addr string) {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.cat.Pool().Exec(context.Background(), `INSERT INTO db_servers (name, host, port) VALUES ($1, $2, $3)`, name, host, port); err != nil {
		t.Fatal(err)
	}
}

// moveTenant points a tenant's catalog row at another database server,
// and back to its own when the test ends (the purge needs it there).
func moveTenant(t *testing.T, ts *testServer, tn *tenant.Tenant, server string) {
	t.Helper()
	move := func(server string) error {
		tag, err := ts.cat.Pool().Exec(context.Background(),
			`UPDATE tenants SET db_server_id = (SELECT id FROM db_servers WHERE name = $2), updated_at = now() WHERE id = $1`, tn.ID, server)
		if err == nil && tag.RowsAffected() != 1 {
			err = fmt.Errorf("%d rows", tag.RowsAffected())
		}
		return err
	}
	if err := move(server); err != nil {
		t.Fatalf("move %s to %s: %v", tn.Slug, server, err)
	}
	t.Cleanup(func() {
		if err := move(tn.DBServer); err != nil {
			t.Errorf("move %s back to %s: %v", tn.Slug, tn.DBServer, err)
		}
	})
}

// pgAddr is the host:port of the test PostgreSQL server.
func pgAddr(t *testing.T) string {
	t.Helper()
	cfg := platformtest.Admin(t).ConnConfig("", "")
	return net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port)))
}

// TestServeTenantUnavailable: every way of failing to reach a tenant's
// secrets or database answers 503 tenant_unavailable with Retry-After and
// nothing of the cause, and the cause is in the server's log with the
// tenant's slug and the request id.
func TestServeTenantUnavailable(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	ts := c.serve(t, nil)
	// A replica whose Vault is down since it started: it has seen no tenant.
	vaultDown := c.serve(t, map[string]string{"VAULT_ADDR": "http://" + closedPort(t)})
	ctx := context.Background()

	tests := []struct {
		name  string
		via   *testServer
		setup func(t *testing.T, tn *tenant.Tenant) (undo func())
		cause string // in the log line, never in the answer
	}{
		{"secrets missing from Vault", ts, func(t *testing.T, tn *tenant.Tenant) func() {
			if err := platformtest.Vault(t).Delete(ctx, tn.Slug); err != nil {
				t.Fatal(err)
			}
			return nil
		}, "has no secrets in Vault"},
		{"Vault down, tenant never seen", vaultDown, nil, "unreachable"},
		{"dial error", ts, func(t *testing.T, tn *tenant.Tenant) func() {
			addServer(t, ts, "closed", closedPort(t))
			moveTenant(t, ts, tn, "closed")
			platformtest.Eventually(t, notifyWait, "the resolver sees the move", func() bool {
				got := ts.resolver.Lookup(tn.Slug + ".localhost")
				return got != nil && got.DBServer == "closed"
			})
			return nil
		}, "refused"},
		{"unknown database server", ts, func(t *testing.T, tn *tenant.Tenant) func() {
			// The resolver learns of the tenant's move before it has read
			// the server (the server's notice lost, its reload held up):
			// the notice is silenced, and the reload the resolver starts
			// on an unknown server waits on a lock of platform_settings.
			pool := ts.cat.Pool()
			if _, err := pool.Exec(ctx, `ALTER TABLE db_servers DISABLE TRIGGER db_servers_notify`); err != nil {
				t.Fatal(err)
			}
			addServer(t, ts, "lost", pgAddr(t))
			tx, err := pool.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tx.Exec(ctx, `LOCK TABLE platform_settings IN ACCESS EXCLUSIVE MODE`); err != nil {
				t.Fatal(err)
			}
			moveTenant(t, ts, tn, "lost")
			platformtest.Eventually(t, notifyWait, "the resolver sees the move", func() bool {
				got := ts.resolver.Lookup(tn.Slug + ".localhost")
				return got != nil && got.DBServer == "lost"
			})
			if _, ok := ts.resolver.Server("lost"); ok {
				t.Fatal("the resolver knows the server: the case is not set up")
			}
			return func() {
				if err := tx.Rollback(ctx); err != nil {
					t.Error(err)
				}
				if _, err := pool.Exec(ctx, `ALTER TABLE db_servers ENABLE TRIGGER db_servers_notify`); err != nil {
					t.Error(err)
				}
			}
		}, `"lost" is unknown`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tn := ts.create(t, "restaurant")
			waitStatus(t, tt.via, tn.Slug, 200, "")
			if tt.setup != nil {
				if undo := tt.setup(t, tn); undo != nil {
					defer undo()
				}
			}
			res, body := tt.via.getRes(t, tn.Slug+".localhost", "/api/tenant/db")
			msg, _ := body["error"].(map[string]any)["message"].(string)
			if res.StatusCode != 503 || errCode(body) != tenant.ETenantUnavailable || res.Header.Get("Retry-After") == "" {
				t.Fatalf("%d %v (Retry-After %q), want 503 %s with Retry-After", res.StatusCode, body, res.Header.Get("Retry-After"), tenant.ETenantUnavailable)
			}
			for _, leak := range []string{"Vault", "secret", "server", "refused", "dial", "unknown", "lost", "127.0.0.1", tn.Database} {
				if strings.Contains(msg, leak) {
					t.Errorf("the answer tells the cause (%q): %q", leak, msg)
				}
			}
			rid := res.Header.Get("X-Request-Id")
			if rid == "" {
				t.Fatal("no X-Request-Id")
			}
			var logged bool
			var mine []string
			for _, l := range tt.via.logs.Lines(t, "") {
				if l["request_id"] != rid {
					continue
				}
				line := fmt.Sprint(l)
				mine = append(mine, line)
				if l["tenant"] == tn.Slug && strings.Contains(line, tt.cause) {
					logged = true
				}
			}
			if !logged {
				t.Errorf("no log line with tenant %s, request_id %s and the cause %q; the request's lines:\n%s", tn.Slug, rid, tt.cause, strings.Join(mine, "\n"))
			}
		})
	}
}

// TestServeOutageLogsStateChanges: while a tenant's database or Vault is
// unreachable, 50 failed requests make a couple of WARN/ERROR lines, not
// one each (a database outage made 8,746 in 6 s).
func TestServeOutageLogsStateChanges(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	ts := c.serve(t, nil)
	vaultDown := c.serve(t, map[string]string{"VAULT_ADDR": "http://" + closedPort(t)})
	tests := []struct {
		name   string
		via    *testServer
		outage func(t *testing.T, tn *tenant.Tenant)
	}{
		{"database unreachable", ts, func(t *testing.T, tn *tenant.Tenant) {
			if code, body := ts.get(t, tn.Slug+".localhost", "/api/tenant/db"); code != 200 {
				t.Fatalf("before the outage: %d %v", code, body)
			}
			addServer(t, ts, "closed", closedPort(t))
			moveTenant(t, ts, tn, "closed")
			platformtest.Eventually(t, notifyWait, "the resolver sees the move", func() bool {
				got := ts.resolver.Lookup(tn.Slug + ".localhost")
				return got != nil && got.DBServer == "closed"
			})
		}},
		{"Vault down", vaultDown, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tn := ts.create(t, "restaurant")
			waitStatus(t, tt.via, tn.Slug, 200, "")
			if tt.outage != nil {
				tt.outage(t, tn)
			}
			before := len(tt.via.logs.Lines(t, ""))
			var wg sync.WaitGroup
			var mu sync.Mutex
			answers := map[string]int{}
			for range 5 {
				wg.Go(func() {
					for range 10 {
						code, body, err := tt.via.tryGet(tn.Slug+".localhost", "/api/tenant/db")
						a := fmt.Sprintf("%d %s", code, errCode(body))
						if err != nil {
							a = err.Error()
						}
						mu.Lock()
						answers[a]++
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			if want := fmt.Sprintf("503 %s", tenant.ETenantUnavailable); answers[want] != 50 {
				t.Errorf("answers %v, want 50 × %s", answers, want)
			}
			var loud []string
			for _, l := range tt.via.logs.Lines(t, "")[before:] {
				if l["level"] == "WARN" || l["level"] == "ERROR" {
					loud = append(loud, fmt.Sprint(l))
				}
			}
			if len(loud) > 2 || len(loud) == 0 {
				t.Errorf("%d WARN/ERROR lines for 50 failed requests, want 1 or 2:\n%s", len(loud), strings.Join(loud, "\n"))
			}
		})
	}
}

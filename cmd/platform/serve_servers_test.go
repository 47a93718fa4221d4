package main

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"testing"

	"github.com/tenancy/platform/platform/catalog"
	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/tenant"
)

// readyBudget reads a server's budget from the operator /readyz.
func readyBudget(t *testing.T, ts *testServer, server string) (float64, bool) {
	t.Helper()
	req, err := http.NewRequest("GET", ts.adminURL+"/readyz", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, body := do(t, req)
	pools, _ := body["pools"].(map[string]any)
	servers, _ := pools["servers"].(map[string]any)
	srv, ok := servers[server].(map[string]any)
	b, _ := srv["budget"].(float64)
	return b, ok
}

// TestServeServerChanges: a db_servers row changed in the catalog reaches
// the running server without a restart: a new connection_budget resizes
// the server's budget, a new address closes its pools so that requests
// go to the new one.
func TestServeServerChanges(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	ts := c.serve(t, nil)
	tn := ts.create(t, "restaurant")
	waitStatus(t, ts, tn.Slug, 200, "")
	if code, body := ts.get(t, tn.Slug+".localhost", "/api/tenant/db"); code != 200 {
		t.Fatalf("before: %d %v", code, body)
	}
	ctx := context.Background()
	srv, err := ts.cat.DBServer(ctx, tn.DBServer)
	if err != nil {
		t.Fatal(err)
	}
	if b, ok := readyBudget(t, ts, srv.Name); !ok || b != float64(srv.ConnectionBudget) {
		t.Fatalf("readyz budget of %s: %v (%v), want %d", srv.Name, b, ok, srv.ConnectionBudget)
	}

	budget := srv.ConnectionBudget - 7
	if _, _, err := ts.cat.UpdateDBServer(ctx, srv.Name, catalog.DBServerChange{Budget: &budget}); err != nil {
		t.Fatal(err)
	}
	platformtest.Eventually(t, notifyWait, "readyz shows the new budget", func() bool {
		b, _ := readyBudget(t, ts, srv.Name)
		return b == float64(budget)
	})

	// The address: to a closed port, then back.
	host, portText, err := net.SplitHostPort(closedPort(t))
	if err != nil {
		t.Fatal(err)
	}
	port, _ := strconv.Atoi(portText)
	if _, _, err := ts.cat.UpdateDBServer(ctx, srv.Name, catalog.DBServerChange{Host: &host, Port: &port}); err != nil {
		t.Fatal(err)
	}
	restored := false
	restore := func() {
		if !restored {
			restored = true
			if _, _, err := ts.cat.UpdateDBServer(ctx, srv.Name, catalog.DBServerChange{Host: &srv.Host, Port: &srv.Port}); err != nil {
				t.Error(err)
			}
		}
	}
	defer restore()
	// The open pool would have kept serving from the old address.
	var code int
	var body map[string]any
	platformtest.Eventually(t, notifyWait, "requests go to the new (closed) address", func() bool {
		code, body = ts.get(t, tn.Slug+".localhost", "/api/tenant/db")
		return code == 503 && errCode(body) == tenant.ETenantUnavailable
	})
	restore()
	platformtest.Eventually(t, notifyWait, "requests go to the restored address", func() bool {
		code, body = ts.get(t, tn.Slug+".localhost", "/api/tenant/db")
		return code == 200
	})
}

// TestServeServerChangesKeepEnvBudget: PLATFORM_DB_CONN_BUDGET overrides
// every server's budget, catalog changes included.
func TestServeServerChangesKeepEnvBudget(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	ts := c.serve(t, map[string]string{"PLATFORM_DB_CONN_BUDGET": "9"})
	tn := ts.create(t, "restaurant")
	waitStatus(t, ts, tn.Slug, 200, "")
	if code, body := ts.get(t, tn.Slug+".localhost", "/api/tenant/db"); code != 200 {
		t.Fatalf("before: %d %v", code, body)
	}
	ctx := context.Background()
	budget := 33
	if _, _, err := ts.cat.UpdateDBServer(ctx, tn.DBServer, catalog.DBServerChange{Budget: &budget}); err != nil {
		t.Fatal(err)
	}
	// The change has been seen once the log says so.
	platformtest.Eventually(t, notifyWait, "the server logs the change", func() bool {
		for _, l := range ts.logs.Lines(t, "") {
			if l["msg"] == "database server changed" && l["connection_budget"] == float64(budget) {
				return true
			}
		}
		return false
	})
	if b, _ := readyBudget(t, ts, tn.DBServer); b != 9 {
		t.Errorf("budget %v after a catalog change, want PLATFORM_DB_CONN_BUDGET's 9", b)
	}
}

package main

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tenancy/platform/platform/platformtest"
)

// TestLoadServeConfigOperator: a short operator token is refused with one
// line that names the variable and never shows the token; an operator API
// beyond loopback is a warning, not an error.
func TestLoadServeConfigOperator(t *testing.T) {
	t.Parallel()
	base := map[string]string{"REDIS_URL": "redis://127.0.0.1:6379/0"}
	load := func(extra map[string]string) (serveConfig, error) {
		env := map[string]string{}
		for k, v := range base {
			env[k] = v
		}
		for k, v := range extra {
			env[k] = v
		}
		return loadServeConfig(func(k string) string { return env[k] }, nil)
	}
	for _, tok := range []string{"x", "short-operator-token", strings.Repeat("a", minOperatorToken-1)} {
		_, err := load(map[string]string{"PLATFORM_OPERATOR_TOKEN": tok})
		if err == nil {
			t.Errorf("a %d-character token was accepted", len(tok))
			continue
		}
		line := errorLine(err)
		if !strings.Contains(line, "PLATFORM_OPERATOR_TOKEN") || !strings.Contains(line, "32") || strings.Contains(line, "\n") || (len(tok) > 4 && strings.Contains(line, tok)) {
			t.Errorf("%d-character token: %q", len(tok), line)
		}
	}
	for _, tok := range []string{"", strings.Repeat("a", minOperatorToken), testOperatorToken} {
		if _, err := load(map[string]string{"PLATFORM_OPERATOR_TOKEN": tok}); err != nil {
			t.Errorf("%d-character token refused: %v", len(tok), err)
		}
	}

	tests := []struct {
		addr string
		warn bool
	}{
		{"", false}, // the default, 127.0.0.1:8081
		{"127.0.0.1:8081", false},
		{"127.0.0.2:8081", false},
		{"[::1]:8081", false},
		{"localhost:8081", false},
		{":8081", true},
		{"0.0.0.0:8081", true},
		{"[::]:8081", true},
		{"10.1.2.3:8081", true},
		{"admin.example.com:8081", true},
	}
	for _, tt := range tests {
		c, err := load(map[string]string{"PLATFORM_ADMIN_ADDR": tt.addr})
		if err != nil {
			t.Errorf("%q: %v", tt.addr, err)
			continue
		}
		warned := len(c.Warnings) == 1 && strings.Contains(c.Warnings[0], "PLATFORM_ADMIN_ADDR") && strings.Contains(c.Warnings[0], "TLS")
		if warned != tt.warn || (!tt.warn && len(c.Warnings) != 0) {
			t.Errorf("%q: warnings %q, want a warning: %v", tt.addr, c.Warnings, tt.warn)
		}
	}

	c, err := load(map[string]string{"PLATFORM_HTTP_READ_TIMEOUT": "750ms"})
	if err != nil || c.ReadTimeout != 750*time.Millisecond {
		t.Errorf("PLATFORM_HTTP_READ_TIMEOUT=750ms: %v %v", c.ReadTimeout, err)
	}
	if _, err := load(map[string]string{"PLATFORM_HTTP_READ_TIMEOUT": "soon"}); err == nil || !strings.Contains(errorLine(err), "PLATFORM_HTTP_READ_TIMEOUT") {
		t.Errorf("PLATFORM_HTTP_READ_TIMEOUT=soon: %v", err)
	}
}

// TestServeWarnsOperatorAddr: the warning reaches the server's log, at
// WARN, before it listens.
func TestServeWarnsOperatorAddr(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	ts := c.serve(t, map[string]string{"PLATFORM_ADMIN_ADDR": "0.0.0.0:8081"})
	var found bool
	for _, l := range ts.logs.Lines(t, "") {
		if l["level"] == "WARN" && strings.Contains(l["msg"].(string), "PLATFORM_ADMIN_ADDR 0.0.0.0:8081") {
			found = true
		}
	}
	if !found {
		t.Errorf("no WARN line about the operator address:\n%s", ts.logs)
	}
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestServeReadyzRedisDown: Redis down leaves the replica ready
// ("degraded", 200: requests that need no session are served) and the
// body says what depends on it; a login answers 503 unavailable, never a
// login without a session; the catalog down is 503.
func TestServeReadyzRedisDown(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	ts := c.serve(t, map[string]string{"REDIS_URL": "redis://" + closedPort(t) + "/0"})
	for _, url := range []string{ts.tenantURL, ts.adminURL} {
		req, err := http.NewRequest("GET", url+"/readyz", nil)
		if err != nil {
			t.Fatal(err)
		}
		code, body := do(t, req)
		checks, _ := body["checks"].(map[string]any)
		impact, _ := body["impact"].(map[string]any)
		what, _ := impact["redis"].(string)
		if code != 200 || body["status"] != "degraded" || checks["redis"] != "unreachable" || checks["catalog"] != "ok" ||
			!strings.Contains(what, "logins and authenticated requests answer 503") {
			t.Errorf("%s/readyz with Redis down: %d %v", url, code, body)
		}
	}
	slug, otp := ts.createAdmin(t, "restaurant")
	host := slug + ".localhost"
	if code, body := ts.call(t, "POST", host, "/api/auth/login", "", map[string]string{"username": "admin", "password": otp}); code != 503 || errCode(body) != "unavailable" {
		t.Errorf("login with Redis down: %d %v, want 503 unavailable", code, body)
	}
	if code, body := ts.get(t, host, "/api/tenant"); code != 200 {
		t.Errorf("/api/tenant with Redis down: %d %v", code, body)
	}
	ts.cat.Close() // the catalog gone (the server's own handle on it)
	req, err := http.NewRequest("GET", ts.adminURL+"/readyz", nil)
	if err != nil {
		t.Fatal(err)
	}
	if code, body := do(t, req); code != 503 || body["status"] != "unavailable" {
		t.Errorf("readyz with the catalog and Redis down: %d %v", code, body)
	}
}

// TestServeRedisLogIsJSON runs the serve command itself with Redis
// unreachable: go-redis's own complaints (it logs every failed dial) are
// lines of the JSON log like any other, not plain text on stderr. Not
// parallel: go-redis's logger is process-wide, and serveCmd sets it.
func TestServeRedisLogIsJSON(t *testing.T) {
	c := newCLI(t)
	env := map[string]string{"REDIS_URL": "redis://" + closedPort(t) + "/0",
		"PLATFORM_HTTP_ADDR": "127.0.0.1:0", "PLATFORM_ADMIN_ADDR": "127.0.0.1:0"}
	for k, v := range c.env {
		env[k] = v
	}
	stderr := &logBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serveCmd(ctx, nil, func(k string) string { return env[k] }, stderr) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	var addr string
	platformtest.Eventually(t, 10*time.Second, "serve logs its address", func() bool {
		for _, l := range stderr.Lines(t, "") {
			if l["msg"] == "platform serving" {
				addr, _ = l["http"].(string)
			}
		}
		return addr != ""
	})
	res, err := http.Get("http://" + addr + "/readyz") // pings Redis
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	platformtest.Eventually(t, 10*time.Second, "go-redis's dial failure in the JSON log", func() bool {
		for _, l := range stderr.Lines(t, "") { // fails on any line that is not JSON
			if l["component"] == "redis" && l["level"] == "WARN" && strings.Contains(l["msg"].(string), "failed to dial") {
				return true
			}
		}
		return false
	})
}

// TestBcryptCostFloor: below 10 only with the explicit test switch.
func TestBcryptCostFloor(t *testing.T) {
	base := map[string]string{"PLATFORM_DATABASE_URL": "postgres://x/y", "PLATFORM_DB_ADMIN_URL": "postgres://x/z",
		"VAULT_ADDR": "http://127.0.0.1:1", "VAULT_TOKEN": "t"}
	for _, tc := range []struct {
		cost, weak string
		ok         bool
	}{{"12", "", true}, {"10", "", true}, {"9", "", false}, {"4", "", false}, {"4", "1", true}, {"3", "1", false}, {"17", "", false}, {"x", "", false}} {
		env := map[string]string{"PLATFORM_BCRYPT_COST": tc.cost, "PLATFORM_ALLOW_WEAK_BCRYPT": tc.weak}
		for k, v := range base {
			env[k] = v
		}
		c, err := loadConfig(func(k string) string { return env[k] })
		if (err == nil) != tc.ok {
			t.Errorf("cost %s weak %q: err %v, want ok=%v", tc.cost, tc.weak, err, tc.ok)
		}
		if err == nil && strconv.Itoa(c.BcryptCost) != tc.cost {
			t.Errorf("cost %s: got %d", tc.cost, c.BcryptCost)
		}
	}
}

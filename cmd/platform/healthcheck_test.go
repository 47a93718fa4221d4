package main

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenancy/platform/tenant"
)

func runEnv(env map[string]string, args ...string) (string, error) {
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, func(k string) string { return env[k] }, &out, &errOut)
	return out.String(), err
}

func TestHealthURL(t *testing.T) {
	t.Parallel()
	for addr, want := range map[string]string{
		"":                "http://127.0.0.1:8080/healthz",
		":8080":           "http://127.0.0.1:8080/healthz",
		"0.0.0.0:9000":    "http://127.0.0.1:9000/healthz",
		"[::]:9000":       "http://127.0.0.1:9000/healthz",
		"127.0.0.2:8080":  "http://127.0.0.2:8080/healthz",
		"[::1]:8080":      "http://[::1]:8080/healthz",
		"platform.lan:81": "http://platform.lan:81/healthz",
	} {
		got, err := healthURL(addr)
		if err != nil || got != want {
			t.Errorf("healthURL(%q) = %q, %v; want %q", addr, got, err, want)
		}
	}
	if _, err := healthURL("8080"); err == nil {
		t.Error(`healthURL("8080"): no error`)
	}
}

// The check against a real `platform serve`: healthy while it serves, a
// failure once it has stopped.
func TestHealthcheckServe(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	ts := c.serve(t, nil)
	env := map[string]string{"PLATFORM_HTTP_ADDR": strings.TrimPrefix(ts.tenantURL, "http://")}
	out, err := runEnv(env, "healthcheck")
	if err != nil || !strings.HasPrefix(out, "healthy: GET "+ts.tenantURL+"/healthz: 200") {
		t.Fatalf("healthcheck = %q, %v", out, err)
	}
	if out, err := runEnv(nil, "healthcheck", "--url", ts.adminURL+"/readyz"); err != nil {
		t.Fatalf("healthcheck --url admin /readyz = %q, %v", out, err)
	}
	ts.stop()
	_, err = runEnv(env, "healthcheck")
	if tenant.ErrorCode(err) != tenant.EUnavailable {
		t.Fatalf("healthcheck of a stopped server: %v, want %s", err, tenant.EUnavailable)
	}
}

func TestHealthcheckNotOK(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.HandleFunc("/down", func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "down", http.StatusServiceUnavailable) })
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/ok", http.StatusFound) })
	mux.HandleFunc("/ok", func(w http.ResponseWriter, _ *http.Request) {})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	for path, want := range map[string]string{"/down": "503", "/moved": "302"} {
		_, err := runEnv(nil, "healthcheck", "--url", srv.URL+path)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("healthcheck %s: %v, want a %s failure", path, err, want)
		}
	}
	if out, err := runEnv(nil, "healthcheck", "--url", srv.URL+"/ok"); err != nil {
		t.Errorf("healthcheck /ok = %q, %v", out, err)
	}
	var u usageError
	if _, err := runEnv(nil, "healthcheck", "--timeout", "0s"); !errors.As(err, &u) {
		t.Errorf("healthcheck --timeout 0s: %v, want a usage error", err)
	}
}

// version names the pg_dump of PLATFORM_PG_BIN_DIR with its version, and
// says so when that directory has none that runs.
func TestVersionPGDump(t *testing.T) {
	t.Parallel()
	dumps, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_dump")
	if len(dumps) == 0 {
		t.Fatal("no /usr/lib/postgresql/*/bin/pg_dump: run scripts/dev-services up (it installs the PostgreSQL client)")
	}
	dir := filepath.Dir(dumps[0])
	out, err := runEnv(map[string]string{"PLATFORM_PG_BIN_DIR": dir}, "version")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "platform dev go1.") ||
		!strings.HasPrefix(lines[1], "pg_dump: "+filepath.Join(dir, "pg_dump")+": pg_dump (PostgreSQL) ") {
		t.Fatalf("version:\n%s", out)
	}
	empty := t.TempDir()
	if err := os.WriteFile(filepath.Join(empty, "pg_dump"), []byte("not a program"), 0o755); err != nil {
		t.Fatal(err)
	}
	out, err = runEnv(map[string]string{"PLATFORM_PG_BIN_DIR": empty}, "version")
	if err != nil || !strings.Contains(out, ": does not run: ") {
		t.Fatalf("version with a broken pg_dump = %q, %v", out, err)
	}
}

package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestServeOperatorConsole: `platform serve` mounts the operator console
// at / of the admin listener, beside /v1 and /healthz: a token login
// opens a session whose pages answer; without a token the console says it
// is disabled while health answers.
func TestServeOperatorConsole(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	ts := c.serve(t, nil)
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Jar: jar, Timeout: time.Minute, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(base, path string) (int, string, http.Header) {
		t.Helper()
		res, err := hc.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		return res.StatusCode, string(b), res.Header
	}
	code, body, hdr := get(ts.adminURL, "/login")
	if code != 200 || !strings.Contains(body, `name="token"`) || !strings.Contains(hdr.Get("Content-Security-Policy"), "script-src 'self'") {
		t.Fatalf("login page: %d %v", code, hdr)
	}
	req, err := http.NewRequest("POST", ts.adminURL+"/login", strings.NewReader(url.Values{"token": {testOperatorToken}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", ts.adminURL)
	res, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 303 || res.Header.Get("Location") != "/tenants" {
		t.Fatalf("login: %d %v", res.StatusCode, res.Header)
	}
	if code, body, _ := get(ts.adminURL, "/tenants"); code != 200 || !strings.Contains(body, "Clientes") {
		t.Fatalf("tenants page: %d %s", code, body)
	}
	if code, _, _ := get(ts.adminURL, "/healthz"); code != 200 {
		t.Errorf("healthz beside the console: %d", code)
	}

	off := c.serve(t, map[string]string{"PLATFORM_OPERATOR_TOKEN": ""})
	if code, body, _ := get(off.adminURL, "/login"); code != 503 || !strings.Contains(body, "PLATFORM_OPERATOR_TOKEN") {
		t.Errorf("console without a token: %d %s", code, body)
	}
	if code, _, _ := get(off.adminURL, "/healthz"); code != 200 {
		t.Errorf("healthz without a token: %d", code)
	}
}

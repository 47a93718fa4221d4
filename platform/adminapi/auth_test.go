package adminapi

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/tenancy/platform/platform/catalog"
	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/httpx"
)

const testToken = "adminapi-test-token-0123456789abcdef"

func call(t *testing.T, app *fiber.App, method, path, token string) (int, map[string]any, string) {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	if err := json.Unmarshal(b, &body); err != nil {
		t.Fatalf("%s %s: body %q: %v", method, path, b, err)
	}
	return res.StatusCode, body, res.Header.Get("Retry-After")
}

func errCode(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

// authRows returns the failure counts of the failed-auth audit rows.
func authRows(t *testing.T, cat *catalog.DB) []int {
	t.Helper()
	rows, err := cat.Pool().Query(platformtest.Context(t),
		`SELECT (details->>'failures')::int FROM operator_audit WHERE action = 'auth' AND outcome = 'failed' ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var n int
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// Failed authentication writes at most one audit row per address and
// window, carrying the count of failures; past the limit it is 429.
func TestFailedAuthAggregatedAndLimited(t *testing.T) {
	t.Parallel()
	cat, _ := platformtest.Catalog(t)
	app := New(Config{Catalog: cat, Token: testToken, FailedAuth: httpx.NewFailures(20, time.Minute, 0)})
	for i := 1; i <= 25; i++ {
		code, body, retry := call(t, app, "GET", "/v1/tenants", "wrong-"+strconv.Itoa(i))
		switch {
		case i <= 20 && (code != 401 || errCode(body) != httpx.EUnauthorized):
			t.Fatalf("failure %d: %d %v", i, code, body)
		case i > 20 && (code != 429 || errCode(body) != httpx.ERateLimited || retry == "" || retry == "0"):
			t.Fatalf("failure %d: %d %v Retry-After %q", i, code, body, retry)
		}
	}
	// Even the right token waits out the minute.
	if code, body, _ := call(t, app, "GET", "/v1/tenants", testToken); code != 429 {
		t.Errorf("right token while limited: %d %v", code, body)
	}
	if rows := authRows(t, cat); len(rows) != 1 || rows[0] != 1 {
		t.Errorf("audit rows of 26 failures within a minute: %v, want one row [1]", rows)
	}
}

// The failures after an address's row are counted in its next one, a
// window later: no failure goes unaccounted.
func TestFailedAuthCountsFlushed(t *testing.T) {
	t.Parallel()
	cat, _ := platformtest.Catalog(t)
	app := New(Config{Catalog: cat, Token: testToken, FailedAuth: httpx.NewFailures(1000, 300*time.Millisecond, 0)})
	sent := 0
	fail := func() {
		sent++
		if code, body, _ := call(t, app, "GET", "/v1/migrations", ""); code != 401 {
			t.Fatalf("no token: %d %v", code, body)
		}
	}
	for range 10 {
		fail()
	}
	platformtest.Eventually(t, 10*time.Second, "a second audit row a window later", func() bool {
		fail()
		return len(authRows(t, cat)) == 2
	})
	rows := authRows(t, cat)
	if rows[0] != 1 || rows[0]+rows[1] != sent || rows[1] < 10 {
		t.Errorf("rows %v for %d failures", rows, sent)
	}
}

func TestPanicInOperatorAPI(t *testing.T) {
	t.Parallel()
	cat, _ := platformtest.Catalog(t)
	logs := &platformtest.LogSink{}
	// No Service: the handler dereferences nil, a real bug's panic.
	app := New(Config{Catalog: cat, Token: testToken, Logger: slog.New(slog.NewJSONHandler(logs, nil)),
		Health: func(c *fiber.Ctx) error { return c.JSON(fiber.Map{"status": "ok"}) }})
	req := httptest.NewRequest("GET", "/v1/tenants/some-slug", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	res, err := app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	e, _ := body["error"].(map[string]any)
	if res.StatusCode != 500 || errCode(body) != tenant.EInternal || e["request_id"] == nil || e["request_id"] != res.Header.Get(httpx.HeaderRequestID) {
		t.Fatalf("panic: %d %v (X-Request-Id %q)", res.StatusCode, body, res.Header.Get(httpx.HeaderRequestID))
	}
	if code, body, _ := call(t, app, "GET", "/healthz", ""); code != 200 || body["status"] != "ok" {
		t.Fatalf("after a panic: %d %v", code, body)
	}
	out := logs.String()
	if !strings.Contains(out, `"msg":"panic serving a request"`) || !strings.Contains(out, `"request_id":"`+e["request_id"].(string)+`"`) ||
		!strings.Contains(out, `"route":"/v1/tenants/:slug"`) {
		t.Errorf("panic log:\n%s", out)
	}
	if strings.Contains(out, testToken) {
		t.Errorf("the token reached the log")
	}
}

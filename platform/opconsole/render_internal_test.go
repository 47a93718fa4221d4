package opconsole

import (
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/tenancy/platform/platform/adminapi"
	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/httpx"
)

// TestFailShowsNoCause: an internal error is a 500 page with the request
// id and without its cause; a refusal shows the service's message; an
// unavailable dependency is a 503 without it.
func TestFailShowsNoCause(t *testing.T) {
	t.Parallel()
	s, err := New(Config{Ops: adminapi.NewOps(adminapi.Config{Token: "render-test-token-0123456789abcdef"})})
	if err != nil {
		t.Fatal(err)
	}
	app := httpx.NewApp(nil, httpx.Proxies{}, httpx.Limits{})
	errs := map[string]error{
		"/internal":    errors.New("dial tcp 10.0.0.7:5432: password authentication failed for user tenant_x"),
		"/conflict":    tenant.Errorf(tenant.EConflict, "tenant \"x\" is deleted"),
		"/unavailable": tenant.Errorf(tenant.EUnavailable, "vault at 10.0.0.9 sealed"),
	}
	app.Get("/*", func(c *fiber.Ctx) error { return s.fail(c, s.page(c, "op.error.title"), errs[c.Path()]) })
	for path, want := range map[string]struct {
		status       int
		shows, hides string
	}{
		"/internal":    {500, "identificador de solicitud", "10.0.0.7"},
		"/conflict":    {409, "is deleted", "identificador de solicitud"},
		"/unavailable": {503, "no está disponible", "10.0.0.9"},
	} {
		res, err := app.Test(httptest.NewRequest("GET", path, nil), -1)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		body := string(b)
		id := res.Header.Get("X-Request-Id")
		if res.StatusCode != want.status || !strings.Contains(body, want.shows) || strings.Contains(body, want.hides) {
			t.Errorf("%s: %d %s", path, res.StatusCode, body)
		}
		if path == "/internal" && (id == "" || !strings.Contains(body, id)) {
			t.Errorf("500 page without the request id %q: %s", id, body)
		}
	}
}

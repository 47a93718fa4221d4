package httpx

import (
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/tenancy/platform/tenant"
)

func TestPanicIsRecovered(t *testing.T) {
	t.Parallel()
	log, sink := newLog(slog.LevelInfo)
	addr := testApp(t, log, nil, Limits{}, func(app *fiber.App) {
		app.Get("/boom/:id", func(c *fiber.Ctx) error {
			SetTenant(c, "alpha")
			panic("kaboom")
		})
		app.Get("/ok", func(c *fiber.Ctx) error { return c.SendString("fine") })
	})
	r := get(t, addr, "x", "/boom/1")
	if r.status != 500 || r.code != tenant.EInternal || r.reqID == "" || r.reqID != r.header.Get(HeaderRequestID) {
		t.Fatalf("panic: %d %q %s (header %q)", r.status, r.code, r.body, r.header.Get(HeaderRequestID))
	}
	if strings.Contains(r.body, "kaboom") {
		t.Errorf("the panic value reached the client: %s", r.body)
	}
	if r := get(t, addr, "x", "/ok"); r.status != 200 || r.body != "fine" {
		t.Fatalf("after a panic: %d %s", r.status, r.body)
	}
	panics := sink.Lines(t, "panic serving a request")
	if len(panics) != 1 {
		t.Fatalf("%d panic lines, want 1:\n%s", len(panics), sink)
	}
	p := panics[0]
	if p["level"] != "ERROR" || p["panic"] != "kaboom" || p["tenant"] != "alpha" || p["request_id"] != r.reqID || p["route"] != "/boom/:id" ||
		!strings.Contains(p["stack"].(string), "middleware_test.go") {
		t.Errorf("panic line: %v", p)
	}
	// One ERROR line for the panic, not a second one for the 500.
	if n := strings.Count(sink.String(), `"level":"ERROR"`); n != 1 {
		t.Errorf("%d ERROR lines, want 1:\n%s", n, sink)
	}
}

func TestAccessLog(t *testing.T) {
	t.Parallel()
	log, sink := newLog(slog.LevelInfo)
	addr := testApp(t, log, nil, Limits{}, func(app *fiber.App) {
		app.Get("/items/:id", func(c *fiber.Ctx) error {
			SetTenant(c, "alpha")
			tenant.Logger(c.UserContext(), nil).Info("inside", "k", "v")
			return c.SendString("ok")
		})
		app.Get("/fail", func(c *fiber.Ctx) error { return errors.New("db password=hunter2 wrong") })
	})
	r := get(t, addr, "x", "/items/42?token=s3cret", "Authorization", "Bearer s3cret-token", "Cookie", "session=s3cret-session")
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	id := r.header.Get(HeaderRequestID)
	if len(id) != 16 {
		t.Fatalf("request id %q", id)
	}
	lines := sink.Lines(t, "request")
	if len(lines) != 1 {
		t.Fatalf("%d access lines:\n%s", len(lines), sink)
	}
	l := lines[0]
	if l["level"] != "INFO" || l["method"] != "GET" || l["route"] != "/items/:id" || l["status"] != float64(200) ||
		l["tenant"] != "alpha" || l["request_id"] != id {
		t.Errorf("access line: %v", l)
	}
	if _, ok := l["duration_ms"].(float64); !ok {
		t.Errorf("no duration_ms: %v", l)
	}
	// The request logger on the context carries tenant and request id.
	inside := sink.Lines(t, "inside")
	if len(inside) != 1 || inside[0]["tenant"] != "alpha" || inside[0]["request_id"] != id || inside[0]["k"] != "v" {
		t.Errorf("request logger: %v", inside)
	}
	if strings.Contains(sink.String(), "s3cret") || strings.Contains(sink.String(), "/items/42") {
		t.Errorf("a header, the query or the raw path reached the log:\n%s", sink)
	}

	// An internal error: 500 with the id, the cause in the log only.
	r = get(t, addr, "x", "/fail")
	if r.status != 500 || r.code != tenant.EInternal || r.reqID != r.header.Get(HeaderRequestID) || strings.Contains(r.body, "hunter2") {
		t.Fatalf("internal error: %d %s", r.status, r.body)
	}
	errs := sink.Lines(t, "internal error")
	if len(errs) != 1 || errs[0]["level"] != "ERROR" || errs[0]["request_id"] != r.reqID || !strings.Contains(errs[0]["err"].(string), "hunter2") {
		t.Errorf("internal error line: %v", errs)
	}
	// An unknown route: no template.
	r = get(t, addr, "x", "/no/such")
	if r.status != 404 || r.code != ERouteNotFound {
		t.Fatalf("unknown route: %d %s", r.status, r.body)
	}
	lines = sink.Lines(t, "request")
	if last := lines[len(lines)-1]; last["route"] != "" || last["status"] != float64(404) {
		t.Errorf("access line of an unknown route: %v", last)
	}
}

func TestRequestIDFromProxyOnly(t *testing.T) {
	t.Parallel()
	handler := func(app *fiber.App) {
		app.Get("/", func(c *fiber.Ctx) error { return c.SendString(RequestID(c)) })
	}
	direct := testApp(t, nil, nil, Limits{}, handler)
	behind := testApp(t, nil, []string{"127.0.0.1"}, Limits{}, handler)
	tests := []struct {
		name, addr, given string
		kept              bool
	}{
		{"client", direct, "client-chosen-id", false},
		{"proxy", behind, "proxy-id-0123456789", true},
		{"proxy, too short", behind, "short", false},
		{"proxy, bad characters", behind, "id with spaces\tand tabs", false},
		{"proxy, too long", behind, strings.Repeat("a", 65), false},
	}
	for _, tt := range tests {
		r := get(t, tt.addr, "x", "/", HeaderRequestID, tt.given)
		if got := r.header.Get(HeaderRequestID); (got == tt.given) != tt.kept || got != r.body || got == "" {
			t.Errorf("%s: id %q (body %q), given %q", tt.name, got, r.body, tt.given)
		}
	}
	a, b := get(t, direct, "x", "/"), get(t, direct, "x", "/")
	if a.body == b.body {
		t.Errorf("two requests share the id %s", a.body)
	}
}

func TestRequestLoggerGroups(t *testing.T) {
	t.Parallel()
	log, sink := newLog(slog.LevelInfo)
	addr := testApp(t, log, nil, Limits{}, func(app *fiber.App) {
		app.Get("/", func(c *fiber.Ctx) error {
			SetTenant(c, "alpha")
			tenant.Logger(c.UserContext(), nil).With("a", 1).WithGroup("g").Info("grouped", "b", 2)
			return nil
		})
	})
	r := get(t, addr, "x", "/")
	g := sink.Lines(t, "grouped")
	if len(g) != 1 || g[0]["tenant"] != "alpha" || g[0]["request_id"] != r.header.Get(HeaderRequestID) || g[0]["a"] != float64(1) {
		t.Fatalf("grouped line: %v", g)
	}
	if grp, _ := g[0]["g"].(map[string]any); grp["b"] != float64(2) {
		t.Errorf("group: %v", g[0])
	}
}

// Handler alone (an app without Middleware) still answers with an id and
// logs the cause of an internal error.
func TestHandlerWithoutMiddleware(t *testing.T) {
	t.Parallel()
	log, sink := newLog(slog.LevelInfo)
	app := fiber.New(Settings(log, nil, Limits{}))
	app.Get("/fail", func(c *fiber.Ctx) error { return errors.New("the cause") })
	r := get(t, serve(t, app), "x", "/fail")
	if r.status != 500 || r.code != tenant.EInternal || r.reqID == "" || r.header.Get(HeaderRequestID) != r.reqID {
		t.Fatalf("%d %s", r.status, r.body)
	}
	l := sink.Lines(t, "internal error")
	if len(l) != 1 || l[0]["err"] != "the cause" || l[0]["request_id"] != r.reqID || l[0]["level"] != "ERROR" {
		t.Errorf("log: %v", l)
	}
}

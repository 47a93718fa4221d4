package httpx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/tenancy/platform/tenant"
)

// HeaderRequestID carries the request id on every response.
const HeaderRequestID = "X-Request-Id"

// reqInfo is what the middleware keeps per request: one allocation for
// the id, the tenant and the request logger together.
type reqInfo struct {
	id      string
	tenant  string       // the tenant's slug, once the router knows it
	host    string       // see Host; valid during the request only
	own     *fiber.Route // the middleware's own route: nothing else matched yet
	noRoute bool         // Fiber found no route (404, 405)
	cause   error        // see SetCause
	h       reqHandler
	logger  slog.Logger
}

type infoKey struct{}

func infoOf(c *fiber.Ctx) *reqInfo {
	i, _ := c.Locals(infoKey{}).(*reqInfo)
	return i
}

// RequestID returns the id of the request ("" outside the middleware).
func RequestID(c *fiber.Ctx) string {
	if i := infoOf(c); i != nil {
		return i.id
	}
	return ""
}

// SetTenant names the request's tenant: the request logger and the access
// log line carry its slug from then on. slug must outlive the request
// (not a Fiber string).
func SetTenant(c *fiber.Ctx, slug string) {
	if i := infoOf(c); i != nil {
		i.tenant = slug
	}
}

// SetCause records the internal cause behind a caller-safe error (say
// tenant_unavailable): the request's access-log line carries it as
// "cause", so that it is in the log with tenant and request id once per
// request, at INFO. Loud lines are for state changes, logged by whoever
// sees them (the pool): an outage must not make one WARN per request.
func SetCause(c *fiber.Ctx, err error) {
	if i := infoOf(c); i != nil {
		i.cause = err
		return
	}
	tenant.Logger(c.UserContext(), nil).InfoContext(c.UserContext(), "request failed", "cause", err)
}

// Middleware comes first on both apps. It refuses a request whose host is
// malformed (see Host), gives each request an id (the X-Request-Id
// header; a trusted proxy's own id is kept when it is a plain token),
// puts a logger carrying request_id (and tenant, once SetTenant ran) on
// the user context (tenant.WithLogger), turns a panic into 500 internal
// with its stack in the log, answers errors with the error contract, and
// writes one access-log line (INFO "request": method, route template,
// status, duration_ms, tenant, request_id, and cause if SetCause gave
// one). It never logs a header, the query or the raw path. Per request it
// costs four small allocations (its state, the logger, the id, the
// context) and no timer.
func Middleware(log *slog.Logger, p Proxies) fiber.Handler {
	return ObservedMiddleware(log, p, nil)
}

// Observer is told of each finished request: the route template that
// answered ("" when none did: never the raw path), the status written and
// the time taken. It runs on the request's goroutine: it must be cheap.
type Observer func(c *fiber.Ctx, route string, status int, elapsed time.Duration)

// ObservedMiddleware is Middleware calling obs (nil: none) once per
// request, after the response is written.
func ObservedMiddleware(log *slog.Logger, p Proxies, obs Observer) fiber.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	base := log.Handler()
	return func(c *fiber.Ctx) error {
		start := time.Now()
		info := &reqInfo{id: requestID(c, p), own: c.Route()}
		info.h = reqHandler{base: base, info: info}
		info.logger = *slog.New(&info.h)
		c.Locals(infoKey{}, info)
		c.Set(HeaderRequestID, info.id)
		c.SetUserContext(tenant.WithLogger(c.UserContext(), &info.logger))

		err := error(errBadHost)
		if host, ok := hostOf(c, p); ok {
			info.host = host
			err = next(c, info)
		}
		if err != nil {
			var fe *fiber.Error
			info.noRoute = errors.As(err, &fe) && (fe.Code == fiber.StatusNotFound || fe.Code == fiber.StatusMethodNotAllowed)
			var werr error
			if err == errPanic {
				werr = write(c, log, err, false)
			} else {
				werr = c.App().ErrorHandler(c, err)
			}
			if werr != nil {
				info.logger.ErrorContext(c.UserContext(), "writing the error response failed", "err", werr)
				_ = c.SendStatus(fiber.StatusInternalServerError)
			}
		}
		ctx := c.UserContext()
		logged := base.Enabled(ctx, slog.LevelInfo)
		if !logged && obs == nil {
			return nil
		}
		end := time.Now()
		route, status := routeOf(c), c.Response().StatusCode()
		if obs != nil {
			obs(c, route, status, end.Sub(start))
		}
		if logged {
			// A record of our own: Logger.LogAttrs would walk the stack for
			// a source position no one asked for.
			r := slog.NewRecord(end, slog.LevelInfo, "request", 0)
			r.AddAttrs(
				slog.String("method", c.Method()),
				slog.String("route", route),
				slog.Int("status", status),
				slog.Float64("duration_ms", float64(end.Sub(start).Microseconds())/1000),
				slog.String("tenant", info.tenant),
				slog.String("request_id", info.id))
			if info.cause != nil {
				r.AddAttrs(slog.String("cause", info.cause.Error()))
			}
			_ = base.Handle(ctx, r)
		}
		return nil
	}
}

// errPanic stands for a recovered panic; its stack is logged already.
var errPanic = tenant.Errorf(tenant.EInternal, "internal error")

// next runs the rest of the chain, recovering a panic: the request gets
// 500 internal, the log the value and the stack, the process lives on.
func next(c *fiber.Ctx, info *reqInfo) (err error) {
	defer func() {
		if r := recover(); r != nil {
			info.logger.ErrorContext(c.UserContext(), "panic serving a request",
				"panic", fmt.Sprint(r), "route", routeOf(c), "stack", string(debug.Stack()))
			err = errPanic
		}
	}()
	return c.Next()
}

// routeOf is the template of the route that answered ("/v1/tenants/:slug"),
// never the raw path; "" when no route matched.
func routeOf(c *fiber.Ctx) string {
	i := infoOf(c)
	if i == nil || i.noRoute {
		return ""
	}
	if r := c.Route(); r != i.own {
		return r.Path
	}
	return ""
}

// requestID keeps a trusted proxy's id when it is a plain token, and
// makes one otherwise: a client's own id is never believed.
func requestID(c *fiber.Ctx, p Proxies) string {
	if _, trusted := p.peer(c); trusted {
		if v := c.Request().Header.Peek(HeaderRequestID); validRequestID(v) {
			return string(v)
		}
	}
	return newRequestID()
}

// validRequestID accepts 8 to 64 letters, digits, '-', '_' and '.'.
func validRequestID(v []byte) bool {
	if len(v) < 8 || len(v) > 64 {
		return false
	}
	for _, c := range v {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// newRequestID returns 16 random hex digits. An id must be unique, not
// secret: the runtime's fast generator does (crypto/rand cost more than
// the routing).
func newRequestID() string {
	const digits = "0123456789abcdef"
	var b [16]byte
	x := rand.Uint64()
	for i := range b {
		b[i] = digits[x&15]
		x >>= 4
	}
	return string(b[:])
}

// reqHandler adds tenant and request_id to every record, read when the
// record is written: no formatting cost for requests that log nothing,
// and the tenant appears once the router has resolved it.
type reqHandler struct {
	base slog.Handler
	info *reqInfo
}

func (h *reqHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.base.Enabled(ctx, l) }

func (h *reqHandler) Handle(ctx context.Context, r slog.Record) error {
	if h.info.tenant != "" {
		r.AddAttrs(slog.String("tenant", h.info.tenant))
	}
	r.AddAttrs(slog.String("request_id", h.info.id))
	return h.base.Handle(ctx, r)
}

func (h *reqHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &reqHandler{base: h.base.WithAttrs(as), info: h.info}
}

// WithGroup fixes tenant and request_id first, so they stay top-level.
func (h *reqHandler) WithGroup(name string) slog.Handler {
	as := []slog.Attr{slog.String("request_id", h.info.id)}
	if h.info.tenant != "" {
		as = append(as, slog.String("tenant", h.info.tenant))
	}
	return h.base.WithAttrs(as).WithGroup(name)
}

// Package httpx holds the HTTP pieces both Fiber apps share, the tenant
// router (tenant/router) and the operator API (platform/adminapi): the
// error contract and its one code-to-status table, the Fiber settings,
// the first middleware (request id, request logger, panic recovery,
// access log), client addresses and hosts read past trusted proxies only,
// and a bounded failure counter for rate limits.
package httpx

import (
	"log/slog"
	"time"

	"github.com/gofiber/fiber/v2"
)

// Limits bound what one client may hold. Zero fields take the defaults.
type Limits struct {
	// ReadTimeout: a request's headers and body must arrive within it,
	// from its first byte; a client trickling them is cut off (408).
	ReadTimeout time.Duration // default 10 s
	// WriteTimeout bounds writing a response to a client reading slowly.
	WriteTimeout time.Duration // default 30 s
	// IdleTimeout: how long a keep-alive connection may wait for its next
	// request. Idle connections hold no worker (fasthttp parks them).
	IdleTimeout time.Duration // default 2 min
	// Concurrency caps simultaneous connections (fasthttp's default 256 Ki).
	// There is no cap per client address: behind a proxy every client
	// shares the proxy's.
	Concurrency int
	// Uploads, when set, streams the bodies of the requests it matches to
	// their handlers, up to its Max; every other body stays within
	// BodyLimit.
	Uploads *Uploads
}

const (
	defaultReadTimeout  = 10 * time.Second
	defaultWriteTimeout = 30 * time.Second
	defaultIdleTimeout  = 2 * time.Minute
)

// Settings are the Fiber settings both listeners share. Fiber believes
// X-Forwarded-Host from anyone unless the trusted proxy check is on: it
// is, with only the configured proxies trusted (our own code reads hosts
// and client addresses through Host and ClientIP anyway). No ProxyHeader:
// Fiber would take the leftmost X-Forwarded-For address, which the client
// writes. Not ReduceMemoryUsage: with it fasthttp reads a connection's
// first byte with no deadline at all, so a client that connects and sends
// nothing would hold its connection forever.
func Settings(log *slog.Logger, trusted []string, l Limits) fiber.Config {
	if l.ReadTimeout <= 0 {
		l.ReadTimeout = defaultReadTimeout
	}
	if l.WriteTimeout <= 0 {
		l.WriteTimeout = defaultWriteTimeout
	}
	if l.IdleTimeout <= 0 {
		l.IdleTimeout = defaultIdleTimeout
	}
	return fiber.Config{
		StreamRequestBody:            l.Uploads != nil,
		DisablePreParseMultipartForm: l.Uploads != nil,
		DisableStartupMessage:        true,
		ErrorHandler:                 Handler(log),
		EnableTrustedProxyCheck:      true,
		TrustedProxies:               trusted,
		ProxyHeader:                  "",
		BodyLimit:                    BodyLimit, // with Uploads, what fasthttp reads ahead of the handler
		ReadTimeout:                  l.ReadTimeout,
		WriteTimeout:                 l.WriteTimeout,
		IdleTimeout:                  l.IdleTimeout,
		Concurrency:                  l.Concurrency,
	}
}

// NewApp returns a Fiber app with Settings, requests with a method Fiber
// does not know answered with the error contract, and Middleware first.
func NewApp(log *slog.Logger, p Proxies, l Limits) *fiber.App {
	return NewObservedApp(log, p, l, nil)
}

// NewObservedApp is NewApp whose middleware calls obs once per request,
// after the response (errors included) is written; nil: none.
func NewObservedApp(log *slog.Logger, p Proxies, l Limits, obs Observer) *fiber.App {
	app := fiber.New(Settings(log, p.strings(), l))
	// Fiber answers an unknown method itself, in plain text, before any
	// middleware runs: catch it at the fasthttp handler.
	srv := app.Server()
	srv.Handler = knownMethodsOnly(srv.Handler, app.AcquireCtx, app.ReleaseCtx, log)
	app.Use(ObservedMiddleware(log, p, obs))
	if l.Uploads != nil {
		timeout := l.ReadTimeout
		if timeout <= 0 {
			timeout = defaultReadTimeout
		}
		app.Use(bodies(l.Uploads, timeout))
	}
	return app
}

// knownMethodsOnly is generic only so that this package need not import
// fasthttp (PT is *fasthttp.RequestCtx).
func knownMethodsOnly[PT interface{ Method() []byte }](next func(PT), acquire func(PT) *fiber.Ctx, release func(*fiber.Ctx), log *slog.Logger) func(PT) {
	return func(rc PT) {
		switch string(rc.Method()) {
		case fiber.MethodGet, fiber.MethodHead, fiber.MethodPost, fiber.MethodPut, fiber.MethodDelete,
			fiber.MethodConnect, fiber.MethodOptions, fiber.MethodTrace, fiber.MethodPatch:
			next(rc)
			return
		}
		c := acquire(rc)
		defer release(c)
		_ = write(c, log, fiber.ErrBadRequest, true)
	}
}

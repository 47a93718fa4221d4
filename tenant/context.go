package tenant

import (
	"context"
	"log/slog"
)

type loggerKey struct{}

// WithLogger returns ctx carrying l: the request-scoped logger, which the
// HTTP layer sets with the tenant slug and request id, so that code deep
// in a request logs with both without taking them as arguments.
func WithLogger(ctx context.Context, l *slog.Logger) context.Context {
	return context.WithValue(ctx, loggerKey{}, l)
}

// Logger returns the logger of ctx, or fallback when it carries none (a
// nil fallback: a logger that discards).
func Logger(ctx context.Context, fallback *slog.Logger) *slog.Logger {
	if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok {
		return l
	}
	if fallback == nil {
		return slog.New(slog.DiscardHandler)
	}
	return fallback
}

// Actor is who asks for an operator action: recorded once, by the service
// that performs it, whatever the front end (CLI, operator API, scheduler).
type Actor struct {
	Name   string // e.g. cli:alice, api:1a2b3c4d (a token fingerprint, never a token)
	Source string // cli, api or scheduler
	IP     string // the client address, for the API
}

type actorKey struct{}

// WithActor returns ctx carrying the actor of the operation.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor of ctx; ok is false when none was set.
func ActorFrom(ctx context.Context) (a Actor, ok bool) {
	a, ok = ctx.Value(actorKey{}).(Actor)
	return a, ok
}

package main

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/tenancy/platform/tenant"
)

// lineBuffer batches log lines for the writer behind it: with one access
// line per request, a write system call per line cost more than the
// routing itself (see docs/BENCHMARKS.md). Lines wait at most flushEvery,
// or until 64 KiB are pending; WARN and above are written at once (the
// handler below flushes after them), and Close writes what is left.
type lineBuffer struct {
	mu   sync.Mutex
	w    io.Writer
	buf  []byte
	stop chan struct{}
	done chan struct{}
}

const (
	flushEvery   = 100 * time.Millisecond
	flushAtBytes = 64 << 10
)

func newLineBuffer(w io.Writer) *lineBuffer {
	b := &lineBuffer{w: w, buf: make([]byte, 0, flushAtBytes), stop: make(chan struct{}), done: make(chan struct{})}
	go b.loop()
	return b
}

func (b *lineBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if len(b.buf) >= flushAtBytes {
		b.flushLocked()
	}
	return len(p), nil
}

func (b *lineBuffer) Flush() {
	b.mu.Lock()
	b.flushLocked()
	b.mu.Unlock()
}

func (b *lineBuffer) flushLocked() {
	if len(b.buf) > 0 {
		_, _ = b.w.Write(b.buf) // nowhere left to report a failed log write
		b.buf = b.buf[:0]
	}
}

func (b *lineBuffer) loop() {
	defer close(b.done)
	t := time.NewTicker(flushEvery)
	defer t.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-t.C:
			b.Flush()
		}
	}
}

// Close stops the flusher and writes what is pending.
func (b *lineBuffer) Close() error {
	select {
	case <-b.stop:
	default:
		close(b.stop)
		<-b.done
	}
	b.Flush()
	return nil
}

// flushHandler writes WARN and above through at once: the lines an
// operator looks for first never wait in the buffer.
type flushHandler struct {
	slog.Handler
	buf *lineBuffer
}

func (h flushHandler) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	if r.Level >= slog.LevelWarn {
		h.buf.Flush()
	}
	return err
}

func (h flushHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return flushHandler{h.Handler.WithAttrs(as), h.buf}
}

func (h flushHandler) WithGroup(name string) slog.Handler {
	return flushHandler{h.Handler.WithGroup(name), h.buf}
}

// logLevel reads PLATFORM_LOG_LEVEL: debug, info (default), warn or error.
// warn drops the access log.
func logLevel(getenv func(string) string) (slog.Level, error) {
	switch v := strings.ToLower(getenv("PLATFORM_LOG_LEVEL")); v {
	case "", "info":
		return slog.LevelInfo, nil
	case "debug":
		return slog.LevelDebug, nil
	case "warn":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	default:
		return 0, tenant.Errorf(tenant.EInvalid, "PLATFORM_LOG_LEVEL must be debug, info, warn or error, not %q", v)
	}
}

// newLogger is a logger at level info writing straight to w (tests).
func newLogger(getenv func(string) string, w io.Writer) *slog.Logger {
	return slog.New(newHandler(getenv, w, slog.LevelInfo))
}

func newHandler(getenv func(string) string, w io.Writer, level slog.Level) slog.Handler {
	opts := &slog.HandlerOptions{Level: level}
	if getenv("PLATFORM_LOG_FORMAT") == "text" {
		return slog.NewTextHandler(w, opts)
	}
	return slog.NewJSONHandler(w, opts)
}

// newServeLogger is serve's logger: at PLATFORM_LOG_LEVEL, through a
// lineBuffer; Close the buffer before exiting.
func newServeLogger(getenv func(string) string, w io.Writer) (*slog.Logger, *lineBuffer, error) {
	level, err := logLevel(getenv)
	if err != nil {
		return nil, nil, err
	}
	buf := newLineBuffer(w)
	return slog.New(flushHandler{newHandler(getenv, buf, level), buf}), buf, nil
}

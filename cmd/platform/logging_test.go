package main

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/tenant"
)

func TestServeLoggerBuffersInfoNotWarn(t *testing.T) {
	var out platformtest.LogSink
	log, buf, err := newServeLogger(func(string) string { return "" }, &out)
	if err != nil {
		t.Fatal(err)
	}
	defer buf.Close()
	log.Info("request", "n", 1)
	if strings.Contains(out.String(), `"request"`) {
		t.Fatal("an INFO line was written at once: the buffer is bypassed")
	}
	log.With("tenant", "acme").Warn("trouble")
	if s := out.String(); !strings.Contains(s, `"trouble"`) || !strings.Contains(s, `"request"`) {
		t.Fatalf("after a WARN line, everything pending must be out; got %q", s)
	}
	log.Info("later")
	platformtest.Eventually(t, 5*time.Second, "an INFO line flushed by the timer", func() bool {
		return strings.Contains(out.String(), `"later"`)
	})
	log.Info("last")
	buf.Close()
	if !strings.Contains(out.String(), `"last"`) {
		t.Fatal("Close did not write the pending line")
	}
	// Many lines: written once 64 KiB are pending, before the timer.
	var big platformtest.LogSink
	b := newLineBuffer(&big)
	defer b.Close()
	line := strings.Repeat("x", 1023) + "\n"
	for range 70 {
		b.Write([]byte(line))
	}
	if len(big.String()) < flushAtBytes {
		t.Fatalf("%d bytes written after 70 KiB: want the first 64 KiB out at once", len(big.String()))
	}
}

func TestLogLevel(t *testing.T) {
	for in, want := range map[string]slog.Level{"": slog.LevelInfo, "info": slog.LevelInfo, "DEBUG": slog.LevelDebug, "warn": slog.LevelWarn, "error": slog.LevelError} {
		got, err := logLevel(func(string) string { return in })
		if err != nil || got != want {
			t.Errorf("PLATFORM_LOG_LEVEL=%q: %v %v, want %v", in, got, err, want)
		}
	}
	if _, err := logLevel(func(string) string { return "loud" }); tenant.ErrorCode(err) != tenant.EInvalid {
		t.Errorf("PLATFORM_LOG_LEVEL=loud: %v, want invalid_input", err)
	}
}

package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/tenancy/platform/platform/platformtest"
)

// TestPprof: PLATFORM_PPROF_ADDR serves the profile index until the
// context ends; unset serves nothing.
func TestPprof(t *testing.T) {
	t.Parallel()
	if err := startPprof(context.Background(), "", slog.New(slog.DiscardHandler)); err != nil {
		t.Fatalf("off: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	if err := startPprof(ctx, addr, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	res, err := http.Get("http://" + addr + "/debug/pprof/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || len(body) == 0 {
		t.Fatalf("index: %d %q", res.StatusCode, body)
	}
	cancel()
	platformtest.Eventually(t, 10*time.Second, "the listener closed", func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
}

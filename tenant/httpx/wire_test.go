package httpx

import (
	"io"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/tenancy/platform/platform/platformtest"
)

// Fiber's and fasthttp's own refusals keep their 4xx with a code of
// their own, log at DEBUG only and never echo request bytes (fasthttp's
// parse errors quote the raw buffer).
func TestWireErrorsKeepTheir4xx(t *testing.T) {
	t.Parallel()
	log, sink := newLog(slog.LevelDebug)
	addr := testApp(t, log, nil, Limits{ReadTimeout: 300 * time.Millisecond}, func(app *fiber.App) {
		app.Post("/upload", func(c *fiber.Ctx) error { return c.SendString("ok") })
		app.Get("/ok", func(c *fiber.Ctx) error { return c.SendString("ok") })
	})
	const marker = "SECRETBYTES"
	tests := []struct {
		name, req string
		status    int
		code      string
	}{
		{"header over 4 KB", "GET /ok HTTP/1.1\r\nHost: x\r\nX-Big: " + marker + strings.Repeat("a", 5000) + "\r\n\r\n", 431, EHeadersTooLarge},
		{"garbage", "\x00\x01" + marker + " garbage\r\n\r\n", 400, EBadRequest},
		{"no request target", "GET\r\n\r\n" + marker, 400, EBadRequest},
		{"bad header name", "GET /ok HTTP/1.1\r\nHost: x\r\nBad " + marker + ": v\r\n\r\n", 400, EBadRequest},
		{"bad chunk", "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + marker + "\r\n", 400, EBadRequest},
		{"bad content length", "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: " + marker + "\r\n\r\n", 400, EBadRequest},
		{"body too large", "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n" + marker, 413, EBodyTooLarge},
		{"unknown route", "GET /" + marker + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 404, ERouteNotFound},
		{"wrong method", "DELETE /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 405, EMethodNotAllowed},
		// Headers never finished: cut off by the read timeout.
		{"timeout", "GET /ok HTTP/1.1\r\nHost: x\r\nX-" + marker + ": 1\r\n", 408, ERequestTimeout},
		// A connection that never sends anything (B4: 500 before).
		{"idle connection", "", 408, ERequestTimeout},
	}
	for _, tt := range tests {
		r := raw(t, addr, tt.req)
		if r.status != tt.status || r.code != tt.code || r.reqID == "" || r.header.Get(HeaderRequestID) != r.reqID {
			t.Errorf("%s: %d %s, want %d %s with a request id", tt.name, r.status, r.body, tt.status, tt.code)
		}
		if strings.Contains(r.body, marker) || strings.Contains(r.body, "garbage") {
			t.Errorf("%s: the response echoes the request: %s", tt.name, r.body)
		}
	}
	out := sink.String()
	if strings.Contains(out, marker) {
		t.Errorf("the log echoes request bytes:\n%s", out)
	}
	for _, l := range sink.Lines(t, "") {
		if l["level"] != "DEBUG" && l["msg"] != "request" {
			t.Errorf("more than DEBUG for a client's mistake: %v", l)
		}
	}
	if len(sink.Lines(t, "request refused")) < 5 {
		t.Errorf("refusals were not logged at DEBUG:\n%s", out)
	}
}

// A client trickling its headers, or never finishing its body, is cut off
// by the read timeout while other requests are served meanwhile, and
// idle keep-alive connections do not stop a normal request.
func TestSlowClientsAreCutOff(t *testing.T) {
	t.Parallel()
	const timeout = 300 * time.Millisecond
	addr := testApp(t, nil, nil, Limits{ReadTimeout: timeout, IdleTimeout: time.Minute}, func(app *fiber.App) {
		app.Get("/ok", func(c *fiber.Ctx) error { return c.SendString("ok") })
		app.Post("/ok", func(c *fiber.Ctx) error { return c.SendString("ok") })
	})
	// Idle connections: connected, one request served, then silent.
	var idle []net.Conn
	for range 200 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		idle = append(idle, c)
		t.Cleanup(func() { c.Close() })
	}
	for _, c := range idle[:20] {
		if _, err := io.WriteString(c, "GET /ok HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		if r := readResponse(t, c); r.status != 200 {
			t.Fatalf("keep-alive request: %d", r.status)
		}
	}

	slow := map[string]string{
		"trickled headers": "GET /ok HTTP/1.1\r\nHost: x\r\nX-Slow: " + strings.Repeat("a", 200),
		"unfinished body":  "POST /ok HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" + strings.Repeat("b", 200),
	}
	for name, req := range slow {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		start := time.Now()
		var stopped atomic.Bool
		go func() { // one byte every 20 ms, for far longer than the timeout
			for i := 0; i < len(req) && !stopped.Load(); i++ {
				if _, err := conn.Write([]byte{req[i]}); err != nil {
					return
				}
				time.Sleep(20 * time.Millisecond) // the pace of the slow client, not an ordering
			}
		}()
		// Meanwhile a normal request is served at once.
		if r := get(t, addr, "x", "/ok"); r.status != 200 {
			t.Errorf("%s: normal request during a slow one: %d", name, r.status)
		}
		if err := conn.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
			t.Fatal(err)
		}
		r := readResponse(t, conn)
		stopped.Store(true)
		took := time.Since(start)
		if r.status != 408 || r.code != ERequestTimeout {
			t.Errorf("%s: %d %s, want 408 request_timeout", name, r.status, r.body)
		}
		// 200 bytes at 20 ms take 4 s: cut off near the timeout instead.
		if took > timeout+2*time.Second {
			t.Errorf("%s: cut off after %s, timeout %s", name, took, timeout)
		}
		// And the connection is closed.
		platformtest.Eventually(t, 2*time.Second, name+": connection closed", func() bool {
			_, err := conn.Read(make([]byte, 1))
			return err != nil
		})
	}
	if r := get(t, addr, "x", "/ok"); r.status != 200 {
		t.Errorf("normal request with %d idle connections: %d", len(idle), r.status)
	}
}

package main

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenancy/platform/platform/platformtest"
)

// TestServeIdleAndSlowClients holds 500 idle keep-alive connections and
// 100 that trickle their headers or their body a byte at a time: a normal request is
// still served meanwhile, and each trickling client is cut off by the
// read timeout (PLATFORM_HTTP_READ_TIMEOUT) instead of holding its
// connection for as long as it likes. The figures for thousands of
// connections are scripts/bench/idle's (docs/BENCHMARKS.md).
func TestServeIdleAndSlowClients(t *testing.T) {
	t.Parallel()
	const (
		idleN, slowN = 500, 100
		readTimeout  = time.Second
	)
	c := newCLI(t)
	ts := c.serve(t, map[string]string{"PLATFORM_HTTP_READ_TIMEOUT": readTimeout.String()})
	tn := ts.create(t, "restaurant")
	waitStatus(t, ts, tn.Slug, 200, "")
	addr := strings.TrimPrefix(ts.tenantURL, "http://")
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	dial := func() net.Conn {
		t.Helper()
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("connection %d: %v", len(conns)+1, err)
		}
		conns = append(conns, conn)
		conn.SetDeadline(time.Now().Add(time.Minute)) // a hung server fails the test, never hangs it
		return conn
	}

	// Idle keep-alive connections: one request each, then nothing.
	for range idleN {
		conn := dial()
		if _, err := io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || res.Close {
			t.Fatalf("idle connection's request: %d (close %v)", res.StatusCode, res.Close)
		}
	}

	// Slow clients: a request line, then a header that never ends; or
	// whole headers, then a body that never ends.
	type cut struct {
		after time.Duration
		err   error
	}
	cuts := make(chan cut, slowN)
	var wg sync.WaitGroup
	stopTrickle := make(chan struct{})
	defer func() { close(stopTrickle); wg.Wait() }()
	for i := range slowN {
		conn := dial()
		start := time.Now()
		head := "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: "
		if i%2 == 1 {
			head = "POST /api/tenant HTTP/1.1\r\nHost: " + tn.Slug + ".localhost\r\nContent-Length: 100000\r\n\r\n"
		}
		if _, err := io.WriteString(conn, head); err != nil {
			t.Fatal(err)
		}
		wg.Go(func() { // a byte every 100 ms until the server hangs up
			tick := time.NewTicker(100 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-stopTrickle:
					return
				case <-tick.C:
				}
				if _, err := conn.Write([]byte("a")); err != nil {
					return
				}
			}
		})
		wg.Go(func() { // whatever the server answers, then its close
			_, err := io.Copy(io.Discard, conn)
			cuts <- cut{time.Since(start), err}
		})
	}

	// Meanwhile, a normal request that reaches the tenant's database.
	platformtest.Eventually(t, 5*time.Second, "the server holds every connection", func() bool {
		return ts.tenant.Server().GetOpenConnectionsCount() >= idleN+slowN
	})
	if code, body := ts.get(t, tn.Slug+".localhost", "/api/tenant/db"); code != 200 || body["database"] != tn.Database {
		t.Errorf("a normal request among %d idle and %d slow connections: %d %v", idleN, slowN, code, body)
	}

	for range slowN {
		c := <-cuts
		// EOF, or a reset (the server closed with trickled bytes unread);
		// not our own deadline.
		if errors.Is(c.err, os.ErrDeadlineExceeded) || c.after < readTimeout*9/10 || c.after > readTimeout+5*time.Second {
			t.Fatalf("a trickling client was cut off after %v (%v), want about the read timeout %v", c.after, c.err, readTimeout)
		}
	}
	// The idle connections are still open: they are bound by the idle
	// timeout, not the read timeout.
	if open := ts.tenant.Server().GetOpenConnectionsCount(); open < idleN {
		t.Errorf("%d connections open after the slow ones were cut, want the %d idle ones", open, idleN)
	}
}

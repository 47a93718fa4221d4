package httpx

import (
	"bufio"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/tenancy/platform/platform/platformtest"
)

func newLog(level slog.Level) (*slog.Logger, *platformtest.LogSink) {
	s := &platformtest.LogSink{}
	return slog.New(slog.NewJSONHandler(s, &slog.HandlerOptions{Level: level})), s
}

// testApp is an app with our settings and middleware, as router.New and
// adminapi.New build it, with routes added by add, served on a real
// loopback listener.
func testApp(t *testing.T, log *slog.Logger, trusted []string, l Limits, add func(app *fiber.App)) string {
	t.Helper()
	p, err := ParseProxies(trusted)
	if err != nil {
		t.Fatal(err)
	}
	app := NewApp(log, p, l)
	if add != nil {
		add(app)
	}
	return serve(t, app)
}

func serve(t testing.TB, app *fiber.App) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- app.Listener(ln) }()
	t.Cleanup(func() {
		if err := app.ShutdownWithTimeout(5 * time.Second); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return ln.Addr().String()
}

type response struct {
	status int
	header http.Header
	body   string
	code   string // error.code of a JSON error body
	reqID  string // error.request_id
}

// dial connects to addr with a deadline of d for everything on the
// connection, closed when the test ends.
func dial(t *testing.T, addr string, d time.Duration) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if err := conn.SetDeadline(time.Now().Add(d)); err != nil {
		t.Fatal(err)
	}
	return conn
}

// raw sends raw bytes on a new connection and reads one response.
func raw(t *testing.T, addr, req string) response {
	t.Helper()
	conn := dial(t, addr, 10*time.Second)
	defer conn.Close()
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	return readResponse(t, conn)
}

func readResponse(t *testing.T, conn net.Conn) response {
	t.Helper()
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	r := response{status: res.StatusCode, header: res.Header, body: string(b)}
	var eb Body
	if json.Unmarshal(b, &eb) == nil {
		r.code, r.reqID = eb.Error.Code, eb.Error.RequestID
	}
	return r
}

// get is a plain request for path with the given Host.
func get(t *testing.T, addr, host, path string, hdr ...string) response {
	t.Helper()
	var b strings.Builder
	b.WriteString("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n")
	for i := 0; i+1 < len(hdr); i += 2 {
		b.WriteString(hdr[i] + ": " + hdr[i+1] + "\r\n")
	}
	b.WriteString("Connection: close\r\n\r\n")
	return raw(t, addr, b.String())
}

package httpx

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/tenancy/platform/tenant"
)

// uploadApp: POST /upload streams (Uploads, 3 MiB), answering the bytes
// it read; POST /echo answers the length of its body as handlers see it.
func uploadApp(t *testing.T, timeout time.Duration) string {
	t.Helper()
	const max = 3 << 20
	return testApp(t, nil, nil, Limits{ReadTimeout: timeout, Uploads: &Uploads{Max: max,
		Match: func(c *fiber.Ctx) bool { return c.Path() == "/upload" || c.Path() == "/refuse" }}}, func(app *fiber.App) {
		app.Post("/refuse", func(c *fiber.Ctx) error { return tenant.Errorf(tenant.EForbidden, "refused") })
		app.Post("/upload", func(c *fiber.Ctx) error {
			if c.Get(fiber.HeaderContentType) == "application/json" { // as the import API's
				if err := ReadBody(c, BodyLimit); err != nil {
					return err
				}
				return c.SendString("json " + strconv.Itoa(len(c.Body())))
			}
			n, err := io.Copy(io.Discard, Upload(c))
			if err != nil {
				return err
			}
			return c.SendString(strconv.FormatInt(n, 10))
		})
		app.Post("/echo", func(c *fiber.Ctx) error {
			if c.Get(fiber.HeaderContentType) == "application/x-www-form-urlencoded" {
				return c.SendString(c.FormValue("a"))
			}
			return c.SendString(strconv.Itoa(len(c.Body())))
		})
		app.Get("/ok", func(c *fiber.Ctx) error { return c.SendString("ok") })
	})
}

func post(path, body string, hdr ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n", path, len(body))
	for i := 0; i+1 < len(hdr); i += 2 {
		b.WriteString(hdr[i] + ": " + hdr[i+1] + "\r\n")
	}
	b.WriteString("\r\n" + body)
	return b.String()
}

func chunked(path string, body string) string {
	var b strings.Builder
	b.WriteString("POST " + path + " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
	for len(body) > 0 {
		n := min(len(body), 64<<10)
		fmt.Fprintf(&b, "%x\r\n%s\r\n", n, body[:n])
		body = body[n:]
	}
	b.WriteString("0\r\n\r\n")
	return b.String()
}

// TestUploads: an upload route streams up to its Max, every other route
// keeps BodyLimit (including chunked bodies and multipart forms, which
// nothing parses ahead of the handler), and the bodies handlers read are
// whole.
func TestUploads(t *testing.T) {
	t.Parallel()
	addr := uploadApp(t, 5*time.Second)
	big := strings.Repeat("x", 2<<20+17)
	over := strings.Repeat("y", 3<<20+1)
	form := "--B\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a\"\r\n\r\n" + big + "\r\n--B--\r\n"
	tests := []struct {
		name, req string
		status    int
		body      string // of a 200
		code      string
	}{
		{"upload over BodyLimit", post("/upload", big), 200, strconv.Itoa(len(big)), ""},
		{"chunked upload", chunked("/upload", big), 200, strconv.Itoa(len(big)), ""},
		// Announced over Max: refused at once (only the start is sent).
		{"upload over Max", post("/upload", over)[:len(post("/upload", over))-len(over)+64<<10], 413, "", EBodyTooLarge},
		{"JSON to an upload route", post("/upload", `{"a":1}`, "Content-Type", "application/json"), 200, "json 7", ""},
		{"chunked JSON to an upload route", strings.Replace(chunked("/upload", `{"a":1}`), "\r\n\r\n", "\r\nContent-Type: application/json\r\n\r\n", 1), 200, "json 7", ""},
		{"large JSON to an upload route", post("/upload", big, "Content-Type", "application/json"), 413, "", EBodyTooLarge},
		{"chunked upload over Max", chunked("/upload", over), 413, "", EBodyTooLarge},
		{"small body", post("/echo", strings.Repeat("z", 100_000)), 200, "100000", ""},
		{"form", post("/echo", "a=b%20c", "Content-Type", "application/x-www-form-urlencoded"), 200, "b c", ""},
		{"chunked small body", chunked("/echo", strings.Repeat("z", 200_000)), 200, "200000", ""},
		{"body over BodyLimit", post("/echo", big)[:len(post("/echo", big))-len(big)+64<<10], 413, "", EBodyTooLarge},
		{"chunked body over BodyLimit", chunked("/echo", big), 413, "", EBodyTooLarge},
		{"multipart over BodyLimit", post("/echo", form, "Content-Type", "multipart/form-data; boundary=B")[:64<<10], 413, "", EBodyTooLarge},
		{"body to a GET route", post("/ok", big)[:64<<10], 413, "", EBodyTooLarge},
	}
	for _, tt := range tests {
		r := raw(t, addr, tt.req)
		if r.status != tt.status || r.code != tt.code || tt.status == 200 && r.body != tt.body {
			t.Errorf("%s: %d %.200s, want %d %s %s", tt.name, r.status, r.body, tt.status, tt.code, tt.body)
		}
	}
}

// TestUploadConnection: a body left unread is never taken for the next
// request: an upload's connection closes after its answer, and so does
// one whose body was refused; a small body keeps the connection.
func TestUploadConnection(t *testing.T) {
	t.Parallel()
	addr := uploadApp(t, 5*time.Second)
	// The request smuggled in the refused body would be answered "ok".
	smuggled := "GET /ok HTTP/1.1\r\nHost: x\r\n\r\n"
	for _, tt := range []struct{ name, req string }{
		{"upload", post("/upload", smuggled)},
		// Announced too large: refused at once; only its start is sent.
		{"refused body", post("/echo", smuggled+strings.Repeat("x", 2<<20))[:64<<10]},
	} {
		conn := dial(t, addr, 10*time.Second)
		if _, err := io.WriteString(conn, tt.req); err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(conn)
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if _, err := io.Copy(io.Discard, res.Body); err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if !res.Close {
			t.Errorf("%s: the connection stays open (Connection: %q)", tt.name, res.Header.Get("Connection"))
		}
		if next, err := http.ReadResponse(br, nil); err == nil {
			t.Errorf("%s: a second response came: %d", tt.name, next.StatusCode)
		}
		conn.Close()
	}
	// A small body: the same connection serves a second request.
	conn := dial(t, addr, 10*time.Second)
	br := bufio.NewReader(conn)
	for i := range 2 {
		if _, err := io.WriteString(conn, post("/echo", "abc")); err != nil {
			t.Fatal(err)
		}
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		b, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil || res.StatusCode != 200 || string(b) != "3" {
			t.Fatalf("request %d: %d %s %v", i, res.StatusCode, b, err)
		}
	}
}

// TestRefusedUploadIsAnswered: an upload its handler refuses without
// reading it is read to its end (up to drainMax) before the connection
// closes, so that a client sending it gets the answer, not a reset.
func TestRefusedUploadIsAnswered(t *testing.T) {
	t.Parallel()
	addr := uploadApp(t, 5*time.Second)
	body := strings.Repeat("r", 2<<20+5)
	for i := range 5 {
		res, err := http.Post("http://"+addr+"/refuse", "application/octet-stream", strings.NewReader(body))
		if err != nil {
			t.Fatalf("upload %d: %v", i, err)
		}
		res.Body.Close()
		if res.StatusCode != 403 {
			t.Fatalf("upload %d: %d", i, res.StatusCode)
		}
	}
}

// TestUploadTimeouts: an upload that keeps sending may take longer than
// the read timeout in all; one that stalls is cut off (408), as is a
// small body that never finishes.
func TestUploadTimeouts(t *testing.T) {
	t.Parallel()
	const timeout = 400 * time.Millisecond
	addr := uploadApp(t, timeout)
	send := func(t *testing.T, path string, total int, pieces int, pause time.Duration, stallAfter int) response {
		t.Helper()
		conn := dial(t, addr, 20*time.Second)
		if _, err := fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", path, total); err != nil {
			t.Fatal(err)
		}
		piece := bytes.Repeat([]byte("p"), total/pieces)
		for i := range pieces {
			if i == stallAfter {
				break // and wait for the answer: the server must give up
			}
			if i > 0 {
				time.Sleep(pause) // a slow client's pace, not an ordering
			}
			if _, err := conn.Write(piece); err != nil {
				t.Fatal(err)
			}
		}
		return readResponse(t, conn)
	}
	// 8 pieces 150 ms apart: 1.05 s in all, over twice the timeout.
	total := 8 * (256 << 10)
	if r := send(t, "/upload", total, 8, 150*time.Millisecond, -1); r.status != 200 || r.body != strconv.Itoa(total) {
		t.Errorf("slow but steady upload: %d %s", r.status, r.body)
	}
	if r := send(t, "/upload", total, 8, 0, 5); r.status != 408 || r.code != ERequestTimeout {
		t.Errorf("stalled upload: %d %s", r.status, r.body)
	}
	if r := send(t, "/echo", 200_000, 4, 0, 2); r.status != 408 || r.code != ERequestTimeout {
		t.Errorf("stalled small body: %d %s", r.status, r.body)
	}
}

// BenchmarkUpload: a 64 MiB upload streamed to a file through Upload, as
// the import API does, against the same body posted to a route that
// holds it in memory (as every body was before Uploads; 413 above
// BodyLimit, so that route takes any size here). B/op shows what the
// server held: a fraction of the body when streamed.
//
//	go test ./tenant/httpx/ -run '^$' -bench BenchmarkUpload -benchmem
func BenchmarkUpload(b *testing.B) {
	const size = 64 << 20
	dir := b.TempDir()
	p, err := ParseProxies(nil)
	if err != nil {
		b.Fatal(err)
	}
	app := NewApp(nil, p, Limits{Uploads: &Uploads{Max: 1 << 30, Match: func(c *fiber.Ctx) bool { return c.Path() == "/upload" }}})
	app.Post("/upload", func(c *fiber.Ctx) error {
		f, err := os.CreateTemp(dir, "up-*")
		if err != nil {
			return err
		}
		defer os.Remove(f.Name())
		defer f.Close()
		n, err := io.Copy(f, Upload(c))
		if err != nil {
			return err
		}
		return c.SendString(strconv.FormatInt(n, 10))
	})
	streamed := serve(b, app)
	held := fiber.New(fiber.Config{BodyLimit: 1 << 30, DisableStartupMessage: true})
	held.Post("/upload", func(c *fiber.Ctx) error {
		f, err := os.CreateTemp(dir, "up-*")
		if err != nil {
			return err
		}
		defer os.Remove(f.Name())
		defer f.Close()
		n, err := f.Write(c.Body())
		if err != nil {
			return err
		}
		return c.SendString(strconv.Itoa(n))
	})
	inMemory := serve(b, held)
	body := bytes.Repeat([]byte("0123456789abcdef"), size/16)
	for _, bb := range []struct{ name, addr string }{{"streamed", streamed}, {"in-memory", inMemory}} {
		b.Run(bb.name, func(b *testing.B) {
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				res, err := http.Post("http://"+bb.addr+"/upload", "application/octet-stream", bytes.NewReader(body))
				if err != nil {
					b.Fatal(err)
				}
				got, err := io.ReadAll(res.Body)
				res.Body.Close()
				if err != nil || res.StatusCode != 200 || string(got) != strconv.Itoa(size) {
					b.Fatalf("%d %s %v", res.StatusCode, got, err)
				}
			}
		})
	}
}

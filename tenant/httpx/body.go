package httpx

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/tenancy/platform/tenant"
)

// BodyLimit is the largest request body a handler gets, except uploads
// (Uploads).
const BodyLimit = 1 << 20

// Uploads lets some requests send a body larger than BodyLimit, streamed
// to their handler (Upload) instead of held in memory. With it, fasthttp
// streams every body, so every other request's body is read before any
// handler runs, up to BodyLimit as without it; and nothing parses a
// multipart form ahead of the handler (fasthttp would spool a form of any
// size to disk before authentication).
type Uploads struct {
	// Match says whether the request may upload. It runs before
	// authentication: it looks at the method and path only.
	Match func(c *fiber.Ctx) bool
	// Max is the largest upload; beyond it, 413.
	Max int64
}

type uploadKey struct{}

// drainMax is how much of a refused upload is read (and dropped) so that
// its client gets the answer; beyond it, the connection is just closed.
const drainMax = 64 << 20

// upload is an upload's body as its handler reads it.
type upload struct {
	r       io.Reader
	conn    net.Conn
	timeout time.Duration
	max     int64
	n       int64
}

// Read waits at most the read timeout for each piece of the body, from
// when it is asked for: a long upload goes on as long as data comes, a
// stalled one is cut off. A body over max fails with 413.
func (u *upload) Read(p []byte) (int, error) {
	if u.n > u.max {
		return 0, fiber.ErrRequestEntityTooLarge
	}
	if left := u.max + 1 - u.n; int64(len(p)) > left {
		p = p[:left]
	}
	if u.conn != nil {
		_ = u.conn.SetReadDeadline(time.Now().Add(u.timeout))
	}
	n, err := u.r.Read(p)
	u.n += int64(n)
	if u.n > u.max {
		return n, fiber.ErrRequestEntityTooLarge
	}
	return n, wireError(err)
}

// drain reads what the handler left unread (it refused the upload, or
// it was over max), up to drainMax, and drops it: a client still sending
// it would otherwise see the connection reset before the answer, which
// is written after the handler returns.
func (u *upload) drain() {
	buf := make([]byte, 32<<10)
	for left := int64(drainMax); left > 0; {
		if u.conn != nil {
			_ = u.conn.SetReadDeadline(time.Now().Add(u.timeout))
		}
		n, err := u.r.Read(buf[:min(int64(len(buf)), left)])
		left -= int64(n)
		if err != nil {
			return
		}
	}
}

// Upload is the body of a request Uploads matched, read as it arrives (a
// request it did not match reads its body, already held in memory).
func Upload(c *fiber.Ctx) io.Reader {
	if u, ok := c.Locals(uploadKey{}).(*upload); ok {
		return u
	}
	return &upload{r: bytes.NewReader(c.Body()), max: BodyLimit}
}

// bodies is the first handler after Middleware when Uploads is on: it
// reads the body of every request but uploads, up to BodyLimit, so that
// handlers see it as without streaming.
func bodies(u *Uploads, timeout time.Duration) fiber.Handler {
	return func(c *fiber.Ctx) error {
		req := c.Request()
		if !req.IsBodyStream() {
			return c.Next()
		}
		if u.Match(c) {
			// Whatever its handler leaves unread must not be read as the
			// connection's next request.
			c.Context().SetConnectionClose()
			if int64(req.Header.ContentLength()) > u.Max {
				return UploadTooLarge(u.Max)
			}
			up := &upload{r: req.BodyStream(), conn: c.Context().Conn(), timeout: timeout, max: u.Max}
			c.Locals(uploadKey{}, up)
			err := c.Next()
			up.drain()
			return err
		}
		if err := ReadBody(c, BodyLimit); err != nil {
			c.Context().SetConnectionClose()
			return err
		}
		return c.Next()
	}
}

// UploadTooLarge is the error of an upload over max bytes.
func UploadTooLarge(max int64) error {
	return tenant.Errorf(EBodyTooLarge, "the upload is larger than %s", SizeText(max))
}

// SizeText writes n bytes in GiB, MiB or bytes.
func SizeText(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

// ReadBody reads a streamed request body into memory, up to limit bytes
// (413 beyond), within the read timeout fasthttp set for the request.
func ReadBody(c *fiber.Ctx, limit int) error {
	req := c.Request()
	if !req.IsBodyStream() {
		if len(req.Body()) > limit {
			return fiber.ErrRequestEntityTooLarge
		}
		return nil
	}
	if req.Header.ContentLength() > limit {
		return fiber.ErrRequestEntityTooLarge
	}
	var r io.Reader = req.BodyStream()
	up, _ := c.Locals(uploadKey{}).(*upload)
	if up != nil {
		r = up // an upload route's body that is no upload (JSON)
	}
	b, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return wireError(err)
	}
	if len(b) > limit {
		// Found by reading (no Content-Length said so): the client is
		// still sending; read on, up to drainMax, so that it gets the
		// answer rather than a reset.
		_, _ = io.CopyN(io.Discard, r, drainMax)
		return fiber.ErrRequestEntityTooLarge
	}
	req.SetBody(b) // and closes the stream: fasthttp reuses it at once
	if up != nil {
		up.r = bytes.NewReader(nil)
	}
	return nil
}

// wireError is the error contract's version of a failure reading the
// body: the client stopped sending (408) or sent a broken body (400).
func wireError(err error) error {
	if err == nil || err == io.EOF {
		return err
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return fiber.ErrRequestTimeout
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fiber.ErrRequestTimeout
	}
	return fiber.ErrBadRequest
}

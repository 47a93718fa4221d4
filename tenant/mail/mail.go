// Package mail sends tenant users their mail (password reset links) over
// SMTP: auth.Mailer for the platform's SMTP relay (PLATFORM_SMTP_URL).
// One connection per message: mail is rare (resets), and a connection
// kept open would only go stale between them.
package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"mime/quotedprintable"
	"net"
	netmail "net/mail"
	"net/smtp"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/auth"
)

// Config says where and as whom to send.
type Config struct {
	// URL is smtp://[user:pass@]host[:port] (STARTTLS when the server
	// offers it; port 25 by default) or smtps://[user:pass@]host[:port]
	// (TLS from the first byte; port 465 by default).
	URL string
	// From is the sender's address (no name: each message carries the
	// tenant's name).
	From string
	// Timeout bounds one message from dial to QUIT; default 10 s.
	Timeout time.Duration
	// Logger gets one INFO line per message sent (recipient domain and
	// Message-ID, never the body: it may hold a reset token); failures are
	// returned, not logged.
	Logger *slog.Logger
	// RootCAs verifies the server's certificate; nil: the system's roots.
	RootCAs *x509.CertPool
}

// SMTP sends mail through one SMTP server. Safe for concurrent use.
type SMTP struct {
	addr, host  string
	implicitTLS bool
	user, pass  string
	hasAuth     bool
	from        string
	fromDomain  string
	timeout     time.Duration
	log         *slog.Logger
	rootCAs     *x509.CertPool
}

var _ auth.Mailer = (*SMTP)(nil)

// DefaultTimeout bounds one message when Config.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// New checks cfg and returns a sender. It does not connect.
func New(cfg Config) (*SMTP, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || cfg.URL == "" {
		return nil, errors.New("mail: the SMTP URL must look like smtp://[user:pass@]host:port or smtps://…")
	}
	s := &SMTP{timeout: cfg.Timeout, log: cfg.Logger, rootCAs: cfg.RootCAs}
	port := ""
	switch u.Scheme {
	case "smtp":
		port = "25"
	case "smtps":
		port, s.implicitTLS = "465", true
	default:
		return nil, fmt.Errorf("mail: SMTP URL scheme %q: want smtp or smtps", u.Scheme)
	}
	if u.Opaque != "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New("mail: the SMTP URL takes no path, query or fragment: smtp://[user:pass@]host:port")
	}
	s.host = u.Hostname()
	if s.host == "" {
		return nil, errors.New("mail: the SMTP URL names no host")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("mail: SMTP URL port %q is not a port number", p)
		}
		port = p
	}
	s.addr = net.JoinHostPort(s.host, port)
	if u.User != nil {
		s.user = u.User.Username()
		s.pass, s.hasAuth = u.User.Password()
		if s.user == "" || !s.hasAuth {
			return nil, errors.New("mail: SMTP URL credentials need both user and password (user:pass@)")
		}
	}
	if err := plainLine("mail: the sender address", cfg.From); err != nil {
		return nil, err
	}
	a, err := netmail.ParseAddress(cfg.From)
	if err != nil || a.Name != "" || cfg.From != a.Address {
		return nil, fmt.Errorf("mail: sender %q is not a bare e-mail address (name@domain)", cfg.From)
	}
	s.from = a.Address
	s.fromDomain = a.Address[strings.LastIndexByte(a.Address, '@')+1:]
	if s.timeout <= 0 {
		s.timeout = DefaultTimeout
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s, nil
}

// errUnavailable is what callers see when the server cannot be reached or
// says to come back later; the cause is wrapped alongside for the log.
var errUnavailable = tenant.Errorf(tenant.EUnavailable, "the mail server cannot be reached")

// Send delivers m. A field with a line break (or any control character)
// is refused (tenant.EInvalid) before connecting: header injection cannot
// happen. An unreachable, silent or temporarily failing server is
// tenant.EUnavailable.
func (s *SMTP) Send(ctx context.Context, m auth.Mail) error {
	to, msg, msgID, err := s.compose(m, time.Now())
	if err != nil {
		return err
	}
	start := time.Now()
	err = s.deliver(ctx, to, msg)
	domain := to[strings.LastIndexByte(to, '@')+1:]
	if err != nil {
		return err // the caller logs it, with its own context
	}
	s.log.InfoContext(ctx, "mail sent", "to_domain", domain, "message_id", msgID,
		"duration_ms", time.Since(start).Milliseconds())
	return nil
}

func invalid(format string, args ...any) error {
	return tenant.Errorf(tenant.EInvalid, "mail: "+format, args...)
}

// plainLine refuses control characters (CR, LF, NUL, …) in a header value.
func plainLine(what, v string) error {
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			return invalid("%s contains a line break or control character", what)
		}
	}
	return nil
}

// compose checks m and returns the recipient, the message (CRLF lines) and
// its Message-ID.
func (s *SMTP) compose(m auth.Mail, now time.Time) (to string, msg []byte, msgID string, err error) {
	for _, f := range []struct{ what, v string }{
		{"the recipient address", m.To}, {"the recipient name", m.ToName},
		{"the sender name", m.FromName}, {"the subject", m.Subject},
	} {
		if err := plainLine(f.what, f.v); err != nil {
			return "", nil, "", err
		}
	}
	a, err := netmail.ParseAddress(m.To)
	if err != nil || a.Name != "" || strings.TrimSpace(m.To) != a.Address {
		return "", nil, "", invalid("recipient %q is not a bare e-mail address", m.To)
	}
	to = a.Address
	var id [16]byte
	if _, err := rand.Read(id[:]); err != nil {
		return "", nil, "", fmt.Errorf("mail: message id: %w", err)
	}
	msgID = "<" + hex.EncodeToString(id[:]) + "@" + s.fromDomain + ">"

	var b bytes.Buffer
	// net/mail quotes or RFC 2047-encodes the names (UTF-8, Q encoding).
	header(&b, "From", (&netmail.Address{Name: m.FromName, Address: s.from}).String())
	header(&b, "To", (&netmail.Address{Name: m.ToName, Address: to}).String())
	header(&b, "Subject", encodeText(m.Subject))
	header(&b, "Date", now.Format(time.RFC1123Z))
	header(&b, "Message-ID", msgID)
	header(&b, "MIME-Version", "1.0")
	header(&b, "Content-Type", "text/plain; charset=utf-8")
	header(&b, "Content-Transfer-Encoding", "quoted-printable")
	// RFC 3834: no vacation replies to a reset mail.
	header(&b, "Auto-Submitted", "auto-generated")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	body := strings.ReplaceAll(m.Text, "\r\n", "\n")
	body = strings.ReplaceAll(body, "\r", "\n")
	if _, err := qp.Write([]byte(body)); err != nil {
		return "", nil, "", err
	}
	if err := qp.Close(); err != nil {
		return "", nil, "", err
	}
	if !bytes.HasSuffix(b.Bytes(), []byte("\r\n")) {
		b.WriteString("\r\n")
	}
	return to, b.Bytes(), msgID, nil
}

// encodeText is an unstructured header value: as is when it is printable
// ASCII, else RFC 2047 encoded words (UTF-8, Q encoding).
func encodeText(v string) string { return mime.QEncoding.Encode("utf-8", v) }

// header writes "Name: value" folded at spaces to lines of at most 78
// characters where it can, also right after the colon (encoded words are
// at most 75 characters, so every line fits; RFC 5322 allows 998 for a
// word that cannot be folded).
func header(b *bytes.Buffer, name, value string) {
	line := name + ":"
	n := len(line)
	b.WriteString(line)
	for i, w := range strings.Split(value, " ") {
		if n+1+len(w) > 78 && (i > 0 || len(w) > 0) {
			b.WriteString("\r\n")
			n = 0
		}
		b.WriteByte(' ')
		b.WriteString(w)
		n += 1 + len(w)
	}
	b.WriteString("\r\n")
}

// deliver runs the SMTP dialogue within s.timeout and ctx.
func (s *SMTP) deliver(ctx context.Context, to string, msg []byte) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	tlsConf := &tls.Config{ServerName: s.host, MinVersion: tls.VersionTLS12, RootCAs: s.rootCAs}
	d := &net.Dialer{}
	var conn net.Conn
	var err error
	if s.implicitTLS {
		conn, err = (&tls.Dialer{NetDialer: d, Config: tlsConf}).DialContext(ctx, "tcp", s.addr)
	} else {
		conn, err = d.DialContext(ctx, "tcp", s.addr)
	}
	if err != nil {
		return fmt.Errorf("mail: connect to %s: %w (%w)", s.addr, errUnavailable, err)
	}
	defer conn.Close()
	dl, _ := ctx.Deadline()
	if err := conn.SetDeadline(dl); err != nil {
		return fmt.Errorf("mail: %w (%w)", errUnavailable, err)
	}
	// A cancelled context ends the dialogue at once.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	c, err := smtp.NewClient(conn, s.host)
	if err != nil {
		return s.fail("greeting", err)
	}
	defer c.Close()
	if err := c.Hello(helloName(s.fromDomain)); err != nil {
		return s.fail("EHLO", err)
	}
	secure := s.implicitTLS
	if !secure {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(tlsConf); err != nil {
				return s.fail("STARTTLS", err)
			}
			secure = true
		}
	}
	if s.hasAuth {
		if !authAllowed(secure, s.host) {
			return fmt.Errorf("mail: refusing to send the SMTP password to %s without TLS (the server offers no STARTTLS)", s.addr)
		}
		if ok, _ := c.Extension("AUTH"); !ok {
			return fmt.Errorf("mail: %s does not offer AUTH, but the SMTP URL has credentials", s.addr)
		}
		if err := c.Auth(plainAuth{user: s.user, pass: s.pass}); err != nil {
			return s.fail("AUTH", err)
		}
	}
	if err := c.Mail(s.from); err != nil {
		return s.fail("MAIL FROM", err)
	}
	if err := c.Rcpt(to); err != nil {
		return s.fail("RCPT TO", err)
	}
	w, err := c.Data()
	if err != nil {
		return s.fail("DATA", err)
	}
	if _, err := w.Write(msg); err != nil {
		return s.fail("DATA", err)
	}
	if err := w.Close(); err != nil {
		return s.fail("end of DATA", err)
	}
	// The server took the message; a failing QUIT changes nothing.
	_ = c.Quit()
	return nil
}

// fail classifies an SMTP step's error: network failures, timeouts and
// 4xx replies (try later) are unavailable; 5xx are permanent (the server
// refuses this message, sender or recipient) and surface as internal.
func (s *SMTP) fail(step string, err error) error {
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 500 {
		return fmt.Errorf("mail: %s refused at %s: %w", s.addr, step, err)
	}
	return fmt.Errorf("mail: %s at %s: %w (%w)", s.addr, step, errUnavailable, err)
}

// helloName is the EHLO name: the sender's domain stands in for our host
// name (a container's own is meaningless to the relay).
func helloName(domain string) string {
	if domain == "" || strings.ContainsAny(domain, " \r\n") {
		return "localhost"
	}
	return domain
}

// authAllowed: PLAIN sends the password as is, so only over TLS or to a
// server on this machine.
func authAllowed(secure bool, host string) bool {
	if secure || host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// plainAuth is AUTH PLAIN; deliver has checked authAllowed (net/smtp's
// own PlainAuth knows only 127.0.0.1 and ::1 as loopback).
type plainAuth struct{ user, pass string }

func (a plainAuth) Start(*smtp.ServerInfo) (string, []byte, error) {
	return "PLAIN", []byte("\x00" + a.user + "\x00" + a.pass), nil
}

func (a plainAuth) Next(_ []byte, more bool) ([]byte, error) {
	if more {
		return nil, errors.New("mail: unexpected server challenge during AUTH PLAIN")
	}
	return nil, nil
}

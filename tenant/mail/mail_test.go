package mail

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/auth"
)

const sender = "no-reply@platform.example.test"

func newSMTP(t *testing.T, url string, log *slog.Logger) *SMTP {
	t.Helper()
	s, err := New(Config{URL: url, From: sender, Timeout: 10 * time.Second, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// normalize makes a body comparable: LF lines, no trailing line break.
func normalize(s string) string {
	return strings.TrimRight(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
}

func TestSendToMailpit(t *testing.T) {
	t.Parallel()
	api := platformtest.MailpitURL(t)
	log, sink := logTo()
	s := newSMTP(t, platformtest.SMTPURL(t), log)
	to := platformtest.MailRecipient("mail-accents")
	token := "tok_" + platformtest.Rand(32)
	text := "Hola José Núñez:\n\n" +
		"Para restablecer su contraseña, use este código: " + token + "\n" +
		"Una línea muy larga que supera los setenta y seis caracteres para forzar el ajuste suave de quoted-printable = bien.\n" +
		".\n" + // alone on a line: the end of DATA unless dot-stuffed
		"..dos puntos\n" +
		"\n" +
		"Bcc: eve@example.test\n" + // in the body it is text, not a header
		"Atentamente,\r\nRestaurante Peñalver"
	m := auth.Mail{
		To: to, ToName: "José Núñez",
		FromName: "Restaurante Peñalver & Hijos, S.L.",
		Subject:  "Restablecer contraseña — acción requerida en «Peñalver» (válido durante sesenta minutos)",
		Text:     text,
	}
	if err := s.Send(platformtest.Context(t), m); err != nil {
		t.Fatal(err)
	}
	got := platformtest.WaitMail(t, api, to, 10*time.Second)
	if got.From != sender || got.FromName != m.FromName || got.To != to || got.ToName != m.ToName || got.Subject != m.Subject {
		t.Errorf("read back: from %q <%s>, to %q <%s>, subject %q\nwant from %q <%s>, to %q <%s>, subject %q",
			got.FromName, got.From, got.ToName, got.To, got.Subject, m.FromName, sender, m.ToName, to, m.Subject)
	}
	if normalize(got.Text) != normalize(text) {
		t.Errorf("body:\n%q\nwant\n%q", got.Text, text)
	}
	h := got.Header
	want := map[string]string{
		"Content-Type":              "text/plain; charset=utf-8",
		"Content-Transfer-Encoding": "quoted-printable",
		"Mime-Version":              "1.0",
		"Auto-Submitted":            "auto-generated",
	}
	for k, v := range want {
		if len(h[k]) != 1 || h[k][0] != v {
			t.Errorf("header %s = %q, want %q", k, h[k], v)
		}
	}
	for _, k := range []string{"From", "To", "Subject", "Date", "Message-Id"} {
		if len(h[k]) != 1 {
			t.Fatalf("header %s: %q, want one", k, h[k])
		}
	}
	if _, err := time.Parse(time.RFC1123Z, h["Date"][0]); err != nil {
		t.Errorf("Date %q: %v", h["Date"][0], err)
	}
	if id := h["Message-Id"][0]; !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@platform.example.test>") {
		t.Errorf("Message-ID %q", id)
	}
	// Names and subject travel as RFC 2047 encoded words: ASCII only.
	for _, k := range []string{"From", "To", "Subject"} {
		v := h[k][0]
		if !strings.Contains(v, "=?utf-8?q?") && !strings.Contains(v, "=?utf-8?b?") {
			t.Errorf("%s %q is not RFC 2047-encoded", k, v)
		}
		for _, r := range v {
			if r >= 0x80 {
				t.Errorf("%s %q carries raw non-ASCII", k, v)
				break
			}
		}
	}
	if len(h["Bcc"]) != 0 {
		t.Errorf("a body line became a header: Bcc %q", h["Bcc"])
	}
	// The log has the message, never its body.
	lines := sink.Lines(t, "mail sent")
	if len(lines) != 1 || lines[0]["to_domain"] != "example.test" || lines[0]["message_id"] != h["Message-Id"][0] {
		t.Errorf("log lines %v", lines)
	}
	if strings.Contains(sink.String(), token) || strings.Contains(sink.String(), "restablecer") {
		t.Errorf("the log holds the body: %s", sink)
	}
}

func logTo() (*slog.Logger, *platformtest.LogSink) {
	s := &platformtest.LogSink{}
	return slog.New(slog.NewJSONHandler(s, nil)), s
}

// Header injection: a line break or control character in any header field
// is refused before anything is sent. The proof that nothing got through:
// a message sent after them is the only one the recipient has.
func TestSendRefusesInjection(t *testing.T) {
	t.Parallel()
	api := platformtest.MailpitURL(t)
	s := newSMTP(t, platformtest.SMTPURL(t), nil)
	to := platformtest.MailRecipient("mail-inject")
	ok := auth.Mail{To: to, ToName: "Ana", FromName: "Tenant", Subject: "Hello", Text: "body"}
	cases := []struct {
		name string
		mod  func(*auth.Mail)
	}{
		{"CRLF in subject", func(m *auth.Mail) { m.Subject = "Hi\r\nBcc: eve@example.test" }},
		{"LF in subject", func(m *auth.Mail) { m.Subject = "Hi\nBcc: eve@example.test" }},
		{"CR in subject", func(m *auth.Mail) { m.Subject = "Hi\rBcc: eve@example.test" }},
		{"NUL in subject", func(m *auth.Mail) { m.Subject = "Hi\x00" }},
		{"CRLF in sender name", func(m *auth.Mail) { m.FromName = "Tenant\r\nReply-To: eve@example.test" }},
		{"LF in recipient name", func(m *auth.Mail) { m.ToName = "Ana\nCc: eve@example.test" }},
		{"CRLF in recipient", func(m *auth.Mail) { m.To = to + "\r\nBcc: eve@example.test" }},
		{"CRLF in recipient (SMTP)", func(m *auth.Mail) { m.To = to + ">\r\nRCPT TO:<eve@example.test" }},
		{"two recipients", func(m *auth.Mail) { m.To = to + ", eve@example.test" }},
		{"recipient with a name", func(m *auth.Mail) { m.To = "Eve <" + to + ">" }},
		{"no recipient", func(m *auth.Mail) { m.To = "" }},
		{"not an address", func(m *auth.Mail) { m.To = "ana" }},
	}
	for _, c := range cases {
		m := ok
		c.mod(&m)
		err := s.Send(platformtest.Context(t), m)
		if tenant.ErrorCode(err) != tenant.EInvalid {
			t.Errorf("%s: Send = %v, want an invalid_input error", c.name, err)
		}
	}
	if err := s.Send(platformtest.Context(t), ok); err != nil {
		t.Fatal(err)
	}
	got := platformtest.WaitMail(t, api, to, 10*time.Second)
	if got.Subject != "Hello" || got.ToName != "Ana" {
		t.Errorf("the valid message: %+v", got)
	}
	// Sends are synchronous: anything accepted earlier is stored earlier.
	if n := platformtest.MailCount(t, api, to); n != 1 {
		t.Fatalf("%d messages to %s, want only the valid one", n, to)
	}
}

// deadAddr is a loopback port nothing listens on.
func deadAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

func TestSendUnavailable(t *testing.T) {
	t.Parallel()
	m := auth.Mail{To: platformtest.MailRecipient("mail-dead"), FromName: "T", Subject: "s", Text: "secret-body"}

	t.Run("dead port", func(t *testing.T) {
		t.Parallel()
		s := newSMTP(t, "smtp://"+deadAddr(t), nil)
		err := s.Send(platformtest.Context(t), m)
		if tenant.ErrorCode(err) != tenant.EUnavailable {
			t.Fatalf("Send = %v, want unavailable", err)
		}
		if tenant.ErrorMessage(err) != "the mail server cannot be reached" {
			t.Errorf("message shown: %q", tenant.ErrorMessage(err))
		}
	})
	t.Run("silent server", func(t *testing.T) {
		t.Parallel()
		// Accepts and never greets: the timeout ends the wait.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				t.Cleanup(func() { c.Close() })
			}
		}()
		s, err := New(Config{URL: "smtp://" + ln.Addr().String(), From: sender, Timeout: 300 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		err = s.Send(platformtest.Context(t), m)
		if tenant.ErrorCode(err) != tenant.EUnavailable {
			t.Fatalf("Send = %v, want unavailable", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("took %s with a 300 ms timeout", d)
		}
		// A cancelled context ends it too, long before the timeout.
		s.timeout = time.Minute
		ctx, cancel := context.WithCancel(platformtest.Context(t))
		done := make(chan error, 1)
		go func() { done <- s.Send(ctx, m) }()
		cancel()
		select {
		case err := <-done:
			if err == nil {
				t.Fatal("Send succeeded after cancel")
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Send ignored the cancelled context")
		}
	})
}

func TestNew(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		url, from string
		wantErr   string
	}{
		{"", sender, "must look like"},
		{"http://mail.example:25", sender, "scheme"},
		{"smtp://", sender, "no host"},
		{"smtp://mail.example:99999", sender, "port"},
		{"smtp://mail.example:x", sender, "must look like"},
		{"smtp://mail.example:25/path", sender, "no path"},
		{"smtp://mail.example:25?tls=no", sender, "no path"},
		{"smtp://user@mail.example:25", sender, "user and password"},
		{"smtp:mail.example", sender, "no path"},
		{"smtp://mail.example:25", "", "not a bare"},
		{"smtp://mail.example:25", "Platform <no-reply@example.test>", "not a bare"},
		{"smtp://mail.example:25", "no-reply@example.test\r\nBcc: eve@example.test", "line break"},
		{"smtp://mail.example:25", "not-an-address", "not a bare"},
	} {
		_, err := New(Config{URL: c.url, From: c.from})
		if err == nil || !strings.Contains(err.Error(), c.wantErr) {
			t.Errorf("New(%q, %q) = %v, want an error with %q", c.url, c.from, err, c.wantErr)
		}
	}
	for _, c := range []struct{ url, addr string }{
		{"smtp://127.0.0.1:1025", "127.0.0.1:1025"},
		{"smtp://mail.example", "mail.example:25"},
		{"smtps://u:p%40ss@mail.example", "mail.example:465"},
		{"smtp://[::1]:2525/", "[::1]:2525"},
	} {
		s, err := New(Config{URL: c.url, From: sender})
		if err != nil || s.addr != c.addr {
			t.Errorf("New(%q): %v, addr %q, want %q", c.url, err, s.addr, c.addr)
			continue
		}
		if s.timeout != DefaultTimeout || s.log == nil {
			t.Errorf("defaults: timeout %s, logger %v", s.timeout, s.log)
		}
	}
	if s, err := New(Config{URL: "smtps://u:p%40ss@mail.example", From: sender}); err != nil || s.user != "u" || s.pass != "p@ss" || !s.implicitTLS {
		t.Errorf("credentials: %+v, %v", s, err)
	}
}

func TestAuthAllowed(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		secure bool
		host   string
		want   bool
	}{
		{true, "mail.example", true},
		{false, "mail.example", false},
		{false, "10.0.0.5", false},
		{false, "127.0.0.1", true},
		{false, "127.0.0.2", true},
		{false, "::1", true},
		{false, "localhost", true},
		{false, "localhost.evil.example", false},
	} {
		if got := authAllowed(c.secure, c.host); got != c.want {
			t.Errorf("authAllowed(%v, %q) = %v", c.secure, c.host, got)
		}
	}
}

func TestHeaderFolding(t *testing.T) {
	t.Parallel()
	s := newSMTP(t, "smtp://127.0.0.1:1", nil)
	_, msg, _, err := s.compose(auth.Mail{
		To: "a@example.test", FromName: strings.Repeat("Peñalver ", 12),
		Subject: strings.Repeat("contraseña ", 20), Text: "x",
	}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	head, _, ok := strings.Cut(string(msg), "\r\n\r\n")
	if !ok {
		t.Fatal("no header/body separator")
	}
	for _, l := range strings.Split(head, "\r\n") {
		if len(l) > 78 {
			t.Errorf("header line of %d characters: %q", len(l), l)
		}
		if strings.ContainsAny(l, "\r\n") {
			t.Errorf("bare CR or LF in %q", l)
		}
	}
}

// privateMailpit starts a Mailpit of this test's own that takes mail only
// over TLS and with a password (Mailpit: user "relay", password pw), and
// returns its SMTP address, API URL and the CA to trust.
func privateMailpit(t *testing.T, implicitTLS bool, pw string) (smtpAddr, api string, ca *x509.CertPool) {
	t.Helper()
	bin := platformtest.Getenv(t, "PLATFORM_MAILPIT_BIN")
	dir := t.TempDir()
	certFile, keyFile, ca := writeCert(t, dir)
	authFile := filepath.Join(dir, "auth")
	if err := os.WriteFile(authFile, []byte("relay:"+pw+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	smtpAddr, httpAddr := deadAddr(t), deadAddr(t)
	args := []string{"--database", filepath.Join(dir, "mailpit.db"), "--smtp", smtpAddr, "--listen", httpAddr,
		"--disable-version-check", "--smtp-disable-rdns", "--quiet",
		"--smtp-tls-cert", certFile, "--smtp-tls-key", keyFile, "--smtp-auth-file", authFile}
	if implicitTLS {
		args = append(args, "--smtp-require-tls")
	} else {
		args = append(args, "--smtp-require-starttls")
	}
	cmd := exec.Command(bin, args...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	api = "http://" + httpAddr
	platformtest.Eventually(t, 15*time.Second, "private Mailpit did not start", func() bool {
		select {
		case <-exited:
			t.Fatalf("mailpit exited: %s", out.String())
		default:
		}
		res, err := http.Get(api + "/readyz")
		if err != nil {
			return false
		}
		res.Body.Close()
		c, err := net.Dial("tcp", smtpAddr)
		if err != nil {
			return false
		}
		c.Close()
		return res.StatusCode == 200
	})
	return smtpAddr, api, ca
}

func writeCert(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "mailpit test"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:     []string{"localhost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(leaf)
	return certFile, keyFile, pool
}

// TLS and authentication against a real server that demands both:
// STARTTLS when offered (smtp://), TLS from the start (smtps://), the
// certificate verified, AUTH PLAIN with the URL's credentials.
func TestSendTLSAndAuth(t *testing.T) {
	t.Parallel()
	for _, implicit := range []bool{false, true} {
		name, scheme := "starttls", "smtp"
		if implicit {
			name, scheme = "smtps", "smtps"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			pw := platformtest.Rand(16)
			addr, api, ca := privateMailpit(t, implicit, pw)
			to := platformtest.MailRecipient("mail-" + name)
			m := auth.Mail{To: to, FromName: "Institución", Subject: "Código", Text: "cuerpo " + name}
			send := func(url string, roots *x509.CertPool) error {
				s, err := New(Config{URL: url, From: sender, Timeout: 10 * time.Second, RootCAs: roots})
				if err != nil {
					t.Fatal(err)
				}
				return s.Send(platformtest.Context(t), m)
			}
			good := fmt.Sprintf("%s://relay:%s@%s", scheme, pw, addr)
			// An unknown certificate is refused: TLS is verified.
			if err := send(good, nil); err == nil || !strings.Contains(err.Error(), "certificate") {
				t.Errorf("unverified certificate: %v", err)
			}
			// A wrong password is a refusal (5xx), not an outage.
			err := send(fmt.Sprintf("%s://relay:wrong@%s", scheme, addr), ca)
			if err == nil || tenant.ErrorCode(err) == tenant.EUnavailable {
				t.Errorf("wrong password: %v", err)
			}
			if strings.Contains(fmt.Sprint(err), pw) {
				t.Errorf("error shows the password: %v", err)
			}
			// Without credentials the server refuses too (it requires AUTH).
			if err := send(fmt.Sprintf("%s://%s", scheme, addr), ca); err == nil {
				t.Error("sent without credentials to a server that requires them")
			}
			if err := send(good, ca); err != nil {
				t.Fatal(err)
			}
			got := platformtest.WaitMail(t, api, to, 10*time.Second)
			if got.Subject != "Código" || got.FromName != "Institución" || normalize(got.Text) != "cuerpo "+name {
				t.Errorf("read back %+v", got)
			}
			if n := platformtest.MailCount(t, api, to); n != 1 {
				t.Errorf("%d messages, want 1", n)
			}
		})
	}
}

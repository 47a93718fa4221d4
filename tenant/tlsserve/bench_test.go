package tlsserve_test

import (
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/tenant/tlsserve"
)

// BenchmarkHandshake: one full TLS 1.3 handshake (no resumption) with a
// certificate chosen by SNI from files (ECDSA P-256), client and server
// in this process over a pipe: the CPU a new HTTPS connection costs both
// sides together. curve: the key exchange the client offers.
func BenchmarkHandshake(b *testing.B) {
	ca := platformtest.NewCA(b)
	dir := b.TempDir()
	cert, key, _ := ca.Issue(b, time.Hour, "*.example.org")
	cf, kf := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	if err := os.WriteFile(cf, cert, 0o600); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(kf, key, 0o600); err != nil {
		b.Fatal(err)
	}
	f, err := tlsserve.LoadFiles([]tlsserve.Pair{{Cert: cf, Key: kf}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	srvCfg := tlsserve.NewFiles(f).TLSConfig()
	// No tickets: over a synchronous pipe the server's post-handshake
	// ticket would block until the client reads; resumption is not measured.
	srvCfg.SessionTicketsDisabled = true
	for _, tc := range []struct {
		name  string
		curve tls.CurveID
	}{{"X25519", tls.X25519}, {"X25519MLKEM768", tls.X25519MLKEM768}, {"P256", tls.CurveP256}} {
		b.Run(tc.name, func(b *testing.B) {
			cliCfg := &tls.Config{ServerName: "a.example.org", RootCAs: ca.Pool, CurvePreferences: []tls.CurveID{tc.curve}}
			for b.Loop() {
				c1, c2 := net.Pipe()
				done := make(chan error, 1)
				go func() {
					s := tls.Server(c2, srvCfg)
					done <- s.Handshake()
				}()
				c := tls.Client(c1, cliCfg)
				if err := c.Handshake(); err != nil {
					b.Fatal(err)
				}
				if err := <-done; err != nil {
					b.Fatal(err)
				}
				// The raw ends: a close_notify each way would block on the pipe.
				c1.Close()
				c2.Close()
			}
		})
	}
}

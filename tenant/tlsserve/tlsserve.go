// Package tlsserve terminates TLS for tenant hosts: certificates per host
// from ACME (autocert, for hosts the resolver knows only) or from files
// chosen by SNI and reloaded when they change; the plain listener's
// redirect to HTTPS (tenant/router's Before), which leaves ACME http-01
// challenges and unknown hosts alone.
package tlsserve

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"

	"github.com/tenancy/platform/tenant"
)

// Source is where a certificate came from (the metrics' source label).
const (
	SourceACME = "acme"
	SourceFile = "file"
)

// errNoCert ends the handshake of a host we hold no certificate for:
// the client sees a handshake failure, never another host's certificate.
var errNoCert = errors.New("tlsserve: no certificate for this host")

// ACMEConfig configures certificates ordered from an ACME CA.
type ACMEConfig struct {
	DirectoryURL string         // "" : Let's Encrypt production
	Email        string         // the account's contact; "" none
	Roots        *x509.CertPool // the CA's directory is verified against these; nil: the system's
	Cache        autocert.Cache // shared by replicas (SealedCache) or a directory (autocert.DirCache)
	// Allowed says whether host (normalised) may have a certificate: the
	// one gate before any order, so an attacker's SNI costs none.
	Allowed func(host string) bool
	Logger  *slog.Logger
}

// Manager hands out certificates during handshakes and keeps what the
// metrics read: each certificate held and the ACME orders made.
type Manager struct {
	acme    *autocert.Manager // nil: files only
	allowed func(string) bool
	files   *Files // nil: ACME only
	log     *slog.Logger

	mu   sync.Mutex
	held map[string]CertInfo // ACME certificates seen in handshakes, by host

	ordersOK, ordersFailed atomic.Uint64
}

// CertInfo is one certificate held.
type CertInfo struct {
	Host, Source string
	NotAfter     time.Time
}

// Stats is what the metrics collector reads.
type Stats struct {
	Certs                  []CertInfo
	OrdersOK, OrdersFailed uint64
}

// NewACME returns a Manager ordering certificates from cfg's CA.
func NewACME(cfg ACMEConfig) (*Manager, error) {
	if cfg.Allowed == nil || cfg.Cache == nil {
		return nil, errors.New("tlsserve: ACME needs a host policy and a cache")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.DirectoryURL == "" {
		cfg.DirectoryURL = autocert.DefaultACMEDirectory
	}
	m := &Manager{allowed: cfg.Allowed, log: cfg.Logger, held: map[string]CertInfo{}}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if cfg.Roots != nil {
		tr.TLSClientConfig = &tls.Config{RootCAs: cfg.Roots, MinVersion: tls.VersionTLS12}
	}
	m.acme = &autocert.Manager{
		Prompt: autocert.AcceptTOS,
		Email:  cfg.Email,
		Cache:  &countingCache{Cache: cfg.Cache, ok: &m.ordersOK},
		HostPolicy: func(_ context.Context, host string) error {
			if !cfg.Allowed(tenant.NormalizeHost(host)) {
				return errNoCert
			}
			return nil
		},
		Client: &acme.Client{DirectoryURL: cfg.DirectoryURL, HTTPClient: &http.Client{Transport: tr, Timeout: time.Minute},
			UserAgent: "tenancy-platform"},
	}
	return m, nil
}

// NewFiles returns a Manager serving the certificates of f.
func NewFiles(f *Files) *Manager {
	return &Manager{files: f, held: map[string]CertInfo{}, log: f.log}
}

// TLSConfig is the HTTPS listener's configuration: TLS 1.2 at least,
// HTTP/1.1 (fasthttp speaks no h2) and, with ACME, tls-alpn-01.
func (m *Manager) TLSConfig() *tls.Config {
	protos := []string{"http/1.1"}
	if m.acme != nil {
		protos = append(protos, acme.ALPNProto)
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, NextProtos: protos, GetCertificate: m.GetCertificate}
}

// GetCertificate answers a ClientHello.
func (m *Manager) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	if m.files != nil {
		return m.files.Get(hello)
	}
	host := tenant.NormalizeHost(hello.ServerName)
	challenge := len(hello.SupportedProtos) == 1 && hello.SupportedProtos[0] == acme.ALPNProto
	if host == "" || !m.allowed(host) {
		return nil, errNoCert // checked here too: autocert would log and order nothing, but why ask it
	}
	cert, err := m.acme.GetCertificate(hello)
	if err != nil {
		if !challenge && !heldFailure(err) {
			m.ordersFailed.Add(1)
			m.log.Warn("ACME: no certificate for an allowed host", "host", host, "err", err)
		}
		return nil, err
	}
	if !challenge && cert.Leaf != nil {
		m.mu.Lock()
		if m.held[host].NotAfter != cert.Leaf.NotAfter {
			m.held[host] = CertInfo{Host: host, Source: SourceACME, NotAfter: cert.Leaf.NotAfter}
		}
		m.mu.Unlock()
	}
	return cert, nil
}

// heldFailure tells autocert's answer for a host whose order failed a
// moment ago (it keeps the failure a minute, ordering nothing) from a
// failure of its own: only the latter counts as a failed order.
func heldFailure(err error) bool {
	s := err.Error()
	return strings.Contains(s, "missing certificate") || strings.Contains(s, "missing signer")
}

// HTTPHandler answers ACME http-01 challenges (autocert's, which checks the
// host policy again); nil without ACME.
func (m *Manager) HTTPHandler() http.Handler {
	if m.acme == nil {
		return nil
	}
	return m.acme.HTTPHandler(http.NotFoundHandler())
}

// Stats reads the certificates held and the orders counted.
func (m *Manager) Stats() Stats {
	st := Stats{OrdersOK: m.ordersOK.Load(), OrdersFailed: m.ordersFailed.Load()}
	if m.files != nil {
		st.Certs = m.files.Certs()
		return st
	}
	m.mu.Lock()
	for host, c := range m.held {
		if !m.allowed(host) { // deleted since, or its domain removed: no series left behind
			delete(m.held, host)
			continue
		}
		st.Certs = append(st.Certs, c)
	}
	m.mu.Unlock()
	slices.SortFunc(st.Certs, func(a, b CertInfo) int { return strings.Compare(a.Host, b.Host) })
	return st
}

// countingCache counts certificates written after an order (first or
// renewal): autocert puts a certificate in its cache exactly then. Keys:
// "<host>" and "<host>+rsa" are certificates; "acme_account+key",
// "<token>+http-01" and "<host>+token" are not.
type countingCache struct {
	autocert.Cache
	ok *atomic.Uint64
}

func (c *countingCache) Put(ctx context.Context, key string, data []byte) error {
	err := c.Cache.Put(ctx, key, data)
	if err == nil && (!strings.Contains(key, "+") || strings.HasSuffix(key, "+rsa")) {
		c.ok.Add(1)
	}
	return err
}

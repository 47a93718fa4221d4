package tlsserve

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tenancy/platform/tenant"
)

// Pair names a certificate chain file and its private key file (PEM).
type Pair struct{ Cert, Key string }

// Files holds certificates read from files, chosen by SNI from the names
// in each certificate (a wildcard *.example.com covers one label), and
// reloads a pair when its files change: cert-manager rotating a
// Kubernetes Secret swaps them under a running process. A pair whose new
// files do not load keeps its old certificate, with an ERROR in the log.
type Files struct {
	pairs []Pair
	log   *slog.Logger

	mu     sync.RWMutex
	loaded []*loadedPair // same order as pairs
}

type loadedPair struct {
	certPEM, keyPEM []byte // as read, to see a change
	cert            *tls.Certificate
	names           []string // lower-case DNS names of the leaf
	notAfter        time.Time
}

// LoadFiles reads every pair; any that does not load is an error naming
// its file (at start: refuse to serve rather than serve without it).
func LoadFiles(pairs []Pair, log *slog.Logger) (*Files, error) {
	if len(pairs) == 0 {
		return nil, fmt.Errorf("no certificate files")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	f := &Files{pairs: pairs, log: log, loaded: make([]*loadedPair, len(pairs))}
	for i, p := range pairs {
		lp, err := loadPair(p)
		if err != nil {
			return nil, err
		}
		f.loaded[i] = lp
	}
	return f, nil
}

func loadPair(p Pair) (*loadedPair, error) {
	certPEM, err := os.ReadFile(p.Cert)
	if err != nil {
		return nil, fmt.Errorf("read certificate %s: %w", p.Cert, unwrapPath(err))
	}
	keyPEM, err := os.ReadFile(p.Key)
	if err != nil {
		return nil, fmt.Errorf("read key %s: %w", p.Key, unwrapPath(err))
	}
	return parsePair(p, certPEM, keyPEM)
}

// parsePair never puts key material in its error: tls.X509KeyPair's
// messages say what is wrong, not what the key is.
func parsePair(p Pair, certPEM, keyPEM []byte) (*loadedPair, error) {
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("certificate %s with key %s: %v", p.Cert, p.Key, err)
	}
	leaf := cert.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, fmt.Errorf("certificate %s: %v", p.Cert, err)
		}
		cert.Leaf = leaf
	}
	var names []string
	for _, n := range leaf.DNSNames {
		names = append(names, strings.ToLower(strings.TrimSuffix(n, ".")))
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("certificate %s names no DNS host (subjectAltName)", p.Cert)
	}
	return &loadedPair{certPEM: certPEM, keyPEM: keyPEM, cert: &cert, names: names, notAfter: leaf.NotAfter}, nil
}

func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// Reload reads every pair again and takes the ones that changed and load.
func (f *Files) Reload() {
	for i, p := range f.pairs {
		f.mu.RLock()
		old := f.loaded[i]
		f.mu.RUnlock()
		certPEM, err1 := os.ReadFile(p.Cert)
		keyPEM, err2 := os.ReadFile(p.Key)
		if err := firstErr(err1, err2); err != nil {
			f.log.Error("TLS certificate files unreadable; the loaded certificate stays", "cert", p.Cert, "key", p.Key, "err", unwrapPath(err))
			continue
		}
		if bytes.Equal(certPEM, old.certPEM) && bytes.Equal(keyPEM, old.keyPEM) {
			continue
		}
		lp, err := parsePair(p, certPEM, keyPEM)
		if err != nil {
			// The rotation may be half done (certificate written, key not
			// yet): the next pass takes the pair once both match.
			f.log.Error("TLS certificate files changed but do not load; the loaded certificate stays", "cert", p.Cert, "err", err)
			continue
		}
		f.mu.Lock()
		f.loaded[i] = lp
		f.mu.Unlock()
		f.log.Info("TLS certificate reloaded", "cert", p.Cert, "names", lp.names, "not_after", lp.notAfter)
	}
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// Watch reloads every interval until ctx ends.
func (f *Files) Watch(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			f.Reload()
		}
	}
}

// Get picks the certificate for the ClientHello's server name: an exact
// name first, then a wildcard; no server name (a client or probe by IP)
// gets the first pair's, and so does an IP address sent as one (RFC 6066
// forbids it, but wrk and some load balancers' probes do it). Any other
// name fails the handshake.
func (f *Files) Get(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	host := tenant.NormalizeHost(hello.ServerName)
	f.mu.RLock()
	defer f.mu.RUnlock()
	if _, err := netip.ParseAddr(host); host == "" || err == nil {
		return f.loaded[0].cert, nil
	}
	for _, lp := range f.loaded {
		if slices.Contains(lp.names, host) {
			return lp.cert, nil
		}
	}
	if _, parent, ok := strings.Cut(host, "."); ok && parent != "" {
		wild := "*." + parent
		for _, lp := range f.loaded {
			if slices.Contains(lp.names, wild) {
				return lp.cert, nil
			}
		}
	}
	return nil, errNoCert
}

// First answers every ClientHello with the first pair's certificate,
// whatever its server name: a listener with one certificate of its own
// (the admin listener, reached by IP or a Service name).
func (f *Files) First(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.loaded[0].cert, nil
}

// Certs lists each name of each certificate held with its expiry.
func (f *Files) Certs() []CertInfo {
	f.mu.RLock()
	defer f.mu.RUnlock()
	var out []CertInfo
	seen := map[string]bool{}
	for _, lp := range f.loaded {
		for _, n := range lp.names {
			if !seen[n] { // the first pair naming a host is the one served
				seen[n] = true
				out = append(out, CertInfo{Host: n, Source: SourceFile, NotAfter: lp.notAfter})
			}
		}
	}
	return out
}

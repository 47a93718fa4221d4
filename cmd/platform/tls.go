package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/acme/autocert"

	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/metrics"
	"github.com/tenancy/platform/tenant/tlsserve"
)

// TLS modes of PLATFORM_TLS.
const (
	tlsOff   = "off"   // plain HTTP only (a TLS proxy may still say https: HSTS, Secure cookies)
	tlsACME  = "acme"  // certificates per host from an ACME CA
	tlsFiles = "files" // certificates from PEM files, reloaded when they change
	tlsProxy = "proxy" // a trusted proxy terminates TLS; requests it says came over http are redirected
)

// tlsConfig is the TLS part of serveConfig.
type tlsConfig struct {
	Mode       string
	HTTPSAddr  string        // the TLS tenant listener (acme, files)
	PublicPort int           // the HTTPS port clients reach, for redirects
	HSTSMaxAge time.Duration // router.Config.HSTSMaxAge: negative disables
	// acme
	DirectoryURL, Email string
	CacheDir            string // "": the catalog
	CAFile              string
	// files
	Pairs          []tlsserve.Pair
	ReloadInterval time.Duration
	// Admin is the admin listener's certificate (PLATFORM_ADMIN_TLS_*),
	// whatever the mode; nil: plain HTTP.
	Admin *tlsserve.Pair
}

// letsEncrypt is the default ACME directory.
const letsEncrypt = autocert.DefaultACMEDirectory

func loadTLSConfig(getenv func(string) string, trusted []string) (tlsConfig, []string, error) {
	c := tlsConfig{Mode: getenv("PLATFORM_TLS"), HTTPSAddr: getenv("PLATFORM_HTTPS_ADDR"), PublicPort: 443,
		HSTSMaxAge: 365 * 24 * time.Hour, DirectoryURL: getenv("PLATFORM_ACME_DIRECTORY_URL"), Email: getenv("PLATFORM_ACME_EMAIL"),
		CAFile: getenv("PLATFORM_ACME_CA_FILE"), ReloadInterval: 10 * time.Second}
	var warnings []string
	bad := func(format string, a ...any) (tlsConfig, []string, error) {
		return c, nil, tenant.Errorf(tenant.EInvalid, format, a...)
	}
	if c.Mode == "" {
		c.Mode = tlsOff
	}
	switch c.Mode {
	case tlsOff, tlsACME, tlsFiles, tlsProxy:
	default:
		return bad("PLATFORM_TLS must be off, acme, files or proxy, not %q", c.Mode)
	}
	if c.HTTPSAddr == "" {
		c.HTTPSAddr = ":8443"
	}
	if _, _, err := net.SplitHostPort(c.HTTPSAddr); err != nil {
		return bad("PLATFORM_HTTPS_ADDR %q is not host:port", c.HTTPSAddr)
	}
	if v := getenv("PLATFORM_HTTPS_PUBLIC_PORT"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 65535 {
			return bad("PLATFORM_HTTPS_PUBLIC_PORT must be a port number (1-65535)")
		}
		c.PublicPort = n
	}
	if v := getenv("PLATFORM_HSTS_MAX_AGE"); v != "" {
		d, err := parseMaxAge(v)
		if err != nil {
			return bad("PLATFORM_HSTS_MAX_AGE must be seconds or a duration such as 8760h (0 disables HSTS)")
		}
		c.HSTSMaxAge = d
		if d == 0 {
			c.HSTSMaxAge = -1
		}
	}
	if v := getenv("PLATFORM_TLS_RELOAD_INTERVAL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return bad("PLATFORM_TLS_RELOAD_INTERVAL must be a duration such as 10s")
		}
		c.ReloadInterval = d
	}
	cert, key, list := getenv("PLATFORM_TLS_CERT_FILE"), getenv("PLATFORM_TLS_KEY_FILE"), getenv("PLATFORM_TLS_CERTS")
	if (cert == "") != (key == "") {
		return bad("PLATFORM_TLS_CERT_FILE and PLATFORM_TLS_KEY_FILE go together: set both or neither")
	}
	if cert != "" {
		c.Pairs = append(c.Pairs, tlsserve.Pair{Cert: cert, Key: key})
	}
	if list != "" {
		for _, item := range strings.Split(list, ",") {
			cf, kf, ok := strings.Cut(strings.TrimSpace(item), ":")
			if !ok || cf == "" || kf == "" || strings.Contains(kf, ":") {
				return bad("PLATFORM_TLS_CERTS must be cert.pem:key.pem pairs separated by commas")
			}
			c.Pairs = append(c.Pairs, tlsserve.Pair{Cert: cf, Key: kf})
		}
	}
	ac, ak := getenv("PLATFORM_ADMIN_TLS_CERT_FILE"), getenv("PLATFORM_ADMIN_TLS_KEY_FILE")
	if (ac == "") != (ak == "") {
		return bad("PLATFORM_ADMIN_TLS_CERT_FILE and PLATFORM_ADMIN_TLS_KEY_FILE go together: set both or neither")
	}
	if ac != "" {
		c.Admin = &tlsserve.Pair{Cert: ac, Key: ak}
	}
	cache := getenv("PLATFORM_ACME_CACHE")
	switch {
	case cache == "" || cache == "catalog":
	case strings.HasPrefix(cache, "dir:") && len(cache) > len("dir:"):
		c.CacheDir = strings.TrimPrefix(cache, "dir:")
	default:
		return bad("PLATFORM_ACME_CACHE must be catalog or dir:/path, not %q", cache)
	}
	acmeSet := c.DirectoryURL != "" || c.Email != "" || cache != "" || c.CAFile != ""
	switch c.Mode {
	case tlsACME:
		if c.DirectoryURL == "" {
			c.DirectoryURL = letsEncrypt
		}
		u, err := url.Parse(c.DirectoryURL)
		if err != nil || u.Scheme != "https" || u.Host == "" {
			return bad("PLATFORM_ACME_DIRECTORY_URL must be an https:// URL")
		}
		if c.Email != "" && (!strings.Contains(c.Email, "@") || strings.ContainsAny(c.Email, " ,<>")) {
			return bad("PLATFORM_ACME_EMAIL %q is not an e-mail address", c.Email)
		}
		if len(c.Pairs) > 0 {
			return bad("PLATFORM_TLS=acme takes no certificate files (PLATFORM_TLS_CERT_FILE, PLATFORM_TLS_CERTS): use PLATFORM_TLS=files")
		}
	case tlsFiles:
		if len(c.Pairs) == 0 {
			return bad("PLATFORM_TLS=files needs PLATFORM_TLS_CERT_FILE and PLATFORM_TLS_KEY_FILE, or PLATFORM_TLS_CERTS")
		}
	case tlsProxy:
		if len(trusted) == 0 {
			return bad("PLATFORM_TLS=proxy needs PLATFORM_TRUSTED_PROXIES: only a trusted proxy's X-Forwarded-Proto says a request came over HTTPS")
		}
	}
	if c.Mode != tlsACME && acmeSet {
		warnings = append(warnings, "PLATFORM_ACME_* settings are ignored: PLATFORM_TLS is "+c.Mode+", not acme")
	}
	if c.Mode != tlsFiles && c.Mode != tlsACME && len(c.Pairs) > 0 {
		warnings = append(warnings, "certificate files (PLATFORM_TLS_CERT_FILE, PLATFORM_TLS_CERTS) are ignored: PLATFORM_TLS is "+c.Mode+", not files")
	}
	return c, warnings, nil
}

// parseMaxAge reads whole seconds ("31536000") or a Go duration ("8760h").
func parseMaxAge(v string) (time.Duration, error) {
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 || n > 1<<31 {
			return 0, fmt.Errorf("out of range")
		}
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 || (d > 0 && d < time.Second) {
		return 0, fmt.Errorf("bad duration")
	}
	return d, nil
}

// terminates says whether serve runs the HTTPS listener itself.
func (c tlsConfig) terminates() bool { return c.Mode == tlsACME || c.Mode == tlsFiles }

// knownHost says whether host is a tenant's that may be reached: the
// resolver knows it (a slug under the base domain, or a custom domain in
// the catalog) and the tenant is not being provisioned or deleted. A
// suspended tenant or one under maintenance keeps its certificate: its
// users see the 403/503 over HTTPS, and resuming needs no new order.
func (s *server) knownHost(host string) bool {
	t := s.resolver.Lookup(host)
	return t != nil && t.Status != tenant.StatusProvisioning && t.Status != tenant.StatusDeleted
}

// certFiles are the certificate files read at start.
type certFiles struct{ tenant, admin *tlsserve.Files }

// loadCertFiles reads the certificate files of files mode and of the admin
// listener: a file that does not load refuses to start, in one line.
func loadCertFiles(c tlsConfig, log *slog.Logger) (certFiles, error) {
	var f certFiles
	var err error
	if c.Mode == tlsFiles {
		if f.tenant, err = tlsserve.LoadFiles(c.Pairs, log); err != nil {
			return f, tenant.Errorf(tenant.EInvalid, "PLATFORM_TLS=files: %v", err)
		}
	}
	if c.Admin != nil {
		if f.admin, err = tlsserve.LoadFiles([]tlsserve.Pair{*c.Admin}, log); err != nil {
			return f, tenant.Errorf(tenant.EInvalid, "PLATFORM_ADMIN_TLS_CERT_FILE: %v", err)
		}
	}
	return f, nil
}

// startTLS builds the certificates' manager for acme and files (s.tlsm)
// and returns the router's Before: the plain listener's redirect to
// HTTPS (nil when PLATFORM_TLS is off).
func (s *server) startTLS(ctx context.Context, reg *prometheus.Registry) (fiber.Handler, error) {
	c := s.cfg.TLS
	if f := s.tlsFiles.admin; f != nil {
		// One certificate, whatever name the operator's client sends (an
		// IP, a Service name): reloaded like the tenant files.
		go f.Watch(ctx, c.ReloadInterval)
		s.adminTLS = &tls.Config{MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}, GetCertificate: f.First}
	}
	rc := tlsserve.RedirectConfig{Proxies: s.cfg.Proxies, Known: s.knownHost, PublicPort: c.PublicPort}
	switch c.Mode {
	case tlsOff:
		return nil, nil
	case tlsProxy:
		return tlsserve.Redirect(rc), nil
	case tlsFiles:
		go s.tlsFiles.tenant.Watch(ctx, c.ReloadInterval)
		s.tlsm = tlsserve.NewFiles(s.tlsFiles.tenant)
	case tlsACME:
		var roots *x509.CertPool
		if c.CAFile != "" {
			pem, err := os.ReadFile(c.CAFile)
			if err != nil {
				return nil, tenant.Errorf(tenant.EInvalid, "PLATFORM_ACME_CA_FILE: %v", err)
			}
			if roots, err = x509.SystemCertPool(); err != nil {
				roots = x509.NewCertPool()
			}
			if !roots.AppendCertsFromPEM(pem) {
				return nil, tenant.Errorf(tenant.EInvalid, "PLATFORM_ACME_CA_FILE %s holds no PEM certificate", c.CAFile)
			}
		}
		var cache autocert.Cache
		if c.CacheDir != "" {
			if err := os.MkdirAll(c.CacheDir, 0o700); err != nil {
				return nil, tenant.Errorf(tenant.EInvalid, "PLATFORM_ACME_CACHE: %v", err)
			}
			cache = autocert.DirCache(c.CacheDir)
		} else {
			// The catalog holds the entries sealed by Vault transit.
			if err := s.vault.EnsureACMEKey(ctx); err != nil {
				return nil, err
			}
			cache = tlsserve.SealedCache(s.cat, s.vault)
		}
		m, err := tlsserve.NewACME(tlsserve.ACMEConfig{DirectoryURL: c.DirectoryURL, Email: c.Email, Roots: roots,
			Cache: cache, Allowed: s.knownHost, Logger: s.log})
		if err != nil {
			return nil, err
		}
		s.tlsm = m
		rc.Challenge = m.HTTPHandler()
	}
	if err := reg.Register(newTLSCollector(s.tlsm.Stats)); err != nil {
		return nil, err
	}
	return tlsserve.Redirect(rc), nil
}

// httpsListener wraps ln in TLS with the manager's certificates.
func (s *server) httpsListener(ln net.Listener) net.Listener {
	return tls.NewListener(ln, s.tlsm.TLSConfig())
}

// tlsCollector reads the manager's certificates and order counts at
// scrape time.
type tlsCollector struct {
	stats            func() tlsserve.Stats
	notAfter, orders *prometheus.Desc
}

func newTLSCollector(stats func() tlsserve.Stats) prometheus.Collector {
	return &tlsCollector{stats: stats,
		notAfter: prometheus.NewDesc(metrics.Namespace+"_tls_certificate_not_after_timestamp_seconds",
			"Expiry of each TLS certificate this replica holds, by host and source (acme, file).", []string{"host", "source"}, nil),
		orders: prometheus.NewDesc(metrics.Namespace+"_tls_acme_orders_total",
			"ACME certificate orders made by this replica (first issue and renewal), by result.", []string{"result"}, nil),
	}
}

func (c *tlsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.notAfter; ch <- c.orders }

func (c *tlsCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.stats()
	for _, ci := range st.Certs {
		ch <- prometheus.MustNewConstMetric(c.notAfter, prometheus.GaugeValue, float64(ci.NotAfter.Unix()), ci.Host, ci.Source)
	}
	ch <- prometheus.MustNewConstMetric(c.orders, prometheus.CounterValue, float64(st.OrdersOK), "ok")
	ch <- prometheus.MustNewConstMetric(c.orders, prometheus.CounterValue, float64(st.OrdersFailed), "failed")
}

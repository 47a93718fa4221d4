package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/platform/provision"
	"github.com/tenancy/platform/tenant"
)

// tlsServer is a testServer with its HTTPS listener.
type tlsServer struct {
	*testServer
	httpsAddr string // 127.0.0.1:port
}

func portOf(l net.Listener) int { return l.Addr().(*net.TCPAddr).Port }

// serveTLS is c.serve on listeners the caller opened (Pebble must know
// their ports before serve starts); hl is the HTTPS listener, nil when
// serve terminates no TLS.
func (c *cli) serveTLS(t *testing.T, extra map[string]string, tl, hl net.Listener) *tlsServer {
	t.Helper()
	ts := &tlsServer{testServer: c.serveOn(t, extra, tl, hl)}
	if hl != nil {
		ts.httpsAddr = hl.Addr().String()
	}
	return ts
}

// handshake opens a TLS connection to the HTTPS listener with SNI host,
// verifying against roots, and returns the leaf it got.
func (ts *tlsServer) handshake(host string, roots *x509.CertPool) (*x509.Certificate, error) {
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 5 * time.Second}, Config: &tls.Config{ServerName: host, RootCAs: roots}}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // an ACME order runs inside the first handshake
	defer cancel()
	conn, err := d.DialContext(ctx, "tcp", ts.httpsAddr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return conn.(*tls.Conn).ConnectionState().PeerCertificates[0], nil
}

// httpsClient reaches the HTTPS listener whatever the URL's host.
func (ts *tlsServer) httpsClient(roots *x509.CertPool) *http.Client {
	return &http.Client{Timeout: 2 * time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots},
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, ts.httpsAddr)
			}}}
}

// plain sends a request to the plain listener without following redirects.
func (ts *tlsServer) plain(t *testing.T, host, target string, hdr ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest("GET", ts.tenantURL+target, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	c := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res
}

func (ts *tlsServer) orders(t *testing.T) (ok, failed float64) {
	t.Helper()
	fams := ts.scrape(t)
	ok, found := value(fams, "platform_tls_acme_orders_total", map[string]string{"result": "ok"})
	failed, found2 := value(fams, "platform_tls_acme_orders_total", map[string]string{"result": "failed"})
	if !found || !found2 {
		t.Fatal("platform_tls_acme_orders_total is not exported")
	}
	return ok, failed
}

const tlsBase = "tls.platform.test"

// loginCookie logs admin in with password through client at url (Host
// host) and returns the session cookie set.
func loginCookie(t *testing.T, client *http.Client, url, host, password string, hdr ...string) *http.Cookie {
	t.Helper()
	req, err := http.NewRequest("POST", url+"/api/auth/login", strings.NewReader(`{"username":"admin","password":"`+password+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || len(res.Cookies()) == 0 {
		t.Fatalf("login at %s: %d %s, cookies %v", url, res.StatusCode, b, res.Cookies())
	}
	return res.Cookies()[0]
}

// TestServeTLSACME: with PLATFORM_TLS=acme against a real Pebble
// (tls-alpn-01 or http-01 really validated on serve's own ports), a catalog host
// gets a certificate that chains to Pebble's root and is served over
// HTTPS with HSTS; the plain listener redirects it (308) and answers
// probes and unknown hosts as before; an unknown SNI fails the handshake
// and orders nothing; the certificate lies sealed in the catalog, and a
// second replica serves the same certificate without an order.
func TestServeTLSACME(t *testing.T) {
	t.Parallel()
	for _, challenge := range []string{"tls-alpn-01", "http-01"} {
		t.Run(challenge, func(t *testing.T) {
			t.Parallel()
			testServeTLSACME(t, challenge)
		})
	}
}

// testServeTLSACME: with challenge http-01, Pebble's TLS port is closed,
// so tls-alpn-01 fails and autocert falls back to http-01 on the plain
// listener, which the redirect leaves to it.
func testServeTLSACME(t *testing.T, challenge string) {
	c := newCLI(t)
	c.env["PLATFORM_BASE_DOMAIN"] = tlsBase
	tl, hl := listen127(t), listen127(t)
	tlsPort := portOf(hl)
	if challenge == "http-01" {
		tlsPort = platformtest.FreePort(t)
	}
	pb := platformtest.StartPebble(t, portOf(tl), tlsPort)
	env := map[string]string{"PLATFORM_TLS": "acme", "PLATFORM_ACME_DIRECTORY_URL": pb.DirectoryURL, "PLATFORM_ACME_CA_FILE": pb.CAFile,
		"PLATFORM_ACME_EMAIL": "ops@example.org", "PLATFORM_HTTPS_PUBLIC_PORT": strconv.Itoa(portOf(hl))}
	ts := c.serveTLS(t, env, tl, hl)
	tn := ts.create(t, "restaurant")
	host := tn.Slug + "." + tlsBase
	waitFor(t, func() bool { return ts.knownHost(host) })
	roots := pb.Roots(t)

	leaf, err := ts.handshake(host, roots) // verified against Pebble's root, for host
	if err != nil {
		t.Fatalf("handshake for %s: %v", host, err)
	}
	if challenge == "http-01" && !strings.Contains(pb.Logs(), "Attempting to validate w/ HTTP: http://"+host+":"+strconv.Itoa(portOf(tl))+"/.well-known/acme-challenge/") {
		t.Error("Pebble did not validate http-01 on the plain listener")
	}
	if len(leaf.DNSNames) != 1 || leaf.DNSNames[0] != host {
		t.Errorf("certificate names %v, want [%s]", leaf.DNSNames, host)
	}
	res, err := ts.httpsClient(roots).Get("https://" + host + "/api/tenant")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(b), `"slug":"`+tn.Slug+`"`) {
		t.Fatalf("GET https://%s/api/tenant: %d %s", host, res.StatusCode, b)
	}
	if h := res.Header.Get("Strict-Transport-Security"); h != "max-age=31536000" {
		t.Errorf("HSTS over HTTPS: %q", h)
	}
	if ok, failed := ts.orders(t); ok != 1 || failed != 0 {
		t.Errorf("orders ok %v failed %v, want 1 and 0", ok, failed)
	}
	fams := ts.scrape(t)
	if v, found := value(fams, "platform_tls_certificate_not_after_timestamp_seconds", map[string]string{"host": host, "source": "acme"}); !found || int64(v) != leaf.NotAfter.Unix() {
		t.Errorf("not_after gauge %v (found %v), want %d", v, found, leaf.NotAfter.Unix())
	}
	// The TLS names of deploy/prometheus/metrics.txt (the certificate alert's).
	checkKnownExposed(t, fams, func(name string) bool { return strings.HasPrefix(name, "platform_tls_") })

	// Plain HTTP: the known host is redirected to the public HTTPS port
	// with path and query, without HSTS; probes and unknown hosts are not.
	r := ts.plain(t, host, "/api/tenant?x=1")
	want := fmt.Sprintf("https://%s:%d/api/tenant?x=1", host, portOf(hl))
	if r.StatusCode != 308 || r.Header.Get("Location") != want || r.Header.Get("Strict-Transport-Security") != "" {
		t.Errorf("plain GET: %d Location %q HSTS %q, want 308 %s", r.StatusCode, r.Header.Get("Location"), r.Header.Get("Strict-Transport-Security"), want)
	}
	if r := ts.plain(t, host, "/healthz"); r.StatusCode != 200 {
		t.Errorf("plain /healthz: %d", r.StatusCode)
	}
	if r := ts.plain(t, "evil.example.org", "/api/tenant"); r.StatusCode != 404 || r.Header.Get("Location") != "" {
		t.Errorf("plain GET of an unknown host: %d Location %q, want 404 and no redirect", r.StatusCode, r.Header.Get("Location"))
	}
	if r := ts.plain(t, "nope-"+platformtest.Rand(4)+"."+tlsBase, "/.well-known/acme-challenge/x"); r.StatusCode != 404 {
		t.Errorf("challenge path of an unknown host: %d", r.StatusCode)
	}

	// Unknown SNI: a handshake failure, no order, nothing cached.
	for _, h := range []string{"nope-" + platformtest.Rand(4) + "." + tlsBase, "evil.example.org"} {
		if _, err := ts.handshake(h, roots); err == nil {
			t.Errorf("handshake for unknown host %s succeeded", h)
		}
	}
	if ok, failed := ts.orders(t); ok != 1 || failed != 0 {
		t.Errorf("after unknown hosts: orders ok %v failed %v, want 1 and 0", ok, failed)
	}
	keys, err := c.cat.ACMECacheKeys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var certRow bool
	for _, k := range keys {
		if strings.HasPrefix(k, "nope-") || strings.Contains(k, "evil") {
			t.Errorf("cache entry %q of an unknown host", k)
		}
		certRow = certRow || k == host
		data, err := c.cat.ACMECacheGet(context.Background(), k)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(data, "vault:v") || strings.Contains(data, "PRIVATE KEY") || strings.Contains(data, "CERTIFICATE") {
			t.Errorf("cache entry %q is not sealed: %.40q", k, data)
		}
	}
	if !certRow {
		t.Errorf("no cache entry for %s in %v", host, keys)
	}

	// A second replica on the same catalog: the same certificate, no order.
	tl2, hl2 := listen127(t), listen127(t)
	ts2 := c.serveTLS(t, env, tl2, hl2)
	leaf2, err := ts2.handshake(host, roots)
	if err != nil {
		t.Fatalf("second replica's handshake: %v", err)
	}
	if leaf2.SerialNumber.Cmp(leaf.SerialNumber) != 0 {
		t.Errorf("second replica serves serial %s, want the cached %s", leaf2.SerialNumber, leaf.SerialNumber)
	}
	if ok, failed := ts2.orders(t); ok != 0 || failed != 0 {
		t.Errorf("second replica ordered: ok %v failed %v", ok, failed)
	}
}

// waitFor polls cond (observable state) for up to 10 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// writePair writes a certificate and key for names into dir.
func writePair(t *testing.T, ca *platformtest.CA, certFile, keyFile string, names ...string) *big.Int {
	t.Helper()
	cert, key, serial := ca.Issue(t, 30*24*time.Hour, names...)
	// Replace, as kubelet does with a Secret's files: never half a file.
	for f, b := range map[string][]byte{certFile: cert, keyFile: key} {
		tmp := f + ".tmp"
		if err := os.WriteFile(tmp, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, f); err != nil {
			t.Fatal(err)
		}
	}
	return serial
}

// TestServeTLSFiles: certificates from files, chosen by SNI (a wildcard
// for the base domain, a custom domain's own), reloaded when the files
// change; a bad new file keeps the old certificate and logs an ERROR; bad
// files at start refuse to start with one line.
func TestServeTLSFiles(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.env["PLATFORM_BASE_DOMAIN"] = tlsBase
	ca := platformtest.NewCA(t)
	dir := t.TempDir()
	wc, wk := filepath.Join(dir, "wild.pem"), filepath.Join(dir, "wild.key")
	oc, ok := filepath.Join(dir, "other.pem"), filepath.Join(dir, "other.key")
	wildSerial := writePair(t, ca, wc, wk, "*."+tlsBase)
	otherSerial := writePair(t, ca, oc, ok, "shop.example.org")
	env := map[string]string{"PLATFORM_TLS": "files", "PLATFORM_TLS_CERT_FILE": wc, "PLATFORM_TLS_KEY_FILE": wk,
		"PLATFORM_TLS_CERTS": oc + ":" + ok, "PLATFORM_TLS_RELOAD_INTERVAL": "20ms", "PLATFORM_HSTS_MAX_AGE": "3600"}
	tl, hl := listen127(t), listen127(t)
	ts := c.serveTLS(t, env, tl, hl)
	created, err := ts.svc.Create(context.Background(), provision.CreateRequest{Slug: platformtest.Slug("file"), Kind: "restaurant", Name: "Files"})
	if err != nil {
		t.Fatal(err)
	}
	host := created.Tenant.Slug + "." + tlsBase
	waitFor(t, func() bool { return ts.knownHost(host) })

	serial := func(h string) *big.Int {
		t.Helper()
		leaf, err := ts.handshake(h, ca.Pool)
		if err != nil {
			t.Fatalf("handshake for %s: %v", h, err)
		}
		return leaf.SerialNumber
	}
	if s := serial(host); s.Cmp(wildSerial) != 0 {
		t.Errorf("%s: serial %s, want the wildcard's %s", host, s, wildSerial)
	}
	if s := serial("shop.example.org"); s.Cmp(otherSerial) != 0 {
		t.Errorf("shop.example.org: serial %s, want %s", s, otherSerial)
	}
	if _, err := ts.handshake("a.b."+tlsBase, ca.Pool); err == nil { // a wildcard covers one label
		t.Error("handshake for a.b.<base> succeeded")
	}
	if _, err := ts.handshake("unknown.example.net", ca.Pool); err == nil {
		t.Error("handshake for an unnamed host succeeded")
	}
	res, err := ts.httpsClient(ca.Pool).Get("https://" + host + "/api/tenant")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Strict-Transport-Security") != "max-age=3600" {
		t.Errorf("GET over HTTPS: %d HSTS %q", res.StatusCode, res.Header.Get("Strict-Transport-Security"))
	}
	// The session cookie of a login over HTTPS is Secure.
	if ck := loginCookie(t, ts.httpsClient(ca.Pool), "https://"+host, host, created.AdminPassword); !ck.Secure || !ck.HttpOnly {
		t.Errorf("session cookie over HTTPS: %+v, want Secure and HttpOnly", ck)
	}
	if v, found := value(ts.scrape(t), "platform_tls_certificate_not_after_timestamp_seconds", map[string]string{"host": "*." + tlsBase, "source": "file"}); !found || v == 0 {
		t.Errorf("not_after of the wildcard: %v %v", v, found)
	}

	// Rotation: the new certificate is served without a restart.
	rotated := writePair(t, ca, wc, wk, "*."+tlsBase)
	waitFor(t, func() bool { return serial(host).Cmp(rotated) == 0 })

	// A bad new file: logged, the rotated certificate stays.
	if err := os.WriteFile(wc, []byte("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		for _, l := range ts.logs.Lines(t, "TLS certificate files changed but do not load; the loaded certificate stays") {
			if l["level"] == "ERROR" && l["cert"] == wc {
				return true
			}
		}
		return false
	})
	if s := serial(host); s.Cmp(rotated) != 0 {
		t.Errorf("after a bad file: serial %s, want the last good %s", s, rotated)
	}
	if strings.Contains(ts.logs.String(), "PRIVATE KEY") {
		t.Error("the log holds key material")
	}

	// Bad files at start: refused, one line naming the file.
	for name, e := range map[string]map[string]string{
		"missing":                    {"PLATFORM_TLS_CERT_FILE": filepath.Join(dir, "nope.pem"), "PLATFORM_TLS_KEY_FILE": wk},
		"garbage":                    {"PLATFORM_TLS_CERT_FILE": wc, "PLATFORM_TLS_KEY_FILE": wk},
		"key of another certificate": {"PLATFORM_TLS_CERT_FILE": oc, "PLATFORM_TLS_KEY_FILE": wk},
	} {
		env := map[string]string{"REDIS_URL": platformtest.Getenv(t, "REDIS_URL"), "PLATFORM_TLS": "files"}
		for k, v := range c.env {
			env[k] = v
		}
		for k, v := range e {
			env[k] = v
		}
		_, err := newServer(context.Background(), func(k string) string { return env[k] }, nil, newLogger(func(string) string { return "" }, io.Discard))
		if err == nil {
			t.Errorf("%s: serve started", name)
			continue
		}
		line := errorLine(err)
		if tenant.ErrorCode(err) != tenant.EInvalid || !strings.Contains(line, "PLATFORM_TLS=files") || !strings.Contains(line, dir) || strings.Contains(line, "\n") {
			t.Errorf("%s: %q", name, line)
		}
	}
}

// TestServeTLSProxy: behind a TLS proxy (PLATFORM_TLS=proxy), a trusted
// peer's X-Forwarded-Proto: https is served with HSTS, its http is
// redirected; an untrusted peer's header is ignored (redirected, no
// HSTS); probes are never redirected.
func TestServeTLSProxy(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	for _, tc := range []struct {
		name, proxies string
		trusted       bool
	}{{"trusted", "127.0.0.1/32", true}, {"untrusted", "10.9.8.0/24", false}} {
		t.Run(tc.name, func(t *testing.T) {
			ts := c.serveTLS(t, map[string]string{"PLATFORM_TLS": "proxy", "PLATFORM_TRUSTED_PROXIES": tc.proxies}, listen127(t), nil)
			created, err := ts.svc.Create(context.Background(), provision.CreateRequest{Slug: platformtest.Slug("prox"), Kind: "restaurant", Name: "Proxy"})
			if err != nil {
				t.Fatal(err)
			}
			host := created.Tenant.Slug + "." + ts.baseDomain
			waitFor(t, func() bool { return ts.knownHost(host) })
			https := ts.plain(t, host, "/api/tenant", "X-Forwarded-Proto", "https")
			httpr := ts.plain(t, host, "/api/tenant?a=b", "X-Forwarded-Proto", "http")
			if tc.trusted {
				if https.StatusCode != 200 || https.Header.Get("Strict-Transport-Security") != "max-age=31536000" {
					t.Errorf("trusted https: %d HSTS %q", https.StatusCode, https.Header.Get("Strict-Transport-Security"))
				}
				plainClient := &http.Client{Timeout: 10 * time.Second}
				if ck := loginCookie(t, plainClient, ts.tenantURL, host, created.AdminPassword, "X-Forwarded-Proto", "https"); !ck.Secure {
					t.Errorf("session cookie behind a trusted TLS proxy: %+v, want Secure", ck)
				}
			} else if https.StatusCode != 308 || https.Header.Get("Strict-Transport-Security") != "" {
				t.Errorf("untrusted https: %d HSTS %q, want the header ignored", https.StatusCode, https.Header.Get("Strict-Transport-Security"))
			}
			if httpr.StatusCode != 308 || httpr.Header.Get("Location") != "https://"+host+"/api/tenant?a=b" {
				t.Errorf("http: %d %q", httpr.StatusCode, httpr.Header.Get("Location"))
			}
			if r := ts.plain(t, host, "/readyz", "X-Forwarded-Proto", "http"); r.StatusCode != 200 {
				t.Errorf("/readyz: %d", r.StatusCode)
			}
		})
	}
}

// TestServeAdminTLS: with PLATFORM_ADMIN_TLS_CERT_FILE the admin listener
// speaks TLS only, with that certificate whatever name is asked, and
// HSTS; plain HTTP gets nothing from it.
func TestServeAdminTLS(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	ca := platformtest.NewCA(t)
	dir := t.TempDir()
	cf, kf := filepath.Join(dir, "admin.pem"), filepath.Join(dir, "admin.key")
	serial := writePair(t, ca, cf, kf, "platform-admin.platform.svc", "127.0.0.1")
	ts := c.serve(t, map[string]string{"PLATFORM_ADMIN_TLS_CERT_FILE": cf, "PLATFORM_ADMIN_TLS_KEY_FILE": kf})
	addr := strings.TrimPrefix(ts.adminURL, "http://")
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool}}}
	res, err := client.Get("https://" + addr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Strict-Transport-Security") == "" || res.TLS.PeerCertificates[0].SerialNumber.Cmp(serial) != 0 {
		t.Errorf("GET https /readyz: %d HSTS %q", res.StatusCode, res.Header.Get("Strict-Transport-Security"))
	}
	if res, err := http.Get(ts.adminURL + "/readyz"); err == nil {
		res.Body.Close()
		if res.StatusCode == 200 {
			t.Error("the admin listener answered plain HTTP")
		}
	}
}

// TestServeTLSACMEFailure: when the CA cannot validate (neither of serve's
// ports is where Pebble looks), the handshake fails, the order counts as
// failed once, and a retry within autocert's minute orders nothing more.
func TestServeTLSACMEFailure(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.env["PLATFORM_BASE_DOMAIN"] = tlsBase
	tl, hl := listen127(t), listen127(t)
	pb := platformtest.StartPebble(t, platformtest.FreePort(t), platformtest.FreePort(t))
	ts := c.serveTLS(t, map[string]string{"PLATFORM_TLS": "acme", "PLATFORM_ACME_DIRECTORY_URL": pb.DirectoryURL,
		"PLATFORM_ACME_CA_FILE": pb.CAFile, "PLATFORM_ACME_CACHE": "dir:" + t.TempDir()}, tl, hl)
	tn := ts.create(t, "restaurant")
	host := tn.Slug + "." + tlsBase
	waitFor(t, func() bool { return ts.knownHost(host) })
	roots := pb.Roots(t)
	for range 2 {
		if _, err := ts.handshake(host, roots); err == nil {
			t.Fatal("handshake succeeded without a validated order")
		}
	}
	if ok, failed := ts.orders(t); ok != 0 || failed != 1 {
		t.Errorf("orders ok %v failed %v, want 0 and 1", ok, failed)
	}
	if len(ts.logs.Lines(t, "ACME: no certificate for an allowed host")) != 1 {
		t.Errorf("want one WARN for the failed order")
	}
}

package platformtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// CA is a certificate authority of the test's own: it signs Pebble's
// listener certificate and the certificates of files-mode tests.
type CA struct {
	Cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	PEM     []byte
	Pool    *x509.CertPool
	serials int64
	mu      sync.Mutex
}

// NewCA makes a CA.
func NewCA(t testing.TB) *CA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "platform test CA " + Rand(6)},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &CA{Cert: cert, key: key, PEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), Pool: pool, serials: 1}
}

// Issue signs a server certificate for names (DNS names or IPs) valid
// for validity; it returns the chain's and the key's PEM and the serial.
func (ca *CA) Issue(t testing.TB, validity time.Duration, names ...string) (certPEM, keyPEM []byte, serial *big.Int) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ca.mu.Lock()
	ca.serials++
	serial = big.NewInt(ca.serials)
	ca.mu.Unlock()
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: names[0]},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(validity),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), serial
}

// Pebble is a running Pebble ACME server (Let's Encrypt's test CA) with
// pebble-challtestsrv as its DNS (every name resolves to 127.0.0.1), on
// ports of the test's own. Challenges are really validated: Pebble
// connects to 127.0.0.1 on the HTTP and TLS ports it was given.
type Pebble struct {
	DirectoryURL string
	CAFile       string // the CA of Pebble's own listener (PLATFORM_ACME_CA_FILE)
	mgmt         string // https://host:port of the management API
	client       *http.Client
	logs         *LogSink
}

// StartPebble starts challtestsrv and Pebble, validating http-01 on
// httpPort and tls-alpn-01 on tlsPort, and stops them with the test.
func StartPebble(t testing.TB, httpPort, tlsPort int) *Pebble {
	t.Helper()
	pebbleBin, dnsBin := Getenv(t, "PLATFORM_PEBBLE_BIN"), Getenv(t, "PLATFORM_CHALLTESTSRV_BIN")
	for _, b := range []string{pebbleBin, dnsBin} {
		if _, err := os.Stat(b); err != nil {
			t.Fatalf("%s is missing: run scripts/dev-services up (it builds Pebble and pebble-challtestsrv)", b)
		}
	}
	dir := t.TempDir()
	ca := NewCA(t)
	certPEM, keyPEM, _ := ca.Issue(t, 24*time.Hour, "localhost", "127.0.0.1")
	p := &Pebble{CAFile: filepath.Join(dir, "ca.pem"), logs: &LogSink{}}
	for name, b := range map[string][]byte{"ca.pem": ca.PEM, "cert.pem": certPEM, "key.pem": keyPEM} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	p.client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool}}}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("pebble and challtestsrv log:\n%s", p.logs.String())
		}
	})

	dnsPort, dnsMgmt := freeUDPAndTCPPort(t), FreePort(t)
	start(t, p.logs, dnsBin, nil, "-dnsserver", "127.0.0.1:"+strconv.Itoa(dnsPort), "-management", "127.0.0.1:"+strconv.Itoa(dnsMgmt),
		"-http01", "", "-https01", "", "-tlsalpn01", "", "-doh", "", "-defaultIPv4", "127.0.0.1", "-defaultIPv6", "")
	waitHTTP(t, http.DefaultClient, fmt.Sprintf("http://127.0.0.1:%d/", dnsMgmt))

	listen, mgmt := FreePort(t), FreePort(t)
	cfg := map[string]any{"pebble": map[string]any{
		"listenAddress": fmt.Sprintf("127.0.0.1:%d", listen), "managementListenAddress": fmt.Sprintf("127.0.0.1:%d", mgmt),
		"certificate": filepath.Join(dir, "cert.pem"), "privateKey": filepath.Join(dir, "key.pem"),
		"httpPort": httpPort, "tlsPort": tlsPort, "ocspResponderURL": "", "externalAccountBindingRequired": false,
	}}
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "pebble.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	// No random sleeps before validation, no random nonce rejections
	// (autocert retries them, but a test should not depend on that), and
	// no authorization reuse: each order validates afresh.
	env := []string{"PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0", "PEBBLE_AUTHZREUSE=0"}
	start(t, p.logs, pebbleBin, env, "-config", filepath.Join(dir, "pebble.json"), "-dnsserver", "127.0.0.1:"+strconv.Itoa(dnsPort))
	p.DirectoryURL = fmt.Sprintf("https://127.0.0.1:%d/dir", listen)
	p.mgmt = fmt.Sprintf("https://127.0.0.1:%d", mgmt)
	waitHTTP(t, p.client, p.DirectoryURL)
	return p
}

// Roots is the pool of Pebble's issuing root (from its management API):
// what a client verifies the certificates it issued against.
func (p *Pebble) Roots(t testing.TB) *x509.CertPool {
	t.Helper()
	res, err := p.client.Get(p.mgmt + "/roots/0")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("Pebble's root: %d %v", res.StatusCode, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		t.Fatalf("Pebble's root is not PEM: %q", b)
	}
	return pool
}

func start(t testing.TB, logs *LogSink, bin string, env []string, args ...string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
	})
}

// waitHTTP polls url until it answers at all (any status).
func waitHTTP(t testing.TB, c *http.Client, url string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := c.Get(url)
		if err == nil {
			res.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer: %v", url, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// FreePort is a TCP port free on 127.0.0.1 a moment ago: for servers
// that take a port number, not a listener.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// freeUDPAndTCPPort is a port free for both (a DNS server takes both).
func freeUDPAndTCPPort(t testing.TB) int {
	t.Helper()
	for range 50 {
		u, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := u.LocalAddr().(*net.UDPAddr).Port
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		u.Close()
		if err == nil {
			l.Close()
			return port
		}
	}
	t.Fatal("no port free for both UDP and TCP")
	return 0
}

// Logs is what Pebble and challtestsrv wrote.
func (p *Pebble) Logs() string { return p.logs.String() }

package tlsserve_test

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/tenant/tlsserve"
)

// TestFilesSNI: exact names before wildcards, a wildcard for one label,
// case and a trailing dot ignored, no SNI or an IP as SNI the first pair,
// and each host listed once in the metrics (the pair that serves it).
func TestFilesSNI(t *testing.T) {
	t.Parallel()
	ca := platformtest.NewCA(t)
	dir := t.TempDir()
	var pairs []tlsserve.Pair
	serials := map[string]string{}
	for i, names := range [][]string{{"*.example.org"}, {"shop.example.org", "www.shop.example.org"}, {"*.example.org", "other.net"}} {
		c, k, serial := ca.Issue(t, time.Hour, names...)
		p := tlsserve.Pair{Cert: filepath.Join(dir, names[0][2:]+string(rune('a'+i))+".pem"), Key: filepath.Join(dir, string(rune('a'+i))+".key")}
		if err := os.WriteFile(p.Cert, c, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p.Key, k, 0o600); err != nil {
			t.Fatal(err)
		}
		pairs = append(pairs, p)
		serials[string(rune('a'+i))] = serial.String()
	}
	f, err := tlsserve.LoadFiles(pairs, nil)
	if err != nil {
		t.Fatal(err)
	}
	for sni, want := range map[string]string{
		"a.example.org": "a", "SHOP.example.org.": "b", "www.shop.example.org": "b", "other.net": "c",
		"": "a", "127.0.0.1": "a", "x.shop.example.org": "", "example.org": "", "evil.net": "",
	} {
		cert, err := f.Get(&tls.ClientHelloInfo{ServerName: sni})
		if want == "" {
			if err == nil {
				t.Errorf("%q: a certificate, want a handshake failure", sni)
			}
			continue
		}
		if err != nil || cert.Leaf.SerialNumber.String() != serials[want] {
			t.Errorf("%q: %v, want pair %s", sni, err, want)
		}
	}
	seen := map[string]int{}
	for _, c := range f.Certs() {
		seen[c.Host]++
		if c.Source != tlsserve.SourceFile || c.NotAfter.IsZero() {
			t.Errorf("%+v", c)
		}
	}
	if len(seen) != 4 || seen["*.example.org"] != 1 {
		t.Errorf("hosts in the metrics: %v", seen)
	}
}

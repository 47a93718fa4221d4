package importer

import (
	"net/url"
	"strings"
	"testing"
)

// TestMySQLConfigTLS: a source off this machine is read over verified
// TLS unless the URL says otherwise; "preferred", which falls back to
// clear text silently, is refused.
func TestMySQLConfigTLS(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ url, tls, err string }{
		{"mysql://u:p@db.example.org/sisca", "true", ""},
		{"mysql://u:p@10.1.2.3:3307/sisca", "true", ""},
		{"mysql://u:p@127.0.0.1/sisca", "", ""},
		{"mysql://u:p@localhost/sisca", "", ""},
		{"mysql://u:p@[::1]:3306/sisca", "", ""},
		{"mysql://u:p@db.example.org/sisca?tls=false", "", ""},
		{"mysql://u:p@db.example.org/sisca?tls=skip-verify", "skip-verify", ""},
		{"mysql://u:p@127.0.0.1/sisca?tls=true", "true", ""},
		{"mysql://u:p@db.example.org/sisca?tls=preferred", "", `tls="preferred": want true`},
	} {
		u, err := url.Parse(tt.url)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := mysqlConfig(u)
		switch {
		case tt.err != "":
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: %v, want %q", tt.url, err, tt.err)
			}
		case err != nil:
			t.Errorf("%s: %v", tt.url, err)
		case cfg.TLSConfig != tt.tls:
			t.Errorf("%s: TLS %q, want %q", tt.url, cfg.TLSConfig, tt.tls)
		}
	}
}

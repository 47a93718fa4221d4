package tenant

import (
	"net/netip"
	"strings"
	"testing"
)

// FuzzNormalizeHost: any input gives "" or a host that is already normal:
// lower-case, no port, no trailing dot, labels of [a-z0-9-] not starting
// or ending with '-', at most 253 bytes, and NormalizeHost of it is itself.
func FuzzNormalizeHost(f *testing.F) {
	for _, s := range []string{"demo.localhost:8080", "DEMO.LocalHost.", "[::1]:80", "a..b", "-a.b", "a-.b",
		"x.y:", "x.y:80:90", "b@a", "a b", "é.com", "xn--caf-dma.com", "127.0.0.1", strings.Repeat("a", 64) + ".com", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		n := NormalizeHost(in)
		if n == "" {
			return
		}
		if NormalizeHost(n) != n {
			t.Fatalf("NormalizeHost(%q) = %q, which normalises to %q", in, n, NormalizeHost(n))
		}
		if len(n) > 253 || strings.HasSuffix(n, ".") || strings.ContainsAny(n, ":@/[] ") || n != strings.ToLower(n) {
			t.Fatalf("NormalizeHost(%q) = %q is not a normal host", in, n)
		}
		for _, label := range strings.Split(n, ".") {
			if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
				t.Fatalf("NormalizeHost(%q) = %q has a bad label %q", in, n, label)
			}
		}
	})
}

// FuzzValidateSlug: an accepted slug is a valid lower-case host label and
// its database and role names are legal PostgreSQL identifiers that no
// other slug's names can equal (B1: `x-app`'s owner was `x`'s login role).
func FuzzValidateSlug(f *testing.F) {
	for _, s := range []string{"acme", "s", "s-app", "x-app", "a--b", "www", "abc-", "Acme", "a1b2", "tenant"} {
		f.Add(s, s+"-app")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		if ValidateSlug(a) != nil {
			return
		}
		if NormalizeHost(a) != a || strings.Contains(a, ".") {
			t.Fatalf("accepted slug %q is not a host label", a)
		}
		for _, name := range []string{DatabaseName(a), OwnerRole(a), AppRole(a)} {
			if len(name) > 63 {
				t.Fatalf("name %q of slug %q exceeds 63 bytes", name, a)
			}
		}
		if OwnerRole(a) == AppRole(a) {
			t.Fatalf("slug %q: owner and login role are one", a)
		}
		if ValidateSlug(b) != nil || a == b {
			return
		}
		mine := map[string]bool{DatabaseName(a): true, OwnerRole(a): true, AppRole(a): true}
		for _, name := range []string{DatabaseName(b), OwnerRole(b), AppRole(b)} {
			if mine[name] {
				t.Fatalf("slugs %q and %q share the name %q", a, b, name)
			}
		}
	})
}

// FuzzValidateDomain: an accepted custom domain is a normal host with at
// least two labels and never an IP address.
func FuzzValidateDomain(f *testing.F) {
	for _, s := range []string{"menu.example.com", "EXAMPLE.com.", "example.com:443", "10.0.0.1", "1.2.3.4.5", "localhost",
		"a.b", "http://x.com", "x.com/", "[::1]", "b@a.com", "x.123"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		d, err := ValidateDomain(in)
		if err != nil {
			if ErrorCode(err) != EInvalid {
				t.Fatalf("ValidateDomain(%q): code %s, want invalid_input", in, ErrorCode(err))
			}
			return
		}
		if NormalizeHost(d) != d || !strings.Contains(d, ".") {
			t.Fatalf("ValidateDomain(%q) = %q is not a normal multi-label host", in, d)
		}
		if _, err := netip.ParseAddr(d); err == nil {
			t.Fatalf("ValidateDomain(%q) accepted an IP address", in)
		}
	})
}

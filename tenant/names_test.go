package tenant

import (
	"strings"
	"testing"
)

// TestRoleNamesNeverCollide is finding B1: with the suffix "_app", the
// owner role of "x-app" was the login role of "x". No two slugs may map
// to one name, whichever two of database, owner and login role compare.
func TestRoleNamesNeverCollide(t *testing.T) {
	slugs := []string{"x-app", "xy", "xyz", "s-app", "sss", "s-app-app", "ab-app", "abc", "a-b", "ab-c", "x1-app"}
	// Every slug that could be one of these plus "-app", minus it, and so on.
	for _, s := range append([]string(nil), slugs...) {
		slugs = append(slugs, s+"-app", strings.TrimSuffix(s, "-app"))
	}
	owner := map[string]string{}
	for _, s := range slugs {
		if ValidateSlug(s) != nil {
			continue
		}
		for _, name := range []string{DatabaseName(s), OwnerRole(s)} {
			owner[name] = s
		}
	}
	for _, s := range slugs {
		if ValidateSlug(s) != nil {
			continue
		}
		if other, ok := owner[AppRole(s)]; ok {
			t.Errorf("login role of %q is %s, the owner role or database of %q", s, AppRole(s), other)
		}
		if !strings.Contains(AppRole(s), "__") || strings.Contains(OwnerRole(s), "__") {
			t.Errorf("names of %q: owner %s, login %s", s, OwnerRole(s), AppRole(s))
		}
	}
	if LegacyAppRole("x") != OwnerRole("x-app") {
		t.Errorf("LegacyAppRole(x) = %s: the upgrade's collision check relies on it being OwnerRole(x-app)", LegacyAppRole("x"))
	}
}

func TestValidateText(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"La Picantería", true},
		{"Universidad Técnica — Sede Norte", true},
		{"東京ラーメン 🍜", true},
		{"a\x00b", false},
		{"a\nb", false},
		{"a\rb", false},
		{"a\tb", false},
		{"\x1b[31mred", false},
		{"a\x7fb", false},
		{"a\u0085b", false}, // NEL
		{"a\u2028b", false}, // line separator
		{"a\u2029b", false}, // paragraph separator
		{"a\u202eb", false}, // right-to-left override
		{"a\u2066b", false},
		{"\xff\xfe", false}, // not UTF-8
		{strings.Repeat("x", 201), false},
	}
	for _, tt := range tests {
		err := ValidateText("name", tt.in, 200)
		if (err == nil) != tt.ok {
			t.Errorf("ValidateText(%q) = %v, want ok=%v", tt.in, err, tt.ok)
		}
		if err != nil && (ErrorCode(err) != EInvalid || strings.ContainsAny(ErrorMessage(err), "\x00\n\r\x1b")) {
			t.Errorf("ValidateText(%q): code %s, message %q", tt.in, ErrorCode(err), ErrorMessage(err))
		}
	}
}

func TestValidateDomainRefusesIPs(t *testing.T) {
	for _, d := range []string{"127.0.0.1", "10.1.2.3", "1.2.3.4:80", "example.123", "999.999.999.999", "a.b.0"} {
		if _, err := ValidateDomain(d); ErrorCode(err) != EInvalid {
			t.Errorf("ValidateDomain(%q) = %v, want invalid", d, err)
		}
	}
	for _, d := range []string{"menu.example.com", "1.example.com", "a1.b2.c3", "x.y1"} {
		if _, err := ValidateDomain(d); err != nil {
			t.Errorf("ValidateDomain(%q) = %v, want ok", d, err)
		}
	}
}

func TestSanitizeText(t *testing.T) {
	for in, want := range map[string]string{
		"La Picantería": "La Picantería",
		"a\nb\x00c":     "a\uFFFDb\uFFFDc",
		"x\u2028y\xff":  "x\uFFFDy\uFFFD",
	} {
		if got := SanitizeText(in); got != want {
			t.Errorf("SanitizeText(%q) = %q, want %q", in, got, want)
		}
	}
}

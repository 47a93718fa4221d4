package tenant

import "testing"

func TestValidateSlug(t *testing.T) {
	tests := []struct {
		slug string
		ok   bool
	}{
		{"acme", true},
		{"la-picanteria-2", true},
		{"abc", true},
		{"a1b2c3d4e5f6g7h8i9j0a1b2c3d4e5f6g7h8i9j0", true}, // 40
		{"a1b2c3d4e5f6g7h8i9j0a1b2c3d4e5f6g7h8i9j0x", false},
		{"ab", false},
		{"", false},
		{"1abc", false},
		{"-abc", false},
		{"abc-", false},
		{"Acme", false},
		{"ac_me", false},
		{"ac.me", false},
		{"a--b", false},
		{"café", false},
		{"www", false},
		{"admin", false},
		{"platform", false},
		{"api", false},
	}
	for _, tt := range tests {
		err := ValidateSlug(tt.slug)
		if (err == nil) != tt.ok {
			t.Errorf("ValidateSlug(%q) = %v, want ok=%v", tt.slug, err, tt.ok)
		}
		if err != nil && ErrorCode(err) != EInvalid {
			t.Errorf("ValidateSlug(%q) code = %s", tt.slug, ErrorCode(err))
		}
	}
}

func TestNames(t *testing.T) {
	if got := DatabaseName("la-picanteria"); got != "tenant_la_picanteria" {
		t.Errorf("DatabaseName = %s", got)
	}
	if got := AppRole("la-picanteria"); got != "tenant_la_picanteria__app" {
		t.Errorf("AppRole = %s", got)
	}
	// The longest slug still fits PostgreSQL's 63-byte identifiers.
	long := "a1b2c3d4e5f6g7h8i9j0a1b2c3d4e5f6g7h8i9j0"
	if n := len(AppRole(long)); n > 63 {
		t.Errorf("AppRole of a 40-character slug is %d bytes", n)
	}
}

func TestNormalizeHost(t *testing.T) {
	tests := []struct{ in, want string }{
		{"acme.localhost", "acme.localhost"},
		{"ACME.LocalHost", "acme.localhost"},
		{"acme.localhost:8080", "acme.localhost"},
		{"acme.localhost.", "acme.localhost"},
		{"acme.localhost.:8080", "acme.localhost"},
		{"  acme.localhost ", "acme.localhost"},
		{"", ""},
		{":8080", ""},
		{"acme..localhost", ""},
		{"acme.localhost:http", ""},
		{"[::1]:8080", ""},
		{"acme_x.localhost", ""},
		{"-acme.localhost", ""},
		{"acme.localhost/evil", ""},
		{"a b.localhost", ""},
	}
	for _, tt := range tests {
		if got := NormalizeHost(tt.in); got != tt.want {
			t.Errorf("NormalizeHost(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestValidateDomain(t *testing.T) {
	for in, ok := range map[string]bool{
		"menu.example.com": true, "Example.CL": true, "example.com.": true,
		"localhost": false, "example.com:443": false, "http://example.com": false, "": false, "exa mple.com": false,
	} {
		if _, err := ValidateDomain(in); (err == nil) != ok {
			t.Errorf("ValidateDomain(%q) = %v, want ok=%v", in, err, ok)
		}
	}
}

func TestErrorHelpers(t *testing.T) {
	if ErrorCode(nil) != "" || ErrorMessage(nil) != "" {
		t.Error("nil error has a code or message")
	}
	e := Errorf(EConflict, "tenant %q exists", "acme")
	if ErrorCode(e) != EConflict || ErrorMessage(e) != `tenant "acme" exists` {
		t.Errorf("got %s / %s", ErrorCode(e), ErrorMessage(e))
	}
	other := errorString("dial tcp: secret-host refused")
	if ErrorCode(other) != EInternal || ErrorMessage(other) != "internal error" {
		t.Errorf("internal error leaks: %s", ErrorMessage(other))
	}
}

type errorString string

func (e errorString) Error() string { return string(e) }

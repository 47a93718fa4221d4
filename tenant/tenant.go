// Package tenant holds the platform's domain types for one tenant: its
// identity, kind, status and the names derived from its slug. It imports no
// HTTP and no SQL, so both the control plane and the request path use it.
package tenant

import (
	"regexp"
	"strings"
	"time"
)

// Kind is the kind of business a tenant runs; it picks the schema and the
// request router.
type Kind string

const (
	Restaurant  Kind = "restaurant"
	Institution Kind = "institution"
)

// Kinds lists every kind, in a stable order.
var Kinds = []Kind{Restaurant, Institution}

// ParseKind validates a kind given by a user.
func ParseKind(s string) (Kind, error) {
	for _, k := range Kinds {
		if string(k) == s {
			return k, nil
		}
	}
	return "", Errorf(EInvalid, "unknown kind %q: want restaurant or institution", s)
}

// Status is where a tenant is in its lifecycle.
type Status string

const (
	StatusProvisioning Status = "provisioning" // being created; a re-run finishes it
	StatusActive       Status = "active"
	StatusSuspended    Status = "suspended"   // refused at the router, data kept
	StatusMaintenance  Status = "maintenance" // e.g. a restore in progress
	StatusDeleted      Status = "deleted"     // soft-deleted: unknown to the router, data kept
)

// Tenant is one customer of the platform with its own database.
type Tenant struct {
	ID        string
	Slug      string
	Kind      Kind
	Name      string
	Status    Status
	DBServer  string // name of the database server that holds its database
	Database  string
	TimeZone  string
	Settings  map[string]any
	Hosts     []string // custom domains; the subdomain is derived from Slug
	CreatedAt time.Time
	UpdatedAt time.Time
}

var slugRE = regexp.MustCompile(`^[a-z][a-z0-9-]{1,38}[a-z0-9]$`)

// reserved slugs would shadow platform hosts or confuse users.
var reserved = map[string]bool{
	"www": true, "api": true, "admin": true, "platform": true, "app": true,
	"mail": true, "smtp": true, "ftp": true, "static": true, "assets": true,
	"cdn": true, "status": true, "docs": true, "help": true, "support": true,
	"console": true, "dashboard": true, "login": true, "auth": true,
	"billing": true, "blog": true, "dev": true, "staging": true, "test": true,
	"root": true, "system": true, "postgres": true, "template": true,
	"localhost": true, "internal": true, "metrics": true, "health": true,
}

// ValidateSlug reports whether s may name a new tenant.
func ValidateSlug(s string) error {
	if !slugRE.MatchString(s) {
		return Errorf(EInvalid, "invalid slug %q: 3-40 characters, lower-case letters, digits and '-', starting with a letter and not ending with '-'", s)
	}
	if strings.Contains(s, "--") {
		return Errorf(EInvalid, "invalid slug %q: '--' is not allowed", s)
	}
	if reserved[s] {
		return Errorf(EInvalid, "slug %q is reserved", s)
	}
	return nil
}

// DatabaseName is the name of the tenant's database and of the role that
// owns it (and never logs in).
func DatabaseName(slug string) string {
	return "tenant_" + strings.ReplaceAll(slug, "-", "_")
}

// OwnerRole owns every object of the tenant database; migrations run as it.
func OwnerRole(slug string) string { return DatabaseName(slug) }

// AppRole is the login role of the request path: DML only.
func AppRole(slug string) string { return DatabaseName(slug) + "_app" }

// NormalizeHost lower-cases a host name and strips a port and a trailing
// dot. It returns "" when what is left is not a syntactically valid DNS
// name, so callers can treat malformed hosts as unknown. It runs on every
// request: no regular expression, and no allocation for a host that is
// already lower-case.
func NormalizeHost(h string) string {
	h = strings.TrimSpace(h)
	if strings.HasPrefix(h, "[") { // IPv6 literal: never a tenant host
		return ""
	}
	if i := strings.LastIndexByte(h, ':'); i >= 0 {
		for _, c := range []byte(h[i+1:]) {
			if c < '0' || c > '9' {
				return ""
			}
		}
		h = h[:i]
	}
	h = strings.TrimSuffix(h, ".")
	if h == "" || len(h) > 253 {
		return ""
	}
	upper := false
	labelLen := 0
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c >= 'A' && c <= 'Z':
			upper = true
		case c == '-':
			if labelLen == 0 || i+1 == len(h) || h[i+1] == '.' {
				return "" // a label neither starts nor ends with '-'
			}
		case c == '.':
			if labelLen == 0 {
				return "" // empty label
			}
			labelLen = 0
			continue
		default:
			return ""
		}
		labelLen++
		if labelLen > 63 {
			return ""
		}
	}
	if upper {
		h = strings.ToLower(h)
	}
	return h
}

// ValidateDomain checks a custom domain given by an operator and returns
// its normal form. A custom domain needs at least two labels.
func ValidateDomain(h string) (string, error) {
	n := NormalizeHost(h)
	if n == "" || !strings.Contains(n, ".") || strings.ContainsAny(h, ":/") {
		return "", Errorf(EInvalid, "invalid domain %q", h)
	}
	return n, nil
}

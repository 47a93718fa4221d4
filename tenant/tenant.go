// Package tenant holds the platform's domain types for one tenant: its
// identity, kind, status and the names derived from its slug. It imports no
// HTTP and no SQL, so both the control plane and the request path use it.
package tenant

import (
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
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
	// SecretsVersion is bumped by every secret rotation: a tenant whose
	// only change is this one keeps its pool, its cached secrets go.
	SecretsVersion int64
}

// DBServer is a PostgreSQL server that holds tenant databases, as the
// catalog registers it. Its admin credentials are never stored.
type DBServer struct {
	ID               int64
	Name             string
	Host             string
	Port             int
	ConnectionBudget int // connections the request path may open to it in total
}

// ValidateBaseDomain checks the platform's base domain (tenants live at
// <slug>.<base>) and returns its normal form. One label ("localhost") is
// allowed; a port, a path or an IP address is not.
func ValidateBaseDomain(h string) (string, error) {
	n := NormalizeHost(h)
	if n == "" || strings.ContainsAny(h, ":/") {
		return "", Errorf(EInvalid, "invalid base domain %q", h)
	}
	if last := n[strings.LastIndexByte(n, '.')+1:]; strings.Trim(last, "0123456789") == "" {
		return "", Errorf(EInvalid, "invalid base domain %q: an IP address cannot be a base domain", h)
	}
	return n, nil
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

// AppRole is the login role of the request path: DML only. Its suffix is
// "__app" because no slug contains "--", so no mapped slug contains "__":
// the login role of one tenant can never be the owner role (or database)
// of another. With the old suffix "_app", the owner role of "x-app" was
// the login role of "x".
func AppRole(slug string) string { return DatabaseName(slug) + "__app" }

// LegacyAppRole is the login role's name before AppRole became
// unambiguous; the upgrade renames it (see provision's upgradeRoles).
// Beware: it is also OwnerRole(slug + "-app").
func LegacyAppRole(slug string) string { return DatabaseName(slug) + "_app" }

// LoginGroup is the NOLOGIN group role every tenant login role joins, so
// that pg_hba.conf can require scram-sha-256 for all of them in one line.
const LoginGroup = "platform_tenant_login"

// ValidateText checks a free-text field given by a user (a tenant name,
// for example): valid UTF-8, at most max bytes, and no control character.
// Control characters (NUL, newlines, escapes, Unicode line and paragraph
// separators, bidirectional overrides) would inject lines into env files
// and tables, reorder what a terminal shows, or be refused by PostgreSQL.
// field names the field in the message; the value itself is never echoed.
func ValidateText(field, s string, max int) error {
	if !utf8.ValidString(s) {
		return Errorf(EInvalid, "%s is not valid UTF-8", field)
	}
	if len(s) > max {
		return Errorf(EInvalid, "%s is too long (at most %d bytes)", field, max)
	}
	for _, r := range s {
		if isControl(r) {
			return Errorf(EInvalid, "%s contains a control character (U+%04X)", field, r)
		}
	}
	return nil
}

// SanitizeText replaces every control character of s (see ValidateText)
// and every invalid byte with U+FFFD, for printing text stored before it
// was validated.
func SanitizeText(s string) string {
	clean := utf8.ValidString(s)
	for _, r := range s {
		clean = clean && !isControl(r)
	}
	if clean {
		return s
	}
	var b strings.Builder
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		if isControl(r) {
			r = utf8.RuneError
		}
		b.WriteRune(r)
	}
	return b.String()
}

func isControl(r rune) bool {
	switch {
	case unicode.IsControl(r): // C0, DEL, C1 (NEL included)
		return true
	case r == '\u2028', r == '\u2029': // line and paragraph separators
		return true
	case r >= '\u202a' && r <= '\u202e', r >= '\u2066' && r <= '\u2069', r == '\u200e', r == '\u200f', r == '\u061c':
		return true // bidirectional controls
	case r == '\ufeff':
		return true
	}
	return false
}

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
	if labelLen == 0 {
		return "" // "a.." keeps an empty last label after the one trailing dot goes
	}
	if upper {
		h = strings.ToLower(h)
	}
	return h
}

// MaxDomains caps the custom domains of one tenant.
const MaxDomains = 20

// ValidateDomain checks a custom domain given by an operator and returns
// its normal form. A custom domain needs at least two labels, and its last
// label is not all digits: that is an IPv4 address (or would be read as
// one by resolvers and browsers), never a domain.
func ValidateDomain(h string) (string, error) {
	n := NormalizeHost(h)
	if n == "" || !strings.Contains(n, ".") || strings.ContainsAny(h, ":/") {
		return "", Errorf(EInvalid, "invalid domain %q", h)
	}
	last := n[strings.LastIndexByte(n, '.')+1:]
	if strings.Trim(last, "0123456789") == "" {
		return "", Errorf(EInvalid, "invalid domain %q: an IP address cannot be a custom domain", h)
	}
	return n, nil
}

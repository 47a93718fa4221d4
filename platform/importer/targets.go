package importer

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/auth"
	"github.com/tenancy/platform/tenant/institution"
	"github.com/tenancy/platform/tenant/resource"
	"github.com/tenancy/platform/tenant/restaurant"
)

// target is a table an import writes into, described as a resource.Spec
// so every row goes through resource.Decode, the API's own field checks.
type target struct {
	spec *resource.Spec
	// users: the rules of tenant/auth on top (username, email, full name).
	users bool
	// password is the column whose source value is a password or its hash.
	password string
}

// Fields of the shared tables, as the API would check them (migrations
// common/000001, 000003, 000006 and tenant/auth's limits).
var (
	usersSpec = &resource.Spec{Name: "users", Entity: "user", Table: "users",
		Fields: []resource.Field{
			{Name: "id", Type: resource.Int, ReadOnly: true},
			{Name: "username", Type: resource.String, Required: true, Max: auth.MaxUsername},
			{Name: "email", Type: resource.String, Nullable: true, Max: auth.MaxEmail},
			{Name: "full_name", Type: resource.String, Max: auth.MaxFullName, Default: ""},
			{Name: "active", Type: resource.Bool, Default: true},
			// password_hash is set by the engine from the password column.
			{Name: "password_hash", Type: resource.String, Max: 200},
			{Name: "must_change_password", Type: resource.Bool, Default: false},
			{Name: "failed_attempts", Type: resource.Int, Min: resource.Int64(0), Default: 0},
			{Name: "locked", Type: resource.Bool, Default: false},
			{Name: "locked_at", Type: resource.Time, Nullable: true},
			{Name: "last_login_at", Type: resource.Time, Nullable: true},
			{Name: "password_changed_at", Type: resource.Time, Nullable: true},
			{Name: "language", Type: resource.Enum, Enum: []string{"es", "en"}, Nullable: true},
			{Name: "created_at", Type: resource.Time, Default: importTime{}},
			{Name: "updated_at", Type: resource.Time, Default: importTime{}},
			// Not a column: role names (comma-separated) granted in
			// user_roles; each must be one of the tenant's roles.
			{Name: "roles", Type: resource.String, Nullable: true, Max: 500},
		},
		Uniques: []resource.Unique{
			{Constraint: "users_username_lower_key", Fields: []string{"username"}},
			{Constraint: "users_email_lower_key", Fields: []string{"email"}},
		},
	}
	resetTokensSpec = &resource.Spec{Name: "password_reset_tokens", Entity: "password_reset_token", Table: "password_reset_tokens",
		Fields: []resource.Field{
			{Name: "id", Type: resource.Int, ReadOnly: true},
			{Name: "user_id", Type: resource.Ref, Ref: "users", Required: true},
			// The token as the old system stored it; kept as its SHA-256,
			// as tenant/auth stores its own.
			{Name: "token_hash", Type: resource.String, Required: true, Max: 1000},
			{Name: "created_at", Type: resource.Time, Default: importTime{}},
			{Name: "expires_at", Type: resource.Time, Required: true},
			{Name: "used_at", Type: resource.Time, Nullable: true},
		},
		Uniques: []resource.Unique{{Constraint: "password_reset_tokens_token_hash_key", Fields: []string{"token_hash"}}},
		Check: func(v resource.Values, _ resource.Row, _ bool) map[string]string {
			c, okc := v.Get("created_at")
			e, oke := v.Get("expires_at")
			if ct, ok := c.(time.Time); okc && oke && ok {
				if et, ok := e.(time.Time); ok && !et.After(ct) {
					return map[string]string{"expires_at": "must be after created_at"}
				}
			}
			return nil
		},
	}
	auditSpec = &resource.Spec{Name: "audit_log", Entity: "audit_entry", Table: "audit_log",
		Fields: []resource.Field{
			{Name: "id", Type: resource.Int, ReadOnly: true},
			{Name: "occurred_at", Type: resource.Time, Default: importTime{}},
			{Name: "user_id", Type: resource.Ref, Ref: "users", Nullable: true},
			{Name: "actor", Type: resource.String, Nullable: true, Max: 256},
			{Name: "action", Type: resource.String, Required: true, Max: 128},
			{Name: "entity", Type: resource.String, Nullable: true, Max: 256},
			{Name: "entity_id", Type: resource.String, Nullable: true, Max: 256},
			{Name: "ip", Type: resource.String, Nullable: true, Max: 64},
			{Name: "user_agent", Type: resource.String, Nullable: true, Max: 512},
			{Name: "request_id", Type: resource.String, Nullable: true, Max: 256},
			{Name: "details", Type: resource.JSON, Default: map[string]any{}},
			{Name: "outcome", Type: resource.Enum, Enum: []string{"success", "failure", "denied"}, Default: "success"},
		},
		Check: func(v resource.Values, _ resource.Row, _ bool) map[string]string {
			if ip, ok := v.Get("ip"); ok && ip != nil && ip != "" {
				if _, err := netip.ParseAddr(ip.(string)); err != nil {
					if _, err := netip.ParsePrefix(ip.(string)); err != nil {
						return map[string]string{"ip": "must be an IP address"}
					}
				}
			}
			return nil
		},
	}
)

// targets returns the tables a kind's import may write, by table name.
func targets(kind tenant.Kind) map[string]*target {
	var specs []*resource.Spec
	switch kind {
	case tenant.Restaurant:
		specs = restaurant.Specs
	case tenant.Institution:
		specs = institution.Specs()
	}
	m := map[string]*target{
		"users":                 {spec: usersSpec, users: true, password: "password_hash"},
		"password_reset_tokens": {spec: resetTokensSpec},
		"audit_log":             {spec: auditSpec},
	}
	for _, s := range specs {
		m[s.Table] = &target{spec: importable(s)}
	}
	return m
}

// importable is s with the columns the server sets on the API but that an
// import carries over (timestamps; the acting user of ByUser references)
// made writable; computed columns stay refused.
func importable(s *resource.Spec) *resource.Spec {
	c := *s
	c.Fields = slices.Clone(s.Fields)
	for i := range c.Fields {
		f := &c.Fields[i]
		switch {
		case f.ReadOnly && f.Type == resource.Time:
			f.ReadOnly = false
			f.Nullable = false
			f.Required = false
			f.Default = importTime{}
		case f.ByUser:
			f.ByUser = false
		}
	}
	return &c
}

// importTime is the Default of a NOT NULL timestamp that a source row
// leaves null: the import's time, as the column's own default (now())
// would have given on an INSERT that left it out.
type importTime struct{}

// writable reports whether an import may give field f a value.
func writable(f *resource.Field) bool { return !f.ReadOnly && !f.ByUser }

// Check validates m against the target kind's schema, before anything is
// read or written: target tables and columns exist and may be written,
// required ones are mapped, references go to reference columns, the
// password column is the users'. Problems are one each, file:table.column.
func (m *Mapping) Check() error {
	ts := targets(m.Kind)
	var probs []string
	add := func(format string, args ...any) { probs = append(probs, fmt.Sprintf(format, args...)) }
	for i := range m.Tables {
		t := &m.Tables[i]
		tg, ok := ts[t.To]
		if !ok {
			add("%s: to: %q is not a table a %s import writes (%s)", where(t, ""), t.To, m.Kind, strings.Join(sortedKeys(ts), ", "))
			continue
		}
		for _, name := range sortedKeys(t.Columns) {
			c := t.Columns[name]
			w := where(t, name)
			f := tg.spec.Field(name)
			switch {
			case f == nil:
				add("%s: %s has no column %q", w, t.To, name)
				continue
			case !writable(f):
				add("%s: %s.%s is set by the platform, not imported", w, t.To, name)
				continue
			}
			if f.Type == resource.Ref && c.Ref == "" && len(c.Value) == 0 {
				add("%s: %s.%s refers to %s: say which earlier table with ref", w, t.To, name, f.Ref)
			}
			if c.Ref != "" && f.Type != resource.Ref {
				add("%s: ref on %s.%s, which is not a reference", w, t.To, name)
			}
			if c.Ref != "" && f.Type == resource.Ref {
				if p := m.earlier(i, c.Ref); p != nil && p.To != f.Ref {
					add("%s: ref %q writes %s, but %s.%s refers to %s", w, c.Ref, p.To, t.To, name, f.Ref)
				}
			}
			if c.Orphan == "null" && !f.Nullable {
				add("%s: orphan: null, but %s.%s may not be null", w, t.To, name)
			}
			if c.Password && name != tg.password {
				add("%s: password: true only on users.password_hash", w)
			}
			if !c.Password && name == tg.password && tg.password != "" {
				add("%s: users.password_hash needs password: true (plaintext is hashed, bcrypt hashes kept)", w)
			}
		}
		// A password column's values must stay in the import's memory:
		// keys go to import_ids and the report, a skip column's value to
		// its default reason.
		for _, name := range sortedKeys(t.Columns) {
			if c := t.Columns[name]; c.Password {
				for _, from := range c.From {
					if slices.ContainsFunc(t.Key, func(k string) bool { return strings.EqualFold(k, from) }) {
						add("%s: key: %s is the password column: a key is stored and reported", where(t, ""), from)
					}
					if t.Skip != nil && strings.EqualFold(t.Skip.Column, from) {
						add("%s: skip: %s is the password column: its value would be reported", where(t, ""), from)
					}
				}
			}
		}
		for _, f := range tg.spec.Fields {
			if _, ok := t.Columns[f.Name]; !ok && writable(&f) && (f.Required || f.Name == tg.password) {
				add("%s: %s.%s is required: map it", where(t, ""), t.To, f.Name)
			}
		}
	}
	if len(probs) > 0 {
		return problems(m.file, probs)
	}
	return nil
}

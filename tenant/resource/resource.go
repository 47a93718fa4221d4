// Package resource describes the tenant domain's resources (a restaurant's
// branches and menu, an institution's periods and groups…) declaratively:
// fields with their types and rules, filters, the unique keys and the
// delete rules of the schema. From one Spec come the input validation
// (here), the SQL (resourcepg), the routes (resourcehttp) and the OpenAPI
// document, so every resource behaves alike: list with filters and keyset
// pagination, get, create, PATCH, delete; 422 with per-field messages,
// 409 for duplicates and for deletes the schema restricts.
//
// The package knows neither HTTP nor SQL.
package resource

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tenancy/platform/tenant"
)

// Type is a field's type on the wire and in the database.
type Type int

const (
	String Type = iota // JSON string, SQL text; trimmed, at most Max characters
	Int                // JSON integer, SQL integer/bigint
	Bool               // JSON boolean
	Date               // JSON "2006-01-02", SQL date
	Time               // JSON RFC 3339, SQL timestamptz
	Money              // JSON integer of cents (≥ 0), SQL integer/bigint
	Enum               // JSON string, one of Field.Enum
	Ref                // JSON integer: the id of a row of resource Field.Ref
	JSON               // JSON object, SQL jsonb
	Email              // a String that must look like an e-mail address
	Phone              // a String of digits, spaces and + - ( ) .
)

// Field is one attribute of a resource: its JSON name is its column name.
type Field struct {
	Name string
	Type Type
	// Required: a create must give it (not null); an update may not null it.
	Required bool
	// Nullable: JSON null is accepted (stored as NULL).
	Nullable bool
	// ReadOnly: set by the server only (id, timestamps, computed values).
	ReadOnly bool
	// Immutable: given on create, never changed by an update.
	Immutable bool
	// ByUser: a Ref to users set by the server to the acting user on
	// create (uploaded_by, recorded_by…); read-only to clients.
	ByUser bool
	// Max is a String's maximum length in characters (default 200; 10000
	// for a field named notes or description); an Int's maximum when set.
	Max int
	// Min is an Int's minimum when set (Money is always ≥ 0).
	Min  *int64
	Enum []string
	Ref  string // Ref: the resource the id points at
	// Filter makes ?name=value an equality filter of the list; on a Date or
	// Time field also ?name_from= and ?name_to= (inclusive, exclusive).
	Filter bool
	// Default documents the value the database gives when omitted.
	Default any
	// Example is the value in the OpenAPI document's examples.
	Example any
	Doc     string
}

// Action is what a delete does to a dependent row.
type Action string

const (
	Restrict Action = "restrict" // the delete is refused while dependents exist: 409 in_use
	Cascade  Action = "cascade"  // dependents go with the row, counted in the response
	SetNull  Action = "set_null" // dependents stay, their reference is cleared
)

// Dependent is a foreign key pointing at a resource's table: the schema's
// delete rule, declared so that a restricted delete names what blocks it
// and a cascading one counts what went (tests check the declarations
// against the schema's constraints).
type Dependent struct {
	Resource string // the dependent resource's name (for messages), e.g. "teaching_loads"
	Table    string
	Column   string
	Action   Action
}

// Spec is one resource.
type Spec struct {
	Name     string // plural, as in messages and the audit's details: "menu_items"
	Entity   string // singular, the audit's entity: "menu_item"
	Path     string // "/api/menu-items"
	Table    string
	Kind     tenant.Kind // served only on tenants of this kind
	Fields   []Field     // the id field first
	Uniques  []Unique
	Depends  []Dependent
	OrderDoc string // how the list is ordered, for the document ("by id")
	Doc      string
	// Check validates a write as a whole after each field's own rules:
	// create is true for a create; v holds the fields given (and, for an
	// update, cur the row before). It returns per-field messages.
	Check func(v Values, cur Row, create bool) map[string]string
}

// Unique is a unique key of the table, by constraint (or unique index)
// name: a duplicate is 409 conflict naming its fields.
type Unique struct {
	Constraint string
	Fields     []string
}

// Field returns the named field, or nil.
func (s *Spec) Field(name string) *Field {
	for i := range s.Fields {
		if s.Fields[i].Name == name {
			return &s.Fields[i]
		}
	}
	return nil
}

// Values are the fields of a write, in the Spec's order: name → value,
// nil for SQL NULL. Values hold int64, bool, string, time.Time (Time),
// string "2006-01-02" (Date) and json.RawMessage (JSON).
type Values struct {
	Names []string
	Vals  []any
}

// Get returns the value given for name.
func (v Values) Get(name string) (any, bool) {
	for i, n := range v.Names {
		if n == name {
			return v.Vals[i], true
		}
	}
	return nil, false
}

// Set sets (or adds) the value of name: for computed fields.
func (v *Values) Set(name string, val any) {
	for i, n := range v.Names {
		if n == name {
			v.Vals[i] = val
			return
		}
	}
	v.Names, v.Vals = append(v.Names, name), append(v.Vals, val)
}

// Row is one stored row, values in the order of its Spec's Fields
// (types as Values). It encodes as a JSON object in that order.
type Row struct {
	Spec *Spec
	Vals []any
}

// Get returns the value of the named field.
func (r Row) Get(name string) any {
	if r.Spec == nil {
		return nil
	}
	for i := range r.Spec.Fields {
		if r.Spec.Fields[i].Name == name && i < len(r.Vals) {
			return r.Vals[i]
		}
	}
	return nil
}

// ID returns the row's id.
func (r Row) ID() int64 {
	id, _ := r.Get("id").(int64)
	return id
}

// Limits of a list.
const (
	DefaultLimit = 50
	MaxLimit     = 200
)

// Filter is one condition of a list: Field = Value, or ≥ From, < To.
type Filter struct {
	Field    string
	Op       string // "=", ">=", "<"
	Value    any
	IsNull   bool // ?field=null
	Relation string
}

// ListParams are a list request's: filters, limit and the id after which
// the page starts (from the cursor).
type ListParams struct {
	Filters []Filter
	Limit   int
	After   int64
}

// ParseList reads limit, cursor and the Spec's filters from the query
// (get returns "" for an absent parameter; names lists every parameter
// given, so unknown ones are refused).
func ParseList(s *Spec, names []string, get func(string) string) (ListParams, error) {
	p := ListParams{Limit: DefaultLimit}
	bad := map[string]string{}
	for _, n := range names {
		switch n {
		case "limit":
			v, err := strconv.Atoi(get(n))
			if err != nil || v < 1 || v > MaxLimit {
				bad[n] = fmt.Sprintf("must be a whole number from 1 to %d", MaxLimit)
				continue
			}
			p.Limit = v
		case "cursor":
			id, ok := DecodeCursor(get(n))
			if !ok {
				bad[n] = "is not a cursor of this listing"
				continue
			}
			p.After = id
		default:
			name, op := n, "="
			if f := s.Field(n); f == nil || !f.Filter {
				if base, ok := strings.CutSuffix(n, "_from"); ok {
					name, op = base, ">="
				} else if base, ok := strings.CutSuffix(n, "_to"); ok {
					name, op = base, "<"
				}
			}
			f := s.Field(name)
			if f == nil || !f.Filter || (op != "=" && f.Type != Date && f.Type != Time) {
				bad[n] = "is not a filter of this listing"
				continue
			}
			raw := get(n)
			if op == "=" && raw == "null" && f.Nullable {
				p.Filters = append(p.Filters, Filter{Field: name, Op: op, IsNull: true})
				continue
			}
			v, msg := parseQueryValue(f, raw)
			if msg != "" {
				bad[n] = msg
				continue
			}
			p.Filters = append(p.Filters, Filter{Field: name, Op: op, Value: v})
		}
	}
	// One order of filters whatever the query's, for the SQL's sake.
	sort.SliceStable(p.Filters, func(i, j int) bool { return p.Filters[i].Field < p.Filters[j].Field })
	return p, tenant.Invalid(bad)
}

func parseQueryValue(f *Field, raw string) (any, string) {
	switch f.Type {
	case Int, Money, Ref:
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return nil, "must be a whole number"
		}
		return n, ""
	case Bool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return nil, "must be true or false"
		}
		return b, ""
	}
	return parseValue(f, json.RawMessage(strconv.Quote(raw)))
}

// EncodeCursor is the cursor of a page ending at id: the base64url of the
// id, opaque to clients.
func EncodeCursor(id int64) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(id))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// DecodeCursor reverses EncodeCursor (only its canonical form).
func DecodeCursor(c string) (int64, bool) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) != 8 || base64.RawURLEncoding.EncodeToString(b) != c {
		return 0, false
	}
	id := int64(binary.BigEndian.Uint64(b))
	return id, id > 0
}

// Page is one page of a list: the next cursor is "" on the last page.
type Page struct {
	Items      []Row  `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// Errors of decoding a body.
var (
	ErrNoBody  = tenant.Errorf(tenant.EInvalid, "a JSON object is required as the request body")
	ErrBadJSON = tenant.Errorf(tenant.EInvalid, "the request body is not one valid JSON object")
)

// Decode reads a write's JSON object against s: every field checked by its
// rules, unknown, read-only and (on update) immutable fields refused,
// required ones (on create) demanded; cur is the row an update changes
// (nil on create), for Check. Messages are per field (422); a body that is
// not one JSON object is 400.
func Decode(s *Spec, body []byte, cur *Row) (Values, error) {
	var obj map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if len(bytes.TrimSpace(body)) == 0 {
		return Values{}, ErrNoBody
	}
	if err := dec.Decode(&obj); err != nil || obj == nil {
		return Values{}, ErrBadJSON
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Values{}, ErrBadJSON
	}
	names := make([]string, 0, len(obj))
	for name := range obj {
		names = append(names, name)
	}
	return decodeFields(s, cur, names, func(f *Field) (any, bool, bool) {
		raw, given := obj[f.Name]
		return raw, given, string(raw) == "null"
	}, func(f *Field, raw any) (any, string) { return parseValue(f, raw.(json.RawMessage)) })
}

// DecodeValues is Decode for a create whose fields are already Go values
// rather than JSON (platform/importer: rows of a legacy database): the
// same rules, field by field and the Spec's Check. v holds nil (null),
// string (String, Email, Phone, Enum, Date), int64 (Int, Money, Ref),
// bool, time.Time (Time) or json.RawMessage (JSON).
func DecodeValues(s *Spec, v Values) (Values, error) {
	return decodeFields(s, nil, v.Names, func(f *Field) (any, bool, bool) {
		val, given := v.Get(f.Name)
		return val, given, given && val == nil
	}, checkValue)
}

// decodeFields checks the fields given (names) against s: unknown,
// read-only and (on update) immutable fields refused, required ones (on
// create) demanded, each value through parse; get returns a field's raw
// value, whether it was given and whether it is null.
func decodeFields(s *Spec, cur *Row, names []string, get func(f *Field) (any, bool, bool), parse func(f *Field, raw any) (any, string)) (Values, error) {
	create := cur == nil
	bad := map[string]string{}
	for _, name := range names {
		f := s.Field(name)
		switch {
		case f == nil:
			if len(name) > 64 || !utf8.ValidString(name) {
				bad["body"] = "has an unknown field"
			} else {
				bad[name] = "is not a known field"
			}
		case f.ReadOnly || f.ByUser:
			bad[name] = "is set by the server"
		case f.Immutable && !create:
			bad[name] = "cannot be changed once created"
		}
	}
	var v Values
	for i := range s.Fields {
		f := &s.Fields[i]
		if f.ReadOnly || f.ByUser || (!create && f.Immutable) || bad[f.Name] != "" {
			continue
		}
		raw, given, null := get(f)
		if !given {
			if create && f.Required {
				bad[f.Name] = "is required"
			}
			continue
		}
		if null {
			if f.Required || !f.Nullable {
				bad[f.Name] = "may not be null"
				continue
			}
			v.Names, v.Vals = append(v.Names, f.Name), append(v.Vals, nil)
			continue
		}
		val, msg := parse(f, raw)
		if msg != "" {
			bad[f.Name] = msg
			continue
		}
		v.Names, v.Vals = append(v.Names, f.Name), append(v.Vals, val)
	}
	if len(bad) == 0 && !create && len(v.Names) == 0 {
		return v, tenant.Invalid(map[string]string{"body": "changes nothing: give at least one field to change"})
	}
	if len(bad) == 0 && s.Check != nil {
		var r Row
		if cur != nil {
			r = *cur
		}
		for k, m := range s.Check(v, r, create) {
			bad[k] = m
		}
	}
	return v, tenant.Invalid(bad)
}

var (
	emailRe = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)
	phoneRe = regexp.MustCompile(`^\+?[0-9 ()./-]{6,30}$`)
)

func maxLen(f *Field) int {
	switch {
	case f.Max > 0:
		return f.Max
	case f.Name == "notes" || f.Name == "description" || f.Name == "content":
		return 10000
	}
	return 200
}

// parseValue checks one JSON value against f: the value or a message.
func parseValue(f *Field, raw json.RawMessage) (any, string) {
	switch f.Type {
	case String, Email, Phone, Enum, Date, Time:
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, "must be a string"
		}
		return checkValue(f, s)
	case Int, Money, Ref:
		var n json.Number
		if err := json.Unmarshal(raw, &n); err != nil {
			return nil, "must be a whole number"
		}
		i, err := strconv.ParseInt(n.String(), 10, 64)
		if err != nil {
			return nil, "must be a whole number"
		}
		return checkValue(f, i)
	case Bool:
		var b bool
		if err := json.Unmarshal(raw, &b); err != nil {
			return nil, "must be true or false"
		}
		return b, ""
	case JSON:
		return checkValue(f, raw)
	}
	return nil, "has an unsupported type"
}

// checkValue applies f's rules to a value already decoded (see
// DecodeValues for the types): the value as stored, or a message.
func checkValue(f *Field, v any) (any, string) {
	switch f.Type {
	case String, Email, Phone, Enum, Date, Time:
		if t, ok := v.(time.Time); ok && f.Type == Time {
			return t, ""
		}
		s, ok := v.(string)
		if !ok {
			return nil, "must be a string"
		}
		s = strings.TrimSpace(s)
		if strings.ContainsFunc(s, func(r rune) bool { return (r < 0x20 && r != '\n' && r != '\t') || r == 0x7f }) {
			return nil, "may not contain control characters"
		}
		switch f.Type {
		case Enum:
			for _, e := range f.Enum {
				if s == e {
					return s, ""
				}
			}
			return nil, "must be one of " + strings.Join(f.Enum, ", ")
		case Date:
			d, err := time.Parse(time.DateOnly, s)
			if err != nil {
				return nil, "must be a date (YYYY-MM-DD)"
			}
			return d.Format(time.DateOnly), ""
		case Time:
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				return nil, "must be a time in RFC 3339 (2026-03-01T20:30:00-03:00)"
			}
			return t, ""
		}
		if f.Required && s == "" {
			return nil, "may not be empty"
		}
		if n := utf8.RuneCountInString(s); n > maxLen(f) {
			return nil, fmt.Sprintf("must be at most %d characters", maxLen(f))
		}
		if f.Type == Email && s != "" && !emailRe.MatchString(s) {
			return nil, "must be an e-mail address"
		}
		if f.Type == Phone && s != "" && !phoneRe.MatchString(s) {
			return nil, "must be a phone number (digits, spaces, + - ( ) .)"
		}
		return s, ""
	case Int, Money, Ref:
		i, ok := v.(int64)
		if !ok {
			return nil, "must be a whole number"
		}
		switch {
		case f.Type == Money && i < 0:
			return nil, "must be an amount of cents, 0 or more"
		case f.Type == Money && i > math.MaxInt32:
			return nil, fmt.Sprintf("must be at most %d cents", math.MaxInt32)
		case f.Type == Ref && i < 1:
			return nil, "must be the id of a " + singular(f.Ref)
		case f.Min != nil && i < *f.Min:
			return nil, fmt.Sprintf("must be at least %d", *f.Min)
		case f.Max > 0 && i > int64(f.Max):
			return nil, fmt.Sprintf("must be at most %d", f.Max)
		case f.Type == Int && (i > math.MaxInt32 || i < math.MinInt32):
			return nil, "is out of range"
		}
		return i, ""
	case Bool:
		b, ok := v.(bool)
		if !ok {
			return nil, "must be true or false"
		}
		return b, ""
	case JSON:
		raw, ok := v.(json.RawMessage)
		if !ok || len(raw) == 0 || raw[0] != '{' {
			return nil, "must be a JSON object"
		}
		if len(raw) > 1<<20 {
			return nil, "must be at most 1 MiB of JSON"
		}
		return raw, ""
	}
	return nil, "has an unsupported type"
}

// singular is a resource's entity word for messages: "teaching_loads" →
// "teaching load".
func singular(resource string) string {
	s := strings.ReplaceAll(resource, "_", " ")
	switch {
	case strings.HasSuffix(s, "ies"):
		return s[:len(s)-3] + "y"
	case strings.HasSuffix(s, "sses"), strings.HasSuffix(s, "ches"):
		return s[:len(s)-2]
	case strings.HasSuffix(s, "s"):
		return s[:len(s)-1]
	}
	return s
}

// Words returns a resource name for messages: "teaching_loads" →
// "teaching loads".
func Words(resource string) string { return strings.ReplaceAll(resource, "_", " ") }

// Singular returns the singular words of a resource name.
func Singular(resource string) string { return singular(resource) }

// Int64 is a pointer to v, for Field.Min.
func Int64(v int64) *int64 { return &v }

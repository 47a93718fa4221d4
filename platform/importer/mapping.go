package importer

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/tenancy/platform/tenant"
)

// Mapping is a declarative description of one legacy system's import:
// which source table becomes which target table, and how each target
// column gets its value (docs/import.md).
type Mapping struct {
	Name        string      `json:"name"`
	Description string      `json:"description,omitempty"`
	Kind        tenant.Kind `json:"kind"`
	Source      stringList  `json:"source"`
	Timezone    string      `json:"timezone,omitempty"`
	Tables      []TableMap  `json:"tables"`

	file string         // where it came from, for messages
	loc  *time.Location // Timezone, UTC by default
}

// TableMap is one source table's import.
type TableMap struct {
	From    string               `json:"from"`
	To      string               `json:"to"`
	Key     stringList           `json:"key"`
	Skip    *SkipRule            `json:"skip,omitempty"`
	Columns map[string]ColumnMap `json:"columns"`
}

// SkipRule leaves out the source rows whose Column equals Equals.
type SkipRule struct {
	Column string `json:"column"`
	Equals any    `json:"equals"`
	Reason string `json:"reason,omitempty"`
}

// ColumnMap is how one target column gets its value: from source
// columns (the first the source has; for a list, per row the first that is
// neither null nor empty, or with Join all of those joined), a constant
// Value, or Default when none of the From columns exists.
type ColumnMap struct {
	From      stringList      `json:"from,omitempty"`
	Join      *string         `json:"join,omitempty"`
	Value     json.RawMessage `json:"value,omitempty"`
	Default   json.RawMessage `json:"default,omitempty"`
	Transform []string        `json:"transform,omitempty"`
	Enum      map[string]any  `json:"enum,omitempty"`
	Ref       string          `json:"ref,omitempty"`
	// Orphan is what a Ref value without its parent does: "skip" the row
	// (the default) or, on a nullable column, set it to "null". Either
	// way it is listed.
	Orphan   string `json:"orphan,omitempty"`
	Password bool   `json:"password,omitempty"`
}

// stringList is a string or a list of strings.
type stringList []string

func (l *stringList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*l = stringList{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return errors.New("must be a string or a list of strings")
	}
	*l = many
	return nil
}

// Transforms known to mappings, applied in the order given; besides
// these, object:KEY makes a value the JSON object {"KEY": value}.
var transforms = []string{"trim", "lower", "upper", "nullempty", "bool", "int", "decimal", "cents", "date", "datetime", "time"}

func knownTransform(t string) bool {
	if k, ok := strings.CutPrefix(t, "object:"); ok {
		return k != ""
	}
	return slices.Contains(transforms, t)
}

//go:embed mappings/*.yaml
var embedded embed.FS

// Embedded lists the names of the mappings built into the binary.
func Embedded() []string {
	ents, _ := fs.ReadDir(embedded, "mappings")
	var names []string
	for _, e := range ents {
		if n, ok := strings.CutSuffix(e.Name(), ".yaml"); ok {
			names = append(names, n)
		}
	}
	return names
}

var mappingNameRe = regexp.MustCompile(`^[a-z0-9-]+$`)

// LoadMapping reads --mapping: the name of an embedded mapping, else the
// path of a YAML or JSON file.
func LoadMapping(nameOrPath string) (*Mapping, error) {
	if mappingNameRe.MatchString(nameOrPath) {
		if b, err := embedded.ReadFile("mappings/" + nameOrPath + ".yaml"); err == nil {
			return ParseMapping(nameOrPath+".yaml", b)
		}
		if _, err := os.Stat(nameOrPath); err != nil {
			return nil, tenant.Errorf(tenant.EInvalid, "--mapping %s: no such built-in mapping (%s) nor file",
				nameOrPath, strings.Join(Embedded(), ", "))
		}
	}
	b, err := os.ReadFile(nameOrPath)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, tenant.Errorf(tenant.EInvalid, "--mapping %s: %v", nameOrPath, err)
	}
	return ParseMapping(filepath.Base(nameOrPath), b)
}

// ParseMapping decodes a mapping (YAML or JSON) strictly: an unknown key
// is an error naming its path. It checks what needs no tenant nor source
// (names, transforms, references to earlier tables); Check does the rest
// against the target kind's schema.
func ParseMapping(file string, b []byte) (*Mapping, error) {
	js, err := yaml.YAMLToJSON(b)
	if err != nil {
		return nil, tenant.Errorf(tenant.EInvalid, "%s: not valid YAML or JSON: %s", file, firstLine(strings.TrimPrefix(err.Error(), "error converting YAML to JSON: ")))
	}
	var generic any
	if err := json.Unmarshal(js, &generic); err != nil {
		return nil, tenant.Errorf(tenant.EInvalid, "%s: not valid YAML or JSON: %v", file, err)
	}
	if _, ok := generic.(map[string]any); !ok {
		return nil, tenant.Errorf(tenant.EInvalid, "%s: a mapping is an object (name, kind, source, tables)", file)
	}
	var probs []string
	unknownKeys(generic, &probs)
	if len(probs) > 0 {
		return nil, problems(file, probs)
	}
	var m Mapping
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, tenant.Errorf(tenant.EInvalid, "%s: %s: must be %s", file, te.Field, jsonKind(te.Type.Kind().String()))
		}
		return nil, tenant.Errorf(tenant.EInvalid, "%s: %s", file, strings.TrimPrefix(err.Error(), "json: "))
	}
	m.file = file
	if err := m.validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

func jsonKind(k string) string {
	switch k {
	case "slice":
		return "a list"
	case "map", "struct":
		return "an object"
	case "bool":
		return "true or false"
	}
	return "a " + k
}

// keys allowed at each level, for unknownKeys.
var (
	topKeys    = []string{"name", "description", "kind", "source", "timezone", "tables"}
	tableKeys  = []string{"from", "to", "key", "skip", "columns"}
	skipKeys   = []string{"column", "equals", "reason"}
	columnKeys = []string{"from", "join", "value", "default", "transform", "enum", "ref", "orphan", "password"}
)

// unknownKeys lists the keys of v that a mapping does not have, by path.
func unknownKeys(v any, probs *[]string) {
	top, _ := v.(map[string]any)
	check := func(obj any, path string, allowed []string) map[string]any {
		o, ok := obj.(map[string]any)
		if !ok {
			return nil
		}
		var bad []string
		for k := range o {
			if !slices.Contains(allowed, k) {
				bad = append(bad, k)
			}
		}
		sort.Strings(bad)
		for _, k := range bad {
			*probs = append(*probs, fmt.Sprintf("%s%s: unknown key (one of %s)", path, k, strings.Join(allowed, ", ")))
		}
		return o
	}
	check(top, "", topKeys)
	tables, _ := top["tables"].([]any)
	for i, t := range tables {
		path := fmt.Sprintf("tables[%d].", i)
		tm := check(t, path, tableKeys)
		if tm == nil {
			continue
		}
		if from, ok := tm["from"].(string); ok {
			path = fmt.Sprintf("tables[%d](%s).", i, from)
		}
		check(tm["skip"], path+"skip.", skipKeys)
		cols, _ := tm["columns"].(map[string]any)
		names := make([]string, 0, len(cols))
		for n := range cols {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			check(cols[n], path+"columns."+n+".", columnKeys)
		}
	}
}

func problems(file string, probs []string) error {
	if len(probs) == 1 {
		return tenant.Errorf(tenant.EInvalid, "%s: %s", file, probs[0])
	}
	return tenant.Errorf(tenant.EInvalid, "%s: %d problems: %s", file, len(probs), strings.Join(probs, "; "))
}

// where is a table's (or column's) place in messages: "branches" or
// "branches.name".
func where(t *TableMap, col string) string {
	if col == "" {
		return t.From
	}
	return t.From + "." + col
}

// validate checks what the mapping says on its own.
func (m *Mapping) validate() error {
	var probs []string
	add := func(format string, args ...any) { probs = append(probs, fmt.Sprintf(format, args...)) }
	if !mappingNameRe.MatchString(m.Name) {
		add("name: must be lower-case letters, digits and - (got %q)", m.Name)
	}
	if _, err := tenant.ParseKind(string(m.Kind)); err != nil {
		add("kind: must be restaurant or institution (got %q)", m.Kind)
	}
	if len(m.Source) == 0 {
		add("source: missing (sqlite, mysql or csv)")
	}
	for _, s := range m.Source {
		if s != "sqlite" && s != "mysql" && s != "csv" {
			add("source: %q is not sqlite, mysql or csv", s)
		}
	}
	m.loc = time.UTC
	if m.Timezone != "" {
		loc, err := time.LoadLocation(m.Timezone)
		if err != nil || m.Timezone == "Local" {
			add("timezone: %q is not an IANA time zone such as America/Mexico_City", m.Timezone)
		} else {
			m.loc = loc
		}
	}
	if len(m.Tables) == 0 {
		add("tables: none")
	}
	seen := map[string]bool{}
	for i := range m.Tables {
		t := &m.Tables[i]
		if t.From == "" || t.To == "" {
			add("tables[%d]: from and to are required", i)
			continue
		}
		if seen[strings.ToLower(t.From)] {
			add("%s: imported twice (one entry per source table)", t.From)
		}
		if len(t.Key) == 0 {
			add("%s: key: missing (the source column(s) identifying a row)", where(t, ""))
		}
		if t.Skip != nil && t.Skip.Column == "" {
			add("%s: skip.column: missing", where(t, ""))
		}
		if len(t.Columns) == 0 {
			add("%s: columns: none", where(t, ""))
		}
		for _, name := range sortedKeys(t.Columns) {
			c := t.Columns[name]
			w := where(t, name)
			n := 0
			if len(c.From) > 0 {
				n++
			}
			if len(c.Value) > 0 {
				n++
			}
			if n != 1 {
				add("%s: give exactly one of from or value", w)
			}
			if len(c.Value) > 0 && len(c.Default) > 0 {
				add("%s: default goes with from, not value", w)
			}
			for _, tr := range c.Transform {
				if !knownTransform(tr) {
					add("%s: unknown transform %q (one of %s, object:KEY)", w, tr, strings.Join(transforms, ", "))
				}
			}
			if c.Join != nil && len(c.From) == 0 {
				add("%s: join goes with a list of from columns", w)
			}
			switch c.Orphan {
			case "", "skip", "null":
			default:
				add("%s: orphan must be skip or null, not %q", w, c.Orphan)
			}
			if c.Orphan != "" && c.Ref == "" {
				add("%s: orphan goes with ref", w)
			}
			if c.Ref != "" {
				if m.earlier(i, c.Ref) == nil {
					add("%s: ref %q names no earlier table of the mapping (parents come first)", w, c.Ref)
				} else if p := m.earlier(i, c.Ref); len(p.Key) != 1 {
					add("%s: ref %q: that table's key has %d columns; a reference needs a one-column key", w, c.Ref, len(p.Key))
				}
			}
			if c.Password && (c.Ref != "" || len(c.Enum) > 0) {
				add("%s: password goes with neither ref nor enum", w)
			}
		}
		seen[strings.ToLower(t.From)] = true
	}
	if len(probs) > 0 {
		return problems(m.file, probs)
	}
	return nil
}

// earlier returns the table before index i that ref names (its from, else
// its to).
func (m *Mapping) earlier(i int, ref string) *TableMap {
	for j := range i {
		if m.Tables[j].From == ref {
			return &m.Tables[j]
		}
	}
	for j := range i {
		if m.Tables[j].To == ref {
			return &m.Tables[j]
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// firstLine is s up to its first newline, clipped (a YAML parser's message).
func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

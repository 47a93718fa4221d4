package i18n

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"text/template/parse"

	"github.com/BurntSushi/toml"
	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
)

//go:embed locales/*.toml
var embedded embed.FS

// Catalog is the messages of every language, loaded once and read-only
// after: safe for concurrent use.
type Catalog struct {
	bundle *goi18n.Bundle
	langs  map[Lang]*langCatalog
}

type langCatalog struct {
	loc      *goi18n.Localizer
	messages map[string]*goi18n.Message
	fields   map[string][]string // template fields per message, sorted
}

// NewCatalog loads the embedded catalogs, locales/es.toml and
// locales/en.toml.
func NewCatalog() (*Catalog, error) { return LoadCatalog(embedded) }

// LoadCatalog loads, for every language, locales/<lang>.toml and every
// locales/<area>.<lang>.toml beside it (one file per screen area, so the
// areas' messages are kept apart; a key in two files is an error). The
// main file missing, a file unreadable or with a template that does not
// parse is an error; whether the languages agree is checked by the
// package's tests ([Catalog.Keys], [Catalog.Args]).
func LoadCatalog(fsys fs.FS) (*Catalog, error) {
	b := goi18n.NewBundle(Spanish.Tag())
	b.RegisterUnmarshalFunc("toml", toml.Unmarshal)
	c := &Catalog{bundle: b, langs: map[Lang]*langCatalog{}}
	for _, l := range Langs() {
		lc := &langCatalog{messages: map[string]*goi18n.Message{}, fields: map[string][]string{}}
		for _, path := range catalogFiles(fsys, l) {
			buf, err := fs.ReadFile(fsys, path)
			if err != nil {
				return nil, fmt.Errorf("i18n: catalog %s: %w", path, err)
			}
			mf, err := goi18n.ParseMessageFileBytes(buf, path, map[string]goi18n.UnmarshalFunc{"toml": toml.Unmarshal})
			if err != nil {
				return nil, fmt.Errorf("i18n: catalog %s: %w", path, err)
			}
			if mf.Tag != l.Tag() {
				return nil, fmt.Errorf("i18n: catalog %s is for %s", path, mf.Tag)
			}
			for _, m := range mf.Messages {
				if _, dup := lc.messages[m.ID]; dup {
					return nil, fmt.Errorf("i18n: catalog %s: key %s twice", path, m.ID)
				}
				if m.One != "" && m.Many == "" {
					// Spanish has a CLDR "many" form (a million, 1e6…): it
					// reads as "other" here, where counts are digits.
					m.Many = m.Other
				}
				fields, err := messageFields(m)
				if err != nil {
					return nil, fmt.Errorf("i18n: catalog %s: key %s: %w", path, m.ID, err)
				}
				lc.messages[m.ID] = m
				lc.fields[m.ID] = fields
			}
			if err := b.AddMessages(l.Tag(), mf.Messages...); err != nil {
				return nil, fmt.Errorf("i18n: catalog %s: %w", path, err)
			}
		}
		c.langs[l] = lc
	}
	for _, l := range Langs() {
		c.langs[l].loc = goi18n.NewLocalizer(b, string(l))
	}
	return c, nil
}

// catalogFiles are the files of language l: locales/<l>.toml first (it
// must exist: ReadFile reports it missing), then locales/*.<l>.toml in
// name order.
func catalogFiles(fsys fs.FS, l Lang) []string {
	areas, _ := fs.Glob(fsys, "locales/*."+string(l)+".toml") // the pattern is valid
	return append([]string{"locales/" + string(l) + ".toml"}, areas...)
}

// messageForms are a message's texts by CLDR plural form ("other" alone
// for a plain message).
func messageForms(m *goi18n.Message) map[string]string {
	forms := map[string]string{}
	for form, s := range map[string]string{"zero": m.Zero, "one": m.One, "two": m.Two, "few": m.Few, "many": m.Many, "other": m.Other} {
		if s != "" {
			forms[form] = s
		}
	}
	return forms
}

// messageFields parses every form of m as a Go template (as go-i18n will)
// and returns the fields it uses ({{.Name}} → "Name"), sorted. Only plain
// field references are allowed: messages are text, not programs.
func messageFields(m *goi18n.Message) ([]string, error) {
	set := map[string]bool{}
	for form, src := range messageForms(m) {
		trees, err := parse.Parse("msg", src, "", "", map[string]any{})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", form, err)
		}
		for _, n := range trees["msg"].Root.Nodes {
			switch n := n.(type) {
			case *parse.TextNode:
			case *parse.ActionNode:
				if len(n.Pipe.Cmds) != 1 || len(n.Pipe.Decl) != 0 || len(n.Pipe.Cmds[0].Args) != 1 {
					return nil, fmt.Errorf("%s: %s: only {{.Field}} is allowed", form, n)
				}
				f, ok := n.Pipe.Cmds[0].Args[0].(*parse.FieldNode)
				if !ok || len(f.Ident) != 1 {
					return nil, fmt.Errorf("%s: %s: only {{.Field}} is allowed", form, n)
				}
				set[f.Ident[0]] = true
			default:
				return nil, fmt.Errorf("%s: %s: only {{.Field}} is allowed", form, n)
			}
		}
	}
	return slices.Sorted(maps.Keys(set)), nil
}

// Keys lists the message keys of lang, sorted.
func (c *Catalog) Keys(lang Lang) []string {
	lc := c.langs[lang]
	if lc == nil {
		return nil
	}
	return slices.Sorted(maps.Keys(lc.messages))
}

// Args lists the template arguments of a message of lang, sorted
// (["Name"] for "Hola, {{.Name}}"); ok is false for an unknown key.
func (c *Catalog) Args(lang Lang, key string) (args []string, ok bool) {
	lc := c.langs[lang]
	if lc == nil {
		return nil, false
	}
	f, ok := lc.fields[key]
	return slices.Clone(f), ok
}

// Plural reports whether a message of lang has plural forms (is used with
// [Localizer.N]); ok is false for an unknown key.
func (c *Catalog) Plural(lang Lang, key string) (plural, ok bool) {
	lc := c.langs[lang]
	if lc == nil {
		return false, false
	}
	m, ok := lc.messages[key]
	if !ok {
		return false, false
	}
	return m.One != "" || m.Few != "" || m.Two != "" || m.Zero != "", true
}

// ErrUnknownKey is returned for a message key that is not in the catalog of
// the language asked.
var ErrUnknownKey = errors.New("i18n: unknown message key")

// localize renders key in lang with data; count is nil for a plain
// message.
func (c *Catalog) localize(lang Lang, key string, data map[string]any, count any) (string, error) {
	lc := c.langs[lang]
	if lc == nil {
		return "", fmt.Errorf("i18n: unknown language %q", lang)
	}
	m, ok := lc.messages[key]
	if !ok {
		return "", fmt.Errorf("%w %q (%s)", ErrUnknownKey, key, lang)
	}
	isPlural := m.One != ""
	if isPlural != (count != nil) {
		if isPlural {
			return "", fmt.Errorf("i18n: %s is a plural message: use N with a count", key)
		}
		return "", fmt.Errorf("i18n: %s is not a plural message: use T", key)
	}
	for _, f := range lc.fields[key] {
		if _, ok := data[f]; !ok {
			return "", fmt.Errorf("i18n: %s needs the argument %s", key, f)
		}
	}
	s, err := lc.loc.Localize(&goi18n.LocalizeConfig{MessageID: key, TemplateData: data, PluralCount: count})
	if err != nil {
		return "", fmt.Errorf("i18n: %s (%s): %w", key, lang, err)
	}
	return s, nil
}

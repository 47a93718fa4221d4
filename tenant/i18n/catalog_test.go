package i18n

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/BurntSushi/toml"
)

func mustCatalog(t *testing.T) *Catalog {
	t.Helper()
	c, err := NewCatalog()
	if err != nil {
		t.Fatalf("NewCatalog: %v", err)
	}
	return c
}

// catalogProblems lists where the languages of c disagree: a key in one
// and not another, different template arguments, plural in one only.
func catalogProblems(c *Catalog) []string {
	var probs []string
	base := Langs()[0]
	for _, l := range Langs()[1:] {
		a, b := c.Keys(base), c.Keys(l)
		for _, k := range a {
			if !slices.Contains(b, k) {
				probs = append(probs, fmt.Sprintf("%s: in %s, not in %s", k, base, l))
			}
		}
		for _, k := range b {
			if !slices.Contains(a, k) {
				probs = append(probs, fmt.Sprintf("%s: in %s, not in %s", k, l, base))
			}
		}
		for _, k := range a {
			if !slices.Contains(b, k) {
				continue
			}
			argsA, _ := c.Args(base, k)
			argsB, _ := c.Args(l, k)
			if !slices.Equal(argsA, argsB) {
				probs = append(probs, fmt.Sprintf("%s: arguments %v in %s, %v in %s", k, argsA, base, argsB, l))
			}
			pa, _ := c.Plural(base, k)
			pb, _ := c.Plural(l, k)
			if pa != pb {
				probs = append(probs, fmt.Sprintf("%s: plural %v in %s, %v in %s", k, pa, base, pb, l))
			}
		}
	}
	return probs
}

func TestCatalogsAgree(t *testing.T) {
	t.Parallel()
	c := mustCatalog(t)
	for _, p := range catalogProblems(c) {
		t.Error(p)
	}
	if n := len(c.Keys(Spanish)); n < 100 {
		t.Errorf("%d keys in es: the catalogs did not load whole", n)
	}
}

// The agreement check itself finds each kind of disagreement.
func TestCatalogProblemsFound(t *testing.T) {
	t.Parallel()
	fsys := fstest.MapFS{
		"locales/es.toml": {Data: []byte(`
a = "uno"
b = "Hola, {{.Name}}"
c = "tres"
[d]
one = "{{.Count}} cosa"
other = "{{.Count}} cosas"
`)},
		"locales/en.toml": {Data: []byte(`
a = "one"
b = "Hello, {{.User}}"
d = "things"
e = "extra"
`)},
	}
	c, err := LoadCatalog(fsys)
	if err != nil {
		t.Fatalf("LoadCatalog: %v", err)
	}
	got := strings.Join(catalogProblems(c), "\n")
	for _, want := range []string{"c: in es, not in en", "e: in en, not in es", "b: arguments [Name] in es, [User] in en", "d: plural true in es, false in en"} {
		if !strings.Contains(got, want) {
			t.Errorf("problems %q lack %q", got, want)
		}
	}
}

// flatKeys are the message keys of a TOML catalog read without go-i18n:
// dotted table paths down to a string or a table of plural forms.
func flatKeys(t *testing.T, prefix string, m map[string]any, out map[string]bool) {
	t.Helper()
	forms := map[string]bool{"zero": true, "one": true, "two": true, "few": true, "many": true, "other": true}
	for k, v := range m {
		key := prefix + k
		switch v := v.(type) {
		case string:
			out[key] = true
		case map[string]any:
			plural := len(v) > 0
			for f := range v {
				plural = plural && forms[f]
			}
			if plural {
				out[key] = true
			} else {
				flatKeys(t, key+".", v, out)
			}
		default:
			t.Errorf("%s: %T, want a string or a table", key, v)
		}
	}
}

// go-i18n takes a leaf named like a reserved word (description, id, hash,
// …) as a field of its table's message: the keys it loaded must be the
// keys the files spell.
func TestCatalogKeysAsWritten(t *testing.T) {
	t.Parallel()
	c := mustCatalog(t)
	for _, l := range Langs() {
		want := map[string]bool{}
		for _, path := range catalogFiles(embedded, l) {
			buf, err := fs.ReadFile(embedded, path)
			if err != nil {
				t.Fatal(err)
			}
			var raw map[string]any
			if err := toml.Unmarshal(buf, &raw); err != nil {
				t.Fatal(err)
			}
			flatKeys(t, "", raw, want)
		}
		if got := c.Keys(l); !slices.Equal(got, slices.Sorted(maps.Keys(want))) {
			t.Errorf("%s: go-i18n loaded %d keys, the file has %d: %v vs %v", l, len(got), len(want), got, slices.Sorted(maps.Keys(want)))
		}
	}
}

// The strings the first screens need (issue 14) are all there.
func TestCatalogHasFirstScreens(t *testing.T) {
	t.Parallel()
	c := mustCatalog(t)
	need := []string{
		"login.title", "login.username", "login.password", "login.submit", "login.invalid_credentials",
		"login.account_locked", "login.too_many_attempts", "login.session_expired",
		"password_change.current", "password_change.new", "password_change.repeat", "password_change.rule_length",
		"password_change.rule_not_common", "password_change.mismatch", "password_change.done",
		"password_reset.request_title", "password_reset.request_sent", "password_reset.confirm_title", "password_reset.token_invalid",
		"logout.submit", "home.restaurant.heading", "home.institution.heading",
		"nav.users", "nav.sessions", "nav.audit", "nav.branches", "nav.menu", "nav.orders", "nav.reservations", "nav.customers",
		"nav.periods", "nav.programs", "nav.groups", "nav.teachers", "nav.teaching_loads", "nav.tutoring", "nav.prefecture",
		"nav.backups", "nav.tenants",
		"action.save", "action.cancel", "action.delete", "action.edit", "action.create", "action.search",
		"action.next_page", "action.previous_page", "delete.confirm_title", "delete.also_deletes", "delete.blocked",
		"count.teaching_loads", "validation.required", "validation.too_long", "lang.en", "lang.es",
	}
	for _, l := range Langs() {
		for _, k := range need {
			if _, ok := c.Args(l, k); !ok {
				t.Errorf("%s: no %s", l, k)
			}
		}
	}
}

// Every message renders in every language with its arguments, and says
// something: no empty text, no "<no value>", no template left over.
func TestEveryMessageRenders(t *testing.T) {
	t.Parallel()
	c := mustCatalog(t)
	loc, err := NewLocale("es-CL", "", "America/Santiago")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range Langs() {
		z := c.Localizer(l, loc)
		for _, k := range c.Keys(l) {
			args, _ := c.Args(l, k)
			var kv []any
			for _, a := range args {
				if a != "Count" {
					kv = append(kv, a, "«"+a+"»")
				}
			}
			plural, _ := c.Plural(l, k)
			for _, n := range []int{0, 1, 2, 1000000} {
				var s string
				var err error
				if plural {
					s, err = z.N(k, n, kv...)
				} else {
					s, err = z.T(k, kv...)
				}
				if err != nil || strings.TrimSpace(s) == "" || strings.Contains(s, "<no value>") || strings.Contains(s, "{{") {
					t.Errorf("%s %s (%d): %q, %v", l, k, n, s, err)
				}
				for _, a := range args {
					if a != "Count" && !strings.Contains(s, "«"+a+"»") {
						t.Errorf("%s %s: %q lacks argument %s", l, k, s, a)
					}
				}
				if !plural {
					break
				}
			}
		}
	}
}

func TestLocalize(t *testing.T) {
	t.Parallel()
	c := mustCatalog(t)
	cl, _ := NewLocale("es-CL", "", "America/Santiago")
	mx, _ := NewLocale("es-MX", "", "America/Mexico_City")
	us, _ := NewLocale("en-US", "", "America/New_York")
	es, en, esMX, enCL := c.Localizer(Spanish, cl), c.Localizer(English, us), c.Localizer(Spanish, mx), c.Localizer(English, cl)
	tests := []struct {
		z     *Localizer
		key   string
		count int // -1: T
		args  []any
		want  string
	}{
		{es, "login.title", -1, nil, "Iniciar sesión"},
		{en, "login.title", -1, nil, "Sign in"},
		{es, "home.welcome", -1, []any{"Name", "Ana"}, "Hola, Ana"},
		{en, "home.welcome", -1, []any{"Name", "Ana"}, "Hello, Ana"},
		{es, "pagination.page_of", -1, []any{"Page", 2, "Pages", 7}, "Página 2 de 7"},
		{es, "count.teaching_loads", 1, nil, "1 carga docente"},
		{es, "count.teaching_loads", 3, nil, "3 cargas docentes"},
		{es, "count.teaching_loads", 0, nil, "0 cargas docentes"},
		{es, "count.teaching_loads", 1000000, nil, "1.000.000 cargas docentes"}, // CLDR "many"
		{esMX, "count.teaching_loads", 1234, nil, "1,234 cargas docentes"},
		{en, "count.teaching_loads", 1, nil, "1 teaching load"},
		{en, "count.teaching_loads", 0, nil, "0 teaching loads"},
		{enCL, "count.teaching_loads", 1234, nil, "1.234 teaching loads"}, // the tenant's numbers
		{en, "delete.cascade_total", 12, nil, "This will also delete 12 related records."},
		{es, "delete.cascade_total", 1, nil, "Esto también eliminará 1 registro relacionado."},
		{en, "password_change.rule_length", 12, nil, "Be at least 12 characters long."},
		{es, "password_change.rule_length", 12, nil, "Tener al menos 12 caracteres."},
		{es, "lang.en", -1, nil, "English"},
		{en, "lang.es", -1, nil, "Español"},
	}
	// Counts of any integer type: the database's int64, a uint8.
	for _, n := range []any{int64(3), int32(3), uint8(3), uint64(3)} {
		if got, err := es.N("count.orders", n); err != nil || got != "3 pedidos" {
			t.Errorf("N(count.orders, %T 3) = %q, %v", n, got, err)
		}
	}
	for _, tt := range tests {
		var got string
		var err error
		if tt.count < 0 {
			got, err = tt.z.T(tt.key, tt.args...)
		} else {
			got, err = tt.z.N(tt.key, tt.count, tt.args...)
		}
		if err != nil || got != tt.want {
			t.Errorf("%s %s %d %v: %q, %v; want %q", tt.z.Lang(), tt.key, tt.count, tt.args, got, err, tt.want)
		}
	}
}

func TestLocalizeErrors(t *testing.T) {
	t.Parallel()
	c := mustCatalog(t)
	z := c.Localizer(English, Locale{})
	if _, err := z.T("login.no_such_key"); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("unknown key: %v, want ErrUnknownKey", err)
	}
	for name, f := range map[string]func() (string, error){
		"missing argument": func() (string, error) { return z.T("home.welcome") },
		"other argument":   func() (string, error) { return z.T("home.welcome", "User", "x") },
		"odd arguments":    func() (string, error) { return z.T("home.welcome", "Name") },
		"name not string":  func() (string, error) { return z.T("home.welcome", 1, "x") },
		"T of a plural":    func() (string, error) { return z.T("count.orders") },
		"N of a plain":     func() (string, error) { return z.N("login.title", 2) },
		"float count":      func() (string, error) { return z.N("count.orders", 2.5) },
		"string count":     func() (string, error) { return z.N("count.orders", "2") },
		"nil count":        func() (string, error) { return z.N("count.orders", nil) },
		"huge uint count":  func() (string, error) { return z.N("count.orders", uint64(1<<63)) },
	} {
		if s, err := f(); err == nil {
			t.Errorf("%s: %q, want an error", name, s)
		}
	}
	if z.Lang() != English || c.Localizer("fr", Locale{}).Lang() != Spanish {
		t.Errorf("languages %s, %s", z.Lang(), c.Localizer("fr", Locale{}).Lang())
	}
}

func TestLoadCatalogErrors(t *testing.T) {
	t.Parallel()
	good := []byte(`a = "x"`)
	for name, es := range map[string][]byte{
		"bad toml":       []byte(`a = `),
		"bad template":   []byte(`a = "Hola {{.Name"`),
		"a function":     []byte(`a = "{{printf \"%d\" .Count}}"`),
		"a nested field": []byte(`a = "{{.User.Name}}"`),
		"an if":          []byte(`a = "{{if .X}}y{{end}}"`),
		"mixed plural":   []byte("[a]\none = \"x\"\nfoo = \"y\""),
		"not a catalog":  []byte(`"just a string"`),
	} {
		if _, err := LoadCatalog(fstest.MapFS{"locales/es.toml": {Data: es}, "locales/en.toml": {Data: good}}); err == nil {
			t.Errorf("%s: loaded, want an error", name)
		}
	}
	if _, err := LoadCatalog(fstest.MapFS{"locales/es.toml": {Data: good}}); err == nil {
		t.Error("no en.toml: loaded, want an error")
	}
	if _, err := LoadCatalog(fstest.MapFS{"locales/es.toml": {Data: good}, "locales/en.toml": {Data: good},
		"locales/area.es.toml": {Data: good}, "locales/area.en.toml": {Data: []byte(`b = "y"`)}}); err == nil {
		t.Error("a key in two files: loaded, want an error")
	}
	if _, err := LoadCatalog(fstest.MapFS{"locales/es.toml": {Data: good}, "locales/en.toml": {Data: good},
		"locales/area.es.toml": {Data: []byte(`b = "y"`)}, "locales/area.en.toml": {Data: []byte(`b = "{{.X"`)}}); err == nil {
		t.Error("a bad area file: loaded, want an error")
	}
}

// An area's file adds its keys to its language.
func TestLoadCatalogAreas(t *testing.T) {
	t.Parallel()
	c, err := LoadCatalog(fstest.MapFS{
		"locales/es.toml": {Data: []byte(`a = "uno"`)}, "locales/en.toml": {Data: []byte(`a = "one"`)},
		"locales/board.es.toml": {Data: []byte(`b = "dos"`)}, "locales/board.en.toml": {Data: []byte(`b = "two"`)},
	})
	if err != nil {
		t.Fatalf("LoadCatalog: %v", err)
	}
	for l, want := range map[Lang]string{Spanish: "dos", English: "two"} {
		if got, err := c.Localizer(l, Locale{}).T("b"); err != nil || got != want || !slices.Equal(c.Keys(l), []string{"a", "b"}) {
			t.Errorf("%s: b = %q, %v, keys %v", l, got, err, c.Keys(l))
		}
	}
}

// The way the console uses it: the Localizer in the page data, its
// methods called from html/template, which escapes what they return; an
// unknown key stops the page.
func TestInTemplate(t *testing.T) {
	t.Parallel()
	c := mustCatalog(t)
	loc, err := NewLocale("", "", "America/Santiago")
	if err != nil {
		t.Fatal(err)
	}
	page := template.Must(template.New("p").Parse(`<html lang="{{.L.Lang}}"><h1>{{.L.T "login.title"}}</h1><p>{{.L.T "home.welcome" "Name" .Name}}</p><li>{{.L.N "count.groups" .Groups}}</li><td>{{.L.Money .Price}}</td>`))
	var b bytes.Buffer
	if err := page.Execute(&b, map[string]any{"L": c.Localizer(Spanish, loc), "Name": "<b>Ana</b>", "Groups": int64(2), "Price": int64(1299000)}); err != nil {
		t.Fatal(err)
	}
	want := `<html lang="es"><h1>Iniciar sesión</h1><p>Hola, &lt;b&gt;Ana&lt;/b&gt;</p><li>2 grupos</li><td>$12.990</td>`
	if b.String() != want {
		t.Errorf("page\n%s\nwant\n%s", b.String(), want)
	}
	bad := template.Must(template.New("p").Parse(`{{.L.T "login.titel"}}`))
	if err := bad.Execute(&bytes.Buffer{}, map[string]any{"L": c.Localizer(English, loc)}); err == nil || !strings.Contains(err.Error(), "login.titel") {
		t.Errorf("unknown key in a page: %v, want an error naming it", err)
	}
}

// One Catalog serves many requests at once (run with -race).
func TestConcurrentLocalize(t *testing.T) {
	t.Parallel()
	c := mustCatalog(t)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Go(func() {
			z := c.Localizer(Langs()[i%2], Locale{})
			for n := range 50 {
				if _, err := z.N("count.orders", n); err != nil {
					errs <- err
					return
				}
				if _, err := z.T("home.welcome", "Name", "x"); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

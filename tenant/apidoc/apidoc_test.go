package apidoc_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/apidoc"
	"github.com/tenancy/platform/tenant/domaintest"
	"github.com/tenancy/platform/tenant/institution"
	"github.com/tenancy/platform/tenant/resource/resourcehttp"
	"github.com/tenancy/platform/tenant/restaurant"
)

// mounts are the routes of the tests' harness: both kinds' APIs, the
// generator's own test specs and the document's route.
var mounts = []domaintest.Mount{restaurant.Mount, institution.Mount, testMount, apidoc.Mount}

// harness is one router with every route mounted, the documents of both
// kinds and a tenant of each.
type harness struct {
	h    *domaintest.Harness
	docs map[tenant.Kind][]byte
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := domaintest.New(t, mounts...)
	hs := &harness{h: h, docs: map[tenant.Kind][]byte{}}
	for _, k := range tenant.Kinds {
		b, err := apidoc.Document(k, h.API, apidoc.Identity())
		if err != nil {
			t.Fatalf("document of %s: %v", k, err)
		}
		hs.docs[k] = b
	}
	return hs
}

// doc is a document decoded for inspection.
type doc struct {
	raw   []byte
	tree  map[string]any
	paths map[string]map[string]map[string]any // path → method → operation
}

func decode(t *testing.T, b []byte) doc {
	t.Helper()
	d := doc{raw: b}
	if err := json.Unmarshal(b, &d.tree); err != nil {
		t.Fatalf("document is not JSON: %v", err)
	}
	var p struct {
		Paths map[string]map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatalf("paths: %v", err)
	}
	d.paths = p.Paths
	return d
}

// fiberToOpenAPI turns /api/users/:id into /api/users/{id}.
var fiberParam = regexp.MustCompile(`:([A-Za-z0-9_]+)`)

func fiberToOpenAPI(p string) string { return fiberParam.ReplaceAllString(p, "{$1}") }

// TestEveryRouteDocumented: every route the app serves under /api is in
// its kind's document, and every documented route is served; the other
// kind's routes are in neither direction.
func TestEveryRouteDocumented(t *testing.T) {
	t.Parallel()
	hs := newHarness(t)
	served := map[string]bool{} // "GET /api/users/{id}"
	for _, r := range hs.h.App.GetRoutes(true) {
		if r.Method == fiber.MethodHead || r.Method == fiber.MethodConnect || r.Method == fiber.MethodTrace ||
			r.Method == "USE" || !strings.HasPrefix(r.Path, "/api/") {
			continue
		}
		served[r.Method+" "+fiberToOpenAPI(r.Path)] = true
	}
	if len(served) < 20 {
		t.Fatalf("only %d routes served under /api: %v", len(served), served)
	}
	of := map[string]tenant.Kind{} // a kind's own route → its kind
	for _, rt := range hs.h.API.Routes() {
		of[rt.Method+" "+rt.Path] = rt.Kind
	}
	for _, k := range tenant.Kinds {
		d := decode(t, hs.docs[k])
		documented := map[string]bool{}
		for path, ops := range d.paths {
			for m := range ops {
				documented[strings.ToUpper(m)+" "+path] = true
			}
		}
		for r := range served {
			kind, own := of[r]
			switch {
			case own && kind != k:
				if documented[r] {
					t.Errorf("%s: documents %s of %s", k, r, kind)
				}
			case !documented[r]:
				t.Errorf("%s: %s is served but not documented", k, r)
			}
		}
		for r := range documented {
			if !served[r] {
				t.Errorf("%s: %s is documented but not served", k, r)
			}
		}
		for _, want := range []string{"POST /api/auth/login", "GET /api/audit", "DELETE /api/sessions/{id}", "GET " + apidoc.Path} {
			if !documented[want] {
				t.Errorf("%s: %s not documented", k, want)
			}
		}
	}
}

// schemaCompiler has the document as a resource, so that a $ref into its
// components resolves; formats are asserted (date, date-time, email).
func schemaCompiler(t *testing.T, b []byte) *jsonschema.Compiler {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	if err := c.AddResource(docURL, v); err != nil {
		t.Fatal(err)
	}
	return c
}

const docURL = "https://tenant.example/api/openapi.json"

// pointer escapes a JSON pointer token.
func pointer(tokens ...string) string {
	var sb strings.Builder
	for _, tk := range tokens {
		sb.WriteString("/" + strings.NewReplacer("~", "~0", "/", "~1").Replace(tk))
	}
	return sb.String()
}

func instance(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return inst
}

// TestExamplesValidate: every operation with a request body has an
// example, and the example validates against the body's schema; a wrong
// example does not (the check can fail).
func TestExamplesValidate(t *testing.T) {
	t.Parallel()
	hs := newHarness(t)
	for _, k := range tenant.Kinds {
		d := decode(t, hs.docs[k])
		c := schemaCompiler(t, hs.docs[k])
		bodies := 0
		for path, ops := range d.paths {
			for m, op := range ops {
				rb, ok := op["requestBody"].(map[string]any)
				if !ok {
					continue
				}
				bodies++
				name := fmt.Sprintf("%s %s %s", k, strings.ToUpper(m), path)
				media, _ := rb["content"].(map[string]any)["application/json"].(map[string]any)
				ex, ok := media["example"]
				if !ok {
					t.Errorf("%s: no example request", name)
					continue
				}
				sch, err := c.Compile(docURL + "#" + pointer("paths", path, m, "requestBody", "content", "application/json", "schema"))
				if err != nil {
					t.Errorf("%s: schema: %v", name, err)
					continue
				}
				if err := sch.Validate(instance(t, ex)); err != nil {
					t.Errorf("%s: example %v: %v", name, ex, err)
				}
				// Request bodies are strict: an unknown field is refused.
				if obj, ok := ex.(map[string]any); ok {
					bad := map[string]any{"no_such_field": 1}
					for key, v := range obj {
						bad[key] = v
					}
					if sch.Validate(instance(t, bad)) == nil {
						t.Errorf("%s: an unknown field validates", name)
					}
				}
			}
		}
		if bodies < 8 {
			t.Errorf("%s: only %d operations with a body", k, bodies)
		}
		// The fields' examples shown in the schemas are valid values too.
		schemas, _ := d.tree["components"].(map[string]any)["schemas"].(map[string]any)
		checked := 0
		for name, sc := range schemas {
			props, _ := sc.(map[string]any)["properties"].(map[string]any)
			for field, ps := range props {
				exs, _ := ps.(map[string]any)["examples"].([]any)
				if len(exs) == 0 {
					continue
				}
				sch, err := c.Compile(docURL + "#" + pointer("components", "schemas", name, "properties", field))
				if err != nil {
					t.Errorf("%s: %s.%s: %v", k, name, field, err)
					continue
				}
				for _, ex := range exs {
					checked++
					if err := sch.Validate(instance(t, ex)); err != nil {
						t.Errorf("%s: %s.%s example %v: %v", k, name, field, ex, err)
					}
				}
			}
		}
		if checked == 0 {
			t.Errorf("%s: no field examples checked", k)
		}
	}
}

// TestOpenAPI31: the document validates against the OpenAPI 3.1 schema
// (testdata, from the OpenAPI Initiative), every $ref resolves, every path
// parameter is declared, operation ids are unique and every component
// schema is a valid JSON Schema 2020-12 schema.
func TestOpenAPI31(t *testing.T) {
	t.Parallel()
	hs := newHarness(t)
	oas, err := os.ReadFile("testdata/oas-3.1-schema.json")
	if err != nil {
		t.Fatal(err)
	}
	ov, err := jsonschema.UnmarshalJSON(bytes.NewReader(oas))
	if err != nil {
		t.Fatal(err)
	}
	oc := jsonschema.NewCompiler()
	if err := oc.AddResource("oas-3.1-schema.json", ov); err != nil {
		t.Fatal(err)
	}
	meta, err := oc.Compile("oas-3.1-schema.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range tenant.Kinds {
		b := hs.docs[k]
		d := decode(t, b)
		if err := meta.Validate(instance(t, d.tree)); err != nil {
			t.Errorf("%s: not OpenAPI 3.1: %v", k, err)
		}
		if d.tree["openapi"] != "3.1.0" {
			t.Errorf("%s: openapi %v", k, d.tree["openapi"])
		}
		// Every $ref resolves.
		var refs []string
		collectRefs(d.tree, &refs)
		if len(refs) == 0 {
			t.Fatalf("%s: no $ref at all", k)
		}
		for _, r := range refs {
			if !strings.HasPrefix(r, "#/") || resolve(d.tree, r) == nil {
				t.Errorf("%s: $ref %s does not resolve", k, r)
			}
		}
		// Path parameters declared, operation ids unique.
		ids := map[string]string{}
		for path, ops := range d.paths {
			want := pathParams(path)
			for m, op := range ops {
				name := strings.ToUpper(m) + " " + path
				id, _ := op["operationId"].(string)
				if prev, dup := ids[id]; dup || id == "" {
					t.Errorf("%s: operationId %q of %s (also %s)", k, id, name, prev)
				}
				ids[id] = name
				var got []string
				ps, _ := op["parameters"].([]any)
				for _, p := range ps {
					pm, _ := p.(map[string]any)
					if r, ok := pm["$ref"].(string); ok {
						pm, _ = resolve(d.tree, r).(map[string]any)
					}
					if pm["in"] == "path" {
						if pm["required"] != true {
							t.Errorf("%s: %s: path parameter %v not required", k, name, pm["name"])
						}
						got = append(got, pm["name"].(string))
					}
				}
				sort.Strings(got)
				if !slices.Equal(got, want) {
					t.Errorf("%s: %s declares path parameters %v, want %v", k, name, got, want)
				}
				if rs, _ := op["responses"].(map[string]any); len(rs) < 2 {
					t.Errorf("%s: %s: responses %v", k, name, rs)
				}
			}
		}
		// Component schemas compile (the compiler checks each against the
		// 2020-12 meta-schema).
		c := schemaCompiler(t, b)
		schemas, _ := d.tree["components"].(map[string]any)["schemas"].(map[string]any)
		for name := range schemas {
			if _, err := c.Compile(docURL + "#" + pointer("components", "schemas", name)); err != nil {
				t.Errorf("%s: schema %s: %v", k, name, err)
			}
		}
	}
	// The check can fail: a broken document is refused.
	var broken map[string]any
	if err := json.Unmarshal(hs.docs[tenant.Restaurant], &broken); err != nil {
		t.Fatal(err)
	}
	broken["openapi"] = "3.0.3"
	delete(broken, "info")
	if meta.Validate(instance(t, broken)) == nil {
		t.Error("a document without info, of OpenAPI 3.0.3, validates")
	}
}

var braces = regexp.MustCompile(`\{([^}/]+)\}`)

func pathParams(path string) []string {
	out := []string{}
	for _, m := range braces.FindAllStringSubmatch(path, -1) {
		out = append(out, m[1])
	}
	sort.Strings(out)
	return out
}

func collectRefs(v any, out *[]string) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if s, ok := x.(string); ok && k == "$ref" {
				*out = append(*out, s)
				continue
			}
			collectRefs(x, out)
		}
	case []any:
		for _, x := range v {
			collectRefs(x, out)
		}
	}
}

// resolve follows a local JSON pointer ("#/components/schemas/X").
func resolve(root any, ref string) any {
	cur := root
	for _, tk := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
		tk = strings.NewReplacer("~1", "/", "~0", "~").Replace(tk)
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		if cur, ok = m[tk]; !ok {
			return nil
		}
	}
	return cur
}

// TestServe: GET /api/openapi.json answers every tenant without
// authentication with its own kind's document, the bytes Document
// builds, cached (the same on a second request).
func TestServe(t *testing.T) {
	t.Parallel()
	hs := newHarness(t)
	got := map[tenant.Kind][]byte{}
	for _, k := range tenant.Kinds {
		tn := hs.h.Tenant(t, k)
		c := hs.h.Client(t, tn)
		r := c.Do("GET", apidoc.Path, nil).Want(t, 200, "")
		if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			t.Errorf("%s: Content-Type %q", k, r.Header.Get("Content-Type"))
		}
		if !bytes.Equal(r.Raw, hs.docs[k]) {
			t.Errorf("%s: served document differs from Document's", k)
		}
		if again := c.Do("GET", apidoc.Path, nil).Want(t, 200, ""); !bytes.Equal(again.Raw, r.Raw) {
			t.Errorf("%s: a second request gets another document", k)
		}
		info, _ := r.Body["info"].(map[string]any)
		if title, _ := info["title"].(string); !strings.Contains(title, string(k)) {
			t.Errorf("%s: title %q", k, title)
		}
		got[k] = r.Raw
	}
	if bytes.Equal(got[tenant.Restaurant], got[tenant.Institution]) {
		t.Fatal("both kinds get the same document")
	}
	// Each has its own kind's resources and not the other's.
	for _, rt := range hs.h.API.Routes() {
		for _, k := range tenant.Kinds {
			has := decode(t, got[k]).paths[rt.Path][strings.ToLower(rt.Method)] != nil
			if has != (rt.Kind == k) {
				t.Errorf("%s document: %s %s of %s present=%v", k, rt.Method, rt.Path, rt.Kind, has)
			}
		}
	}
}

// TestUnknownKind: no document for a kind that does not exist.
func TestUnknownKind(t *testing.T) {
	t.Parallel()
	if _, err := apidoc.Document("bakery", resourcehttp.New(resourcehttp.Config{}), nil); err == nil {
		t.Fatal("a document for kind bakery")
	}
}

package apidoc_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/apidoc"
	"github.com/tenancy/platform/tenant/resource/resourcehttp"
)

// bareDocs documents the test specs alone, without a harness: an API
// whose middleware is never run.
func bareDocs(t *testing.T) map[tenant.Kind]map[string]any {
	t.Helper()
	pass := func(c *fiber.Ctx) error { return c.Next() }
	api := resourcehttp.New(resourcehttp.Config{Authenticate: pass, Require: func(string) fiber.Handler { return pass }})
	testMount(api, fiber.New())
	out := map[tenant.Kind]map[string]any{}
	for _, k := range tenant.Kinds {
		b, err := apidoc.Document(k, api, apidoc.Identity())
		if err != nil {
			t.Fatal(err)
		}
		var d map[string]any
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatal(err)
		}
		out[k] = d
	}
	return out
}

// at follows keys into a decoded document.
func at(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// TestFieldSchemas: each field type maps to its JSON Schema, nullable
// adds null, and the row, create and update schemas differ as the spec's
// rules say.
func TestFieldSchemas(t *testing.T) {
	t.Parallel()
	d := bareDocs(t)[tenant.Restaurant]
	sch := at(d, "components", "schemas")
	prop := func(schema, field string) map[string]any {
		m, _ := at(sch, schema, "properties", field).(map[string]any)
		return m
	}
	for _, c := range []struct {
		schema, field, key string
		want               any
	}{
		{"DoctestItem", "name", "type", "string"},
		{"DoctestItem", "name", "maxLength", 200.0},
		{"DoctestCategory", "name", "maxLength", 80.0},
		{"DoctestItem", "description", "maxLength", 10000.0},
		{"DoctestItem", "description", "type", []any{"string", "null"}},
		{"DoctestItem", "price_cents", "type", "integer"},
		{"DoctestItem", "price_cents", "minimum", 0.0},
		{"DoctestItem", "category_id", "type", "integer"},
		{"DoctestItem", "category_id", "minimum", 1.0},
		{"DoctestItem", "contact", "format", "email"},
		{"DoctestItem", "phone", "pattern", `^\+?[0-9 ()./-]{6,30}$`},
		{"DoctestItem", "size", "enum", []any{"small", "large", nil}},
		{"DoctestItem", "extra", "type", []any{"object", "null"}},
		{"DoctestItem", "created_by", "readOnly", true},
		{"DoctestCategory", "active", "type", "boolean"},
		{"DoctestCategory", "active", "default", true},
		{"DoctestCategory", "position", "minimum", 0.0},
		{"DoctestCategory", "created_at", "format", "date-time"},
		{"DoctestCategory", "id", "readOnly", true},
		{"DoctestItemCreate", "price_cents", "examples", []any{3500.0}},
	} {
		if got := prop(c.schema, c.field)[c.key]; !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s.%s %s = %#v, want %#v", c.schema, c.field, c.key, got, c.want)
		}
	}
	inst := bareDocs(t)[tenant.Institution]
	if got := at(inst, "components", "schemas", "DoctestPeriod", "properties", "starts_on", "format"); got != "date" {
		t.Errorf("date field format %v", got)
	}
	// Create: writable fields, the required ones demanded; update: what
	// may change, nothing demanded, something given.
	if got := at(sch, "DoctestItemCreate", "required"); !reflect.DeepEqual(got, []any{"category_id", "name", "price_cents"}) {
		t.Errorf("create required %v", got)
	}
	for _, f := range []string{"id", "created_by"} {
		if prop("DoctestItemCreate", f) != nil || prop("DoctestItemUpdate", f) != nil {
			t.Errorf("%s is writable", f)
		}
	}
	if prop("DoctestItemUpdate", "category_id") != nil || prop("DoctestItemCreate", "category_id") == nil {
		t.Error("an immutable field: in create only")
	}
	if at(sch, "DoctestItemUpdate", "required") != nil || at(sch, "DoctestItemUpdate", "minProperties") != 1.0 {
		t.Errorf("update: required %v, minProperties %v", at(sch, "DoctestItemUpdate", "required"), at(sch, "DoctestItemUpdate", "minProperties"))
	}
	// The list's parameters: limit, cursor, each filter.
	var names []string
	for _, p := range at(d, "paths", "/api/doctest/items", "get", "parameters").([]any) {
		if n, ok := at(p, "name").(string); ok {
			names = append(names, n)
		} else {
			names = append(names, at(p, "$ref").(string))
		}
	}
	want := []string{"#/components/parameters/limit", "#/components/parameters/cursor", "category_id", "size"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("list parameters %v, want %v", names, want)
	}
	var periodParams []string
	for _, p := range at(inst, "paths", "/api/doctest/periods", "get", "parameters").([]any) {
		if n, ok := at(p, "name").(string); ok {
			periodParams = append(periodParams, n)
		}
	}
	if want := []string{"starts_on", "starts_on_from", "starts_on_to", "closed_at", "closed_at_from", "closed_at_to"}; !reflect.DeepEqual(periodParams, want) {
		t.Errorf("date/time filters %v, want %v", periodParams, want)
	}
	// A custom route: its Go body reflected (strict, pointer optional and
	// nullable), its query parameters, its example.
	op := at(inst, "paths", "/api/doctest/periods/{id}/close", "post")
	body := at(op, "requestBody", "content", "application/json")
	if r, _ := at(body, "schema", "$ref").(string); r != "#/components/schemas/CloseRequest" {
		t.Fatalf("custom request schema %v", at(body, "schema"))
	}
	cr := at(inst, "components", "schemas", "CloseRequest")
	if !reflect.DeepEqual(at(cr, "required"), []any{"reason"}) || at(cr, "additionalProperties") != false ||
		!reflect.DeepEqual(at(cr, "properties", "note", "type"), []any{"string", "null"}) {
		t.Errorf("CloseRequest %v", cr)
	}
	if !reflect.DeepEqual(at(body, "example"), map[string]any{"reason": "fin de semestre"}) {
		t.Errorf("custom example %v", at(body, "example"))
	}
	if ps, _ := at(op, "parameters").([]any); len(ps) != 2 {
		t.Errorf("custom parameters %v", at(op, "parameters"))
	}
	// Security: public routes none; writes accept the cookie with CSRF.
	if s := at(d, "paths", "/api/auth/login", "post", "security"); !reflect.DeepEqual(s, []any{}) {
		t.Errorf("login security %v", s)
	}
	if s := at(d, "paths", "/api/doctest/items", "post", "security"); !reflect.DeepEqual(s, []any{
		map[string]any{"bearer": []any{}}, map[string]any{"cookie": []any{}, "csrf": []any{}}}) {
		t.Errorf("write security %v", s)
	}
	// Statuses of a create.
	rs, _ := at(d, "paths", "/api/doctest/items", "post", "responses").(map[string]any)
	for _, st := range []string{"201", "400", "401", "403", "409", "422", "429", "503"} {
		if rs[st] == nil {
			t.Errorf("create: no %s response", st)
		}
	}
}

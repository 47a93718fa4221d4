// Package apidoc builds the OpenAPI 3.1 document of a tenant kind's API
// and serves it at GET /api/openapi.json on every tenant host: the
// resources mounted through resourcehttp (schemas generated from their
// resource.Spec), their custom routes, the identity API and the router's
// own routes. The document is built from the mounted routes themselves
// (resourcehttp.API.Routes), so it cannot forget one; the tests check it
// against the routes the Fiber app really serves.
package apidoc

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/httpx"
	"github.com/tenancy/platform/tenant/resource"
	"github.com/tenancy/platform/tenant/resource/resourcehttp"
)

// Route is a documented route outside resourcehttp (the identity API's,
// the router's, the document's own), with what a resourcehttp.Route does
// not say: whether it needs authentication, its query parameters, path
// parameters other than a numeric id, and its error answers.
type Route struct {
	resourcehttp.Route
	Public bool // no authentication (and no security requirement)
	// Params are the path parameters' schemas by name; a parameter not
	// listed is a positive integer id.
	Params map[string]Schema
	// Errors are the statuses of the error answers.
	Errors []int
	// Tag groups the route in the document ("identity" by default).
	Tag string
}

// Schema is one JSON Schema (2020-12, the OpenAPI 3.1 dialect) as a JSON
// object.
type Schema = map[string]any

// Document returns the OpenAPI 3.1 document (JSON) of kind: the routes of
// api of that kind and the extra routes (Identity(): every kind's).
func Document(kind tenant.Kind, api *resourcehttp.API, extra []Route) ([]byte, error) {
	if _, err := tenant.ParseKind(string(kind)); err != nil {
		return nil, err
	}
	b := newBuilder(kind)
	var specs []*resource.Spec
	for _, s := range api.Specs() {
		if s.Kind == kind {
			specs = append(specs, s)
		}
	}
	sort.Slice(specs, func(i, j int) bool { return specs[i].Name < specs[j].Name })
	for _, s := range specs {
		b.specSchemas(s)
	}
	for _, rt := range extra {
		if err := b.extra(rt); err != nil {
			return nil, err
		}
	}
	for _, rt := range api.Routes() {
		if rt.Kind != kind {
			continue
		}
		if err := b.resourceRoute(rt); err != nil {
			return nil, err
		}
	}
	return b.doc()
}

// builder accumulates one document.
type builder struct {
	kind    tenant.Kind
	paths   map[string]map[string]any // path → method → operation
	schemas map[string]any
	opIDs   map[string]bool
	tags    map[string]string
	goNames map[goType]string
}

func newBuilder(kind tenant.Kind) *builder {
	b := &builder{kind: kind, paths: map[string]map[string]any{}, schemas: map[string]any{},
		opIDs: map[string]bool{}, tags: map[string]string{}, goNames: map[goType]string{}}
	b.schemas["Error"] = errorSchema()
	b.schemas["DeleteResult"] = Schema{
		"type": "object", "required": []string{"deleted", "cascaded"},
		"description": "What a delete removed: the row, and how many dependents of each kind went with it (the schema's CASCADE rules).",
		"properties": Schema{
			"deleted": Schema{"type": "object", "required": []string{"resource", "id"}, "properties": Schema{
				"resource": Schema{"type": "string"}, "id": Schema{"type": "integer"}}},
			"cascaded": Schema{"type": "object", "additionalProperties": Schema{"type": "integer", "minimum": 0},
				"description": "dependent resource → rows deleted with it", "examples": []any{Schema{"teaching_loads": 3}}},
		},
	}
	return b
}

// The error statuses of the operations; each is a components.responses
// entry with the error body.
var errorResponses = map[int]struct{ name, desc string }{
	400: {"BadRequest", "The request is not well formed (invalid_input): the body is not one JSON object, or not JSON. Nothing changed."},
	401: {"Unauthorized", "No valid session or token (unauthorized), or wrong credentials (invalid_credentials)."},
	403: {"Forbidden", "The user lacks the permission (forbidden), a cookie write lacks the X-CSRF-Token header, or the password must be changed first (password_change_required)."},
	404: {"NotFound", "No such row (not_found), or no such route on this tenant's kind (route_not_found)."},
	409: {"Conflict", "A duplicate (conflict), a delete the schema restricts (in_use, with details.dependents naming each dependent resource and its count), a status change the flow forbids (invalid_transition) or a capacity that would be exceeded (capacity_exceeded)."},
	422: {"ValidationFailed", "Some fields are not valid (validation_failed): error.fields has one message per field. Nothing changed."},
	423: {"Locked", "The account is locked after too many failed logins (account_locked); an administrator unlocks it."},
	429: {"RateLimited", "Too many requests (rate_limited); Retry-After says when to come back."},
	503: {"Unavailable", "The tenant is under maintenance or its database cannot be reached right now (tenant_unavailable, tenant_maintenance, capacity_exhausted, unavailable); Retry-After says when to come back."},
}

// errorCodes are every code an error body may carry.
var errorCodes = []string{
	tenant.EInvalid, tenant.ENotFound, tenant.EConflict, tenant.EUnavailable, tenant.EInternal,
	tenant.ETenantNotFound, tenant.ETenantSuspended, tenant.ETenantMaintenance, tenant.ECapacity,
	tenant.ETenantUnavailable, tenant.EUnauthenticated, tenant.EInvalidCredentials, tenant.EAccountLocked,
	tenant.EPasswordChangeRequired, tenant.EForbidden, tenant.EValidation, tenant.ERateLimited,
	tenant.EInUse, tenant.EInvalidTransition, tenant.ECapacityExceeded,
	httpx.ERouteNotFound, httpx.EMethodNotAllowed, httpx.EBodyTooLarge, httpx.EBadRequest,
	httpx.EHeadersTooLarge, httpx.ERequestTimeout,
}

func errorSchema() Schema {
	return Schema{
		"type": "object", "required": []string{"error"},
		"description": "The body of every error answer.",
		"properties": Schema{"error": Schema{
			"type": "object", "required": []string{"code", "message"},
			"properties": Schema{
				"code":       Schema{"type": "string", "enum": errorCodes, "description": "stable, snake_case"},
				"message":    Schema{"type": "string", "description": "safe to show; never an internal cause"},
				"request_id": Schema{"type": "string", "description": "quote it to support: the cause is in the log under it"},
				"fields": Schema{"type": "object", "additionalProperties": Schema{"type": "string"},
					"description": "validation_failed: field → message", "examples": []any{Schema{"name": "is required"}}},
				"details": Schema{"type": "object",
					"description": "machine-readable facts: in_use has dependents (resource → count)",
					"examples":    []any{Schema{"dependents": Schema{"teaching_loads": 2}}}},
			},
		}},
	}
}

// ref is a $ref to a component schema.
func ref(name string) Schema { return Schema{"$ref": "#/components/schemas/" + name} }

// typeName is a spec's schema name: "menu_item" → "MenuItem".
func typeName(entity string) string {
	var sb strings.Builder
	for _, w := range strings.FieldsFunc(entity, func(r rune) bool { return r == '_' || r == '-' || r == ' ' }) {
		sb.WriteString(strings.ToUpper(w[:1]) + w[1:])
	}
	return sb.String()
}

// specSchemas adds a spec's three schemas: the row, the create input and
// the update input.
func (b *builder) specSchemas(s *resource.Spec) {
	name := typeName(s.Entity)
	row := Schema{"type": "object"}
	create := Schema{"type": "object", "additionalProperties": false}
	update := Schema{"type": "object", "additionalProperties": false, "minProperties": 1}
	rowProps, createProps, updateProps := Schema{}, Schema{}, Schema{}
	var rowReq, createReq []string
	for i := range s.Fields {
		f := &s.Fields[i]
		fs := fieldSchema(f)
		rp := copySchema(fs)
		if f.ReadOnly || f.ByUser {
			rp["readOnly"] = true
		}
		rowProps[f.Name] = rp
		rowReq = append(rowReq, f.Name)
		if f.ReadOnly || f.ByUser {
			continue
		}
		createProps[f.Name] = fs
		if f.Required {
			createReq = append(createReq, f.Name)
		}
		if !f.Immutable {
			updateProps[f.Name] = fs
		}
	}
	row["properties"], row["required"] = rowProps, rowReq
	row["description"] = strings.TrimSpace(s.Doc + " A row of " + resource.Words(s.Name) + ".")
	create["properties"] = createProps
	if len(createReq) > 0 {
		create["required"] = createReq
	}
	create["description"] = "A new " + resource.Singular(s.Name) + ": the required fields, and any others to set."
	update["properties"] = updateProps
	update["description"] = "The fields to change (at least one); absent fields stay as they are."
	b.schemas[name] = row
	b.schemas[name+"Create"] = create
	b.schemas[name+"Update"] = update
	b.schemas[name+"Page"] = Schema{
		"type": "object", "required": []string{"items"},
		"properties": Schema{
			"items":       Schema{"type": "array", "items": ref(name)},
			"next_cursor": Schema{"type": "string", "description": "the cursor of the next page; absent on the last page"},
		},
	}
	doc := s.Doc
	if s.OrderDoc != "" {
		doc = strings.TrimSpace(doc + " Lists are ordered " + s.OrderDoc + ".")
	}
	b.tags[s.Name] = doc
}

func copySchema(s Schema) Schema {
	out := make(Schema, len(s))
	for k, v := range s {
		out[k] = v
	}
	return out
}

// stringMax mirrors resource's default lengths.
func stringMax(f *resource.Field) int {
	switch {
	case f.Max > 0:
		return f.Max
	case f.Name == "notes" || f.Name == "description" || f.Name == "content":
		return 10000
	}
	return 200
}

// phonePattern is resource's rule for a Phone field.
const phonePattern = `^\+?[0-9 ()./-]{6,30}$`

// fieldSchema is the schema of one field's value.
func fieldSchema(f *resource.Field) Schema {
	s := Schema{}
	var typ string
	switch f.Type {
	case resource.String, resource.Email, resource.Phone:
		typ = "string"
		s["maxLength"] = stringMax(f)
		if f.Required {
			s["minLength"] = 1
		}
		if f.Type == resource.Email {
			s["format"] = "email"
		}
		if f.Type == resource.Phone {
			s["pattern"] = phonePattern
		}
	case resource.Int:
		typ = "integer"
		if !f.ReadOnly {
			// What a write accepts; ids and computed values are bigint.
			s["minimum"], s["maximum"] = math.MinInt32, math.MaxInt32
		}
		if f.Min != nil {
			s["minimum"] = *f.Min
		}
		if f.Max > 0 {
			s["maximum"] = f.Max
		}
	case resource.Money:
		typ = "integer"
		s["minimum"], s["maximum"] = 0, math.MaxInt32
		s["description"] = "an amount in cents"
	case resource.Ref:
		typ = "integer"
		s["minimum"] = 1
		s["description"] = "the id of a " + resource.Singular(f.Ref)
	case resource.Bool:
		typ = "boolean"
	case resource.Date:
		typ, s["format"] = "string", "date"
	case resource.Time:
		typ, s["format"] = "string", "date-time"
	case resource.Enum:
		typ = "string"
		enum := make([]any, 0, len(f.Enum)+1)
		for _, e := range f.Enum {
			enum = append(enum, e)
		}
		if f.Nullable && !f.Required {
			enum = append(enum, nil)
		}
		s["enum"] = enum
	case resource.JSON:
		typ = "object"
	}
	if f.Nullable && !f.Required {
		s["type"] = []string{typ, "null"}
	} else {
		s["type"] = typ
	}
	if f.Doc != "" {
		if d, ok := s["description"].(string); ok {
			s["description"] = f.Doc + " (" + d + ")"
		} else {
			s["description"] = f.Doc
		}
	}
	if f.Default != nil {
		s["default"] = f.Default
	}
	if f.Example != nil {
		s["examples"] = []any{f.Example}
	}
	return s
}

// exampleValue is a field's example: its own, else one that its rules
// accept.
func exampleValue(f *resource.Field) any {
	if f.Example != nil {
		return f.Example
	}
	switch f.Type {
	case resource.Int:
		if f.Min != nil {
			return *f.Min
		}
		return 1
	case resource.Money:
		return 1500
	case resource.Ref:
		return 1
	case resource.Bool:
		return true
	case resource.Date:
		return "2026-03-02"
	case resource.Time:
		return "2026-03-02T20:30:00-03:00"
	case resource.Enum:
		if len(f.Enum) > 0 {
			return f.Enum[0]
		}
	case resource.JSON:
		return map[string]any{}
	case resource.Email:
		return "ana.perez@example.com"
	case resource.Phone:
		return "+56 9 1234 5678"
	}
	return "Ejemplo"
}

// createExample: every required field and every field with an example.
func createExample(s *resource.Spec) map[string]any {
	ex := map[string]any{}
	for i := range s.Fields {
		f := &s.Fields[i]
		if f.ReadOnly || f.ByUser || (!f.Required && f.Example == nil) {
			continue
		}
		ex[f.Name] = exampleValue(f)
	}
	return ex
}

// updateExample: the changeable fields with an example, else the first
// changeable field.
func updateExample(s *resource.Spec) map[string]any {
	ex := map[string]any{}
	var first *resource.Field
	for i := range s.Fields {
		f := &s.Fields[i]
		if f.ReadOnly || f.ByUser || f.Immutable {
			continue
		}
		if first == nil {
			first = f
		}
		if f.Example != nil {
			ex[f.Name] = f.Example
		}
	}
	if len(ex) == 0 && first != nil {
		ex[first.Name] = exampleValue(first)
	}
	return ex
}

// resourceRoute documents one route of api.
func (b *builder) resourceRoute(rt resourcehttp.Route) error {
	s := rt.Spec
	tag := "other"
	if s != nil {
		tag = s.Name
		if _, ok := b.tags[tag]; !ok {
			b.specSchemas(s)
		}
	}
	op := operation{method: rt.Method, path: rt.Path, summary: rt.Summary, perm: rt.Perm, tag: tag,
		status: rt.Status, query: rt.Query}
	switch rt.Op {
	case resourcehttp.OpList:
		op.query = append([]resource.Field{{Name: "limit"}, {Name: "cursor"}}, listParams(s)...)
		op.query = append(op.query, rt.Query...)
		op.response = ref(typeName(s.Entity) + "Page")
		op.errors = []int{401, 403, 422, 429, 503}
		op.desc = fmt.Sprintf("Filters are equality (`?field=value`, `null` for a nullable field); date and time fields also take `field_from` (inclusive) and `field_to` (exclusive). Pages of at most %d rows (default %d); `next_cursor` continues.", resource.MaxLimit, resource.DefaultLimit)
		if s.OrderDoc != "" {
			op.desc += " Ordered " + s.OrderDoc + "."
		}
	case resourcehttp.OpGet:
		op.response = ref(typeName(s.Entity))
		op.errors = []int{401, 403, 404, 429, 503}
	case resourcehttp.OpCreate:
		op.request, op.example = ref(typeName(s.Entity)+"Create"), createExample(s)
		op.response = ref(typeName(s.Entity))
		op.location = true
		op.errors = []int{400, 401, 403, 409, 422, 429, 503}
	case resourcehttp.OpUpdate:
		op.request, op.example = ref(typeName(s.Entity)+"Update"), updateExample(s)
		op.response = ref(typeName(s.Entity))
		op.errors = []int{400, 401, 403, 404, 409, 422, 429, 503}
	case resourcehttp.OpDelete:
		op.response = ref("DeleteResult")
		op.errors = []int{401, 403, 404, 409, 429, 503}
		if deps := dependsDoc(s); deps != "" {
			op.desc = deps
		}
	default:
		op.request, op.example = b.goSchema(rt.Request, true), rt.Example
		if op.request != nil && op.example == nil {
			op.example = rt.Request
		}
		switch {
		case rt.Response != nil:
			op.response = b.goSchema(rt.Response, false)
		case s != nil:
			op.response = ref(typeName(s.Entity))
		}
		op.errors = []int{401, 403, 409, 422, 429, 503}
		if op.request != nil {
			op.errors = append(op.errors, 400)
		}
		if strings.Contains(rt.Path, "{") {
			op.errors = append(op.errors, 404)
		}
		return b.add(op)
	}
	// A standard op served by a custom handler may name its own bodies.
	if rt.Request != nil {
		op.request, op.example = b.goSchema(rt.Request, true), rt.Example
		if op.example == nil {
			op.example = rt.Request
		}
	} else if rt.Example != nil && op.request != nil {
		op.example = rt.Example
	}
	if rt.Response != nil {
		op.response = b.goSchema(rt.Response, false)
	}
	return b.add(op)
}

// dependsDoc tells what a delete does to the rows that point at it.
func dependsDoc(s *resource.Spec) string {
	var restrict, cascade, setNull []string
	for _, d := range s.Depends {
		switch d.Action {
		case resource.Restrict:
			restrict = append(restrict, resource.Words(d.Resource))
		case resource.Cascade:
			cascade = append(cascade, resource.Words(d.Resource))
		case resource.SetNull:
			setNull = append(setNull, resource.Words(d.Resource))
		}
	}
	var parts []string
	if len(restrict) > 0 {
		parts = append(parts, "Refused with 409 in_use while "+strings.Join(restrict, ", ")+" point at it (details.dependents counts them).")
	}
	if len(cascade) > 0 {
		parts = append(parts, "Deletes its "+strings.Join(cascade, ", ")+" with it (counted in cascaded).")
	}
	if len(setNull) > 0 {
		parts = append(parts, "Its "+strings.Join(setNull, ", ")+" stay, their reference cleared.")
	}
	return strings.Join(parts, " ")
}

// listParams are a list's query parameters: limit, cursor and the filters.
func listParams(s *resource.Spec) []resource.Field {
	var out []resource.Field
	for _, f := range s.Fields {
		if !f.Filter {
			continue
		}
		eq := f
		eq.Required, eq.Doc = false, "only rows whose "+f.Name+" is this"
		if f.Nullable {
			eq.Doc += " (null: rows without one)"
		}
		out = append(out, eq)
		if f.Type == resource.Date || f.Type == resource.Time {
			from, to := f, f
			from.Name, from.Nullable, from.Required, from.Doc = f.Name+"_from", false, false, "only rows whose "+f.Name+" is at or after this"
			to.Name, to.Nullable, to.Required, to.Doc = f.Name+"_to", false, false, "only rows whose "+f.Name+" is before this"
			out = append(out, from, to)
		}
	}
	return out
}

// extra documents one route of the identity API or the router.
func (b *builder) extra(rt Route) error {
	op := operation{method: rt.Method, path: rt.Path, summary: rt.Summary, perm: rt.Perm, tag: rt.Tag,
		status: rt.Status, query: rt.Query, params: rt.Params, errors: rt.Errors, public: rt.Public,
		request: b.goSchema(rt.Request, true), example: rt.Example, response: b.goSchema(rt.Response, false)}
	if op.tag == "" {
		op.tag = "identity"
	}
	if op.request != nil && op.example == nil {
		op.example = rt.Request
	}
	return b.add(op)
}

// operation is one method of one path, before it becomes JSON.
type operation struct {
	method, path, summary, desc, perm, tag string
	status                                 int
	query                                  []resource.Field
	params                                 map[string]Schema
	request, response                      Schema
	example                                any
	errors                                 []int
	public, location                       bool
}

var pathParam = regexp.MustCompile(`\{([^}/]+)\}`)

func (b *builder) add(op operation) error {
	method := strings.ToLower(op.method)
	switch method {
	case "get", "post", "put", "patch", "delete":
	default:
		return fmt.Errorf("apidoc: %s %s: method not documented", op.method, op.path)
	}
	if b.paths[op.path] == nil {
		b.paths[op.path] = map[string]any{}
	}
	if _, dup := b.paths[op.path][method]; dup {
		return fmt.Errorf("apidoc: %s %s documented twice", op.method, op.path)
	}
	o := Schema{"operationId": b.opID(op.method, op.path), "tags": []string{op.tag}}
	if op.summary != "" {
		o["summary"] = op.summary
	}
	desc := op.desc
	if op.perm != "" {
		desc = strings.TrimSpace(desc + " Needs the `" + op.perm + "` permission.")
	}
	if desc != "" {
		o["description"] = desc
	}
	var params []any
	for _, m := range pathParam.FindAllStringSubmatch(op.path, -1) {
		ps, ok := op.params[m[1]]
		if !ok {
			ps = Schema{"type": "integer", "minimum": 1}
		}
		params = append(params, Schema{"name": m[1], "in": "path", "required": true, "schema": ps})
	}
	for i := range op.query {
		f := &op.query[i]
		switch {
		case f.Name == "limit" && f.Max == 0 && f.Doc == "":
			params = append(params, Schema{"$ref": "#/components/parameters/limit"})
			continue
		case f.Name == "cursor" && f.Doc == "":
			params = append(params, Schema{"$ref": "#/components/parameters/cursor"})
			continue
		}
		qs := fieldSchema(f)
		// A filter has no default; its words are the parameter's.
		delete(qs, "examples")
		delete(qs, "default")
		delete(qs, "description")
		if f.Nullable && f.Filter {
			// ?field=null selects rows without one.
			qs = Schema{"oneOf": []any{stripNull(qs), Schema{"const": "null"}}}
		}
		p := Schema{"name": f.Name, "in": "query", "schema": qs}
		if f.Doc != "" {
			p["description"] = f.Doc
		}
		if f.Required {
			p["required"] = true
		}
		params = append(params, p)
	}
	if len(params) > 0 {
		o["parameters"] = params
	}
	if op.request != nil {
		content := Schema{"schema": op.request}
		if op.example != nil {
			content["example"] = op.example
		}
		o["requestBody"] = Schema{"required": true, "content": Schema{"application/json": content}}
	}
	status := op.status
	if status == 0 {
		status = http.StatusOK
	}
	ok := Schema{"description": http.StatusText(status)}
	if op.response != nil && status != http.StatusNoContent {
		ok["content"] = Schema{"application/json": Schema{"schema": op.response}}
	}
	if op.location {
		ok["headers"] = Schema{"Location": Schema{"description": "the new row's path", "schema": Schema{"type": "string"}}}
	}
	responses := Schema{fmt.Sprint(status): ok}
	errs := slices.Clone(op.errors)
	slices.Sort(errs)
	for _, st := range slices.Compact(errs) {
		r, ok := errorResponses[st]
		if !ok {
			return fmt.Errorf("apidoc: %s %s: no error response %d", op.method, op.path, st)
		}
		responses[fmt.Sprint(st)] = Schema{"$ref": "#/components/responses/" + r.name}
	}
	responses["default"] = Schema{"$ref": "#/components/responses/Internal"}
	o["responses"] = responses
	switch {
	case op.public:
		o["security"] = []any{}
	case method == "get":
		o["security"] = []any{Schema{"bearer": []string{}}, Schema{"cookie": []string{}}}
	default:
		// A cookie write also needs the session's CSRF token.
		o["security"] = []any{Schema{"bearer": []string{}}, Schema{"cookie": []string{}, "csrf": []string{}}}
	}
	b.paths[op.path][method] = o
	if _, ok := b.tags[op.tag]; !ok {
		b.tags[op.tag] = ""
	}
	return nil
}

// stripNull removes null from a nullable schema's type and enum.
func stripNull(s Schema) Schema {
	out := copySchema(s)
	if t, ok := out["type"].([]string); ok && len(t) == 2 {
		out["type"] = t[0]
	}
	if e, ok := out["enum"].([]any); ok {
		out["enum"] = slices.DeleteFunc(slices.Clone(e), func(v any) bool { return v == nil })
	}
	return out
}

// opID is a unique operationId from the method and path:
// POST /api/users/{id}/unlock → postUsersIdUnlock.
func (b *builder) opID(method, path string) string {
	var sb strings.Builder
	sb.WriteString(strings.ToLower(method))
	for _, w := range strings.FieldsFunc(strings.TrimPrefix(path, "/api"), func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	}) {
		sb.WriteString(strings.ToUpper(w[:1]) + w[1:])
	}
	id := sb.String()
	for n := 2; b.opIDs[id]; n++ {
		id = fmt.Sprintf("%s%d", sb.String(), n)
	}
	b.opIDs[id] = true
	return id
}

// doc assembles the document.
func (b *builder) doc() ([]byte, error) {
	responses := Schema{"Internal": Schema{"description": "An unexpected failure (internal): the message says nothing of the cause; quote error.request_id to support.",
		"content": Schema{"application/json": Schema{"schema": ref("Error")}}}}
	for st, r := range errorResponses {
		resp := Schema{"description": r.desc, "content": Schema{"application/json": Schema{"schema": ref("Error")}}}
		if st == 429 || st == 503 {
			resp["headers"] = Schema{"Retry-After": Schema{"description": "seconds to wait", "schema": Schema{"type": "integer", "minimum": 1}}}
		}
		responses[r.name] = resp
	}
	var tags []any
	names := make([]string, 0, len(b.tags))
	for n := range b.tags {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		t := Schema{"name": n}
		if b.tags[n] != "" {
			t["description"] = b.tags[n]
		}
		tags = append(tags, t)
	}
	d := Schema{
		"openapi": "3.1.0",
		"info": Schema{
			"title":   "Tenant API (" + string(b.kind) + ")",
			"version": "1",
			"description": "The API of a " + string(b.kind) + " tenant, served on the tenant's own host. " +
				"Authenticate with POST /api/auth/login: its token goes in `Authorization: Bearer`, or the HttpOnly `session` cookie it sets is sent by the browser; " +
				"a cookie request that changes state must also send the login's csrf_token in the X-CSRF-Token header. " +
				"Errors are `{\"error\": {\"code\", \"message\", \"request_id\", \"fields\", \"details\"}}` with a stable code.",
		},
		"servers": []any{Schema{"url": "/", "description": "this tenant's host"}},
		"tags":    tags,
		"paths":   b.paths,
		"components": Schema{
			"schemas":   b.schemas,
			"responses": responses,
			"parameters": Schema{
				"limit": Schema{"name": "limit", "in": "query", "description": "rows per page",
					"schema": Schema{"type": "integer", "minimum": 1, "maximum": resource.MaxLimit, "default": resource.DefaultLimit}},
				"cursor": Schema{"name": "cursor", "in": "query", "description": "the next_cursor of the previous page",
					"schema": Schema{"type": "string"}},
			},
			"securitySchemes": Schema{
				"bearer": Schema{"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
					"description": "the token of POST /api/auth/login"},
				"cookie": Schema{"type": "apiKey", "in": "cookie", "name": "session",
					"description": "the HttpOnly session cookie POST /api/auth/login sets"},
				"csrf": Schema{"type": "apiKey", "in": "header", "name": "X-CSRF-Token",
					"description": "the csrf_token of the login (or of GET /api/me): required with the cookie on writes"},
			},
		},
		"security": []any{Schema{"bearer": []string{}}, Schema{"cookie": []string{}}},
	}
	return json.Marshal(d)
}

package apidoc

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/tenancy/platform/tenant/resource"
)

var (
	timeType = reflect.TypeFor[time.Time]()
	rawType  = reflect.TypeFor[json.RawMessage]()
	durType  = reflect.TypeFor[time.Duration]()
)

// goSchema is the schema of a Go value as encoding/json writes it (a
// custom route's Request or Response): structs by their json tags, a
// field without omitempty required, a pointer nullable; a request object
// takes no other fields (the decoders are strict). A *resource.Spec
// stands for its row (a response) or its create input (a request); a
// Schema is taken as it is.
func (b *builder) goSchema(v any, request bool) Schema {
	switch v := v.(type) {
	case nil:
		return nil
	case Schema:
		return v
	case *resource.Spec:
		if _, ok := b.tags[v.Name]; !ok {
			b.specSchemas(v)
		}
		if request {
			return ref(typeName(v.Entity) + "Create")
		}
		return ref(typeName(v.Entity))
	}
	return b.typeSchema(reflect.TypeOf(v), request)
}

// genericNames are type names that say little without their package.
var genericNames = map[string]bool{"Page": true, "Entry": true, "Item": true, "Result": true, "Info": true, "Request": true, "Response": true}

// goType is a named Go type's component schema, one per direction.
type goType struct {
	t       reflect.Type
	request bool
}

// component returns the $ref of a named struct type's component schema,
// adding it on first use: Go's name, with Input for a type also used as a
// request body, and its package's name on a clash.
func (b *builder) component(t reflect.Type, request bool) Schema {
	key := goType{t, request}
	if name, ok := b.goNames[key]; ok {
		return ref(name)
	}
	name := strings.ToUpper(t.Name()[:1]) + t.Name()[1:]
	if genericNames[name] {
		// audit.Page → AuditPage
		pkg := t.PkgPath()[strings.LastIndex(t.PkgPath(), "/")+1:]
		name = typeName(pkg) + name
	}
	if _, taken := b.schemas[name]; taken && request {
		name += "Input"
	}
	if _, taken := b.schemas[name]; taken {
		pkg := t.PkgPath()[strings.LastIndex(t.PkgPath(), "/")+1:]
		name = typeName(pkg) + name
	}
	for n := 2; ; n++ {
		if _, taken := b.schemas[name]; !taken {
			break
		}
		name = fmt.Sprintf("%s%d", strings.TrimRight(name, "0123456789"), n)
	}
	b.goNames[key] = name
	b.schemas[name] = Schema{} // reserved: a recursive type refers to itself
	b.schemas[name] = b.structSchema(t, request)
	return ref(name)
}

func (b *builder) structSchema(t reflect.Type, request bool) Schema {
	props, req := Schema{}, []string{}
	b.structFields(t, request, props, &req)
	s := Schema{"type": "object", "properties": props}
	if len(req) > 0 {
		s["required"] = req
	}
	if request {
		s["additionalProperties"] = false
	}
	return s
}

func (b *builder) typeSchema(t reflect.Type, request bool) Schema {
	switch t {
	case timeType:
		return Schema{"type": "string", "format": "date-time"}
	case rawType:
		return Schema{}
	case durType:
		return Schema{"type": "integer"}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return nullable(b.typeSchema(t.Elem(), request))
	case reflect.String:
		return Schema{"type": "string"}
	case reflect.Bool:
		return Schema{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return Schema{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return Schema{"type": "number"}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return Schema{"type": "string", "contentEncoding": "base64"}
		}
		return Schema{"type": "array", "items": b.typeSchema(t.Elem(), request)}
	case reflect.Map:
		return Schema{"type": "object", "additionalProperties": b.typeSchema(t.Elem(), request)}
	case reflect.Struct:
		if t.Name() != "" {
			return b.component(t, request)
		}
		return b.structSchema(t, request)
	}
	return Schema{}
}

// structFields adds t's JSON fields (embedded structs' flattened, as
// encoding/json does).
func (b *builder) structFields(t reflect.Type, request bool, props Schema, req *[]string) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				b.structFields(ft, request, props, req)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fs := b.typeSchema(f.Type, request)
		if d := f.Tag.Get("doc"); d != "" {
			if _, isRef := fs["$ref"]; isRef {
				fs = Schema{"allOf": []any{fs}}
			}
			fs["description"] = d
		}
		props[name] = fs
		optional := false
		for _, o := range strings.Split(opts, ",") {
			optional = optional || o == "omitempty" || o == "omitzero"
		}
		if !optional {
			*req = append(*req, name)
		}
	}
}

// nullable lets a schema also be null.
func nullable(s Schema) Schema {
	out := copySchema(s)
	switch t := out["type"].(type) {
	case string:
		out["type"] = []string{t, "null"}
	case nil:
		if _, isRef := out["$ref"]; isRef {
			return Schema{"anyOf": []any{s, Schema{"type": "null"}}}
		}
		// Without a type: any value already.
	}
	return out
}

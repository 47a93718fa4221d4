package authhttp

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"reflect"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/tenancy/platform/tenant"
)

var (
	errNotJSON     = tenant.Errorf(tenant.EInvalid, "the request body must be JSON (Content-Type: application/json)")
	errBadJSON     = tenant.Errorf(tenant.EInvalid, "the request body is not valid JSON")
	errNoBody      = tenant.Errorf(tenant.EInvalid, "a JSON object is required as the request body")
	errNotOneValue = tenant.Errorf(tenant.EInvalid, "the request body must hold exactly one JSON object")
	errNoSuchID    = tenant.Errorf(tenant.ENotFound, "no such user")
)

// decode reads the JSON object of the body into v strictly: an unknown
// field or a value of the wrong type is 422 validation_failed naming the
// field; anything that is not one JSON object is 400 invalid_input. The
// Content-Type must say JSON: forms, text/plain and bodies without a type
// are what a browser posts cross-site without a CORS preflight, so this
// also keeps other sites from logging a browser in (login has no CSRF
// token yet). The body size is capped by the app already (httpx.Settings).
func decode(c *fiber.Ctx, v any) error {
	mt, _, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	if err != nil || mt != fiber.MIMEApplicationJSON {
		return errNotJSON
	}
	body := c.Body()
	if len(bytes.TrimSpace(body)) == 0 {
		return errNoBody
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeErr(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errNotOneValue
	}
	return nil
}

func decodeErr(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field == "" {
			return errNoBody // the body is an array, a string…
		}
		return tenant.Invalid(map[string]string{fieldName(te.Field): "must be " + jsonType(te.Type)})
	}
	// encoding/json has no type for it; the text is stable since Go 1.10.
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name, _ = strconv.Unquote(name)
		if name == "" || len(name) > 64 {
			return tenant.Invalid(map[string]string{"body": "has an unknown field"})
		}
		return tenant.Invalid(map[string]string{name: "is not a known field"})
	}
	return errBadJSON
}

// fieldName is the top-level field of a path such as "roles.0".
func fieldName(path string) string {
	name, _, _ := strings.Cut(path, ".")
	return name
}

func jsonType(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Pointer:
		return jsonType(t.Elem())
	}
	return "an object"
}

// pathID reads the :id parameter: a positive decimal integer, else the
// thing does not exist (404), whatever the text was.
func pathID(c *fiber.Ctx) (int64, error) {
	s := c.Params("id")
	if s == "" || len(s) > 18 {
		return 0, errNoSuchID
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return 0, errNoSuchID
		}
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id < 1 {
		return 0, errNoSuchID
	}
	return id, nil
}

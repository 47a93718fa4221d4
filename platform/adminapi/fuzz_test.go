package adminapi

import (
	"strings"
	"testing"
	"unicode"

	"github.com/tenancy/platform/tenant"
)

// checkDecodeError holds for every error of decodeJSON: 400 invalid_input
// with a short message of printable characters that quotes no input.
func checkDecodeError(t *testing.T, body []byte, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if code := tenant.ErrorCode(err); code != tenant.EInvalid {
		t.Fatalf("%q: code %s (%v), want invalid_input", body, code, err)
	}
	msg := tenant.ErrorMessage(err)
	if len(msg) > 120 || strings.ContainsFunc(msg, func(r rune) bool { return !unicode.IsPrint(r) }) {
		t.Fatalf("%q: message %q: too long or not printable", body, msg)
	}
}

func TestDecode(t *testing.T) {
	tests := []struct {
		body string
		ok   bool
		msg  string // a part of the message, if not ok
	}{
		{`{"slug":"abc","kind":"restaurant","name":"A","domains":["a.example.com"]}`, true, ""},
		{`{"slug":"a\u0000b"}`, false, "slug contains a control character"},
		{`{"name":"line\nbreak"}`, false, "name contains a control character"},
		{`{"name":"esc\u001b[31m"}`, false, "name contains a control character"},
		{`{"name":"sep\u2028x"}`, false, "name contains a control character"},
		{`{"domains":["a.example.com","b\u0007.example.com"]}`, false, "domains contains a control character"},
		{"{\"name\":\"raw\x01\"}", false, "malformed JSON at byte"},
		{`{"bad\u0001field\n":1}`, false, `unknown field "badfield"`},
		{`{"` + strings.Repeat("x", 500) + `":1}`, false, "unknown field"},
		{`{"slug":12}`, false, `field "slug" has the wrong type`},
		{`[1]`, false, "a JSON object expected"},
		{`{}}`, false, "one JSON value expected"},
		{`{} {}`, false, "one JSON value expected"},
		{`{"slug":"a"`, false, "truncated JSON"},
		{``, false, "empty"},
		{`{"slug":"caf\u00e9"}`, true, ""},
	}
	for _, tt := range tests {
		var b createBody
		err := decodeJSON([]byte(tt.body), &b)
		checkDecodeError(t, []byte(tt.body), err)
		if (err == nil) != tt.ok || err != nil && !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%q: %v, want ok=%v %q", tt.body, err, tt.ok, tt.msg)
		}
		if err != nil && strings.Contains(err.Error(), strings.Repeat("x", 41)) {
			t.Errorf("%q: the error echoes the body: %v", tt.body, err)
		}
	}
}

// FuzzDecode: the operator API's JSON decoding of a create body never
// panics, and refuses with 400 invalid_input only, in a short printable
// message; what it accepts holds no control character.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"slug":"abc","kind":"restaurant","name":"A","domains":["a.example.com"],"time_zone":"UTC"}`,
		`{"slug":"a\u0000b"}`,
		`{"name":"\ud800"}`,
		`{"x":1}`,
		`{}}`,
		`null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var b createBody
		err := decodeJSON(body, &b)
		checkDecodeError(t, body, err)
		if err == nil {
			for _, s := range append([]string{b.Slug, b.Kind, b.Name, b.TimeZone}, b.Domains...) {
				if strings.ContainsFunc(s, unicode.IsControl) {
					t.Fatalf("%q accepted with a control character: %+v", body, b)
				}
			}
		}
	})
}

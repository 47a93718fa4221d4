package resource

import (
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"
)

// The JSON of rows and pages is written by hand: encoding/json reflects
// over every value and then validates and compacts what a MarshalJSON
// returns, which was a fifth of a list's server time (BenchmarkList).

// AppendJSON appends r as a JSON object, fields in the Spec's order.
func (r Row) AppendJSON(b []byte) []byte {
	b = append(b, '{')
	for i, f := range r.Spec.Fields {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, f.Name)
		b = append(b, ':')
		var v any
		if i < len(r.Vals) {
			v = r.Vals[i]
		}
		b = appendValue(b, v)
	}
	return append(b, '}')
}

// MarshalJSON writes the fields in the Spec's order.
func (r Row) MarshalJSON() ([]byte, error) { return r.AppendJSON(nil), nil }

// AppendJSON appends the page as {"items": [...], "next_cursor": "..."}.
func (p Page) AppendJSON(b []byte) []byte {
	b = append(b, `{"items":[`...)
	for i, r := range p.Items {
		if i > 0 {
			b = append(b, ',')
		}
		b = r.AppendJSON(b)
	}
	b = append(b, ']')
	if p.NextCursor != "" {
		b = append(b, `,"next_cursor":`...)
		b = appendString(b, p.NextCursor)
	}
	return append(b, '}')
}

// MarshalJSON is AppendJSON.
func (p Page) MarshalJSON() ([]byte, error) { return p.AppendJSON(nil), nil }

func appendValue(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case bool:
		return strconv.AppendBool(b, x)
	case string:
		return appendString(b, x)
	case time.Time:
		b = append(b, '"')
		b = x.UTC().AppendFormat(b, time.RFC3339Nano)
		return append(b, '"')
	case json.RawMessage:
		if len(x) == 0 {
			return append(b, "null"...)
		}
		return append(b, x...)
	}
	enc, err := json.Marshal(v)
	if err != nil {
		return append(b, "null"...)
	}
	return append(b, enc...)
}

const hex = "0123456789abcdef"

// AppendString appends s as a JSON string (see appendString).
func AppendString(b []byte, s string) []byte { return appendString(b, s) }

// appendString appends s as a JSON string as encoding/json writes it
// (invalid UTF-8 as U+FFFD; U+2028 and U+2029 escaped), but without
// escaping <, > and &: the API serves application/json, never HTML.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

package importer

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tenancy/platform/tenant/resource"
)

// applyTransform is one transform of a value (nil, int64, float64,
// string, []byte, bool, time.Time, Naive): the new value or a message (never
// quoting the value: it may be a password).
func applyTransform(name string, v any, loc *time.Location) (any, string) {
	if b, ok := v.([]byte); ok {
		if !utf8.Valid(b) {
			return nil, "is binary, not text"
		}
		v = string(b)
	}
	if v == nil {
		return nil, ""
	}
	if key, ok := strings.CutPrefix(name, "object:"); ok {
		b, err := json.Marshal(map[string]string{key: textOf(v)})
		if err != nil {
			return nil, "is not text"
		}
		return json.RawMessage(b), ""
	}
	switch name {
	case "trim", "lower", "upper":
		s, ok := v.(string)
		if !ok {
			return v, ""
		}
		switch name {
		case "trim":
			return strings.TrimSpace(s), ""
		case "lower":
			return strings.ToLower(s), ""
		}
		return strings.ToUpper(s), ""
	case "nullempty":
		if s, ok := v.(string); ok && strings.TrimSpace(s) == "" {
			return nil, ""
		}
		return v, ""
	case "bool":
		b, ok := toBool(v)
		if !ok {
			return nil, "is not a yes/no value (0/1, true/false, sí/no…)"
		}
		return b, ""
	case "int":
		n, ok := toInt(v)
		if !ok {
			return nil, "is not a whole number"
		}
		return n, ""
	case "decimal":
		f, ok := toFloat(v)
		if !ok {
			return nil, "is not a number"
		}
		return f, ""
	case "cents":
		f, ok := toFloat(v)
		if !ok {
			return nil, "is not an amount"
		}
		c := math.Round(f * 100)
		if c > math.MaxInt32 || c < math.MinInt32 {
			return nil, "is out of range"
		}
		return int64(c), ""
	case "date":
		d, ok := toDate(v)
		if !ok {
			return nil, "is not a date (YYYY-MM-DD)"
		}
		return d, ""
	case "datetime":
		t, ok := toTime(v, loc)
		if !ok {
			return nil, "is not a date and time"
		}
		return t, ""
	case "time":
		s, ok := toClock(v)
		if !ok {
			return nil, "is not a time of day (HH:MM[:SS])"
		}
		return s, ""
	}
	return nil, "unknown transform " + name
}

func toBool(v any) (bool, bool) {
	switch x := v.(type) {
	case bool:
		return x, true
	case int64:
		if x == 0 || x == 1 {
			return x == 1, true
		}
	case float64:
		if x == 0 || x == 1 {
			return x == 1, true
		}
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "1", "true", "t", "si", "sí", "yes", "y", "s":
			return true, true
		case "0", "false", "f", "no", "n":
			return false, true
		}
	}
	return false, false
}

func toInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case int: // a Spec's Default
		return int64(x), true
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x), true
		}
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	case string:
		n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
		return n, err == nil
	}
	return 0, false
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	case string:
		s := strings.TrimSpace(x)
		// A decimal comma, as Spanish-language spreadsheets write it.
		if strings.Count(s, ",") == 1 && !strings.Contains(s, ".") {
			s = strings.Replace(s, ",", ".", 1)
		}
		f, err := strconv.ParseFloat(s, 64)
		return f, err == nil && !math.IsInf(f, 0) && !math.IsNaN(f)
	}
	return 0, false
}

// toTime makes v an instant. Only a Naive (or a text without a zone) is
// a wall clock, placed in loc; a time.Time is an instant already and
// passes unchanged, so a value that the datetime transform made an instant
// is not converted again by coerce.
func toTime(v any, loc *time.Location) (time.Time, bool) {
	switch x := v.(type) {
	case time.Time:
		return x, true
	case Naive:
		t := time.Time(x)
		y, mo, d := t.Date()
		h, mi, s := t.Clock()
		return time.Date(y, mo, d, h, mi, s, t.Nanosecond(), loc), true
	case string:
		if p, ok := parseTime(x); ok {
			return toTime(p, loc)
		}
	case int64:
		// Unix seconds, as some PHP apps store them.
		if x > 0 {
			return time.Unix(x, 0), true
		}
	}
	return time.Time{}, false
}

// toDate is v's calendar date as YYYY-MM-DD (a date and time's date as
// stored, whatever the zone).
func toDate(v any) (string, bool) {
	switch x := v.(type) {
	case time.Time:
		return x.Format(time.DateOnly), true
	case Naive:
		return time.Time(x).Format(time.DateOnly), true
	case string:
		s := strings.TrimSpace(x)
		if len(s) >= 10 {
			if d, err := time.Parse(time.DateOnly, s[:10]); err == nil && (len(s) == 10 || s[10] == ' ' || s[10] == 'T') {
				return d.Format(time.DateOnly), true
			}
		}
		for _, l := range []string{"02/01/2006", "2/1/2006"} {
			if d, err := time.Parse(l, s); err == nil {
				return d.Format(time.DateOnly), true
			}
		}
	}
	return "", false
}

func toClock(v any) (string, bool) {
	switch x := v.(type) {
	case time.Time:
		return x.Format(time.TimeOnly), true
	case Naive:
		return time.Time(x).Format(time.TimeOnly), true
	case string:
		s := strings.TrimSpace(x)
		for _, l := range []string{"15:04:05", "15:04"} {
			if t, err := time.Parse(l, s); err == nil {
				return t.Format(time.TimeOnly), true
			}
		}
	}
	return "", false
}

// coerce makes a transformed value what field f's JSON wants, the way the
// legacy systems store such things (0/1 booleans, naive dates), so a
// mapping names transforms only where the value really changes.
func coerce(f *resource.Field, v any, loc *time.Location) (any, string) {
	if b, ok := v.([]byte); ok {
		if !utf8.Valid(b) {
			return nil, "is binary, not text"
		}
		v = string(b)
	}
	if v == nil {
		return nil, ""
	}
	switch f.Type {
	case resource.Bool:
		b, ok := toBool(v)
		if !ok {
			return nil, "must be true or false"
		}
		return b, ""
	case resource.Int, resource.Money, resource.Ref:
		n, ok := toInt(v)
		if !ok {
			return nil, "must be a whole number"
		}
		return n, ""
	case resource.Date:
		d, ok := toDate(v)
		if !ok {
			return nil, "must be a date (YYYY-MM-DD)"
		}
		return d, ""
	case resource.Time:
		t, ok := toTime(v, loc)
		if !ok {
			return nil, "must be a date and time"
		}
		return t, ""
	case resource.JSON:
		switch x := v.(type) {
		case string:
			if !json.Valid([]byte(x)) {
				return nil, "must be a JSON object"
			}
			return json.RawMessage(x), ""
		case json.RawMessage:
			return x, ""
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, "must be a JSON object"
		}
		return json.RawMessage(b), ""
	}
	return textOf(v), ""
}

// textOf is a scalar as text: a key, an enum's source value, a string
// field's value.
func textOf(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case []byte:
		return string(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case Naive:
		t := time.Time(x)
		if t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 && t.Nanosecond() == 0 {
			return t.Format(time.DateOnly)
		}
		return t.Format("2006-01-02 15:04:05.999999999")
	case time.Time:
		// An instant keeps its zone in text (a key, a text field).
		return x.Format(time.RFC3339Nano)
	case BadValue:
		return "" // never used: its row is skipped
	case json.RawMessage:
		return string(x)
	}
	return fmt.Sprint(v)
}

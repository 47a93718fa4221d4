package importer

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tenancy/platform/tenant/resource"
)

// TestTransforms: each transform on the values legacy databases hold, and
// the messages of values that do not fit (which never quote the value).
func TestTransforms(t *testing.T) {
	t.Parallel()
	mx, err := time.LoadLocation("America/Mexico_City")
	if err != nil {
		t.Fatal(err)
	}
	naive := Naive(time.Date(2024, 2, 11, 20, 45, 30, 0, time.UTC)) // a DATETIME as the Source contract gives it
	for _, c := range []struct {
		name string
		in   any
		want any
		bad  bool
	}{
		{"trim", "  Centro ", "Centro", false},
		{"lower", "ÑUÑOA", "ñuñoa", false},
		{"upper", "suc-01", "SUC-01", false},
		{"trim", int64(7), int64(7), false},
		{"nullempty", "  ", nil, false},
		{"nullempty", "x", "x", false},
		{"bool", int64(1), true, false},
		{"bool", "Sí", true, false},
		{"bool", "n", false, false},
		{"bool", []byte("0"), false, false},
		{"bool", int64(2), nil, true},
		{"bool", "quizás", nil, true},
		{"int", "42", int64(42), false},
		{"int", 3.0, int64(3), false},
		{"int", 3.5, nil, true},
		{"decimal", "12,50", 12.5, false},
		{"cents", "12.345", int64(1235), false},
		{"cents", "doce", nil, true},
		{"date", "2024-03-04 09:15:00", "2024-03-04", false},
		{"date", "04/03/2024", "2024-03-04", false},
		{"date", naive, "2024-02-11", false},
		{"date", "ayer", nil, true},
		{"datetime", naive, time.Date(2024, 2, 12, 2, 45, 30, 0, time.UTC), false},
		{"datetime", "2024-02-11 20:45:30", time.Date(2024, 2, 12, 2, 45, 30, 0, time.UTC), false},
		{"datetime", "2024-02-11T20:45:30-03:00", time.Date(2024, 2, 11, 23, 45, 30, 0, time.UTC), false},
		{"datetime", time.Date(2024, 2, 11, 20, 45, 30, 0, time.UTC), time.Date(2024, 2, 11, 20, 45, 30, 0, time.UTC), false}, // an instant stays
		{"datetime", "2024-02-11 20:45:30.5 +0000 UTC m=+0.01", time.Date(2024, 2, 11, 20, 45, 30, 5e8, time.UTC), false},     // Go's String()
		{"time", naive, "20:45:30", false},
		{"datetime", "mañana", nil, true},
		{"time", "07:05", "07:05:00", false},
		{"time", "25:99", nil, true},
		{"object:detalle", `dijo "hola"`, json.RawMessage(`{"detalle":"dijo \"hola\""}`), false},
		{"trim", nil, nil, false},
		{"bool", []byte{0xff, 0xfe}, nil, true},
	} {
		got, msg := applyTransform(c.name, c.in, mx)
		if c.bad {
			if msg == "" {
				t.Errorf("%s(%v) = %v, want a refusal", c.name, c.in, got)
			}
			if s, ok := c.in.(string); ok && strings.Contains(strings.ToLower(msg), strings.ToLower(s)) {
				t.Errorf("%s: the message %q quotes the value", c.name, msg)
			}
			continue
		}
		if msg != "" {
			t.Errorf("%s(%v): %s", c.name, c.in, msg)
			continue
		}
		switch w := c.want.(type) {
		case time.Time:
			if g, ok := got.(time.Time); !ok || !g.Equal(w) {
				t.Errorf("%s(%v) = %v, want %v", c.name, c.in, got, w)
			}
		case json.RawMessage:
			if g, ok := got.(json.RawMessage); !ok || string(g) != string(w) {
				t.Errorf("%s(%v) = %s, want %s", c.name, c.in, got, w)
			}
		default:
			if got != c.want {
				t.Errorf("%s(%v) = %#v, want %#v", c.name, c.in, got, c.want)
			}
		}
	}
}

// TestTimesLandOnOneInstant: an instant however the source writes it (RFC
// 3339 text, a text with an offset, a MySQL TIMESTAMP, Unix seconds),
// with and without the datetime transform, is stored as that instant:
// coerce never converts a value the transform made an instant again.
// Only a naive value is placed in the mapping's zone.
func TestTimesLandOnOneInstant(t *testing.T) {
	t.Parallel()
	mx, err := time.LoadLocation("America/Mexico_City")
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2024, 3, 1, 16, 20, 30, 0, time.UTC)
	field := &resource.Field{Name: "updated_at", Type: resource.Time}
	for _, c := range []struct {
		name string
		v    any
	}{
		{"RFC 3339 text", "2024-03-01T16:20:30Z"},
		{"text with an offset", "2024-03-01 10:20:30-06:00"},
		{"MySQL TIMESTAMP", want},
		{"TIMESTAMP in another zone", want.In(time.FixedZone("", 9*3600))},
		{"Unix seconds", want.Unix()},
		{"naive DATETIME, 10:20:30 in Mexico City", Naive(time.Date(2024, 3, 1, 10, 20, 30, 0, time.UTC))},
		{"naive text", "2024-03-01 10:20:30"},
	} {
		for _, transform := range []bool{false, true} {
			v := c.v
			if transform {
				var msg string
				if v, msg = applyTransform("datetime", v, mx); msg != "" {
					t.Fatalf("%s: datetime: %s", c.name, msg)
				}
			}
			got, msg := coerce(field, v, mx)
			if g, ok := got.(time.Time); msg != "" || !ok || !g.Equal(want) {
				t.Errorf("%s (transform %v): %v %s, want %v", c.name, transform, got, msg, want)
			}
		}
	}
}

package resource

import (
	"encoding/json"
	"testing"
	"time"
)

// TestAppendJSON: the hand-written JSON decodes to what encoding/json
// would have written, for every value type and awkward strings.
func TestAppendJSON(t *testing.T) {
	s := &Spec{Fields: []Field{{Name: "id"}, {Name: "name"}, {Name: "ok"}, {Name: "at"}, {Name: "doc"}, {Name: "none"}, {Name: "f"}}}
	at := time.Date(2026, 3, 1, 20, 30, 0, 123, time.FixedZone("CLT", -3*3600))
	for _, name := range []string{"plain", "Ñandú «ñ» €", "quote \" back \\ slash", "ctl \x00\x01\n\r\t\x1f", "bad \xff utf8", "sep \u2028 \u2029", "<b>&amp;</b>"} {
		r := Row{Spec: s, Vals: []any{int64(-42), name, true, at, json.RawMessage(`{"a":[1,2]}`), nil, 1.5}}
		b := r.AppendJSON(nil)
		var got map[string]any
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%q: invalid JSON %s: %v", name, b, err)
		}
		want := map[string]any{"id": -42.0, "name": name, "ok": true, "at": at.UTC().Format(time.RFC3339Nano),
			"doc": map[string]any{"a": []any{1.0, 2.0}}, "none": nil, "f": 1.5}
		if name == "bad \xff utf8" {
			want["name"] = "bad \ufffd utf8"
		}
		wb, _ := json.Marshal(want)
		gb, _ := json.Marshal(got)
		if string(wb) != string(gb) {
			t.Errorf("%q:\n got %s\nwant %s", name, gb, wb)
		}
	}
	p := Page{Items: []Row{{Spec: s, Vals: make([]any, 7)}}, NextCursor: EncodeCursor(9)}
	var got struct {
		Items      []map[string]any `json:"items"`
		NextCursor string           `json:"next_cursor"`
	}
	if err := json.Unmarshal(p.AppendJSON(nil), &got); err != nil || len(got.Items) != 1 || got.NextCursor != EncodeCursor(9) {
		t.Errorf("page: %+v %v", got, err)
	}
	if b := (Page{Items: []Row{}}).AppendJSON(nil); string(b) != `{"items":[]}` {
		t.Errorf("empty page: %s", b)
	}
}

package audit

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/tenancy/platform/tenant"
)

// Pure logic: redaction, caps, IPs, cursors and query parameters.

func TestRedactDropsSecretKeysAtEveryDepth(t *testing.T) {
	type creds struct {
		User     string `json:"user"`
		Password string `json:"Password"`
	}
	in := map[string]any{
		"user":           "bob",
		"password":       "p1",
		"New_Password":   "p2",
		"client_secret":  "p3",
		"apiToken":       "p4",
		"session_id":     "p5",
		"password_hash":  "p6",
		"Cookie":         "p7",
		"Authorization":  "p8",
		"X-CSRF":         "p9",
		"db_api_key":     "p10",
		"innocent":       "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln", // a JWT under any key
		"hash_like":      "x",
		"bcrypt":         "$2y$10$abcdefghijklmnopqrstuuabcdefghijklmnopqrstuvwxyz01234",
		"header":         "Bearer abc.def",
		"typed":          map[string]string{"refresh_token": "p11", "kept": "k1"},
		"struct":         creds{User: "u", Password: "p12"},
		"list":           []any{map[string]any{"Session": "p13", "keep": "k2"}, "eyJx.eyJy.z", "k3", 7},
		"nested":         map[string]any{"deeper": map[string]any{"csrf_token": "p14", "n": 1.5}},
		"changed_fields": []string{"email", "password"}, // a value naming a field is not a secret
	}
	out := Redact(in)
	b, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	got := string(b)
	for i := 1; i <= 14; i++ {
		if v := "\"p" + itoa(i) + "\""; strings.Contains(got, v) {
			t.Errorf("secret %s kept: %s", v, got)
		}
	}
	for _, bad := range []string{"eyJ", "$2y$", "Bearer", "hash_like"} {
		if strings.Contains(got, bad) {
			t.Errorf("%q kept: %s", bad, got)
		}
	}
	want := `{"changed_fields":["email","password"],"list":[{"keep":"k2"},"k3",7],"nested":{"deeper":{"n":1.5}},"struct":{"user":"u"},"typed":{"kept":"k1"},"user":"bob"}`
	if got != want {
		t.Errorf("redacted:\n got %s\nwant %s", got, want)
	}
	if in["password"] != "p1" || in["typed"].(map[string]string)["refresh_token"] != "p11" {
		t.Error("Redact changed its input")
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func TestRedactUnencodableAndEmpty(t *testing.T) {
	if got := Redact(map[string]any{"ch": make(chan int)}); got["_unencodable"] != true || len(got) != 1 {
		t.Errorf("unencodable: %v", got)
	}
	if got := Redact(nil); got == nil || len(got) != 0 {
		t.Errorf("nil: %#v", got)
	}
	got := Redact(map[string]any{"a\x00b": "c\x00d"})
	if got["ab"] != "cd" {
		t.Errorf("NUL not removed: %#v", got)
	}
}

func TestEncodeDetailsCapsSize(t *testing.T) {
	small, err := encodeDetails(map[string]any{"a": 1})
	if err != nil || small != `{"a":1}` {
		t.Fatalf("small: %s, %v", small, err)
	}
	in := map[string]any{
		"a":   strings.Repeat("x", 3000),
		"b":   strings.Repeat("y", 6000), // does not fit after a
		"c":   strings.Repeat("z", 3000),
		"d":   "small",
		"big": strings.Repeat("w", 20000),
	}
	s, err := encodeDetails(in)
	if err != nil {
		t.Fatal(err)
	}
	if len(s) > MaxDetailsSize {
		t.Fatalf("%d bytes, cap %d", len(s), MaxDetailsSize)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(s), &got); err != nil {
		t.Fatal(err)
	}
	if got[truncatedMark] != true || got["a"] == nil || got["c"] == nil || got["d"] != "small" || got["b"] != nil || got["big"] != nil {
		keys := []string{}
		for k := range got {
			keys = append(keys, k)
		}
		t.Errorf("kept %v", keys)
	}
}

func TestCleanAndParseIP(t *testing.T) {
	long := strings.Repeat("é", MaxUserAgent+10)
	if c := clean(long, MaxUserAgent); utf8.RuneCountInString(c) != MaxUserAgent || !utf8.ValidString(c) {
		t.Errorf("clean: %d runes", utf8.RuneCountInString(c))
	}
	if c := clean("a\xffb\x00c", 10); c != "a\uFFFDbc" {
		t.Errorf("clean invalid: %q", c)
	}
	for in, want := range map[string]any{
		"203.0.113.7":       "203.0.113.7",
		" 2001:db8::1 ":     "2001:db8::1",
		"fe80::1%eth0":      "fe80::1",
		"::ffff:192.0.2.1":  "192.0.2.1",
		"198.51.100.2:4431": "198.51.100.2",
		"[2001:db8::2]:443": "2001:db8::2",
		"":                  nil,
		"not-an-ip":         nil,
		"999.1.1.1":         nil,
		"10.0.0.0/8":        nil,
	} {
		if got := parseIP(in); got != want {
			t.Errorf("parseIP(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestCursor(t *testing.T) {
	for _, id := range []int64{1, 42, 1<<63 - 1} {
		c := encodeCursor(id)
		if got, ok := decodeCursor(c); !ok || got != id {
			t.Errorf("cursor %d → %q → %d, %v", id, c, got, ok)
		}
	}
	b64 := base64.RawURLEncoding.EncodeToString
	for _, bad := range []string{"!!", "MQ==", b64([]byte("0")), b64([]byte("-1")), b64([]byte("+1")), b64([]byte("01")), b64([]byte("abc")), b64([]byte("99999999999999999999")), b64([]byte("1 "))} {
		if _, ok := decodeCursor(bad); ok {
			t.Errorf("cursor %q accepted", bad)
		}
	}
}

func TestParseFilter(t *testing.T) {
	day := func(s string) time.Time { t, _ := time.Parse(time.DateOnly, s); return t }
	cases := []struct {
		name   string
		params map[string]string
		want   Filter
		bad    []string // fields named in the error
	}{
		{"empty", nil, Filter{}, nil},
		{"all", map[string]string{
			"actor": " Alice ", "action": "login.failure", "entity": "user", "entity_id": "7",
			"from": "2026-11-01", "to": "2026-11-30", "limit": "20", "cursor": encodeCursor(99),
		}, Filter{Actor: "Alice", Action: "login.failure", Entity: "user", EntityID: "7",
			From: day("2026-11-01"), To: day("2026-12-01"), Limit: 20, Cursor: encodeCursor(99)}, nil},
		{"rfc3339", map[string]string{"from": "2026-11-01T10:00:00+01:00", "to": "2026-11-01T09:30:00.5Z"},
			Filter{From: time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC), To: time.Date(2026, 11, 1, 9, 30, 0, 5e8, time.UTC)}, nil},
		{"plus as space", map[string]string{"from": "2026-11-01T10:00:00 01:00"},
			Filter{From: time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)}, nil},
		{"same day", map[string]string{"from": "2026-11-01", "to": "2026-11-01"},
			Filter{From: day("2026-11-01"), To: day("2026-11-02")}, nil},
		{"bad dates", map[string]string{"from": "yesterday", "to": "2026-13-01"}, Filter{}, []string{"from", "to"}},
		{"to before from", map[string]string{"from": "2026-11-02T00:00:00Z", "to": "2026-11-01T00:00:00Z"}, Filter{}, []string{"to"}},
		{"to equals from", map[string]string{"from": "2026-11-02T00:00:00Z", "to": "2026-11-02T00:00:00Z"}, Filter{}, []string{"to"}},
		{"limits", map[string]string{"limit": "501"}, Filter{}, []string{"limit"}},
		{"limit zero", map[string]string{"limit": "0"}, Filter{}, []string{"limit"}},
		{"limit text", map[string]string{"limit": "ten", "cursor": "%%%"}, Filter{}, []string{"limit", "cursor"}},
		{"long actor", map[string]string{"actor": strings.Repeat("a", 300)}, Filter{}, []string{"actor"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := ParseFilter(func(k string) string { return c.params[k] })
			if c.bad == nil {
				if err != nil {
					t.Fatal(err)
				}
				if !f.From.Equal(c.want.From) || !f.To.Equal(c.want.To) {
					t.Errorf("from/to = %v/%v, want %v/%v", f.From, f.To, c.want.From, c.want.To)
				}
				f.From, f.To, c.want.From, c.want.To = time.Time{}, time.Time{}, time.Time{}, time.Time{}
				if f != c.want {
					t.Errorf("got %+v, want %+v", f, c.want)
				}
				return
			}
			if tenant.ErrorCode(err) != tenant.EValidation {
				t.Fatalf("err = %v, want validation_failed", err)
			}
			fields := tenant.ErrorFields(err)
			if len(fields) != len(c.bad) {
				t.Errorf("fields %v, want %v", fields, c.bad)
			}
			for _, k := range c.bad {
				if fields[k] == "" {
					t.Errorf("no message for %s: %v", k, fields)
				}
			}
		})
	}
}

package audit

import (
	"bytes"
	"encoding/json"
	"regexp"
	"sort"
	"strings"
)

// secretWords are the parts of a key name (lower-cased) that make Record
// drop the key with its value, at any depth. Broad on purpose: a dropped
// harmless key costs less than a logged credential. So a session's public
// handle belongs in Entry.EntityID, not in Details.
var secretWords = []string{
	"password", "passwd", "secret", "token", "session", "hash", "cookie",
	"authorization", "csrf", "api_key", "apikey", "private_key",
}

// secretValue matches values that are credentials whatever their key: a
// JWT, a bcrypt hash, a bearer header.
var secretValue = regexp.MustCompile(`^(eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*|\$2[abxy]\$\d\d\$.*|(?i:bearer|basic)\s+\S+)$`)

// Redact returns details as JSON would carry them (maps, slices, strings,
// json.Number, bools, nil), without the keys whose lower-case name contains
// one of the secret words and without values that look like a token or a
// password hash, at every depth. details itself is not changed. Values
// that cannot be encoded as JSON are replaced by {"_unencodable": true}.
func Redact(details map[string]any) map[string]any {
	if len(details) == 0 {
		return map[string]any{}
	}
	// A JSON round trip turns any Go value (structs, typed maps, pointers)
	// into the few kinds the walk below knows, so nothing hides from it.
	b, err := json.Marshal(details)
	if err != nil {
		return map[string]any{"_unencodable": true}
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v map[string]any
	if err := d.Decode(&v); err != nil {
		return map[string]any{"_unencodable": true}
	}
	out, _ := redact(v).(map[string]any)
	if out == nil {
		out = map[string]any{}
	}
	return out
}

// redact walks a decoded JSON value and returns its redacted copy.
func redact(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, x := range v {
			if secretKey(k) {
				continue
			}
			if r, keep := redactValue(x); keep {
				// PostgreSQL's jsonb refuses \u0000 in keys and strings.
				m[strings.ReplaceAll(k, "\x00", "")] = r
			}
		}
		return m
	case []any:
		s := make([]any, 0, len(v))
		for _, x := range v {
			if r, keep := redactValue(x); keep {
				s = append(s, r)
			}
		}
		return s
	case string:
		return strings.ReplaceAll(v, "\x00", "")
	default:
		return v
	}
}

// redactValue redacts x, or reports false when x itself is a credential.
func redactValue(x any) (any, bool) {
	if s, ok := x.(string); ok && secretValue.MatchString(strings.TrimSpace(s)) {
		return nil, false
	}
	return redact(x), true
}

func secretKey(k string) bool {
	k = strings.ToLower(k)
	for _, w := range secretWords {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// truncatedMark is added to details that were cut to MaxDetailsSize.
const truncatedMark = "_truncated"

// encodeDetails returns the redacted details as JSON of at most
// MaxDetailsSize bytes. Too large, it keeps the top-level keys, in name
// order, that fit, and sets "_truncated": true.
func encodeDetails(details map[string]any) (string, error) {
	v := Redact(details)
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	if len(b) <= MaxDetailsSize {
		return string(b), nil
	}
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	budget := MaxDetailsSize - len(`{"`+truncatedMark+`":true}`)
	kept := map[string]any{}
	for _, k := range keys {
		kb, _ := json.Marshal(k)
		vb, err := json.Marshal(v[k])
		if err != nil {
			return "", err
		}
		if n := len(kb) + 1 + len(vb) + 1; n <= budget { // "key":value,
			kept[k] = json.RawMessage(vb)
			budget -= n
		}
	}
	kept[truncatedMark] = true
	b, err = json.Marshal(kept)
	return string(b), err
}

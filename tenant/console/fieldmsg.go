package console

import (
	"fmt"
	"regexp"
	"strings"
)

// The engine's field messages (resource.Decode, resource.ParseList,
// resourcepg.Translate, the specs' own checks) are the API's English
// words; engineMessage gives the reader's. The API keeps its words (its
// clients match on the error code and field, not the text), so the
// console, which shows them, translates them here; a message this table
// does not know is a failure of TestEngineMessagesTranslated, not an
// English sentence on a Spanish page.
var (
	engineExact = map[string]string{
		"is required":                                        "validation.required",
		"may not be empty":                                   "validation.required",
		"may not be null":                                    "validation.required",
		"must be a whole number":                             "validation.invalid_number",
		"must be a string":                                   "fields.must_be_text",
		"may not contain control characters":                 "fields.control_characters",
		"must be a date (YYYY-MM-DD)":                        "validation.invalid_date",
		"must be an e-mail address":                          "validation.invalid_email",
		"must be an amount of cents, 0 or more":              "fields.money_negative",
		"must be true or false":                              "validation.invalid_choice",
		"is out of range":                                    "fields.out_of_range",
		"must be a JSON object":                              "fields.json",
		"must be at most 1 MiB of JSON":                      "fields.json",
		"is set by the server":                               "fields.set_by_server",
		"cannot be changed once created":                     "fields.immutable",
		"is not a known field":                               "fields.unknown",
		"has an unknown field":                               "fields.unknown",
		"is not a filter of this listing":                    "fields.unknown",
		"is not a cursor of this listing":                    "fields.cursor",
		"is taken":                                           "validation.duplicate",
		"names a row that does not exist":                    "fields.row_missing",
		"a value is out of range":                            "fields.out_of_range",
		"a value is not valid":                               "fields.invalid_value",
		"changes nothing: give at least one field to change": "fields.no_change",
		"must be an IANA time zone such as America/Santiago": "fields.time_zone",
	}
	enginePrefix = []struct{ prefix, key string }{
		{"must be a time in RFC 3339", "validation.invalid_time"},
		{"must be a phone number", "fields.phone"},
		{"must be one of ", "validation.invalid_choice"},
		{"names no ", "validation.invalid_choice"},
		{"must be the id of a", "validation.invalid_choice"},
		{"is not allowed (rule ", "fields.rule"},
		{"must be a whole number from 1 to ", "validation.invalid_number"},
	}
	// must be after starts_on (2026-03-01)
	engineOrder = regexp.MustCompile(`^must be (after|before) ([a-z_]+) \((\d{4}-\d{2}-\d{2})\)$`)
)

// engineMessage is m in the page's language; ok is false for a message
// the table does not know (shown as it is).
func (s *Console) engineMessage(p *Page, m string) (string, bool) {
	if key, ok := engineExact[m]; ok {
		return s.t(p, key), true
	}
	for _, e := range enginePrefix {
		if strings.HasPrefix(m, e.prefix) {
			return s.t(p, e.key), true
		}
	}
	var n int64
	if _, err := fmt.Sscanf(m, "must be at most %d characters", &n); err == nil && strings.HasSuffix(m, " characters") {
		return s.n(p, "validation.too_long", int(n)), true
	}
	if _, err := fmt.Sscanf(m, "must be at most %d cents", &n); err == nil && strings.HasSuffix(m, " cents") {
		return s.t(p, "fields.money_too_large", "Max", p.L.Money(n)), true
	}
	if _, err := fmt.Sscanf(m, "must be at least %d", &n); err == nil && fmt.Sprintf("must be at least %d", n) == m {
		return s.t(p, "fields.at_least", "Min", p.L.Number(n)), true
	}
	if _, err := fmt.Sscanf(m, "must be at most %d", &n); err == nil && fmt.Sprintf("must be at most %d", n) == m {
		return s.t(p, "fields.at_most", "Max", p.L.Number(n)), true
	}
	if g := engineOrder.FindStringSubmatch(m); g != nil {
		d, ok := p.L.Day(g[3])
		if !ok {
			return m, false
		}
		return s.t(p, "fields."+g[1], "Field", fieldLabel(p, g[2]), "Date", d), true
	}
	return m, false
}

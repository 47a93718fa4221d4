package i18n

import (
	"strings"

	"golang.org/x/text/language"
)

// Lang is a language of the console: Spanish or English.
type Lang string

const (
	// Spanish is the default language.
	Spanish Lang = "es"
	English Lang = "en"
)

// Langs lists the console's languages, the default first.
func Langs() []Lang { return []Lang{Spanish, English} }

// String is the language's BCP 47 code, "es" or "en" (for <html lang>).
func (l Lang) String() string { return string(l) }

// Tag is the language's tag.
func (l Lang) Tag() language.Tag {
	if l == English {
		return language.English
	}
	return language.Spanish
}

// ParseLang reads a saved language choice: "es" or "en" (case and
// surrounding spaces ignored). Anything else is not a choice.
func ParseLang(s string) (Lang, bool) {
	switch Lang(strings.ToLower(strings.TrimSpace(s))) {
	case Spanish:
		return Spanish, true
	case English:
		return English, true
	}
	return "", false
}

// matcher matches requested languages to the console's; Spanish first, so
// it is what an unmatched request gets. A Matcher is read-only once built.
var matcher = language.NewMatcher([]language.Tag{language.Spanish, language.English})

// Negotiate picks the language of a request: the user's saved choice when
// it is "es" or "en"; else the best match of the Accept-Language header
// (q-values honoured; any es-* is Spanish, any en-* English); else Spanish,
// also when the header is empty, malformed or names only other languages.
func Negotiate(acceptLanguage, userChoice string) Lang {
	if l, ok := ParseLang(userChoice); ok {
		return l
	}
	tags, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil || len(tags) == 0 {
		return Spanish
	}
	_, i, conf := matcher.Match(tags...)
	if conf == language.No {
		return Spanish
	}
	return Langs()[i]
}

package i18n

import (
	"fmt"
	"math"
	"time"
)

// Localizer is one request's language and its tenant's Locale: messages
// in the language, amounts in the tenant's currency, dates in the tenant's
// time zone. Make one per request with [Catalog.Localizer]; it is cheap.
type Localizer struct {
	cat    *Catalog
	lang   Lang
	locale Locale
}

// Localizer joins lang (from [Negotiate]) and the tenant's Locale (from
// [ForTenant]). A language the catalog does not have is Spanish.
func (c *Catalog) Localizer(lang Lang, loc Locale) *Localizer {
	if _, ok := c.langs[lang]; !ok {
		lang = Spanish
	}
	return &Localizer{cat: c, lang: lang, locale: loc}
}

// Lang is the request's language.
func (l *Localizer) Lang() Lang { return l.lang }

// Locale is the tenant's Locale.
func (l *Localizer) Locale() Locale { return l.locale }

// T renders the plain message key with its template arguments given as
// name, value pairs: T("home.welcome", "Name", "Ana") is "Hola, Ana". An
// unknown key (wraps ErrUnknownKey), a plural key, an odd or non-string
// name, or an argument the message uses and the call lacks is an error
// (in a template, it stops the page).
func (l *Localizer) T(key string, args ...any) (string, error) {
	data, err := argMap(key, args)
	if err != nil {
		return "", err
	}
	return l.cat.localize(l.lang, key, data, nil)
}

// N renders the plural message key for count, any Go integer (an int
// from Go code, an int64 count from the database, a constant in a
// template): the language's CLDR plural form of count is chosen and
// {{.Count}} is count grouped like the tenant's numbers ([Locale.Number]);
// other arguments as in T. N("count.teaching_loads", 3) is "3 cargas
// docentes". A count that is not an integer is an error.
func (l *Localizer) N(key string, count any, args ...any) (string, error) {
	n, ok := toInt64(count)
	if !ok {
		return "", fmt.Errorf("i18n: %s: count %v (%T) is not an integer", key, count, count)
	}
	data, err := argMap(key, args)
	if err != nil {
		return "", err
	}
	if data == nil {
		data = map[string]any{}
	}
	data["Count"] = l.locale.Number(n)
	return l.cat.localize(l.lang, key, data, n)
}

func toInt64(v any) (int64, bool) {
	switch v := v.(type) {
	case int:
		return int64(v), true
	case int8:
		return int64(v), true
	case int16:
		return int64(v), true
	case int32:
		return int64(v), true
	case int64:
		return v, true
	case uint:
		return int64(v), v <= math.MaxInt64
	case uint8:
		return int64(v), true
	case uint16:
		return int64(v), true
	case uint32:
		return int64(v), true
	case uint64:
		return int64(v), v <= math.MaxInt64
	}
	return 0, false
}

func argMap(key string, args []any) (map[string]any, error) {
	if len(args) == 0 {
		return nil, nil
	}
	if len(args)%2 != 0 {
		return nil, fmt.Errorf("i18n: %s: arguments come in name, value pairs; got %d values", key, len(args))
	}
	data := make(map[string]any, len(args)/2+1)
	for i := 0; i < len(args); i += 2 {
		name, ok := args[i].(string)
		if !ok {
			return nil, fmt.Errorf("i18n: %s: argument name %v is not a string", key, args[i])
		}
		data[name] = args[i+1]
	}
	return data, nil
}

// Money is [Locale.Money]: cents of the tenant's currency, "$12.990".
func (l *Localizer) Money(cents int64) string { return l.locale.Money(cents) }

// Number is [Locale.Number]: n grouped like the tenant's numbers.
func (l *Localizer) Number(n int64) string { return l.locale.Number(n) }

// Date is t's day in the tenant's time zone, in the request's language.
func (l *Localizer) Date(t time.Time) string { return l.locale.Date(l.lang, t) }

// LongDate is Date with the weekday.
func (l *Localizer) LongDate(t time.Time) string { return l.locale.LongDate(l.lang, t) }

// Time is t's time of day in the tenant's time zone ("20:30", "8:30 PM").
func (l *Localizer) Time(t time.Time) string { return l.locale.Time(l.lang, t) }

// DateTime is Date and Time: "1 de marzo de 2026, 20:30".
func (l *Localizer) DateTime(t time.Time) string { return l.locale.DateTime(l.lang, t) }

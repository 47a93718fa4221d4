package i18n

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // tenant time zones must load on minimal images too

	"github.com/tenancy/platform/tenant"
)

// Why not golang.org/x/text/currency: its formatter puts a space between
// the symbol and the amount ("$ 12.990"), rounds through float64 and has
// no date formatting at all; the console wants "$12.990". So the few
// locales and currencies the platform sells in are explicit tables here,
// and the tests pin every one of them.

// numberFormat is how a locale writes numbers.
type numberFormat struct {
	group, decimal string
}

// numberFormats and currencyFormats are read-only tables, keyed like the
// values tenant.SupportedLocales and tenant.SupportedCurrencies list (a
// test holds them together).
var numberFormats = map[string]numberFormat{
	"es-CL": {group: ".", decimal: ","},
	"es-MX": {group: ",", decimal: "."},
	"en-US": {group: ",", decimal: "."},
}

// currencyFormat is a currency's digits after the decimal point and its
// symbol: "$" where it is the locale's own currency, else a prefix that
// tells it apart.
type currencyFormat struct {
	digits  int
	home    string // the locale whose "$" it is
	foreign string // symbol elsewhere
}

var currencyFormats = map[string]currencyFormat{
	"CLP": {digits: 0, home: "es-CL", foreign: "CLP$"},
	"MXN": {digits: 2, home: "es-MX", foreign: "MX$"},
	"USD": {digits: 2, home: "en-US", foreign: "US$"},
}

// DefaultLocale is the locale of a tenant without the `locale` setting,
// from its time zone: Mexican zones are es-MX; every other zone, Chile's
// included, is es-CL, the platform's first market (an operator sets
// `locale` for anything else, en-US for instance).
func DefaultLocale(timeZone string) string {
	switch timeZone {
	case "America/Mexico_City", "America/Cancun", "America/Merida", "America/Monterrey",
		"America/Matamoros", "America/Chihuahua", "America/Ciudad_Juarez", "America/Ojinaga",
		"America/Mazatlan", "America/Bahia_Banderas", "America/Hermosillo", "America/Tijuana",
		"America/Ensenada", "America/Santa_Isabel", "Mexico/General", "Mexico/BajaNorte", "Mexico/BajaSur":
		return "es-MX"
	}
	return "es-CL"
}

// DefaultCurrency is the currency of a locale without the `currency`
// setting: CLP for es-CL, MXN for es-MX, USD for en-US ("" for a locale
// not supported).
func DefaultCurrency(locale string) string {
	for c, f := range currencyFormats {
		if f.home == locale {
			return c
		}
	}
	return ""
}

// Locale is how a tenant's amounts and dates are written: its locale
// (es-CL, es-MX, en-US), currency (CLP, MXN, USD) and time zone. The zero
// Locale writes like es-CL, CLP, UTC.
type Locale struct {
	tag      string
	currency string
	zone     *time.Location
}

// NewLocale checks a locale and currency (both as the tenant settings
// store them; "" takes the default: the time zone's locale, the locale's
// currency) and a time zone name (IANA; "" is UTC).
func NewLocale(locale, currency, timeZone string) (Locale, error) {
	if timeZone == "Local" {
		return Locale{}, fmt.Errorf("i18n: time zone %q: want an IANA name such as America/Santiago", timeZone)
	}
	zone, err := time.LoadLocation(timeZone)
	if err != nil {
		return Locale{}, fmt.Errorf("i18n: time zone %q: %w", timeZone, err)
	}
	if locale == "" {
		locale = DefaultLocale(timeZone)
	}
	if _, ok := numberFormats[locale]; !ok {
		return Locale{}, fmt.Errorf("i18n: unknown locale %q: want one of %s", locale, strings.Join(tenant.SupportedLocales(), ", "))
	}
	if currency == "" {
		currency = DefaultCurrency(locale)
	}
	if _, ok := currencyFormats[currency]; !ok {
		return Locale{}, fmt.Errorf("i18n: unknown currency %q: want one of %s", currency, strings.Join(tenant.SupportedCurrencies(), ", "))
	}
	return Locale{tag: locale, currency: currency, zone: zone}, nil
}

// ForTenant is t's Locale: its `locale` and `currency` settings (defaults
// when unset, see [NewLocale]) and its time zone.
func ForTenant(t *tenant.Tenant) (Locale, error) {
	locale, _ := t.Settings[tenant.SettingLocale].(string)
	currency, _ := t.Settings[tenant.SettingCurrency].(string)
	l, err := NewLocale(locale, currency, t.TimeZone)
	if err != nil {
		return Locale{}, fmt.Errorf("tenant %s: %w", t.Slug, err)
	}
	return l, nil
}

// Tag is the locale, "es-CL"; Currency its ISO 4217 code, "CLP".
func (l Locale) Tag() string      { return l.tag }
func (l Locale) Currency() string { return l.currency }

// Zone is the tenant's time zone (UTC for the zero Locale).
func (l Locale) Zone() *time.Location {
	if l.zone == nil {
		return time.UTC
	}
	return l.zone
}

// The zero Locale is es-CL, CLP, UTC.
func (l Locale) tagOrDefault() string {
	if _, ok := numberFormats[l.tag]; ok {
		return l.tag
	}
	return "es-CL"
}

func (l Locale) numbers() numberFormat { return numberFormats[l.tagOrDefault()] }

// Number writes n with the locale's grouping: 1234567 is "1.234.567" in
// es-CL, "1,234,567" in es-MX and en-US.
func (l Locale) Number(n int64) string {
	neg := n < 0
	u := uint64(n)
	if neg {
		u = -u
	}
	s := group(strconv.FormatUint(u, 10), l.numbers().group)
	if neg {
		return "-" + s
	}
	return s
}

// Money writes an amount stored in cents of the tenant's currency: CLP
// without decimals (129900 is "$1.299" in es-CL; cents round half away
// from zero), MXN and USD with two ("$1,299.90" in es-MX). The symbol is
// "$" for the locale's own currency, else CLP$, MX$ or US$. A negative
// amount is "-$1.299".
func (l Locale) Money(cents int64) string {
	cf, ok := currencyFormats[l.currency]
	if !ok {
		cf = currencyFormats[DefaultCurrency(l.tagOrDefault())]
	}
	nf := l.numbers()
	sym := cf.foreign
	if cf.home == l.tagOrDefault() {
		sym = "$"
	}
	neg := cents < 0
	u := uint64(cents)
	if neg {
		u = -u
	}
	var s string
	nonzero := u > 0
	if cf.digits == 0 {
		pesos := (u + 50) / 100
		nonzero = pesos > 0
		s = group(strconv.FormatUint(pesos, 10), nf.group)
	} else {
		s = group(strconv.FormatUint(u/100, 10), nf.group) + nf.decimal + fmt.Sprintf("%02d", u%100)
	}
	if neg && nonzero {
		return "-" + sym + s
	}
	return sym + s
}

// group inserts sep every three digits from the right of the digits ds.
func group(ds, sep string) string {
	if len(ds) <= 3 {
		return ds
	}
	var b strings.Builder
	head := len(ds) % 3
	if head > 0 {
		b.WriteString(ds[:head])
	}
	for i := head; i < len(ds); i += 3 {
		if b.Len() > 0 {
			b.WriteString(sep)
		}
		b.WriteString(ds[i : i+3])
	}
	return b.String()
}

// Month and weekday names, read-only.
var (
	monthsEs   = [...]string{"enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre"}
	monthsEn   = [...]string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}
	weekdaysEs = [...]string{"domingo", "lunes", "martes", "miércoles", "jueves", "viernes", "sábado"}
	weekdaysEn = [...]string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}
)

// Date writes t's day in the tenant's time zone: es "1 de marzo de 2026",
// en "March 1, 2026".
func (l Locale) Date(lang Lang, t time.Time) string {
	t = t.In(l.Zone())
	if lang == English {
		return fmt.Sprintf("%s %d, %d", monthsEn[t.Month()-1], t.Day(), t.Year())
	}
	return fmt.Sprintf("%d de %s de %d", t.Day(), monthsEs[t.Month()-1], t.Year())
}

// LongDate is Date with the weekday: es "domingo, 1 de marzo de 2026", en
// "Sunday, March 1, 2026".
func (l Locale) LongDate(lang Lang, t time.Time) string {
	wd := t.In(l.Zone()).Weekday()
	if lang == English {
		return weekdaysEn[wd] + ", " + l.Date(lang, t)
	}
	return weekdaysEs[wd] + ", " + l.Date(lang, t)
}

// Time writes t's time of day in the tenant's time zone: es on 24 hours
// "20:30", en on 12 "8:30 PM".
func (l Locale) Time(lang Lang, t time.Time) string {
	t = t.In(l.Zone())
	if lang == English {
		return t.Format("3:04 PM")
	}
	return t.Format("15:04")
}

// DateTime is Date and Time: es "1 de marzo de 2026, 20:30", en "March 1,
// 2026, 8:30 PM".
func (l Locale) DateTime(lang Lang, t time.Time) string {
	return l.Date(lang, t) + ", " + l.Time(lang, t)
}

package i18n

import (
	"maps"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tenancy/platform/tenant"
)

func mustLocale(t *testing.T, locale, currency, zone string) Locale {
	t.Helper()
	l, err := NewLocale(locale, currency, zone)
	if err != nil {
		t.Fatalf("NewLocale(%q, %q, %q): %v", locale, currency, zone, err)
	}
	return l
}

func TestMoney(t *testing.T) {
	t.Parallel()
	tests := []struct {
		locale, currency string
		cents            int64
		want             string
	}{
		// CLP: pesos × 100 in the schema, shown without decimals.
		{"es-CL", "CLP", 1299000, "$12.990"},
		{"es-CL", "CLP", 0, "$0"},
		{"es-CL", "CLP", 100, "$1"},
		{"es-CL", "CLP", 99900, "$999"},
		{"es-CL", "CLP", 100000, "$1.000"},
		{"es-CL", "CLP", 123456789000, "$1.234.567.890"},
		{"es-CL", "CLP", 149, "$1"},   // rounds half away from zero
		{"es-CL", "CLP", 150, "$2"},   //
		{"es-CL", "CLP", -150, "-$2"}, //
		{"es-CL", "CLP", -49, "$0"},   // no "-$0"
		{"es-CL", "CLP", -1299000, "-$12.990"},
		// MXN and USD: two decimals.
		{"es-MX", "MXN", 12990, "$129.90"},
		{"es-MX", "MXN", 129990, "$1,299.90"},
		{"es-MX", "MXN", 5, "$0.05"},
		{"es-MX", "MXN", -129990, "-$1,299.90"},
		{"es-MX", "MXN", 100000000, "$1,000,000.00"},
		{"en-US", "USD", 1299, "$12.99"},
		{"en-US", "USD", 129999, "$1,299.99"},
		// A currency abroad keeps its own digits, takes the locale's
		// separators and a symbol that tells it apart.
		{"es-CL", "USD", 129999, "US$1.299,99"},
		{"es-CL", "MXN", 12990, "MX$129,90"},
		{"es-MX", "CLP", 1299000, "CLP$12,990"},
		{"en-US", "MXN", 129990, "MX$1,299.90"},
		{"en-US", "CLP", 1299000, "CLP$12,990"},
		{"es-MX", "USD", math.MinInt64, "-US$92,233,720,368,547,758.08"},
	}
	for _, tt := range tests {
		if got := mustLocale(t, tt.locale, tt.currency, "UTC").Money(tt.cents); got != tt.want {
			t.Errorf("%s %s Money(%d) = %q, want %q", tt.locale, tt.currency, tt.cents, got, tt.want)
		}
	}
}

// The zero Locale writes like es-CL, CLP, UTC.
func TestZeroLocale(t *testing.T) {
	t.Parallel()
	var l Locale
	if l.Money(1299000) != "$12.990" || l.Number(1000) != "1.000" || l.Zone() != time.UTC || l.Tag() != "" {
		t.Errorf("zero Locale: %q %q %s %q", l.Money(1299000), l.Number(1000), l.Zone(), l.Tag())
	}
}

func TestNumber(t *testing.T) {
	t.Parallel()
	cl, mx := mustLocale(t, "es-CL", "", "UTC"), mustLocale(t, "es-MX", "", "UTC")
	for _, tt := range []struct {
		n      int64
		cl, mx string
	}{{0, "0", "0"}, {999, "999", "999"}, {1000, "1.000", "1,000"}, {-1234567, "-1.234.567", "-1,234,567"}, {100000, "100.000", "100,000"}} {
		if got := cl.Number(tt.n); got != tt.cl {
			t.Errorf("es-CL Number(%d) = %q, want %q", tt.n, got, tt.cl)
		}
		if got := mx.Number(tt.n); got != tt.mx {
			t.Errorf("es-MX Number(%d) = %q, want %q", tt.n, got, tt.mx)
		}
	}
}

func TestDates(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 1, 23, 30, 0, 0, time.UTC) // 20:30 in Santiago (UTC-3 in March)
	scl := mustLocale(t, "", "", "America/Santiago")
	mex := mustLocale(t, "", "", "America/Mexico_City") // UTC-6: 17:30
	tests := []struct {
		loc                 Locale
		lang                Lang
		t                   time.Time
		date, dateTime, day string
	}{
		{scl, Spanish, at, "1 de marzo de 2026", "1 de marzo de 2026, 20:30", "domingo, 1 de marzo de 2026"},
		{scl, English, at, "March 1, 2026", "March 1, 2026, 8:30 PM", "Sunday, March 1, 2026"},
		{mex, Spanish, at, "1 de marzo de 2026", "1 de marzo de 2026, 17:30", "domingo, 1 de marzo de 2026"},
		{mex, English, at, "March 1, 2026", "March 1, 2026, 5:30 PM", "Sunday, March 1, 2026"},
		// The tenant's day, not UTC's: 02:00 UTC on the 2nd is still the 1st in Santiago.
		{scl, Spanish, time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC), "1 de marzo de 2026", "1 de marzo de 2026, 23:00", "domingo, 1 de marzo de 2026"},
		// Winter time (UTC-4, until the first Sunday of September), midnight and noon.
		{scl, Spanish, time.Date(2026, 7, 15, 4, 5, 0, 0, time.UTC), "15 de julio de 2026", "15 de julio de 2026, 00:05", "miércoles, 15 de julio de 2026"},
		{scl, English, time.Date(2026, 7, 15, 4, 5, 0, 0, time.UTC), "July 15, 2026", "July 15, 2026, 12:05 AM", "Wednesday, July 15, 2026"},
		{scl, English, time.Date(2026, 12, 31, 15, 0, 0, 0, time.UTC), "December 31, 2026", "December 31, 2026, 12:00 PM", "Thursday, December 31, 2026"},
		{scl, Spanish, time.Date(2026, 9, 5, 16, 0, 0, 0, time.UTC), "5 de septiembre de 2026", "5 de septiembre de 2026, 12:00", "sábado, 5 de septiembre de 2026"},
		{Locale{}, Spanish, at, "1 de marzo de 2026", "1 de marzo de 2026, 23:30", "domingo, 1 de marzo de 2026"}, // zero Locale: UTC
	}
	for _, tt := range tests {
		if got := tt.loc.Date(tt.lang, tt.t); got != tt.date {
			t.Errorf("%s %s Date(%s) = %q, want %q", tt.loc.Zone(), tt.lang, tt.t, got, tt.date)
		}
		if got := tt.loc.DateTime(tt.lang, tt.t); got != tt.dateTime {
			t.Errorf("%s %s DateTime(%s) = %q, want %q", tt.loc.Zone(), tt.lang, tt.t, got, tt.dateTime)
		}
		if got := tt.loc.LongDate(tt.lang, tt.t); got != tt.day {
			t.Errorf("%s %s LongDate(%s) = %q, want %q", tt.loc.Zone(), tt.lang, tt.t, got, tt.day)
		}
	}
	c := mustCatalog(t)
	z := c.Localizer(English, scl)
	if z.Date(at) != "March 1, 2026" || z.DateTime(at) != "March 1, 2026, 8:30 PM" || z.Time(at) != "8:30 PM" ||
		z.LongDate(at) != "Sunday, March 1, 2026" || z.Money(1299000) != "$12.990" || z.Number(1000) != "1.000" {
		t.Errorf("Localizer: %q %q %q %q %q %q", z.Date(at), z.DateTime(at), z.Time(at), z.LongDate(at), z.Money(1299000), z.Number(1000))
	}
	for m := time.January; m <= time.December; m++ {
		d := time.Date(2026, m, 10, 12, 0, 0, 0, time.UTC)
		if es, en := scl.Date(Spanish, d), scl.Date(English, d); !strings.Contains(es, " de "+monthsEs[m-1]+" de ") || !strings.HasPrefix(en, m.String()+" ") {
			t.Errorf("month %s: %q, %q", m, es, en)
		}
	}
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	for zone, want := range map[string]string{
		"America/Santiago": "es-CL", "America/Punta_Arenas": "es-CL", "Pacific/Easter": "es-CL",
		"America/Mexico_City": "es-MX", "America/Monterrey": "es-MX", "America/Tijuana": "es-MX", "America/Cancun": "es-MX",
		"America/Hermosillo": "es-MX", "Europe/Madrid": "es-CL", "America/New_York": "es-CL", "UTC": "es-CL", "": "es-CL",
	} {
		if got := DefaultLocale(zone); got != want {
			t.Errorf("DefaultLocale(%q) = %q, want %q", zone, got, want)
		}
	}
	for locale, want := range map[string]string{"es-CL": "CLP", "es-MX": "MXN", "en-US": "USD", "fr-FR": ""} {
		if got := DefaultCurrency(locale); got != want {
			t.Errorf("DefaultCurrency(%q) = %q, want %q", locale, got, want)
		}
	}
	for _, tt := range []struct{ locale, currency, zone, wantLocale, wantCurrency string }{
		{"", "", "America/Santiago", "es-CL", "CLP"},
		{"", "", "America/Mexico_City", "es-MX", "MXN"},
		{"en-US", "", "America/Santiago", "en-US", "USD"},
		{"", "USD", "America/Mexico_City", "es-MX", "USD"},
		{"", "", "", "es-CL", "CLP"},
	} {
		l := mustLocale(t, tt.locale, tt.currency, tt.zone)
		if l.Tag() != tt.wantLocale || l.Currency() != tt.wantCurrency {
			t.Errorf("NewLocale(%q, %q, %q) = %s %s, want %s %s", tt.locale, tt.currency, tt.zone, l.Tag(), l.Currency(), tt.wantLocale, tt.wantCurrency)
		}
	}
}

func TestNewLocaleErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ locale, currency, zone, want string }{
		{"fr-FR", "", "UTC", `unknown locale "fr-FR": want one of es-CL, es-MX, en-US`},
		{"es-CL", "EUR", "UTC", `unknown currency "EUR": want one of CLP, MXN, USD`},
		{"", "", "Mars/Olympus", `time zone "Mars/Olympus"`},
		{"", "", "Local", `time zone "Local"`},
	} {
		if _, err := NewLocale(tt.locale, tt.currency, tt.zone); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("NewLocale(%q, %q, %q): %v, want %q", tt.locale, tt.currency, tt.zone, err, tt.want)
		}
	}
}

func TestForTenant(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		tz       string
		settings map[string]any
		want     string // tag currency zone, or "error"
	}{
		{"America/Santiago", nil, "es-CL CLP America/Santiago"},
		{"America/Mexico_City", map[string]any{"session_idle": "30m0s"}, "es-MX MXN America/Mexico_City"},
		{"America/Santiago", map[string]any{tenant.SettingLocale: "en-US"}, "en-US USD America/Santiago"},
		{"America/Mexico_City", map[string]any{tenant.SettingLocale: "es-MX", tenant.SettingCurrency: "USD"}, "es-MX USD America/Mexico_City"},
		{"America/Santiago", map[string]any{tenant.SettingLocale: "xx"}, "error"},
		{"Nowhere/Town", nil, "error"},
	} {
		l, err := ForTenant(&tenant.Tenant{Slug: "acme", TimeZone: tt.tz, Settings: tt.settings})
		got := "error"
		if err == nil {
			got = l.Tag() + " " + l.Currency() + " " + l.Zone().String()
		} else if !strings.Contains(err.Error(), "acme") {
			t.Errorf("error %v does not name the tenant", err)
		}
		if got != tt.want {
			t.Errorf("ForTenant(%s, %v) = %s (%v), want %s", tt.tz, tt.settings, got, err, tt.want)
		}
	}
}

// The settings accept exactly the locales and currencies formatted here,
// and every settable value produces a Locale.
func TestTablesMatchSettings(t *testing.T) {
	t.Parallel()
	if got, want := slices.Sorted(maps.Keys(numberFormats)), slices.Sorted(slices.Values(tenant.SupportedLocales())); !slices.Equal(got, want) {
		t.Errorf("number formats for %v, settings accept %v", got, want)
	}
	if got, want := slices.Sorted(maps.Keys(currencyFormats)), slices.Sorted(slices.Values(tenant.SupportedCurrencies())); !slices.Equal(got, want) {
		t.Errorf("currency formats for %v, settings accept %v", got, want)
	}
	for _, loc := range tenant.SupportedLocales() {
		if DefaultCurrency(loc) == "" {
			t.Errorf("locale %s has no default currency", loc)
		}
		for _, cur := range tenant.SupportedCurrencies() {
			set, err := tenant.ApplySettings(nil, map[string]string{tenant.SettingLocale: loc, tenant.SettingCurrency: cur}, nil)
			if err != nil {
				t.Fatalf("settings %s %s: %v", loc, cur, err)
			}
			if _, err := ForTenant(&tenant.Tenant{Slug: "t", TimeZone: "America/Santiago", Settings: set}); err != nil {
				t.Errorf("%s %s: %v", loc, cur, err)
			}
		}
	}
}

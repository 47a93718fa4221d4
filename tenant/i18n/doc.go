// Package i18n holds the tenant web console's languages: message catalogs
// in Spanish (the default) and English, the choice of language for a
// request, and money, number and date formatting for a tenant's locale,
// currency and time zone.
//
// # How the console uses it
//
// Load the embedded catalogs once, at start, and share the *Catalog (it is
// read-only and safe for concurrent use):
//
//	cat, err := i18n.NewCatalog()
//
// Per tenant (the tenant's settings change rarely; rebuild it when the
// tenant does), its Locale from the settings `locale` and `currency` and the
// tenant's time zone:
//
//	loc, err := i18n.ForTenant(t) // t *tenant.Tenant
//
// Per request, the language from the Accept-Language header and the choice
// the user saved with the language switch ("es" or "en", "" when none), and
// a Localizer that joins both:
//
//	lang := i18n.Negotiate(r.Header.Get("Accept-Language"), user.Lang)
//	l := cat.Localizer(lang, loc)
//
// Storing the saved choice (a column of the user, copied into the session)
// is the caller's: this package only reads it. [ParseLang] checks what the
// switch posts; the switch's labels are lang.es and lang.en ("Español",
// "English" in both catalogs).
//
// Pass l to the page's template data and call its methods from the template;
// html/template escapes what they return, and an unknown key or a missing
// template argument fails the execution (so a page test catches it):
//
//	<html lang="{{.L.Lang}}">
//	<h1>{{.L.T "login.title"}}</h1>
//	<p>{{.L.T "home.welcome" "Name" .User.Name}}</p>
//	<li>{{.L.N "count.teaching_loads" .Cascade.TeachingLoads}}</li>
//	<td>{{.L.Money .Item.PriceCents}}</td> <td>{{.L.DateTime .Order.CreatedAt}}</td>
//
// # Messages
//
// Messages live in locales/es.toml and locales/en.toml (go-i18n's format,
// github.com/nicksnyder/go-i18n/v2), embedded in the binary. Keys are stable
// and dotted ("login.title"); arguments are Go template fields
// ({{.Name}}); a plural message has CLDR plural forms (one, other) chosen
// by the count given to [Localizer.N], which also sets {{.Count}} (grouped
// like the tenant's numbers). Both catalogs have the same keys, the same
// arguments per key and the same plural keys: the package's tests fail
// otherwise. Add a string to both files at once.
//
// # Formatting
//
// Money and numbers follow the tenant's locale (es-CL groups with '.',
// es-MX and en-US with ',' and use '.' for decimals) and currency (CLP
// without decimals, MXN and USD with two); amounts are stored in cents of
// the currency, CLP too (pesos × 100). Dates and times are shown in the
// tenant's time zone with the request language's names and patterns
// (es: "1 de marzo de 2026, 20:30", en: "March 1, 2026, 8:30 PM"), so an
// English-speaking user of a Chilean restaurant reads English dates and
// the restaurant's own prices.
package i18n

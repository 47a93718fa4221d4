package i18n

import "testing"

// A calendar date is the same day in every zone, west of UTC included.
func TestDay(t *testing.T) {
	t.Parallel()
	c := mustCatalog(t)
	for _, zone := range []string{"America/Santiago", "America/Mexico_City", "UTC", "Asia/Tokyo", "Pacific/Kiritimati", "Pacific/Pago_Pago"} {
		loc, err := NewLocale("", "", zone)
		if err != nil {
			t.Fatal(err)
		}
		for lang, want := range map[Lang]string{Spanish: "1 de marzo de 2026", English: "March 1, 2026"} {
			if got, ok := c.Localizer(lang, loc).Day("2026-03-01"); !ok || got != want {
				t.Errorf("%s %s: %q %v, want %q", zone, lang, got, ok, want)
			}
		}
	}
	loc, err := NewLocale("", "", "UTC")
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"", "2026-02-30", "01/03/2026", "2026-03-01T00:00:00Z"} {
		if got, ok := c.Localizer(Spanish, loc).Day(bad); ok || got != bad {
			t.Errorf("Day(%q) = %q, %v", bad, got, ok)
		}
	}
}

package i18n

import (
	"testing"
	"time"
)

// What the console pays per request and per string (run on demand:
// go test -run - -bench . ./tenant/i18n/).
func BenchmarkNegotiate(b *testing.B) {
	for b.Loop() {
		Negotiate("es-CL,es;q=0.9,en;q=0.8", "")
	}
}

func BenchmarkLocalize(b *testing.B) {
	c, err := NewCatalog()
	if err != nil {
		b.Fatal(err)
	}
	loc, err := NewLocale("", "", "America/Santiago")
	if err != nil {
		b.Fatal(err)
	}
	at := time.Date(2026, 3, 1, 23, 30, 0, 0, time.UTC)
	b.Run("T", func(b *testing.B) {
		z := c.Localizer(Spanish, loc)
		for b.Loop() {
			if _, err := z.T("login.title"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("T with argument", func(b *testing.B) {
		z := c.Localizer(Spanish, loc)
		for b.Loop() {
			if _, err := z.T("home.welcome", "Name", "Ana"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("N", func(b *testing.B) {
		z := c.Localizer(English, loc)
		for b.Loop() {
			if _, err := z.N("count.teaching_loads", 1234); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Money", func(b *testing.B) {
		for b.Loop() {
			loc.Money(1299000)
		}
	})
	b.Run("DateTime", func(b *testing.B) {
		for b.Loop() {
			loc.DateTime(Spanish, at)
		}
	})
}

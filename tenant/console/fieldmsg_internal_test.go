package console

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/i18n"
	"github.com/tenancy/platform/tenant/institution"
	"github.com/tenancy/platform/tenant/resource"
	"github.com/tenancy/platform/tenant/restaurant"
)

// engineMessages are the field messages the engine gives for bad input to
// every spec of both kinds: wrong types, bounds, nulls, unknown and
// read-only fields, immutable changes, dates and times out of order, bad
// list parameters; and the ones of resourcepg.Translate.
func engineMessages(t *testing.T) map[string]bool {
	t.Helper()
	msgs := map[string]bool{"is taken": true, "names no branch": true, "is required": true,
		"is not allowed (rule periods_check)": true, "names a row that does not exist": true,
		"a value is out of range": true, "a value is not valid": true}
	add := func(err error) {
		if err != nil && tenant.ErrorCode(err) != tenant.EValidation {
			t.Fatalf("not a validation error: %v", err)
		}
		for _, m := range tenant.ErrorFields(err) {
			msgs[m] = true
		}
	}
	decode := func(sp *resource.Spec, body map[string]any, cur *resource.Row) {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		_, err = resource.Decode(sp, b, cur)
		add(err)
	}
	specs := append(append([]*resource.Spec{restaurant.OrderItems}, restaurant.Specs...), institution.Specs()...)
	long := strings.Repeat("x", 10001)
	for _, sp := range specs {
		bad := []any{123, "x", "", long, -1, 1 << 40, "\u0001", true, "[]", nil, []int{1}, 0, -1 << 40}
		for _, v := range bad {
			body := map[string]any{"no_such_field": 1}
			for _, f := range sp.Fields {
				body[f.Name] = v
			}
			decode(sp, body, nil)
		}
		decode(sp, map[string]any{}, nil)
		// Dates and times each later than the next, then the other way;
		// the other fields their examples, so that the spec's own checks run.
		for _, step := range []int{-1, 1} {
			body := map[string]any{}
			for _, f := range sp.Fields {
				if !f.ReadOnly && !f.ByUser && f.Example != nil {
					body[f.Name] = f.Example
				}
			}
			day := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
			for _, f := range sp.Fields {
				switch {
				case f.ReadOnly || f.ByUser:
				case f.Type == resource.Date:
					body[f.Name] = day.Format(time.DateOnly)
					day = day.AddDate(0, 0, step)
				case f.Type == resource.Time:
					body[f.Name] = day.Format(time.RFC3339)
					day = day.Add(time.Duration(step) * time.Hour)
				}
			}
			decode(sp, body, nil)
		}
		cur := resource.Row{}
		decode(sp, map[string]any{}, &cur)
		for _, f := range sp.Fields {
			if f.Immutable {
				decode(sp, map[string]any{f.Name: 1}, &cur)
			}
		}
		_, err := resource.ParseList(sp, []string{"limit", "cursor", "nope"}, getter{"limit": "0", "cursor": "x", "nope": "1"}.get)
		add(err)
	}
	return msgs
}

type getter map[string]string

func (g getter) get(k string) string { return g[k] }

// Every message the engine gives is shown in the page's language: none
// reaches a Spanish (or English) page in the API's words.
func TestEngineMessagesTranslated(t *testing.T) {
	t.Parallel()
	cat, err := i18n.NewCatalog()
	if err != nil {
		t.Fatal(err)
	}
	loc, err := i18n.NewLocale("es-CL", "CLP", "America/Santiago")
	if err != nil {
		t.Fatal(err)
	}
	s := &Console{cfg: Config{Catalog: cat}}
	msgs := engineMessages(t)
	if len(msgs) < 25 {
		t.Fatalf("only %d messages: %v", len(msgs), slices.Sorted(maps.Keys(msgs)))
	}
	for _, lang := range i18n.Langs() {
		p := &Page{L: cat.Localizer(lang, loc)}
		for _, m := range slices.Sorted(maps.Keys(msgs)) {
			got := s.restMessage(p, m)
			if got == m || strings.Contains(got, ".") && !strings.Contains(got, " ") {
				t.Errorf("%s: %q shown as %q", lang, m, got)
			}
		}
	}
	p := &Page{L: cat.Localizer(i18n.Spanish, loc)}
	for m, want := range map[string]string{
		"must be after starts_on (2026-03-01)": "Debe ser posterior a «Comienza el» (1 de marzo de 2026).",
		"must be at most 200 characters":       "Máximo 200 caracteres.",
		"must be at most 2147483647 cents":     "El monto máximo es " + p.L.Money(2147483647) + ".",
	} {
		if got := s.restMessage(p, m); got != want {
			t.Errorf("%q → %q, want %q", m, got, want)
		}
	}
}

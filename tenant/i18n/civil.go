package i18n

import "time"

// Day writes a calendar date ("2026-03-01", a Date field: no time, no
// zone) as Date does. It is not moved into the tenant's zone: parsed as a
// UTC midnight and shown in America/Santiago it would be the day before.
// ok is false when ds is not a date.
func (l *Localizer) Day(ds string) (s string, ok bool) {
	d, err := time.ParseInLocation(time.DateOnly, ds, l.locale.Zone())
	if err != nil {
		return ds, false
	}
	return l.Date(d), true
}

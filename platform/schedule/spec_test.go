package schedule_test

import (
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tenancy/platform/platform/schedule"
	"github.com/tenancy/platform/tenant"
)

// fakeID is a deterministic uuid-shaped id, so the spread test cannot flake.
func fakeID(i int) string {
	h := sha256.Sum256([]byte(fmt.Sprint("tenant ", i)))
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// TestDefaultOffsetsSpread: 1000 tenants spread over 03:00–03:59 roughly
// uniformly (chi-square under the 0.1% critical value for 59 degrees of
// freedom), and one tenant always gets the same minute.
func TestDefaultOffsetsSpread(t *testing.T) {
	var counts [60]int
	for i := range 1000 {
		tn := &tenant.Tenant{ID: fakeID(i), TimeZone: "UTC"}
		m := schedule.OffsetMinute(tn)
		if m < 0 || m > 59 {
			t.Fatalf("minute %d", m)
		}
		if again := schedule.OffsetMinute(&tenant.Tenant{ID: tn.ID}); again != m {
			t.Fatalf("id %s: minute %d then %d", tn.ID, m, again)
		}
		if want := fmt.Sprintf("CRON_TZ=UTC %d 3 * * *", m); schedule.DefaultBackupSpec(tn) != want {
			t.Fatalf("spec %q, want %q", schedule.DefaultBackupSpec(tn), want)
		}
		counts[m]++
	}
	days := map[int]bool{}
	for i := range 1000 {
		tn := &tenant.Tenant{ID: fakeID(i), TimeZone: "America/Santiago"}
		sched, err := schedule.ParseSpec(schedule.DefaultVerifySpec(tn), "UTC")
		if err != nil {
			t.Fatal(err)
		}
		l := sched.Next(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)).In(santiago(t))
		if l.Hour() != 4 || l.Minute() != schedule.OffsetMinute(tn) || l.Day() > 28 {
			t.Fatalf("verify of %s at %s", tn.ID, l)
		}
		days[l.Day()] = true
		if _, err := schedule.ParseSpec(schedule.DefaultPruneSpec(tn), "UTC"); err != nil {
			t.Fatal(err)
		}
	}
	if len(days) != 28 {
		t.Errorf("restore drills on %d distinct days, want 28", len(days))
	}
	exp := 1000.0 / 60
	chi := 0.0
	for m, c := range counts {
		if c == 0 {
			t.Errorf("no tenant at 03:%02d", m)
		}
		chi += (float64(c) - exp) * (float64(c) - exp) / exp
	}
	if chi > 98.3 {
		t.Errorf("chi-square %.1f: minutes not uniform: %v", chi, counts)
	}
}

func santiago(t *testing.T) *time.Location {
	t.Helper()
	l, err := time.LoadLocation("America/Santiago")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestDefaultInTenantTimeZone: 03:MM local in Santiago (DST in December)
// and in Mexico City, which are different instants.
func TestDefaultInTenantTimeZone(t *testing.T) {
	ref := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	var utc []time.Time
	for _, tz := range []string{"America/Santiago", "America/Mexico_City"} {
		tn := &tenant.Tenant{ID: "0b7e6a0e-0000-4000-8000-000000000001", TimeZone: tz}
		sched, err := schedule.ParseSpec(schedule.DefaultBackupSpec(tn), "UTC") // the spec carries its zone
		if err != nil {
			t.Fatal(err)
		}
		loc, _ := time.LoadLocation(tz)
		next := sched.Next(ref)
		l := next.In(loc)
		if l.Hour() != 3 || l.Minute() != schedule.OffsetMinute(tn) || !next.After(ref) || next.Sub(ref) > 24*time.Hour {
			t.Errorf("%s: next %s (local %s)", tz, next.UTC(), l)
		}
		utc = append(utc, next.UTC())
	}
	// Santiago is UTC-3 in December, Mexico City UTC-6: three hours apart.
	if d := utc[1].Sub(utc[0]); d != 3*time.Hour {
		t.Errorf("Mexico City runs %s after Santiago, want 3h", d)
	}
	// A spec without a zone takes the tenant's.
	sched, err := schedule.ParseSpec("0 3 * * *", "America/Santiago")
	if err != nil {
		t.Fatal(err)
	}
	if got := sched.Next(ref).UTC(); !got.Equal(time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC)) {
		t.Errorf("03:00 Santiago = %s UTC", got)
	}
}

func TestValidateSpec(t *testing.T) {
	for _, s := range []string{"0 3 * * *", "*/10 * * * * *", "@daily", "@every 90m", "CRON_TZ=America/Santiago 15 3 * * *", "TZ=UTC @hourly"} {
		if err := schedule.ValidateSpec(s); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
	for s, want := range map[string]string{
		"":                               "empty schedule",
		"not a schedule":                 "invalid schedule",
		"61 3 * * *":                     "invalid schedule",
		"1 2 3 4 5 6 7":                  "invalid schedule",
		"CRON_TZ=UTC":                    "nothing after the time zone",
		"CRON_TZ=Mars/Olympus 0 3 * * *": "unknown time zone",
		"0 0 30 2 *":                     "never fires",
		"@sometimes":                     "invalid schedule",
	} {
		err := schedule.ValidateSpec(s)
		if tenant.ErrorCode(err) != tenant.EInvalid || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %s", s, err, want)
		}
	}
}

// TestEveryIsAligned: "@every d" slots are multiples of d whenever asked,
// so replicas started apart agree on them.
func TestEveryIsAligned(t *testing.T) {
	s, err := schedule.ParseSpec("@every 5m", "UTC")
	if err != nil {
		t.Fatal(err)
	}
	a := s.Next(time.Date(2026, 1, 1, 10, 1, 17, 5, time.UTC))
	b := s.Next(time.Date(2026, 1, 1, 10, 4, 59, 0, time.UTC))
	if want := time.Date(2026, 1, 1, 10, 5, 0, 0, time.UTC); !a.Equal(want) || !b.Equal(want) {
		t.Errorf("next = %s, %s; want %s", a, b, want)
	}
}

func TestBackoffDelay(t *testing.T) {
	b := schedule.Backoff{Attempts: 5, Base: time.Second, Max: 5 * time.Second}
	for n, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second} {
		if got := b.Delay(n + 1); got != want {
			t.Errorf("Delay(%d) = %s, want %s", n+1, got, want)
		}
	}
}

func TestShortError(t *testing.T) {
	long := strings.Repeat("é", 400)
	for in, want := range map[string]string{
		"a\n\tb": "a b",
		"dial redis://:pw@h:6379 and s3://k:s@b/p": "dial redis://***@h:6379 and s3://***@b/p",
	} {
		if got := schedule.ShortError(fmt.Errorf("%s", in)); got != want {
			t.Errorf("ShortError(%q) = %q, want %q", in, got, want)
		}
	}
	if got := schedule.ShortError(fmt.Errorf("%s", long)); len(got) > 300 || !strings.HasSuffix(got, "...") || !strings.HasPrefix(got, "éé") {
		t.Errorf("long error cut to %d bytes: %q", len(got), got)
	}
}

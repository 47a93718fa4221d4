package schedule

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // tenant time zones must load on minimal images too

	"github.com/robfig/cron/v3"

	"github.com/tenancy/platform/tenant"
)

// SpecFormat describes the schedules this package accepts, for messages.
const SpecFormat = `5 fields "minute hour day-of-month month day-of-week" (e.g. "30 3 * * *"), ` +
	`6 with a leading seconds field (e.g. "*/10 * * * * *"), or a descriptor (@hourly, @daily, @weekly, @monthly, @every 1h30m), ` +
	`optionally after CRON_TZ=<IANA zone> (default: the tenant's time zone)`

// parser accepts the standard 5-field cron syntax, an optional leading
// seconds field (6 fields) and descriptors (@daily, @every 1h).
var parser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ParseSpec parses spec (see SpecFormat) in the time zone tz ("" is UTC)
// unless spec names its own with CRON_TZ= (or TZ=).
//
// "@every d" is aligned on multiples of d since the zero time, not on the
// moment the schedule was parsed, so that replicas started at different
// times agree on its slots.
func ParseSpec(spec, tz string) (cron.Schedule, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, tenant.Errorf(tenant.EInvalid, "empty schedule: want %s", SpecFormat)
	}
	if strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "CRON_TZ=") {
		// robfig/cron panics on a zone with nothing after it: split here.
		zone, rest, _ := strings.Cut(spec[strings.IndexByte(spec, '=')+1:], " ")
		tz, spec = zone, strings.TrimSpace(rest)
		if spec == "" {
			return nil, tenant.Errorf(tenant.EInvalid, "invalid schedule: nothing after the time zone %q: want %s", zone, SpecFormat)
		}
	}
	if tz == "" {
		tz = "UTC"
	}
	if _, err := time.LoadLocation(tz); err != nil || tz == "Local" {
		return nil, tenant.Errorf(tenant.EInvalid, "invalid schedule: unknown time zone %q (want an IANA name such as America/Santiago)", tz)
	}
	s, err := parser.Parse("CRON_TZ=" + tz + " " + spec)
	if err != nil {
		return nil, tenant.Errorf(tenant.EInvalid, "invalid schedule %q: %v; want %s", spec, err, SpecFormat)
	}
	if d, ok := s.(cron.ConstantDelaySchedule); ok {
		return aligned{d.Delay}, nil
	}
	// robfig/cron gives up (zero time) after five years without a match.
	if s.Next(time.Now()).IsZero() {
		return nil, tenant.Errorf(tenant.EInvalid, "invalid schedule %q: it never fires (no such date)", spec)
	}
	return s, nil
}

// ValidateSpec checks a schedule given by an operator, with a message that
// says what is wrong and what is accepted.
func ValidateSpec(spec string) error {
	_, err := ParseSpec(spec, "UTC")
	return err
}

// aligned is "@every d" on a fixed grid: its slots are the multiples of d.
type aligned struct{ d time.Duration }

func (a aligned) Next(t time.Time) time.Time { return t.Truncate(a.d).Add(a.d) }

// DefaultBackupSpec is the default backup schedule of t: daily at 03:MM in
// its time zone, where MM (0–59) is derived from its id, so that a
// thousand tenants do not all start at 03:00 and each keeps its minute.
func DefaultBackupSpec(t *tenant.Tenant) string {
	return fmt.Sprintf("CRON_TZ=%s %d 3 * * *", zone(t), OffsetMinute(t))
}

// DefaultVerifySpec is the default restore drill of t: monthly, on a
// day (1–28) and at 04:MM in its time zone derived from its id like the
// backup's minute, so drills spread over the month and follow a backup.
func DefaultVerifySpec(t *tenant.Tenant) string {
	return fmt.Sprintf("CRON_TZ=%s %d 4 %d * *", zone(t), OffsetMinute(t), 1+hash(t, "verify")%28)
}

// DefaultPruneSpec is the default retention run of t: daily at 05:MM in
// its time zone, after the night's backup.
func DefaultPruneSpec(t *tenant.Tenant) string {
	return fmt.Sprintf("CRON_TZ=%s %d 5 * * *", zone(t), OffsetMinute(t))
}

func zone(t *tenant.Tenant) string {
	if t.TimeZone == "" {
		return "UTC"
	}
	return t.TimeZone
}

func hash(t *tenant.Tenant, salt string) int {
	key := t.ID
	if key == "" {
		key = t.Slug
	}
	h := sha256.Sum256([]byte(salt + key))
	return int(binary.BigEndian.Uint64(h[:8]) % (1 << 62))
}

// OffsetMinute is the deterministic per-tenant minute (0–59) of
// DefaultBackupSpec.
func OffsetMinute(t *tenant.Tenant) int { return hash(t, "") % 60 }

// SettingSpec returns a Job.Spec that reads the tenant setting key (a
// string, e.g. "backup_schedule"); an unset or empty setting is "", which
// means the job's Default.
func SettingSpec(key string) func(t *tenant.Tenant) (string, error) {
	return func(t *tenant.Tenant) (string, error) {
		v, ok := t.Settings[key]
		if !ok || v == nil {
			return "", nil
		}
		s, ok := v.(string)
		if !ok {
			return "", tenant.Errorf(tenant.EInvalid, "setting %s is not a string", key)
		}
		return s, nil
	}
}

package tenant

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Per-tenant settings an operator may change (`platform tenant settings`),
// kept in the catalog's tenants.settings. A key not set takes its default.
const (
	SettingSessionLifetime = "session_lifetime"     // duration, absolute session lifetime; default 8h
	SettingSessionIdle     = "session_idle"         // duration without a request; default 30m
	SettingRotationDays    = "secret_rotation_days" // days before serve rotates a secret; 0 never; default 90
	// SettingBackupSchedule is the tenant's backup cron spec; default daily
	// at 03:MM in its time zone (MM per tenant). Its syntax is checked here
	// only loosely: the caller passes the scheduler's own check to
	// ApplySettingsChecked (tenant/ imports nothing of platform/).
	SettingBackupSchedule = "backup_schedule"
	// SettingVerifySchedule is the cron spec of the tenant's restore drill
	// (its newest backup verified); default monthly, on a day and at
	// 04:MM derived from the tenant. Checked like SettingBackupSchedule.
	SettingVerifySchedule = "verify_schedule"
	// SettingBackupRetention is "Nd,Nw,Nm": how many daily, weekly (ISO
	// week) and monthly backups are kept; default DefaultRetention.
	SettingBackupRetention = "backup_retention"
	// SettingLocale is the tenant's locale (BCP 47: es-CL, es-MX, en-US),
	// how its money and numbers are written; unset, it follows the time
	// zone (tenant/i18n.DefaultLocale: Mexican zones es-MX, else es-CL).
	SettingLocale = "locale"
	// SettingCurrency is the tenant's currency (ISO 4217: CLP, MXN, USD);
	// unset, the locale's (es-CL CLP, es-MX MXN, en-US USD).
	SettingCurrency = "currency"
)

// SupportedLocales are the values SettingLocale accepts.
func SupportedLocales() []string { return []string{"es-CL", "es-MX", "en-US"} }

// SupportedCurrencies are the values SettingCurrency accepts.
func SupportedCurrencies() []string { return []string{"CLP", "MXN", "USD"} }

// oneOf is the rule of a setting with a closed set of values, matched
// without regard to case and stored as the set spells it.
func oneOf(what string, values func() []string) func(string) (any, error) {
	return func(v string) (any, error) {
		for _, s := range values() {
			if strings.EqualFold(v, s) {
				return s, nil
			}
		}
		return nil, fmt.Errorf("unknown %s %q: want one of %s", what, v, strings.Join(values(), ", "))
	}
}

// Retention is a backup retention policy: the newest backup of each of the
// last Daily days, Weekly ISO weeks and Monthly months (in the tenant's
// time zone) is kept.
type Retention struct {
	Daily, Weekly, Monthly int
}

// DefaultRetention is 30 daily, 8 weekly, 12 monthly.
var DefaultRetention = Retention{Daily: 30, Weekly: 8, Monthly: 12}

func (r Retention) String() string { return fmt.Sprintf("%dd,%dw,%dm", r.Daily, r.Weekly, r.Monthly) }

// ParseRetention parses "30d,8w,12m" (each part optional, any order, at
// most once; a missing part is 0). At least one backup must be kept.
func ParseRetention(v string) (Retention, error) {
	var r Retention
	bad := fmt.Errorf(`want counts of daily, weekly and monthly backups such as "30d,8w,12m" (each 0 to 1000)`)
	seen := map[byte]bool{}
	for part := range strings.SplitSeq(strings.TrimSpace(v), ",") {
		part = strings.TrimSpace(part)
		if len(part) < 2 {
			return r, bad
		}
		unit := part[len(part)-1]
		n, err := strconv.Atoi(part[:len(part)-1])
		if err != nil || n < 0 || n > 1000 || seen[unit] || part[0] == '+' || part[0] == '-' {
			return r, bad
		}
		seen[unit] = true
		switch unit {
		case 'd':
			r.Daily = n
		case 'w':
			r.Weekly = n
		case 'm':
			r.Monthly = n
		default:
			return r, bad
		}
	}
	if r.Daily+r.Weekly+r.Monthly == 0 {
		return r, fmt.Errorf("a retention policy must keep at least one backup")
	}
	return r, nil
}

// BackupRetention is t's retention policy: its setting, or
// DefaultRetention when unset (or, defensively, unreadable).
func (t *Tenant) BackupRetention() Retention {
	if s, ok := t.Settings[SettingBackupRetention].(string); ok {
		if r, err := ParseRetention(s); err == nil {
			return r
		}
	}
	return DefaultRetention
}

// settingRules are the known settings: the value an operator types, checked
// and turned into what is stored.
var settingRules = map[string]func(string) (any, error){
	SettingSessionLifetime: durationBetween(5*time.Minute, 30*24*time.Hour),
	SettingSessionIdle:     durationBetween(time.Minute, 24*time.Hour),
	SettingRotationDays: func(v string) (any, error) {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 3650 {
			return nil, fmt.Errorf("want a number of days from 0 (never) to 3650")
		}
		return n, nil
	},
	SettingBackupSchedule: cronSpec,
	SettingVerifySchedule: cronSpec,
	SettingBackupRetention: func(v string) (any, error) {
		r, err := ParseRetention(v)
		if err != nil {
			return nil, err
		}
		return r.String(), nil
	},
	SettingLocale:   oneOf("locale", SupportedLocales),
	SettingCurrency: oneOf("currency", SupportedCurrencies),
}

// cronSpec is the loose check of a schedule (see SettingBackupSchedule).
func cronSpec(v string) (any, error) {
	if v == "" || len(v) > 200 || strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return nil, fmt.Errorf("want a cron spec such as \"0 2 * * *\" or @daily (one line, up to 200 characters)")
	}
	return v, nil
}

func durationBetween(lo, hi time.Duration) func(string) (any, error) {
	return func(v string) (any, error) {
		d, err := time.ParseDuration(v)
		if err != nil || d < lo || d > hi {
			return nil, fmt.Errorf("want a duration from %s to %s, such as 8h or 30m", lo, hi)
		}
		return d.String(), nil
	}
}

// SettingNames lists the known settings, sorted.
func SettingNames() []string {
	names := make([]string, 0, len(settingRules))
	for k := range settingRules {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// ApplySettings returns cur with set applied (key → value as typed) and
// unset removed, each checked; keys not known to the platform already in
// cur are kept. Every mistake is reported at once, per key.
func ApplySettings(cur map[string]any, set map[string]string, unset []string) (map[string]any, error) {
	return ApplySettingsChecked(cur, set, unset, nil)
}

// ApplySettingsChecked is ApplySettings with extra checks from the caller
// (key → check of the value as typed), run after the key's own rule: the
// backup schedule's cron syntax lives in platform/schedule, which tenant/
// must not import.
func ApplySettingsChecked(cur map[string]any, set map[string]string, unset []string, extra map[string]func(string) error) (map[string]any, error) {
	out := make(map[string]any, len(cur)+len(set))
	for k, v := range cur {
		out[k] = v
	}
	bad := map[string]string{}
	known := "known settings: " + strings.Join(SettingNames(), ", ")
	for k, v := range set {
		rule, ok := settingRules[k]
		if !ok {
			bad[k] = "unknown setting; " + known
			continue
		}
		val, err := rule(strings.TrimSpace(v))
		if err == nil && extra[k] != nil {
			err = extra[k](strings.TrimSpace(v))
		}
		if err != nil {
			bad[k] = err.Error()
			continue
		}
		out[k] = val
	}
	for _, k := range unset {
		if _, ok := settingRules[k]; !ok {
			bad[k] = "unknown setting; " + known
			continue
		}
		if _, also := set[k]; also {
			bad[k] = "both set and unset"
		}
		delete(out, k)
	}
	if len(bad) == 0 {
		life, idle := settingDuration(out, SettingSessionLifetime, 8*time.Hour), settingDuration(out, SettingSessionIdle, 30*time.Minute)
		if idle > life {
			bad[SettingSessionIdle] = fmt.Sprintf("%s is longer than the session lifetime %s", idle, life)
		}
	}
	if len(bad) > 0 {
		keys := make([]string, 0, len(bad))
		for k := range bad {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		msgs := make([]string, len(keys))
		for i, k := range keys {
			msgs[i] = k + ": " + bad[k]
		}
		return nil, &Error{Code: EInvalid, Message: strings.Join(msgs, "; "), Fields: bad}
	}
	return out, nil
}

func settingDuration(m map[string]any, key string, def time.Duration) time.Duration {
	if s, ok := m[key].(string); ok {
		if d, err := time.ParseDuration(s); err == nil {
			return d
		}
	}
	return def
}

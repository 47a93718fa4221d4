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
)

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

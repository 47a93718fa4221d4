package tenant

import (
	"slices"
	"strings"
	"testing"
)

func TestLocaleSettings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		set  map[string]string
		want map[string]any // nil: an error on bad, mentioning msg
		bad  string
		msg  string
	}{
		{map[string]string{SettingLocale: "es-CL"}, map[string]any{"locale": "es-CL"}, "", ""},
		{map[string]string{SettingLocale: "es-mx"}, map[string]any{"locale": "es-MX"}, "", ""}, // stored as spelled in the set
		{map[string]string{SettingLocale: " EN-us "}, map[string]any{"locale": "en-US"}, "", ""},
		{map[string]string{SettingCurrency: "clp"}, map[string]any{"currency": "CLP"}, "", ""},
		{map[string]string{SettingLocale: "en-US", SettingCurrency: "MXN"}, map[string]any{"locale": "en-US", "currency": "MXN"}, "", ""},
		{map[string]string{SettingLocale: "fr-FR"}, nil, "locale", `unknown locale "fr-FR": want one of es-CL, es-MX, en-US`},
		{map[string]string{SettingLocale: "es"}, nil, "locale", "unknown locale"},
		{map[string]string{SettingLocale: "es_CL"}, nil, "locale", "unknown locale"},
		{map[string]string{SettingLocale: ""}, nil, "locale", "unknown locale"},
		{map[string]string{SettingCurrency: "EUR"}, nil, "currency", `unknown currency "EUR": want one of CLP, MXN, USD`},
		{map[string]string{SettingCurrency: "$"}, nil, "currency", "unknown currency"},
	}
	for _, tt := range tests {
		got, err := ApplySettings(nil, tt.set, nil)
		if tt.want == nil {
			if err == nil || ErrorCode(err) != EInvalid || !strings.Contains(ErrorFields(err)[tt.bad], tt.msg) {
				t.Errorf("%v: %v, %v; want invalid_input on %s with %q", tt.set, got, err, tt.bad, tt.msg)
			}
			continue
		}
		if err != nil || len(got) != len(tt.want) {
			t.Errorf("%v: %v, %v; want %v", tt.set, got, err, tt.want)
			continue
		}
		for k, v := range tt.want {
			if got[k] != v {
				t.Errorf("%v: %s = %v, want %v", tt.set, k, got[k], v)
			}
		}
	}
	out, err := ApplySettings(map[string]any{"locale": "es-CL", "currency": "CLP"}, nil, []string{SettingLocale, SettingCurrency})
	if err != nil || len(out) != 0 {
		t.Errorf("unset: %v, %v", out, err)
	}
	names := SettingNames()
	if !slices.Contains(names, "locale") || !slices.Contains(names, "currency") {
		t.Errorf("SettingNames() = %v, want locale and currency in it", names)
	}
}

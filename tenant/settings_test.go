package tenant

import (
	"reflect"
	"strings"
	"testing"
)

func TestApplySettings(t *testing.T) {
	cur := map[string]any{"session_idle": "30m0s", "custom": true}
	tests := []struct {
		name  string
		set   map[string]string
		unset []string
		want  map[string]any
		bad   string // a key expected in the error
	}{
		{"set", map[string]string{"session_lifetime": "4h", "secret_rotation_days": "30"}, nil,
			map[string]any{"session_idle": "30m0s", "custom": true, "session_lifetime": "4h0m0s", "secret_rotation_days": 30}, ""},
		{"unset", nil, []string{"session_idle"}, map[string]any{"custom": true}, ""},
		{"never rotate", map[string]string{"secret_rotation_days": "0"}, nil,
			map[string]any{"session_idle": "30m0s", "custom": true, "secret_rotation_days": 0}, ""},
		{"unknown", map[string]string{"colour": "red"}, nil, nil, "colour"},
		{"unknown unset", nil, []string{"colour"}, nil, "colour"},
		{"bad duration", map[string]string{"session_lifetime": "forever"}, nil, nil, "session_lifetime"},
		{"too short", map[string]string{"session_lifetime": "1m"}, nil, nil, "session_lifetime"},
		{"negative days", map[string]string{"secret_rotation_days": "-1"}, nil, nil, "secret_rotation_days"},
		{"idle beyond lifetime", map[string]string{"session_lifetime": "10m", "session_idle": "20m"}, nil, nil, "session_idle"},
		{"set and unset", map[string]string{"session_idle": "5m"}, []string{"session_idle"}, nil, "session_idle"},
	}
	for _, tt := range tests {
		got, err := ApplySettings(cur, tt.set, tt.unset)
		if tt.bad != "" {
			if err == nil || ErrorCode(err) != EInvalid || ErrorFields(err)[tt.bad] == "" || !strings.Contains(err.Error(), tt.bad) {
				t.Errorf("%s: err %v, want invalid_input on %s", tt.name, err, tt.bad)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: %v, %v; want %v", tt.name, got, err, tt.want)
		}
	}
	if cur["session_idle"] != "30m0s" || len(cur) != 2 {
		t.Errorf("cur changed: %v", cur)
	}
}

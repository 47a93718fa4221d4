package tenant

import "testing"

func TestParseRetention(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]Retention{
		"30d,8w,12m": {30, 8, 12}, "14d, 4w, 6m": {14, 4, 6}, "3d": {3, 0, 0}, "12m,1d": {1, 0, 12},
	} {
		got, err := ParseRetention(in)
		if err != nil || got != want {
			t.Errorf("ParseRetention(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0d", "0d,0w,0m", "3x", "d", "-1d", "+1d", "3d,4d", "1001d", "3d;4w"} {
		if _, err := ParseRetention(in); err == nil {
			t.Errorf("ParseRetention(%q) accepted", in)
		}
	}
	out, err := ApplySettings(nil, map[string]string{SettingBackupRetention: "14d, 4w,6m", SettingBackupSchedule: "0 2 * * *"}, nil)
	if err != nil || out[SettingBackupRetention] != "14d,4w,6m" || out[SettingBackupSchedule] != "0 2 * * *" {
		t.Fatalf("ApplySettings = %v, %v", out, err)
	}
	if (&Tenant{Settings: out}).BackupRetention() != (Retention{14, 4, 6}) || (&Tenant{}).BackupRetention() != DefaultRetention {
		t.Error("BackupRetention does not read the setting or its default")
	}
	extra := map[string]func(string) error{SettingBackupSchedule: func(string) error { return Errorf(EInvalid, "bad spec") }}
	if _, err := ApplySettingsChecked(nil, map[string]string{SettingBackupSchedule: "nope"}, nil, extra); ErrorCode(err) != EInvalid {
		t.Errorf("extra check ignored: %v", err)
	}
}

package backup

import "testing"

// TestPickPGDump: the server's own major first (PATH's before the
// versioned directories'), else the oldest newer one, else the newest
// older one for the error.
func TestPickPGDump(t *testing.T) {
	path15 := pgDump{path: "/usr/bin/pg_dump", major: 15}
	v15 := pgDump{path: "/usr/lib/postgresql/15/bin/pg_dump", major: 15}
	v16 := pgDump{path: "/usr/lib/postgresql/16/bin/pg_dump", major: 16}
	v17 := pgDump{path: "/usr/lib/postgresql/17/bin/pg_dump", major: 17}
	v13 := pgDump{path: "/usr/lib/postgresql/13/bin/pg_dump", major: 13}
	v14 := pgDump{path: "/usr/lib/postgresql/14/bin/pg_dump", major: 14}
	for _, tc := range []struct {
		name   string
		found  []pgDump
		server int
		want   pgDump
	}{
		{"own major, newest first", []pgDump{v17, v16, v15, v14}, 15, v15},
		{"PATH's of the same major first", []pgDump{path15, v17, v15}, 15, path15},
		{"oldest newer", []pgDump{v17, v16, v14}, 15, v16},
		{"only older: the newest of them", []pgDump{v13, v14}, 15, v14},
		{"none", nil, 15, pgDump{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := pickPGDump(tc.found, tc.server); got != tc.want {
				t.Errorf("pickPGDump(server %d) = %+v, want %+v", tc.server, got, tc.want)
			}
		})
	}
}

package migrations

import (
	"io/fs"
	"strings"
	"testing"
)

func TestForKindIsUnionWithoutClashes(t *testing.T) {
	common, _ := fs.ReadDir(sub("common"), ".")
	for _, kind := range []string{"restaurant", "institution"} {
		src, err := ForKind(kind)
		if err != nil {
			t.Fatal(err)
		}
		entries, err := fs.ReadDir(src, ".")
		if err != nil {
			t.Fatal(err)
		}
		own, _ := fs.ReadDir(sub(kind), ".")
		if len(entries) != len(common)+len(own) {
			t.Errorf("%s: %d files, want %d", kind, len(entries), len(common)+len(own))
		}
		versions := map[string]string{}
		for _, e := range entries {
			v, rest, _ := strings.Cut(e.Name(), "_")
			dir := rest[strings.LastIndex(rest, ".")-4:] // up.sql or down.sql
			key := v + dir
			if prev, ok := versions[key]; ok {
				t.Errorf("%s: version %s in both %s and %s", kind, v, prev, e.Name())
			}
			versions[key] = e.Name()
			if _, err := fs.ReadFile(src, e.Name()); err != nil {
				t.Errorf("%s: open %s: %v", kind, e.Name(), err)
			}
		}
	}
	for _, bad := range []string{"catalog", "common", "bakery"} {
		if _, err := ForKind(bad); err == nil {
			t.Errorf("ForKind(%q) succeeded", bad)
		}
	}
}

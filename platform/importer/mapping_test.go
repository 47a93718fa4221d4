package importer_test

import (
	"testing"

	"github.com/tenancy/platform/platform/importer"
)

// TestEmbeddedMappingsCheck: every built-in mapping parses strictly and
// fits its tenant kind's schema.
func TestEmbeddedMappingsCheck(t *testing.T) {
	t.Parallel()
	names := importer.Embedded()
	if len(names) < 2 {
		t.Fatalf("embedded mappings: %v, want verificarsms and sisca", names)
	}
	for _, n := range names {
		m, err := importer.LoadMapping(n)
		if err != nil {
			t.Errorf("%s: %v", n, err)
			continue
		}
		if err := m.Check(); err != nil {
			t.Errorf("%s: %v", n, err)
		}
		if m.Name != n {
			t.Errorf("%s.yaml is named %q", n, m.Name)
		}
	}
}

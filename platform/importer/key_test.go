package importer

import "testing"

// TestKeyOf: a one-column key is its text; a composite key is a JSON
// array, so that no two different rows share one.
func TestKeyOf(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		row  []any
		idx  []int
		want string
		ok   bool
	}{
		{[]any{int64(7)}, []int{0}, "7", true},
		{[]any{"a/b", "c"}, []int{0, 1}, `["a/b","c"]`, true},
		{[]any{"a", "b/c"}, []int{0, 1}, `["a","b/c"]`, true},
		{[]any{int64(1), nil}, []int{0, 1}, "", false},
	} {
		got, ok := keyOf(tt.row, tt.idx)
		if got != tt.want || ok != tt.ok {
			t.Errorf("keyOf(%v): %q %v, want %q %v", tt.row, got, ok, tt.want, tt.ok)
		}
	}
}

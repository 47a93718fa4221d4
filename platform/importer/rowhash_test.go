package importer

import (
	"testing"
	"time"
)

// TestRowHashIsTyped: values that print alike but differ in type or in
// nullness hash apart; the same values hash alike whatever the order of
// the columns read.
func TestRowHashIsTyped(t *testing.T) {
	p := &tablePlan{read: []string{"id", "v"}}
	h := newRowHasher(p.read, hashColumns(p))
	at := time.Date(2024, 2, 10, 8, 15, 0, 0, time.UTC)
	rows := [][]any{
		{int64(1), "1"}, {int64(1), int64(1)}, {int64(1), float64(1)}, {int64(1), true}, {int64(1), []byte("1")},
		{int64(1), nil}, {int64(1), ""}, {int64(1), at}, {int64(1), at.In(time.FixedZone("x", 3600))}, {int64(1), at.Add(time.Nanosecond)},
		{"1", "1"}, {int64(1), "1\x00"}, {int64(1), int32(1)},
	}
	seen := map[[rowHashSize]byte]int{}
	for i, r := range rows {
		k := h.hash(r)
		if j, ok := seen[k]; ok {
			t.Errorf("rows %d %v and %d %v hash alike", j, rows[j], i, r)
		}
		seen[k] = i
	}
	if a, b := h.hash(rows[0]), h.hash(rows[0]); a != b {
		t.Errorf("the same row: %x, %x", a, b)
	}
	// Column names are part of it: ("a", "b") = (x, y) is not ("a", "b") = (y, x).
	q := &tablePlan{read: []string{"V", "id"}}
	hq := newRowHasher(q.read, hashColumns(q))
	if a, b := h.hash([]any{int64(1), "x"}), hq.hash([]any{"x", int64(1)}); a != b {
		t.Errorf("the same columns read in another order hash apart: %x, %x", a, b)
	}
	if a, b := h.hash([]any{"x", "y"}), h.hash([]any{"y", "x"}); a == b {
		t.Error("swapped values hash alike")
	}
}

// TestRowHashLeavesPasswordsOut: the source columns of the password
// column are not hashed.
func TestRowHashLeavesPasswordsOut(t *testing.T) {
	p := &tablePlan{read: []string{"id", "usuario", "clave", "clave_hash"},
		cols: []colPlan{{name: "username", src: []int{1}}, {name: "password_hash", src: []int{3, 2}, password: true}}}
	idx := hashColumns(p)
	if len(idx) != 2 || p.read[idx[0]] != "id" || p.read[idx[1]] != "usuario" {
		t.Fatalf("hashed columns %v of %v", idx, p.read)
	}
	h := newRowHasher(p.read, idx)
	if a, b := h.hash([]any{int64(1), "ana", "clave-1", nil}), h.hash([]any{int64(1), "ana", "clave-2", "$2y$..."}); a != b {
		t.Error("a changed password changes the hash")
	}
}

package importer

import (
	"context"
	"fmt"
)

// RowHashes is the hash of every row of a source table as an import with
// mapping computes it, by source key; withPasswords puts the password
// columns in too, which the engine must not do.
func RowHashes(ctx context.Context, from string, mapping []byte, table string, withPasswords bool) (map[string][]byte, error) {
	m, err := ParseMapping("m.yaml", mapping)
	if err != nil {
		return nil, err
	}
	if err := m.Check(); err != nil {
		return nil, err
	}
	src, err := Open(ctx, from, nil)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	plan, err := m.compile(ctx, src)
	if err != nil {
		return nil, err
	}
	for _, p := range plan {
		if p.tm.From != table || p.absent {
			continue
		}
		idx := p.hashed
		if withPasswords {
			q := *p
			q.cols = append([]colPlan(nil), p.cols...)
			for i := range q.cols {
				q.cols[i].password = false
			}
			idx = hashColumns(&q)
		}
		h := newRowHasher(p.read, idx)
		out := map[string][]byte{}
		err := src.Rows(ctx, p.srcTable, p.read, func(row []any) error {
			if key, ok := keyOf(row, p.key); ok {
				sum := h.hash(row)
				out[key] = sum[:]
			}
			return nil
		})
		return out, err
	}
	return nil, fmt.Errorf("no table %s in the plan", table)
}

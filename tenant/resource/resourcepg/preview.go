package resourcepg

import (
	"context"

	"github.com/tenancy/platform/tenant/resource"
)

// Preview is what a delete of one row would do, counted without deleting:
// Blocking holds the RESTRICT dependents that refuse it (resource →
// count, only those with rows), Cascaded the rows that would go with it
// by the schema's cascades (all levels, as Delete counts them).
type Preview struct {
	Blocking map[string]int64 `json:"blocking"`
	Cascaded map[string]int64 `json:"cascaded"`
}

// Blocked reports whether the delete would be refused (in_use).
func (p Preview) Blocked() bool { return len(p.Blocking) > 0 }

// PreviewDelete counts what Delete of the row with id of s would do,
// changing nothing: 404 (NotFound) when there is no such row. The counts
// are those of the moment; Delete counts again under its lock. Cascaded is
// counted only when nothing blocks (Delete would not get that far).
func PreviewDelete(ctx context.Context, db DBTX, specs map[string]*resource.Spec, s *resource.Spec, id int64) (Preview, error) {
	if _, err := Get(ctx, db, s, id, false); err != nil {
		return Preview{}, err
	}
	p := Preview{Blocking: map[string]int64{}, Cascaded: map[string]int64{}}
	for _, d := range s.Depends {
		if d.Action != resource.Restrict {
			continue
		}
		var n int64
		if err := db.QueryRow(ctx, "SELECT count(*) FROM "+ident(d.Table)+" WHERE "+ident(d.Column)+" = $1", id).Scan(&n); err != nil {
			return Preview{}, Translate(s, err)
		}
		if n > 0 {
			p.Blocking[d.Resource] += n
		}
	}
	if p.Blocked() {
		return p, nil
	}
	if err := countCascades(ctx, db, specs, s, "$1", id, p.Cascaded, 0); err != nil {
		return Preview{}, err
	}
	return p, nil
}

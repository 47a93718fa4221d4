package resourcepg

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/tenancy/platform/tenant/resource"
)

// CheckSchema compares specs with the tenant database db is connected to
// and returns every difference: a field that is no column of its table, a
// foreign key into a spec's table that its Depends does not declare (or
// declares with another action), a declared dependent the schema lacks, a
// unique constraint that does not exist. The domain packages' tests call
// it, so the declarations cannot drift from the migrations.
func CheckSchema(ctx context.Context, db DBTX, specs []*resource.Spec) ([]string, error) {
	var problems []string
	for _, s := range specs {
		cols := map[string]bool{}
		rows, err := db.Query(ctx, `SELECT column_name FROM information_schema.columns
			WHERE table_schema = 'public' AND table_name = $1`, s.Table)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var c string
			if err := rows.Scan(&c); err != nil {
				rows.Close()
				return nil, err
			}
			cols[c] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		if len(cols) == 0 {
			problems = append(problems, fmt.Sprintf("%s: table %s does not exist", s.Name, s.Table))
			continue
		}
		for _, f := range s.Fields {
			if !cols[f.Name] {
				problems = append(problems, fmt.Sprintf("%s: field %s is no column of %s", s.Name, f.Name, s.Table))
			}
		}
		// Foreign keys into the table: table.column → action.
		fks := map[string]resource.Action{}
		rows, err = db.Query(ctx, `SELECT src.relname, a.attname, c.confdeltype
			FROM pg_constraint c
			JOIN pg_class src ON src.oid = c.conrelid
			JOIN pg_class dst ON dst.oid = c.confrelid
			JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
			WHERE c.contype = 'f' AND dst.relname = $1 AND dst.relnamespace = 'public'::regnamespace`, s.Table)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var table, col, del string
			if err := rows.Scan(&table, &col, &del); err != nil {
				rows.Close()
				return nil, err
			}
			fks[table+"."+col] = map[string]resource.Action{"r": resource.Restrict, "a": resource.Restrict,
				"c": resource.Cascade, "n": resource.SetNull}[del]
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		declared := map[string]resource.Action{}
		for _, d := range s.Depends {
			declared[d.Table+"."+d.Column] = d.Action
		}
		for _, k := range sortedActions(fks) {
			switch got, ok := declared[k]; {
			case !ok:
				problems = append(problems, fmt.Sprintf("%s: the schema's foreign key %s (%s) is not in Depends", s.Name, k, fks[k]))
			case got != fks[k]:
				problems = append(problems, fmt.Sprintf("%s: Depends says %s is %s, the schema %s", s.Name, k, got, fks[k]))
			}
		}
		for _, k := range sortedActions(declared) {
			if _, ok := fks[k]; !ok {
				problems = append(problems, fmt.Sprintf("%s: Depends declares %s, which is no foreign key into %s", s.Name, k, s.Table))
			}
		}
		for _, u := range s.Uniques {
			var n int
			if err := db.QueryRow(ctx, `SELECT count(*) FROM pg_class WHERE relname = $1 AND relkind = 'i'
				AND relnamespace = 'public'::regnamespace`, u.Constraint).Scan(&n); err != nil {
				return nil, err
			}
			if n == 0 {
				problems = append(problems, fmt.Sprintf("%s: unique %s (%s) does not exist", s.Name, u.Constraint, strings.Join(u.Fields, ", ")))
			}
		}
	}
	return problems, nil
}

func sortedActions(m map[string]resource.Action) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

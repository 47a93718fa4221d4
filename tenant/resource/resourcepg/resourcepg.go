// Package resourcepg stores resource.Spec resources in a tenant database:
// the SQL of list, get, create, update and delete, built from the Spec's
// compiled-in names (never from input) with every value a parameter, and
// PostgreSQL's errors translated into the domain's (a duplicate is 409
// conflict naming its fields, a reference to nothing is 422 on the field,
// a restricted delete is 409 in_use naming the dependents and their count).
package resourcepg

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/resource"
)

// DBTX is a connection or a transaction of the tenant database.
type DBTX interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// ident quotes a compiled-in name.
func ident(s string) string { return pgx.Identifier{s}.Sanitize() }

// columns is the select list of s.
func columns(s *resource.Spec) string {
	cols := make([]string, len(s.Fields))
	for i, f := range s.Fields {
		cols[i] = ident(f.Name)
	}
	return strings.Join(cols, ", ")
}

// scanner reads rows of columns(s) into Rows through typed holders, one
// per field, reused from row to row: rows.Values decoded every value into
// a fresh interface through the type map, the largest cost of a list.
type scanner struct {
	s     *resource.Spec
	dest  []any
	ints  []pgtype.Int8
	texts []pgtype.Text
	bools []pgtype.Bool
	times []pgtype.Timestamptz
	dates []pgtype.Date
	raws  [][]byte
}

func newScanner(s *resource.Spec) *scanner {
	n := len(s.Fields)
	sc := &scanner{s: s, dest: make([]any, n), ints: make([]pgtype.Int8, n), texts: make([]pgtype.Text, n),
		bools: make([]pgtype.Bool, n), times: make([]pgtype.Timestamptz, n), dates: make([]pgtype.Date, n), raws: make([][]byte, n)}
	for i, f := range s.Fields {
		switch f.Type {
		case resource.Int, resource.Money, resource.Ref:
			sc.dest[i] = &sc.ints[i]
		case resource.Bool:
			sc.dest[i] = &sc.bools[i]
		case resource.Time:
			sc.dest[i] = &sc.times[i]
		case resource.Date:
			sc.dest[i] = &sc.dates[i]
		case resource.JSON:
			sc.dest[i] = &sc.raws[i]
		default: // String, Enum, Email, Phone
			sc.dest[i] = &sc.texts[i]
		}
	}
	return sc
}

// appendJSON appends the scanned row as a JSON object, fields in the
// Spec's order, as resource.Row.AppendJSON writes the same values.
func (sc *scanner) appendJSON(b []byte) []byte {
	b = append(b, '{')
	for i, f := range sc.s.Fields {
		if i > 0 {
			b = append(b, ',')
		}
		b = resource.AppendString(b, f.Name)
		b = append(b, ':')
		null := false
		switch f.Type {
		case resource.Int, resource.Money, resource.Ref:
			if v := sc.ints[i]; v.Valid {
				b = strconv.AppendInt(b, v.Int64, 10)
			} else {
				null = true
			}
		case resource.Bool:
			if v := sc.bools[i]; v.Valid {
				b = strconv.AppendBool(b, v.Bool)
			} else {
				null = true
			}
		case resource.Time:
			if v := sc.times[i]; v.Valid {
				b = append(b, '"')
				b = v.Time.UTC().AppendFormat(b, time.RFC3339Nano)
				b = append(b, '"')
			} else {
				null = true
			}
		case resource.Date:
			if v := sc.dates[i]; v.Valid {
				b = append(b, '"')
				b = v.Time.AppendFormat(b, time.DateOnly)
				b = append(b, '"')
			} else {
				null = true
			}
		case resource.JSON:
			if v := sc.raws[i]; v != nil {
				b = append(b, v...)
			} else {
				null = true
			}
		default:
			if v := sc.texts[i]; v.Valid {
				b = resource.AppendString(b, v.String)
			} else {
				null = true
			}
		}
		if null {
			b = append(b, "null"...)
		}
	}
	return append(b, '}')
}

// scan reads the current row, converting to the types resource.Values
// documents (nil for NULL).
func (sc *scanner) scan(rows pgx.Rows) (resource.Row, error) {
	if err := rows.Scan(sc.dest...); err != nil {
		return resource.Row{}, err
	}
	out := make([]any, len(sc.dest))
	for i, f := range sc.s.Fields {
		switch f.Type {
		case resource.Int, resource.Money, resource.Ref:
			if v := sc.ints[i]; v.Valid {
				out[i] = v.Int64
			}
		case resource.Bool:
			if v := sc.bools[i]; v.Valid {
				out[i] = v.Bool
			}
		case resource.Time:
			if v := sc.times[i]; v.Valid {
				out[i] = v.Time
			}
		case resource.Date:
			if v := sc.dates[i]; v.Valid {
				out[i] = v.Time.Format(time.DateOnly)
			}
		case resource.JSON:
			if v := sc.raws[i]; v != nil {
				out[i] = json.RawMessage(bytes.Clone(v))
			}
		default:
			if v := sc.texts[i]; v.Valid {
				out[i] = v.String
			}
		}
	}
	return resource.Row{Spec: sc.s, Vals: out}, nil
}

// listQuery is the SQL of a page: limit+1 rows, the last only telling
// that there is a next page.
func listQuery(s *resource.Spec, p resource.ListParams) (string, []any, int) {
	var where []string
	args := []any{}
	for _, f := range p.Filters {
		if f.IsNull {
			where = append(where, ident(f.Field)+" IS NULL")
			continue
		}
		args = append(args, f.Value)
		where = append(where, ident(f.Field)+" "+f.Op+" $"+strconv.Itoa(len(args)))
	}
	if p.After > 0 {
		args = append(args, p.After)
		where = append(where, "id > $"+strconv.Itoa(len(args)))
	}
	q := "SELECT " + columns(s) + " FROM " + ident(s.Table)
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	limit := p.Limit
	if limit <= 0 {
		limit = resource.DefaultLimit
	}
	args = append(args, limit+1)
	q += " ORDER BY id LIMIT $" + strconv.Itoa(len(args))
	return q, args, limit
}

// AppendList appends to b the JSON of the page List would return (as
// resource.Page.AppendJSON writes it), straight from the scanned values:
// no Row, no boxed value per field. The list routes use it.
func AppendList(ctx context.Context, db DBTX, s *resource.Spec, p resource.ListParams, b []byte) ([]byte, error) {
	q, args, limit := listQuery(s, p)
	rows, err := db.Query(ctx, q, args...)
	if err != nil {
		return b, Translate(s, err)
	}
	defer rows.Close()
	sc := newScanner(s)
	idAt := -1
	for i, f := range s.Fields {
		if f.Name == "id" {
			idAt = i
		}
	}
	start := len(b)
	b = append(b, `{"items":[`...)
	n, last := 0, int64(0)
	for rows.Next() {
		if n == limit { // the extra row: there is a next page
			b = append(b, `],"next_cursor":`...)
			b = resource.AppendString(b, resource.EncodeCursor(last))
			return append(b, '}'), closeRows(s, rows)
		}
		if err := rows.Scan(sc.dest...); err != nil {
			return b[:start], err
		}
		if n > 0 {
			b = append(b, ',')
		}
		b = sc.appendJSON(b)
		if idAt >= 0 {
			last = sc.ints[idAt].Int64
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return b[:start], Translate(s, err)
	}
	return append(b, "]}"...), nil
}

func closeRows(s *resource.Spec, rows pgx.Rows) error {
	rows.Close()
	return Translate(s, rows.Err())
}

// List returns one page of s's rows matching p, by id.
func List(ctx context.Context, db DBTX, s *resource.Spec, p resource.ListParams) (resource.Page, error) {
	q, args, limit := listQuery(s, p)
	rows, err := db.Query(ctx, q, args...)
	if err != nil {
		return resource.Page{}, Translate(s, err)
	}
	defer rows.Close()
	page := resource.Page{Items: make([]resource.Row, 0, min(limit, 64))}
	sc := newScanner(s)
	for rows.Next() {
		r, err := sc.scan(rows)
		if err != nil {
			return resource.Page{}, err
		}
		page.Items = append(page.Items, r)
	}
	if err := rows.Err(); err != nil {
		return resource.Page{}, Translate(s, err)
	}
	if len(page.Items) > limit {
		page.Items = page.Items[:limit]
		page.NextCursor = resource.EncodeCursor(page.Items[limit-1].ID())
	}
	return page, nil
}

// NotFound is the error of an id that names no row of s.
func NotFound(s *resource.Spec, id int64) error {
	return tenant.Errorf(tenant.ENotFound, "no %s with id %d", resource.Singular(s.Name), id)
}

// Get returns the row of s with id; lock takes it FOR UPDATE (inside a
// transaction that is about to change or delete it).
func Get(ctx context.Context, db DBTX, s *resource.Spec, id int64, lock bool) (resource.Row, error) {
	q := "SELECT " + columns(s) + " FROM " + ident(s.Table) + " WHERE id = $1"
	if lock {
		q += " FOR UPDATE"
	}
	rows, err := db.Query(ctx, q, id)
	if err != nil {
		return resource.Row{}, Translate(s, err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return resource.Row{}, Translate(s, err)
		}
		return resource.Row{}, NotFound(s, id)
	}
	r, err := newScanner(s).scan(rows)
	if err != nil {
		return resource.Row{}, err
	}
	rows.Close()
	return r, Translate(s, rows.Err())
}

// Create inserts v and returns the stored row.
func Create(ctx context.Context, db DBTX, s *resource.Spec, v resource.Values) (resource.Row, error) {
	q := "INSERT INTO " + ident(s.Table)
	if len(v.Names) == 0 {
		q += " DEFAULT VALUES"
	} else {
		cols, ph := make([]string, len(v.Names)), make([]string, len(v.Names))
		for i, n := range v.Names {
			cols[i], ph[i] = ident(n), "$"+strconv.Itoa(i+1)
		}
		q += " (" + strings.Join(cols, ", ") + ") VALUES (" + strings.Join(ph, ", ") + ")"
	}
	return one(ctx, db, s, q+" RETURNING "+columns(s), v.Vals...)
}

// Inserted names the inserted row in CreateWith's statement.
const Inserted = "inserted"

// CreateWith inserts v and, in the same statement, runs the statement
// also returns given the number of its first parameter: an INSERT … SELECT
// … FROM Inserted over the inserted row (audit.InsertFrom). One round trip and
// one implicit transaction: both rows are written or neither.
func CreateWith(ctx context.Context, db DBTX, s *resource.Spec, v resource.Values, also func(first int) (string, []any, error)) (resource.Row, error) {
	ins := "INSERT INTO " + ident(s.Table)
	if len(v.Names) == 0 {
		ins += " DEFAULT VALUES"
	} else {
		cols, ph := make([]string, len(v.Names)), make([]string, len(v.Names))
		for i, n := range v.Names {
			cols[i], ph[i] = ident(n), "$"+strconv.Itoa(i+1)
		}
		ins += " (" + strings.Join(cols, ", ") + ") VALUES (" + strings.Join(ph, ", ") + ")"
	}
	sql, args, err := also(len(v.Vals) + 1)
	if err != nil {
		return resource.Row{}, err
	}
	q := "WITH " + Inserted + " AS (" + ins + " RETURNING " + columns(s) + "), also AS (" + sql + ") SELECT " + columns(s) + " FROM " + Inserted
	return one(ctx, db, s, q, append(append([]any{}, v.Vals...), args...)...)
}

// Update changes the fields of v of the row with id.
func Update(ctx context.Context, db DBTX, s *resource.Spec, id int64, v resource.Values) (resource.Row, error) {
	set := make([]string, len(v.Names))
	for i, n := range v.Names {
		set[i] = ident(n) + " = $" + strconv.Itoa(i+2)
	}
	args := append([]any{id}, v.Vals...)
	r, err := one(ctx, db, s, "UPDATE "+ident(s.Table)+" SET "+strings.Join(set, ", ")+" WHERE id = $1 RETURNING "+columns(s), args...)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, NotFound(s, id)
	}
	return r, err
}

func one(ctx context.Context, db DBTX, s *resource.Spec, q string, args ...any) (resource.Row, error) {
	rows, err := db.Query(ctx, q, args...)
	if err != nil {
		return resource.Row{}, Translate(s, err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return resource.Row{}, Translate(s, err)
		}
		return resource.Row{}, pgx.ErrNoRows
	}
	r, err := newScanner(s).scan(rows)
	if err != nil {
		return resource.Row{}, err
	}
	rows.Close()
	return r, Translate(s, rows.Err())
}

// Deleted says what a delete removed besides the row: dependents that went
// with it by the schema's cascades, per resource (all levels).
type Deleted struct {
	Cascaded map[string]int64 `json:"cascaded"`
}

// Delete removes the row with id of s: locked first (a dependent being
// inserted meanwhile waits, so the counts are exact), refused with in_use
// naming each restricting dependent and its count, and otherwise deleted
// with the cascades counted. Run it in a transaction.
func Delete(ctx context.Context, db DBTX, specs map[string]*resource.Spec, s *resource.Spec, id int64) (Deleted, error) {
	if _, err := Get(ctx, db, s, id, true); err != nil {
		return Deleted{}, err
	}
	blocking := map[string]any{}
	var first string
	var firstN int64
	for _, d := range s.Depends {
		if d.Action != resource.Restrict {
			continue
		}
		var n int64
		if err := db.QueryRow(ctx, "SELECT count(*) FROM "+ident(d.Table)+" WHERE "+ident(d.Column)+" = $1", id).Scan(&n); err != nil {
			return Deleted{}, Translate(s, err)
		}
		if n > 0 {
			blocking[d.Resource] = n
			if first == "" {
				first, firstN = d.Resource, n
			}
		}
	}
	if len(blocking) > 0 {
		e := tenant.Errorf(tenant.EInUse, "this %s is in use by %d %s; delete or reassign them first",
			resource.Singular(s.Name), firstN, resource.Words(first))
		if len(blocking) > 1 {
			e.Message = fmt.Sprintf("this %s is in use by %s; delete or reassign them first", resource.Singular(s.Name), inUseList(blocking))
		}
		e.Details = map[string]any{"dependents": blocking}
		return Deleted{}, e
	}
	out := Deleted{Cascaded: map[string]int64{}}
	if err := countCascades(ctx, db, specs, s, "$1", id, out.Cascaded, 0); err != nil {
		return Deleted{}, err
	}
	if _, err := db.Exec(ctx, "DELETE FROM "+ident(s.Table)+" WHERE id = $1", id); err != nil {
		return Deleted{}, Translate(s, err)
	}
	return out, nil
}

func inUseList(m map[string]any) string {
	var parts []string
	for _, k := range sortedKeys(m) {
		parts = append(parts, fmt.Sprintf("%d %s", m[k], resource.Words(k)))
	}
	return strings.Join(parts, " and ")
}

// countCascades adds to into the rows that cascade from the rows of s
// selected by sel (a parameter or a subquery of ids), level by level.
func countCascades(ctx context.Context, db DBTX, specs map[string]*resource.Spec, s *resource.Spec, sel string, id int64, into map[string]int64, depth int) error {
	if depth > 8 {
		return fmt.Errorf("resourcepg: cascades of %s nest too deep", s.Name)
	}
	for _, d := range s.Depends {
		if d.Action != resource.Cascade {
			continue
		}
		where := ident(d.Column) + " = " + sel
		if depth > 0 {
			where = ident(d.Column) + " IN (" + sel + ")"
		}
		var n int64
		if err := db.QueryRow(ctx, "SELECT count(*) FROM "+ident(d.Table)+" WHERE "+where, id).Scan(&n); err != nil {
			return Translate(s, err)
		}
		if n == 0 {
			continue
		}
		into[d.Resource] += n
		if child := specs[d.Resource]; child != nil {
			sub := "SELECT id FROM " + ident(d.Table) + " WHERE " + where
			if err := countCascades(ctx, db, specs, child, sub, id, into, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// Translate turns PostgreSQL's refusals of a write of s into the domain's
// errors; other errors pass unchanged (internal).
func Translate(s *resource.Spec, err error) error {
	var pe *pgconn.PgError
	if err == nil || !errors.As(err, &pe) {
		return err
	}
	what := resource.Singular(s.Name)
	switch pe.Code {
	case pgerrcode.UniqueViolation:
		for _, u := range s.Uniques {
			if u.Constraint == pe.ConstraintName {
				fields := map[string]string{}
				for _, f := range u.Fields {
					fields[f] = "is taken"
				}
				e := tenant.Errorf(tenant.EConflict, "a %s with this %s already exists", what, strings.Join(u.Fields, " and "))
				e.Fields = fields
				return e
			}
		}
		return tenant.Errorf(tenant.EConflict, "a %s like this already exists", what)
	case pgerrcode.ForeignKeyViolation:
		// A write naming a row that does not exist (or was deleted meanwhile).
		for _, f := range s.Fields {
			if f.Type == resource.Ref && strings.Contains(pe.ConstraintName, f.Name) && pe.TableName == s.Table {
				return tenant.Invalid(map[string]string{f.Name: "names no " + resource.Singular(f.Ref)})
			}
		}
		if pe.TableName != s.Table { // a delete met a dependent made meanwhile
			return tenant.Errorf(tenant.EInUse, "this %s is in use by %s", what, resource.Words(pe.TableName))
		}
		return tenant.Invalid(map[string]string{"body": "names a row that does not exist"})
	case pgerrcode.NotNullViolation:
		return tenant.Invalid(map[string]string{pe.ColumnName: "is required"})
	case pgerrcode.CheckViolation:
		return tenant.Invalid(map[string]string{checkField(s, pe.ConstraintName): "is not allowed (rule " + pe.ConstraintName + ")"})
	case pgerrcode.StringDataRightTruncationDataException, pgerrcode.NumericValueOutOfRange:
		return tenant.Invalid(map[string]string{"body": "a value is out of range"})
	case pgerrcode.InvalidTextRepresentation, pgerrcode.InvalidDatetimeFormat, pgerrcode.DatetimeFieldOverflow:
		return tenant.Invalid(map[string]string{"body": "a value is not valid"})
	}
	return err
}

// checkField guesses the field a CHECK constraint is about from its name
// (PostgreSQL names them <table>_<column>_check).
func checkField(s *resource.Spec, constraint string) string {
	for _, f := range s.Fields {
		if strings.HasPrefix(constraint, s.Table+"_"+f.Name+"_") {
			return f.Name
		}
	}
	return "body"
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

package institution_test

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/tenancy/platform/migrations"
	"github.com/tenancy/platform/platform/platformtest/tenanttest"
	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/domaintest"
	"github.com/tenancy/platform/tenant/institution"
	"github.com/tenancy/platform/tenant/resource"
	"github.com/tenancy/platform/tenant/resource/resourcepg"
)

func item(path string, id int64) string { return fmt.Sprintf("%s/%d", path, id) }

// world is one set of parent rows: every resource can be made under it.
type world struct{ period, program, subject, group, teacher int64 }

// newWorld makes a period, a program with a subject in its curriculum, a
// group and a teacher; tag keeps codes unique in one tenant.
func newWorld(t *testing.T, c *domaintest.Client, tag string) world {
	t.Helper()
	var w world
	w.period = c.Do("POST", "/api/periods", map[string]any{"code": "2026-1" + tag, "name": "Primer semestre 2026",
		"starts_on": "2026-03-02", "ends_on": "2026-07-17", "active": true}).Want(t, 201, "").ID()
	w.program = c.Do("POST", "/api/programs", map[string]any{"code": "ING-INF" + tag, "name": "Ingeniería en Informática"}).Want(t, 201, "").ID()
	w.subject = c.Do("POST", "/api/subjects", map[string]any{"code": "MAT101" + tag, "name": "Cálculo I", "credits": 6, "hours_per_week": 5}).Want(t, 201, "").ID()
	w.group = c.Do("POST", "/api/groups", map[string]any{"program_id": w.program, "code": "INF-1A" + tag, "semester": 1}).Want(t, 201, "").ID()
	w.teacher = c.Do("POST", "/api/teachers", map[string]any{"employee_number": "DOC-1" + tag, "full_name": "María José Fuentes Rojas",
		"email": "mfuentes" + strings.ToLower(tag) + "@universidad.cl"}).Want(t, 201, "").ID()
	return w
}

func userID(t *testing.T, tn *tenanttest.Tenant, username string) int64 {
	t.Helper()
	var id int64
	if err := tn.App.QueryRow(t.Context(), "SELECT id FROM users WHERE lower(username) = lower($1)", username).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// auditRow is one row of the tenant's audit log.
type auditRow struct {
	Action, Actor string
	Details       map[string]any
}

func auditRows(t *testing.T, tn *tenanttest.Tenant, entity string, id int64) []auditRow {
	t.Helper()
	rows, err := tn.App.Query(t.Context(), `SELECT action, coalesce(actor, ''), details FROM audit_log
		WHERE entity = $1 AND entity_id = $2 ORDER BY id`, entity, fmt.Sprint(id))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []auditRow
	for rows.Next() {
		var r auditRow
		var details []byte
		if err := rows.Scan(&r.Action, &r.Actor, &details); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(details, &r.Details); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func count(t *testing.T, tn *tenanttest.Tenant, table string) int64 {
	t.Helper()
	var n int64
	// table is one of the test's literals, never input.
	if err := tn.App.QueryRow(t.Context(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestSchema: every table the institution migrations make has a spec, and
// the specs' columns, unique keys and delete rules are the schema's.
func TestSchema(t *testing.T) {
	t.Parallel()
	specs := institution.Specs()
	tables := map[string]bool{}
	for _, s := range specs {
		tables[s.Table] = true
	}
	for _, table := range kindTables(t, "institution") {
		if !tables[table] {
			t.Errorf("table %s of the institution migrations has no resource", table)
		}
	}

	h := domaintest.New(t)
	tn := h.Tenant(t, tenant.Institution)
	problems, err := resourcepg.CheckSchema(t.Context(), tn.App, specs)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
}

// kindTables returns the tables the migrations of kind alone create (not
// the common ones: those of files the other kind lacks).
func kindTables(t *testing.T, kind string) []string {
	t.Helper()
	own, err := migrations.ForKind(kind)
	if err != nil {
		t.Fatal(err)
	}
	other, err := migrations.ForKind("restaurant")
	if err != nil {
		t.Fatal(err)
	}
	names, err := fs.Glob(own, "*.up.sql")
	if err != nil || len(names) == 0 {
		t.Fatalf("migrations of %s: %v %v", kind, names, err)
	}
	createRe := regexp.MustCompile(`(?i)CREATE TABLE\s+(?:IF NOT EXISTS\s+)?(\w+)`)
	var out []string
	for _, n := range names {
		if _, err := fs.Stat(other, n); err == nil {
			continue // common
		}
		b, err := fs.ReadFile(own, n)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range createRe.FindAllStringSubmatch(string(b), -1) {
			out = append(out, m[1])
		}
	}
	if len(out) == 0 {
		t.Fatalf("no CREATE TABLE in the %s migrations", kind)
	}
	return out
}

// TestCRUD: each resource's five routes on a real tenant: create (201 with
// Location, server-set user fields), get, PATCH, a list filter, delete
// (200 naming the row, then 404), each write in the audit log with entity
// and id.
func TestCRUD(t *testing.T) {
	t.Parallel()
	h := domaintest.New(t, institution.Mount)
	tn := h.Tenant(t, tenant.Institution)
	c := h.Admin(t, tn)
	admin := userID(t, tn, tn.AdminUsername)
	w := newWorld(t, c, "")
	other := newWorld(t, c, "B") // rows a filter must leave out

	cases := []struct {
		path, entity string
		create       map[string]any
		patch        map[string]any
		filter       string // a query the new row matches and other's rows do not
		byUser       string // a field set to the acting user
	}{
		{path: "/api/periods", entity: "period",
			create: map[string]any{"code": "2026-2", "name": "Segundo semestre 2026", "starts_on": "2026-08-03", "ends_on": "2026-12-18"},
			patch:  map[string]any{"name": "Segundo semestre 2026 (ajustado)", "ends_on": "2026-12-22"},
			filter: "code=2026-2"},
		{path: "/api/programs", entity: "program",
			create: map[string]any{"code": "ENF", "name": "Enfermería"},
			patch:  map[string]any{"active": false},
			filter: "active=false"},
		{path: "/api/subjects", entity: "subject",
			create: map[string]any{"code": "FIS101", "name": "Física I", "hours_per_week": 6},
			patch:  map[string]any{"credits": 8, "name": "Física General I"},
			filter: "code=FIS101"},
		{path: "/api/program-subjects", entity: "program_subject",
			create: map[string]any{"program_id": w.program, "subject_id": w.subject, "semester": 1},
			patch:  map[string]any{"semester": 2},
			filter: fmt.Sprintf("program_id=%d&semester=2", w.program)},
		{path: "/api/groups", entity: "group",
			create: map[string]any{"program_id": w.program, "code": "INF-1B", "semester": 1, "shift": "evening"},
			patch:  map[string]any{"semester": 2, "shift": "mixed"},
			filter: "shift=mixed"},
		{path: "/api/teachers", entity: "teacher",
			create: map[string]any{"employee_number": "DOC-2", "full_name": "Juan Pablo Soto Muñoz", "email": "jsoto@universidad.cl"},
			patch:  map[string]any{"email": nil, "active": false},
			filter: "active=false"},
		{path: "/api/schedules", entity: "schedule",
			create: map[string]any{"period_id": w.period, "file_name": "horario-inf-2026-1.xlsx",
				"content": map[string]any{"grupo": "INF-1A", "bloques": []any{map[string]any{"dia": "lunes", "inicio": "08:30"}}}},
			patch:  map[string]any{"file_name": "horario-inf-2026-1-v2.xlsx"},
			filter: fmt.Sprintf("period_id=%d", w.period), byUser: "uploaded_by"},
		{path: "/api/teaching-loads", entity: "teaching_load",
			create: map[string]any{"period_id": w.period, "group_id": w.group, "teacher_id": w.teacher, "subject_id": w.subject, "hours": 4},
			patch:  map[string]any{"hours": 6, "teacher_id": other.teacher},
			filter: fmt.Sprintf("period_id=%d&teacher_id=%d", w.period, other.teacher), byUser: "assigned_by"},
		{path: "/api/tutoring-sessions", entity: "tutoring_session",
			create: map[string]any{"period_id": w.period, "group_id": w.group, "teacher_id": w.teacher, "held_on": "2026-04-15",
				"topic": "Preparación del primer certamen"},
			patch:  map[string]any{"attendees": 18, "notes": "Se repasaron límites y derivadas."},
			filter: fmt.Sprintf("group_id=%d&held_on_from=2026-04-01&held_on_to=2026-05-01", w.group)},
		{path: "/api/prefecture-reports", entity: "prefecture_report",
			create: map[string]any{"period_id": w.period, "group_id": w.group, "teacher_id": w.teacher, "kind": "teacher_late",
				"report_date": "2026-04-20", "description": "El docente llegó 20 minutos tarde."},
			patch:  map[string]any{"kind": "teacher_absent", "teacher_id": nil},
			filter: fmt.Sprintf("period_id=%d&teacher_id=null&kind=teacher_absent", w.period), byUser: "recorded_by"},
	}
	if len(cases) != len(institution.Specs()) {
		t.Fatalf("%d cases for %d resources", len(cases), len(institution.Specs()))
	}
	for _, tc := range cases {
		t.Run(tc.entity, func(t *testing.T) {
			r := c.Do("POST", tc.path, tc.create).Want(t, 201, "")
			id := r.ID()
			if id == 0 || r.Header.Get("Location") != item(tc.path, id) {
				t.Fatalf("create: Location %q, body %s", r.Header.Get("Location"), r.Raw)
			}
			for k, v := range tc.create {
				if k == "content" {
					continue
				}
				if got, want := fmt.Sprint(r.Body[k]), fmt.Sprint(v); got != want {
					t.Errorf("created %s = %s, want %s", k, got, want)
				}
			}
			if tc.byUser != "" && r.Body[tc.byUser] != float64(admin) {
				t.Errorf("%s = %v, want the admin's id %d", tc.byUser, r.Body[tc.byUser], admin)
			}
			got := c.Do("GET", item(tc.path, id), nil).Want(t, 200, "")
			if string(got.Raw) != string(r.Raw) {
				t.Errorf("get %s, created %s", got.Raw, r.Raw)
			}
			r = c.Do("PATCH", item(tc.path, id), tc.patch).Want(t, 200, "")
			for k, v := range tc.patch {
				if got, want := fmt.Sprint(r.Body[k]), fmt.Sprint(v); got != want {
					t.Errorf("patched %s = %s, want %s", k, got, want)
				}
			}
			if g := c.Do("GET", item(tc.path, id), nil).Want(t, 200, ""); string(g.Raw) != string(r.Raw) {
				t.Errorf("get after patch %s, patch answered %s", g.Raw, r.Raw)
			}
			list := c.Do("GET", tc.path+"?"+tc.filter, nil).Want(t, 200, "").Items()
			if len(list) != 1 || int64(list[0]["id"].(float64)) != id {
				t.Errorf("list ?%s: %v, want only %d", tc.filter, list, id)
			}
			d := c.Do("DELETE", item(tc.path, id), nil).Want(t, 200, "")
			if del, _ := d.Body["deleted"].(map[string]any); del["id"] != float64(id) {
				t.Errorf("delete answered %s", d.Raw)
			}
			c.Do("GET", item(tc.path, id), nil).Want(t, 404, "not_found")
			c.Do("PATCH", item(tc.path, id), tc.patch).Want(t, 404, "not_found")
			c.Do("DELETE", item(tc.path, id), nil).Want(t, 404, "not_found")

			var actions []string
			for _, a := range auditRows(t, tn, tc.entity, id) {
				actions = append(actions, a.Action)
				if a.Actor != tn.AdminUsername {
					t.Errorf("audit %s by %q, want %q", a.Action, a.Actor, tn.AdminUsername)
				}
			}
			want := []string{tc.entity + ".create", tc.entity + ".update", tc.entity + ".delete"}
			if !slices.Equal(actions, want) {
				t.Errorf("audit of %s %d: %v, want %v", tc.entity, id, actions, want)
			}
		})
	}
}

// TestValidation: bad input is 422 naming each bad field (never a 500
// from one of the schema's CHECKs), duplicates are 409 naming the key,
// and a refused write changes nothing and audits nothing.
func TestValidation(t *testing.T) {
	t.Parallel()
	h := domaintest.New(t, institution.Mount)
	tn := h.Tenant(t, tenant.Institution)
	c := h.Admin(t, tn)
	w := newWorld(t, c, "")
	load := c.Do("POST", "/api/teaching-loads", map[string]any{"period_id": w.period, "group_id": w.group,
		"teacher_id": w.teacher, "subject_id": w.subject, "hours": 4}).Want(t, 201, "").ID()

	cases := []struct {
		name, method, path string
		body               any
		status             int
		code               string
		fields             []string // the fields the error must name
	}{
		{"period ends before it starts", "POST", "/api/periods",
			map[string]any{"code": "X", "name": "X", "starts_on": "2026-07-01", "ends_on": "2026-07-01"}, 422, "validation_failed", []string{"ends_on"}},
		{"period patch of ends_on before the current start", "PATCH", item("/api/periods", w.period),
			map[string]any{"ends_on": "2026-03-01"}, 422, "validation_failed", []string{"ends_on"}},
		{"period patch of starts_on after the current end", "PATCH", item("/api/periods", w.period),
			map[string]any{"starts_on": "2026-08-01"}, 422, "validation_failed", []string{"starts_on"}},
		{"period bad date and missing fields", "POST", "/api/periods",
			map[string]any{"starts_on": "2026-02-30", "ends_on": "mañana"}, 422, "validation_failed", []string{"code", "name", "starts_on", "ends_on"}},
		{"period code duplicate", "POST", "/api/periods",
			map[string]any{"code": "2026-1", "name": "Otro", "starts_on": "2026-03-02", "ends_on": "2026-07-17"}, 409, "conflict", []string{"code"}},
		{"program unknown and server fields", "POST", "/api/programs",
			map[string]any{"code": "P", "name": "P", "id": 7, "created_at": "2026-01-01T00:00:00Z", "color": "azul"}, 422, "validation_failed",
			[]string{"id", "created_at", "color"}},
		{"program empty name", "POST", "/api/programs", map[string]any{"code": "P", "name": "   "}, 422, "validation_failed", []string{"name"}},
		{"program code duplicate", "POST", "/api/programs", map[string]any{"code": "ING-INF", "name": "Otra"}, 409, "conflict", []string{"code"}},
		{"subject hours and credits", "POST", "/api/subjects",
			map[string]any{"code": "S", "name": "S", "hours_per_week": 0, "credits": -1}, 422, "validation_failed", []string{"hours_per_week", "credits"}},
		{"subject hours past a week", "PATCH", item("/api/subjects", w.subject),
			map[string]any{"hours_per_week": 169}, 422, "validation_failed", []string{"hours_per_week"}},
		{"program subject semester 0", "POST", "/api/program-subjects",
			map[string]any{"program_id": w.program, "subject_id": w.subject, "semester": 0}, 422, "validation_failed", []string{"semester"}},
		{"program subject of no program", "POST", "/api/program-subjects",
			map[string]any{"program_id": 999999, "subject_id": w.subject, "semester": 1}, 422, "validation_failed", []string{"program_id"}},
		{"group semester, shift, program", "POST", "/api/groups",
			map[string]any{"program_id": "uno", "code": "G", "semester": -2, "shift": "night"}, 422, "validation_failed",
			[]string{"program_id", "semester", "shift"}},
		{"group code duplicate in its program", "POST", "/api/groups",
			map[string]any{"program_id": w.program, "code": "INF-1A", "semester": 1}, 409, "conflict", []string{"program_id", "code"}},
		{"group program is immutable", "PATCH", item("/api/groups", w.group),
			map[string]any{"program_id": w.program}, 422, "validation_failed", []string{"program_id"}},
		{"teacher email", "POST", "/api/teachers",
			map[string]any{"employee_number": "D", "full_name": "D", "email": "no-es-correo"}, 422, "validation_failed", []string{"email"}},
		{"teacher email taken in another case", "POST", "/api/teachers",
			map[string]any{"employee_number": "DOC-9", "full_name": "Otra", "email": "MFuentes@Universidad.CL"}, 409, "conflict", []string{"email"}},
		{"teacher employee number taken", "POST", "/api/teachers",
			map[string]any{"employee_number": "DOC-1", "full_name": "Otra"}, 409, "conflict", []string{"employee_number"}},
		{"teacher name may not be null", "PATCH", item("/api/teachers", w.teacher),
			map[string]any{"full_name": nil}, 422, "validation_failed", []string{"full_name"}},
		{"schedule content and user", "POST", "/api/schedules",
			map[string]any{"period_id": w.period, "file_name": "h.xlsx", "content": []int{1}, "uploaded_by": 1}, 422, "validation_failed",
			[]string{"content", "uploaded_by"}},
		{"teaching load hours 0", "POST", "/api/teaching-loads",
			map[string]any{"period_id": w.period, "group_id": w.group, "teacher_id": w.teacher, "subject_id": w.subject, "hours": 0}, 422,
			"validation_failed", []string{"hours"}},
		{"teaching load duplicate", "POST", "/api/teaching-loads",
			map[string]any{"period_id": w.period, "group_id": w.group, "teacher_id": w.teacher, "subject_id": w.subject, "hours": 2}, 409,
			"conflict", []string{"period_id", "group_id", "subject_id"}},
		{"teaching load period is immutable", "PATCH", item("/api/teaching-loads", load),
			map[string]any{"period_id": w.period}, 422, "validation_failed", []string{"period_id"}},
		{"teaching load of no teacher", "PATCH", item("/api/teaching-loads", load),
			map[string]any{"teacher_id": 999999}, 422, "validation_failed", []string{"teacher_id"}},
		{"tutoring attendees and topic", "POST", "/api/tutoring-sessions",
			map[string]any{"period_id": w.period, "group_id": w.group, "teacher_id": w.teacher, "held_on": "2026-04-15",
				"topic": strings.Repeat("x", 301), "attendees": -1}, 422, "validation_failed", []string{"topic", "attendees"}},
		{"prefecture kind and date", "POST", "/api/prefecture-reports",
			map[string]any{"period_id": w.period, "group_id": w.group, "kind": "fire", "report_date": "20/04/2026"}, 422,
			"validation_failed", []string{"kind", "report_date"}},
		{"prefecture of a deleted-or-never teacher", "POST", "/api/prefecture-reports",
			map[string]any{"period_id": w.period, "group_id": w.group, "teacher_id": 999999, "kind": "incident"}, 422,
			"validation_failed", []string{"teacher_id"}},
		{"not JSON", "POST", "/api/teachers", "employee_number=1", 400, "invalid_input", nil},
		{"empty patch", "PATCH", item("/api/teachers", w.teacher), map[string]any{}, 422, "validation_failed", []string{"body"}},
		{"bad list filter and limit", "GET", "/api/teaching-loads?hours=4&limit=0&cursor=x", nil, 422, "validation_failed",
			[]string{"hours", "limit", "cursor"}},
		{"range of a field that is no date", "GET", "/api/groups?semester_from=1", nil, 422, "validation_failed", []string{"semester_from"}},
	}
	auditBefore := count(t, tn, "audit_log")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := c.Do(tc.method, tc.path, tc.body).Want(t, tc.status, tc.code)
			if tc.code == "conflict" { // named in the message: a 409 has no per-field messages
				msg, _ := r.Body["error"].(map[string]any)["message"].(string)
				if !strings.Contains(msg, strings.Join(tc.fields, " and ")) {
					t.Errorf("conflict message %q does not name %v", msg, tc.fields)
				}
				return
			}
			for _, f := range tc.fields {
				if _, ok := r.Fields[f]; !ok {
					t.Errorf("no message for %s: %s", f, r.Raw)
				}
			}
			if len(tc.fields) > 0 && len(r.Fields) != len(tc.fields) {
				t.Errorf("fields %v, want just %v", r.Fields, tc.fields)
			}
		})
	}
	// The database gave no CHECK's text away, and nothing changed.
	if after := count(t, tn, "audit_log"); after != auditBefore {
		t.Errorf("%d audit rows written by refused writes", after-auditBefore)
	}
	p := c.Do("GET", item("/api/periods", w.period), nil).Want(t, 200, "")
	if p.Str("starts_on") != "2026-03-02" || p.Str("ends_on") != "2026-07-17" {
		t.Errorf("period changed by refused patches: %s", p.Raw)
	}
	if n := count(t, tn, "teachers"); n != 1 {
		t.Errorf("%d teachers, want 1", n)
	}
	// A valid PATCH of one date is checked against the other's stored value.
	c.Do("PATCH", item("/api/periods", w.period), map[string]any{"ends_on": "2026-03-03"}).Want(t, 200, "")
	// A teacher's email may be cleared on several teachers (the index is partial).
	c.Do("POST", "/api/teachers", map[string]any{"employee_number": "DOC-7", "full_name": "Sin Correo"}).Want(t, 201, "")
	c.Do("POST", "/api/teachers", map[string]any{"employee_number": "DOC-8", "full_name": "Tampoco", "email": nil}).Want(t, 201, "")
}

// TestDeleteRules: the schema's RESTRICT refuses with 409 in_use naming
// the dependents and their count; CASCADE reports what went, per kind, in
// the answer and the audit row; SET NULL keeps the dependents.
func TestDeleteRules(t *testing.T) {
	t.Parallel()
	h := domaintest.New(t, institution.Mount)
	tn := h.Tenant(t, tenant.Institution)
	c := h.Admin(t, tn)
	w := newWorld(t, c, "")
	w2 := newWorld(t, c, "B")

	subject2 := c.Do("POST", "/api/subjects", map[string]any{"code": "FIS101", "name": "Física I", "hours_per_week": 4}).Want(t, 201, "").ID()
	for _, s := range []int64{w.subject, subject2} {
		c.Do("POST", "/api/teaching-loads", map[string]any{"period_id": w.period, "group_id": w.group, "teacher_id": w.teacher,
			"subject_id": s, "hours": 4}).Want(t, 201, "")
	}
	c.Do("POST", "/api/teaching-loads", map[string]any{"period_id": w2.period, "group_id": w2.group, "teacher_id": w2.teacher,
		"subject_id": w2.subject, "hours": 3}).Want(t, 201, "")
	c.Do("POST", "/api/tutoring-sessions", map[string]any{"period_id": w.period, "group_id": w.group, "teacher_id": w.teacher,
		"held_on": "2026-04-15", "topic": "Repaso"}).Want(t, 201, "")
	c.Do("POST", "/api/schedules", map[string]any{"period_id": w.period, "file_name": "horario.xlsx"}).Want(t, 201, "")
	for _, k := range []string{"incident", "other", "teacher_absent"} {
		c.Do("POST", "/api/prefecture-reports", map[string]any{"period_id": w.period, "group_id": w.group, "teacher_id": w.teacher,
			"kind": k}).Want(t, 201, "")
	}
	for _, s := range []int64{w.subject, subject2} {
		c.Do("POST", "/api/program-subjects", map[string]any{"program_id": w.program, "subject_id": s, "semester": 1}).Want(t, 201, "")
	}

	inUse := func(t *testing.T, path string, id int64, want map[string]float64) {
		t.Helper()
		r := c.Do("DELETE", item(path, id), nil).Want(t, 409, "in_use")
		e, _ := r.Body["error"].(map[string]any)
		details, _ := e["details"].(map[string]any)
		deps, _ := details["dependents"].(map[string]any)
		if len(deps) != len(want) {
			t.Errorf("DELETE %s/%d: dependents %v, want %v", path, id, deps, want)
		}
		for k, n := range want {
			if deps[k] != n {
				t.Errorf("DELETE %s/%d: dependents %v, want %s: %v", path, id, deps, k, n)
			}
			if msg, _ := e["message"].(string); !strings.Contains(msg, resource.Words(k)) {
				t.Errorf("message %q does not name %s", msg, resource.Words(k))
			}
		}
		c.Do("GET", item(path, id), nil).Want(t, 200, "")
	}
	// RESTRICT.
	inUse(t, "/api/teachers", w.teacher, map[string]float64{"teaching_loads": 2, "tutoring_sessions": 1})
	inUse(t, "/api/subjects", w.subject, map[string]float64{"teaching_loads": 1})
	inUse(t, "/api/programs", w.program, map[string]float64{"groups": 1})

	cascade := func(t *testing.T, path, entity string, id int64, want map[string]int64) {
		t.Helper()
		r := c.Do("DELETE", item(path, id), nil).Want(t, 200, "")
		var got struct {
			Deleted  struct{ ID int64 }
			Cascaded map[string]int64
		}
		if err := json.Unmarshal(r.Raw, &got); err != nil {
			t.Fatal(err)
		}
		if got.Deleted.ID != id || !mapsEqual(got.Cascaded, want) {
			t.Errorf("DELETE %s/%d: %s, want cascaded %v", path, id, r.Raw, want)
		}
		rows := auditRows(t, tn, entity, id)
		if len(rows) == 0 || rows[len(rows)-1].Action != entity+".delete" {
			t.Fatalf("no audit row of the delete: %v", rows)
		}
		audited := map[string]int64{}
		cas, _ := rows[len(rows)-1].Details["cascaded"].([]any)
		for _, v := range cas {
			e, _ := v.(map[string]any)
			res, _ := e["resource"].(string)
			n, _ := e["count"].(float64)
			audited[res] = int64(n)
		}
		if !mapsEqual(audited, want) {
			t.Errorf("audit of DELETE %s/%d: cascaded %v, want %v", path, id, cas, want)
		}
	}
	// CASCADE: the period takes its schedules, loads, sessions and reports;
	// the other period's load stays.
	cascade(t, "/api/periods", "period", w.period, map[string]int64{
		"schedules": 1, "teaching_loads": 2, "tutoring_sessions": 1, "prefecture_reports": 3})
	if n := count(t, tn, "teaching_loads"); n != 1 {
		t.Errorf("%d teaching loads left, want the other period's 1", n)
	}
	// With its loads gone the subject goes, and its curriculum entries with it.
	cascade(t, "/api/subjects", "subject", subject2, map[string]int64{"program_subjects": 1})
	// A group takes its loads, sessions and reports.
	cascade(t, "/api/groups", "group", w2.group, map[string]int64{"teaching_loads": 1})
	cascade(t, "/api/groups", "group", w.group, map[string]int64{})
	cascade(t, "/api/programs", "program", w.program, map[string]int64{"program_subjects": 1})

	// SET NULL: a report survives its teacher.
	rep := c.Do("POST", "/api/prefecture-reports", map[string]any{"period_id": w2.period, "group_id": newGroup(t, c, w2.program),
		"teacher_id": w2.teacher, "kind": "teacher_late"}).Want(t, 201, "").ID()
	cascade(t, "/api/teachers", "teacher", w2.teacher, map[string]int64{})
	if r := c.Do("GET", item("/api/prefecture-reports", rep), nil).Want(t, 200, ""); r.Body["teacher_id"] != nil {
		t.Errorf("report after its teacher's delete: %s", r.Raw)
	}
}

func newGroup(t *testing.T, c *domaintest.Client, program int64) int64 {
	t.Helper()
	return c.Do("POST", "/api/groups", map[string]any{"program_id": program, "code": "INF-2A", "semester": 3}).Want(t, 201, "").ID()
}

func mapsEqual(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestPagination: a filtered list in pages of 3 gives every matching row
// once, in id order, and the last page has no cursor.
func TestPagination(t *testing.T) {
	t.Parallel()
	h := domaintest.New(t, institution.Mount)
	tn := h.Tenant(t, tenant.Institution)
	c := h.Admin(t, tn)
	w := newWorld(t, c, "")
	var want []int64
	for i := range 10 {
		held := fmt.Sprintf("2026-04-%02d", 1+i)
		id := c.Do("POST", "/api/tutoring-sessions", map[string]any{"period_id": w.period, "group_id": w.group,
			"teacher_id": w.teacher, "held_on": held, "topic": fmt.Sprintf("Sesión %d", i+1)}).Want(t, 201, "").ID()
		if held >= "2026-04-02" && held < "2026-04-09" {
			want = append(want, id)
		}
	}
	var got []int64
	query := "/api/tutoring-sessions?held_on_from=2026-04-02&held_on_to=2026-04-09&limit=3"
	next := ""
	for pages := 1; ; pages++ {
		r := c.Do("GET", query+next, nil).Want(t, 200, "")
		items := r.Items()
		for _, it := range items {
			got = append(got, int64(it["id"].(float64)))
		}
		cur := r.Str("next_cursor")
		if cur == "" {
			if len(items) == 0 || pages != 3 {
				t.Errorf("last page %d has %d items", pages, len(items))
			}
			break
		}
		if len(items) != 3 || pages > 3 {
			t.Fatalf("page %d: %d items, cursor %q", pages, len(items), cur)
		}
		next = "&cursor=" + cur
	}
	if !slices.Equal(got, want) {
		t.Errorf("paged %v, want %v", got, want)
	}
	if all := c.Do("GET", "/api/tutoring-sessions?limit=200", nil).Want(t, 200, ""); len(all.Items()) != 10 || all.Str("next_cursor") != "" {
		t.Errorf("one page of all: %d items, cursor %q", len(all.Items()), all.Str("next_cursor"))
	}
	c.Do("GET", "/api/tutoring-sessions?limit=201", nil).Want(t, 422, "validation_failed")
}

// TestAccess: a restaurant tenant has none of the routes (404
// route_not_found, as an unknown route), a teacher reads and cannot
// write, a user with no role cannot even read, and nobody unauthenticated
// gets anything.
func TestAccess(t *testing.T) {
	t.Parallel()
	h := domaintest.New(t, institution.Mount)
	tn := h.Tenant(t, tenant.Institution)
	admin := h.Admin(t, tn)
	w := newWorld(t, admin, "")
	teacher := h.User(t, tn, admin, "docente", "teacher")
	nobody := h.User(t, tn, admin, "sinrol")
	prefect := h.User(t, tn, admin, "prefecta", "prefect")
	anon := h.Client(t, tn)
	rt := h.Tenant(t, tenant.Restaurant)
	rAdmin, rAnon := h.Admin(t, rt), h.Client(t, rt)

	ids := map[string]int64{"/api/periods": w.period, "/api/programs": w.program, "/api/subjects": w.subject,
		"/api/groups": w.group, "/api/teachers": w.teacher}
	for _, s := range institution.Specs() {
		id := ids[s.Path]
		if id == 0 {
			id = 1
		}
		for _, rq := range []struct{ method, path string }{
			{"GET", s.Path}, {"POST", s.Path}, {"GET", item(s.Path, id)}, {"PATCH", item(s.Path, id)}, {"DELETE", item(s.Path, id)},
		} {
			body := any(nil)
			if rq.method == "POST" || rq.method == "PATCH" {
				body = map[string]any{}
			}
			rAdmin.Do(rq.method, rq.path, body).Want(t, 404, "route_not_found")
			rAnon.Do(rq.method, rq.path, body).Want(t, 404, "route_not_found")
			anon.Do(rq.method, rq.path, body).Want(t, 401, "unauthorized")
			nobody.Do(rq.method, rq.path, body).Want(t, 403, "forbidden")
			switch {
			case rq.method != "GET":
				teacher.Do(rq.method, rq.path, body).Want(t, 403, "forbidden")
			case rq.path != s.Path && ids[s.Path] == 0: // past the permission, to a row that is not there
				teacher.Do(rq.method, rq.path, body).Want(t, 404, "not_found")
			default:
				teacher.Do(rq.method, rq.path, body).Want(t, 200, "")
			}
		}
	}
	// The prefect writes; the denied writes changed nothing.
	prefect.Do("POST", "/api/prefecture-reports", map[string]any{"period_id": w.period, "group_id": w.group, "kind": "incident",
		"description": "Vidrio roto en la sala B-204."}).Want(t, 201, "")
	if n := count(t, tn, "prefecture_reports"); n != 1 {
		t.Errorf("%d prefecture reports, want the prefect's 1", n)
	}
	for _, table := range []string{"periods", "programs", "subjects", "groups", "teachers"} {
		if n := count(t, tn, table); n != 1 {
			t.Errorf("%d %s, want 1", n, table)
		}
	}
}

// TestExamples: every field has an example (the OpenAPI document's), and
// a create of every writable field's example and an update of every
// changeable one pass the server's own validation.
func TestExamples(t *testing.T) {
	t.Parallel()
	for _, s := range institution.Specs() {
		create, update := map[string]any{}, map[string]any{}
		cur := resource.Row{Spec: s}
		for _, f := range s.Fields {
			if f.Example == nil {
				t.Errorf("%s.%s has no example", s.Name, f.Name)
			}
			cur.Vals = append(cur.Vals, f.Example)
			if f.ReadOnly || f.ByUser {
				continue
			}
			create[f.Name] = f.Example
			if !f.Immutable {
				update[f.Name] = f.Example
			}
		}
		for _, tc := range []struct {
			body map[string]any
			cur  *resource.Row
		}{{create, nil}, {update, &cur}} {
			b, err := json.Marshal(tc.body)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := resource.Decode(s, b, tc.cur); err != nil {
				t.Errorf("%s: example %s refused: %v %v", s.Name, b, err, tenant.ErrorFields(err))
			}
		}
	}
}

// TestDeleteRaces: a teacher deleted while teaching loads are being given
// to it: the delete is refused (in_use) or the loads are (422, no such
// teacher), never a 500, and no load is left pointing at nothing.
func TestDeleteRaces(t *testing.T) {
	t.Parallel()
	h := domaintest.New(t, institution.Mount)
	tn := h.Tenant(t, tenant.Institution)
	c := h.Admin(t, tn)
	w := newWorld(t, c, "")
	var subjects []int64
	for i := range 6 {
		subjects = append(subjects, c.Do("POST", "/api/subjects", map[string]any{"code": fmt.Sprintf("S%d", i),
			"name": fmt.Sprintf("Asignatura %d", i), "hours_per_week": 2}).Want(t, 201, "").ID())
	}
	type result struct {
		status int
		code   string
	}
	results := make(chan result, len(subjects))
	var wg sync.WaitGroup
	for _, s := range subjects {
		wg.Go(func() {
			// Do calls t.Fatal only when the harness itself breaks.
			r := c.Do("POST", "/api/teaching-loads", map[string]any{"period_id": w.period, "group_id": w.group,
				"teacher_id": w.teacher, "subject_id": s, "hours": 2})
			results <- result{r.Status, r.Code}
		})
	}
	del := c.Do("DELETE", item("/api/teachers", w.teacher), nil)
	wg.Wait()
	close(results)
	created := 0
	for r := range results {
		switch {
		case r.status == 201:
			created++
		case r.status == 422 && r.code == "validation_failed":
		default:
			t.Errorf("a load during the delete: %d %q", r.status, r.code)
		}
	}
	loads := count(t, tn, "teaching_loads")
	switch {
	case del.Status == 200 && loads == 0 && created == 0:
	case del.Status == 409 && del.Code == "in_use" && loads > 0 && int(loads) == created:
	default:
		t.Errorf("delete %d %s with %d loads created, %d stored", del.Status, del.Raw, created, loads)
	}
}

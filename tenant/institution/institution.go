// Package institution is the educational institution domain's API:
// periods, programs and their subjects, groups, teachers, schedules,
// teaching loads, tutoring and prefecture reports, served only on
// institution tenants.
//
// Every resource is a resource.Spec over its table of
// migrations/institution: the fields are the columns, the uniques the
// schema's unique constraints and indexes, and Depends the schema's delete
// rules (RESTRICT → 409 in_use, CASCADE → counted in the delete's answer
// and audit row, SET NULL → the reference cleared); a test holds them to the
// migrated schema with resourcepg.CheckSchema.
package institution

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/resource"
	"github.com/tenancy/platform/tenant/resource/resourcehttp"
)

// Mount serves the institution routes on r.
func Mount(api *resourcehttp.API, r fiber.Router) { api.Mount(r, Specs()...) }

// Resource names (also the keys of in_use details and cascade counts).
const (
	Periods           = "periods"
	Programs          = "programs"
	Subjects          = "subjects"
	ProgramSubjects   = "program_subjects"
	Groups            = "groups"
	Teachers          = "teachers"
	Schedules         = "schedules"
	TeachingLoads     = "teaching_loads"
	TutoringSessions  = "tutoring_sessions"
	PrefectureReports = "prefecture_reports"
)

const (
	maxSemester      = 20
	maxHoursPerWeek  = 168 // the hours of a week
	exampleCreatedAt = "2026-03-02T12:00:00Z"
	exampleUpdatedAt = "2026-03-09T15:30:00Z"
	orderByID        = "by id, ascending"
)

// Shifts of a group and kinds of a prefecture report, as the schema's
// CHECK constraints allow them.
var (
	shifts          = []string{"morning", "afternoon", "evening", "mixed"}
	prefectureKinds = []string{"teacher_absent", "teacher_late", "early_dismissal", "incident", "other"}
)

// Specs returns the institution's resources, new values on each call (the
// caller may keep or change them).
func Specs() []*resource.Spec {
	return []*resource.Spec{
		periodSpec(), programSpec(), subjectSpec(), programSubjectSpec(), groupSpec(), teacherSpec(),
		scheduleSpec(), teachingLoadSpec(), tutoringSessionSpec(), prefectureReportSpec(),
	}
}

func idField() resource.Field {
	return resource.Field{Name: "id", Type: resource.Int, ReadOnly: true, Example: 1}
}

func createdAt() resource.Field {
	return resource.Field{Name: "created_at", Type: resource.Time, ReadOnly: true, Example: exampleCreatedAt}
}

func updatedAt() resource.Field {
	return resource.Field{Name: "updated_at", Type: resource.Time, ReadOnly: true, Example: exampleUpdatedAt}
}

// ref is a required reference to a row of resource to, a filter of the list.
func ref(name, to string) resource.Field {
	return resource.Field{Name: name, Type: resource.Ref, Ref: to, Required: true, Filter: true, Example: 1}
}

// byUser is a reference to the acting user, set by the server on create
// (the schema keeps the row when the user goes: SET NULL).
func byUser(name, doc string) resource.Field {
	return resource.Field{Name: name, Type: resource.Ref, Ref: "users", ByUser: true, Nullable: true, Filter: true, Example: 3, Doc: doc}
}

func periodSpec() *resource.Spec {
	return &resource.Spec{
		Name: Periods, Entity: "period", Path: "/api/periods", Table: "periods", Kind: tenant.Institution,
		Doc:      "Academic periods (terms); schedules, teaching loads, tutoring sessions and prefecture reports belong to one.",
		OrderDoc: orderByID,
		Fields: []resource.Field{
			idField(),
			{Name: "code", Type: resource.String, Required: true, Max: 40, Filter: true, Example: "2026-1", Doc: "Short unique code of the period."},
			{Name: "name", Type: resource.String, Required: true, Example: "Primer semestre 2026"},
			{Name: "starts_on", Type: resource.Date, Required: true, Filter: true, Example: "2026-03-02", Doc: "First day of the period."},
			{Name: "ends_on", Type: resource.Date, Required: true, Filter: true, Example: "2026-07-17", Doc: "Last day of the period; after starts_on."},
			{Name: "active", Type: resource.Bool, Filter: true, Default: false, Example: true, Doc: "Whether the period is the one in course."},
			createdAt(), updatedAt(),
		},
		Uniques: []resource.Unique{{Constraint: "periods_code_key", Fields: []string{"code"}}},
		Depends: []resource.Dependent{
			{Resource: Schedules, Table: "schedules", Column: "period_id", Action: resource.Cascade},
			{Resource: TeachingLoads, Table: "teaching_loads", Column: "period_id", Action: resource.Cascade},
			{Resource: TutoringSessions, Table: "tutoring_sessions", Column: "period_id", Action: resource.Cascade},
			{Resource: PrefectureReports, Table: "prefecture_reports", Column: "period_id", Action: resource.Cascade},
		},
		Check: checkPeriod,
	}
}

// checkPeriod: a period ends after it starts (the schema's CHECK), also
// when an update changes only one of the dates.
func checkPeriod(v resource.Values, cur resource.Row, _ bool) map[string]string {
	starts, ends := value(v, cur, "starts_on"), value(v, cur, "ends_on")
	s, _ := starts.(string)
	e, _ := ends.(string)
	if s == "" || e == "" || e > s { // dates as YYYY-MM-DD sort as strings
		return nil
	}
	if _, changed := v.Get("ends_on"); changed {
		return map[string]string{"ends_on": "must be after starts_on (" + s + ")"}
	}
	return map[string]string{"starts_on": "must be before ends_on (" + e + ")"}
}

// value is name's value after a write: the one given, else the current row's.
func value(v resource.Values, cur resource.Row, name string) any {
	if x, ok := v.Get(name); ok {
		return x
	}
	return cur.Get(name)
}

func programSpec() *resource.Spec {
	return &resource.Spec{
		Name: Programs, Entity: "program", Path: "/api/programs", Table: "programs", Kind: tenant.Institution,
		Doc:      "Degree programs (careers) offered by the institution. A program with groups cannot be deleted: deactivate it instead.",
		OrderDoc: orderByID,
		Fields: []resource.Field{
			idField(),
			{Name: "code", Type: resource.String, Required: true, Max: 40, Filter: true, Example: "ING-INF", Doc: "Short unique code of the program."},
			{Name: "name", Type: resource.String, Required: true, Example: "Ingeniería en Informática"},
			{Name: "active", Type: resource.Bool, Filter: true, Default: true, Example: true},
			createdAt(), updatedAt(),
		},
		Uniques: []resource.Unique{{Constraint: "programs_code_key", Fields: []string{"code"}}},
		Depends: []resource.Dependent{
			{Resource: ProgramSubjects, Table: "program_subjects", Column: "program_id", Action: resource.Cascade},
			{Resource: Groups, Table: "groups", Column: "program_id", Action: resource.Restrict},
		},
	}
}

func subjectSpec() *resource.Spec {
	return &resource.Spec{
		Name: Subjects, Entity: "subject", Path: "/api/subjects", Table: "subjects", Kind: tenant.Institution,
		Doc:      "Subjects (courses) that programs' curricula include. A subject with teaching loads cannot be deleted.",
		OrderDoc: orderByID,
		Fields: []resource.Field{
			idField(),
			{Name: "code", Type: resource.String, Required: true, Max: 40, Filter: true, Example: "MAT101", Doc: "Short unique code of the subject."},
			{Name: "name", Type: resource.String, Required: true, Example: "Cálculo I"},
			{Name: "credits", Type: resource.Int, Min: resource.Int64(0), Max: 100, Default: 0, Example: 6},
			{Name: "hours_per_week", Type: resource.Int, Required: true, Min: resource.Int64(1), Max: maxHoursPerWeek, Example: 5},
			createdAt(), updatedAt(),
		},
		Uniques: []resource.Unique{{Constraint: "subjects_code_key", Fields: []string{"code"}}},
		Depends: []resource.Dependent{
			{Resource: ProgramSubjects, Table: "program_subjects", Column: "subject_id", Action: resource.Cascade},
			{Resource: TeachingLoads, Table: "teaching_loads", Column: "subject_id", Action: resource.Restrict},
		},
	}
}

func programSubjectSpec() *resource.Spec {
	return &resource.Spec{
		Name: ProgramSubjects, Entity: "program_subject", Path: "/api/program-subjects", Table: "program_subjects",
		Kind:     tenant.Institution,
		Doc:      "Curriculum entries: a subject of a program and the semester it is taught in. To move a subject to another program, delete the entry and create another.",
		OrderDoc: orderByID,
		Fields: []resource.Field{
			idField(),
			{Name: "program_id", Type: resource.Ref, Ref: Programs, Required: true, Immutable: true, Filter: true, Example: 1},
			{Name: "subject_id", Type: resource.Ref, Ref: Subjects, Required: true, Immutable: true, Filter: true, Example: 1},
			{Name: "semester", Type: resource.Int, Required: true, Min: resource.Int64(1), Max: maxSemester, Filter: true, Example: 1},
		},
		Uniques: []resource.Unique{{Constraint: "program_subjects_program_id_subject_id_key", Fields: []string{"program_id", "subject_id"}}},
	}
}

func groupSpec() *resource.Spec {
	return &resource.Spec{
		Name: Groups, Entity: "group", Path: "/api/groups", Table: "groups", Kind: tenant.Institution,
		Doc:      "Student groups (sections of a cohort) of a program. Deleting one deletes its teaching loads, tutoring sessions and prefecture reports.",
		OrderDoc: orderByID,
		Fields: []resource.Field{
			idField(),
			{Name: "program_id", Type: resource.Ref, Ref: Programs, Required: true, Immutable: true, Filter: true, Example: 1},
			{Name: "code", Type: resource.String, Required: true, Max: 40, Filter: true, Example: "INF-1A", Doc: "Unique within the program."},
			{Name: "semester", Type: resource.Int, Required: true, Min: resource.Int64(1), Max: maxSemester, Filter: true, Example: 1},
			{Name: "shift", Type: resource.Enum, Enum: shifts, Filter: true, Default: "morning", Example: "morning"},
			createdAt(), updatedAt(),
		},
		Uniques: []resource.Unique{{Constraint: "groups_program_id_code_key", Fields: []string{"program_id", "code"}}},
		Depends: []resource.Dependent{
			{Resource: TeachingLoads, Table: "teaching_loads", Column: "group_id", Action: resource.Cascade},
			{Resource: TutoringSessions, Table: "tutoring_sessions", Column: "group_id", Action: resource.Cascade},
			{Resource: PrefectureReports, Table: "prefecture_reports", Column: "group_id", Action: resource.Cascade},
		},
	}
}

func teacherSpec() *resource.Spec {
	return &resource.Spec{
		Name: Teachers, Entity: "teacher", Path: "/api/teachers", Table: "teachers", Kind: tenant.Institution,
		Doc: "Teaching staff (not necessarily users of the platform). A teacher with teaching loads or tutoring sessions cannot be deleted " +
			"(deactivate instead); prefecture reports about a deleted teacher stay, without the teacher.",
		OrderDoc: orderByID,
		Fields: []resource.Field{
			idField(),
			{Name: "employee_number", Type: resource.String, Required: true, Max: 40, Filter: true, Example: "DOC-00123"},
			{Name: "full_name", Type: resource.String, Required: true, Example: "María José Fuentes Rojas"},
			{Name: "email", Type: resource.Email, Nullable: true, Max: 254, Example: "mfuentes@universidad.cl", Doc: "Unique, whatever its case."},
			{Name: "active", Type: resource.Bool, Filter: true, Default: true, Example: true},
			createdAt(), updatedAt(),
		},
		Uniques: []resource.Unique{
			{Constraint: "teachers_employee_number_key", Fields: []string{"employee_number"}},
			{Constraint: "teachers_email_lower_key", Fields: []string{"email"}}, // a unique index on lower(email)
		},
		Depends: []resource.Dependent{
			{Resource: TeachingLoads, Table: "teaching_loads", Column: "teacher_id", Action: resource.Restrict},
			{Resource: TutoringSessions, Table: "tutoring_sessions", Column: "teacher_id", Action: resource.Restrict},
			{Resource: PrefectureReports, Table: "prefecture_reports", Column: "teacher_id", Action: resource.SetNull},
		},
	}
}

func scheduleSpec() *resource.Spec {
	return &resource.Spec{
		Name: Schedules, Entity: "schedule", Path: "/api/schedules", Table: "schedules", Kind: tenant.Institution,
		Doc:      "Class schedule files of a period, as uploaded (the file's name and its parsed content), with who uploaded them.",
		OrderDoc: orderByID,
		Fields: []resource.Field{
			idField(),
			{Name: "period_id", Type: resource.Ref, Ref: Periods, Required: true, Immutable: true, Filter: true, Example: 1},
			byUser("uploaded_by", "The user who uploaded the schedule; null once that user is deleted."),
			{Name: "file_name", Type: resource.String, Required: true, Max: 255, Example: "horario-ing-inf-2026-1.xlsx"},
			{Name: "content", Type: resource.JSON, Default: map[string]any{}, Doc: "The parsed schedule: a JSON object.",
				Example: map[string]any{"grupo": "INF-1A", "bloques": []any{
					map[string]any{"dia": "lunes", "inicio": "08:30", "fin": "10:00", "asignatura": "MAT101", "sala": "B-204"},
					map[string]any{"dia": "miércoles", "inicio": "10:15", "fin": "11:45", "asignatura": "INF110", "sala": "Lab. 3"},
				}}},
			{Name: "uploaded_at", Type: resource.Time, ReadOnly: true, Filter: true, Example: exampleCreatedAt},
		},
	}
}

func teachingLoadSpec() *resource.Spec {
	return &resource.Spec{
		Name: TeachingLoads, Entity: "teaching_load", Path: "/api/teaching-loads", Table: "teaching_loads",
		Kind: tenant.Institution,
		Doc: "Teaching loads: a teacher teaching a subject to a group in a period; one per period, group and subject " +
			"(to change who teaches it, change teacher_id).",
		OrderDoc: orderByID,
		Fields: []resource.Field{
			idField(),
			{Name: "period_id", Type: resource.Ref, Ref: Periods, Required: true, Immutable: true, Filter: true, Example: 1},
			ref("group_id", Groups),
			ref("teacher_id", Teachers),
			ref("subject_id", Subjects),
			{Name: "hours", Type: resource.Int, Required: true, Min: resource.Int64(1), Example: 4, Doc: "Hours assigned; more than 0."},
			byUser("assigned_by", "The user who assigned the load; null once that user is deleted."),
			createdAt(), updatedAt(),
		},
		Uniques: []resource.Unique{{Constraint: "teaching_loads_period_id_group_id_subject_id_key",
			Fields: []string{"period_id", "group_id", "subject_id"}}},
	}
}

func tutoringSessionSpec() *resource.Spec {
	return &resource.Spec{
		Name: TutoringSessions, Entity: "tutoring_session", Path: "/api/tutoring-sessions", Table: "tutoring_sessions",
		Kind:     tenant.Institution,
		Doc:      "Tutoring sessions a teacher held with a group.",
		OrderDoc: orderByID,
		Fields: []resource.Field{
			idField(),
			ref("period_id", Periods),
			ref("group_id", Groups),
			ref("teacher_id", Teachers),
			{Name: "held_on", Type: resource.Date, Required: true, Filter: true, Example: "2026-04-15"},
			{Name: "topic", Type: resource.String, Required: true, Max: 300, Example: "Preparación del primer certamen de Cálculo I"},
			{Name: "attendees", Type: resource.Int, Min: resource.Int64(0), Default: 0, Example: 18},
			{Name: "notes", Type: resource.String, Nullable: true,
				Example: "Se repasaron límites y derivadas; tres estudiantes solicitan una nueva sesión."},
			createdAt(),
		},
	}
}

func prefectureReportSpec() *resource.Spec {
	return &resource.Spec{
		Name: PrefectureReports, Entity: "prefecture_report", Path: "/api/prefecture-reports", Table: "prefecture_reports",
		Kind:     tenant.Institution,
		Doc:      "Prefecture (classroom monitoring) reports on a group and, optionally, a teacher, with who recorded them.",
		OrderDoc: orderByID,
		Fields: []resource.Field{
			idField(),
			ref("period_id", Periods),
			ref("group_id", Groups),
			{Name: "teacher_id", Type: resource.Ref, Ref: Teachers, Nullable: true, Filter: true, Example: 1,
				Doc: "The teacher concerned, if any; null once that teacher is deleted."},
			byUser("recorded_by", "The user who recorded the report; null once that user is deleted."),
			{Name: "report_date", Type: resource.Date, Filter: true, Example: "2026-04-20",
				Doc: "The day it concerns; the day it is recorded when omitted."},
			{Name: "kind", Type: resource.Enum, Enum: prefectureKinds, Required: true, Filter: true, Example: "teacher_late",
				Doc: "What happened: " + strings.Join(prefectureKinds, ", ") + "."},
			{Name: "description", Type: resource.String, Default: "",
				Example: "El docente llegó 20 minutos tarde al bloque de las 08:30; el grupo esperó en la sala B-204."},
			createdAt(),
		},
	}
}

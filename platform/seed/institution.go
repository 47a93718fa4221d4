package seed

import (
	"fmt"

	"github.com/tenancy/platform/tenant/auth"
)

// institution is the data of a Chilean university, "Universidad del Valle
// Central".
type institution struct{ size Size }

// institutionScale is how much of each thing a size makes.
type institutionScale struct {
	periods  int      // the last ones of the list in data.go
	sections []string // of every semester's groups; B… only up to extraUpTo
	// extraUpTo is the last semester with more than section A (first
	// years are the largest); evening programs also have a V section up
	// to eveningUpTo.
	extraUpTo, eveningUpTo int
	teachers               int
	tutoring               int // sessions per group and period
	reports                int // prefecture reports per group and period
	versions               int // schedule files per program and period (re-uploads)
}

func (in institution) scale() institutionScale {
	if in.size == Large {
		// Measured: 503 MiB of database in 35 s here (BenchmarkSeed).
		return institutionScale{periods: len(periods), sections: []string{"A", "B", "C", "D", "E", "F", "G", "H"}, extraUpTo: 8, eveningUpTo: 8,
			teachers: 900, tutoring: 60, reports: 100, versions: 12}
	}
	return institutionScale{periods: 3, sections: []string{"A", "B"}, extraUpTo: 2, eveningUpTo: 4,
		teachers: 90, tutoring: 2, reports: 2, versions: 1}
}

func (institution) tables() []string {
	return []string{"periods", "programs", "subjects", "program_subjects", "groups", "teachers",
		"teaching_loads", "schedules", "tutoring_sessions", "prefecture_reports"}
}

func (institution) baseline() map[string]int64 { return nil }

// shifts of the sections: A, C, E, G in the morning, B, D, F, H in the
// afternoon, V in the evening.
func shift(section string) string {
	switch section {
	case "V":
		return "evening"
	case "B", "D", "F", "H":
		return "afternoon"
	}
	return "morning"
}

func (in institution) fill(f *filler) error {
	sc := in.scale()
	admin := `(SELECT id FROM users WHERE lower(username) = lower($1))`

	ps := periods[len(periods)-sc.periods:]
	var codes, names, starts, ends []string
	for _, p := range ps {
		codes, names, starts, ends = append(codes, p.Code), append(names, p.Name), append(starts, p.StartsOn), append(ends, p.EndsOn)
	}
	f.insert("periods", `INSERT INTO periods (code, name, starts_on, ends_on, active)
		SELECT c, n, s::date, e::date, c = $5 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS p(c, n, s, e, i)
		ORDER BY i`, codes, names, starts, ends, ps[len(ps)-1].Code)

	var pcodes, pnames []string
	for _, p := range programs {
		pcodes, pnames = append(pcodes, p.Code), append(pnames, p.Name)
	}
	f.insert("programs", `INSERT INTO programs (code, name)
		SELECT c, n FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS p(c, n, i) ORDER BY i`, pcodes, pnames)

	// Subjects: each program's own, one a semester, and the general
	// education ones every program shares.
	var scodes, snames, sprogs []string
	var credits, hours, sems []int32
	for _, p := range programs {
		for i, name := range p.Subjects {
			sem := i + 1
			scodes, snames, sprogs = append(scodes, fmt.Sprintf("%s%d0%d", p.Code, sem, 1+i%2)), append(snames, name), append(sprogs, p.Code)
			credits, hours, sems = append(credits, int32(5+i%3)), append(hours, int32(4+i%3)), append(sems, int32(sem))
		}
	}
	for _, c := range commonSubjects {
		scodes, snames, sprogs = append(scodes, c.Code), append(snames, c.Name), append(sprogs, "")
		credits, hours, sems = append(credits, 3), append(hours, 3), append(sems, int32(c.Semester))
	}
	f.insert("subjects", `INSERT INTO subjects (code, name, credits, hours_per_week)
		SELECT c, n, cr, h FROM unnest($1::text[], $2::text[], $3::int[], $4::int[]) WITH ORDINALITY AS s(c, n, cr, h, i) ORDER BY i`,
		scodes, snames, credits, hours)
	f.insert("program_subjects", `INSERT INTO program_subjects (program_id, subject_id, semester)
		SELECT p.id, s.id, x.sem FROM unnest($1::text[], $2::text[], $3::int[]) WITH ORDINALITY AS x(subject, program, sem, i)
		JOIN subjects s ON s.code = x.subject
		JOIN programs p ON p.code = x.program OR x.program = ''
		ORDER BY p.id, x.sem, s.id`, scodes, sprogs, sems)

	var gprogs, gcodes, gshifts []string
	var gsems []int32
	for _, p := range programs {
		for sem := 1; sem <= 8; sem++ {
			secs := sc.sections[:1]
			if sem <= sc.extraUpTo {
				secs = sc.sections
			}
			if p.Evening && sem <= sc.eveningUpTo {
				secs = append(secs[:len(secs):len(secs)], "V")
			}
			for _, s := range secs {
				gprogs, gcodes, gshifts = append(gprogs, p.Code), append(gcodes, fmt.Sprintf("%s-%d%s", p.Code, sem, s)), append(gshifts, shift(s))
				gsems = append(gsems, int32(sem))
			}
		}
	}
	f.insert("groups", `INSERT INTO groups (program_id, code, semester, shift)
		SELECT p.id, x.code, x.sem, x.shift FROM unnest($1::text[], $2::text[], $3::int[], $4::text[]) WITH ORDINALITY AS x(program, code, sem, shift, i)
		JOIN programs p ON p.code = x.program ORDER BY x.i`, gprogs, gcodes, gsems, gshifts)

	f.insert("teachers", `INSERT INTO teachers (employee_number, full_name, email, active)
		SELECT 'DOC-' || lpad((1000 + i)::text, 5, '0'), p.first || ' ' || p.last1 || ' ' || p.last2,
			translate(lower(p.first || '.' || p.last1), 'áéíóúüñ', 'aeiouun') || '@' || $4, i % 25 <> 0
		FROM generate_series(1, $1::int) AS i,
		LATERAL (SELECT ($2::text[])[1 + i % cardinality($2::text[])] AS first,
			($3::text[])[1 + (i / cardinality($2::text[])) % cardinality($3::text[])] AS last1,
			($3::text[])[1 + (i * 7 + 3) % cardinality($3::text[])] AS last2) AS p`,
		sc.teachers, firstNames, lastNames, universityDomain)

	// One load per period, group and subject of the group's semester in its
	// program's curriculum: unique by construction. Active teachers only.
	f.insert("teaching_loads", `WITH t AS (SELECT array_agg(id ORDER BY id) AS ids, count(*)::int AS n FROM teachers WHERE active)
		INSERT INTO teaching_loads (period_id, group_id, teacher_id, subject_id, hours, assigned_by, created_at, updated_at)
		SELECT p.id, g.id, t.ids[1 + (s.id * 7 + g.id * 3 + p.id) % t.n], s.id, s.hours_per_week, `+admin+`,
			p.starts_on - 20 + time '10:00', p.starts_on - 20 + time '10:00'
		FROM t, periods p, groups g
		JOIN program_subjects x ON x.program_id = g.program_id AND x.semester = g.semester
		JOIN subjects s ON s.id = x.subject_id
		ORDER BY p.id, g.id, s.id`, auth.AdminUsername)

	var wordsA, wordsB []string
	for _, t := range prefectureTexts {
		wordsA, wordsB = append(wordsA, t.A), append(wordsB, t.B)
	}
	// A timetable file per program and period (and its re-uploads): two
	// weekly blocks of every load.
	f.insert("schedules", `INSERT INTO schedules (period_id, uploaded_by, file_name, content, uploaded_at)
		SELECT p.id, `+admin+`,
			'horario_' || pr.code || '_' || p.code || CASE WHEN v > 1 THEN '_v' || v ELSE '' END || '.xlsx',
			jsonb_build_object('programa', pr.name, 'periodo', p.code, 'version', v, 'bloques',
				(SELECT jsonb_agg(jsonb_build_object('grupo', g.code, 'asignatura', s.name, 'codigo', s.code,
						'docente', te.full_name, 'dia', ($2::text[])[1 + (tl.id + b * 2) % cardinality($2::text[])],
						'inicio', ($3::text[])[1 + (g.id + b) % cardinality($3::text[])],
						'sala', ($4::text[])[1 + (tl.id + v + b) % cardinality($4::text[])]) ORDER BY g.code, s.code, b)
					FROM teaching_loads tl JOIN groups g ON g.id = tl.group_id JOIN subjects s ON s.id = tl.subject_id
					JOIN teachers te ON te.id = tl.teacher_id, generate_series(1, 2) AS b
					WHERE tl.period_id = p.id AND g.program_id = pr.id)),
			p.starts_on - 14 + v + time '09:30'
		FROM periods p, programs pr, generate_series(1, $5::int) AS v
		ORDER BY p.id, pr.id, v`, auth.AdminUsername, weekdays, blockStarts, rooms, sc.versions)

	// Tutoring sessions and prefecture reports, spread over each period's
	// weekdays, by the group's teachers.
	const groupTeachers = `gt AS (SELECT period_id, group_id, array_agg(teacher_id ORDER BY subject_id) AS teachers
		FROM teaching_loads GROUP BY period_id, group_id)`
	const weekday = `LATERAL (SELECT p.starts_on + ((k * 97 + gt.group_id * 13) % (p.ends_on - p.starts_on))::int AS raw) AS r,
		LATERAL (SELECT r.raw - CASE extract(isodow FROM r.raw) WHEN 6 THEN 1 WHEN 7 THEN 2 ELSE 0 END AS day) AS d`
	f.insert("tutoring_sessions", `WITH `+groupTeachers+`
		INSERT INTO tutoring_sessions (period_id, group_id, teacher_id, held_on, topic, attendees, notes, created_at)
		SELECT gt.period_id, gt.group_id, gt.teachers[1 + k % cardinality(gt.teachers)], d.day,
			($2::text[])[1 + (gt.group_id + k) % cardinality($2::text[])], 3 + (gt.group_id * 7 + k * 3) % 30,
			($3::text[])[1 + (k * 7 + gt.group_id) % cardinality($3::text[])] || ' '
				|| ($3::text[])[1 + (k * 3 + gt.group_id + 1) % cardinality($3::text[])],
			d.day + time '18:30'
		FROM gt JOIN periods p ON p.id = gt.period_id, generate_series(1, $1::int) AS k, `+weekday+`
		ORDER BY d.day, gt.group_id, k`, sc.tutoring, tutoringTopics, tutoringNotes)
	// Kinds: late 35 %, absent 20 %, early dismissal 15 %, incident 20 %,
	// other 10 %; incidents and others name no teacher half the time.
	f.insert("prefecture_reports", `WITH `+groupTeachers+`
		INSERT INTO prefecture_reports (period_id, group_id, teacher_id, recorded_by, report_date, kind, description, created_at)
		SELECT gt.period_id, gt.group_id,
			CASE WHEN x.kind <= 3 OR k % 2 = 0 THEN gt.teachers[1 + k % cardinality(gt.teachers)] END, `+admin+`,
			d.day, ($2::text[])[x.kind],
			CASE WHEN k % 2 = 0 THEN ($6::text[])[x.kind] ELSE ($7::text[])[x.kind] END
				|| ' (sala ' || ($4::text[])[1 + (k + gt.group_id) % cardinality($4::text[])] || ', bloque de las '
				|| ($5::text[])[1 + (k * 5 + gt.group_id) % cardinality($5::text[])] || ')',
			d.day + time '20:15'
		FROM gt JOIN periods p ON p.id = gt.period_id, generate_series(1, $3::int) AS k, `+weekday+`,
		LATERAL (SELECT CASE WHEN (k + gt.group_id) % 20 < 7 THEN 2 WHEN (k + gt.group_id) % 20 < 11 THEN 1
			WHEN (k + gt.group_id) % 20 < 14 THEN 3 WHEN (k + gt.group_id) % 20 < 18 THEN 4 ELSE 5 END AS kind) AS x
		ORDER BY d.day, gt.group_id, k`, auth.AdminUsername, prefectureKindList(), sc.reports, rooms, blockStarts, wordsA, wordsB)
	return f.err
}

func prefectureKindList() []string {
	ks := make([]string, len(prefectureTexts))
	for i, t := range prefectureTexts {
		ks[i] = t.Kind
	}
	return ks
}

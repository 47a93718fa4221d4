-- University domain (SISCA): periods, programs, subjects, groups, teachers,
-- teaching loads, tutoring and prefecture (classroom monitoring) reports.
-- Relies on users and set_updated_at() from common/000001_identity.

CREATE TABLE periods (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code       text        NOT NULL UNIQUE,
    name       text        NOT NULL,
    starts_on  date        NOT NULL,
    ends_on    date        NOT NULL,
    active     boolean     NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (ends_on > starts_on)
);
COMMENT ON TABLE periods IS 'Academic periods (terms); most data is scoped to one.';
CREATE TRIGGER periods_set_updated_at BEFORE UPDATE ON periods
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE programs (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code       text        NOT NULL UNIQUE,
    name       text        NOT NULL,
    active     boolean     NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE programs IS 'Degree programs (careers) offered by the institution.';
CREATE TRIGGER programs_set_updated_at BEFORE UPDATE ON programs
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE subjects (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code           text        NOT NULL UNIQUE,
    name           text        NOT NULL,
    credits        integer     NOT NULL DEFAULT 0 CHECK (credits >= 0),
    hours_per_week integer     NOT NULL CHECK (hours_per_week > 0),
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE subjects IS 'Subjects (courses) that can appear in program curricula.';
CREATE TRIGGER subjects_set_updated_at BEFORE UPDATE ON subjects
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE program_subjects (
    -- program_id is indexed by the PK's leading column.
    program_id bigint  NOT NULL REFERENCES programs (id) ON DELETE CASCADE,
    subject_id bigint  NOT NULL REFERENCES subjects (id) ON DELETE CASCADE,
    semester   integer NOT NULL CHECK (semester > 0),
    PRIMARY KEY (program_id, subject_id)
);
COMMENT ON TABLE program_subjects IS 'Curriculum: which subjects a program has, and in which semester.';
CREATE INDEX program_subjects_subject_id_idx ON program_subjects (subject_id);

CREATE TABLE groups (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- RESTRICT: a program with groups cannot be deleted (deactivate it instead).
    program_id bigint      NOT NULL REFERENCES programs (id) ON DELETE RESTRICT,
    code       text        NOT NULL,
    semester   integer     NOT NULL CHECK (semester > 0),
    shift      text        NOT NULL DEFAULT 'morning'
        CHECK (shift IN ('morning', 'afternoon', 'evening', 'mixed')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    -- Also serves as the index on program_id (leading column).
    UNIQUE (program_id, code)
);
COMMENT ON TABLE groups IS 'Student groups (cohort sections) within a program.';
CREATE TRIGGER groups_set_updated_at BEFORE UPDATE ON groups
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE teachers (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    employee_number text        NOT NULL UNIQUE,
    full_name       text        NOT NULL,
    email           text,
    active          boolean     NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE teachers IS 'Teaching staff (not necessarily system users).';
CREATE UNIQUE INDEX teachers_email_lower_key ON teachers (lower(email)) WHERE email IS NOT NULL;
CREATE TRIGGER teachers_set_updated_at BEFORE UPDATE ON teachers
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE schedules (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    period_id   bigint      NOT NULL REFERENCES periods (id) ON DELETE CASCADE,
    -- SET NULL: uploads outlive the account that made them.
    uploaded_by bigint      REFERENCES users (id) ON DELETE SET NULL,
    file_name   text        NOT NULL,
    -- Parsed schedule file contents.
    content     jsonb       NOT NULL DEFAULT '{}',
    uploaded_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE schedules IS 'Uploaded class schedule files for a period.';
CREATE INDEX schedules_period_id_idx ON schedules (period_id);
CREATE INDEX schedules_uploaded_by_idx ON schedules (uploaded_by);

CREATE TABLE teaching_loads (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    period_id   bigint      NOT NULL REFERENCES periods (id) ON DELETE CASCADE,
    group_id    bigint      NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    -- RESTRICT: teachers/subjects with assigned loads must not silently vanish.
    teacher_id  bigint      NOT NULL REFERENCES teachers (id) ON DELETE RESTRICT,
    subject_id  bigint      NOT NULL REFERENCES subjects (id) ON DELETE RESTRICT,
    hours       integer     NOT NULL CHECK (hours > 0),
    assigned_by bigint      REFERENCES users (id) ON DELETE SET NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    -- One teacher per subject per group per period; also indexes period_id.
    UNIQUE (period_id, group_id, subject_id)
);
COMMENT ON TABLE teaching_loads IS 'Assignment of a teacher to teach a subject to a group in a period.';
CREATE INDEX teaching_loads_group_id_idx ON teaching_loads (group_id);
CREATE INDEX teaching_loads_teacher_id_idx ON teaching_loads (teacher_id);
CREATE INDEX teaching_loads_subject_id_idx ON teaching_loads (subject_id);
CREATE INDEX teaching_loads_assigned_by_idx ON teaching_loads (assigned_by);
CREATE TRIGGER teaching_loads_set_updated_at BEFORE UPDATE ON teaching_loads
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE tutoring_sessions (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    period_id  bigint      NOT NULL REFERENCES periods (id) ON DELETE CASCADE,
    group_id   bigint      NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    teacher_id bigint      NOT NULL REFERENCES teachers (id) ON DELETE RESTRICT,
    held_on    date        NOT NULL,
    topic      text        NOT NULL,
    attendees  integer     NOT NULL DEFAULT 0 CHECK (attendees >= 0),
    notes      text,
    created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE tutoring_sessions IS 'Tutoring sessions held by a teacher with a group.';
CREATE INDEX tutoring_sessions_period_id_idx ON tutoring_sessions (period_id);
CREATE INDEX tutoring_sessions_group_id_idx ON tutoring_sessions (group_id);
CREATE INDEX tutoring_sessions_teacher_id_idx ON tutoring_sessions (teacher_id);

CREATE TABLE prefecture_reports (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    period_id   bigint      NOT NULL REFERENCES periods (id) ON DELETE CASCADE,
    group_id    bigint      NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    -- Nullable + SET NULL: a report may concern no specific teacher, and
    -- survives the teacher's removal.
    teacher_id  bigint      REFERENCES teachers (id) ON DELETE SET NULL,
    recorded_by bigint      REFERENCES users (id) ON DELETE SET NULL,
    report_date date        NOT NULL DEFAULT CURRENT_DATE,
    kind        text        NOT NULL
        CHECK (kind IN ('teacher_absent', 'teacher_late', 'early_dismissal', 'incident', 'other')),
    description text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE prefecture_reports IS 'Prefecture (classroom monitoring) reports on groups and teachers.';
CREATE INDEX prefecture_reports_period_id_idx ON prefecture_reports (period_id);
CREATE INDEX prefecture_reports_group_id_idx ON prefecture_reports (group_id);
CREATE INDEX prefecture_reports_teacher_id_idx ON prefecture_reports (teacher_id);
CREATE INDEX prefecture_reports_recorded_by_idx ON prefecture_reports (recorded_by);
CREATE INDEX prefecture_reports_report_date_idx ON prefecture_reports (report_date);

-- set_updated_at() and users belong to common/000001 and are not dropped here.
DROP TABLE prefecture_reports;
DROP TABLE tutoring_sessions;
DROP TABLE teaching_loads;
DROP TABLE schedules;
DROP TABLE teachers;
DROP TABLE groups;
DROP TABLE program_subjects;
DROP TABLE subjects;
DROP TABLE programs;
DROP TABLE periods;

-- A surrogate id on program_subjects, so that a curriculum entry is a
-- resource like any other (GET/PATCH/DELETE /api/program-subjects/{id});
-- the pair stays unique.
ALTER TABLE program_subjects ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY;
ALTER TABLE program_subjects DROP CONSTRAINT program_subjects_pkey;
ALTER TABLE program_subjects ADD PRIMARY KEY (id);
ALTER TABLE program_subjects ADD CONSTRAINT program_subjects_program_id_subject_id_key UNIQUE (program_id, subject_id);

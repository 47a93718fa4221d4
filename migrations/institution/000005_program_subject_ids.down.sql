ALTER TABLE program_subjects DROP CONSTRAINT program_subjects_program_id_subject_id_key;
ALTER TABLE program_subjects DROP CONSTRAINT program_subjects_pkey;
ALTER TABLE program_subjects DROP COLUMN id;
ALTER TABLE program_subjects ADD PRIMARY KEY (program_id, subject_id);

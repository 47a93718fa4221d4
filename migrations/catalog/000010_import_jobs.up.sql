-- Legacy imports run as operator jobs (the operator API and console
-- answer at once; a large import takes minutes).
ALTER TABLE operator_jobs DROP CONSTRAINT operator_jobs_kind_check;
ALTER TABLE operator_jobs ADD CONSTRAINT operator_jobs_kind_check
    CHECK (kind IN ('backup', 'verify', 'restore', 'migrate', 'import'));

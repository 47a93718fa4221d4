DELETE FROM operator_jobs WHERE kind = 'import';
ALTER TABLE operator_jobs DROP CONSTRAINT operator_jobs_kind_check;
ALTER TABLE operator_jobs ADD CONSTRAINT operator_jobs_kind_check
    CHECK (kind IN ('backup', 'verify', 'restore', 'migrate'));

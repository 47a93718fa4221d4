DELETE FROM operator_jobs WHERE kind = 'migrate';
ALTER TABLE operator_jobs DROP CONSTRAINT operator_jobs_kind_check;
ALTER TABLE operator_jobs ADD CONSTRAINT operator_jobs_kind_check
    CHECK (kind IN ('backup', 'verify', 'restore'));
DROP TABLE operator_sessions;

-- The console's audit rows are kept, as API rows (the old source set).
UPDATE operator_audit SET source = 'api' WHERE source = 'console';
ALTER TABLE operator_audit DROP CONSTRAINT operator_audit_source_check;
ALTER TABLE operator_audit ADD CONSTRAINT operator_audit_source_check
    CHECK (source IN ('cli', 'api', 'scheduler'));
COMMENT ON TABLE operator_audit IS 'What operators did through the CLI or the API. Slugs, not ids: it outlives purged tenants.';
DELETE FROM operator_jobs WHERE kind = 'migrate';
ALTER TABLE operator_jobs DROP CONSTRAINT operator_jobs_kind_check;
ALTER TABLE operator_jobs ADD CONSTRAINT operator_jobs_kind_check
    CHECK (kind IN ('backup', 'verify', 'restore'));
DROP TABLE operator_sessions;

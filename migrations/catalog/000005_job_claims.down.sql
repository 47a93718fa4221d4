DROP INDEX job_runs_open_idx;
-- The old status set has no room for these runs.
DELETE FROM job_runs WHERE status IN ('retrying', 'skipped');
ALTER TABLE job_runs DROP CONSTRAINT job_runs_status_check;
ALTER TABLE job_runs ADD CONSTRAINT job_runs_status_check
    CHECK (status IN ('running', 'succeeded', 'failed'));
ALTER TABLE job_runs
    DROP COLUMN failures,
    DROP COLUMN next_retry_at,
    DROP COLUMN attempts,
    DROP COLUMN heartbeat_at;

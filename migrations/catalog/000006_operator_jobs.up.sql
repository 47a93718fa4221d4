-- Long operations the operator API starts (backup, verify, restore) run as
-- jobs on the replica that accepted them; their rows let any replica answer
-- GET /v1/jobs/{id}. The running replica keeps heartbeat_at fresh; a job
-- whose heartbeat is older than the TTL belongs to a replica that stopped
-- and is failed by a sweep of any replica. Slugs, not ids, like the
-- operator audit: a job's record outlives a purged tenant.
CREATE TABLE operator_jobs (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    kind         text NOT NULL CHECK (kind IN ('backup', 'verify', 'restore')),
    tenant_slug  text NOT NULL,
    -- No foreign key: prune may delete the backup, the job stays. A backup
    -- job learns its backup's id when it ends.
    backup_id    uuid,
    status       text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
    actor        text NOT NULL,
    replica      text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    started_at   timestamptz,
    heartbeat_at timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    result       jsonb,
    error        text,
    error_code   text,
    CHECK ((status IN ('succeeded', 'failed')) = (finished_at IS NOT NULL))
);
-- The sweep reads only open jobs.
CREATE INDEX operator_jobs_open_idx ON operator_jobs (heartbeat_at) WHERE status IN ('queued', 'running');
-- One open restore per tenant, across every replica, without a race.
CREATE UNIQUE INDEX operator_jobs_one_restore_key ON operator_jobs (tenant_slug)
    WHERE kind = 'restore' AND status IN ('queued', 'running');
COMMENT ON TABLE operator_jobs IS 'Backup, verify and restore jobs started through the operator API.';

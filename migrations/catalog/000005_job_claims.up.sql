-- Claims of scheduled job runs that expire: a replica keeps its claim alive
-- with heartbeat_at while it runs (or waits to retry) a slot; a claim whose
-- heartbeat is older than the claim TTL belongs to a replica that died and is
-- taken over by another. attempts counts the attempts started, failures keeps
-- each failed one ({attempt, at, error}), next_retry_at says when the next
-- starts. skipped records a slot not run because the previous run of the
-- same job and tenant was still running.
ALTER TABLE job_runs
    ADD COLUMN heartbeat_at  timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN attempts      integer NOT NULL DEFAULT 1 CHECK (attempts >= 0),
    ADD COLUMN next_retry_at timestamptz,
    ADD COLUMN failures      jsonb NOT NULL DEFAULT '[]';

ALTER TABLE job_runs DROP CONSTRAINT job_runs_status_check;
ALTER TABLE job_runs ADD CONSTRAINT job_runs_status_check
    CHECK (status IN ('running', 'retrying', 'succeeded', 'failed', 'skipped'));

-- The sweep for expired claims reads only open runs.
CREATE INDEX job_runs_open_idx ON job_runs (heartbeat_at) WHERE status IN ('running', 'retrying');

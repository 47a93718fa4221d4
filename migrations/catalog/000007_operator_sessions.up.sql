-- Sessions of the operator console (platform/opconsole): an operator logs
-- in with the operator token and gets a random session id in a cookie;
-- only its SHA-256 is stored, so a read of this table opens no session.
-- In the catalog, not in memory, so every replica of the admin listener
-- knows every session. token_fp is the fingerprint of the operator token
-- the session was opened with: a rotated PLATFORM_OPERATOR_TOKEN ends
-- every session opened with the old one.
CREATE TABLE operator_sessions (
    id_hash      bytea PRIMARY KEY CHECK (length(id_hash) = 32),
    token_fp     text NOT NULL,
    created_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL, -- absolute; the idle limit is the console's
    ip           text NOT NULL DEFAULT '',
    user_agent   text NOT NULL DEFAULT ''
);
-- The sweep of expired sessions.
CREATE INDEX operator_sessions_expires_at_idx ON operator_sessions (expires_at);
COMMENT ON TABLE operator_sessions IS 'Operator console sessions (SHA-256 of the cookie''s id, never the id).';

-- The console runs a fleet migration as an operator job (the API has no
-- fleet-wide operation to follow): a new kind, tenant_slug '' for "all".
ALTER TABLE operator_jobs DROP CONSTRAINT operator_jobs_kind_check;
ALTER TABLE operator_jobs ADD CONSTRAINT operator_jobs_kind_check
    CHECK (kind IN ('backup', 'verify', 'restore', 'migrate'));

-- The console's actions are audited as such (actor console:<fingerprint>).
ALTER TABLE operator_audit DROP CONSTRAINT operator_audit_source_check;
ALTER TABLE operator_audit ADD CONSTRAINT operator_audit_source_check
    CHECK (source IN ('cli', 'api', 'scheduler', 'console'));
COMMENT ON TABLE operator_audit IS 'What operators did through the CLI, the API or the operator console. Slugs, not ids: it outlives purged tenants.';

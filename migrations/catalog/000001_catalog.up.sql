-- The platform's own database: which tenants exist, where their databases
-- live, how far their provisioning got, their backups, scheduled job runs and
-- what operators did.

CREATE TABLE db_servers (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name            text NOT NULL UNIQUE CHECK (name ~ '^[a-z][a-z0-9-]{0,62}$'),
    host            text NOT NULL,
    port            integer NOT NULL CHECK (port BETWEEN 1 AND 65535),
    -- Connections the request path may open to this server in total.
    connection_budget integer NOT NULL DEFAULT 80 CHECK (connection_budget > 0),
    status          text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'draining', 'retired')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE db_servers IS 'PostgreSQL servers that hold tenant databases; admin credentials are never stored here.';

CREATE TABLE tenants (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- Unique across every status: a soft-deleted tenant keeps its database,
    -- so its slug (and database name) stay taken until it is purged.
    slug          text NOT NULL UNIQUE CHECK (slug ~ '^[a-z][a-z0-9-]{1,38}[a-z0-9]$'),
    kind          text NOT NULL CHECK (kind IN ('restaurant', 'institution')),
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    status        text NOT NULL DEFAULT 'provisioning'
                  CHECK (status IN ('provisioning', 'active', 'suspended', 'maintenance', 'deleted')),
    db_server_id  bigint NOT NULL REFERENCES db_servers (id) ON DELETE RESTRICT,
    database_name text NOT NULL UNIQUE,
    time_zone     text NOT NULL DEFAULT 'UTC',
    settings      jsonb NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    deleted_at    timestamptz
);
CREATE INDEX tenants_db_server_id_idx ON tenants (db_server_id);
COMMENT ON TABLE tenants IS 'One row per tenant; its database lives on db_server_id.';

CREATE TABLE tenant_domains (
    host       text PRIMARY KEY CHECK (host = lower(host) AND host <> ''),
    tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tenant_domains_tenant_id_idx ON tenant_domains (tenant_id);
COMMENT ON TABLE tenant_domains IS 'Custom domains; the <slug>.<base domain> host is derived, not stored.';

CREATE TABLE provisioning_steps (
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    step        text NOT NULL,
    finished_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, step)
);
COMMENT ON TABLE provisioning_steps IS 'Steps of tenant creation already done; a re-run skips them.';

CREATE TABLE backups (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id      uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    status         text NOT NULL DEFAULT 'running'
                   CHECK (status IN ('running', 'completed', 'verified', 'failed', 'expired')),
    reason         text NOT NULL DEFAULT 'scheduled' CHECK (reason IN ('scheduled', 'manual', 'pre_restore', 'pre_migrate')),
    location       text,
    size_bytes     bigint CHECK (size_bytes >= 0),
    sha256         text,
    wrapped_key    text,
    schema_version bigint,
    started_at     timestamptz NOT NULL DEFAULT now(),
    finished_at    timestamptz,
    verified_at    timestamptz,
    expires_at     timestamptz,
    error          text
);
CREATE INDEX backups_tenant_id_started_at_idx ON backups (tenant_id, started_at DESC);
COMMENT ON TABLE backups IS 'Per-tenant encrypted backups and their verification.';

CREATE TABLE job_runs (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job         text NOT NULL,
    tenant_id   uuid REFERENCES tenants (id) ON DELETE CASCADE,
    slot        timestamptz NOT NULL,
    status      text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'succeeded', 'failed')),
    claimed_by  text NOT NULL,
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    error       text
);
-- One run per job, tenant and slot across every replica.
CREATE UNIQUE INDEX job_runs_slot_key ON job_runs (job, coalesce(tenant_id, '00000000-0000-0000-0000-000000000000'), slot);
CREATE INDEX job_runs_tenant_id_idx ON job_runs (tenant_id);
COMMENT ON TABLE job_runs IS 'Scheduled job runs, claimed once per slot.';

CREATE TABLE operator_audit (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    occurred_at timestamptz NOT NULL DEFAULT now(),
    actor       text NOT NULL,
    source      text NOT NULL CHECK (source IN ('cli', 'api', 'scheduler')),
    action      text NOT NULL,
    tenant_slug text,
    outcome     text NOT NULL CHECK (outcome IN ('succeeded', 'failed')),
    details     jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX operator_audit_occurred_at_idx ON operator_audit (occurred_at);
CREATE INDEX operator_audit_tenant_slug_idx ON operator_audit (tenant_slug, occurred_at);
COMMENT ON TABLE operator_audit IS 'What operators did through the CLI or the API. Slugs, not ids: it outlives purged tenants.';

-- Catalog changes reach every router replica through LISTEN/NOTIFY.
CREATE FUNCTION notify_tenant_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('tenant_changes', coalesce(NEW.tenant_id::text, OLD.tenant_id::text, ''));
    RETURN NULL;
END $$;

CREATE FUNCTION notify_tenant_row_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('tenant_changes', coalesce(NEW.id::text, OLD.id::text));
    RETURN NULL;
END $$;

CREATE TRIGGER tenants_notify AFTER INSERT OR UPDATE OR DELETE ON tenants
    FOR EACH ROW EXECUTE FUNCTION notify_tenant_row_change();
CREATE TRIGGER tenant_domains_notify AFTER INSERT OR UPDATE OR DELETE ON tenant_domains
    FOR EACH ROW EXECUTE FUNCTION notify_tenant_change();

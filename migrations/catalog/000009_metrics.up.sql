-- What the metrics read from the catalog (platform_backup_*,
-- platform_tenant_migrations_*), and the send time of catalog notices
-- (platform_resolver_notification_lag_seconds).

-- A failed verification kept no time (verified_at keeps the last success):
-- the latest verification of a tenant is the newer of the two.
ALTER TABLE backups ADD COLUMN verify_failed_at timestamptz;
COMMENT ON COLUMN backups.verify_failed_at IS 'Last failed verification (corrupt or failed; unavailable records nothing).';

-- Each tenant database's schema version as the last migration run by any
-- process (CLI, API, provisioning) left it. A table of its own, not columns
-- of tenants: tenants has a NOTIFY trigger, and a fleet migration would
-- make every replica re-read every tenant.
CREATE TABLE tenant_schema (
    tenant_id   uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    version     bigint NOT NULL CHECK (version >= 0),
    dirty       boolean NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE tenant_schema IS 'Schema version of each tenant database after its last migration; absent: not recorded yet (created before migration 000009 and not migrated since).';

-- The change notices keep their payloads: replicas of the previous version
-- read a tenant_changes payload as a tenant id, and would drop the tenant
-- from their map for any other payload during a rolling upgrade. The send
-- time goes in a notice of its own on catalog_notice_sent (microseconds
-- since the epoch, the database server's clock), in the same transaction,
-- so it is delivered with the change; older replicas do not listen to it.
CREATE OR REPLACE FUNCTION notify_tenant_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('tenant_changes', coalesce(NEW.tenant_id::text, OLD.tenant_id::text, ''));
    PERFORM pg_notify('catalog_notice_sent', (extract(epoch FROM clock_timestamp()) * 1000000)::bigint::text);
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION notify_tenant_row_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('tenant_changes', coalesce(NEW.id::text, OLD.id::text));
    PERFORM pg_notify('catalog_notice_sent', (extract(epoch FROM clock_timestamp()) * 1000000)::bigint::text);
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION notify_db_server_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('db_server_changes', coalesce(NEW.name, OLD.name));
    PERFORM pg_notify('catalog_notice_sent', (extract(epoch FROM clock_timestamp()) * 1000000)::bigint::text);
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION notify_platform_setting_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('platform_settings_changes', coalesce(NEW.key, OLD.key));
    PERFORM pg_notify('catalog_notice_sent', (extract(epoch FROM clock_timestamp()) * 1000000)::bigint::text);
    RETURN NULL;
END $$;

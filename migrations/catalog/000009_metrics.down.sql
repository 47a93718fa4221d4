CREATE OR REPLACE FUNCTION notify_tenant_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('tenant_changes', coalesce(NEW.tenant_id::text, OLD.tenant_id::text, ''));
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION notify_tenant_row_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('tenant_changes', coalesce(NEW.id::text, OLD.id::text));
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION notify_db_server_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('db_server_changes', coalesce(NEW.name, OLD.name));
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION notify_platform_setting_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('platform_settings_changes', coalesce(NEW.key, OLD.key));
    RETURN NULL;
END $$;

DROP TABLE tenant_schema;
ALTER TABLE backups DROP COLUMN verify_failed_at;

-- Platform-wide settings the catalog owns, so every process agrees on them
-- (the base domain: tenants live at <slug>.<base>).
CREATE TABLE platform_settings (
    key        text PRIMARY KEY CHECK (key ~ '^[a-z][a-z0-9_]{0,62}$'),
    value      text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE platform_settings IS 'Platform-wide settings, e.g. base_domain; set once, checked by every process against its configuration.';

-- Changes to database servers (address, budget) and to settings reach every
-- router replica through LISTEN/NOTIFY, as tenant changes do.
CREATE FUNCTION notify_db_server_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('db_server_changes', coalesce(NEW.name, OLD.name));
    RETURN NULL;
END $$;

CREATE FUNCTION notify_platform_setting_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('platform_settings_changes', coalesce(NEW.key, OLD.key));
    RETURN NULL;
END $$;

CREATE TRIGGER db_servers_notify AFTER INSERT OR UPDATE OR DELETE ON db_servers
    FOR EACH ROW EXECUTE FUNCTION notify_db_server_change();
CREATE TRIGGER platform_settings_notify AFTER INSERT OR UPDATE OR DELETE ON platform_settings
    FOR EACH ROW EXECUTE FUNCTION notify_platform_setting_change();

DROP TRIGGER platform_settings_notify ON platform_settings;
DROP TRIGGER db_servers_notify ON db_servers;
DROP FUNCTION notify_platform_setting_change();
DROP FUNCTION notify_db_server_change();
DROP TABLE platform_settings;

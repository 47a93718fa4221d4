-- Dropping the tables also drops their triggers and indexes.
DROP TABLE audit_log;
DROP TABLE password_reset_tokens;
DROP TABLE user_roles;
DROP TABLE role_permissions;
DROP TABLE permissions;
DROP TABLE roles;
DROP TABLE users;
DROP FUNCTION audit_log_append_only();
DROP FUNCTION set_updated_at();

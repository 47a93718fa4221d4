ALTER TABLE tenants DROP COLUMN secrets_rotated_at, DROP COLUMN secrets_version;

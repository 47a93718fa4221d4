ALTER TABLE backups
    DROP COLUMN row_counts,
    DROP COLUMN dump_version,
    DROP COLUMN server_version,
    DROP COLUMN copy_location;
COMMENT ON COLUMN backups.location IS NULL;

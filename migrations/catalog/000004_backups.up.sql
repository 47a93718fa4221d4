-- What a backup record needs beyond 000001: the remote copy's location, the
-- versions it was made with and the row count per table (also in the
-- manifest; here so list/show and verify need no storage read).
ALTER TABLE backups
    ADD COLUMN copy_location  text,
    ADD COLUMN server_version text,
    ADD COLUMN dump_version   text,
    ADD COLUMN row_counts     jsonb;
COMMENT ON COLUMN backups.location IS 'Primary store URL and key of the artifact; the manifest is manifest.json next to it.';
COMMENT ON COLUMN backups.copy_location IS 'The second (remote) copy of the same artifact, if one was configured.';

-- The key before sources: (mapping, source_table, source_key). Rows of a
-- labelled source (source <> '') cannot be kept under it (their keys may
-- repeat the default source's), so they are deleted: the tenant rows they
-- point at stay, but an import no longer knows them (a later import of
-- that source writes them again, or stops on their unique keys).
DELETE FROM import_ids WHERE source <> '';
ALTER TABLE import_ids
    DROP CONSTRAINT import_ids_pkey,
    ADD PRIMARY KEY (mapping, source_table, source_key),
    DROP COLUMN row_hash,
    DROP COLUMN source;
COMMENT ON TABLE import_ids IS 'Source key -> target id of every row a legacy import wrote (by mapping name).';

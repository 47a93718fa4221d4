-- The id map knows which source database each row came from and what the
-- row held: two databases of one system (two branches' VerificarSMS files,
-- both with users 1..5) imported with the same mapping are two sources,
-- and a row changed in the source since it was imported is told apart
-- from one imported as it is.
-- source: the operator's label (platform tenant import --source); '' is
-- the one source of a mapping, which every row of earlier imports keeps.
-- row_hash: 16 bytes of the SHA-256 of the source row's values as read
-- (password columns left out); NULL for rows of earlier imports.
ALTER TABLE import_ids
    ADD COLUMN source   text COLLATE "C" NOT NULL DEFAULT '',
    ADD COLUMN row_hash bytea CONSTRAINT import_ids_row_hash_length CHECK (octet_length(row_hash) = 16),
    DROP CONSTRAINT import_ids_pkey,
    ADD PRIMARY KEY (mapping, source, source_table, source_key);
COMMENT ON TABLE import_ids IS 'Source key -> target id of every row a legacy import wrote (by mapping name and source label).';

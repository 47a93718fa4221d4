-- Legacy imports (platform tenant import): which row each source row
-- became, so that importing the same source again adds nothing and later
-- imports resolve references to rows of earlier ones.
-- COLLATE "C": the key is compared byte by byte, not by language rules;
-- a large import writes a million of them and their index.
CREATE TABLE import_ids (
    mapping      text COLLATE "C" NOT NULL,
    source_table text COLLATE "C" NOT NULL,
    source_key   text COLLATE "C" NOT NULL,
    target_table text COLLATE "C" NOT NULL,
    target_id    bigint           NOT NULL,
    imported_at  timestamptz      NOT NULL DEFAULT now(),
    PRIMARY KEY (mapping, source_table, source_key)
);
COMMENT ON TABLE import_ids IS 'Source key -> target id of every row a legacy import wrote (by mapping name).';

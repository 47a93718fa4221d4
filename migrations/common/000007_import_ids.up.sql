-- Legacy imports (platform tenant import): which row each source row
-- became, so that importing the same source again adds nothing and later
-- imports resolve references to rows of earlier ones.
CREATE TABLE import_ids (
    mapping      text        NOT NULL,
    source_table text        NOT NULL,
    source_key   text        NOT NULL,
    target_table text        NOT NULL,
    target_id    bigint      NOT NULL,
    imported_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (mapping, source_table, source_key)
);
COMMENT ON TABLE import_ids IS 'Source key -> target id of every row a legacy import wrote (by mapping name).';
CREATE INDEX import_ids_target_idx ON import_ids (target_table, target_id);

-- Audit log: outcome of each action and indexes for the query endpoint
-- (GET /api/audit). Pages are keyset-paginated newest first by id, so every
-- filter index ends in id: the planner reads one filter's rows in id order
-- and stops at the page size.

ALTER TABLE audit_log
    ADD COLUMN outcome text NOT NULL DEFAULT 'success'
        CONSTRAINT audit_log_outcome_check CHECK (outcome IN ('success', 'failure', 'denied')),
    ADD CONSTRAINT audit_log_action_check CHECK (btrim(action) <> '');

CREATE INDEX audit_log_action_id_idx ON audit_log (action, id);
CREATE INDEX audit_log_entity_id_idx ON audit_log (entity, entity_id, id);
CREATE INDEX audit_log_actor_lower_id_idx ON audit_log (lower(actor), id);
-- Replaces (user_id): still serves the ON DELETE SET NULL lookup from
-- users, and the numeric actor filter in id order.
DROP INDEX audit_log_user_id_idx;
CREATE INDEX audit_log_user_id_id_idx ON audit_log (user_id, id);
-- From/to filters: (occurred_at, id) lets a time range be read in order.
DROP INDEX audit_log_occurred_at_idx;
CREATE INDEX audit_log_occurred_at_id_idx ON audit_log (occurred_at, id);

COMMENT ON COLUMN audit_log.outcome IS 'success, failure (e.g. wrong password) or denied (not allowed).';
COMMENT ON COLUMN audit_log.details IS 'Context of the action; never a secret, password, token or session id (the writer drops such keys).';

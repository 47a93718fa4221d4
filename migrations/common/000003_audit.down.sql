DROP INDEX audit_log_occurred_at_id_idx;
CREATE INDEX audit_log_occurred_at_idx ON audit_log (occurred_at);
DROP INDEX audit_log_user_id_id_idx;
CREATE INDEX audit_log_user_id_idx ON audit_log (user_id);
DROP INDEX audit_log_actor_lower_id_idx;
DROP INDEX audit_log_entity_id_idx;
DROP INDEX audit_log_action_id_idx;
COMMENT ON COLUMN audit_log.details IS NULL;
-- Dropping the column drops its CHECK and comment.
ALTER TABLE audit_log
    DROP CONSTRAINT audit_log_action_check,
    DROP COLUMN outcome;

-- Identity, authorization and audit tables shared by every tenant kind.

-- Keeps updated_at current on UPDATE; reused by the kind-specific migrations.
CREATE FUNCTION set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;

CREATE TABLE users (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username             text        NOT NULL CHECK (btrim(username) <> ''),
    email                text,
    full_name            text        NOT NULL DEFAULT '',
    active               boolean     NOT NULL DEFAULT true,
    password_hash        text        NOT NULL,
    must_change_password boolean     NOT NULL DEFAULT false,
    failed_attempts      integer     NOT NULL DEFAULT 0 CHECK (failed_attempts >= 0),
    locked               boolean     NOT NULL DEFAULT false,
    locked_at            timestamptz,
    last_login_at        timestamptz,
    password_changed_at  timestamptz,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE users IS 'Tenant user accounts (login credentials, lockout state).';
-- Case-insensitive uniqueness using only core features (no extension).
CREATE UNIQUE INDEX users_username_lower_key ON users (lower(username));
-- Partial: many users may have no email.
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email)) WHERE email IS NOT NULL;
CREATE TRIGGER users_set_updated_at BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE roles (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text        NOT NULL UNIQUE,
    description text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE roles IS 'Named sets of permissions assignable to users.';

CREATE TABLE permissions (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code        text NOT NULL UNIQUE,
    description text NOT NULL DEFAULT ''
);
COMMENT ON TABLE permissions IS 'Permission codes checked by the application, e.g. users.manage.';

CREATE TABLE role_permissions (
    role_id       bigint NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    permission_id bigint NOT NULL REFERENCES permissions (id) ON DELETE CASCADE,
    PRIMARY KEY (role_id, permission_id)
);
COMMENT ON TABLE role_permissions IS 'Permissions granted to each role.';
-- role_id is covered by the PK's leading column.
CREATE INDEX role_permissions_permission_id_idx ON role_permissions (permission_id);

CREATE TABLE user_roles (
    user_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role_id    bigint      NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    granted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, role_id)
);
COMMENT ON TABLE user_roles IS 'Roles assigned to each user.';
-- user_id is covered by the PK's leading column.
CREATE INDEX user_roles_role_id_idx ON user_roles (role_id);

CREATE TABLE password_reset_tokens (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- Only a hash of the token is stored, so a DB leak does not expose usable tokens.
    token_hash bytea       NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    CHECK (expires_at > created_at)
);
COMMENT ON TABLE password_reset_tokens IS 'One-time password reset tokens (hashed).';
CREATE INDEX password_reset_tokens_user_id_idx ON password_reset_tokens (user_id);

CREATE TABLE audit_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    occurred_at timestamptz NOT NULL DEFAULT now(),
    -- SET NULL keeps the audit trail when a user is deleted; actor keeps the name.
    user_id     bigint      REFERENCES users (id) ON DELETE SET NULL,
    actor       text,
    action      text        NOT NULL,
    entity      text,
    entity_id   text,
    ip          inet,
    user_agent  text,
    request_id  text,
    details     jsonb       NOT NULL DEFAULT '{}'
);
COMMENT ON TABLE audit_log IS 'Append-only audit trail of security-relevant actions.';
CREATE INDEX audit_log_occurred_at_idx ON audit_log (occurred_at);
CREATE INDEX audit_log_user_id_idx ON audit_log (user_id);

-- Rejects any modification of existing audit rows (row and statement level).
-- One exception: the ON DELETE SET NULL action from users runs as an UPDATE on
-- audit_log (nested inside the FK trigger, so trigger depth > 1). Without this
-- exception no audited user could ever be deleted. Only user_id -> NULL with
-- every other column unchanged is let through.
CREATE FUNCTION audit_log_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND pg_trigger_depth() > 1
       AND OLD.user_id IS NOT NULL AND NEW.user_id IS NULL
       AND (to_jsonb(NEW) - 'user_id') = (to_jsonb(OLD) - 'user_id') THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit_log is append-only'
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- Seed data.
INSERT INTO roles (name, description) VALUES
    ('admin', 'Full administrative access'),
    ('staff', 'Day-to-day data access');

INSERT INTO permissions (code, description) VALUES
    ('users.read',      'View users'),
    ('users.manage',    'Create, edit, lock and delete users'),
    ('roles.manage',    'Manage roles and their permissions'),
    ('audit.read',      'Read the audit log'),
    ('settings.manage', 'Change tenant settings'),
    ('data.read',       'Read domain data'),
    ('data.write',      'Create and modify domain data');

INSERT INTO role_permissions (role_id, permission_id)
SELECT r.id, p.id FROM roles r CROSS JOIN permissions p WHERE r.name = 'admin';

INSERT INTO role_permissions (role_id, permission_id)
SELECT r.id, p.id FROM roles r JOIN permissions p ON p.code IN ('data.read', 'data.write')
WHERE r.name = 'staff';

-- A tenant's secrets version: bumped by every secret rotation, so the
-- tenants row changes and its existing trigger notifies every router
-- replica (tenant_changes), which drops the tenant's cached secrets
-- without closing its pool. The secrets themselves stay in Vault.
ALTER TABLE tenants
    ADD COLUMN secrets_version    bigint NOT NULL DEFAULT 0 CHECK (secrets_version >= 0),
    ADD COLUMN secrets_rotated_at timestamptz;
COMMENT ON COLUMN tenants.secrets_version IS 'Bumped by each secret rotation (the notice makes replicas re-read Vault); not the Vault version.';

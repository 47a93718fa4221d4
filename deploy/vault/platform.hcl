# Vault policy of the platform: `platform serve` and the CLI (the chart's
# migrate Job, `platform tenant|backup|secrets ...`), logged in with the
# AppRole of charts/platform (vault.auth.method approle) or given a token.
# It grants exactly what platform/secrets does at run time, nothing else:
#
#   vault policy write platform deploy/vault/platform.hcl
#
# Paths assume the KV v2 mount `secret` (PLATFORM_VAULT_KV_MOUNT unset);
# with another mount, replace the leading `secret/` of the two KV paths,
# e.g. sed 's|^path "secret/|path "kv/|' (docs/operations.md, "Vault
# policy"). Transit must already be mounted at transit/ with the keys
# platform-backups and platform-acme: that one-time set-up needs rights this
# policy does not give (deploy/vault/platform-setup.hcl).
#
# `+` matches one path segment: a slug has no `/`, so nothing below a
# tenant's entry, and nothing else under platform/, is reachable.
# sys/health (readiness) and auth/approle/login need no policy.

# A tenant's secrets (secrets-templates/): create with check-and-set 0 at
# provisioning (create), a new version with check-and-set at rotation
# (update), read by serve's secrets cache, the rotator and tenant set-up
# (read). No delete here: soft-deleting versions is never used; purge
# removes the entry through its metadata below.
path "secret/data/platform/tenants/+" {
  capabilities = ["create", "read", "update"]
}

# The entry's metadata: read for its version, creation time and the
# rotation bookkeeping (rotated_at.<name>, pending); patch to write that
# bookkeeping (Store.SetMeta, a JSON merge patch: without it a rotation
# fails); delete when a tenant is purged (every version and the metadata).
# No list: the platform never enumerates Vault, the catalog knows its
# tenants.
path "secret/metadata/platform/tenants/+" {
  capabilities = ["read", "patch", "delete"]
}

# Backup data keys are made by the platform (crypt.NewKey) and wrapped /
# unwrapped under the tenant's context: encrypt at backup, decrypt at
# verify, restore, restore --as and drills. update only: with create,
# transit would upsert a missing key with default settings on encrypt,
# instead of the derived key the set-up makes. Not used, so not granted:
# datakey, rewrap, rotate, config, export, and keys of other names.
path "transit/encrypt/platform-backups" {
  capabilities = ["update"]
}
path "transit/decrypt/platform-backups" {
  capabilities = ["update"]
}

# Every backup first checks the key exists and is derived aes256-gcm96
# (EnsureBackupKey's read: tenants would share one key otherwise).
path "transit/keys/platform-backups" {
  capabilities = ["read"]
}

# serve with PLATFORM_TLS=acme (PLATFORM_ACME_CACHE unset) seals its
# autocert cache (certificates with their private keys, the ACME account
# key) in the catalog: encrypt to
# store an entry, decrypt to load it, read at start to check the key
# (EnsureACMEKey). Otherwise these three are unused.
path "transit/encrypt/platform-acme" {
  capabilities = ["update"]
}
path "transit/decrypt/platform-acme" {
  capabilities = ["update"]
}
path "transit/keys/platform-acme" {
  capabilities = ["read"]
}

# serve renews its AppRole token before it expires (secrets.AppRole
# KeepLoggedIn, Vault's lifetime watcher) and logs in again past the max
# TTL. Also in Vault's `default` policy; here so that a role made with
# token_no_default_policy=true still works. lookup-self is not used.
path "auth/token/renew-self" {
  capabilities = ["update"]
}

# One-time set-up of the transit keys the platform policy (platform.hcl)
# only uses: mount the transit engine at transit/ and create the derived
# aes256-gcm96 keys platform-backups (backup data keys) and platform-acme
# (serve's sealed ACME cache). What the platform itself does on first need
# (Store.EnsureBackupKey at the first backup, EnsureACMEKey when serve
# starts with PLATFORM_TLS=acme); kept out of the everyday policy so that
# a leaked platform token can neither mount engines nor make or replace
# keys. An admin gives it to a short-lived token once:
#
#   vault policy write platform-setup deploy/vault/platform-setup.hcl
#   export VAULT_TOKEN=$(vault token create -policy=platform-setup -ttl=15m -field=token)
#   vault secrets enable transit
#   vault write transit/keys/platform-backups type=aes256-gcm96 derived=true
#   vault write transit/keys/platform-acme type=aes256-gcm96 derived=true
#   vault token revoke -self && unset VAULT_TOKEN
#
# (or attaches it to the platform's AppRole until the first backup has run
# and serve has started, then detaches it). docs/operations.md, "Vault
# policy".

# Enable transit at transit/ (POST sys/mounts/transit: an update, these
# paths have no existence check); read the mount back when it exists
# already (another replica, or an earlier `vault secrets enable transit`)
# to check it is transit.
path "sys/mounts/transit" {
  capabilities = ["read", "update"]
}

# Create each key (POST transit/keys/<name>, an update too: no create
# needed) and read its type and derived flag back. Nothing else of
# transit: no config, rotate, delete, export, trim or other key names.
path "transit/keys/platform-backups" {
  capabilities = ["read", "update"]
}
path "transit/keys/platform-acme" {
  capabilities = ["read", "update"]
}

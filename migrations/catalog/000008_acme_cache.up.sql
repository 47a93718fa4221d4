-- The ACME certificate cache of `platform serve` (PLATFORM_TLS=acme,
-- PLATFORM_ACME_CACHE=catalog): every replica reads the certificates,
-- the ACME account key and the http-01 tokens the others wrote, so a
-- certificate is ordered once for the fleet and a challenge is answered
-- by whichever replica the CA reaches. data is sealed by Vault transit
-- (key platform-acme, derived, context = the entry's key): private keys
-- never lie here in plaintext, and a row copied under another key does
-- not open.
CREATE TABLE acme_cache (
    key        text PRIMARY KEY CHECK (key <> ''),
    data       text NOT NULL, -- vault:v1:…
    updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE acme_cache IS 'ACME cache of serve (autocert), sealed with Vault transit key platform-acme.';

// Package vault holds the Vault policies of the platform: platform.hcl,
// what `platform serve` and the CLI need every day, and platform-setup.hcl,
// the one-time transit set-up (docs/operations.md, "Vault policy"). Its
// tests run the platform's own Vault calls with a token holding only the
// policy, on the dev Vault.
package vault

import _ "embed"

//go:embed platform.hcl
var platformPolicy string

// PlatformPolicy is platform.hcl, for tests that log in the way a
// deployment does (platformtest.AppRole).
func PlatformPolicy() string { return platformPolicy }

// Package secretstemplates embeds the definition of each tenant's secrets
// and the template of its env file. Editing these files changes what new
// tenants get; existing tenants keep the secrets they have.
package secretstemplates

import _ "embed"

// Spec is the JSON list of secrets (tenant.json).
//
//go:embed tenant.json
var Spec []byte

// EnvFile is the text/template of a tenant's env file (tenant.env.tmpl).
//
//go:embed tenant.env.tmpl
var EnvFile string

// Package secrets generates each tenant's secrets from the templates in
// secrets-templates/, keeps them in Vault KV v2 with check-and-set so that
// nothing is overwritten by accident, and renders a tenant's env file.
package secrets

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"text/template"

	secretstemplates "github.com/tenancy/platform/secrets-templates"
)

// Spec describes one secret.
type Spec struct {
	Name     string `json:"name"`
	Bits     int    `json:"bits"`
	Encoding string `json:"encoding"` // hex, base64url or base64
	Env      string `json:"env"`
}

// Template is the set of secrets every tenant gets, and its env file.
type Template struct {
	Secrets []Spec
	env     *template.Template
}

// LoadTemplate parses the embedded templates and checks them.
func LoadTemplate() (*Template, error) {
	return ParseTemplate(secretstemplates.Spec, secretstemplates.EnvFile)
}

// ParseTemplate parses a secrets spec (JSON) and an env-file template.
func ParseTemplate(spec []byte, envFile string) (*Template, error) {
	var doc struct {
		Secrets []Spec `json:"secrets"`
	}
	if err := json.Unmarshal(spec, &doc); err != nil {
		return nil, fmt.Errorf("secrets template: %w", err)
	}
	seen := map[string]bool{}
	for _, s := range doc.Secrets {
		switch {
		case s.Name == "" || seen[s.Name]:
			return nil, fmt.Errorf("secrets template: empty or repeated name %q", s.Name)
		case s.Bits < 128 || s.Bits%8 != 0:
			return nil, fmt.Errorf("secrets template: %s: bits must be a multiple of 8, at least 128", s.Name)
		case s.Encoding != "hex" && s.Encoding != "base64url" && s.Encoding != "base64":
			return nil, fmt.Errorf("secrets template: %s: unknown encoding %q", s.Name, s.Encoding)
		}
		seen[s.Name] = true
	}
	if !seen["db_password"] {
		return nil, fmt.Errorf("secrets template: db_password is required: it is the tenant role's password")
	}
	t := &Template{Secrets: doc.Secrets}
	env, err := template.New("env").Option("missingkey=error").Funcs(template.FuncMap{
		"secret": func(string) string { return "" }, // replaced per render
	}).Parse(envFile)
	if err != nil {
		return nil, fmt.Errorf("env-file template: %w", err)
	}
	t.env = env
	return t, nil
}

// Generate draws a fresh value for every secret from crypto/rand.
func (t *Template) Generate() (map[string]string, error) {
	out := make(map[string]string, len(t.Secrets))
	for _, s := range t.Secrets {
		b := make([]byte, s.Bits/8)
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		switch s.Encoding {
		case "hex":
			out[s.Name] = hex.EncodeToString(b)
		case "base64url":
			out[s.Name] = base64.RawURLEncoding.EncodeToString(b)
		case "base64":
			out[s.Name] = base64.StdEncoding.EncodeToString(b)
		}
	}
	return out, nil
}

// Check reports an error if values lacks a secret of the template; values
// adopted from Vault must be complete before they are used.
func (t *Template) Check(values map[string]string) error {
	for _, s := range t.Secrets {
		if values[s.Name] == "" {
			return fmt.Errorf("secret %s is missing", s.Name)
		}
	}
	return nil
}

// EnvData is what the env-file template can use besides secrets.
type EnvData struct {
	Slug, Kind, Name, Host, Database, AppRole, DBHost string
	DBPort                                            int
	Revealed                                          bool
}

// Redacted stands in for every secret when the env file is not revealed.
const Redacted = "<redacted>"

// RenderEnv renders the env file. Unless reveal is set, every secret is
// replaced by Redacted, whatever the template does with it.
func (t *Template) RenderEnv(d EnvData, values map[string]string, reveal bool) ([]byte, error) {
	d.Revealed = reveal
	var missing error
	secret := func(name string) string {
		v, ok := values[name]
		if !ok {
			missing = fmt.Errorf("env-file template: unknown secret %q", name)
		}
		if !reveal {
			return Redacted
		}
		return v
	}
	tmpl, err := t.env.Clone()
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := tmpl.Funcs(template.FuncMap{"secret": secret}).Execute(&buf, d); err != nil {
		return nil, fmt.Errorf("env-file template: %w", err)
	}
	if missing != nil {
		return nil, missing
	}
	return buf.Bytes(), nil
}

package secrets_test

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/platform/secrets"
	"github.com/tenancy/platform/tenant"
)

func TestTemplateGenerate(t *testing.T) {
	tmpl, err := secrets.LoadTemplate()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		bytes int
		dec   func(string) ([]byte, error)
	}{
		"jwt_secret":       {32, base64.RawURLEncoding.DecodeString},
		"session_secret":   {32, base64.RawURLEncoding.DecodeString},
		"csrf_secret":      {32, base64.RawURLEncoding.DecodeString},
		"api_key_internal": {32, hex.DecodeString},
		"db_password":      {16, hex.DecodeString},
	}
	a, err := tmpl.Generate()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := tmpl.Generate()
	if len(a) != len(want) {
		t.Fatalf("generated %d secrets, want %d", len(a), len(want))
	}
	for name, w := range want {
		raw, err := w.dec(a[name])
		if err != nil || len(raw) != w.bytes {
			t.Errorf("%s = %d bytes (%v), want %d", name, len(raw), err, w.bytes)
		}
		if a[name] == b[name] {
			t.Errorf("%s is the same in two draws", name)
		}
	}
	if err := tmpl.Check(a); err != nil {
		t.Error(err)
	}
	delete(a, "csrf_secret")
	if err := tmpl.Check(a); err == nil {
		t.Error("Check accepted a set without csrf_secret")
	}
}

func TestParseTemplateRejects(t *testing.T) {
	for name, spec := range map[string]string{
		"not json":    `{`,
		"short":       `{"secrets":[{"name":"db_password","bits":64,"encoding":"hex"}]}`,
		"odd bits":    `{"secrets":[{"name":"db_password","bits":130,"encoding":"hex"}]}`,
		"encoding":    `{"secrets":[{"name":"db_password","bits":128,"encoding":"rot13"}]}`,
		"repeated":    `{"secrets":[{"name":"db_password","bits":128,"encoding":"hex"},{"name":"db_password","bits":128,"encoding":"hex"}]}`,
		"no password": `{"secrets":[{"name":"jwt_secret","bits":256,"encoding":"hex"}]}`,
	} {
		if _, err := secrets.ParseTemplate([]byte(spec), ""); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestRenderEnvRedacts(t *testing.T) {
	tmpl, err := secrets.LoadTemplate()
	if err != nil {
		t.Fatal(err)
	}
	values, _ := tmpl.Generate()
	d := secrets.EnvData{Slug: "acme", Kind: "restaurant", Name: "Acme", Host: "acme.localhost", Database: "tenant_acme",
		AppRole: "tenant_acme_app", DBHost: "127.0.0.1", DBPort: 5432}
	hidden, err := tmpl.RenderEnv(d, values, false)
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range values {
		if strings.Contains(string(hidden), v) {
			t.Errorf("redacted env file shows %s", name)
		}
	}
	if !strings.Contains(string(hidden), "DB_PASSWORD="+secrets.Redacted) || !strings.Contains(string(hidden), "DB_NAME=tenant_acme") {
		t.Errorf("redacted env file:\n%s", hidden)
	}
	shown, _ := tmpl.RenderEnv(d, values, true)
	for name, v := range values {
		if !strings.Contains(string(shown), v) {
			t.Errorf("revealed env file lacks %s", name)
		}
	}
	if _, err := tmpl.RenderEnv(d, map[string]string{}, true); err == nil {
		t.Error("rendered with no secrets")
	}
}

// TestCheckAndSetRefusesOverwrite runs against the real Vault.
func TestCheckAndSetRefusesOverwrite(t *testing.T) {
	ctx := platformtest.Context(t)
	store := platformtest.Vault(t)
	slug := platformtest.Slug("cas")
	t.Cleanup(func() { store.Delete(ctx, slug) })

	if _, err := store.Get(ctx, slug); tenant.ErrorCode(err) != tenant.ENotFound {
		t.Fatalf("Get before create: %v, want not found", err)
	}
	first := map[string]string{"db_password": "first"}
	if err := store.Create(ctx, slug, first); err != nil {
		t.Fatal(err)
	}
	err := store.Create(ctx, slug, map[string]string{"db_password": "second"})
	if !errors.Is(err, secrets.ErrExists) {
		t.Fatalf("second Create: %v, want ErrExists", err)
	}
	got, err := store.Get(ctx, slug)
	if err != nil || got["db_password"] != "first" {
		t.Fatalf("after refused overwrite: %v, %v", got, err)
	}
	if err := store.Delete(ctx, slug); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Get(ctx, slug); tenant.ErrorCode(err) != tenant.ENotFound {
		t.Errorf("Get after delete: %v", err)
	}
	// Deleted with its metadata: a new tenant of that slug starts afresh.
	if err := store.Create(ctx, slug, first); err != nil {
		t.Errorf("create after delete: %v", err)
	}
	if err := store.Delete(ctx, "never-"+slug); err != nil {
		t.Errorf("delete of nothing: %v", err)
	}
}

func TestVaultUnreachable(t *testing.T) {
	ctx := platformtest.Context(t)
	c := platformtest.VaultClient(t)
	c.SetAddress("http://127.0.0.1:1")
	store := secrets.NewStore(c, "")
	for name, err := range map[string]error{
		"ping":   store.Ping(ctx),
		"create": store.Create(ctx, "acme", map[string]string{"a": "b"}),
		"get":    func() error { _, err := store.Get(ctx, "acme"); return err }(),
	} {
		if tenant.ErrorCode(err) != tenant.EUnavailable {
			t.Errorf("%s: %v, want unavailable", name, err)
		}
	}
}

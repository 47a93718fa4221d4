package secrets

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	vault "github.com/hashicorp/vault/api"

	"github.com/tenancy/platform/tenant"
)

// DefaultMount and DefaultPrefix place tenant secrets at
// secret/platform/tenants/<slug> (KV v2).
const (
	DefaultMount  = "secret"
	DefaultPrefix = "platform/tenants"
)

// ErrExists is returned by Create when the tenant already has secrets.
var ErrExists = errors.New("secrets already exist")

// Store keeps tenant secrets in Vault KV v2.
type Store struct {
	client *vault.Client
	kv     *vault.KVv2
	mount  string
	prefix string
}

// NewStore returns a store on the KV v2 mount at mount.
func NewStore(client *vault.Client, mount string) *Store {
	if mount == "" {
		mount = DefaultMount
	}
	return &Store{client: client, kv: client.KVv2(mount), mount: mount, prefix: DefaultPrefix}
}

// Path is where a tenant's secrets live inside the mount.
func (s *Store) Path(slug string) string { return s.prefix + "/" + slug }

// Create writes a tenant's secrets only if none exist (check-and-set 0):
// an existing tenant's secrets are never overwritten. It returns ErrExists
// when Vault refuses.
func (s *Store) Create(ctx context.Context, slug string, values map[string]string) error {
	data := make(map[string]any, len(values))
	for k, v := range values {
		data[k] = v
	}
	_, err := s.kv.Put(ctx, s.Path(slug), data, vault.WithCheckAndSet(0))
	if err != nil {
		if isCASMismatch(err) {
			return ErrExists
		}
		return s.wrap("write secrets of "+slug, err)
	}
	// Each secret's age starts here. Without this patch (a Vault policy
	// without "patch" on the metadata path) ages fall back to the entry's
	// created_time, the same instant: not worth failing a creation for.
	names := make([]string, 0, len(values))
	for k := range values {
		names = append(names, k)
	}
	_ = s.SetMeta(ctx, slug, RotatedMeta(names, time.Now()))
	return nil
}

// Get reads a tenant's secrets.
func (s *Store) Get(ctx context.Context, slug string) (map[string]string, error) {
	sec, err := s.kv.Get(ctx, s.Path(slug))
	if errors.Is(err, vault.ErrSecretNotFound) {
		return nil, tenant.Errorf(tenant.ENotFound, "tenant %q has no secrets in Vault", slug)
	}
	if err != nil {
		return nil, s.wrap("read secrets of "+slug, err)
	}
	out := make(map[string]string, len(sec.Data))
	for k, v := range sec.Data {
		if str, ok := v.(string); ok {
			out[k] = str
		}
	}
	return out, nil
}

// Delete removes every version and the metadata of a tenant's secrets; a
// tenant without secrets is fine.
func (s *Store) Delete(ctx context.Context, slug string) error {
	if err := s.kv.DeleteMetadata(ctx, s.Path(slug)); err != nil {
		return s.wrap("delete secrets of "+slug, err)
	}
	return nil
}

// Ping checks that Vault answers and is unsealed.
func (s *Store) Ping(ctx context.Context) error {
	h, err := s.client.Sys().HealthWithContext(ctx)
	if err != nil {
		return s.wrap("health", err)
	}
	if h.Sealed {
		return tenant.Errorf(tenant.EUnavailable, "Vault at %s is sealed", RedactAddr(s.client.Address()))
	}
	return nil
}

func isCASMismatch(err error) bool {
	var re *vault.ResponseError
	if errors.As(err, &re) && re.StatusCode == http.StatusBadRequest {
		for _, e := range re.Errors {
			if strings.Contains(e, "check-and-set") {
				return true
			}
		}
	}
	return false
}

// wrap turns transport failures into a clear "unreachable" error and keeps
// Vault's own answers (which never echo secret values) for the rest.
func (s *Store) wrap(op string, err error) error {
	var re *vault.ResponseError
	if errors.As(err, &re) {
		if re.StatusCode == http.StatusForbidden {
			return tenant.Errorf(tenant.EUnavailable, "Vault refused %s: permission denied (check VAULT_TOKEN)", op)
		}
		if re.StatusCode >= 500 {
			return tenant.Errorf(tenant.EUnavailable, "Vault at %s failed to %s: %s", RedactAddr(s.client.Address()), op, strings.Join(re.Errors, "; "))
		}
		return fmt.Errorf("vault: %s: %s", op, strings.Join(re.Errors, "; "))
	}
	return tenant.Errorf(tenant.EUnavailable, "Vault at %s is unreachable", RedactAddr(s.client.Address()))
}

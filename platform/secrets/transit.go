package secrets

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"

	vault "github.com/hashicorp/vault/api"

	"github.com/tenancy/platform/tenant"
)

// TransitMount and BackupKey name the transit key that wraps backup data
// keys (DESIGN.md, "Vault"): derived, so each tenant's context (its id)
// yields a key of its own and a wrapped key opens only for its tenant.
const (
	TransitMount = "transit"
	BackupKey    = "platform-backups"
	backupType   = "aes256-gcm96"
)

// ErrUnwrap is returned by UnwrapKey when Vault refuses to open a wrapped
// key under the given tenant's context: it belongs to another tenant, or it
// was altered. Nothing of the refusal reveals the key.
var ErrUnwrap = errors.New("the wrapped backup key does not open for this tenant (another tenant's key, or altered)")

// EnsureBackupKey mounts the transit engine at transit/ if nothing is
// mounted there and creates the derived key platform-backups if absent. It
// is idempotent and safe to run concurrently (two replicas starting at
// once): a lost race to mount or create is checked, not failed. An existing
// key that is not derived or not aes256-gcm96 is refused, since contexts
// would not separate tenants under it.
func (s *Store) EnsureBackupKey(ctx context.Context) error {
	return s.ensureTransitKey(ctx, TransitMount, BackupKey)
}

func (s *Store) ensureTransitKey(ctx context.Context, mount, name string) error {
	// The common case (set up already) reads the key only, which a token
	// without rights on sys/mounts may do.
	if ok, err := s.checkTransitKey(ctx, mount, name); ok || err != nil {
		return err
	}
	if err := s.client.Sys().MountWithContext(ctx, mount, &vault.MountInput{Type: "transit", Description: "platform: backup key wrapping"}); err != nil {
		if !isPathInUse(err) {
			return s.wrap("mount transit at "+mount+"/", err)
		}
		m, gerr := s.client.Sys().GetMountWithContext(ctx, mount)
		if gerr != nil {
			return s.wrap("read mount "+mount+"/", gerr)
		}
		if m.Type != "transit" {
			return tenant.Errorf(tenant.EConflict, "Vault has a %s engine at %s/, not transit", m.Type, mount)
		}
	}
	// Creating an existing key is a no-op in Vault (even when its settings
	// differ), so a concurrent creator cannot make this fail; the read below
	// checks what is really there.
	_, err := s.client.Logical().WriteWithContext(ctx, mount+"/keys/"+name, map[string]any{"type": backupType, "derived": true})
	if err != nil {
		return s.wrap("create transit key "+name, err)
	}
	ok, err := s.checkTransitKey(ctx, mount, name)
	if err == nil && !ok {
		err = tenant.Errorf(tenant.EUnavailable, "Vault transit key %s/%s was created but cannot be read back", mount, name)
	}
	return err
}

// checkTransitKey reports whether the key exists (false, nil when it or its
// mount does not) and refuses one of the wrong kind.
func (s *Store) checkTransitKey(ctx context.Context, mount, name string) (bool, error) {
	sec, err := s.client.Logical().ReadWithContext(ctx, mount+"/keys/"+name)
	if err != nil {
		return false, s.wrap("read transit key "+name, err)
	}
	if sec == nil || sec.Data == nil {
		return false, nil
	}
	derived, _ := sec.Data["derived"].(bool)
	typ, _ := sec.Data["type"].(string)
	if !derived || typ != backupType {
		return false, tenant.Errorf(tenant.EConflict,
			"Vault transit key %s/%s is %s with derived=%t; backups need a derived %s key (tenants would share one key otherwise)",
			mount, name, typ, derived, backupType)
	}
	return true, nil
}

// WrapKey encrypts a backup's data key with the transit key under the
// tenant's context (transit/encrypt/platform-backups, context =
// base64(tenant id)). The data key is made by the caller (crypt.NewKey):
// one transit call per backup either way, and the plaintext key never
// has to come from Vault. The result ("vault:v1:…") is safe to store in a
// manifest.
func (s *Store) WrapKey(ctx context.Context, tenantID string, dataKey []byte) (string, error) {
	return s.wrapKey(ctx, TransitMount, BackupKey, tenantID, dataKey)
}

// UnwrapKey decrypts a wrapped data key under the tenant's context. A key
// wrapped for another tenant, or altered, gives ErrUnwrap; Vault down gives
// an unavailable error.
func (s *Store) UnwrapKey(ctx context.Context, tenantID, wrapped string) ([]byte, error) {
	return s.unwrapKey(ctx, TransitMount, BackupKey, tenantID, wrapped)
}

func (s *Store) wrapKey(ctx context.Context, mount, name, tenantID string, dataKey []byte) (string, error) {
	if tenantID == "" || len(dataKey) == 0 {
		return "", errors.New("secrets: WrapKey needs a tenant id and a data key")
	}
	sec, err := s.client.Logical().WriteWithContext(ctx, mount+"/encrypt/"+name, map[string]any{
		"plaintext": base64.StdEncoding.EncodeToString(dataKey),
		"context":   base64.StdEncoding.EncodeToString([]byte(tenantID)),
	})
	if err != nil {
		return "", s.wrap("wrap a backup key", err)
	}
	var ct string
	if sec != nil {
		ct, _ = sec.Data["ciphertext"].(string)
	}
	if !strings.HasPrefix(ct, "vault:") {
		return "", errors.New("secrets: Vault answered transit encrypt without a ciphertext")
	}
	return ct, nil
}

func (s *Store) unwrapKey(ctx context.Context, mount, name, tenantID, wrapped string) ([]byte, error) {
	if tenantID == "" || wrapped == "" {
		return nil, errors.New("secrets: UnwrapKey needs a tenant id and a wrapped key")
	}
	sec, err := s.client.Logical().WriteWithContext(ctx, mount+"/decrypt/"+name, map[string]any{
		"ciphertext": wrapped,
		"context":    base64.StdEncoding.EncodeToString([]byte(tenantID)),
	})
	if err != nil {
		// Transit answers 400 for a wrong context, a failed tag and a
		// malformed ciphertext alike: all mean "not this tenant's key".
		// It answers 400 for a missing key too: that is set-up, not
		// a foreign backup.
		var re *vault.ResponseError
		if errors.As(err, &re) && re.StatusCode == http.StatusBadRequest {
			if strings.Contains(strings.Join(re.Errors, " "), "key not found") {
				return nil, tenant.Errorf(tenant.EUnavailable, "Vault has no transit key %s/%s (run EnsureBackupKey)", mount, name)
			}
			return nil, ErrUnwrap
		}
		return nil, s.wrap("unwrap a backup key", err)
	}
	var pt string
	if sec != nil {
		pt, _ = sec.Data["plaintext"].(string)
	}
	key, err := base64.StdEncoding.DecodeString(pt)
	if err != nil || len(key) == 0 {
		return nil, fmt.Errorf("secrets: Vault answered transit decrypt without a plaintext")
	}
	return key, nil
}

func isPathInUse(err error) bool {
	var re *vault.ResponseError
	if errors.As(err, &re) && re.StatusCode == http.StatusBadRequest {
		for _, e := range re.Errors {
			if strings.Contains(e, "path is already in use") || strings.Contains(e, "existing mount") {
				return true
			}
		}
	}
	return false
}

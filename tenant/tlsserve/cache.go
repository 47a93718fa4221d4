package tlsserve

import (
	"context"

	"golang.org/x/crypto/acme/autocert"

	"github.com/tenancy/platform/tenant"
)

// Store keeps sealed cache entries (platform/catalog's acme_cache); Get
// answers an ENotFound error for a missing key.
type Store interface {
	ACMECacheGet(ctx context.Context, key string) (string, error)
	ACMECachePut(ctx context.Context, key, data string) error
	ACMECacheDelete(ctx context.Context, key string) error
}

// Sealer encrypts an entry for its key (Vault transit: platform/secrets).
type Sealer interface {
	SealACME(ctx context.Context, name string, data []byte) (string, error)
	OpenACME(ctx context.Context, name, sealed string) ([]byte, error)
}

// SealedCache is an autocert.Cache over a shared store whose values are
// sealed: certificates with their private keys and the account key never
// reach the store in plaintext. autocert keeps what it read in memory, so
// a handshake costs no Vault call once a certificate is loaded.
func SealedCache(s Store, seal Sealer) autocert.Cache { return &sealedCache{s, seal} }

type sealedCache struct {
	store Store
	seal  Sealer
}

func (c *sealedCache) Get(ctx context.Context, key string) ([]byte, error) {
	v, err := c.store.ACMECacheGet(ctx, key)
	if tenant.ErrorCode(err) == tenant.ENotFound {
		return nil, autocert.ErrCacheMiss
	}
	if err != nil {
		return nil, err
	}
	return c.seal.OpenACME(ctx, key, v)
}

func (c *sealedCache) Put(ctx context.Context, key string, data []byte) error {
	v, err := c.seal.SealACME(ctx, key, data)
	if err != nil {
		return err
	}
	return c.store.ACMECachePut(ctx, key, v)
}

func (c *sealedCache) Delete(ctx context.Context, key string) error {
	return c.store.ACMECacheDelete(ctx, key)
}

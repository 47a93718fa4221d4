package secrets

import (
	"context"
	"errors"
)

// ACMEKey names the transit key that seals serve's ACME cache in the
// catalog (certificates with their private keys, the ACME account key):
// derived, with the cache entry's key as context, so a sealed value opens
// only under the name it was written for.
const ACMEKey = "platform-acme"

// ErrACMEOpen: a sealed ACME cache entry does not open under its key
// (moved from another row, or altered).
var ErrACMEOpen = errors.New("an ACME cache entry does not open under its key (altered, or copied from another entry)")

// EnsureACMEKey mounts transit if needed and creates platform-acme; like
// EnsureBackupKey, idempotent and safe to run from replicas at once.
func (s *Store) EnsureACMEKey(ctx context.Context) error {
	return s.ensureTransitKey(ctx, TransitMount, ACMEKey)
}

// SealACME encrypts data for the cache entry name ("vault:v1:…").
func (s *Store) SealACME(ctx context.Context, name string, data []byte) (string, error) {
	return s.wrapKey(ctx, TransitMount, ACMEKey, name, data)
}

// OpenACME decrypts what SealACME sealed for name.
func (s *Store) OpenACME(ctx context.Context, name, sealed string) ([]byte, error) {
	b, err := s.unwrapKey(ctx, TransitMount, ACMEKey, name, sealed)
	if errors.Is(err, ErrUnwrap) {
		return nil, ErrACMEOpen
	}
	return b, err
}

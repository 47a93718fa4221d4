package secrets

import "context"

// Test hooks: the transit key on a mount of the test's own, so the enable
// and create paths run without touching the shared transit/ mount.

func (s *Store) EnsureTransitKeyAt(ctx context.Context, mount, name string) error {
	return s.ensureTransitKey(ctx, mount, name)
}

func (s *Store) WrapKeyAt(ctx context.Context, mount, name, tenantID string, dataKey []byte) (string, error) {
	return s.wrapKey(ctx, mount, name, tenantID, dataKey)
}

func (s *Store) UnwrapKeyAt(ctx context.Context, mount, name, tenantID, wrapped string) ([]byte, error) {
	return s.unwrapKey(ctx, mount, name, tenantID, wrapped)
}

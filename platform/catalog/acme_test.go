package catalog_test

import (
	"testing"

	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/tenant"
)

// TestACMECache: entries are put, replaced, read, listed and deleted; a
// missing one is ENotFound (autocert's cache miss).
func TestACMECache(t *testing.T) {
	t.Parallel()
	cat, _ := platformtest.Catalog(t)
	ctx := platformtest.Context(t)
	if _, err := cat.ACMECacheGet(ctx, "a.example.org"); tenant.ErrorCode(err) != tenant.ENotFound {
		t.Fatalf("missing entry: %v", err)
	}
	for _, v := range []string{"vault:v1:one", "vault:v1:two"} {
		if err := cat.ACMECachePut(ctx, "a.example.org", v); err != nil {
			t.Fatal(err)
		}
	}
	if err := cat.ACMECachePut(ctx, "acme_account+key", "vault:v1:acct"); err != nil {
		t.Fatal(err)
	}
	if v, err := cat.ACMECacheGet(ctx, "a.example.org"); err != nil || v != "vault:v1:two" {
		t.Fatalf("get: %q %v", v, err)
	}
	if keys, err := cat.ACMECacheKeys(ctx); err != nil || len(keys) != 2 || keys[0] != "a.example.org" {
		t.Fatalf("keys: %v %v", keys, err)
	}
	if err := cat.ACMECacheDelete(ctx, "a.example.org"); err != nil {
		t.Fatal(err)
	}
	if err := cat.ACMECacheDelete(ctx, "a.example.org"); err != nil {
		t.Fatalf("delete twice: %v", err)
	}
	if _, err := cat.ACMECacheGet(ctx, "a.example.org"); tenant.ErrorCode(err) != tenant.ENotFound {
		t.Fatalf("after delete: %v", err)
	}
	if err := cat.ACMECachePut(ctx, "", "x"); tenant.ErrorCode(err) != tenant.EInvalid {
		t.Fatalf("empty key: %v", err)
	}
}

package provision

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/platform/secrets"
	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/pool"
	"github.com/tenancy/platform/tenant/secretcache"
)

// countingVault counts the reads that reach Vault through the cache.
type countingVault struct {
	*secrets.Store
	reads atomic.Int64
}

func (c *countingVault) Get(ctx context.Context, slug string) (map[string]string, error) {
	c.reads.Add(1)
	return c.Store.Get(ctx, slug)
}

// The request path's pool follows db_password rotations with zero failed
// queries: a real pool.Manager and secrets cache over real Vault, twelve
// workers querying without pause, connections living 20 ms (so new ones
// log in all the time), while the password is rotated six times. In each
// rotation's window (new password in Vault, old one on the server) the
// cache is dropped and the pool evicted, so new connections start from
// Vault's new password; after the ALTER the cache is left stale every
// other time (no notice came), so they start from the old one.
func TestRotateDBPasswordUnderLoad(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	store, _ := sessionStore(t)
	tn := e.create(t, tenant.Restaurant).Tenant
	vault := &countingVault{Store: e.vault}
	cache := secretcache.New(vault, secretcache.Config{TTL: time.Hour}) // only invalidations refresh
	var refused atomic.Int64
	resolve := func(ctx context.Context, t *tenant.Tenant) (pool.Target, error) {
		sec, err := cache.Get(ctx, t.Slug)
		if err != nil {
			return pool.Target{}, err
		}
		return pool.Target{Server: "default", Host: e.admin.Host(), Port: int(e.admin.Port()), Database: t.Database,
			User: tenant.AppRole(t.Slug), Password: sec["db_password"], PreviousPassword: sec[secrets.PreviousPassword]}, nil
	}
	m := pool.New(pool.Config{MaxConnsPerTenant: 4, MaxConnLifetime: 20 * time.Millisecond, BudgetWait: 30 * time.Second,
		ConnectTimeout: 30 * time.Second, OnAuthFailure: func(t *tenant.Tenant) { refused.Add(1); cache.Invalidate(t.Slug) }}, resolve)
	t.Cleanup(m.Close)

	ctx, stop := context.WithCancel(e.ctx)
	var queries, failures atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for range 12 {
		wg.Go(func() {
			for ctx.Err() == nil {
				err := func() error {
					c, err := m.Acquire(ctx, tn)
					if err != nil {
						return err
					}
					defer c.Release()
					var one int
					return c.QueryRow(ctx, `SELECT 1`).Scan(&one)
				}()
				switch {
				case err == nil:
					queries.Add(1)
				case ctx.Err() == nil:
					failures.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprint(err))
				}
			}
		})
	}
	// more waits until the workers have run n more queries.
	more := func(n int64, what string) {
		t.Helper()
		target := queries.Load() + n
		platformtest.Eventually(t, time.Minute, fmt.Sprintf("%d more queries %s", n, what), func() bool { return queries.Load() >= target || failures.Load() > 0 })
	}
	more(200, "before rotating")

	r := e.svc.Rotator(store)
	r.hook = func(step string) error {
		switch step {
		case rotVault: // Vault has the new password, the server the old one
			cache.Invalidate(tn.Slug)
			m.Evict(tn.ID)
			more(200, "between the Vault write and the ALTER")
		case rotRole: // the server has the new password too
			more(200, "after the ALTER")
		}
		return nil
	}
	for i := range 6 {
		if _, err := r.Rotate(e.ctx, tn.Slug, []string{"db_password"}); err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			cache.Invalidate(tn.Slug) // the catalog's notice, as serve's resolver applies it
		}
		more(200, "after the rotation")
	}
	stop()
	wg.Wait()
	t.Logf("%d queries, %d failed; %d connections refused and retried; %d Vault reads", queries.Load(), failures.Load(), refused.Load(), vault.reads.Load())
	if n := failures.Load(); n != 0 {
		t.Errorf("%d queries failed during the rotations; first: %v", n, firstErr.Load())
	}
	if refused.Load() == 0 {
		t.Error("no connection was refused: the test did not exercise a password change under a pool")
	}
}

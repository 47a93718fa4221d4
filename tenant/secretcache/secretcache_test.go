package secretcache

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/platform/secrets"
	"github.com/tenancy/platform/tenant"
)

// source is a Getter that counts reads and can be made to fail; it stands
// in for Vault only in the unit tests of the cache's own logic.
type source struct {
	calls atomic.Int32
	fail  atomic.Value // error
	gate  chan struct{}
}

func (s *source) Get(ctx context.Context, slug string) (map[string]string, error) {
	s.calls.Add(1)
	if s.gate != nil {
		<-s.gate
	}
	if err, _ := s.fail.Load().(error); err != nil {
		return nil, err
	}
	if slug == "missing" {
		return nil, tenant.Errorf(tenant.ENotFound, "no secrets")
	}
	return map[string]string{"db_password": "pw-" + slug}, nil
}

type clock struct{ t atomic.Int64 }

func (c *clock) now() time.Time      { return time.Unix(0, c.t.Load()) }
func (c *clock) add(d time.Duration) { c.t.Add(int64(d)) }
func newClock() *clock               { c := &clock{}; c.t.Store(time.Now().UnixNano()); return c }
func eventually(t *testing.T, f func() bool) {
	t.Helper()
	for start := time.Now(); !f(); time.Sleep(5 * time.Millisecond) {
		if time.Since(start) > 2*time.Second {
			t.Fatal("condition not reached in 2 s")
		}
	}
}

func TestFreshStaleExpired(t *testing.T) {
	src, clk := &source{}, newClock()
	c := New(src, Config{TTL: time.Minute, Grace: time.Hour, Now: clk.now})
	ctx := context.Background()

	v, err := c.Get(ctx, "acme")
	if err != nil || v["db_password"] != "pw-acme" || src.calls.Load() != 1 {
		t.Fatalf("miss: %v %v, %d calls", v, err, src.calls.Load())
	}
	v["db_password"] = "mutated"
	if v, _ := c.Get(ctx, "acme"); v["db_password"] != "pw-acme" || src.calls.Load() != 1 {
		t.Fatalf("fresh hit: %v, %d calls", v, src.calls.Load())
	}

	// Past TTL with Vault down: served stale, one refresh tried, and the
	// stale entry kept.
	src.fail.Store(errors.New("connection refused"))
	clk.add(2 * time.Minute)
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if v, err := c.Get(ctx, "acme"); err != nil || v["db_password"] != "pw-acme" {
				t.Errorf("stale: %v %v", v, err)
			}
		})
	}
	wg.Wait()
	eventually(t, func() bool { return c.Stats().RefreshErrors >= 1 })
	if n := src.calls.Load(); n != 2 {
		t.Errorf("%d reads for 50 stale hits, want 2 (the first miss and one refresh)", n)
	}
	c.Get(ctx, "acme") // within retryEvery of the failure: no new read
	time.Sleep(20 * time.Millisecond)
	if n := src.calls.Load(); n != 2 {
		t.Errorf("a refresh was retried at once while Vault was down (%d reads)", n)
	}
	// Past TTL + grace, still down: unavailable, nothing secret said.
	clk.add(time.Hour)
	if _, err := c.Get(ctx, "acme"); tenant.ErrorCode(err) != tenant.EUnavailable {
		t.Errorf("expired with Vault down: %v", err)
	}
	// Vault back: fresh again.
	src.fail.Store(errors.New(""))
	src.fail = atomic.Value{}
	if v, err := c.Get(ctx, "acme"); err != nil || v["db_password"] != "pw-acme" {
		t.Errorf("after recovery: %v %v", v, err)
	}
}

func TestStaleRefreshUpdates(t *testing.T) {
	src, clk := &source{}, newClock()
	c := New(src, Config{TTL: time.Minute, Now: clk.now})
	c.Get(context.Background(), "acme")
	clk.add(2 * time.Minute)
	c.Get(context.Background(), "acme")
	eventually(t, func() bool { return src.calls.Load() == 2 })
	eventually(t, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return clk.now().Sub(c.entries["acme"].fetched) < time.Minute
	})
}

func TestConcurrentMissesReadOnce(t *testing.T) {
	src := &source{gate: make(chan struct{})}
	c := New(src, Config{})
	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() {
			if _, err := c.Get(context.Background(), "acme"); err != nil {
				t.Error(err)
			}
		})
	}
	eventually(t, func() bool { return src.calls.Load() == 1 })
	time.Sleep(20 * time.Millisecond) // let the rest pile up behind the first
	close(src.gate)
	wg.Wait()
	if n := src.calls.Load(); n != 1 {
		t.Errorf("100 concurrent misses made %d reads, want 1", n)
	}
}

func TestNotFoundAndInvalidate(t *testing.T) {
	src := &source{}
	c := New(src, Config{})
	ctx := context.Background()
	for range 2 {
		if _, err := c.Get(ctx, "missing"); tenant.ErrorCode(err) != tenant.ENotFound {
			t.Errorf("missing: %v", err)
		}
	}
	if src.calls.Load() != 2 {
		t.Errorf("not-found was cached")
	}
	c.Get(ctx, "acme")
	c.Invalidate("acme")
	c.Get(ctx, "acme")
	if src.calls.Load() != 4 {
		t.Errorf("Invalidate did not force a read: %d calls", src.calls.Load())
	}
}

func TestWithVault(t *testing.T) {
	ctx := platformtest.Context(t)
	store := platformtest.Vault(t)
	slug := platformtest.Slug("cache")
	if err := store.Create(ctx, slug, map[string]string{"db_password": "s3cret"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Delete(context.Background(), slug) })
	c := New(store, Config{})
	if v, err := c.Get(ctx, slug); err != nil || v["db_password"] != "s3cret" {
		t.Fatalf("%v %v", v, err)
	}
	down := platformtest.VaultClient(t)
	down.SetAddress("http://127.0.0.1:1")
	start := time.Now()
	_, err := New(secrets.NewStore(down, ""), Config{}).Get(ctx, slug)
	if tenant.ErrorCode(err) != tenant.EUnavailable {
		t.Errorf("unreachable Vault: %v", err)
	}
	t.Logf("unreachable Vault answered in %v", time.Since(start))
}

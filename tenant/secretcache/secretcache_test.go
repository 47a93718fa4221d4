package secretcache

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/platform/secrets"
	"github.com/tenancy/platform/tenant"
)

// source is a Getter that counts reads, can fail and can be held: it
// stands in for Vault only in the tests of the cache's own logic (the real
// Vault is in TestWithVault).
type source struct {
	calls atomic.Int32

	mu       sync.Mutex
	password string        // the secret returned for every slug but "missing"
	err      error         // if set, every read fails with it
	gate     chan struct{} // if set, reads wait for it to close
}

func newSource() *source { return &source{password: "pw-1"} }

func (s *source) Get(ctx context.Context, slug string) (map[string]string, error) {
	s.calls.Add(1)
	// The answer is taken when the read starts, as Vault's would be.
	s.mu.Lock()
	pw, err, gate := s.password, s.err, s.gate
	s.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	switch {
	case err != nil:
		return nil, err
	case slug == "missing":
		return nil, tenant.Errorf(tenant.ENotFound, "tenant %q has no secrets in Vault", slug)
	}
	return map[string]string{"db_password": pw}, nil
}

func (s *source) set(f func(*source)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

// hold makes reads wait until the returned func is called.
func (s *source) hold() (release func()) {
	gate := make(chan struct{})
	s.set(func(s *source) { s.gate = gate })
	return func() { close(gate) }
}

var errDown = tenant.Errorf(tenant.EUnavailable, "Vault at http://127.0.0.1:8200 is unreachable")

// clock is the injected Now: TTL and grace are tested on it, never on
// wall time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// eventually polls cond for up to 2 s: for what happens in the background.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 2 s", what)
		}
	}
}

// waitAll waits for wg, failing the test after 2 s.
func waitAll(t *testing.T, wg *sync.WaitGroup, what string) {
	t.Helper()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatalf("%s: not within 2 s", what)
	}
}

const (
	ttl   = time.Minute
	grace = time.Hour
)

func newCache(src *source, clk *clock) *Cache {
	return New(src, Config{TTL: ttl, Grace: grace, Now: clk.Now})
}

func mustGet(t *testing.T, c *Cache, slug, want string) {
	t.Helper()
	v, err := c.Get(context.Background(), slug)
	if err != nil || v["db_password"] != want {
		t.Fatalf("Get(%s) = %v, %v; want db_password %q", slug, v, err, want)
	}
}

// refreshing reports whether a background refresh of slug runs.
func refreshing(c *Cache, slug string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[slug]
	return e != nil && e.refreshing
}

func TestFreshHitReadsNothing(t *testing.T) {
	src, clk := newSource(), newClock()
	c := newCache(src, clk)
	mustGet(t, c, "acme", "pw-1")
	clk.Add(ttl - time.Nanosecond)
	src.set(func(s *source) { s.password = "pw-2" })
	mustGet(t, c, "acme", "pw-1")
	if n := src.calls.Load(); n != 1 {
		t.Errorf("%d reads, want 1", n)
	}
	if s := c.Stats(); s.Entries != 1 || s.Hits != 1 || s.Misses != 1 || s.StaleHits != 0 {
		t.Errorf("stats %+v", s)
	}
}

func TestReturnedMapIsACopy(t *testing.T) {
	src, clk := newSource(), newClock()
	c := newCache(src, clk)
	for i, step := range []string{"miss", "fresh hit", "stale hit"} {
		if i == 2 {
			clk.Add(ttl)
		}
		v, err := c.Get(context.Background(), "acme")
		if err != nil {
			t.Fatal(err)
		}
		v["db_password"] = "changed by " + step
		v["extra"] = "x"
	}
	c.mu.Lock()
	got := c.entries["acme"].values
	c.mu.Unlock()
	if len(got) != 1 || got["db_password"] != "pw-1" {
		t.Errorf("cache holds %v after callers changed their maps", got)
	}
}

func TestConcurrentMissesReadOnce(t *testing.T) {
	src, clk := newSource(), newClock()
	release := src.hold()
	c := newCache(src, clk)
	const n = 100
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			if v, err := c.Get(context.Background(), "acme"); err != nil || v["db_password"] != "pw-1" {
				t.Errorf("Get = %v, %v", v, err)
			}
		})
	}
	// Every caller has missed (and so joined a read) before the read ends.
	eventually(t, "all callers waiting", func() bool { return c.Stats().Misses == n })
	release()
	waitAll(t, &wg, "callers")
	if got := src.calls.Load(); got != 1 {
		t.Errorf("%d concurrent misses made %d reads, want 1", n, got)
	}
}

func TestCallerGivingUpDoesNotFailOthers(t *testing.T) {
	src, clk := newSource(), newClock()
	release := src.hold()
	c := newCache(src, clk)
	ctx, cancel := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() { _, err := c.Get(ctx, "acme"); first <- err }()
	eventually(t, "read started", func() bool { return src.calls.Load() == 1 })
	second := make(chan error, 1)
	go func() { _, err := c.Get(context.Background(), "acme"); second <- err }()
	eventually(t, "second caller waiting", func() bool { return c.Stats().Misses == 2 })
	cancel()
	if err := <-first; !errors.Is(err, context.Canceled) {
		t.Errorf("canceled caller got %v", err)
	}
	release()
	if err := <-second; err != nil {
		t.Errorf("other caller got %v", err)
	}
	if s := c.Stats(); src.calls.Load() != 1 || s.RefreshErrors != 0 || s.Entries != 1 {
		t.Errorf("%d reads, stats %+v", src.calls.Load(), s)
	}
}

func TestStaleServedWhileOneRefreshRuns(t *testing.T) {
	src, clk := newSource(), newClock()
	c := newCache(src, clk)
	mustGet(t, c, "acme", "pw-1")
	clk.Add(ttl + time.Second)
	release := src.hold()
	src.set(func(s *source) { s.password = "pw-2" })

	// The refresh is held, so callers that return at all were served stale.
	const n = 50
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			if v, err := c.Get(context.Background(), "acme"); err != nil || v["db_password"] != "pw-1" {
				t.Errorf("stale Get = %v, %v", v, err)
			}
		})
	}
	waitAll(t, &wg, "stale callers")
	eventually(t, "refresh started", func() bool { return src.calls.Load() == 2 })
	if got := src.calls.Load(); got != 2 {
		t.Errorf("%d stale hits made %d reads, want 2 (the first miss and one refresh)", n, got)
	}
	release()
	eventually(t, "refresh stored", func() bool { return !refreshing(c, "acme") })
	mustGet(t, c, "acme", "pw-2")
	if s := c.Stats(); src.calls.Load() != 2 || s.StaleHits != n || s.Hits != 1 || s.Misses != 1 {
		t.Errorf("%d reads, stats %+v", src.calls.Load(), s)
	}
}

func TestVaultDownServesStaleUntilGraceEnds(t *testing.T) {
	src, clk := newSource(), newClock()
	c := newCache(src, clk)
	mustGet(t, c, "acme", "pw-1") // fetched at t0
	src.set(func(s *source) { s.err = errDown })

	// Each step is at an offset from t0, in order. refresh: whether this Get
	// starts a background refresh.
	steps := []struct {
		at      time.Duration
		refresh bool
		wantErr bool
	}{
		{at: ttl + time.Second, refresh: true},
		{at: ttl + 2*time.Second, refresh: false}, // within retryEvery of the failure
		{at: ttl + time.Second + retryEvery, refresh: true},
		{at: ttl + grace - time.Nanosecond, refresh: true}, // last moment of grace
		{at: ttl + grace, wantErr: true},
		{at: ttl + grace + time.Hour, wantErr: true},
	}
	start := clk.Now()
	for _, st := range steps {
		clk.Add(start.Add(st.at).Sub(clk.Now()))
		errsBefore, callsBefore := c.Stats().RefreshErrors, src.calls.Load()
		v, err := c.Get(context.Background(), "acme")
		if st.wantErr {
			if tenant.ErrorCode(err) != tenant.EUnavailable {
				t.Fatalf("t0+%v: Get = %v, %v; want unavailable", st.at, v, err)
			}
			msg := tenant.ErrorMessage(err)
			if msg != "secrets of tenant acme are unavailable: Vault unreachable" || strings.Contains(msg, "pw-1") {
				t.Errorf("t0+%v: message %q", st.at, msg)
			}
			continue
		}
		if err != nil || v["db_password"] != "pw-1" {
			t.Fatalf("t0+%v: Get = %v, %v; want the stale entry", st.at, v, err)
		}
		// Get marks the entry refreshing before it returns, and a refresh
		// reads the source once: a refresh started iff either shows. (The
		// flag alone is gone again when the failing read is quick.)
		if got := refreshing(c, "acme") || src.calls.Load() != callsBefore; got != st.refresh {
			t.Fatalf("t0+%v: refresh started = %v, want %v", st.at, got, st.refresh)
		}
		if st.refresh {
			eventually(t, "refresh failed", func() bool { return c.Stats().RefreshErrors == errsBefore+1 })
			eventually(t, "refresh ended", func() bool { return !refreshing(c, "acme") })
		}
	}
	if s := c.Stats(); s.RefreshErrors != 5 || !s.LastError.Equal(clk.Now()) {
		t.Errorf("stats %+v, want 5 refresh errors, the last at %v", s, clk.Now())
	}

	// Vault back: read again and fresh.
	src.set(func(s *source) { s.err = nil; s.password = "pw-2" })
	mustGet(t, c, "acme", "pw-2")
}

func TestNotFound(t *testing.T) {
	src, clk := newSource(), newClock()
	c := newCache(src, clk)
	for range 2 {
		if _, err := c.Get(context.Background(), "missing"); tenant.ErrorCode(err) != tenant.ENotFound {
			t.Fatalf("Get(missing) = %v, want not_found", err)
		}
	}
	if n, s := src.calls.Load(), c.Stats(); n != 2 || s.Entries != 0 || s.RefreshErrors != 0 {
		t.Errorf("not_found cached or counted as a failure: %d reads, stats %+v", n, s)
	}

	// Secrets deleted under a stale entry: the refresh drops the entry
	// rather than serve it through the grace time.
	mustGet(t, c, "acme", "pw-1")
	clk.Add(ttl)
	src.set(func(s *source) { s.err = tenant.Errorf(tenant.ENotFound, "gone") })
	mustGet(t, c, "acme", "pw-1")
	eventually(t, "entry dropped", func() bool { return c.Stats().Entries == 0 })
	if _, err := c.Get(context.Background(), "acme"); tenant.ErrorCode(err) != tenant.ENotFound {
		t.Errorf("after secrets deleted: %v, want not_found", err)
	}
}

func TestInvalidate(t *testing.T) {
	src, clk := newSource(), newClock()
	c := newCache(src, clk)
	mustGet(t, c, "acme", "pw-1")
	mustGet(t, c, "other", "pw-1")
	src.set(func(s *source) { s.password = "pw-2" })
	c.Invalidate("acme")
	mustGet(t, c, "acme", "pw-2")
	mustGet(t, c, "other", "pw-1") // untouched
	if n := src.calls.Load(); n != 3 {
		t.Errorf("%d reads, want 3", n)
	}

	// A read in flight when the secrets rotate must not store the old ones.
	c.Invalidate("acme")
	release := src.hold()
	old := make(chan map[string]string, 1)
	go func() { v, _ := c.Get(context.Background(), "acme"); old <- v }()
	eventually(t, "read started", func() bool { return src.calls.Load() == 4 })
	src.set(func(s *source) { s.password = "pw-3"; s.gate = nil })
	c.Invalidate("acme")
	mustGet(t, c, "acme", "pw-3") // a new read, not the one in flight
	release()
	if v := <-old; v["db_password"] != "pw-2" {
		t.Fatalf("read in flight returned %v", v)
	}
	mustGet(t, c, "acme", "pw-3")
	if n := src.calls.Load(); n != 5 {
		t.Errorf("%d reads, want 5", n)
	}
}

// TestWithVault runs the cache on the real Vault, then on a Vault that
// cannot be reached.
func TestWithVault(t *testing.T) {
	ctx := platformtest.Context(t)
	store := platformtest.Vault(t)
	slug := platformtest.Slug("secretcache")
	want := map[string]string{"db_password": "pw-" + platformtest.Rand(16), "session_key": platformtest.Rand(32)}
	if err := store.Create(ctx, slug, want); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := store.Delete(context.Background(), slug); err != nil {
			t.Errorf("delete secrets: %v", err)
		}
	})

	c := New(store, Config{})
	for range 2 {
		got, err := c.Get(ctx, slug)
		if err != nil || len(got) != len(want) || got["db_password"] != want["db_password"] || got["session_key"] != want["session_key"] {
			t.Fatalf("Get = %v, %v; want %v", got, err, want)
		}
	}
	if s := c.Stats(); s.Misses != 1 || s.Hits != 1 {
		t.Errorf("stats %+v, want 1 miss then 1 hit", s)
	}
	if _, err := c.Get(ctx, platformtest.Slug("secretcache-none")); tenant.ErrorCode(err) != tenant.ENotFound {
		t.Errorf("tenant without secrets: %v, want not_found", err)
	}

	client := platformtest.VaultClient(t)
	if err := client.SetAddress("http://127.0.0.1:1"); err != nil {
		t.Fatal(err)
	}
	down := New(secrets.NewStore(client, ""), Config{})
	begin := time.Now()
	_, err := down.Get(ctx, slug)
	took := time.Since(begin)
	if tenant.ErrorCode(err) != tenant.EUnavailable {
		t.Fatalf("unreachable Vault: %v, want unavailable", err)
	}
	if msg := tenant.ErrorMessage(err); !strings.Contains(msg, slug) || strings.Contains(msg, want["db_password"]) {
		t.Errorf("message %q", msg)
	}
	// A refused connection fails at once; this only catches retries or
	// waiting out the read timeout.
	if took > 5*time.Second {
		t.Errorf("unreachable Vault answered in %v", took)
	}
	if s := down.Stats(); s.RefreshErrors != 1 || s.Entries != 0 {
		t.Errorf("stats %+v", s)
	}
}

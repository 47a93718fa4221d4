package session_test

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/auth"
	"github.com/tenancy/platform/tenant/auth/session"
)

// newClient is a client of the test Redis (REDIS_URL) with a round-trip
// counter; it is closed with the test.
func newClient(t testing.TB) (*redis.Client, *roundTrips) {
	t.Helper()
	opts, err := redis.ParseURL(platformtest.Getenv(t, "REDIS_URL"))
	if err != nil {
		t.Fatal(err)
	}
	opts.PoolSize = 4
	c := redis.NewClient(opts)
	t.Cleanup(func() { c.Close() })
	rt := &roundTrips{}
	c.AddHook(rt)
	if err := c.Ping(platformtest.Context(t)).Err(); err != nil {
		t.Fatalf("redis: %v", err)
	}
	return c, rt
}

// roundTrips counts what a client sends: one per command, one per
// pipeline (or MULTI) however long.
type roundTrips struct{ n atomic.Int64 }

func (r *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

func (r *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		r.n.Add(1)
		return next(ctx, cmd)
	}
}

func (r *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		r.n.Add(1)
		return next(ctx, cmds)
	}
}

// during returns the round trips f made.
func (r *roundTrips) during(f func()) int64 {
	before := r.n.Load()
	f()
	return r.n.Load() - before
}

// clock is a test clock the store reads (Options.Now).
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now().UTC().Truncate(time.Millisecond)} }

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

// newTenant returns a tenant id no other test uses; its keys are deleted
// with the test.
func newTenant(t testing.TB, c *redis.Client) string {
	t.Helper()
	tid := "test-" + platformtest.Rand(16)
	t.Cleanup(func() {
		ctx := context.Background()
		keys := tenantKeys(t, c, tid)
		if len(keys) > 0 {
			if err := c.Del(ctx, keys...).Err(); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		}
	})
	return tid
}

// tenantKeys lists the keys that mention tid anywhere in their name.
func tenantKeys(t testing.TB, c *redis.Client, tid string) []string {
	t.Helper()
	var keys []string
	iter := c.Scan(context.Background(), 0, "*"+tid+"*", 1000).Iterator()
	for iter.Next(context.Background()) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		t.Fatalf("scan: %v", err)
	}
	return keys
}

func userData(uid int64, name string) auth.SessionData {
	return auth.SessionData{
		UserID:      uid,
		Username:    name,
		Roles:       []string{"staff"},
		Permissions: []string{auth.PermDataRead},
		IP:          "203.0.113.7",
		UserAgent:   "test-agent/1.0",
	}
}

var policy = auth.Policy{Lifetime: 8 * time.Hour, Idle: 30 * time.Minute}

func mustCreate(t testing.TB, s *session.Store, tid string, d auth.SessionData, p auth.Policy) (string, auth.SessionInfo) {
	t.Helper()
	secret, info, err := s.Create(platformtest.Context(t), tid, d, p)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	return secret, info
}

func mustCheck(t testing.TB, s *session.Store, tid, secret, ip string) auth.SessionInfo {
	t.Helper()
	info, _, err := s.Check(platformtest.Context(t), tid, secret, ip, nil)
	if err != nil {
		t.Fatalf("check: %v", err)
	}
	return info
}

func wantNoSession(t testing.TB, err error, what string) {
	t.Helper()
	if !errors.Is(err, auth.ErrNoSession) {
		t.Fatalf("%s: err = %v, want ErrNoSession", what, err)
	}
}

func wantUnavailable(t testing.TB, err error, what string) {
	t.Helper()
	if code := tenant.ErrorCode(err); code != tenant.EUnavailable {
		t.Fatalf("%s: err = %v (code %q), want %s", what, err, code, tenant.EUnavailable)
	}
}

// deadAddr is a local port nothing listens on: connections to it are
// refused.
func deadAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

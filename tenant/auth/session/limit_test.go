package session_test

import (
	"errors"
	"testing"
	"time"

	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/tenant/auth"
	"github.com/tenancy/platform/tenant/auth/session"
)

// TestLimitSharedWithRedisRate alternates redis_rate itself (Allow) and
// the hand-written GCRA in Check's script on one key: one budget, the same
// remaining count after each request, both refuse once it is spent.
func TestLimitSharedWithRedisRate(t *testing.T) {
	t.Parallel()
	ctx := platformtest.Context(t)
	c, _ := newClient(t)
	tid := newTenant(t, c)
	s := session.New(c, session.Options{})
	secret, _ := mustCreate(t, s, tid, userData(1, "ana"), policy)
	// A slow refill (one per 10 min) keeps the counts exact however slow
	// the test runs.
	lim := auth.Limit{Key: "api:ip:192.0.2.1", Rate: 6, Period: time.Hour}
	for i := range 6 {
		var v auth.Verdict
		var err error
		if i%2 == 0 {
			v, err = s.Allow(ctx, tid, lim)
		} else {
			_, v, err = s.Check(ctx, tid, secret, "", &lim)
		}
		if err != nil {
			t.Fatal(err)
		}
		if !v.Allowed || v.Remaining != 5-i {
			t.Fatalf("request %d (%s): %+v, want allowed with %d remaining", i+1, []string{"Allow", "Check"}[i%2], v, 5-i)
		}
	}
	v, err := s.Allow(ctx, tid, lim)
	if err != nil || v.Allowed {
		t.Fatalf("Allow past the budget: %+v %v", v, err)
	}
	_, v2, err := s.Check(ctx, tid, secret, "", &lim)
	if err != nil || v2.Allowed {
		t.Fatalf("Check past the budget: %+v %v", v2, err)
	}
	// Both say the next slot is about 10 min away (rounded up to seconds).
	for _, v := range []auth.Verdict{v, v2} {
		if v.RetryAfter < 9*time.Minute || v.RetryAfter > 10*time.Minute || v.RetryAfter%time.Second != 0 {
			t.Fatalf("retry after %v, want whole seconds near 10 min", v.RetryAfter)
		}
	}
}

// TestLimitKeys: both paths keep the state at t:<tid>:rl:<key> (not
// redis_rate's own rate:…) with redis_rate's expiry.
func TestLimitKeys(t *testing.T) {
	t.Parallel()
	ctx := platformtest.Context(t)
	c, _ := newClient(t)
	tid := newTenant(t, c)
	s := session.New(c, session.Options{})
	secret, _ := mustCreate(t, s, tid, userData(1, "ana"), policy)
	a := auth.Limit{Key: "login:ip:2001:db8::1", Rate: 20, Period: time.Minute}
	b := auth.Limit{Key: "api:ip:2001:db8::1", Rate: 20, Period: time.Minute}
	if _, err := s.Allow(ctx, tid, a); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Check(ctx, tid, secret, "", &b); err != nil {
		t.Fatal(err)
	}
	for _, l := range []auth.Limit{a, b} {
		k := "t:" + tid + ":rl:" + l.Key
		ttl, err := c.TTL(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		if ttl <= 0 || ttl > 3*time.Second { // one request of 20 per minute: 3 s to refill
			t.Fatalf("%s: TTL %v", k, ttl)
		}
		if n := c.Exists(ctx, "rate:"+k).Val(); n != 0 {
			t.Fatalf("redis_rate's own prefix used: rate:%s", k)
		}
	}
}

// TestLimitAcrossStores: two stores over two clients (two replicas)
// share one budget.
func TestLimitAcrossStores(t *testing.T) {
	t.Parallel()
	ctx := platformtest.Context(t)
	c1, _ := newClient(t)
	c2, _ := newClient(t)
	tid := newTenant(t, c1)
	stores := []*session.Store{session.New(c1, session.Options{}), session.New(c2, session.Options{})}
	lim := auth.Limit{Key: "login:ip:192.0.2.1", Rate: 20, Period: time.Hour}
	allowed := 0
	for i := range 30 {
		v, err := stores[i%2].Allow(ctx, tid, lim)
		if err != nil {
			t.Fatal(err)
		}
		if v.Allowed {
			allowed++
		} else if v.RetryAfter < time.Second {
			t.Fatalf("refused with retry after %v", v.RetryAfter)
		}
	}
	if allowed != 20 {
		t.Fatalf("%d of 30 allowed across two stores, want 20", allowed)
	}
}

// TestRetryAfterRoundsUp: a wait under a second is one second, never 0.
func TestRetryAfterRoundsUp(t *testing.T) {
	t.Parallel()
	ctx := platformtest.Context(t)
	c, _ := newClient(t)
	tid := newTenant(t, c)
	s := session.New(c, session.Options{})
	secret, _ := mustCreate(t, s, tid, userData(1, "ana"), policy)
	// 1 per 300 ms: the refused request waits < 300 ms → 1 s.
	lim := auth.Limit{Key: "fast", Rate: 1, Period: 300 * time.Millisecond}
	if v, err := s.Allow(ctx, tid, lim); err != nil || !v.Allowed || v.Remaining != 0 {
		t.Fatalf("first: %+v %v", v, err)
	}
	v, err := s.Allow(ctx, tid, lim)
	if err != nil || v.Allowed || v.RetryAfter != time.Second {
		t.Fatalf("Allow refused: %+v %v, want retry after 1s", v, err)
	}
	_, v, err = s.Check(ctx, tid, secret, "", &lim)
	if err != nil || v.Allowed || v.RetryAfter != time.Second {
		t.Fatalf("Check refused: %+v %v, want retry after 1s", v, err)
	}
	// 1 per 90 s: 90 s exactly, or a little less rounded up to 90 s.
	slow := auth.Limit{Key: "slow", Rate: 1, Period: 90 * time.Second}
	if _, err := s.Allow(ctx, tid, slow); err != nil {
		t.Fatal(err)
	}
	if v, err := s.Allow(ctx, tid, slow); err != nil || v.RetryAfter != 90*time.Second {
		t.Fatalf("slow: %+v %v, want 90s", v, err)
	}
}

// TestCheckCountsEveryRequest: dead and malformed tokens count against
// the limit (a flood of bad tokens is limited too), and a refused
// request is not recorded as activity.
func TestCheckCountsEveryRequest(t *testing.T) {
	t.Parallel()
	ctx := platformtest.Context(t)
	c, _ := newClient(t)
	tid := newTenant(t, c)
	clk := newClock()
	s := session.New(c, session.Options{Now: clk.Now})
	secret, info := mustCreate(t, s, tid, userData(1, "ana"), policy)
	lim := auth.Limit{Key: "api:ip:192.0.2.1", Rate: 3, Period: time.Hour}
	dead, _ := newSecretLike(t)
	for i, sec := range []string{dead, "malformed"} {
		_, v, err := s.Check(ctx, tid, sec, "", &lim)
		if !errors.Is(err, auth.ErrNoSession) || !v.Allowed || v.Remaining != 2-i {
			t.Fatalf("bad token %d: %+v %v", i, v, err)
		}
	}
	if _, v, err := s.Check(ctx, tid, secret, "", &lim); err != nil || !v.Allowed || v.Remaining != 0 {
		t.Fatalf("third: %+v %v", v, err)
	}
	clk.Add(5 * time.Minute)
	got, v, err := s.Check(ctx, tid, secret, "198.51.100.1", &lim)
	if err != nil || v.Allowed {
		t.Fatalf("fourth: %+v %v, want refused with the session", v, err)
	}
	if got.ID != info.ID {
		t.Fatalf("refused check returned session %q", got.ID)
	}
	stored, err := s.Get(ctx, tid, info.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !stored.LastSeenAt.Equal(info.LastSeenAt) || stored.IP != info.IP {
		t.Fatalf("a refused request was recorded as activity: %v %q", stored.LastSeenAt, stored.IP)
	}
	// Invalid limits are the caller's bug, not a verdict.
	for _, bad := range []auth.Limit{{Key: "", Rate: 1, Period: time.Second}, {Key: "k", Rate: 0, Period: time.Second}, {Key: "k", Rate: 1}} {
		if _, err := s.Allow(ctx, tid, bad); err == nil {
			t.Errorf("Allow(%+v) accepted", bad)
		}
	}
}

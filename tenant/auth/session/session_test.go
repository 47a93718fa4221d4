package session_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/auth"
	"github.com/tenancy/platform/tenant/auth/session"
)

func TestCreateCheck(t *testing.T) {
	t.Parallel()
	ctx := platformtest.Context(t)
	c, _ := newClient(t)
	tid := newTenant(t, c)
	clk := newClock()
	s := session.New(c, session.Options{Now: clk.Now})

	secret, info, err := s.Create(ctx, tid, userData(7, "ana"), policy)
	if err != nil {
		t.Fatal(err)
	}
	if raw, err := base64.RawURLEncoding.DecodeString(secret); err != nil || len(raw) != 32 {
		t.Fatalf("secret %d chars: %d bytes, %v; want 32 bytes of base64url", len(secret), len(raw), err)
	}
	if info.ID != session.Handle(secret) || len(info.ID) != 64 {
		t.Fatalf("handle %q, want hex SHA-256 of the secret", info.ID)
	}
	now := clk.Now()
	if !info.Current || !info.CreatedAt.Equal(now) || !info.LastSeenAt.Equal(now) ||
		!info.ExpiresAt.Equal(now.Add(8*time.Hour)) || info.Idle != 30*time.Minute {
		t.Fatalf("created %+v at %v", info, now)
	}

	got := mustCheck(t, s, tid, secret, "198.51.100.1")
	if got.ID != info.ID || got.UserID != 7 || got.Username != "ana" || !slices.Equal(got.Roles, []string{"staff"}) ||
		!slices.Equal(got.Permissions, []string{auth.PermDataRead}) || got.UserAgent != "test-agent/1.0" ||
		!got.ExpiresAt.Equal(info.ExpiresAt) || !got.CreatedAt.Equal(info.CreatedAt) || !got.Current {
		t.Fatalf("check = %+v, want %+v", got, info)
	}
	// The Redis TTL is the idle timeout (sooner than the absolute end).
	pttl, err := c.PTTL(ctx, "t:"+tid+":sess:"+info.ID).Result()
	if err != nil {
		t.Fatal(err)
	}
	if pttl <= 29*time.Minute || pttl > 30*time.Minute {
		t.Fatalf("PTTL %v, want about 30 min", pttl)
	}

	// Unknown, malformed and empty secrets.
	other, _ := newSecretLike(t)
	for _, bad := range []string{other, "", "x", secret[:42], secret + "A", strings.Repeat("!", 43)} {
		_, _, err := s.Check(ctx, tid, bad, "", nil)
		wantNoSession(t, err, "check "+bad)
	}
}

// newSecretLike returns a well-formed secret no session has.
func newSecretLike(t *testing.T) (string, string) {
	b := make([]byte, 32)
	copy(b, platformtest.Rand(32))
	s := base64.RawURLEncoding.EncodeToString(b)
	return s, session.Handle(s)
}

func TestSecretNeverStored(t *testing.T) {
	t.Parallel()
	ctx := platformtest.Context(t)
	c, _ := newClient(t)
	tid := newTenant(t, c)
	s := session.New(c, session.Options{})
	secret, info := mustCreate(t, s, tid, userData(1, "ana"), policy)
	mustCheck(t, s, tid, secret, "192.0.2.1")
	lim := auth.Limit{Key: "api:ip:192.0.2.1", Rate: 5, Period: time.Minute}
	if _, _, err := s.Check(ctx, tid, secret, "192.0.2.1", &lim); err != nil {
		t.Fatal(err)
	}
	keys := tenantKeys(t, c, tid)
	if !slices.Contains(keys, "t:"+tid+":sess:"+info.ID) {
		t.Fatalf("keys %v: no session hash under its handle", keys)
	}
	for _, k := range keys {
		if strings.Contains(k, secret) {
			t.Fatalf("key %q holds the secret", k)
		}
		var dump string
		switch typ := c.Type(ctx, k).Val(); typ {
		case "hash":
			for f, v := range c.HGetAll(ctx, k).Val() {
				dump += f + " " + v + " "
			}
		case "set":
			dump = strings.Join(c.SMembers(ctx, k).Val(), " ")
		case "zset":
			dump = strings.Join(c.ZRange(ctx, k, 0, -1).Val(), " ")
		case "string":
			dump = c.Get(ctx, k).Val()
		default:
			t.Fatalf("key %q of type %q", k, typ)
		}
		if strings.Contains(dump, secret) {
			t.Fatalf("key %q stores the secret", k)
		}
	}
}

func TestIdleTimeout(t *testing.T) {
	t.Parallel()
	ctx := platformtest.Context(t)
	c, _ := newClient(t)
	tid := newTenant(t, c)
	clk := newClock()
	s := session.New(c, session.Options{Now: clk.Now})
	secret, info := mustCreate(t, s, tid, userData(1, "ana"), policy)

	// Requests 29 minutes apart keep it alive well past one idle period.
	for range 3 {
		clk.Add(29 * time.Minute)
		mustCheck(t, s, tid, secret, "")
	}
	clk.Add(30 * time.Minute)
	_, _, err := s.Check(ctx, tid, secret, "", nil)
	wantNoSession(t, err, "check after 30 idle minutes")
	// Check deleted the lingering key (Redis' own TTL is real time).
	if n := c.Exists(ctx, "t:"+tid+":sess:"+info.ID).Val(); n != 0 {
		t.Fatal("idle session still in Redis")
	}
	_, err = s.Get(ctx, tid, info.ID)
	wantNoSession(t, err, "get")
}

func TestAbsoluteLifetime(t *testing.T) {
	t.Parallel()
	ctx := platformtest.Context(t)
	c, _ := newClient(t)
	tid := newTenant(t, c)
	clk := newClock()
	s := session.New(c, session.Options{Now: clk.Now})
	p := auth.Policy{Lifetime: time.Hour, Idle: 30 * time.Minute}
	secret, info := mustCreate(t, s, tid, userData(1, "ana"), p)
	for range 2 {
		clk.Add(25 * time.Minute)
		mustCheck(t, s, tid, secret, "")
	}
	// 50 min in: the TTL is the 10 min left, not a fresh idle period.
	pttl := c.PTTL(ctx, "t:"+tid+":sess:"+info.ID).Val()
	if pttl <= 9*time.Minute || pttl > 10*time.Minute {
		t.Fatalf("PTTL at 50 min = %v, want about 10 min", pttl)
	}
	clk.Add(10 * time.Minute) // 60 min: active 10 min ago, but the hour is over
	_, _, err := s.Check(ctx, tid, secret, "", nil)
	wantNoSession(t, err, "check at the absolute end")
}

// TestRedisExpires: with real short durations Redis itself drops an idle
// session (no Check needed), and List cleans its index entries.
func TestRedisExpires(t *testing.T) {
	t.Parallel()
	ctx := platformtest.Context(t)
	c, _ := newClient(t)
	tid := newTenant(t, c)
	s := session.New(c, session.Options{})
	_, short := mustCreate(t, s, tid, userData(1, "ana"), auth.Policy{Lifetime: time.Hour, Idle: 300 * time.Millisecond})
	_, long := mustCreate(t, s, tid, userData(1, "ana"), policy)
	platformtest.Eventually(t, 10*time.Second, "Redis to expire the idle session", func() bool {
		return c.Exists(ctx, "t:"+tid+":sess:"+short.ID).Val() == 0
	})
	got, err := s.List(ctx, tid, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != long.ID {
		t.Fatalf("list = %v, want only %s", ids(got), long.ID)
	}
	if c.SIsMember(ctx, "t:"+tid+":user:1:sess", short.ID).Val() ||
		c.ZScore(ctx, "t:"+tid+":sess", short.ID).Err() != redis.Nil {
		t.Fatal("index entries of the expired session were not cleaned")
	}
}

func ids(l []auth.SessionInfo) []string {
	out := make([]string, len(l))
	for i, x := range l {
		out[i] = x.ID
	}
	return out
}

func TestTouchAtMostOncePerInterval(t *testing.T) {
	t.Parallel()
	ctx := platformtest.Context(t)
	c, _ := newClient(t)
	tid := newTenant(t, c)
	clk := newClock()
	s := session.New(c, session.Options{Now: clk.Now, TouchEvery: time.Minute})
	secret, info := mustCreate(t, s, tid, userData(1, "ana"), policy)
	key := "t:" + tid + ":sess:" + info.ID

	// Shrink the TTL to see whether a Check extends it.
	if err := c.PExpire(ctx, key, 10*time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	clk.Add(59 * time.Second)
	got := mustCheck(t, s, tid, secret, "198.51.100.9")
	if !got.LastSeenAt.Equal(info.CreatedAt) || got.IP != info.IP {
		t.Fatalf("59 s later: last seen %v ip %q, want untouched %v %q", got.LastSeenAt, got.IP, info.CreatedAt, info.IP)
	}
	if pttl := c.PTTL(ctx, key).Val(); pttl > 10*time.Minute {
		t.Fatalf("PTTL %v: extended without a touch", pttl)
	}
	clk.Add(time.Second)
	got = mustCheck(t, s, tid, secret, "198.51.100.9")
	if !got.LastSeenAt.Equal(clk.Now()) || got.IP != "198.51.100.9" {
		t.Fatalf("a minute later: last seen %v ip %q, want %v and the new IP", got.LastSeenAt, got.IP, clk.Now())
	}
	if pttl := c.PTTL(ctx, key).Val(); pttl <= 29*time.Minute {
		t.Fatalf("PTTL %v after a touch, want a fresh idle period", pttl)
	}
	stored, err := s.Get(ctx, tid, info.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !stored.LastSeenAt.Equal(clk.Now()) || stored.IP != "198.51.100.9" || stored.Current {
		t.Fatalf("stored %+v", stored)
	}
	// Many requests within the minute: no further writes.
	for range 5 {
		clk.Add(10 * time.Second)
		if got := mustCheck(t, s, tid, secret, "192.0.2.200"); !got.LastSeenAt.Equal(stored.LastSeenAt) || got.IP != "198.51.100.9" {
			t.Fatalf("touched again within the minute: %v %q", got.LastSeenAt, got.IP)
		}
	}
}

func TestCheckIsOneRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := platformtest.Context(t)
	c, rt := newClient(t)
	tid := newTenant(t, c)
	clk := newClock()
	s := session.New(c, session.Options{Now: clk.Now})
	secret, _ := mustCreate(t, s, tid, userData(1, "ana"), policy)
	lim := &auth.Limit{Key: "api:ip:192.0.2.1", Rate: 100, Period: time.Minute}
	// The first runs may load the scripts (EVALSHA, NOSCRIPT, EVAL).
	mustCheck(t, s, tid, secret, "")
	if _, _, err := s.Check(ctx, tid, secret, "", lim); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Allow(ctx, tid, *lim); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		touch bool
		lim   *auth.Limit
	}{{"no touch", false, nil}, {"touch", true, nil}, {"limit", false, lim}, {"limit touch", true, lim}} {
		if tc.touch {
			clk.Add(2 * time.Minute)
		}
		var err error
		n := rt.during(func() { _, _, err = s.Check(ctx, tid, secret, "192.0.2.1", tc.lim) })
		if err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("Check (%s): %d round trips, want 1", tc.name, n)
		}
	}
	var err error
	if n := rt.during(func() { _, err = s.Allow(ctx, tid, *lim) }); n != 1 || err != nil {
		t.Errorf("Allow: %d round trips (%v), want 1", n, err)
	}
	// A dead session is one round trip too.
	dead, _ := newSecretLike(t)
	if n := rt.during(func() { _, _, err = s.Check(ctx, tid, dead, "", lim) }); n != 1 || !errors.Is(err, auth.ErrNoSession) {
		t.Errorf("Check of a dead session: %d round trips (%v), want 1 and ErrNoSession", n, err)
	}
}

func TestSurvivesRestart(t *testing.T) {
	t.Parallel()
	ctx := platformtest.Context(t)
	c1, _ := newClient(t)
	admin, _ := newClient(t)
	tid := newTenant(t, admin)
	secret, info := mustCreate(t, session.New(c1, session.Options{}), tid, userData(3, "bo"), policy)
	if err := c1.Close(); err != nil {
		t.Fatal(err)
	}
	// A new process: a new client and store on the same Redis.
	c2, _ := newClient(t)
	s2 := session.New(c2, session.Options{})
	got := mustCheck(t, s2, tid, secret, "")
	if got.ID != info.ID || got.UserID != 3 {
		t.Fatalf("after restart: %+v", got)
	}
	l, err := s2.List(ctx, tid, 0)
	if err != nil || len(l) != 1 {
		t.Fatalf("list after restart: %v %v", ids(l), err)
	}
}

func TestListAndRevoke(t *testing.T) {
	t.Parallel()
	ctx := platformtest.Context(t)
	c, _ := newClient(t)
	tid := newTenant(t, c)
	clk := newClock()
	s := session.New(c, session.Options{Now: clk.Now})

	// Two users, two clients each; created a minute apart, so the last
	// created is the most recently active.
	var secrets []string
	var infos []auth.SessionInfo
	for i, uid := range []int64{1, 1, 2, 2} {
		sec, info := mustCreate(t, s, tid, userData(uid, []string{"ana", "ana", "bo", "bo"}[i]), policy)
		secrets, infos = append(secrets, sec), append(infos, info)
		clk.Add(2 * time.Minute)
	}
	// Ana's first client comes back: now the most recent.
	mustCheck(t, s, tid, secrets[0], "")
	all, err := s.List(ctx, tid, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{infos[0].ID, infos[3].ID, infos[2].ID, infos[1].ID}
	if !slices.Equal(ids(all), want) {
		t.Fatalf("list = %v, want %v (last seen desc)", ids(all), want)
	}
	for _, x := range all {
		if x.Current {
			t.Fatal("List marks Current: the caller does")
		}
	}
	ana, err := s.List(ctx, tid, 1)
	if err != nil || !slices.Equal(ids(ana), []string{infos[0].ID, infos[1].ID}) {
		t.Fatalf("list ana = %v %v", ids(ana), err)
	}

	// Revoke one: effective on the next Check.
	if err := s.Revoke(ctx, tid, infos[1].ID); err != nil {
		t.Fatal(err)
	}
	_, _, err = s.Check(ctx, tid, secrets[1], "", nil)
	wantNoSession(t, err, "check revoked")
	wantNoSession(t, s.Revoke(ctx, tid, infos[1].ID), "revoke twice")
	wantNoSession(t, s.Revoke(ctx, tid, "not-a-handle"), "revoke junk")
	if c.SIsMember(ctx, "t:"+tid+":user:1:sess", infos[1].ID).Val() {
		t.Fatal("revoked session still in its user's set")
	}

	// RevokeUser with an exception (password change keeps the current one).
	sec5, info5 := mustCreate(t, s, tid, userData(2, "bo"), policy)
	n, err := s.RevokeUser(ctx, tid, 2, info5.ID)
	if err != nil || n != 2 {
		t.Fatalf("revoke user: %d, %v; want 2", n, err)
	}
	mustCheck(t, s, tid, sec5, "")
	for _, sec := range secrets[2:] {
		_, _, err := s.Check(ctx, tid, sec, "", nil)
		wantNoSession(t, err, "check after RevokeUser")
	}
	if l, _ := s.List(ctx, tid, 2); !slices.Equal(ids(l), []string{info5.ID}) {
		t.Fatalf("bo's sessions = %v", ids(l))
	}

	// RevokeTenant ends the rest and empties the indexes.
	n, err = s.RevokeTenant(ctx, tid)
	if err != nil || n != 2 {
		t.Fatalf("revoke tenant: %d, %v; want 2", n, err)
	}
	for _, sec := range []string{secrets[0], sec5} {
		_, _, err := s.Check(ctx, tid, sec, "", nil)
		wantNoSession(t, err, "check after RevokeTenant")
	}
	if l, err := s.List(ctx, tid, 0); err != nil || len(l) != 0 {
		t.Fatalf("list after RevokeTenant: %v %v", ids(l), err)
	}
	if keys := tenantKeys(t, c, tid); len(keys) != 0 {
		t.Fatalf("keys left after RevokeTenant: %v", keys)
	}
}

func TestListCleansStaleEntries(t *testing.T) {
	t.Parallel()
	ctx := platformtest.Context(t)
	c, _ := newClient(t)
	tid := newTenant(t, c)
	clk := newClock()
	s := session.New(c, session.Options{Now: clk.Now})
	_, gone := mustCreate(t, s, tid, userData(1, "ana"), policy)
	_, idle := mustCreate(t, s, tid, userData(1, "ana"), auth.Policy{Lifetime: time.Hour, Idle: time.Minute})
	_, live := mustCreate(t, s, tid, userData(1, "ana"), policy)
	// One hash vanished (as if Redis expired it), one is idle by the
	// store's clock but its key lingers.
	if err := c.Del(ctx, "t:"+tid+":sess:"+gone.ID).Err(); err != nil {
		t.Fatal(err)
	}
	clk.Add(2 * time.Minute)
	for _, uid := range []int64{0, 1} {
		l, err := s.List(ctx, tid, uid)
		if err != nil || !slices.Equal(ids(l), []string{live.ID}) {
			t.Fatalf("list(%d) = %v %v, want only %s", uid, ids(l), err, live.ID)
		}
	}
	if got := c.SMembers(ctx, "t:"+tid+":user:1:sess").Val(); !slices.Equal(got, []string{live.ID}) {
		t.Fatalf("user set %v", got)
	}
	if got := c.ZRange(ctx, "t:"+tid+":sess", 0, -1).Val(); !slices.Equal(got, []string{live.ID}) {
		t.Fatalf("tenant index %v", got)
	}
	if c.Exists(ctx, "t:"+tid+":sess:"+idle.ID).Val() != 0 {
		t.Fatal("the idle session's hash lingers after List")
	}
}

func TestUpdateUser(t *testing.T) {
	t.Parallel()
	ctx := platformtest.Context(t)
	c, _ := newClient(t)
	tid := newTenant(t, c)
	clk := newClock()
	s := session.New(c, session.Options{Now: clk.Now})
	d := userData(1, "ana")
	d.MustChangePassword = true
	sec1, i1 := mustCreate(t, s, tid, d, policy)
	sec2, _ := mustCreate(t, s, tid, d, policy)
	secOther, _ := mustCreate(t, s, tid, userData(2, "bo"), policy)
	key := "t:" + tid + ":sess:" + i1.ID

	clk.Add(10 * time.Minute)
	ttlBefore := c.PTTL(ctx, key).Val()
	err := s.UpdateUser(ctx, tid, 1, func(d *auth.SessionData) {
		d.Username = "ana.maria"
		d.Roles = []string{"manager"}
		d.Permissions = append(d.Permissions, auth.PermUsersRead)
		d.MustChangePassword = false
		d.ExpiresAt = d.ExpiresAt.Add(24 * time.Hour) // ignored: no longer lifetimes
		d.UserID = 99                                 // ignored
	})
	if err != nil {
		t.Fatal(err)
	}
	// UpdateUser extended nothing.
	if ttl := c.PTTL(ctx, key).Val(); ttl > ttlBefore {
		t.Fatalf("PTTL %v > %v before UpdateUser", ttl, ttlBefore)
	}
	for _, sec := range []string{sec1, sec2} {
		got := mustCheck(t, s, tid, sec, "")
		if got.Username != "ana.maria" || !slices.Equal(got.Roles, []string{"manager"}) ||
			!slices.Equal(got.Permissions, []string{auth.PermDataRead, auth.PermUsersRead}) || got.MustChangePassword ||
			got.UserID != 1 || !got.ExpiresAt.Equal(i1.ExpiresAt) {
			t.Fatalf("after update: %+v", got)
		}
	}
	if got := mustCheck(t, s, tid, secOther, ""); got.Username != "bo" || !slices.Equal(got.Roles, []string{"staff"}) {
		t.Fatalf("another user's session changed: %+v", got)
	}
	// A session that ended meanwhile is not brought back.
	if err := c.Del(ctx, key).Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateUser(ctx, tid, 1, func(d *auth.SessionData) { d.Username = "x" }); err != nil {
		t.Fatal(err)
	}
	if c.Exists(ctx, key).Val() != 0 {
		t.Fatal("UpdateUser recreated an ended session")
	}
}

// TestUpdateUserConcurrent: concurrent updates of one user's sessions
// lose none of each other's changes (compare-and-set per session).
func TestUpdateUserConcurrent(t *testing.T) {
	t.Parallel()
	ctx := platformtest.Context(t)
	c, _ := newClient(t)
	tid := newTenant(t, c)
	s := session.New(c, session.Options{})
	secret, _ := mustCreate(t, s, tid, userData(1, "ana"), policy)
	mustCreate(t, s, tid, userData(1, "ana"), policy)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for g := range 2 {
		wg.Go(func() {
			for i := range 10 {
				role := fmt.Sprintf("r%d-%d", g, i)
				errs <- s.UpdateUser(ctx, tid, 1, func(d *auth.SessionData) { d.Roles = append(d.Roles, role) })
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got := mustCheck(t, s, tid, secret, "")
	if len(got.Roles) != 21 {
		t.Fatalf("%d roles after 20 concurrent additions to 1, want 21: %v", len(got.Roles), got.Roles)
	}
}

func TestTenantIsolation(t *testing.T) {
	t.Parallel()
	ctx := platformtest.Context(t)
	c, _ := newClient(t)
	a, b := newTenant(t, c), newTenant(t, c)
	s := session.New(c, session.Options{})
	secA, infoA := mustCreate(t, s, a, userData(1, "ana"), policy)
	secB, infoB := mustCreate(t, s, b, userData(1, "ana"), policy)

	// A's secret and handle mean nothing at B.
	_, _, err := s.Check(ctx, b, secA, "", nil)
	wantNoSession(t, err, "A's secret at B")
	_, err = s.Get(ctx, b, infoA.ID)
	wantNoSession(t, err, "A's handle at B")
	wantNoSession(t, s.Revoke(ctx, b, infoA.ID), "revoke A's handle at B")
	if l, _ := s.List(ctx, b, 0); !slices.Equal(ids(l), []string{infoB.ID}) {
		t.Fatalf("B lists %v", ids(l))
	}

	// One tenant's limit never touches the other's.
	lim := auth.Limit{Key: "login:ip:192.0.2.1", Rate: 2, Period: time.Minute}
	for range 2 {
		if v, err := s.Allow(ctx, a, lim); err != nil || !v.Allowed {
			t.Fatalf("A allow: %+v %v", v, err)
		}
	}
	if v, _ := s.Allow(ctx, a, lim); v.Allowed {
		t.Fatal("A's third request allowed")
	}
	if v, err := s.Allow(ctx, b, lim); err != nil || !v.Allowed || v.Remaining != 1 {
		t.Fatalf("B after A's limit: %+v %v", v, err)
	}
	if _, v, err := s.Check(ctx, b, secB, "", &lim); err != nil || !v.Allowed {
		t.Fatalf("B check after A's limit: %+v %v", v, err)
	}

	// RevokeTenant of B leaves A alone.
	if n, err := s.RevokeTenant(ctx, b); err != nil || n != 1 {
		t.Fatalf("revoke B: %d %v", n, err)
	}
	mustCheck(t, s, a, secA, "")

	// Every key either tenant made is under its own prefix.
	for _, tid := range []string{a, b} {
		for _, k := range tenantKeys(t, c, tid) {
			if !strings.HasPrefix(k, "t:"+tid+":") {
				t.Errorf("key %q outside t:%s:", k, tid)
			}
		}
	}
	// Tenant ids that could reach outside their prefix are refused.
	for _, bad := range []string{"", a + ":sess", "a*", "{x}"} {
		if _, _, err := s.Create(ctx, bad, userData(1, "ana"), policy); err == nil {
			t.Errorf("create for tenant %q accepted", bad)
		}
	}
}

func TestRedisDown(t *testing.T) {
	t.Parallel()
	ctx := platformtest.Context(t)
	c := redis.NewClient(&redis.Options{Addr: deadAddr(t), MaxRetries: -1, DialerRetries: 1, DialTimeout: time.Second})
	t.Cleanup(func() { c.Close() })
	s := session.New(c, session.Options{Timeout: 5 * time.Second})
	tid := "test-" + platformtest.Rand(16)
	secret, handle := newSecretLike(t)
	lim := auth.Limit{Key: "login:ip:192.0.2.1", Rate: 20, Period: time.Minute}

	sec, _, err := s.Create(ctx, tid, userData(1, "ana"), policy)
	wantUnavailable(t, err, "create")
	if sec != "" {
		t.Fatal("create returned a secret without a session")
	}
	// A real refusal, kept in the chain for the log; the caller's message
	// names neither the address nor the cause.
	if !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("cause lost: %v", err)
	}
	if msg := tenant.ErrorMessage(err); strings.Contains(msg, "127.0.0.1") || strings.Contains(msg, "refused") {
		t.Fatalf("caller's message leaks the cause: %q", msg)
	}
	_, _, err = s.Check(ctx, tid, secret, "", nil)
	wantUnavailable(t, err, "check")
	_, v, err := s.Check(ctx, tid, secret, "", &lim)
	wantUnavailable(t, err, "check with limit")
	if v.Allowed {
		t.Fatal("check allowed a request it could not count")
	}
	v, err = s.Allow(ctx, tid, lim)
	wantUnavailable(t, err, "allow")
	if v.Allowed {
		t.Fatal("allow without Redis")
	}
	_, err = s.List(ctx, tid, 0)
	wantUnavailable(t, err, "list")
	_, err = s.Get(ctx, tid, handle)
	wantUnavailable(t, err, "get")
	wantUnavailable(t, s.Revoke(ctx, tid, handle), "revoke")
	_, err = s.RevokeUser(ctx, tid, 1, "")
	wantUnavailable(t, err, "revoke user")
	_, err = s.RevokeTenant(ctx, tid)
	wantUnavailable(t, err, "revoke tenant")
	wantUnavailable(t, s.UpdateUser(ctx, tid, 1, func(*auth.SessionData) {}), "update user")
}

// TestRedisHung: a Redis that accepts connections and never answers ends
// in EUnavailable after Options.Timeout, not after the client's long
// ReadTimeout.
func TestRedisHung(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // read nothing, answer nothing
			mu.Unlock()
		}
	}()
	c := redis.NewClient(&redis.Options{Addr: l.Addr().String(), MaxRetries: -1,
		ReadTimeout: time.Hour, WriteTimeout: time.Hour, ContextTimeoutEnabled: true})
	t.Cleanup(func() { c.Close() })
	s := session.New(c, session.Options{Timeout: 200 * time.Millisecond})
	ctx, cancel := context.WithTimeout(platformtest.Context(t), time.Minute)
	defer cancel()
	secret, _ := newSecretLike(t)
	_, _, err = s.Check(ctx, "test-"+platformtest.Rand(16), secret, "", nil)
	wantUnavailable(t, err, "check against a hung Redis")
	if ctx.Err() != nil {
		t.Fatal("only the test's own deadline ended the call")
	}
}

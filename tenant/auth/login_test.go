package auth_test

import (
	"errors"
	"net"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/crypto/bcrypt"

	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/auth"
	"github.com/tenancy/platform/tenant/auth/session"
)

func TestLockoutAfterFiveFailuresAndUnlock(t *testing.T) {
	t.Parallel()
	f := newFixture(t, tenant.Restaurant)
	u, staff := f.user(t, "alice", "staff")
	// A session opened before the lock ends with it.
	before := f.login(t, "alice", strongPassword)

	for i := 1; i <= 4; i++ {
		_, err := f.svc.Login(f.ctx, f.env(nil), "alice", "wrong password "+itoa(int64(i)))
		wantCode(t, err, tenant.EInvalidCredentials, "failure "+itoa(int64(i)))
	}
	if n, locked, _, _ := f.dbUser(t, u.ID); n != 4 || locked {
		t.Fatalf("after 4 failures: failed_attempts %d, locked %v", n, locked)
	}
	_, err := f.svc.Login(f.ctx, f.env(nil), "alice", "wrong password 5")
	wantCode(t, err, tenant.EAccountLocked, "5th failure")
	n, locked, lockedAt, _ := f.dbUser(t, u.ID)
	if n != 5 || !locked || lockedAt == nil {
		t.Fatalf("after 5 failures: failed_attempts %d, locked %v at %v", n, locked, lockedAt)
	}
	_, err = f.svc.Login(f.ctx, f.env(nil), "alice", strongPassword)
	wantCode(t, err, tenant.EAccountLocked, "6th attempt with the right password")
	for _, s := range []string{before.Session.ID, staff.Session} {
		if _, err := f.store.Get(f.ctx, f.tn.ID, s); !errors.Is(err, auth.ErrNoSession) {
			t.Errorf("session %s after the lock: %v, want ended", s[:8], err)
		}
	}
	if f.auditCount(t, "account.locked", "success", u.ID) != 1 || f.auditCount(t, "login.failure", "failure", u.ID) < 6 {
		t.Errorf("audit: %d locks, %d failures", f.auditCount(t, "account.locked", "success", u.ID), f.auditCount(t, "login.failure", "failure", u.ID))
	}

	// Unlock: not by staff, by an admin; it resets the counter.
	_, other := f.user(t, "bob", "staff")
	_, err = f.svc.Unlock(f.ctx, f.env(other), u.ID)
	wantCode(t, err, tenant.EForbidden, "unlock by staff")
	got, err := f.svc.Unlock(f.ctx, f.env(f.admin), u.ID)
	if err != nil || got.Locked {
		t.Fatalf("unlock: %+v, %v", got, err)
	}
	if n, locked, lockedAt, _ := f.dbUser(t, u.ID); n != 0 || locked || lockedAt != nil {
		t.Fatalf("after unlock: failed_attempts %d, locked %v at %v", n, locked, lockedAt)
	}
	res := f.login(t, "ALICE", strongPassword)
	if res.User.LastLoginAt == nil || res.User.Locked {
		t.Errorf("login after unlock: %+v", res.User)
	}
	if f.auditCount(t, "account.unlocked", "success", u.ID) != 1 || f.auditCount(t, "account.unlocked", "denied", u.ID) != 1 {
		t.Error("unlock and the refused unlock not audited")
	}
}

// The failure counter is one atomic UPDATE: concurrent wrong passwords
// are all counted and exactly one of them locks.
func TestConcurrentFailuresLockOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t, tenant.Institution)
	u, _ := f.user(t, "carol", "teacher")
	const n = 12
	var wg sync.WaitGroup
	codes := make([]string, n)
	for i := range n {
		wg.Go(func() {
			_, err := f.svc.Login(f.ctx, f.env(nil), "carol", "not the password")
			codes[i] = tenant.ErrorCode(err)
		})
	}
	wg.Wait()
	// Attempts that read the row after the lock answer 423 uncounted.
	failed, locked, _, _ := f.dbUser(t, u.ID)
	if failed < 5 || failed > n || !locked {
		t.Fatalf("failed_attempts %d, locked %v; want 5 to %d, true", failed, locked, n)
	}
	if c := f.auditCount(t, "account.locked", "success", u.ID); c != 1 {
		t.Errorf("%d account.locked rows, want 1", c)
	}
	invalid := 0
	for _, c := range codes {
		switch c {
		case tenant.EInvalidCredentials:
			invalid++
		case tenant.EAccountLocked:
		default:
			t.Errorf("code %q", c)
		}
	}
	if invalid != 4 {
		t.Errorf("%d invalid_credentials answers, want 4 (the 5th failure and later are 423): %v", invalid, codes)
	}
}

func TestLoginRules(t *testing.T) {
	t.Parallel()
	f := newFixture(t, tenant.Restaurant)
	u, _ := f.user(t, "Dora.Diaz", "staff")

	res := f.login(t, "  dora.DIAZ ", strongPassword)
	if res.User.ID != u.ID || res.Secret == "" || res.Session.ID == "" || res.Session.UserID != u.ID {
		t.Fatalf("case-insensitive login: %+v", res)
	}
	if !slices.Equal(res.Session.Roles, []string{"staff"}) || !slices.Equal(res.Session.Permissions, []string{"data.read", "data.write"}) {
		t.Errorf("snapshot roles %v permissions %v", res.Session.Roles, res.Session.Permissions)
	}
	if res.Session.ExpiresAt.Sub(res.Session.CreatedAt) != 8*time.Hour {
		t.Errorf("session lifetime %v, want the default 8h", res.Session.ExpiresAt.Sub(res.Session.CreatedAt))
	}
	_, err := f.svc.Login(f.ctx, f.env(nil), "", "x")
	wantField(t, err, "username", "empty username")
	_, err = f.svc.Login(f.ctx, f.env(nil), "dora.diaz", "")
	wantField(t, err, "password", "empty password")

	for _, odd := range []string{"bad\xffutf8", strings.Repeat("long", 100)} {
		_, err := f.svc.Login(f.ctx, f.env(nil), odd, strongPassword)
		wantCode(t, err, tenant.EInvalidCredentials, "a name no user can have")
		wantCode(t, f.svc.RequestReset(f.ctx, f.env(nil), odd), "", "reset for a name no user can have")
	}
	_, unknownErr := f.svc.Login(f.ctx, f.env(nil), "nobody", strongPassword)
	_, wrongErr := f.svc.Login(f.ctx, f.env(nil), "dora.diaz", strongPassword+"x")
	wantCode(t, unknownErr, tenant.EInvalidCredentials, "unknown user")
	if unknownErr.Error() != wrongErr.Error() || tenant.ErrorCode(wrongErr) != tenant.EInvalidCredentials {
		t.Errorf("unknown user %q and wrong password %q answer differently", unknownErr, wrongErr)
	}

	// Inactive: the right password gets the same invalid_credentials.
	off := false
	if _, err := f.svc.UpdateUser(f.ctx, f.env(f.admin), u.ID, auth.UserPatch{Active: &off}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.Get(f.ctx, f.tn.ID, res.Session.ID); !errors.Is(err, auth.ErrNoSession) {
		t.Errorf("session after deactivation: %v, want ended", err)
	}
	_, err = f.svc.Login(f.ctx, f.env(nil), "dora.diaz", strongPassword)
	wantCode(t, err, tenant.EInvalidCredentials, "inactive user")
	if err.Error() != unknownErr.Error() {
		t.Errorf("inactive answers %q", err)
	}
}

func TestSessionPolicyFromTenantSettings(t *testing.T) {
	p := auth.PolicyFor(&tenant.Tenant{Settings: map[string]any{"session_lifetime": "2h", "session_idle": "5m"}})
	if p.Lifetime != 2*time.Hour || p.Idle != 5*time.Minute {
		t.Errorf("policy %+v", p)
	}
	p = auth.PolicyFor(&tenant.Tenant{Settings: map[string]any{"session_lifetime": "-1h", "session_idle": 7}})
	if p.Lifetime != 8*time.Hour || p.Idle != 30*time.Minute {
		t.Errorf("bad settings: policy %+v, want the defaults", p)
	}
}

// An unknown user costs a bcrypt comparison at the current cost, like a
// wrong password: their median times are within a factor of 2 (without
// the dummy hash, an unknown user costs two queries and no bcrypt: a
// ratio far below 0.5 at cost 8). The two are measured in turns, so that
// both see the same load.
func TestUnknownUserTakesAsLongAsAWrongPassword(t *testing.T) {
	t.Parallel()
	f := newFixture(t, tenant.Restaurant, withCost(8), withFailures(1000))
	f.user(t, "erin", "staff")
	unknownUser := "nobody-" + itoa(time.Now().UnixNano())
	var wrong, unknown []time.Duration
	timed := func(user string) time.Duration {
		start := time.Now()
		_, err := f.svc.Login(f.ctx, f.env(nil), user, "not the right password")
		d := time.Since(start)
		wantCode(t, err, tenant.EInvalidCredentials, user)
		return d
	}
	for range 9 {
		wrong = append(wrong, timed("erin"))
		unknown = append(unknown, timed(unknownUser))
	}
	median := func(ds []time.Duration) time.Duration {
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		return ds[len(ds)/2]
	}
	w, u := median(wrong), median(unknown)
	ratio := float64(u) / float64(w)
	t.Logf("median login: unknown user %v, wrong password %v, ratio %.2f", u, w, ratio)
	if ratio < 0.5 || ratio > 2 {
		t.Errorf("unknown user %v vs wrong password %v: ratio %.2f outside 0.5-2", u, w, ratio)
	}
}

// Hashes of the replaced systems ($2y$ from PHP, $2a$ at other costs)
// verify as they are and are rewritten at the current cost on login.
func TestLegacyHashesVerifyAndAreRehashed(t *testing.T) {
	t.Parallel()
	f := newFixture(t, tenant.Institution)
	a, err := bcrypt.GenerateFromPassword([]byte("legacy pass 1"), 5)
	if err != nil {
		t.Fatal(err)
	}
	same, err := bcrypt.GenerateFromPassword([]byte("legacy pass 3"), 4)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		user, pw, hash string
		rehash         bool
	}{
		{"php", "legacy pass 2", "$2y$" + string(a)[4:], true}, // set below: hash of pass 2
		{"cost5", "legacy pass 1", string(a), true},
		{"current", "legacy pass 3", string(same), false},
	}
	b, err := bcrypt.GenerateFromPassword([]byte("legacy pass 2"), 4)
	if err != nil {
		t.Fatal(err)
	}
	cases[0].hash = "$2y$" + string(b)[4:]
	for _, c := range cases {
		var id int64
		if err := f.tn.App.QueryRow(f.ctx, `INSERT INTO users (username, password_hash) VALUES ($1, $2) RETURNING id`, c.user, c.hash).Scan(&id); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Login(f.ctx, f.env(nil), c.user, c.pw+"!"); tenant.ErrorCode(err) != tenant.EInvalidCredentials {
			t.Errorf("%s: wrong password: %v", c.user, err)
		}
		f.login(t, c.user, c.pw)
		_, _, _, got := f.dbUser(t, id)
		cost, err := bcrypt.Cost([]byte(got))
		switch {
		case err != nil:
			t.Errorf("%s: stored hash unreadable: %v", c.user, err)
		case c.rehash && (got == c.hash || !strings.HasPrefix(got, "$2a$") || cost != 4):
			t.Errorf("%s: hash %s… cost %d after login, want a $2a$ rehash at cost 4", c.user, got[:7], cost)
		case !c.rehash && got != c.hash:
			t.Errorf("%s: hash rewritten though already current", c.user)
		}
		f.login(t, strings.ToUpper(c.user), c.pw) // and the new hash verifies
	}
}

func TestServiceRefusesWeakCost(t *testing.T) {
	t.Parallel()
	m := newMailbox(t)
	for _, c := range []struct {
		cost int
		weak bool
		ok   bool
	}{{9, false, false}, {3, true, false}, {32, false, false}, {4, true, true}, {10, false, true}} {
		_, err := auth.NewService(auth.Config{BcryptCost: c.cost, AllowWeakCost: c.weak}, sessionsStub{}, m)
		if (err == nil) != c.ok {
			t.Errorf("cost %d (weak allowed %v): err %v, want ok=%v", c.cost, c.weak, err, c.ok)
		}
	}
}

// sessionsStub satisfies auth.Sessions for constructor tests only.
type sessionsStub struct{ auth.Sessions }

func TestChangePassword(t *testing.T) {
	t.Parallel()
	f := newFixture(t, tenant.Restaurant)
	u, p := f.user(t, "frank", "staff")
	other := f.login(t, "frank", strongPassword)

	err := f.svc.ChangePassword(f.ctx, f.env(p), "not it", "another good one: sunlit atlas 27")
	wantField(t, err, "current_password", "wrong current password")
	if n, _, _, _ := f.dbUser(t, u.ID); n != 1 {
		t.Errorf("a wrong current password counts: failed_attempts %d, want 1", n)
	}
	for _, weak := range []string{"short", "frank1234567", "password1234", strings.Repeat("x", 73), strongPassword} {
		err = f.svc.ChangePassword(f.ctx, f.env(p), strongPassword, weak)
		wantField(t, err, "new_password", "new password "+weak[:min(len(weak), 12)])
	}
	const next = "sunlit atlas 27 quietly Hums"
	if err := f.svc.ChangePassword(f.ctx, f.env(p), strongPassword, next); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.Get(f.ctx, f.tn.ID, other.Session.ID); !errors.Is(err, auth.ErrNoSession) {
		t.Errorf("other session after the change: %v, want ended", err)
	}
	if cur, err := f.store.Get(f.ctx, f.tn.ID, p.Session); err != nil || cur.MustChangePassword {
		t.Errorf("current session after the change: %+v, %v", cur, err)
	}
	_, err = f.svc.Login(f.ctx, f.env(nil), "frank", strongPassword)
	wantCode(t, err, tenant.EInvalidCredentials, "old password")
	f.login(t, "frank", next)
	if n, _, _, _ := f.dbUser(t, u.ID); n != 0 {
		t.Errorf("failed_attempts %d after a login", n)
	}
	if f.auditCount(t, "password.changed", "success", u.ID) != 1 {
		t.Error("password change not audited")
	}
}

// A user who must change the password can do nothing else in the service.
func TestMustChangePasswordBlocksOtherCalls(t *testing.T) {
	t.Parallel()
	f := newFixture(t, tenant.Institution)
	u, err := f.svc.CreateUser(f.ctx, f.env(f.admin), auth.NewUser{Username: "gina", Password: strongPassword,
		Roles: []string{"admin"}, MustChangePassword: true})
	if err != nil {
		t.Fatal(err)
	}
	p := f.principal(t, f.login(t, "gina", strongPassword))
	if !p.MustChangePassword {
		t.Fatal("snapshot lacks must_change_password")
	}
	_, err = f.svc.ListUsers(f.ctx, f.env(p), auth.UserFilter{})
	wantCode(t, err, tenant.EPasswordChangeRequired, "list users before the change")
	if me, err := f.svc.Me(f.ctx, f.env(p)); err != nil || me.ID != u.ID || !me.MustChangePassword {
		t.Fatalf("me: %+v, %v", me, err)
	}
	if err := f.svc.ChangePassword(f.ctx, f.env(p), strongPassword, "marble Canyon 1984 drifts"); err != nil {
		t.Fatal(err)
	}
	p.MustChangePassword = false // the next request reads the rewritten snapshot
	if cur, err := f.store.Get(f.ctx, f.tn.ID, p.Session); err != nil || cur.MustChangePassword {
		t.Fatalf("snapshot after the change: %+v, %v", cur, err)
	}
	if _, err := f.svc.ListUsers(f.ctx, f.env(p), auth.UserFilter{}); err != nil {
		t.Errorf("list users after the change: %v", err)
	}
	if err := f.svc.Logout(f.ctx, f.env(p)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.Get(f.ctx, f.tn.ID, p.Session); !errors.Is(err, auth.ErrNoSession) {
		t.Errorf("session after logout: %v", err)
	}
}

// With Redis down there is no login (no session to log in to): 503
// unavailable, never a login without a session.
func TestLoginWithoutRedisIsUnavailable(t *testing.T) {
	t.Parallel()
	f := newFixture(t, tenant.Restaurant)
	f.user(t, "sam", "staff")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: dead, MaxRetries: -1})
	t.Cleanup(func() { rdb.Close() })
	svc, err := auth.NewService(auth.Config{BcryptCost: 4, AllowWeakCost: true}, session.New(rdb, session.Options{}), f.mail)
	if err != nil {
		t.Fatal(err)
	}
	res, err := svc.Login(f.ctx, f.env(nil), "sam", strongPassword)
	wantCode(t, err, tenant.EUnavailable, "login with Redis down")
	if res.Secret != "" {
		t.Error("a secret without a session")
	}
}

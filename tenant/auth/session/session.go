// Package session keeps tenant sessions and rate limits in Redis: it
// implements auth.Sessions (tenant/auth/types.go holds the contract).
//
// Keys of a tenant (DESIGN.md: every key starts with t:<tenant-id>:):
//
//	t:<tid>:sess:<handle>    hash: data (SessionData JSON, the user
//	                         snapshot), uid, exp (absolute end, Unix ms),
//	                         idle (ms), seen (last activity, Unix ms), ip
//	t:<tid>:user:<uid>:sess  set of the user's handles
//	t:<tid>:sess             zset handle → absolute end (List, RevokeTenant)
//	t:<tid>:rl:<key>         rate-limit state, shared with redis_rate
//
// The handle is the hex SHA-256 of the secret id; the secret itself is
// never stored. A session hash lives in Redis for min(idle, time to its
// absolute end), extended when activity is recorded, so Redis drops dead
// sessions by itself; the index entries of dropped sessions are cleaned
// lazily by List and the revocations. Activity is recorded at most once per
// TouchEvery, so a session may end up to TouchEvery before a strict idle
// timeout would end it.
//
// Requires Redis ≥ 7 (PEXPIRE NX/GT) on one node: a session's keys and its
// rate-limit key meet in one script, which Redis Cluster would only allow
// within one hash slot.
package session

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"

	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/auth"
)

// Defaults of Options and of a zero Policy (the 8 h / 30 min).
const (
	DefaultTouchEvery = time.Minute
	defaultLifetime   = 8 * time.Hour
	defaultIdle       = 30 * time.Minute
)

// Options tune a Store; zero values take the defaults.
type Options struct {
	Now        func() time.Time // default time.Now
	TouchEvery time.Duration    // last activity is written at most this often; default 1 min
	// Timeout bounds each call when > 0 (the context may bound it
	// sooner). go-redis lets a context end a network read only when the
	// client has ContextTimeoutEnabled; otherwise its ReadTimeout rules.
	Timeout time.Duration
	// Refused, when set, is told of each request a limit refuses, by the
	// limit's name: its key up to the first ':' ("auth" for login and
	// reset, "api" for authenticated requests), never the rest (the
	// client's address). For metrics: it must be cheap.
	Refused func(limit string)
}

// Store is auth.Sessions over Redis; it is safe for concurrent use and
// keeps no state of its own, so any number of Stores (replicas) may share
// one Redis.
type Store struct {
	rdb     redis.UniversalClient
	limiter *redis_rate.Limiter
	opts    Options
	datas   dataCache
}

// dataCache keeps decoded session data by the stored JSON itself:
// decoding it on every Check was a twentieth of an authenticated request's
// CPU. The same bytes always decode the same, and data that changes (a
// user's roles updated) is other bytes, so an entry is never stale; the
// map is bounded. Its slices are shared: callers never modify them.
type dataCache struct {
	mu sync.Mutex
	m  map[string]auth.SessionData
}

const dataCacheMax = 10000

func (c *dataCache) decode(raw string) (auth.SessionData, error) {
	c.mu.Lock()
	d, ok := c.m[raw]
	c.mu.Unlock()
	if ok {
		return d, nil
	}
	if err := json.Unmarshal([]byte(raw), &d); err != nil {
		return auth.SessionData{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= dataCacheMax {
		c.m = make(map[string]auth.SessionData)
	}
	c.m[raw] = d
	return d, nil
}

var _ auth.Sessions = (*Store)(nil)

// New returns a Store over rdb.
func New(rdb redis.UniversalClient, opts Options) *Store {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.TouchEvery <= 0 {
		opts.TouchEvery = DefaultTouchEvery
	}
	return &Store{rdb: rdb, limiter: redis_rate.NewLimiter(rateKeys{rdb}), opts: opts}
}

// Handle is the public handle of a secret session id: its hex SHA-256.
func Handle(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// secretLen is the length of a secret id: 32 bytes in base64url without
// padding.
var secretLen = base64.RawURLEncoding.EncodedLen(32)

func newSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("session: random id: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// wellFormedSecret rejects what Create cannot have made before asking
// Redis.
func wellFormedSecret(s string) bool {
	if len(s) != secretLen {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil
}

func validHandle(h string) bool {
	if len(h) != 2*sha256.Size {
		return false
	}
	for _, c := range []byte(h) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// checkTenant refuses a tenant id that could reach outside its prefix
// (t:a:sess:… must not be readable as tenant "a:sess").
func checkTenant(tid string) error {
	if tid == "" || len(tid) > 100 || strings.ContainsAny(tid, ":{}*?[] \t\r\n") {
		return fmt.Errorf("session: invalid tenant id %q", tid)
	}
	return nil
}

func sessKey(tid, handle string) string { return "t:" + tid + ":sess:" + handle }
func indexKey(tid string) string        { return "t:" + tid + ":sess" }
func userKey(tid string, uid int64) string {
	return "t:" + tid + ":user:" + strconv.FormatInt(uid, 10) + ":sess"
}
func limitKey(tid, key string) string { return "t:" + tid + ":rl:" + key }

// unavailable turns a Redis failure into the caller-safe EUnavailable
// error; the cause stays in the chain (and its text) for the log.
func unavailable(err error) error {
	return fmt.Errorf("session store: %w: %w",
		tenant.Errorf(tenant.EUnavailable, "sessions are unavailable, try again shortly"), err)
}

func (s *Store) ctx(ctx context.Context) (context.Context, context.CancelFunc) {
	if s.opts.Timeout > 0 {
		return context.WithTimeout(ctx, s.opts.Timeout)
	}
	return ctx, func() {}
}

// now is the store's clock at millisecond precision (what Redis keeps).
func (s *Store) now() time.Time { return time.UnixMilli(s.opts.Now().UnixMilli()).UTC() }

func msTime(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// Create stores a new session and returns its secret id and its listing
// (Current is true: it is the caller's session).
func (s *Store) Create(ctx context.Context, tid string, d auth.SessionData, p auth.Policy) (string, auth.SessionInfo, error) {
	if err := checkTenant(tid); err != nil {
		return "", auth.SessionInfo{}, err
	}
	if d.UserID == 0 {
		return "", auth.SessionInfo{}, errors.New("session: Create without a user id")
	}
	if p.Lifetime <= 0 {
		p.Lifetime = defaultLifetime
	}
	if p.Idle <= 0 {
		p.Idle = defaultIdle
	}
	secret, err := newSecret()
	if err != nil {
		return "", auth.SessionInfo{}, err
	}
	h := Handle(secret)
	now := s.now()
	d.CreatedAt, d.LastSeenAt = now, now
	d.ExpiresAt, d.Idle = now.Add(p.Lifetime), p.Idle
	data, err := json.Marshal(d)
	if err != nil {
		return "", auth.SessionInfo{}, fmt.Errorf("session: encode: %w", err)
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	sk, uk, ik := sessKey(tid, h), userKey(tid, d.UserID), indexKey(tid)
	// One MULTI: a revocation sees the session with its index entries or
	// not at all. The indexes live as long as their longest session (NX
	// sets a first TTL, GT only ever extends it).
	_, err = s.rdb.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.HSet(ctx, sk, "data", data, "uid", d.UserID, "exp", d.ExpiresAt.UnixMilli(),
			"idle", p.Idle.Milliseconds(), "seen", now.UnixMilli(), "ip", d.IP)
		pipe.PExpire(ctx, sk, min(p.Idle, p.Lifetime))
		pipe.SAdd(ctx, uk, h)
		pipe.ZAdd(ctx, ik, redis.Z{Score: float64(d.ExpiresAt.UnixMilli()), Member: h})
		pipe.ZRemRangeByScore(ctx, ik, "-inf", strconv.FormatInt(now.UnixMilli(), 10))
		for _, k := range []string{uk, ik} {
			pipe.Do(ctx, "PEXPIRE", k, p.Lifetime.Milliseconds(), "NX")
			pipe.Do(ctx, "PEXPIRE", k, p.Lifetime.Milliseconds(), "GT")
		}
		return nil
	})
	if err != nil {
		return "", auth.SessionInfo{}, unavailable(err)
	}
	return secret, auth.SessionInfo{ID: h, Current: true, SessionData: d}, nil
}

// Check validates a secret id in one round trip (see checkScript): it
// returns the session (Current true) and, when lim is not nil, the verdict
// on this request. A refused request is not an error: the caller answers
// 429 from the verdict. An unknown, idle or expired session is
// ErrNoSession, with the verdict still filled in.
func (s *Store) Check(ctx context.Context, tid, secret, ip string, lim *auth.Limit) (auth.SessionInfo, auth.Verdict, error) {
	if err := checkTenant(tid); err != nil {
		return auth.SessionInfo{}, auth.Verdict{}, err
	}
	if lim != nil {
		if err := checkLimit(*lim); err != nil {
			return auth.SessionInfo{}, auth.Verdict{}, err
		}
	}
	if !wellFormedSecret(secret) {
		// Nothing to look up, but the request still counts.
		v := auth.Verdict{Allowed: true}
		if lim != nil {
			var err error
			if v, err = s.Allow(ctx, tid, *lim); err != nil {
				return auth.SessionInfo{}, v, err
			}
		}
		return auth.SessionInfo{}, v, auth.ErrNoSession
	}
	h := Handle(secret)
	keys := []string{sessKey(tid, h)}
	args := []any{s.now().UnixMilli(), s.opts.TouchEvery.Milliseconds(), ip}
	if lim != nil {
		keys = append(keys, limitKey(tid, lim.Key))
		args = append(args, lim.Rate, lim.Period.Seconds())
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	r, err := checkScript.Run(ctx, s.rdb, keys, args...).Slice()
	if err != nil {
		return auth.SessionInfo{}, auth.Verdict{}, unavailable(err)
	}
	if len(r) < 4 {
		return auth.SessionInfo{}, auth.Verdict{}, fmt.Errorf("session: check: reply of %d values", len(r))
	}
	v := auth.Verdict{Allowed: true}
	if lim != nil {
		if v, err = verdict(r[1], r[2], r[3]); err != nil {
			return auth.SessionInfo{}, auth.Verdict{}, err
		}
		if !v.Allowed {
			s.refused(lim.Key)
		}
	}
	if found, _ := r[0].(int64); found != 1 {
		return auth.SessionInfo{}, v, auth.ErrNoSession
	}
	info, err := s.decode(h, r[4:])
	if err != nil {
		return auth.SessionInfo{}, v, err
	}
	info.Current = true
	return info, v, nil
}

// fields are the hash fields decode reads, in its order.
var fields = []string{"data", "exp", "idle", "seen", "ip"}

// decode builds a session from the values of fields; the separate fields
// win over the copies inside data (they are what Check updates).
func (s *Store) decode(h string, vals []any) (auth.SessionInfo, error) {
	if len(vals) != len(fields) {
		return auth.SessionInfo{}, fmt.Errorf("session: %d values for a session", len(vals))
	}
	str := func(v any) string { // HMGET gives strings, the script integers
		switch x := v.(type) {
		case string:
			return x
		case int64:
			return strconv.FormatInt(x, 10)
		}
		return ""
	}
	var info auth.SessionInfo
	info.ID = h
	var err error
	if info.SessionData, err = s.datas.decode(str(vals[0])); err != nil {
		return auth.SessionInfo{}, fmt.Errorf("session: decode: %w", err)
	}
	var n [3]int64
	for i := range n {
		var err error
		if n[i], err = strconv.ParseInt(str(vals[1+i]), 10, 64); err != nil {
			return auth.SessionInfo{}, fmt.Errorf("session: decode %s: %w", fields[1+i], err)
		}
	}
	info.ExpiresAt = msTime(n[0])
	info.Idle = time.Duration(n[1]) * time.Millisecond
	info.LastSeenAt = msTime(n[2])
	info.IP = str(vals[4])
	return info, nil
}

// alive reports whether a session is within its idle and absolute ends at
// now (a key may linger in Redis past them, and the store's clock may not
// be Redis's).
func alive(info auth.SessionInfo, now time.Time) bool {
	return now.Before(info.ExpiresAt) && now.Sub(info.LastSeenAt) < info.Idle
}

// read returns the live sessions among handles, and the handles whose
// session is gone or dead (to clean up).
func (s *Store) read(ctx context.Context, tid string, handles []string) (live []auth.SessionInfo, dead []string, err error) {
	if len(handles) == 0 {
		return nil, nil, nil
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.SliceCmd, len(handles))
	for i, h := range handles {
		cmds[i] = pipe.HMGet(ctx, sessKey(tid, h), fields...)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, nil, unavailable(err)
	}
	now := s.now()
	for i, h := range handles {
		vals := cmds[i].Val()
		if vals[0] == nil {
			dead = append(dead, h)
			continue
		}
		info, err := s.decode(h, vals)
		if err != nil {
			return nil, nil, err
		}
		if !alive(info, now) {
			dead = append(dead, h)
			continue
		}
		live = append(live, info)
	}
	return live, dead, nil
}

// List returns the live sessions of the tenant (userID 0) or of one user,
// most recently active first.
func (s *Store) List(ctx context.Context, tid string, userID int64) ([]auth.SessionInfo, error) {
	if err := checkTenant(tid); err != nil {
		return nil, err
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	ik := indexKey(tid)
	var handles []string
	var err error
	if userID == 0 {
		handles, err = s.rdb.ZRange(ctx, ik, 0, -1).Result()
	} else {
		handles, err = s.rdb.SMembers(ctx, userKey(tid, userID)).Result()
	}
	if err != nil {
		return nil, unavailable(err)
	}
	live, dead, err := s.read(ctx, tid, handles)
	if err != nil {
		return nil, err
	}
	if len(dead) > 0 {
		// Lazy cleanup: a dead session's hash (if it lingers) and its
		// index entries. The user set of a session found only through the
		// tenant index is unknown here; it expires with its sessions.
		if _, err := s.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
			for _, h := range dead {
				pipe.Del(ctx, sessKey(tid, h))
				pipe.ZRem(ctx, ik, h)
				if userID != 0 {
					pipe.SRem(ctx, userKey(tid, userID), h)
				}
			}
			return nil
		}); err != nil {
			return nil, unavailable(err)
		}
	}
	slices.SortFunc(live, func(a, b auth.SessionInfo) int {
		if c := b.LastSeenAt.Compare(a.LastSeenAt); c != 0 {
			return c
		}
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return live, nil
}

// Get returns one live session by its public handle (Current false: the
// caller knows its own handle).
func (s *Store) Get(ctx context.Context, tid, handle string) (auth.SessionInfo, error) {
	if err := checkTenant(tid); err != nil {
		return auth.SessionInfo{}, err
	}
	if !validHandle(handle) {
		return auth.SessionInfo{}, auth.ErrNoSession
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	live, _, err := s.read(ctx, tid, []string{handle})
	if err != nil {
		return auth.SessionInfo{}, err
	}
	if len(live) == 0 {
		return auth.SessionInfo{}, auth.ErrNoSession
	}
	return live[0], nil
}

// Revoke ends one session by its public handle.
func (s *Store) Revoke(ctx context.Context, tid, handle string) error {
	if err := checkTenant(tid); err != nil {
		return err
	}
	if !validHandle(handle) {
		return auth.ErrNoSession
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	uid, err := s.rdb.HGet(ctx, sessKey(tid, handle), "uid").Int64()
	if errors.Is(err, redis.Nil) {
		// Gone already (Redis expired it); its tenant index entry may
		// linger. Its user set entry expires with the set.
		if err := s.rdb.ZRem(ctx, indexKey(tid), handle).Err(); err != nil {
			return unavailable(err)
		}
		return auth.ErrNoSession
	}
	if err != nil {
		return unavailable(err)
	}
	n, err := s.remove(ctx, tid, map[string]int64{handle: uid})
	if err != nil {
		return err
	}
	if n == 0 {
		return auth.ErrNoSession // revoked or expired meanwhile
	}
	return nil
}

// remove deletes sessions (handle → user id) with their index entries in
// one round trip and says how many session hashes existed.
func (s *Store) remove(ctx context.Context, tid string, sessions map[string]int64) (int, error) {
	if len(sessions) == 0 {
		return 0, nil
	}
	dels := make([]*redis.IntCmd, 0, len(sessions))
	_, err := s.rdb.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		for h, uid := range sessions {
			dels = append(dels, pipe.Del(ctx, sessKey(tid, h)))
			pipe.ZRem(ctx, indexKey(tid), h)
			if uid != 0 {
				pipe.SRem(ctx, userKey(tid, uid), h)
			}
		}
		return nil
	})
	if err != nil {
		return 0, unavailable(err)
	}
	n := 0
	for _, d := range dels {
		n += int(d.Val())
	}
	return n, nil
}

// RevokeUser ends every session of a user but except ("" for none).
func (s *Store) RevokeUser(ctx context.Context, tid string, userID int64, except string) (int, error) {
	if err := checkTenant(tid); err != nil {
		return 0, err
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	handles, err := s.rdb.SMembers(ctx, userKey(tid, userID)).Result()
	if err != nil {
		return 0, unavailable(err)
	}
	end := make(map[string]int64, len(handles))
	for _, h := range handles {
		if h != except {
			end[h] = userID
		}
	}
	return s.remove(ctx, tid, end)
}

// RevokeTenant ends every session of a tenant. It removes exactly the
// entries it read (never the whole index), so a session created meanwhile
// stays listed and revocable.
func (s *Store) RevokeTenant(ctx context.Context, tid string) (int, error) {
	if err := checkTenant(tid); err != nil {
		return 0, err
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	handles, err := s.rdb.ZRange(ctx, indexKey(tid), 0, -1).Result()
	if err != nil {
		return 0, unavailable(err)
	}
	if len(handles) == 0 {
		return 0, nil
	}
	pipe := s.rdb.Pipeline()
	uids := make([]*redis.StringCmd, len(handles))
	for i, h := range handles {
		uids[i] = pipe.HGet(ctx, sessKey(tid, h), "uid")
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return 0, unavailable(err)
	}
	end := make(map[string]int64, len(handles))
	for i, h := range handles {
		uid, _ := uids[i].Int64() // 0 when the hash is gone: its index entry still goes
		end[h] = uid
	}
	return s.remove(ctx, tid, end)
}

// UpdateUser rewrites the user snapshot (username, roles, permissions,
// must_change_password) of each of a user's live sessions. Anything else f
// changes is ignored: lifetimes are not extended, activity not recorded.
func (s *Store) UpdateUser(ctx context.Context, tid string, userID int64, f func(*auth.SessionData)) error {
	if err := checkTenant(tid); err != nil {
		return err
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	handles, err := s.rdb.SMembers(ctx, userKey(tid, userID)).Result()
	if err != nil {
		return unavailable(err)
	}
	for _, h := range handles {
		if err := s.updateOne(ctx, sessKey(tid, h), f); err != nil {
			return err
		}
	}
	return nil
}

// updateOne is a compare-and-set loop on one session's snapshot.
func (s *Store) updateOne(ctx context.Context, key string, f func(*auth.SessionData)) error {
	for range 50 {
		old, err := s.rdb.HGet(ctx, key, "data").Result()
		if errors.Is(err, redis.Nil) {
			return nil // ended meanwhile
		}
		if err != nil {
			return unavailable(err)
		}
		var d auth.SessionData
		if err := json.Unmarshal([]byte(old), &d); err != nil {
			return fmt.Errorf("session: decode: %w", err)
		}
		c := d
		c.Roles, c.Permissions = slices.Clone(d.Roles), slices.Clone(d.Permissions)
		f(&c)
		d.Username, d.Roles, d.Permissions, d.MustChangePassword = c.Username, c.Roles, c.Permissions, c.MustChangePassword
		d.Language = c.Language
		data, err := json.Marshal(d)
		if err != nil {
			return fmt.Errorf("session: encode: %w", err)
		}
		n, err := casDataScript.Run(ctx, s.rdb, []string{key}, old, data).Int64()
		if err != nil {
			return unavailable(err)
		}
		if n != 0 {
			return nil // replaced, or the session ended meanwhile
		}
	}
	return errors.New("session: snapshot kept changing during UpdateUser")
}

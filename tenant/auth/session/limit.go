package session

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"

	"github.com/tenancy/platform/tenant/auth"
)

// Allow counts one request against lim with redis_rate (GCRA) under the
// tenant's prefix: t:<tid>:rl:<lim.Key>, the key Check counts on too.
func (s *Store) Allow(ctx context.Context, tid string, lim auth.Limit) (auth.Verdict, error) {
	if err := checkTenant(tid); err != nil {
		return auth.Verdict{}, err
	}
	if err := checkLimit(lim); err != nil {
		return auth.Verdict{}, err
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	r, err := s.limiter.Allow(ctx, limitKey(tid, lim.Key),
		redis_rate.Limit{Rate: lim.Rate, Burst: lim.Rate, Period: lim.Period})
	if err != nil {
		return auth.Verdict{}, unavailable(err)
	}
	if r.Allowed == 0 {
		s.refused(lim.Key)
		return auth.Verdict{RetryAfter: retryAfter(r.RetryAfter.Seconds())}, nil
	}
	return auth.Verdict{Allowed: true, Remaining: r.Remaining}, nil
}

// refused tells Options.Refused of a refusal by the limit named by key.
func (s *Store) refused(key string) {
	if s.opts.Refused != nil {
		name, _, _ := strings.Cut(key, ":")
		s.opts.Refused(name)
	}
}

func checkLimit(l auth.Limit) error {
	if l.Key == "" || l.Rate <= 0 || l.Period <= 0 {
		return fmt.Errorf("session: invalid limit %+v", l)
	}
	return nil
}

// retryAfter rounds a wait in seconds up to whole seconds, at least one
// (Retry-After is in whole seconds, and 0 would invite an immediate retry).
func retryAfter(sec float64) time.Duration {
	return time.Duration(max(1, math.Ceil(sec))) * time.Second
}

// verdict reads checkScript's allowed, remaining and retry_after.
func verdict(allowed, remaining, retry any) (auth.Verdict, error) {
	a, _ := allowed.(int64)
	if a == 1 {
		n, _ := remaining.(int64)
		return auth.Verdict{Allowed: true, Remaining: int(n)}, nil
	}
	str, _ := retry.(string)
	sec, err := strconv.ParseFloat(str, 64)
	if err != nil {
		return auth.Verdict{}, fmt.Errorf("session: retry after %q: %w", str, err)
	}
	return auth.Verdict{RetryAfter: retryAfter(sec)}, nil
}

// rateKeys gives redis_rate the client with its "rate:" key prefix
// removed, so its keys keep the tenant's prefix (DESIGN.md: every key of a
// tenant starts with t:<tid>:) and are the ones checkScript counts on.
// TestLimitKeys fails if a redis_rate version names keys otherwise.
type rateKeys struct{ c redis.UniversalClient }

const ratePrefix = "rate:" // redis_rate v10's

func unprefixed(keys []string) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = strings.TrimPrefix(k, ratePrefix)
	}
	return out
}

func (r rateKeys) Eval(ctx context.Context, script string, keys []string, args ...any) *redis.Cmd {
	return r.c.Eval(ctx, script, unprefixed(keys), args...)
}

func (r rateKeys) EvalSha(ctx context.Context, sha1 string, keys []string, args ...any) *redis.Cmd {
	return r.c.EvalSha(ctx, sha1, unprefixed(keys), args...)
}

func (r rateKeys) EvalRO(ctx context.Context, script string, keys []string, args ...any) *redis.Cmd {
	return r.c.EvalRO(ctx, script, unprefixed(keys), args...)
}

func (r rateKeys) EvalShaRO(ctx context.Context, sha1 string, keys []string, args ...any) *redis.Cmd {
	return r.c.EvalShaRO(ctx, sha1, unprefixed(keys), args...)
}

func (r rateKeys) ScriptExists(ctx context.Context, hashes ...string) *redis.BoolSliceCmd {
	return r.c.ScriptExists(ctx, hashes...)
}

func (r rateKeys) ScriptLoad(ctx context.Context, script string) *redis.StringCmd {
	return r.c.ScriptLoad(ctx, script)
}

func (r rateKeys) Del(ctx context.Context, keys ...string) *redis.IntCmd {
	return r.c.Del(ctx, unprefixed(keys)...)
}

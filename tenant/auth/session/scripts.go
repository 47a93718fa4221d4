package session

import "github.com/redis/go-redis/v9"

// gcra is the rate limit of redis_rate v10 (GCRA, cost 1, burst = rate)
// written again for checkScript, so that a limit counted by Check and one
// counted by Allow (redis_rate itself) are one budget: the same key, the
// same state (the theoretical arrival time as a float of seconds since
// 2017-01-01 by the Redis clock), the same expiry. It sets the locals
// allowed, remaining and retry_after. TestLimitSharedWithRedisRate
// alternates both and fails if they drift apart.
const gcra = `
local allowed, remaining, retry_after = 1, -1, "-1"
if #KEYS == 2 then
  local rate = tonumber(ARGV[4])
  local emission_interval = tonumber(ARGV[5]) / rate
  local burst_offset = emission_interval * rate
  local t = redis.call("TIME")
  local now = (t[1] - 1483228800) + (t[2] / 1000000)
  local tat = redis.call("GET", KEYS[2])
  if not tat then tat = now else tat = tonumber(tat) end
  tat = math.max(tat, now)
  local new_tat = tat + emission_interval
  local diff = now - (new_tat - burst_offset)
  if diff < 0 then
    allowed, remaining, retry_after = 0, 0, tostring(-diff)
  else
    remaining = math.floor(diff / emission_interval)
    local reset_after = new_tat - now
    if reset_after > 0 then
      redis.call("SET", KEYS[2], new_tat, "EX", math.ceil(reset_after))
    end
  end
end
`

// checkScript is Check in one round trip.
//
//	KEYS[1] the session hash, KEYS[2] the rate-limit key (only with a limit)
//	ARGV[1] now (Unix ms, the store's clock), ARGV[2] touch every (ms),
//	ARGV[3] the client IP, ARGV[4] rate, ARGV[5] period (s)
//
// The request counts against the limit whether or not its session is
// valid, so a flood of dead tokens is limited too. A refused request does
// not count as activity. A session past its idle or absolute end is
// deleted (its index entries go lazily, in List).
//
// Reply: {found, allowed, remaining, retry_after[, data, exp, idle, seen, ip]}.
var checkScript = redis.NewScript(gcra + `
local s = redis.call("HMGET", KEYS[1], "data", "exp", "idle", "seen", "ip")
if not s[1] then
  return {0, allowed, remaining, retry_after}
end
local now = tonumber(ARGV[1])
local exp, idle, seen = tonumber(s[2]), tonumber(s[3]), tonumber(s[4])
if now >= exp or now >= seen + idle then
  redis.call("DEL", KEYS[1])
  return {0, allowed, remaining, retry_after}
end
local ip = s[5]
if allowed == 1 and now - seen >= tonumber(ARGV[2]) then
  seen, ip = now, ARGV[3]
  redis.call("HSET", KEYS[1], "seen", seen, "ip", ip)
  redis.call("PEXPIRE", KEYS[1], math.min(idle, exp - now))
end
return {1, allowed, remaining, retry_after, s[1], exp, idle, seen, ip}
`)

// casDataScript replaces a session's user snapshot only if the session
// still exists and its snapshot is the one read: HSET on a key that
// expired meanwhile would bring it back without a TTL, and a concurrent
// update must not be lost. The TTL is untouched.
//
//	KEYS[1] the session hash; ARGV[1] the snapshot read, ARGV[2] the new one
//
// Reply: 1 replaced, 0 the snapshot changed meanwhile, -1 no session.
var casDataScript = redis.NewScript(`
local cur = redis.call("HGET", KEYS[1], "data")
if not cur then return -1 end
if cur ~= ARGV[1] then return 0 end
redis.call("HSET", KEYS[1], "data", ARGV[2])
return 1
`)

-- wrk script: spread requests evenly over N tenant hosts, setting the Host
-- header per request. Used by scripts/bench/router; on its own:
--
--   BENCH_HOST_PREFIX=bench BENCH_HOSTS=500 BENCH_HOST_WIDTH=4 \
--     wrk -t2 -c32 -d10s -s scripts/bench/hosts.lua http://127.0.0.1:18080/api/tenant/db
--
-- addresses bench-0001.localhost … bench-0500.localhost. Environment:
--   BENCH_HOST_PREFIX  slug prefix; hosts are <prefix>-<i>.<domain> (required)
--   BENCH_HOSTS        how many hosts, i = 1..N (required)
--   BENCH_HOST_WIDTH   zero-pad i to this many digits (default: digits of N)
--   BENCH_HOST_DOMAIN  base domain (default localhost)
-- Each thread walks all N hosts round robin, starting at its own offset
-- (thread k at k × 0.618 × N, so threads do not march in step). done()
-- prints the non-2xx responses by status and the socket errors.
-- (For one host, plain wrk -H 'Host: slug.localhost' is enough.)

local prefix = os.getenv("BENCH_HOST_PREFIX")
local n = tonumber(os.getenv("BENCH_HOSTS") or "")
if not prefix or not n or n < 1 then
  error("hosts.lua: set BENCH_HOST_PREFIX and BENCH_HOSTS")
end
local width = tonumber(os.getenv("BENCH_HOST_WIDTH") or "") or #tostring(n)
local domain = os.getenv("BENCH_HOST_DOMAIN") or "localhost"

-- Main state: number the threads and collect them for done().
local threads = {}
function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

-- Thread state: pre-build the N requests once.
local reqs, i = {}, 0
function init(args)
  for k = 1, n do
    local host = string.format("%s-%0" .. width .. "d.%s", prefix, k, domain)
    reqs[k] = wrk.format(nil, nil, { Host = host })
  end
  i = math.floor(((id or 0) * 0.6180339887 % 1) * n)
  statuses = {} -- global, so done() can read it with thread:get
end

function request()
  i = i % n + 1
  return reqs[i]
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    statuses[status] = (statuses[status] or 0) + 1
  end
end

function done(summary, latency, requests)
  local total, by = 0, {}
  for _, t in ipairs(threads) do
    for status, count in pairs(t:get("statuses") or {}) do
      by[status] = (by[status] or 0) + count
      total = total + count
    end
  end
  local parts = {}
  for status, count in pairs(by) do
    table.insert(parts, string.format("%s×%d", status, count))
  end
  table.sort(parts)
  local e = summary.errors
  io.write(string.format("hosts: %d (%s-%0" .. width .. "d … %s-%0" .. width .. "d.%s)\n",
    n, prefix, 1, prefix, n, domain))
  io.write(string.format("non-2xx responses: %d%s\n", total,
    #parts > 0 and " (" .. table.concat(parts, ", ") .. ")" or ""))
  io.write(string.format("socket errors: %d (connect %d, read %d, write %d, timeout %d)\n",
    e.connect + e.read + e.write + e.timeout, e.connect, e.read, e.write, e.timeout))
end

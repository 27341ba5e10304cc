"""The Lua scripts of the shared limits: each acquire is one atomic script, on the Redis server's clock.

Every script reads ``TIME`` itself (never a client's clock), so instances whose clocks differ
share one bucket and one window. Times are whole microseconds, which a Lua number (a double)
holds exactly; numbers go back to the client as text (Redis would cut a Lua number to an integer).
Every key gets an expiry: a bucket key lives until the bucket would be full again (a missing
bucket *is* a full one), a window until its last call has left it, an until-reset count
``idle_ms`` after its last call. A key holding garbage is read as missing (a full bucket, an
empty window, a count or sequence that is not a whole number, calls more than a window ahead);
a key of another type fails the script (an outage, decided locally).
"""

from __future__ import annotations

__all__ = ["BUCKET", "BUDGET_COUNT", "BUDGET_RESET", "BUDGET_WINDOW"]

_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
"""

BUCKET = (
    """
-- KEYS[1]: the bucket (hash: tokens, at). ARGV: rate per s, burst, cost, longest wait in s, 'take' or 'give'
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local allowed = tonumber(ARGV[4])
"""
    + _NOW
    + """
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
-- what no call of this policy leaves (more than full, or deeper in debt than a wait allows) is garbage
if tokens == nil or at == nil or tokens ~= tokens or tokens > burst or tokens < -(burst + allowed * rate) then
  tokens = burst
  at = now
end
if now > at then
  tokens = math.min(burst, tokens + (now - at) / 1000000 * rate)
end
at = now  -- a server clock that went back refills from its new time on
local granted = 1
local wait = 0
if ARGV[5] == 'give' then
  tokens = math.min(burst, tokens + cost)
else
  if tokens < cost then
    wait = (cost - tokens) / rate
  end
  if wait > allowed then
    granted = 0
  else
    tokens = tokens - cost
  end
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens), 'at', string.format('%.0f', at))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate * 1000) + 1000)
return {granted, string.format('%.17g', wait), string.format('%.17g', math.max(tokens, 0))}
"""
)

BUDGET_WINDOW = (
    """
-- KEYS[1]: the calls in the window (sorted set, one member per call, scored by its time);
-- KEYS[2]: the members' sequence. ARGV: max calls, window in microseconds, cost
local max_calls = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
"""
    + _NOW
    + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
-- a call more than a window ahead of the server's clock is garbage (no call of ours is): it would never leave
redis.call('ZREMRANGEBYSCORE', KEYS[1], '(' .. string.format('%.0f', now + window), '+inf')
local total = redis.call('ZCARD', KEYS[1])
if total + cost > max_calls then
  local needed = total + cost - max_calls
  local oldest = redis.call('ZRANGE', KEYS[1], needed - 1, needed - 1, 'WITHSCORES')
  local free_in = window / 1000000
  if oldest[2] ~= nil then
    free_in = math.max(0, (tonumber(oldest[2]) + window - now) / 1000000)
  end
  return {0, math.max(0, max_calls - total), string.format('%.17g', free_in)}
end
-- a sequence that is not a whole number is garbage: it starts again above any member it made (times in us)
local seq = redis.call('GET', KEYS[2])
if seq and not (string.match(seq, '^%d+$') and #seq <= 15) then
  redis.call('SET', KEYS[2], string.format('%.0f', now))
end
local last = redis.call('INCRBY', KEYS[2], cost)
for i = 1, cost do
  redis.call('ZADD', KEYS[1], now, tostring(last - cost + i))
end
local ttl = math.ceil(window / 1000) + 1000
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PEXPIRE', KEYS[2], ttl)
return {1, max_calls - total - cost, ''}
"""
)

BUDGET_COUNT = """
-- KEYS[1]: the calls spent until the next reset (a number). ARGV: max calls, cost, idle expiry in ms
local max_calls = tonumber(ARGV[1])
local cost = tonumber(ARGV[2])
local raw = redis.call('GET', KEYS[1])
local total = 0
-- only a whole number this script could have written counts; anything else (inf, 1e308, 0x10) is garbage
if raw and string.match(raw, '^%d+$') and #raw <= 15 then
  total = tonumber(raw)
end
if total + cost > max_calls then
  -- more spent than this policy allows: another instance's larger max_calls; nothing is left here
  return {0, math.max(0, max_calls - total), ''}
end
redis.call('SET', KEYS[1], tostring(total + cost), 'PX', tonumber(ARGV[3]))
return {1, max_calls - total - cost, ''}
"""

BUDGET_RESET = """
-- KEYS: every key of one budget
return redis.call('DEL', unpack(KEYS))
"""

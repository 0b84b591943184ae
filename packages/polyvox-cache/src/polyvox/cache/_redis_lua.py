"""The Lua scripts of :class:`~polyvox.cache.redis.RedisResponseCache`.

Each runs atomically on the server, so one cache operation is one round trip. Entries are
``<prefix><sha256>`` strings; the index ``<prefix>lru`` is a sorted set of entry keys scored
by last access in microseconds, from which ``max_size`` evicts the lowest.
"""

from __future__ import annotations

from typing import Final

__all__ = ["LOOKUP", "SCRIPTS", "SIZE", "UPDATE"]

LOOKUP: Final = """
local value = redis.call('GET', KEYS[1])
if value then redis.call('ZADD', KEYS[2], ARGV[1], KEYS[1])
else redis.call('ZREM', KEYS[2], KEYS[1]) end
return value
"""
"""KEYS: entry, index. ARGV: now (µs). The payload or nil; touches or drops the index entry."""

UPDATE: Final = """
if ARGV[3] ~= '0' then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[5])
else
  redis.call('SET', KEYS[1], ARGV[1])
end
redis.call('ZADD', KEYS[2], ARGV[2], KEYS[1])
local evicted = 0
if ARGV[4] ~= '0' then
  local excess = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[4])
  if excess > 0 then
    local oldest = redis.call('ZPOPMIN', KEYS[2], excess)
    for i = 1, #oldest, 2 do evicted = evicted + redis.call('DEL', oldest[i]) end
  end
end
return evicted
"""
"""KEYS: entry, index. ARGV: payload, now (µs), ttl (ms, '0': none), max size ('0': none),
expiry cutoff (µs; index entries last used before it have expired). Returns the evictions."""

SIZE: Final = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1])
local live = 0
for _, key in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if redis.call('EXISTS', key) == 1 then live = live + 1 else redis.call('ZREM', KEYS[1], key) end
end
return live
"""
"""KEYS: index. ARGV: expiry cutoff (µs). Counts live entries, dropping expired ones' index."""

SCRIPTS: Final = (LOOKUP, UPDATE, SIZE)
"""In the order the cache unpacks them: lookup, update, size."""

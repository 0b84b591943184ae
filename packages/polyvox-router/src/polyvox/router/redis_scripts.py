"""The Lua scripts of :class:`~polyvox.router.redis_state.RedisBreakerStore`, and their reading.

Each runs atomically on the server, so a transition is seen once by every process sharing
the keys. The key layout is described in :mod:`polyvox.router.redis_state`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from polyvox.router.breaker_types import BreakerConfig, BreakerState, BreakerStatus

__all__ = [
    "ALLOW",
    "AVAILABLE",
    "CLOSED",
    "FAILURE",
    "RELEASE",
    "SCRIPTS",
    "SUCCESS",
    "Raw",
    "decode_names",
    "read_status",
]

Raw = tuple[list[bytes | None], list[bytes]]
"""What a breaker's read returns: ``HMGET`` of its state hash, and its failure timestamps."""

CLOSED: Final = 2
"""What :data:`ALLOW` and :data:`AVAILABLE` answer for a breaker with no state (closed)."""

ALLOW: Final = """
local f = redis.call('HMGET', KEYS[1], 's', 'o', 'p', 'n')
if not f[1] then return 2 end
local now = tonumber(ARGV[1])
local reset = tonumber(ARGV[2])
local take = ARGV[4] == '1'
if f[1] == 'open' then
  if now - tonumber(f[2]) < reset then return 0 end
  if take then
    redis.call('HSET', KEYS[1], 's', 'half_open', 'p', ARGV[1], 'n', 1)
    redis.call('PEXPIRE', KEYS[1], ARGV[5])
    redis.call('PEXPIRE', KEYS[2], ARGV[5])
  end
  return 1
end
local n = tonumber(f[4])
if now - tonumber(f[3]) >= reset then
  n = 0
  if take then redis.call('HSET', KEYS[1], 'p', ARGV[1]) end
end
if n >= tonumber(ARGV[3]) then return 0 end
if take then
  redis.call('HSET', KEYS[1], 'n', n + 1)
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
  redis.call('PEXPIRE', KEYS[2], ARGV[5])
end
return 1
"""
"""KEYS: state, names. ARGV: now, reset timeout (s), half-open max calls, take ('1' grants,
'0' only asks), ttl (ms). 2 for a closed breaker, 1 for an open or half-open one that
lets the call through (a probe, granted when ``take``), 0 when it refuses."""

FAILURE: Final = """
local s = redis.call('HGET', KEYS[1], 's')
if s == 'open' then return 0 end
if s == 'half_open' then
  redis.call('HSET', KEYS[1], 's', 'open', 'o', ARGV[1], 'n', 0)
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
  redis.call('PEXPIRE', KEYS[3], ARGV[4])
  return 1
end
local threshold = tonumber(ARGV[2])
redis.call('LPUSH', KEYS[2], ARGV[1])
redis.call('LTRIM', KEYS[2], 0, threshold - 1)
redis.call('PEXPIRE', KEYS[2], ARGV[5])
redis.call('SADD', KEYS[3], ARGV[6])
redis.call('PEXPIRE', KEYS[3], ARGV[4])
if redis.call('LLEN', KEYS[2]) >= threshold
    and tonumber(ARGV[1]) - tonumber(redis.call('LINDEX', KEYS[2], -1)) <= tonumber(ARGV[3]) then
  redis.call('HSET', KEYS[1], 's', 'open', 'o', ARGV[1], 'p', ARGV[1], 'n', 0)
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
  return 1
end
return 0
"""
"""KEYS: state, failures, names. ARGV: now, threshold, window (s), ttl (ms), window (ms),
name. 1 when this failure opened (or re-opened) the breaker, else 0."""

SUCCESS: Final = """
if redis.call('HGET', KEYS[1], 's') == 'half_open' then
  redis.call('DEL', KEYS[1], KEYS[2])
  redis.call('SREM', KEYS[3], ARGV[1])
  return 1
end
return 0
"""
"""KEYS: state, failures, names. ARGV: name. 1 when this success closed the breaker."""

AVAILABLE: Final = """
local out = {}
local now = tonumber(ARGV[1])
local reset = tonumber(ARGV[2])
local most = tonumber(ARGV[3])
for i, key in ipairs(KEYS) do
  local f = redis.call('HMGET', key, 's', 'o', 'p', 'n')
  if not f[1] then
    out[i] = 2
  elseif f[1] == 'open' then
    out[i] = (now - tonumber(f[2]) < reset) and 0 or 1
  elseif now - tonumber(f[3]) >= reset or tonumber(f[4]) < most then
    out[i] = 1
  else
    out[i] = 0
  end
end
return out
"""
"""KEYS: the state hash of every breaker asked about. ARGV: now, reset timeout (s),
half-open max calls. One answer per key, as :data:`ALLOW` gives it without granting
anything: 2 closed, 1 lets a call through, 0 refuses."""

RELEASE: Final = """
if redis.call('HGET', KEYS[1], 's') == 'half_open' then
  local n = tonumber(redis.call('HGET', KEYS[1], 'n') or '0')
  if n > 0 then redis.call('HSET', KEYS[1], 'n', n - 1) end
  return 1
end
return 0
"""
"""KEYS: state. Gives back a half-open breaker's probe granted to a call that was not made
(sent with ``EVAL``: a rare path, kept out of the registered scripts)."""

SCRIPTS: Final = (ALLOW, FAILURE, SUCCESS, AVAILABLE)
"""In the order the store unpacks them."""


def decode_names(members: Iterable[bytes | str]) -> list[str]:
    """Deployment names from a Redis set's members."""
    return [m.decode() if isinstance(m, bytes) else m for m in members]


def read_status(raw: Raw, config: BreakerConfig, now: float) -> BreakerStatus:
    """A breaker's status from the scripts' read: ``HMGET s o p n`` and the failure list."""
    (state, opened, probe_since, in_flight), stamps = raw
    failures = min(
        config.failure_threshold, sum(1 for at in stamps if now - float(at) <= config.window_s)
    )
    if state is None:
        return BreakerStatus(BreakerState.CLOSED, failures)
    opened_at = float(opened or 0)
    if state == b"open":
        retry_in = max(0.0, opened_at + config.reset_timeout_s - now)
        return BreakerStatus(BreakerState.OPEN, failures, opened_at, retry_in)
    probes = int(in_flight or 0)
    if now - float(probe_since or 0) >= config.reset_timeout_s:
        probes = 0
    return BreakerStatus(BreakerState.HALF_OPEN, failures, opened_at, None, probes)

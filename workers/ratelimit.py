"""The shared request budget: one Redis token bucket per (platform, store), used by every worker.

Why Redis and not :class:`connectors.ratelimit.TokenBucket`: Celery's ``rate_limit`` is per worker
instance, and platforms count per store across *all* clients (BigCommerce: "quota is per store and
shared across all apps"). With four worker processes each holding its own bucket, the store sees
four times the budget. So the bucket lives in Redis, and every check-and-take is one Lua script:

- **State** per key is a hash ``{tokens, ts, blocked_until}`` under ``ordersync:bucket:<key>``
  (times in integer microseconds).
- **Time** comes from Redis ``TIME`` inside the script, never from the caller: worker clocks
  drift, the server's clock is one clock for everybody.
- **Refill** is ``min(burst, tokens + elapsed * rate)``; a call takes one token or answers how long
  until one is there. Nothing is reserved: a caller that was told to wait tries again after the
  wait, like the in-process bucket.
- **Signals** (:meth:`RedisTokenBucket.observe`) are applied atomically too: a 429's
  ``retry_after`` blocks the whole bucket, for every process, until then; ``remaining`` lowers the
  tokens (other apps use the same quota); ``remaining == 0`` with ``reset_after`` blocks until the
  reset.
- **Expiry**: each write sets the key's TTL to the time at which the bucket will be full and
  unblocked again (plus a second). A missing key means "full, not blocked", so an expired key is
  exactly the state it would have had: idle stores cost no memory and expiry changes nothing.

The semantics are those of :class:`connectors.ratelimit.TokenBucket` (the tests run one behavioural
suite against both). Two deliberate differences: a negative ``remaining`` counts as ``0``, and a
single signal blocks for at most :data:`MAX_BLOCK` seconds, so a garbled header cannot stop a
store for days. A Redis outage makes :meth:`~RedisTokenBucket.acquire` raise
:class:`~connectors.errors.Transient` (no request was sent, so the task just retries), while
:meth:`~RedisTokenBucket.observe` only logs it: a response has already arrived, and failing the
call then would make a finished write look failed.

``acquire`` sleeps only while the wait fits in ``max_wait``; beyond that it raises
:class:`~connectors.errors.RateLimited` with ``retry_after`` set to the wait, so a Celery task
retries with that countdown instead of holding a worker (and far below the broker's visibility
timeout).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import redis
import structlog
from redis.commands.core import Script

from connectors.errors import RateLimited, Transient
from connectors.ratelimit import WINDOW_RESERVE, BucketSpec, RateSignal

__all__ = ["DEFAULT_PREFIX", "MAX_BLOCK", "Attempt", "BucketStats", "RedisTokenBucket"]

DEFAULT_PREFIX = "ordersync:bucket:"
"""Redis key prefix of every bucket hash."""

MAX_BLOCK = 3600.0
"""The longest one signal may block a bucket, in seconds."""

_EXPIRY_SLACK_MS = 1000
log = structlog.get_logger("ordersync.ratelimit")

# Shared Lua prelude. Numbers go in and out as strings formatted with %.17g, which round-trips an
# IEEE double exactly: Redis would otherwise format Lua numbers with %.14g and truncate returned
# numbers to integers.
_PRELUDE = """
local function fmt(x) return string.format('%.17g', x) end

local function server_now()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end

-- The bucket refilled up to now: tokens, blocked_until (us), existed, granted_until (us). While the
-- platform's reported window lasts (granted_until), its count rules: no refill, no cap at burst.
local function load(key, rate, burst, now)
  local h = redis.call('HMGET', key, 'tokens', 'ts', 'blocked_until', 'granted_until')
  local tokens, ts = tonumber(h[1]), tonumber(h[2])
  local blocked = tonumber(h[3]) or 0
  local granted = tonumber(h[4]) or 0
  if tokens == nil or ts == nil then
    return burst, blocked, false, 0
  end
  if now < granted then
    return tokens, blocked, true, granted
  end
  local elapsed = now - ts
  if elapsed < 0 then elapsed = 0 end  -- the server clock stepped back: no refill, no stall
  return math.min(burst, math.min(tokens, burst) + (elapsed / 1000000) * rate), blocked, true, 0
end

-- Store the state; the key lives until the bucket is full and unblocked again (then absent == same).
local function save(key, rate, burst, now, tokens, blocked, slack_ms, granted)
  redis.call('HSET', key, 'tokens', fmt(tokens), 'ts', fmt(now), 'blocked_until', fmt(blocked),
             'granted_until', fmt(granted or 0))
  local refill_ms = math.max(0, burst - math.min(tokens, burst)) / rate * 1000
  local blocked_ms = math.max(0, math.max(blocked, granted or 0) - now) / 1000
  redis.call('PEXPIRE', key, math.ceil(math.max(refill_ms, blocked_ms) + slack_ms))
end
"""

# KEYS[1] bucket; ARGV rate, burst, slack_ms -> {granted, wait_s, now_us, tokens}
_TAKE = _PRELUDE + """
local key = KEYS[1]
local rate, burst, slack = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local now = server_now()
local tokens, blocked, _, window = load(key, rate, burst, now)
local granted, wait = 0, 0
if now < blocked then
  wait = (blocked - now) / 1000000
elseif tokens >= 1 then
  tokens = tokens - 1
  granted = 1
elseif now < window then
  wait = (window - now) / 1000000  -- the reported window is spent: wait for its reset
else
  wait = (1 - tokens) / rate
end
save(key, rate, burst, now, tokens, blocked, slack, window)
return {granted, fmt(wait), fmt(now), fmt(tokens)}
"""

# KEYS[1] bucket; ARGV rate, burst, slack_ms, retry_after_s|'', remaining|'', reset_after_s|''
_OBSERVE = _PRELUDE + """
local key = KEYS[1]
local rate, burst, slack = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local retry_after, remaining, reset_after = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local reserve = tonumber(ARGV[7]) or 0
local now = server_now()
local tokens, blocked, _, window = load(key, rate, burst, now)
if retry_after ~= nil then
  blocked = math.max(blocked, now + retry_after * 1000000)
  tokens = 0
  window = 0
end
if remaining ~= nil then
  if reset_after ~= nil and reset_after > 0 and remaining > 0 and retry_after == nil then
    -- the platform's own count of its fixed window: spend it (less a reserve) until the reset
    local left = math.max(0, math.min(remaining - reserve, rate * reset_after + burst))
    local ends = now + reset_after * 1000000
    if ends > window + 1000000 then
      tokens, window = left, ends  -- a new window
    else
      tokens = math.min(tokens, left)  -- the same window: an older answer never adds
    end
  else
    tokens = math.min(tokens, remaining)
  end
  if remaining <= 0 and reset_after ~= nil then
    blocked = math.max(blocked, now + reset_after * 1000000)
  end
end
save(key, rate, burst, now, tokens, blocked, slack, window)
return {fmt(tokens), fmt(blocked), fmt(now)}
"""

# KEYS[1] bucket; ARGV rate, burst -> {tokens, blocked_for_s, now_us, exists}   (read only)
_PEEK = _PRELUDE + """
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local now = server_now()
local tokens, blocked, exists = load(KEYS[1], rate, burst, now)
return {fmt(tokens), fmt(math.max(0, blocked - now) / 1000000), fmt(now), exists and 1 or 0}
"""


@dataclass(frozen=True)
class Attempt:
    """The answer to one check-and-take: granted, or the wait until a token may be there.

    ``server_time`` is the Redis ``TIME`` (seconds since the epoch) at which the script ran, the
    clock every worker agrees on; ``tokens`` is what is left after this attempt.
    """

    granted: bool
    wait: float
    server_time: float
    tokens: float


@dataclass(frozen=True)
class BucketStats:
    """A bucket as ``ordersync status`` shows it: tokens left now and how long it is blocked.

    ``next_token_in`` is the wait a caller trying now would be told (``0`` when it would get a
    token); ``idle`` means nobody used the bucket recently (no key: full and unblocked).
    """

    key: str
    tokens: float
    burst: float
    rate: float
    blocked_for: float
    next_token_in: float
    idle: bool


def _num(value: Any) -> float:
    """A script reply item (bytes or str, per the client's decoding) as a float."""
    if isinstance(value, bytes | bytearray):
        return float(value.decode())
    return float(value)


def _arg(value: float | None) -> str:
    """A number for a script argument, exactly (``''`` means "not told")."""
    return "" if value is None else repr(float(value))


def _clean(value: float | None, *, cap: float | None = None) -> float | None:
    """A signal value made safe: non-finite values are dropped, negatives become 0, big ones capped."""
    if value is None or not math.isfinite(value):
        return None
    value = max(0.0, float(value))
    return min(value, cap) if cap is not None else value


class RedisTokenBucket:
    """A :class:`~connectors.ratelimit.RateLimiter` whose buckets live in Redis, shared by all workers.

    One instance per process is enough (it holds the client and the registered scripts and is
    thread-safe). ``key`` is what :class:`~connectors.http.HttpClient` passes (``platform:store``);
    the Redis key is ``prefix + key``. ``sleep`` is injectable for tests.
    """

    def __init__(
        self,
        client: redis.Redis,
        *,
        prefix: str = DEFAULT_PREFIX,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.prefix = prefix
        self._sleep = sleep
        # register_script hashes the source once; calls use EVALSHA and load the script on NOSCRIPT.
        self._take: Script = client.register_script(_TAKE)
        self._observe: Script = client.register_script(_OBSERVE)
        self._peek: Script = client.register_script(_PEEK)

    def redis_key(self, key: str) -> str:
        """The Redis key holding ``key``'s bucket."""
        return self.prefix + key

    @staticmethod
    def _shape(spec: BucketSpec) -> tuple[str, str]:
        if not (math.isfinite(spec.rate) and spec.rate > 0):
            raise ValueError(f"bucket rate must be a positive number, not {spec.rate!r}")
        if not (math.isfinite(spec.burst) and spec.burst >= 1):
            raise ValueError(f"bucket burst must be at least 1, not {spec.burst!r}")
        return _arg(spec.rate), _arg(spec.burst)

    def _run(self, script: Script, key: str, args: Sequence[str]) -> list[Any]:
        reply = script(keys=[self.redis_key(key)], args=list(args))
        if not isinstance(reply, list):  # pragma: no cover - only a foreign script under our SHA
            raise TypeError(f"unexpected rate-limit script reply {reply!r}")
        return reply

    def try_acquire(self, key: str, spec: BucketSpec) -> Attempt:
        """Take one token if there is one now, without waiting. Redis errors propagate."""
        rate, burst = self._shape(spec)
        granted, wait, now_us, tokens = self._run(self._take, key, (rate, burst, str(_EXPIRY_SLACK_MS)))
        return Attempt(
            granted=int(granted) == 1, wait=_num(wait), server_time=_num(now_us) / 1e6, tokens=_num(tokens)
        )

    def acquire(self, key: str, spec: BucketSpec, *, max_wait: float) -> None:
        """Take a token, sleeping while the wait fits in what is left of ``max_wait``.

        Raises :class:`RateLimited` (``retry_after`` = the wait still needed) when it does not, and
        :class:`Transient` when Redis cannot be reached (the request was not sent; retry later).
        """
        budget = max_wait
        while True:
            try:
                attempt = self.try_acquire(key, spec)
            except redis.RedisError as error:
                raise Transient(f"shared request budget unavailable ({type(error).__name__}: {error})") from None
            if attempt.granted:
                return
            if attempt.wait > budget:
                raise RateLimited(f"request budget for {key} exhausted", retry_after=attempt.wait)
            self._sleep(attempt.wait)
            budget -= attempt.wait

    def observe(self, key: str, spec: BucketSpec, signal: RateSignal) -> None:
        """Apply what the platform reported, atomically, for every process using the bucket.

        A ``retry_after`` (429) empties and blocks the bucket until then; ``remaining`` lowers the
        tokens to it; ``remaining <= 0`` with ``reset_after`` blocks until the reset. ``limit`` and
        ``window`` are not used: the spec stays what the configuration says. Best effort: a Redis
        error is logged, never raised.
        """
        retry_after = _clean(signal.retry_after, cap=MAX_BLOCK)
        remaining = _clean(None if signal.remaining is None else float(signal.remaining))
        reset_after = _clean(signal.reset_after, cap=MAX_BLOCK)
        if retry_after is None and remaining is None:
            return  # nothing this bucket acts on
        rate, burst = self._shape(spec)
        args = (rate, burst, str(_EXPIRY_SLACK_MS), _arg(retry_after), _arg(remaining), _arg(reset_after),
                _arg(WINDOW_RESERVE))
        try:
            self._run(self._observe, key, args)
        except redis.RedisError as error:
            log.warning("rate_signal_lost", key=key, error=f"{type(error).__name__}: {error}")

    def peek(self, key: str, spec: BucketSpec) -> BucketStats:
        """The bucket's state now, without taking anything (for ``ordersync status``)."""
        rate, burst = self._shape(spec)
        tokens_s, blocked_s, _now, exists = self._run(self._peek, key, (rate, burst))
        tokens, blocked_for = _num(tokens_s), _num(blocked_s)
        if blocked_for > 0:
            next_token_in = blocked_for
        elif tokens >= 1:
            next_token_in = 0.0
        else:
            next_token_in = (1.0 - tokens) / spec.rate
        return BucketStats(
            key=key,
            tokens=tokens,
            burst=spec.burst,
            rate=spec.rate,
            blocked_for=blocked_for,
            next_token_in=next_token_in,
            idle=int(exists) == 0,
        )

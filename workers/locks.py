"""Per-order locks in Redis: one worker at a time reconciles a given order.

Two tasks for the same order (a webhook and a poll, or a retry racing its original) must not both
read-compare-act at once, or both may create the order on the target. This is the Celery
cookbook's "only one at a time" lock, made safe:

- **Take**: ``SET ordersync:lock:<name> <token> NX PX <ttl>``. The token is unique per holding
  (``host:pid:random``), so it says who holds the lock and proves ownership.
- **Release**: a Lua compare-and-delete. A holder whose lock already expired and was taken by
  somebody else deletes nothing (a plain ``DEL`` would free the new holder's lock).
- **Extend**: a Lua compare-and-``PEXPIRE``, for long reconciles; it raises :class:`LockLost`
  when the lock is no longer ours, so the work stops instead of running unguarded.
- **Crash safety**: a holder that dies never releases; its lock expires after its TTL.
- **Busy**: :meth:`Locks.hold` raises :class:`LockBusy` with ``retry_after`` when the lock stays
  taken for ``wait`` seconds. The Celery task should then retry soon *without* consuming a retry
  (OCA's ``RetryableJobError(ignore_retry=True)``), e.g. re-enqueue itself with
  ``countdown=busy.retry_after`` and the same ``retries`` count, and raise ``celery.exceptions.Ignore``.

A TTL lock cannot be perfectly exclusive: a holder paused longer than its TTL (swap, a stopped VM)
may resume after someone else took over. It is a guard against wasted and racing work; the
unique binding row stays what makes a duplicate impossible (docs/anchors.md §0 lesson 2).
"""

from __future__ import annotations

import math
import os
import secrets
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar

import redis
import structlog
from redis.commands.core import Script

from connectors.errors import Disposition, OrderSyncError, Transient

__all__ = ["DEFAULT_PREFIX", "HeldLock", "LockBusy", "LockInfo", "LockLost", "Locks"]

DEFAULT_PREFIX = "ordersync:lock:"
"""Redis key prefix of every lock."""

log = structlog.get_logger("ordersync.locks")

# KEYS[1] lock; ARGV token, ttl_ms -> {1, 0, ''} taken | {0, pttl_ms, holder token} busy
_TAKE = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {1, 0, ''}
end
return {0, redis.call('PTTL', KEYS[1]), redis.call('GET', KEYS[1]) or ''}
"""

# KEYS[1] lock; ARGV token -> 1 deleted | 0 not ours (expired, or someone else's now)
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

# KEYS[1] lock; ARGV token, ttl_ms -> 1 extended | 0 not ours
_EXTEND = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

_FIRST_POLL = 0.01
_MAX_POLL = 0.25
_MIN_RETRY = 0.05


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes | bytearray) else str(value)


def _holder(token: str) -> str:
    """``host:pid`` from a token (the random part proves ownership and is not shown)."""
    return token.rsplit(":", 1)[0] if token.count(":") >= 2 else token


def _ttl_ms(ttl: float) -> int:
    if not (math.isfinite(ttl) and ttl > 0):
        raise ValueError(f"lock ttl must be a positive number of seconds, not {ttl!r}")
    return max(1, math.ceil(ttl * 1000))


class LockBusy(OrderSyncError):
    """Somebody else holds the lock: retry after ``retry_after`` seconds, without spending a retry.

    ``expires_in`` is how long the current holding can last at most (``None`` when the key has no
    TTL, which only a foreign writer could cause); ``holder`` is the holder's ``host:pid``.
    """

    disposition: ClassVar[Disposition] = "retriable"

    def __init__(self, name: str, *, retry_after: float, expires_in: float | None, holder: str) -> None:
        self.name = name
        self.retry_after = retry_after
        self.expires_in = expires_in
        self.holder = holder
        super().__init__(f"lock {name!r} is held by {holder or 'another worker'}; retry in {retry_after:.2f}s")


class LockLost(OrderSyncError):
    """Our lock expired (and may be someone else's now): stop the guarded work and retry it."""

    disposition: ClassVar[Disposition] = "retriable"

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"lock {name!r} expired before the work finished; retry the task (or raise its ttl)")


@dataclass(frozen=True)
class LockInfo:
    """Who holds a lock and for how long at most (``expires_in`` ``None``: no TTL)."""

    name: str
    holder: str
    expires_in: float | None


class HeldLock:
    """A lock we hold: :meth:`extend` it during long work, :meth:`release` it when done."""

    def __init__(self, locks: Locks, name: str, token: str, ttl: float) -> None:
        self.locks = locks
        self.name = name
        self.token = token
        self.ttl = ttl
        self.key = locks.key(name)
        self.released = False

    def extend(self, ttl: float | None = None) -> None:
        """Make the lock last ``ttl`` seconds from now (default: the TTL it was taken with).

        Raises :class:`LockLost` when it is no longer ours, so unguarded work does not go on.
        """
        ms = _ttl_ms(self.ttl if ttl is None else ttl)
        if self.released or not self.locks._call(self.locks._extend, self.key, (self.token, str(ms))):
            raise LockLost(self.name)

    def release(self) -> bool:
        """Delete the lock if it is still ours; ``False`` means it had expired already."""
        if self.released:
            return False
        self.released = True
        return bool(self.locks._call(self.locks._release, self.key, (self.token,)))

    def owned(self) -> bool:
        """Whether the lock is still ours right now."""
        return not self.released and _text(self.locks._client_get(self.key) or b"") == self.token


class Locks:
    """Named locks in Redis (``ordersync:lock:<name>``), e.g. one per order being reconciled.

    One instance per process is enough; ``clock`` and ``sleep`` (used only while waiting for a
    busy lock) are injectable for tests. ``busy_retry`` caps :attr:`LockBusy.retry_after`: the
    holder may finish long before its TTL, so a busy task comes back soon rather than at expiry.
    """

    def __init__(
        self,
        client: redis.Redis,
        *,
        prefix: str = DEFAULT_PREFIX,
        busy_retry: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.busy_retry = busy_retry
        self._clock = clock
        self._sleep = sleep
        self._take: Script = client.register_script(_TAKE)
        self._release: Script = client.register_script(_RELEASE)
        self._extend: Script = client.register_script(_EXTEND)
        self._owner = f"{socket.gethostname()}:{os.getpid()}"

    def key(self, name: str) -> str:
        """The Redis key of lock ``name``."""
        return self.prefix + name

    def _call(self, script: Script, key: str, args: tuple[str, ...]) -> Any:
        try:
            return script(keys=[key], args=list(args))
        except redis.RedisError as error:
            raise Transient(f"lock store unavailable ({type(error).__name__}: {error})") from None

    def _client_get(self, key: str) -> Any:
        try:
            return self.client.get(key)
        except redis.RedisError as error:
            raise Transient(f"lock store unavailable ({type(error).__name__}: {error})") from None

    def acquire(self, name: str, ttl: float, *, wait: float = 0.0) -> HeldLock:
        """Take lock ``name`` for ``ttl`` seconds, polling up to ``wait`` seconds while it is busy.

        Raises :class:`LockBusy` when it is still taken after ``wait``, :class:`Transient` when
        Redis cannot be reached. Prefer :meth:`hold`, which always releases.
        """
        ms = _ttl_ms(ttl)
        token = f"{self._owner}:{secrets.token_hex(8)}"
        key = self.key(name)
        deadline = self._clock() + max(0.0, wait)
        poll = _FIRST_POLL
        while True:
            taken, pttl, holder = self._call(self._take, key, (token, str(ms)))
            if int(taken) == 1:
                return HeldLock(self, name, token, ttl)
            expires_in = int(pttl) / 1000 if int(pttl) >= 0 else None
            left = deadline - self._clock()
            if left <= 0:
                soon = self.busy_retry if expires_in is None else min(self.busy_retry, expires_in)
                raise LockBusy(
                    name, retry_after=max(_MIN_RETRY, soon), expires_in=expires_in, holder=_holder(_text(holder))
                )
            pause = min(poll, left)
            if expires_in is not None:
                pause = min(pause, max(0.001, expires_in))
            self._sleep(pause)
            poll = min(poll * 2, _MAX_POLL)

    @contextmanager
    def hold(self, name: str, ttl: float, *, wait: float = 0.0) -> Iterator[HeldLock]:
        """Hold lock ``name`` for the ``with`` block; raises :class:`LockBusy` if it cannot be taken.

        On exit the lock is released if it is still ours. If it had expired, the block may have
        overlapped with another holder: that is logged (raise the TTL or call
        :meth:`HeldLock.extend`), not raised, so the block's own outcome or exception stands.
        """
        held = self.acquire(name, ttl, wait=wait)
        try:
            yield held
        finally:
            if not held.released:
                try:
                    if not held.release():
                        log.warning("lock_expired_while_held", lock=name, ttl=ttl)
                except Transient as error:  # the lock will expire on its own after its TTL
                    log.warning("lock_release_failed", lock=name, error=str(error))

    def holder(self, name: str) -> LockInfo | None:
        """Who holds lock ``name`` now, or ``None`` (for ``ordersync status`` and debugging)."""
        try:
            with self.client.pipeline(transaction=True) as pipe:
                pipe.get(self.key(name))
                pipe.pttl(self.key(name))
                token, pttl = pipe.execute()
        except redis.RedisError as error:
            raise Transient(f"lock store unavailable ({type(error).__name__}: {error})") from None
        if token is None:
            return None
        return LockInfo(name=name, holder=_holder(_text(token)),
                        expires_in=int(pttl) / 1000 if int(pttl) >= 0 else None)

"""Request budgets: the limiter contract every connector calls before each request.

Connectors call :meth:`RateLimiter.acquire` before a request and feed what the platform said back
through :meth:`RateLimiter.observe` (remaining quota, reset time, a 429's retry-after). Platforms
count per store and share the budget among all clients (BigCommerce: "quota is per store and
shared across all apps"), so in production the limiter is the Redis token bucket in
``workers.ratelimit``, shared by every worker process. :class:`TokenBucket` here is the
in-process implementation for a single process and for tests.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from connectors.errors import RateLimited

__all__ = [
    "BucketSpec",
    "Patience",
    "RateLimiter",
    "RateSignal",
    "TokenBucket",
    "Unlimited",
    "WaitHook",
    "bucket_from_options",
    "current_patience",
    "patient",
]


@dataclass(frozen=True)
class RateSignal:
    """What a response said about the budget. Every field is optional; ``None`` means "not told"."""

    remaining: int | None = None
    reset_after: float | None = None
    limit: int | None = None
    window: float | None = None
    retry_after: float | None = None


@dataclass(frozen=True)
class BucketSpec:
    """A bucket's shape: ``rate`` tokens a second, at most ``burst`` at once."""

    rate: float
    burst: float

    @classmethod
    def per_window(cls, requests: int, seconds: float, burst: float | None = None) -> BucketSpec:
        """A bucket that allows ``requests`` per ``seconds`` on average."""
        rate = requests / seconds
        return cls(rate=rate, burst=burst if burst is not None else max(1.0, min(requests, rate * 2)))


def bucket_from_options(options: Mapping[str, Any], default: BucketSpec) -> BucketSpec:
    """A store's bucket from its ``rate_limit = {requests, per_seconds, burst}`` option (same on every platform).

    Missing keys keep the platform's default; ``ValueError`` names a bad value.
    """
    spec = options.get("rate_limit")
    if spec is None:
        return default
    if not isinstance(spec, Mapping):
        raise ValueError("option rate_limit must be a table {requests = N, per_seconds = S, burst = B}")
    try:
        per = float(spec.get("per_seconds", 1.0))
        requests = spec.get("requests")
        rate = default.rate if requests is None else float(requests) / per
        burst = spec.get("burst")
        if burst is None:
            burst = default.burst if requests is None else max(1.0, min(float(requests), rate * 2))
        if rate <= 0 or per <= 0 or float(burst) <= 0:
            raise ValueError
        return BucketSpec(rate=rate, burst=float(burst))
    except (TypeError, ValueError):
        raise ValueError(f"option rate_limit {dict(spec)!r}: requests, per_seconds and burst must be positive "
                         "numbers") from None


@runtime_checkable
class RateLimiter(Protocol):
    """Shared request budget for a store, consulted before every request."""

    def acquire(self, key: str, spec: BucketSpec, *, max_wait: float) -> None:
        """Take one token for ``key``, waiting up to ``max_wait`` seconds.

        Raises :class:`~connectors.errors.RateLimited` with the wait still needed when that is
        longer than ``max_wait`` (so a Celery task can retry later instead of sleeping).
        """
        ...

    def observe(self, key: str, spec: BucketSpec, signal: RateSignal) -> None:
        """Tighten the bucket from what the platform reported (never loosen it past ``spec``)."""
        ...


class Unlimited:
    """A limiter that never waits: for offline tools and platforms without a budget."""

    def acquire(self, key: str, spec: BucketSpec, *, max_wait: float) -> None:
        """Always allow."""

    def observe(self, key: str, spec: BucketSpec, signal: RateSignal) -> None:
        """Ignore signals."""


class TokenBucket:
    """A thread-safe in-process token bucket per key, fed by platform signals.

    A 429 or ``remaining == 0`` empties the bucket until the reported reset; ``remaining`` below the
    local count lowers the local count, so other clients' use of a shared quota is respected.

    A platform that counts a fixed window and says what is left of it (BigCommerce's
    ``X-Rate-Limit-Requests-Left`` with ``X-Rate-Limit-Time-Reset-Ms``) is taken at its word: until
    that window resets, the bucket may spend what the platform reports left, less
    :data:`WINDOW_RESERVE`, instead of trickling at the average rate; so a backfill uses each whole
    window, as the quota allows, and still stops before the platform would refuse.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._state: dict[str, _Bucket] = {}

    def _refill(self, key: str, spec: BucketSpec, now: float) -> _Bucket:
        state = self._state.get(key) or _Bucket(spec.burst, now)
        if now < state.granted_until:  # the platform's count of its current window rules
            return _Bucket(state.tokens, now, state.blocked_until, state.granted_until)
        tokens = min(max(spec.burst, 0.0), min(state.tokens, spec.burst) + (now - state.updated) * spec.rate)
        return _Bucket(tokens, now, state.blocked_until)

    def _wait_needed(self, key: str, spec: BucketSpec) -> float:
        """Take a token if one is there (return 0), else say how long until one is."""
        with self._lock:
            now = self._clock()
            state = self._refill(key, spec, now)
            self._state[key] = state
            if now < state.blocked_until:
                return state.blocked_until - now
            if state.tokens >= 1.0 - 1e-9:  # a refill that lands a rounding error short of a token is a token
                state.tokens = max(0.0, state.tokens - 1.0)
                return 0.0
            if now < state.granted_until:  # the window is spent: wait for its reset, then the average rate
                return state.granted_until - now
            return (1.0 - state.tokens) / spec.rate

    def acquire(self, key: str, spec: BucketSpec, *, max_wait: float) -> None:
        """Take a token, sleeping while the wait fits in what is left of ``max_wait``."""
        budget = max_wait
        while True:
            wait = self._wait_needed(key, spec)
            if wait <= 0:
                return
            if wait > budget:
                raise RateLimited("request budget exhausted", retry_after=wait, platform="")
            self._sleep(wait)
            budget -= wait

    def observe(self, key: str, spec: BucketSpec, signal: RateSignal) -> None:
        """Apply a platform's budget report to the local bucket."""
        with self._lock:
            now = self._clock()
            state = self._refill(key, spec, now)
            if signal.retry_after is not None:
                state.blocked_until = max(state.blocked_until, now + signal.retry_after)
                state.tokens, state.granted_until = 0.0, 0.0
            if signal.remaining is not None:
                reset = signal.reset_after
                if reset is not None and reset > 0 and signal.remaining > 0 and signal.retry_after is None:
                    # the platform's own count of its fixed window: spend it (less a reserve) until the reset
                    left = max(0.0, min(signal.remaining - WINDOW_RESERVE, spec.rate * reset + spec.burst))
                    if now + reset > state.granted_until + 1.0:  # a new window
                        state.tokens, state.granted_until = left, now + reset
                    else:  # the same window: an older answer never adds
                        state.tokens = min(state.tokens, left)
                else:
                    state.tokens = min(state.tokens, float(signal.remaining))
                if signal.remaining <= 0 and signal.reset_after is not None:
                    state.blocked_until = max(state.blocked_until, now + signal.reset_after)
            self._state[key] = state


WINDOW_RESERVE = 2.0
"""Requests of a platform's reported window left unspent, for a response that overtook an older one."""


@dataclass
class _Bucket:
    tokens: float
    updated: float
    blocked_until: float = 0.0
    granted_until: float = 0.0


WaitHook = Callable[[str, str, float], None]
"""Told ``(platform, store, seconds)`` before a request waits for its budget (a progress bar shows it)."""


@dataclass(frozen=True)
class Patience:
    """How long one request may wait for the budget in this process, and who is told when it does.

    A Celery task keeps the connectors' short ``max_wait`` (it is better retried later than held);
    ``ordersync sync`` and other one-shot runs wait as long as the quota needs, so a long backfill paces
    itself instead of failing with ``RateLimited``.
    """

    max_wait: float = 0.0
    on_wait: WaitHook | None = None


_patience = Patience()
_patience_lock = threading.Lock()


def current_patience() -> Patience:
    """The process's patience now (``max_wait == 0``: each connector's own ``max_wait`` decides)."""
    return _patience


@contextmanager
def patient(max_wait: float = math.inf, on_wait: WaitHook | None = None) -> Iterator[Patience]:
    """Within the block, every connector of this process waits up to ``max_wait`` seconds per request
    (for its limiter and for the platform's 429 waits) instead of raising ``RateLimited``.

    Process-wide on purpose: connectors fan requests out to their own threads, which would not see a
    context variable. Nested blocks restore the outer patience on exit.
    """
    global _patience
    chosen = Patience(max_wait=max_wait, on_wait=on_wait)
    with _patience_lock:
        before, _patience = _patience, chosen
    try:
        yield chosen
    finally:
        with _patience_lock:
            _patience = before

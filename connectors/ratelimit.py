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
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._state: dict[str, tuple[float, float, float]] = {}  # key -> (tokens, updated, blocked_until)

    def _refill(self, key: str, spec: BucketSpec, now: float) -> tuple[float, float]:
        tokens, updated, blocked_until = self._state.get(key, (spec.burst, now, 0.0))
        tokens = min(spec.burst, tokens + (now - updated) * spec.rate)
        return tokens, blocked_until

    def _wait_needed(self, key: str, spec: BucketSpec) -> float:
        """Take a token if one is there (return 0), else say how long until one is."""
        with self._lock:
            now = self._clock()
            tokens, blocked_until = self._refill(key, spec, now)
            if now < blocked_until:
                self._state[key] = (tokens, now, blocked_until)
                return blocked_until - now
            if tokens >= 1.0 - 1e-9:  # a refill that lands a rounding error short of a token is a token
                self._state[key] = (max(0.0, tokens - 1.0), now, blocked_until)
                return 0.0
            self._state[key] = (tokens, now, blocked_until)
            return (1.0 - tokens) / spec.rate

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
            tokens, blocked_until = self._refill(key, spec, now)
            if signal.retry_after is not None:
                blocked_until = max(blocked_until, now + signal.retry_after)
                tokens = 0.0
            if signal.remaining is not None:
                tokens = min(tokens, float(signal.remaining))
                if signal.remaining <= 0 and signal.reset_after is not None:
                    blocked_until = max(blocked_until, now + signal.reset_after)
            self._state[key] = (tokens, now, blocked_until)


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

"""Redis fixtures for worker tests: a real server when one is reachable, fakeredis otherwise.

- ``redis_url``: the real Redis for ``@pytest.mark.redis`` tests (``$ORDERSYNC_TEST_REDIS_URL``,
  default ``redis://127.0.0.1:6379/14``); the test is skipped, with the reason, when it is not
  reachable.
- ``redis_prefix`` / ``real_redis``: a key prefix unique to the test, and a client on the real
  server that deletes exactly the keys under that prefix afterwards (never FLUSHDB: the database
  may be shared).
- ``fake_redis``: a fresh fakeredis server (Lua on lupa) per test, the same engine ``memory://``
  uses.
- ``fake_clock``: a controllable clock that also drives fakeredis (``TIME`` and key expiry), so
  refill and TTL tests do not sleep.
"""

from __future__ import annotations

import functools
import os
import time
import uuid
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import fakeredis
import fakeredis._socket._base as _fake_socket
import fakeredis.commands_mixins.server_mixin as _fake_server_mixin
import pytest
import redis

from workers.redis_client import redact_url

DEFAULT_TEST_REDIS_URL = "redis://127.0.0.1:6379/14"


def configured_redis_url() -> str:
    """The real Redis the ``redis`` marker refers to (DB 14 unless the URL says otherwise)."""
    return os.environ.get("ORDERSYNC_TEST_REDIS_URL") or DEFAULT_TEST_REDIS_URL


@functools.cache
def _unreachable_reason(url: str) -> str | None:
    """Why the real Redis cannot be used (checked once per session), or ``None``."""
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=1.0)
        try:
            client.ping()
        finally:
            client.close()
    except (redis.RedisError, OSError, ValueError) as error:
        return f"real Redis not reachable at {redact_url(url)} ({type(error).__name__}); set ORDERSYNC_TEST_REDIS_URL"
    return None


@pytest.fixture
def redis_url() -> str:
    """URL of the real Redis; skips the test when it is unreachable."""
    url = configured_redis_url()
    reason = _unreachable_reason(url)
    if reason is not None:
        pytest.skip(reason)
    return url


@pytest.fixture
def redis_prefix() -> str:
    """A key prefix used by this test only."""
    return f"ordersync-test:{uuid.uuid4().hex}:"


@pytest.fixture
def real_redis(redis_url: str, redis_prefix: str) -> Iterator[redis.Redis]:
    """A client on the real Redis; deletes the test's own keys (``redis_prefix*``) afterwards."""
    client = redis.Redis.from_url(redis_url)
    try:
        yield client
    finally:
        keys = list(client.scan_iter(match=f"{redis_prefix}*", count=500))
        if keys:
            client.delete(*keys)
        client.close()


@pytest.fixture
def fake_redis() -> Iterator[redis.Redis]:
    """A client on a fresh, private fakeredis server with Lua (nothing shared between tests)."""
    client: redis.Redis = fakeredis.FakeRedis(server=fakeredis.FakeServer(version=(7,)))
    yield client
    client.close()


class FakeClock:
    """Seconds since the epoch under test control; ``sleep`` advances it instead of waiting.

    It starts at a whole second and tests move it in steps of 1/64 s where exact arithmetic
    matters: 1/64 s is 15 625 us, exact both in binary and in Redis' microseconds.
    """

    START = 1_800_000_000.0

    def __init__(self) -> None:
        self.now = self.START
        self.sleeps: list[float] = []

    def time(self) -> float:
        """Wall-clock seconds (what fakeredis' ``TIME`` and expiry see)."""
        return self.now

    def monotonic(self) -> float:
        """The same clock, for code that wants a monotonic one."""
        return self.now

    def sleep(self, seconds: float) -> None:
        """Record the sleep and move time on."""
        self.sleeps.append(seconds)
        self.now += max(0.0, seconds)

    def advance(self, seconds: float) -> None:
        """Move time on without recording a sleep."""
        self.now += seconds

    def reset(self) -> None:
        """Back to the start (for hypothesis examples sharing one fixture)."""
        self.now = self.START
        self.sleeps.clear()


class _TimeModule:
    """Stands in for the ``time`` module inside fakeredis: ``time()`` is the fake clock's."""

    def __init__(self, clock: FakeClock, real: ModuleType) -> None:
        self._clock = clock
        self._real = real

    def time(self) -> float:
        return self._clock.time()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


@pytest.fixture
def fake_clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """A :class:`FakeClock` that fakeredis also reads (``TIME`` in scripts, TTLs and expiry)."""
    clock = FakeClock()
    proxy = _TimeModule(clock, time)
    monkeypatch.setattr(_fake_socket, "time", proxy)
    monkeypatch.setattr(_fake_server_mixin, "time", proxy)
    return clock

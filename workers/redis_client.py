"""One way to get a Redis client, with an embedded fallback that runs the same Lua code.

The request budget (:mod:`workers.ratelimit`) and the per-order locks (:mod:`workers.locks`) keep
their state in Redis and change it only through Lua scripts, so every worker process sees one
bucket per store and one lock per order. ``ordersync demo`` and single-process runs have no Redis
server: for them ``redis_from_url(None)`` (or ``"memory://"``) returns a process-wide
:class:`fakeredis.FakeRedis` with Lua enabled (lupa), so exactly the same scripts run in memory.
That fallback is shared by every thread of the process (fakeredis serialises commands, and a
whole script, under its server lock) but not by other processes: it is no substitute for a real
Redis once there is more than one worker process.

URLs may carry a password (``redis://:secret@host:6379/0``); only :func:`redact_url` output is
ever logged or put into an error message.
"""

from __future__ import annotations

import threading
from urllib.parse import urlsplit, urlunsplit

import redis
import structlog

__all__ = ["MEMORY_URL", "redact_url", "redis_from_url"]

MEMORY_URL = "memory://"
"""The embedded default: a shared in-process fakeredis server (one process only)."""

_REAL_SCHEMES = frozenset({"redis", "rediss", "unix"})
_memory_lock = threading.Lock()
_memory_client: redis.Redis | None = None
log = structlog.get_logger("ordersync.redis")


def redact_url(url: str) -> str:
    """``url`` with any password (and user name) replaced by ``***``, safe to log or show."""
    try:
        parts = urlsplit(url)
        if parts.username is None and parts.password is None:
            return url
        host = parts.hostname or ""
        if ":" in host:  # an IPv6 literal loses its brackets in .hostname
            host = f"[{host}]"
        netloc = f"***@{host}" + (f":{parts.port}" if parts.port is not None else "")
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    except ValueError:  # an unparseable port or netloc: show nothing that might be a secret
        return "<unparseable redis url>"


def _memory() -> redis.Redis:
    """The process-wide fakeredis client, created on first use."""
    global _memory_client
    with _memory_lock:
        if _memory_client is None:
            try:
                import fakeredis
                import lupa  # noqa: F401  # fakeredis runs EVAL/EVALSHA on lupa; fail here, not mid-request
            except ImportError as error:  # pragma: no cover - both are install requirements
                raise RuntimeError(
                    "the embedded Redis (memory://) needs 'fakeredis[lua]'; install it or set a redis:// URL"
                ) from error
            server = fakeredis.FakeServer(version=(7,))
            client: redis.Redis = fakeredis.FakeRedis(server=server)
            _memory_client = client
            log.debug("redis_embedded", url=MEMORY_URL)
        return _memory_client


def redis_from_url(url: str | None = None) -> redis.Redis:
    """A Redis client for ``url``; ``None``, ``""`` or ``"memory://"`` give the shared embedded server.

    Real clients (``redis://``, ``rediss://``, ``unix://``) get short connect and socket timeouts,
    so a dead Redis fails a task quickly (it is retried) instead of hanging a worker, and a health
    check on idle pooled connections. Responses are bytes (``decode_responses=False``), as Celery's
    own Redis clients use. redis-py's pool notices a fork and reconnects in the child, so a client
    made before Celery forks its pool workers stays usable.
    """
    if url is None or url.strip() in ("", MEMORY_URL):
        return _memory()
    url = url.strip()
    scheme = urlsplit(url).scheme.lower()
    if scheme not in _REAL_SCHEMES:
        raise ValueError(f"unsupported Redis URL {redact_url(url)!r}: use redis://, rediss://, unix:// or memory://")
    client = redis.Redis.from_url(
        url,
        socket_connect_timeout=5.0,
        socket_timeout=10.0,
        health_check_interval=30,
    )
    log.debug("redis_client", url=redact_url(url))
    return client

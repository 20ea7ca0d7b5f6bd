"""Process-wide objects, built lazily once per process: config, state store, runtime, engine.

Celery's prefork pool forks after import; :func:`reset` runs in each child (``worker_process_init``)
so no database connection or Redis socket is shared across processes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import redis

from connectors.logging import configure_logging
from sync.config import OrderSyncConfig, load_config
from sync.engine import Engine
from sync.runtime import Runtime
from sync.store import Store
from workers.locks import HeldLock, Locks
from workers.ratelimit import RedisTokenBucket
from workers.redis_client import redis_from_url

__all__ = ["Context", "RedisLocker", "current", "install", "reset"]


class RedisLocker:
    """Adapts :class:`workers.locks.Locks` to the engine's ``Locker`` protocol."""

    def __init__(self, locks: Locks) -> None:
        self.locks = locks

    @contextmanager
    def hold(self, name: str, ttl: float) -> Iterator[HeldLock]:
        """Hold the per-order lock; raises ``LockBusy`` when another worker has it."""
        with self.locks.hold(name, ttl) as held:
            yield held


@dataclass
class Context:
    """Everything a task or request needs, for one configuration."""

    config: OrderSyncConfig
    store: Store
    redis: redis.Redis
    runtime: Runtime
    engine: Engine

    @classmethod
    def build(cls, config: OrderSyncConfig, *, store: Store | None = None, **runtime_kwargs: Any) -> Context:
        """Wire a context: Redis (or the embedded one) for locks and the shared rate bucket."""
        settings = config.settings
        client = redis_from_url(settings.locks_url)
        limiter = runtime_kwargs.pop("limiter", None) or RedisTokenBucket(client)
        runtime = Runtime(config, limiter=limiter, **runtime_kwargs)
        store = store or Store(settings.database_url)
        engine = Engine(runtime, store, locker=RedisLocker(Locks(client)), lock_ttl=settings.lock_ttl)
        if settings.notify_url is not None:
            from workers.notify import install

            install(settings.notify_url.get_secret_value(), client)
        return cls(config=config, store=store, redis=client, runtime=runtime, engine=engine)

    def close(self) -> None:
        """Release connectors and database connections."""
        self.runtime.close()
        self.store.dispose()


_lock = threading.Lock()
_context: Context | None = None
_config: OrderSyncConfig | None = None


def install(context: Context | None) -> None:
    """Use ``context`` for this process (tests, the demo, the CLI)."""
    global _context, _config
    with _lock:
        _context = context
        _config = context.config if context is not None else None


def current() -> Context:
    """This process's context, built from ``$ORDERSYNC_CONFIG`` on first use."""
    global _context, _config
    with _lock:
        if _context is None:
            if _config is None:
                _config = load_config()
                configure_logging(_config.settings.log_level)
            _context = Context.build(_config)
        return _context


def reset() -> None:
    """Forget connections inherited from a parent process (after fork); keep the configuration."""
    global _context
    with _lock:
        if _context is not None:
            _context.store.dispose()
        _context = None

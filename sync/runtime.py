"""Wiring: turns the configuration into live connectors, status tables and target contexts.

One :class:`Runtime` per process. Connectors are opened lazily and cached (they hold connection
pools and auth tokens); tests inject transports per store to reach simulators in-process.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol

import httpx
import structlog

from connectors import open_connector
from connectors.base import Connector, OrderReference, ProductRef, SkuBatchResolver
from connectors.ratelimit import RateLimiter, TokenBucket
from mappings import mapping_for
from mappings.base import PlatformMapping, TargetContext
from mappings.neutral import NeutralOrder
from mappings.status import StatusTable
from sync.config import OrderSyncConfig, StoreConfig

__all__ = ["LocalLocker", "Locker", "Runtime"]

log = structlog.get_logger("ordersync.runtime")


class Locker(Protocol):
    """Serialises work on one order across workers (a Redis lock in production)."""

    def hold(self, name: str, ttl: float) -> AbstractContextManager[Any]:
        """Hold the lock ``name`` for ``ttl`` seconds; raise if another holder has it.

        The yielded handle may have ``extend()``, which restarts the ``ttl`` (long reconciles).
        """
        ...


class LocalLocker:
    """In-process per-name locks, for single-process runs and tests."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}

    @contextmanager
    def hold(self, name: str, ttl: float) -> Iterator[None]:
        """Block until ``name`` is free (ttl is irrelevant in one process)."""
        with self._guard:
            lock = self._locks.setdefault(name, threading.Lock())
        with lock:
            yield


class Runtime:
    """Live objects for one configuration: connectors, mappings, status tables."""

    def __init__(
        self,
        config: OrderSyncConfig,
        *,
        limiter: RateLimiter | None = None,
        transports: Mapping[str, httpx.BaseTransport] | None = None,
        connector_factory: Callable[[str, StoreConfig], Connector] | None = None,
    ) -> None:
        self.config = config
        self.limiter: RateLimiter = limiter or TokenBucket()
        self._transports = dict(transports or {})
        self._factory = connector_factory
        self._connectors: dict[str, Connector] = {}
        self._statuses: dict[str, StatusTable] = {}
        self._lock = threading.Lock()

    def store_config(self, name: str) -> StoreConfig:
        """A store's configuration; ``KeyError`` names the unknown store."""
        try:
            return self.config.stores[name]
        except KeyError:
            raise KeyError(f"unknown store {name!r}") from None

    def connector(self, name: str) -> Connector:
        """The (cached) connector of a store."""
        with self._lock:
            connector = self._connectors.get(name)
            if connector is None:
                store = self.store_config(name)
                if self._factory is not None:
                    connector = self._factory(name, store)
                else:
                    connector = open_connector(store.connection(name), transport=self._transports.get(name),
                                               limiter=self.limiter)
                self._connectors[name] = connector
            return connector

    def mapping(self, name: str) -> PlatformMapping:
        """The mapping of a store's platform."""
        return mapping_for(self.store_config(name).platform)

    def statuses(self, name: str) -> StatusTable:
        """A store's status table (platform defaults + its overrides)."""
        with self._lock:
            if name not in self._statuses:
                self._statuses[name] = self.store_config(name).statuses()
            return self._statuses[name]

    def to_neutral(self, name: str, bundle: Any) -> NeutralOrder:
        """Map an order read from store ``name``."""
        return self.mapping(name).to_neutral(bundle, store=name, statuses=self.statuses(name))

    def target_context(self, name: str, *, reference: OrderReference | None = None,
                       current: NeutralOrder | None = None) -> TargetContext:
        """The context for building writes to store ``name``."""
        connector = self.connector(name)

        def catalog(sku: str) -> ProductRef:
            return connector.resolve_sku(sku)

        options: dict[str, Any] = dict(self.store_config(name).options)
        batch = connector.resolve_skus if isinstance(connector, SkuBatchResolver) else None
        return TargetContext(store=name, reference=reference, statuses=self.statuses(name), catalog=catalog,
                             catalog_batch=batch, options=options, current=current)

    def close(self) -> None:
        """Close every open connector."""
        with self._lock:
            for connector in self._connectors.values():
                connector.close()
            self._connectors.clear()

"""``ordersync sync --dry-run``: the same reconcile code, with writes recorded instead of sent.

Two fences keep a dry run from changing anything:

- every connector is wrapped in :class:`DryRunConnector`: reads go to the shop, writes (create,
  status, shipments, cancel, delete, reference stamps) are recorded with the HTTP calls the
  platform's mapping says they become, and answer as if they had succeeded;
- under it, :class:`ReadOnlyTransport` refuses any request that is not a read, so a write path the
  wrapper does not know about fails loudly instead of reaching the shop.

The engine runs on a throwaway SQLite copy of the state store (:func:`copy_state`), so bindings,
ledger rows, cursors and attention items written during the run are dropped with it.
"""

from __future__ import annotations

import itertools
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import structlog
from sqlalchemy import select
from sqlmodel import SQLModel

from connectors import open_connector
from connectors.base import Connector, CreatedOrder, OrderReference
from connectors.errors import OrderSyncError
from mappings import mapping_for
from mappings.neutral import NeutralOrder
from sync.config import OrderSyncConfig, StoreConfig
from sync.store import Store
from workers.context import Context

__all__ = ["DryRun", "DryRunConnector", "PlannedCall", "ReadOnlyTransport", "WriteBlocked", "copy_state",
           "dry_run_context"]

# POSTs that only read: EverShop's GraphQL queries and its admin token login/refresh.
_READ_POSTS = ("/graphql", "/user/tokens", "/user/tokens/refresh")
# Connector methods beyond the protocol's that write.
_EXTRA_WRITES = frozenset({"stamp_reference", "update_order", "register_webhooks"})


class WriteBlocked(OrderSyncError):
    """A dry run reached a write the recorder does not know: refused before it left the process."""


@dataclass
class PlannedCall:
    """One write the run would have made."""

    route: str | None
    source_store: str | None
    order_id: str | None
    target_store: str
    action: str
    method: str
    path: str
    purpose: str = ""


class ReadOnlyTransport(httpx.BaseTransport):
    """Passes reads to ``inner``; refuses every other request."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send a read; raise :class:`WriteBlocked` for anything else."""
        path = request.url.path.rstrip("/")
        if request.method in ("GET", "HEAD") or (request.method == "POST" and path.endswith(_READ_POSTS)):
            return self.inner.handle_request(request)
        raise WriteBlocked(f"dry run: refused {request.method} {request.url.path}")

    def close(self) -> None:
        """Close the wrapped transport."""
        self.inner.close()


@dataclass
class DryRun:
    """The calls recorded by every wrapped connector of one run."""

    planned: list[PlannedCall] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def record(self, target_store: str, action: str, calls: list[tuple[str, str, str]]) -> None:
        """Note ``calls`` (method, path, purpose) of one write, with the order being reconciled."""
        bound = structlog.contextvars.get_contextvars()
        for method, path, purpose in calls:
            self.planned.append(PlannedCall(route=bound.get("route"), source_store=bound.get("store"),
                                            order_id=bound.get("order_id"), target_store=target_store,
                                            action=action, method=method, path=path, purpose=purpose))

    def next_id(self, kind: str) -> str:
        """A placeholder id for something the run pretends to have created."""
        return f"dry-run-{kind}-{next(self._ids)}"


class DryRunConnector:
    """Reads through the real connector; records writes (and answers them) instead of sending them."""

    def __init__(self, inner: Connector, store: str, platform: str, run: DryRun,
                 read_source: Callable[[OrderReference], NeutralOrder]) -> None:
        self.inner = inner
        self.store = store
        self.platform = platform
        self.run = run
        self._read_source = read_source
        self._created: dict[str, OrderReference] = {}

    def __getattr__(self, name: str) -> Any:
        if name in _EXTRA_WRITES and hasattr(self.inner, name):
            return lambda *args, **kwargs: self._note(name, None, str(args[0]) if args else "")
        return getattr(self.inner, name)

    def _note(self, action: str, payload: Any, order_id: str) -> None:
        calls: list[tuple[str, str, str]] = []
        if payload is not None:
            try:
                calls = [(c.method, c.path.replace("{order_id}", order_id), c.purpose)
                         for c in mapping_for(self.platform).calls(payload)]
            except (TypeError, AttributeError, ValueError):
                calls = []
        self.run.record(self.store, action, calls or [("-", f"{action} {order_id}".strip(), "")])

    def get_order(self, order_id: str) -> dict[str, Any]:
        """The real order; for an order this run pretended to create, the source order as this
        platform would return it."""
        reference = self._created.get(order_id)
        if reference is None:
            return self.inner.get_order(order_id)
        rendered: dict[str, Any] = mapping_for(self.platform).render(self._read_source(reference))
        return rendered

    def create_order(self, payload: Any, ref: OrderReference, *, on_progress: Any = None) -> CreatedOrder:
        """Record the create's calls; answer with a placeholder id."""
        self._note("create", payload, "{order_id}")
        created = CreatedOrder(id=self.run.next_id("order"))
        self._created[created.id] = ref
        return created

    def set_status(self, order_id: str, payload: Any) -> None:
        """Record the status change."""
        self._note("status", payload, order_id)

    def create_shipment(self, order_id: str, payload: Any) -> str:
        """Record the shipment; answer with a placeholder id."""
        self._note("shipment", payload, order_id)
        return self.run.next_id("shipment")

    def update_shipment(self, order_id: str, shipment_id: str, payload: Any) -> None:
        """Record the tracking update."""
        self._note("shipment_update", payload, order_id)

    def cancel_order(self, order_id: str, payload: Any = None) -> None:
        """Record the cancel."""
        self._note("cancel", payload, order_id)

    def delete_order(self, order_id: str) -> None:
        """Record the delete."""
        self._note("delete", None, order_id)

    def close(self) -> None:
        """Close the real connector."""
        self.inner.close()


def copy_state(source: Store, directory: Path) -> Store:
    """A migrated SQLite store in ``directory`` holding every row of ``source`` (SQLite or PostgreSQL)."""
    copy = Store(f"sqlite:///{directory / 'dry-run-state.db'}", auto_migrate=True)
    with source.engine.connect() as reading, copy.engine.begin() as writing:
        for table in SQLModel.metadata.sorted_tables:
            rows = [dict(row) for row in reading.execute(select(table)).mappings()]
            if rows:
                writing.execute(table.insert(), rows)
    return copy


def dry_run_context(config: OrderSyncConfig) -> tuple[Context, DryRun, Callable[[], None]]:
    """A context whose connectors record writes and whose state is a throwaway copy; and its cleanup."""
    run = DryRun()
    directory = Path(tempfile.mkdtemp(prefix="ordersync-dry-run-"))
    original = Store(config.settings.database_url)
    try:
        state = copy_state(original, directory)
    finally:
        original.dispose()
    holder: dict[str, Context] = {}

    def read_source(reference: OrderReference) -> NeutralOrder:
        _, store, order_id = reference.key.split(":", 2)
        runtime = holder["ctx"].runtime
        return runtime.to_neutral(store, runtime.connector(store).get_order(order_id))

    def factory(name: str, store: StoreConfig) -> Connector:
        inner = open_connector(store.connection(name), transport=ReadOnlyTransport(httpx.HTTPTransport()))
        wrapped: Any = DryRunConnector(inner, name, store.platform, run, read_source)
        return wrapped  # type: ignore[no-any-return]

    from workers import notify

    notify.uninstall()  # a dry run tells no one: what it parks is parked in the throwaway copy only
    quiet = config.model_copy(update={"settings": config.settings.model_copy(update={"notify_url": None})})
    ctx = Context.build(quiet, store=state, connector_factory=factory)
    holder["ctx"] = ctx

    def cleanup() -> None:
        ctx.close()
        shutil.rmtree(directory, ignore_errors=True)

    return ctx, run, cleanup

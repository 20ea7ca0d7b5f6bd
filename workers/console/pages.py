"""What the console's pages show, gathered from the state store, the configuration and the stores.

No HTML here: each function returns plain data a template renders. Secrets never leave this
module: stores are described by platform and base URL only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

from connectors.errors import OrderSyncError
from sync.config import StoreConfig
from sync.models import Binding, Operation, utcnow
from workers import metrics
from workers.context import Context

__all__ = [
    "OrderSide",
    "OrderView",
    "RouteRow",
    "StoreRow",
    "admin_url",
    "flatten",
    "order_view",
    "overview",
]

_HIDDEN = ("extra", "warnings", "schema_version")  # platform leftovers: on the platform's admin page
_BC_HASH = re.compile(r"/stores/([A-Za-z0-9_-]+)")


@dataclass
class RouteRow:
    """One route on the overview."""

    name: str
    source: str
    target: str
    description: str
    paused: bool
    pause_note: str | None
    paused_at: datetime | None
    last_poll_at: datetime | None
    lag_seconds: float | None
    last_error: str | None
    states: dict[str, int]
    open_attention: int
    deferred: int


@dataclass
class StoreRow:
    """One store on the overview: its request budget and recent platform answers."""

    name: str
    platform: str
    base_url: str
    tokens: float | None
    burst: float | None
    blocked_for: float | None
    calls: int
    rate_limited: int
    server_errors: int
    auth_errors: int


def overview(ctx: Context) -> tuple[list[RouteRow], list[StoreRow]]:
    """The overview page: every route with its progress, every store with its budget."""
    config, store = ctx.config, ctx.store
    counts = store.counts()
    cursors = {c.store: c for c in store.cursors()}
    paused = store.paused_routes()
    attention = store.open_attention_by_route()
    deferred: dict[str, int] = {}
    for work in store.deferred_work():
        deferred[work.route] = deferred.get(work.route, 0) + 1
    now = utcnow()
    routes = []
    for route in config.routes:
        cursor = cursors.get(route.source)
        last = cursor.last_poll_at if cursor else None
        pause = paused.get(route.name)
        routes.append(RouteRow(
            name=route.name, source=route.source, target=route.target,
            description=f"{route.source} ({config.stores[route.source].platform}) → {route.target} "
                        f"({config.stores[route.target].platform}){' two-way' if route.two_way else ''}",
            paused=pause is not None, pause_note=pause.note if pause else None,
            paused_at=pause.paused_at if pause else None, last_poll_at=last,
            lag_seconds=(now - last).total_seconds() if last else None,
            last_error=cursor.last_error if cursor else None,
            states={row["state"]: row["count"] for row in counts["bindings"] if row["route"] == route.name},
            open_attention=attention.get(route.name, 0), deferred=deferred.get(route.name, 0)))
    calls = metrics.calls_by_store()
    stores = [_store_row(ctx, name, cfg, calls.get(name, {})) for name, cfg in sorted(config.stores.items())]
    return routes, stores


def _store_row(ctx: Context, name: str, cfg: StoreConfig, calls: dict[str, float]) -> StoreRow:
    tokens = burst = blocked = None
    try:
        stats = metrics.bucket_stats(ctx, name)
    except Exception:  # noqa: BLE001 - the budget is informative; Redis down must not break the page
        stats = None
    if stats is not None:
        tokens, burst, blocked = stats.tokens, stats.burst, stats.blocked_for
    return StoreRow(name=name, platform=cfg.platform, base_url=cfg.base_url, tokens=tokens, burst=burst,
                    blocked_for=blocked, calls=int(sum(calls.values())), rate_limited=int(calls.get("429", 0)),
                    server_errors=int(sum(v for k, v in calls.items() if k.startswith("5"))),
                    auth_errors=int(calls.get("401", 0) + calls.get("403", 0)))


def admin_url(cfg: StoreConfig, order_id: str | None) -> str | None:
    """The platform's admin page of an order (``options.admin_order_url`` with ``{id}`` overrides)."""
    if not order_id:
        return None
    template = cfg.options.get("admin_order_url")
    if isinstance(template, str) and "{id}" in template:
        return template.replace("{id}", order_id)
    base = cfg.base_url
    if cfg.platform == "bigcommerce":
        match = _BC_HASH.search(base)
        return f"https://store-{match.group(1)}.mybigcommerce.com/manage/orders/{order_id}" if match else None
    if cfg.platform == "cscart":
        return f"{base}/admin.php?dispatch=orders.details&order_id={order_id}"
    if cfg.platform == "evershop":
        return f"{base.removesuffix('/api')}/admin/orders/edit/{order_id}"
    if cfg.platform == "merchantpro":
        return f"{base}/admin/orders/{order_id}"
    return None


def flatten(value: Any, prefix: str = "") -> dict[str, str]:
    """A nested JSON value as ``{"dotted.path": "json text"}`` rows, in document order."""
    rows: dict[str, str] = {}
    if isinstance(value, dict):
        for key, item in value.items():
            if key in _HIDDEN:
                continue
            rows.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(value, list) and value:
        for index, item in enumerate(value):
            rows.update(flatten(item, f"{prefix}[{index}]"))
    else:
        rows[prefix or "(value)"] = orjson.dumps(value).decode() if not isinstance(value, str) else value
    return rows


def _same(left: str | None, right: str | None) -> bool:
    """Equal values, where ``"10.00"`` and ``"10"`` are the same amount."""
    if left == right:
        return True
    if left is None or right is None:
        return False
    try:
        return Decimal(left) == Decimal(right)
    except (InvalidOperation, ValueError):
        return False


@dataclass
class OrderSide:
    """One side of an order as its store shows it now (or why it could not be read)."""

    store: str
    platform: str
    order_id: str | None
    number: str | None
    admin_url: str | None
    rows: dict[str, str] = field(default_factory=dict)
    error: str | None = None


@dataclass
class OrderView:
    """The order page: both sides, their differences, the ledger and the open items."""

    binding: Binding
    source: OrderSide
    target: OrderSide
    diff: list[tuple[str, str | None, str | None, bool]]
    operations: list[Operation]
    attention: list[Any]


def _side(ctx: Context, store: str, order_id: str | None, number: str | None) -> OrderSide:
    cfg = ctx.config.stores[store]
    side = OrderSide(store=store, platform=cfg.platform, order_id=order_id, number=number,
                     admin_url=admin_url(cfg, order_id))
    if not order_id:
        side.error = "no mirror yet"
        return side
    try:
        neutral = ctx.runtime.to_neutral(store, ctx.runtime.connector(store).get_order(order_id))
    except OrderSyncError as error:
        side.error = f"{type(error).__name__}: {error}"
        return side
    side.rows = flatten(neutral.model_dump(mode="json"))
    return side


def order_view(ctx: Context, binding: Binding) -> OrderView:
    """Read both sides of a binding now and line their neutral projections up, differences marked."""
    source = _side(ctx, binding.source_store, binding.source_id, binding.source_number)
    target = _side(ctx, binding.target_store, binding.target_id, binding.target_number)
    keys = list(dict.fromkeys([*source.rows, *target.rows]))
    diff = [(key, source.rows.get(key), target.rows.get(key), not _same(source.rows.get(key), target.rows.get(key)))
            for key in keys]
    operations = ctx.store.operations_for(binding.route, binding.source_store, binding.source_id)
    attention = [item for item in ctx.store.find_attention(status=None, route=binding.route, limit=500)
                 if item.order_id in (binding.source_id, binding.target_id)]
    return OrderView(binding, source, target, diff, operations, attention)

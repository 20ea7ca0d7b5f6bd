"""The deep sweep of a route: every order its source holds, and every mirrored order it no longer holds.

A change feed never shows a deletion (the order is simply gone from the listing), so the sweep
compares the source's full listing with the route's bindings: a bound order missing from the
listing is reconciled too, and the engine deletes (or cancels) its mirror. Used by
``ordersync sweep``; on a two-way route both sides are swept.
"""

from __future__ import annotations

from collections.abc import Callable

from sync.config import Route
from sync.store import DueKey
from workers.context import Context

__all__ = ["sweep_keys"]


def sweep_keys(ctx: Context, route: Route, *, on_page: Callable[[int], None] | None = None) -> list[DueKey]:
    """The orders to reconcile for a deep sweep of ``route``: listed ones, then bound ones gone from the listing."""
    sides = [(route.source, "source")] + ([(route.target, "target")] if route.two_way else [])
    bindings = [b for b in ctx.store.bindings(route.name) if b.state == "linked" and not b.deleted]
    keys: list[DueKey] = []
    for store, side in sides:
        listed: dict[str, None] = {}
        for change in ctx.runtime.connector(store).iter_orders(None, lookback_seconds=route.lookback):
            if change.id not in listed:
                listed[change.id] = None
                if on_page is not None:
                    on_page(len(listed))
        bound = [b.source_id if side == "source" else (b.target_id or "") for b in bindings]
        gone = [order_id for order_id in bound if order_id and order_id not in listed]
        keys += [(route.name, store, order_id) for order_id in [*listed, *gone]]
    return keys

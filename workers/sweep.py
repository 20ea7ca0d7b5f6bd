"""The sweep of a route by list: read both stores' order lists, plan with :func:`sync.sweep.plan_sweep`.

A change feed never shows a deletion, and a mirror changed behind ordersync's back never shows in
the source's feed, so a sweep compares the source's and the target's whole lists with the route's
bindings (see :mod:`sync.sweep` for the rules). Only the orders that differ are reconciled, deeply;
the rest cost nothing beyond their list pages. Where a platform's stamp does not move (EverShop),
a bound row's synced projection is hashed from the row (:meth:`Connector.hydrate`), or from the order
when the list row is not carried. Used by ``ordersync sweep``, ``ordersync sync --full`` and the
``reconcile_all`` beat task.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import structlog

from connectors.base import CursorState, OrderChange
from connectors.errors import AuthFailed, OrderSyncError, Unreachable
from sync.config import Route
from sync.keys import content_hash, sync_projection
from sync.models import Binding
from sync.store import DueKey
from sync.sweep import Listing, SweepPlan, hashes_needed, plan_sweep
from workers.context import Context

__all__ = ["Lists", "StoreList", "drive_plan", "plan_route", "sweep_keys"]

log = structlog.get_logger("ordersync.sweep")
StoreDown = (Unreachable, AuthFailed)


@dataclass(frozen=True)
class StoreList:
    """A store's whole order list, read once per run and shared by the routes on it, and the feed's cursor."""

    store: str
    rows: dict[str, OrderChange]
    cursor: CursorState | None


class Lists:
    """The stores' whole lists for one sweep run, each read at most once (a store on several routes)."""

    def __init__(self, ctx: Context, *, on_row: Callable[[int], None] | None = None) -> None:
        self.ctx = ctx
        self.on_row = on_row
        self._read: dict[str, StoreList] = {}
        self._count = 0

    def get(self, store: str, lookback: float) -> StoreList:
        """The list of ``store`` (``iter_orders(None)``: every order), read now unless read in this run."""
        if store not in self._read:
            feed = self.ctx.runtime.connector(store).iter_orders(None, lookback_seconds=lookback)
            rows: dict[str, OrderChange] = {}
            for change in feed:
                if change.id not in rows:
                    self._count += 1
                    if self.on_row is not None:
                        self.on_row(self._count)
                rows[change.id] = change  # a row read twice (it moved while we paged): the later one wins
            self._read[store] = StoreList(store, rows, feed.cursor)
        return self._read[store]

    def read(self, store: str) -> StoreList | None:
        """The list of ``store`` if this run read it."""
        return self._read.get(store)


def _hashes(ctx: Context, store: str, rows: dict[str, OrderChange], ids: Iterable[str]) -> dict[str, str | None]:
    """The synced-projection hash of each order ``ids`` names: from its list row when carried, else read.

    An order that cannot be read or mapped gets ``None`` (taken as changed: the reconcile will say why);
    a store that is down or refuses us stops the sweep.
    """
    connector = ctx.runtime.connector(store)
    out: dict[str, str | None] = {}
    unread: list[str] = []
    for order_id in ids:
        snapshot = rows[order_id].snapshot
        if snapshot is None:
            unread.append(order_id)
            continue
        try:
            out[order_id] = _hash(ctx, store, connector.hydrate(snapshot))
        except StoreDown:
            raise
        except OrderSyncError as error:
            log.info("sweep.hash_failed", store=store, order_id=order_id, reason=str(error))
            out[order_id] = None
    for order_id, bundle in connector.get_orders(unread) if unread else ():
        if isinstance(bundle, StoreDown):
            raise bundle
        try:
            out[order_id] = None if isinstance(bundle, Exception) else _hash(ctx, store, bundle)
        except OrderSyncError as error:
            log.info("sweep.hash_failed", store=store, order_id=order_id, reason=str(error))
            out[order_id] = None
    return out


def _hash(ctx: Context, store: str, bundle: Any) -> str:
    return content_hash(sync_projection(ctx.runtime.to_neutral(store, bundle)))


def _listing(ctx: Context, route: Route, bindings: list[Binding], read: StoreList) -> Listing:
    stamp_moves = ctx.runtime.connector(read.store).capabilities.modified_stamp_moves
    listing = Listing(read.store, stamp_moves, read.rows)
    needed = hashes_needed(route, bindings, listing)
    if not needed:
        return listing
    return Listing(read.store, stamp_moves, read.rows, _hashes(ctx, read.store, read.rows, needed))


def plan_route(ctx: Context, route: Route, lists: Lists) -> SweepPlan:
    """Read both stores' lists (once per ``lists``) and plan the reconciles the route needs."""
    source = lists.get(route.source, route.lookback)
    target = lists.get(route.target, route.lookback)
    every = ctx.store.bindings()
    mine = [b for b in every if b.route == route.name]
    mirrors = {(b.target_store, b.target_id) for b in every if b.target_id and not b.deleted}
    plan = plan_sweep(route, mine, _listing(ctx, route, mine, source), _listing(ctx, route, mine, target),
                      mirrors=mirrors)
    log.info("sweep.planned", route=route.name, compared=plan.compared, unchanged=plan.unchanged,
             reconciles=len(plan.items))
    return plan


def sweep_keys(plan: SweepPlan) -> list[DueKey]:
    """The due-work keys of a plan's reconciles."""
    return [(plan.route, item.store, item.order_id) for item in plan.items]


def drive_plan(plan: SweepPlan) -> int:
    """Record a plan's reconciles as due work (reason ``sweep``: deep) on the backfill lane and publish them
    with their list rows, one store at a time (rows are matched by order id); returns how many were published."""
    from workers.tasks import drive

    published = 0
    for store in dict.fromkeys(item.store for item in plan.items):
        items = [item for item in plan.items if item.store == store]
        changes = {item.order_id: item.change for item in items if item.change is not None}
        published += drive([(plan.route, store, item.order_id) for item in items], reason="sweep", lane="backfill",
                           changes=changes)
    return published

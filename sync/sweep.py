"""Sweeps by list: compare both stores' order lists with the bindings, reconcile only what differs.

A deep sweep that reads every order and every mirror one by one costs several calls per order
although nearly all of them are unchanged. The list pages already say enough: a row's modification
stamp (or, where the platform's stamp never moves, as on EverShop, the hash of its synced
projection) tells whether an order changed since ordersync last synced it, and a row missing from a
list tells that the order was deleted. :func:`plan_sweep` turns the two lists and the route's
bindings into the few reconciles that are needed; it does no I/O, so every rule is unit-tested.

The rules, per binding (``source`` = the order it started from, ``target`` = its mirror):

- a listed order without a binding → reconcile (may create);
- the source order missing from its list → reconcile deep (the engine deletes or cancels the mirror);
- the source changed (stamp differs from ``source_updated_at``, or projection hash differs from
  ``source_seen_hash``) → reconcile deep with the row;
- the mirror missing from the target's list → reconcile deep;
- the mirror changed: its stamp is neither ``target_updated_at`` nor at most :data:`STAMP_SLACK`
  after ``target_synced_at`` (our own last write), or its projection hash differs from
  ``target_seen_hash`` → reconcile deep (on a two-way route the change is mirrored back, so the
  mirror's own store is reconciled).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

from connectors.base import OrderChange
from sync.config import Route
from sync.models import Binding

__all__ = ["STAMP_SLACK", "Listing", "Reason", "SweepItem", "SweepPlan", "hashes_needed", "mirror_unchanged",
           "origin_unchanged", "plan_sweep"]

STAMP_SLACK = timedelta(seconds=1)
"""A mirror stamped no later than this after our last read or write of it was changed by that write."""

Reason = Literal["new", "pending", "source_gone", "source_changed", "mirror_gone", "mirror_changed"]


@dataclass(frozen=True)
class Listing:
    """One store's whole order list as read for a sweep, by order id.

    ``stamp_moves`` is the platform's :attr:`~connectors.base.Capabilities.modified_stamp_moves`;
    where it is false, ``hashes`` holds the synced-projection hash of the bound rows (``None`` when
    it could not be computed: the order is then taken as changed).
    """

    store: str
    stamp_moves: bool
    rows: Mapping[str, OrderChange]
    hashes: Mapping[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class SweepItem:
    """One reconcile a sweep needs: which order of which store, deep or not, why, and its list row."""

    store: str
    order_id: str
    deep: bool
    reason: Reason
    change: OrderChange | None = None


@dataclass(frozen=True)
class SweepPlan:
    """What a sweep of one route found: the reconciles to run, rows compared, bound orders unchanged."""

    route: str
    items: tuple[SweepItem, ...]
    compared: int
    unchanged: int


def origin_unchanged(listing: Listing, row: OrderChange, binding: Binding) -> bool:
    """Whether the order a binding started from is as ordersync last synced it, judged from its list row."""
    if not listing.stamp_moves:
        seen = listing.hashes.get(row.id)
        return seen is not None and seen == binding.source_seen_hash
    return row.updated_at is not None and row.updated_at == binding.source_updated_at


def mirror_unchanged(listing: Listing, row: OrderChange, binding: Binding) -> bool:
    """Whether a mirror is as ordersync last read or wrote it, judged from its list row.

    Its stamp equals the one last read (``target_updated_at``), or is at most :data:`STAMP_SLACK`
    after our last read or write (``target_synced_at``): that change was ours.
    """
    if not listing.stamp_moves:
        seen = listing.hashes.get(row.id)
        return seen is not None and seen == binding.target_seen_hash
    stamp = row.updated_at
    if stamp is None:
        return False
    if binding.target_updated_at is not None and stamp == binding.target_updated_at:
        return True
    return binding.target_synced_at is not None and stamp <= binding.target_synced_at + STAMP_SLACK


def _live(bindings: Iterable[Binding], route: Route) -> list[Binding]:
    return [b for b in bindings if b.route == route.name and not b.deleted]


def hashes_needed(route: Route, bindings: Iterable[Binding], listing: Listing) -> list[str]:
    """The listed ids whose projection hash :func:`plan_sweep` compares (bound rows of a store whose stamp
    does not move); every other row is judged by its stamp or needs no comparison."""
    if listing.stamp_moves:
        return []
    wanted: list[str] = []
    for b in _live(bindings, route):
        if b.state != "linked" or not b.target_id:
            continue
        for store, order_id in ((b.source_store, b.source_id), (b.target_store, b.target_id)):
            if store == listing.store and order_id in listing.rows:
                wanted.append(order_id)
    return wanted


class _Collector:
    """Items in the order found, one per (store, order): the first reason wins."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], SweepItem] = {}

    def add(self, item: SweepItem) -> None:
        self.items.setdefault((item.store, item.order_id), item)


def _check_binding(route: Route, b: Binding, listings: Mapping[str, Listing], out: _Collector) -> bool:
    """Add what one binding needs; returns whether both sides were found unchanged."""
    origin, mirror = listings[b.source_store], listings[b.target_store]
    row = origin.rows.get(b.source_id)
    if b.state != "linked" or not b.target_id:  # a create that did not finish: let the engine resume it
        out.add(SweepItem(b.source_store, b.source_id, row is None, "pending", row))
        return False
    if row is None:
        out.add(SweepItem(b.source_store, b.source_id, True, "source_gone"))
        return False
    found = True
    if not origin_unchanged(origin, row, b):
        out.add(SweepItem(b.source_store, b.source_id, True, "source_changed", row))
        found = False
    mirror_row = mirror.rows.get(b.target_id)
    if mirror_row is not None and mirror_unchanged(mirror, mirror_row, b):
        return found
    reason: Reason = "mirror_gone" if mirror_row is None else "mirror_changed"
    if route.two_way:  # the mirror's store is an origin too: its change (or deletion) goes back
        out.add(SweepItem(b.target_store, b.target_id, True, reason, mirror_row))
    else:  # one-way: reconcile the source, deeply, so the engine repairs (or finds gone) the mirror
        out.add(SweepItem(b.source_store, b.source_id, True, reason, row))
    return False


def plan_sweep(route: Route, bindings: Iterable[Binding], source: Listing, target: Listing,
               mirrors: Collection[tuple[str, str]] = ()) -> SweepPlan:
    """The reconciles a sweep of ``route`` needs, from both stores' lists and the route's bindings.

    ``bindings`` may hold other routes' bindings (ignored); ``mirrors`` are ``(store, order id)`` of
    mirrors made by *any* route: such a row is never new here (the engine would refuse to mirror it
    back, after reading it).
    """
    if (source.store, target.store) != (route.source, route.target):
        raise ValueError(f"route {route.name} goes {route.source} → {route.target}, "
                         f"not {source.store} → {target.store}")
    listings = {source.store: source, target.store: target}
    live = _live(bindings, route)
    bound = {(b.source_store, b.source_id) for b in bindings if b.route == route.name}
    bound |= {(b.target_store, b.target_id) for b in bindings if b.route == route.name and b.target_id}
    out = _Collector()
    for listing in (source, target) if route.two_way else (source,):
        for order_id, row in listing.rows.items():
            key = (listing.store, order_id)
            if key not in bound and key not in mirrors:
                out.add(SweepItem(listing.store, order_id, False, "new", row))
    unchanged = sum(_check_binding(route, b, listings, out) for b in live
                    if b.source_store in listings and b.target_store in listings)
    return SweepPlan(route.name, tuple(out.items.values()), len(source.rows) + len(target.rows), unchanged)

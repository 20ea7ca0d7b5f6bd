"""Exactly once from the platforms: what each target store already holds, by our reference.

Every order ordersync creates carries our reference (``ordersync:<source store>:<source id>``)
on the target itself. That reference, not the local state store, is the final word on "already
mirrored": a new, wiped or restored store, or a move from SQLite to PostgreSQL, must adopt the
mirrors that exist instead of creating them again.

Asking the target once per create would cost a call (or several) per order. Instead each target
store has a **reference index** (table ``target_references``), built from the target's own list
pages — 100 to 250 orders a call — and kept current incrementally: a refresh reads only what was
created or changed since the last one (the connector's cursor in ``reference_index_state``).

When the index is consulted: before a create that the ledger cannot vouch for (no ledger row for
its idempotency key). Orders this store created itself are in the ledger, so an index refreshed at
most every ``refresh_seconds`` sees every mirror another store (a lost one, the SQLite file before a
move) made; the first lookup on an empty index reads the target's whole list once. Platforms whose
list pages do not carry our reference (no :class:`~connectors.base.ReferenceLister`) fall back to
the connector's own filtered lookup (:meth:`~connectors.base.Connector.find_by_reference`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from connectors.base import Connector, OrderChange, OrderReference, ReferenceLister
from sync.config import Route
from sync.keys import idempotency_key
from sync.models import ReferenceIndexState, TargetReference, utcnow
from sync.store import Store

__all__ = [
    "REFRESH_SECONDS", "AdoptSummary", "IndexRefresh", "ReferenceIndex", "bind_from_references", "split_reference",
]

log = structlog.get_logger("ordersync.adoption")

REFRESH_SECONDS = 30.0
"""The longest an index is trusted without an incremental refresh (a page or two per refresh)."""

_BATCH = 500


@dataclass
class IndexRefresh:
    """What one refresh of a target store's index read: orders with our reference, and new entries."""

    target_store: str
    seen: int = 0
    added: int = 0
    full: bool = False


def split_reference(reference: str) -> tuple[str, str] | None:
    """``ordersync:<store>:<id>`` → ``(store, id)``; ``None`` for anything else."""
    prefix = "ordersync:"
    if not reference.startswith(prefix):
        return None
    store, sep, order_id = reference[len(prefix):].partition(":")
    if not sep or not store or not order_id:
        return None
    return store, order_id


class ReferenceIndex:
    """Per target store: our reference → the target order that carries it, read from the target."""

    def __init__(self, store: Store, *, clock: Callable[[], datetime] = utcnow,
                 refresh_seconds: float = REFRESH_SECONDS) -> None:
        self.store = store
        self.clock = clock
        self.refresh_seconds = refresh_seconds
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    # -- lookups --------------------------------------------------------------------------------
    def before_create(self, target_store: str, connector: Connector, ref: OrderReference,
                      previous: str | None) -> str | None:
        """The target order already holding our reference, asked before a create the ledger cannot
        vouch for: searched directly when an earlier attempt (ledger status ``previous``) may have
        reached the target, else through the index (a new, wiped or moved state store)."""
        if previous is not None:
            return connector.find_by_reference(ref)
        return self.find(target_store, connector, ref)

    def find(self, target_store: str, connector: Connector, ref: OrderReference) -> str | None:
        """The target order already holding ``ref.key``, or ``None`` (then it is safe to create).

        Refreshes the index first when it is older than ``refresh_seconds`` (built in full when it
        was never built). Connectors that cannot list references are asked directly.
        """
        if not isinstance(connector, ReferenceLister):
            return connector.find_by_reference(ref)
        self.refresh(target_store, connector, max_age=self.refresh_seconds)
        return self.lookup(target_store, ref.key)

    def lookup(self, target_store: str, reference: str) -> str | None:
        """The indexed target id for ``reference`` (no platform call)."""
        with self.store.session() as s:
            row = s.exec(select(TargetReference).where(TargetReference.target_store == target_store,
                                                       TargetReference.reference == reference)).first()
            return row.target_id if row else None

    def entries(self, target_store: str, *, source_store: str | None = None) -> list[TargetReference]:
        """Every indexed reference of a target store (of one source store's orders when given)."""
        with self.store.session() as s:
            query = select(TargetReference).where(TargetReference.target_store == target_store)
            if source_store is not None:
                query = query.where(col(TargetReference.reference).startswith(f"ordersync:{source_store}:"))
            return list(s.exec(query.order_by(col(TargetReference.id))).all())

    # -- refresh --------------------------------------------------------------------------------
    def refresh(self, target_store: str, connector: ReferenceLister, *, max_age: float | None = None,
                full: bool = False, on_page: Callable[[int], None] | None = None) -> IndexRefresh:
        """Read the target's references changed since the last refresh (all of them when ``full`` or
        never read). With ``max_age``, does nothing when the last refresh is younger than that."""
        with self._lock(target_store):
            state = self._state(target_store)
            now = self.clock()
            if (max_age is not None and not full and state is not None and state.refreshed_at is not None
                    and now - state.refreshed_at < timedelta(seconds=max_age)):
                return IndexRefresh(target_store)
            since = None if full or state is None else state.cursor
            outcome = IndexRefresh(target_store, full=since is None)
            feed = connector.iter_references(since)
            batch: list[OrderChange] = []
            for change in feed:
                batch.append(change)
                if len(batch) >= _BATCH:
                    self._record(target_store, batch, outcome, on_page)
                    batch = []
            self._record(target_store, batch, outcome, on_page)
            self._save_state(target_store, feed.cursor, now)
            log.info("reference_index.refreshed", target_store=target_store, seen=outcome.seen,
                     added=outcome.added, full=outcome.full)
            return outcome

    def forget(self, target_store: str) -> None:
        """Drop a target store's index, so the next lookup reads the whole list again."""
        with self.store.session() as s:
            for row in s.exec(select(TargetReference).where(TargetReference.target_store == target_store)).all():
                s.delete(row)
            state = s.get(ReferenceIndexState, target_store)
            if state is not None:
                s.delete(state)

    def _lock(self, target_store: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(target_store, threading.Lock())

    def _state(self, target_store: str) -> ReferenceIndexState | None:
        with self.store.session() as s:
            return s.get(ReferenceIndexState, target_store)

    def _save_state(self, target_store: str, cursor: dict[str, object] | None, now: datetime) -> None:
        for attempt in range(2):  # two processes building the same index: the second insert becomes an update
            try:
                with self.store.session() as s:
                    row = s.get(ReferenceIndexState, target_store) or ReferenceIndexState(target_store=target_store)
                    row.cursor = dict(cursor) if cursor is not None else None
                    row.refreshed_at = now
                    s.add(row)
                break
            except IntegrityError:
                if attempt:
                    raise
        with self.store.session() as s:
            count = s.exec(select(func.count()).select_from(TargetReference).where(
                TargetReference.target_store == target_store)).one()
            state = s.get(ReferenceIndexState, target_store)
            if state is not None:
                state.orders = int(count)
                s.add(state)

    def _record(self, target_store: str, changes: Iterable[OrderChange], outcome: IndexRefresh,
                on_page: Callable[[int], None] | None) -> None:
        """Insert the references not indexed yet; the first order seen with a reference keeps it."""
        fresh: dict[str, OrderChange] = {}
        for change in changes:
            if change.reference and change.reference not in fresh and len(change.reference) <= 300:
                fresh[change.reference] = change
        outcome.seen += len(fresh)
        if not fresh:
            return
        with self.store.session() as s:
            known = set(s.exec(select(TargetReference.reference).where(
                TargetReference.target_store == target_store,
                col(TargetReference.reference).in_(list(fresh)))).all())
        rows = [(key, change.id[:120], str(change.number)[:120] if change.number else None)
                for key, change in fresh.items() if key not in known]
        try:
            with self.store.session() as s:
                s.add_all([_entry(target_store, *row) for row in rows])
        except IntegrityError:  # another process indexed some of them meanwhile: one at a time
            for row in rows:
                try:
                    with self.store.session() as s:
                        s.add(_entry(target_store, *row))
                except IntegrityError:
                    continue
        outcome.added += len(rows)
        if on_page is not None:
            on_page(len(fresh))


def _entry(target_store: str, reference: str, target_id: str, number: str | None) -> TargetReference:
    return TargetReference(target_store=target_store, reference=reference, target_id=target_id, target_number=number)


@dataclass
class AdoptSummary:
    """What ``ordersync adopt`` did on one route: mirrors found on the target, and what became of them."""

    route: str
    found: int = 0
    bound: int = 0
    already: int = 0
    conflicts: list[str] = field(default_factory=list)


def bind_from_references(store: Store, index: ReferenceIndex, route: Route,
                         on_entry: Callable[[], None] | None = None) -> AdoptSummary:
    """Bind every mirror the index found on the route's target (and, two-way, on its source).

    A new binding is ``linked`` to the order holding our reference, and its create is recorded as
    done in the ledger (``adopted``), so no later run creates it again; the next reconcile compares
    both sides and applies what differs. A binding that points at another order is left alone and
    reported as a conflict.
    """
    summary = AdoptSummary(route.name)
    directions = [(route.source, route.target)] + ([(route.target, route.source)] if route.two_way else [])
    for origin_store, mirror_store in directions:
        for entry in index.entries(mirror_store, source_store=origin_store):
            parsed = split_reference(entry.reference)
            if parsed is None:
                continue
            summary.found += 1
            _bind_one(store, route, parsed[1], origin_store, mirror_store, entry, summary)
            if on_entry is not None:
                on_entry()
    return summary


def _bind_one(store: Store, route: Route, source_id: str, origin_store: str, mirror_store: str,
              entry: TargetReference, summary: AdoptSummary) -> None:
    binding = store.binding(route.name, origin_store, source_id)
    if binding is not None and binding.target_id and binding.state == "linked":
        if binding.target_id == entry.target_id:
            summary.already += 1
        else:
            summary.conflicts.append(f"{origin_store}:{source_id} is bound to {binding.target_id}, "
                                     f"but {mirror_store} order {entry.target_id} also holds its reference")
        return
    if binding is None:
        binding = store.open_binding(route=route.name, source_store=origin_store, source_id=source_id,
                                     target_store=mirror_store, reference=entry.reference)
    assert binding.id is not None
    key = idempotency_key(route.name, f"{origin_store}:{source_id}", "create")
    _, previous = store.begin_operation(key=key, route=route.name, source_store=origin_store, source_id=source_id,
                                        operation="create")
    if previous != "succeeded":
        store.finish_operation(key, "succeeded", result={"id": entry.target_id, "number": entry.target_number,
                                                         "adopted": True})
    store.update_binding(binding.id, target_id=entry.target_id, target_number=entry.target_number, state="linked",
                         pending_since=None)
    summary.bound += 1

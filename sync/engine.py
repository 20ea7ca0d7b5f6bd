"""The reconcile engine: one function brings one order on one route to the same state on both sides.

It is *state-based*: events only say "look at order X"; the engine always reloads the order,
compares it with what it last synced, and applies the missing steps in a fixed order
(create → status → shipments → cancel/delete). So duplicate and out-of-order events do not
matter, and a crash at any point is recovered by simply running it again:

- **Creates** write a ``pending`` binding first (committed). If an earlier attempt may have
  reached the target (ledger row ``started``/``unknown``), the target is searched by our reference
  (:meth:`Connector.find_by_reference`) and a found order is adopted instead of created again.
- **Every write** has a deterministic idempotency key recorded in the ledger *before* the call.
- **Unchanged or echoed** sides are skipped: the hash of each side's synced projection is kept on
  the binding after every sync, so our own write coming back (two-way routes) is recognised.
- **Stale reads** (a source ``updated_at`` older than the one already applied) are skipped.
- **Skippable failures** (unknown SKU, rejected write, invalid payload) park the order in the
  attention queue with its input and a replay action; retriable ones propagate to the caller.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

import orjson
import structlog

from connectors.base import Connector, OrderReference
from connectors.errors import (
    AuthFailed,
    Conflict,
    ConnectorError,
    InvalidPayload,
    NotFound,
    OrderSyncError,
    OutcomeUnknown,
    Rejected,
    Transient,
    UnknownSku,
)
from connectors.logging import bound
from mappings import effects
from mappings.money import within_precision
from mappings.neutral import NeutralOrder
from sync.adoption import ReferenceIndex
from sync.config import DEFAULT_EXCLUDED_STATUSES, Route
from sync.drift import line_drift
from sync.keys import content_hash, idempotency_key, sync_projection
from sync.models import Binding, utcnow
from sync.planner import PlannedOp, plan_updates
from sync.runtime import LocalLocker, Locker, Runtime
from sync.store import Store

__all__ = ["Engine", "MirrorPending", "Outcome", "ReconcileResult", "pair_lock_name"]

Outcome = Literal["synced", "unchanged", "stale", "filtered", "skipped", "parked", "deleted", "diverged"]
log = structlog.get_logger("ordersync.engine")

LOCK_TTL = 60.0
MAX_PASSES = 3
LOOKUP_SKEW = timedelta(minutes=10)
RESOLVED_BY_SYNC = ("unknown_sku", "rejected", "invalid_payload", "retries_exhausted", "auth", "conflict",
                    "not_found", "error")
INEXPRESSIBLE = "inexpressible_state"
PENDING_SKEW = timedelta(minutes=2)


class MirrorPending(Transient):
    """An order read on a reverse route may be the mirror a create in flight is making: wait, retry.

    Raised instead of mirroring it back (which would duplicate the original). Retriable: once the
    create is linked, the order is recognised as that mirror and never mirrored.
    """


def pair_lock_name(route: Route, origin_store: str, origin_id: str) -> str:
    """One lock per order *pair*: the unordered store pair and the order the pair started from.

    Both directions of a store pair (``a-to-b`` and ``b-to-a``, or a two-way route) take the same
    lock for the same order, so they never work on it at once.
    """
    low, high = sorted((route.source, route.target))
    return f"pair:{low}|{high}:{origin_store}:{origin_id}"


def _state(order: NeutralOrder) -> dict[str, Any]:
    """An order's statuses as the operator reads them (neutral and the platform's own codes)."""
    return {"status": order.status, "payment_status": order.payment_status,
            "fulfillment_status": order.fulfillment_status, "raw_status": order.raw_status.code,
            "raw_payment": order.raw_status.payment_code,
            "shipments": len([s for s in order.shipments if s.status != "cancelled"])}


def _observed(order: NeutralOrder) -> str:
    """The target's state as last read, for keys that must change when the target changes."""
    when = order.updated_at.isoformat() if order.updated_at else ""
    return content_hash([_state(order), sync_projection(order), when])


def _identity(order: NeutralOrder, reference: str) -> dict[str, Any]:
    """What identifies our create on the target before it exists (committed with the pending binding).

    The reference rides in the create body on BigCommerce (``external_order_id``), MerchantPro (a tag)
    and CS-Cart (the admin-notes marker); EverShop stamps it afterwards, so its created order is also
    recognised by the customer e-mail we check out with (and the cart id, persisted when the cart exists).
    """
    email = (order.customer.email or "").strip().lower()
    return {"reference": reference, "email": email or None,
            "marker": f"[{reference}]", "tag": reference, "external_order_id": reference}


@dataclass
class ReconcileResult:
    """What one reconcile did: its outcome, the writes applied, and why when nothing was."""

    route: str
    store: str
    order_id: str
    outcome: Outcome
    applied: list[str] = field(default_factory=list)
    reason: str | None = None
    target_store: str | None = None
    target_id: str | None = None
    warnings: list[str] = field(default_factory=list)
    warned: list[tuple[str, str]] = field(default_factory=list)
    binding_id: int | None = None
    unapplied: list[str] = field(default_factory=list)
    final_warnings: list[str] = field(default_factory=list)

    def warn(self, operation: str, messages: list[str]) -> None:
        """Add mapping warnings raised by ``operation`` (kept in order, once each)."""
        for message in messages:
            if message not in self.warnings:
                self.warnings.append(message)
            if (operation, message) not in self.warned:
                self.warned.append((operation, message))


@dataclass
class _Known:
    """The mirror's last known bundle, and whether its ids (lines, addresses) were read from the platform."""

    bundle: Any
    read: bool

    def stored(self) -> dict[str, Any]:
        """What the binding keeps (``target_state``)."""
        return {"bundle": self.bundle, "read": self.read}

    @staticmethod
    def of(binding: Binding) -> _Known | None:
        """The state a binding kept, if any."""
        state = binding.target_state or {}
        if not isinstance(state.get("bundle"), dict) or binding.target_synced_at is None:
            return None
        return _Known(state["bundle"], bool(state.get("read")))


@dataclass
class _Side:
    store: str
    order_id: str
    connector: Connector
    neutral: NeutralOrder | None = None
    raw: Any = None


def _json(value: Any) -> str:
    return orjson.dumps(value, default=str, option=orjson.OPT_INDENT_2).decode()


class Engine:
    """Reconciles orders along the configured routes."""

    def __init__(self, runtime: Runtime, store: Store, *, locker: Locker | None = None,
                 clock: Callable[[], datetime] = utcnow, lock_ttl: float = LOCK_TTL) -> None:
        self.runtime = runtime
        self.store = store
        self.locker: Locker = locker or LocalLocker()
        self.clock = clock
        self.lock_ttl = lock_ttl
        self._held = threading.local()
        self.references = ReferenceIndex(store, clock=clock)

    # -- entry point ----------------------------------------------------------------------------
    def reconcile(self, route_name: str, store_name: str, order_id: str, *, deep: bool = False,
                  snapshot: dict[str, Any] | None = None, read_at: datetime | None = None) -> ReconcileResult:
        """Bring order ``order_id`` of ``store_name`` and its mirror on ``route_name`` into line.

        Raises only retriable errors (``disposition == "retriable"``: rate limits, transient faults, locks):
        everything skippable or fatal is parked in the attention queue and reported in the result.
        ``deep`` (the sweep) compares the target's actual state even when the source is unchanged, so a
        target changed behind ordersync's back is repaired. ``snapshot`` is the order's list row read at
        ``read_at`` (a change feed's :class:`~connectors.base.OrderChange`): within the freshness bound
        (``settings.snapshot_max_age``) it replaces reading the order; a retry passes none and reads.
        """
        route = self.runtime.config.route(route_name)
        if store_name not in (route.source, route.target):
            raise KeyError(f"store {store_name!r} is not on route {route.name!r}")
        with bound(route=route.name, store=store_name, order_id=order_id):
            binding = self._binding_for(route, store_name, order_id) or \
                self.store.binding_by_target_any(store_name, order_id)
            origin = (binding.source_store, binding.source_id) if binding else (store_name, order_id)
            seen: dict[str, Any] = {}
            with self.locker.hold(pair_lock_name(route, *origin), self.lock_ttl) as held:
                self._held.lock = held
                try:
                    result = self._reconcile_locked(route, store_name, order_id, seen, deep=deep,
                                                    snapshot=(snapshot, read_at))
                except OrderSyncError as error:
                    if error.disposition == "retriable":  # RateLimited, Transient, lock contention
                        raise
                    return self._park_error(route, store_name, order_id, error, seen.get("raw"))
            self._keep_warnings(route, store_name, order_id, result)
            return result

    def _keep_warnings(self, route: Route, store_name: str, order_id: str, result: ReconcileResult) -> None:
        """Store the reconcile's mapping warnings with the binding and operation, and log them."""
        if not result.warned or result.binding_id is None:
            return
        added = self.store.record_warnings(route=route.name, store=store_name, order_id=order_id,
                                           binding_id=result.binding_id, items=result.warned)
        if added:
            log.warning("reconcile.warnings", warnings=[f"{op}: {msg}" for op, msg in result.warned], new=added)

    # -- internals ------------------------------------------------------------------------------
    def _binding_for(self, route: Route, store_name: str, order_id: str) -> Binding | None:
        binding = self.store.binding(route.name, store_name, order_id)
        if binding is None:
            binding = self.store.binding_by_target(route.name, store_name, order_id)
        return binding

    def _reconcile_locked(self, route: Route, store_name: str, order_id: str, seen: dict[str, Any], *,
                          deep: bool = False,
                          snapshot: tuple[dict[str, Any] | None, datetime | None] = (None, None)) -> ReconcileResult:
        binding = self._binding_for(route, store_name, order_id)
        result = ReconcileResult(route.name, store_name, order_id, "synced")
        if binding is not None and binding.source_store != store_name and not route.two_way:
            return self._done(result, "skipped", "changes on the target are not mirrored back (one-way route)")
        if binding is None and store_name == route.target and not route.two_way:
            return self._done(result, "skipped", "order on the target store; the route is one-way")
        other = route.target if store_name == route.source else route.source
        here = _Side(store_name, order_id, self.runtime.connector(store_name))
        there_connector = self.runtime.connector(other)

        try:
            here.raw = self._read(here.connector, order_id, *snapshot)
        except NotFound:
            return self._source_gone(route, binding, here, other, result)
        seen["raw"] = here.raw
        here.neutral = self.runtime.to_neutral(store_name, here.raw)
        result.warn("read", list(here.neutral.warnings))
        source = here.neutral

        if binding is None:
            reason = self._creation_refused(route, store_name, source) or \
                self._reverse_guard(store_name, order_id, source)
            if reason:
                return self._done(result, "filtered", reason)
            binding = self._open_pending(route, store_name, order_id, other, source)
        if binding.deleted:
            return self._done(result, "skipped", "the mirror was deleted")
        assert binding.id is not None
        binding_id: int = binding.id
        result.binding_id = binding_id
        is_origin = binding.source_store == store_name
        seen_here = binding.source_seen_hash if is_origin else binding.target_seen_hash
        here_hash = content_hash(sync_projection(source))

        if is_origin and binding.source_updated_at and source.updated_at and \
                source.updated_at < binding.source_updated_at:
            return self._done(result, "stale", f"source updated_at {source.updated_at.isoformat()} is older than "
                                                 f"the state already applied ({binding.source_updated_at.isoformat()})")
        if binding.state == "linked" and seen_here == here_hash and not deep:
            open_item = self.store.open_item(kind=INEXPRESSIBLE, route=route.name, store=binding.source_store,
                                             order_id=binding.source_id)
            if open_item is not None:  # still different, and nothing changed that could help: say so
                return self._done(result, "diverged", open_item.reason, binding=binding)
            return self._done(result, "unchanged", "no change since the last sync" +
                              ("" if is_origin else " (our own write echoing back)"), binding=binding)

        # The other side: create (or adopt) it, or load it.
        if binding.state != "linked" or not binding.target_id:
            if not is_origin:  # pragma: no cover - a pending binding always starts on its origin
                return self._done(result, "skipped", "mirror not created yet")
            if not route.allows("create"):
                return self._done(result, "skipped", "route does not create orders")
            binding, target, known = self._create(route, binding, source, other, there_connector, result)
        else:
            there_id = (binding.target_id if is_origin else binding.source_id) or ""
            kept = _Known.of(binding) if is_origin and not deep else None
            if kept is not None:
                target, known = self.runtime.to_neutral(other, kept.bundle), kept
            else:
                target, known = self._read_mirror(binding, other, there_connector, there_id)

        there_id = (binding.target_id if is_origin else binding.source_id) or ""
        if is_origin and target.mirror_of != binding.reference and hasattr(there_connector, "stamp_reference"):
            # Platforms that stamp our reference in a second call (EverShop's metafield): make sure the
            # stamp is there, so the order can always be found again by reference.
            there_connector.stamp_reference(there_id, binding.reference)
            log.info("reference.stamped", target_id=there_id, reference=binding.reference)
        target, known = self._apply_updates(route, binding, source, target, known, other, there_id,
                                            there_connector, result)
        # What the binding keeps of the mirror: its state after our writes, or as just read on a reverse pass.
        mirror = {"target_state": known.stored()} if is_origin else \
            {"target_state": _Known(here.raw, read=True).stored(), "target_updated_at": source.updated_at}
        self.store.update_binding(
            binding_id, target_synced_at=self.clock(), **mirror,
            **({"source_seen_hash": here_hash, "target_seen_hash": content_hash(sync_projection(target))}
               if is_origin else
               {"target_seen_hash": here_hash, "source_seen_hash": content_hash(sync_projection(target))}),
            **({"source_updated_at": source.updated_at} if is_origin and source.updated_at else {}),
        )
        self.store.resolve_attention(route=route.name, store=store_name, order_id=order_id, kinds=RESOLVED_BY_SYNC)
        result.target_store, result.target_id = other, there_id
        if self._diverged(route, binding, source, target, other, result):
            return result
        if not result.applied:
            result.outcome, result.reason = "unchanged", "both sides already agree"
        log.info("reconcile.done", outcome=result.outcome, applied=result.applied, target_store=other,
                 target_id=there_id)
        return result

    def _read(self, connector: Connector, order_id: str, snapshot: dict[str, Any] | None,
              read_at: datetime | None) -> Any:
        """The order: from its list row when that was read within the freshness bound, else read now."""
        max_age = timedelta(seconds=self.runtime.config.settings.snapshot_max_age)
        if snapshot is not None and read_at is not None and self.clock() - read_at <= max_age:
            return connector.hydrate(snapshot)
        return connector.get_order(order_id)

    def _read_mirror(self, binding: Binding, other: str, connector: Connector,
                     there_id: str) -> tuple[NeutralOrder, _Known]:
        """Read the other side of a binding; a mirror that is gone marks the binding deleted."""
        assert binding.id is not None
        try:
            bundle = connector.get_order(there_id)
        except NotFound:
            self.store.update_binding(binding.id, deleted=True)
            raise NotFound(f"the mirror {there_id} no longer exists on {other}; not re-creating it",
                           platform=self.runtime.store_config(other).platform) from None
        target = self.runtime.to_neutral(other, bundle)
        if there_id == binding.target_id and other == binding.target_store:
            self.store.update_binding(binding.id, target_updated_at=target.updated_at)
        return target, _Known(bundle, read=True)

    def _creation_refused(self, route: Route, store_name: str, order: NeutralOrder) -> str | None:
        """Why this order must not be mirrored as a new order (filters, mirrors of mirrors)."""
        other = route.target if store_name == route.source else route.source
        if order.mirror_of:
            # Never mirror a mirror: with A→B and B→A routes (or chains) that would loop forever.
            side = "the other store" if order.mirror_of.startswith(f"ordersync:{other}:") else "another store"
            return f"it is itself a mirror ordersync created from {side} ({order.mirror_of})"
        if route.created_after and order.created_at < route.created_after:
            return f"placed {order.created_at.isoformat()}, before the route's created_after"
        code = order.raw_status.code or ""
        payment_code = order.raw_status.payment_code or ""
        if route.source_statuses is not None:
            allowed = set(route.source_statuses)
            if not allowed & {code, payment_code, order.status}:
                return f"status {code or order.status!r} is not in the route's source_statuses"
        else:
            platform = self.runtime.store_config(store_name).platform
            excluded = DEFAULT_EXCLUDED_STATUSES.get(platform, frozenset())
            # MerchantPro's abandoned checkout is a payment_status; the others' a status code.
            for field, value in (("payment_status", payment_code), ("status", code)):
                if value and value in excluded:
                    return (f"{field} {value!r} is an abandoned checkout on {platform}, not mirrored by default; "
                            f"to mirror such orders set the route's source_statuses to every status to mirror, "
                            f"{value!r} included (the list replaces the default exclusions)")
        return None

    def _reverse_guard(self, store_name: str, order_id: str, order: NeutralOrder) -> str | None:
        """Why an unbound order must not be mirrored: it is a create of ours, linked or still in flight.

        Checked after the order was read, so a create whose order already exists has committed its
        identity (pending binding, cart id) before: a linked mirror is refused by its target id on any
        route; one whose create is still pending on this store (same customer, placed after the pending
        create began) raises :class:`MirrorPending`, retried until the create is linked.
        """
        mirror = self.store.binding_by_target_any(store_name, order_id)
        if mirror is not None:
            return (f"it is the mirror of {mirror.source_store}:{mirror.source_id} created by route "
                    f"{mirror.route}")
        email = (order.customer.email or "").strip().lower()
        for pending in self.store.pending_creates(store_name):
            identity = (pending.progress or {}).get("identity") or {}
            since = (pending.pending_since or pending.created_at) - PENDING_SKEW
            if identity.get("email") and identity.get("email") == email and order.created_at >= since:
                log.info("reverse.pending_create", pending_route=pending.route,
                         pending_origin=f"{pending.source_store}:{pending.source_id}")
                raise MirrorPending(f"order {order_id} on {store_name} may be the mirror route {pending.route} "
                                    f"is creating for {pending.source_store}:{pending.source_id}; retrying once "
                                    "that create is linked")
        return None

    def _open_pending(self, route: Route, store_name: str, order_id: str, other: str,
                      source: NeutralOrder) -> Binding:
        """Open the pending binding with the create's identity committed in it, before any call."""
        reference = OrderReference.for_source(store_name, order_id)
        binding = self.store.open_binding(route=route.name, source_store=store_name, source_id=order_id,
                                          target_store=other, reference=reference,
                                          source_number=source.source.number)
        progress = dict(binding.progress or {})
        if binding.state == "pending" and "identity" not in progress and binding.id is not None:
            progress["identity"] = _identity(source, binding.reference)
            binding = self.store.update_binding(binding.id, progress=progress)
        log.info("binding.opened", reference=binding.reference, target_store=other)
        return binding

    def _create(self, route: Route, binding: Binding, source: NeutralOrder, other: str, connector: Connector,
                result: ReconcileResult) -> tuple[Binding, NeutralOrder, _Known]:
        """Create the mirror exactly once, or adopt the one an earlier attempt created.

        The new mirror is not read back where the create's answer tells its state (see
        :mod:`mappings.effects`) and the platform keeps the prices sent; an adopted one is read.
        """
        assert binding.id is not None
        origin = f"{binding.source_store}:{binding.source_id}"
        key = idempotency_key(route.name, origin, "create")
        since = (binding.pending_since or binding.created_at or self.clock()) - LOOKUP_SKEW
        progress = dict(binding.progress or {})
        reference = OrderReference(key=binding.reference, email=source.customer.email, placed_after=since,
                                   cart_id=progress.get("cart_id"))
        ctx = self.runtime.target_context(other, reference=reference)
        payload = self.runtime.mapping(other).create_payload(source, ctx)  # may raise UnknownSku: nothing sent
        result.warn("create", list(ctx.warnings))
        with bound(idempotency_key=key, target_store=other):
            row, previous = self.store.begin_operation(key=key, route=route.name, source_store=binding.source_store,
                                                       source_id=binding.source_id, operation="create")
            created_id: str | None = None
            number: str | None = None
            answer: dict[str, Any] | None = None
            if previous == "succeeded" and row.result and row.result.get("id"):
                created_id, number = str(row.result["id"]), row.result.get("number")
                log.info("create.already_done", target_id=created_id)
            else:  # the ledger cannot vouch: ask the target (an earlier attempt, or another/lost state store)
                found = self.references.before_create(other, connector, reference, previous)
                if found:
                    created_id = found
                    log.warning("create.adopted", target_id=found, previous=previous)
                    self.store.finish_operation(key, "succeeded", result={"id": found, "adopted": True})
                    result.applied.append("adopt")
            if created_id is None:
                def remember(facts: dict[str, Any]) -> None:
                    progress.update(facts)
                    self.store.update_binding(binding.id or 0, progress=dict(progress))

                log.info("create.calling", previous=previous)
                self._refresh_lock()
                try:
                    created = connector.create_order(payload, reference, on_progress=remember)
                except OutcomeUnknown as error:
                    self.store.finish_operation(key, "unknown", error=str(error))
                    raise
                except ConnectorError as error:
                    self.store.finish_operation(key, "failed", error=str(error))
                    raise
                created_id, number = created.id, created.number
                answer = None if created.adopted else created.raw
                self.store.finish_operation(key, "succeeded",
                                            result={"id": created.id, "number": created.number,
                                                    "adopted": created.adopted})
                result.applied.append("adopt" if created.adopted else "create")
                log.info("create.done", target_id=created.id, target_number=created.number)
        binding = self.store.update_binding(binding.id, target_id=created_id, target_number=number, state="linked",
                                            pending_since=None)
        platform = self.runtime.store_config(other).platform
        predicted = effects.after_create(platform, answer) if answer and \
            not connector.capabilities.reprices_from_catalog else None
        if predicted is not None:
            target, known = self.runtime.to_neutral(other, predicted[0]), _Known(*predicted)
        else:
            target, known = self._read_mirror(binding, other, connector, created_id)
        self._check_drift(route, binding, source, target, other, lines=known.read)
        return binding, target, known

    def _check_drift(self, route: Route, binding: Binding, source: NeutralOrder, target: NeutralOrder,
                     other: str, *, lines: bool = True) -> None:
        """Report a target whose totals or lines (SKU, quantity, unit price) differ from the source
        (repricing platforms), or a target store whose currency is not the order's (amounts are not
        converted: the merchant decides). ``lines=False``: the mirror's lines were not read (a platform
        that keeps the prices sent), only its totals and currency are compared."""
        kind = "price_drift"
        compare = lines and source.currency == target.currency
        lines_differ = line_drift(source, target) if compare else []
        platform = self.runtime.store_config(other).platform
        if source.currency != target.currency:
            kind = "currency_mismatch"
            reason = (f"currency differs: source {source.currency}, target {target.currency} "
                      f"(the target store's currency; amounts are not converted)")
        elif not lines_differ and within_precision(source.totals.grand_total, target.totals.grand_total,
                                                   source.currency):
            return
        elif not lines_differ:
            reason = (f"grand total differs after create: source {source.totals.grand_total} "
                      f"{source.currency}, target {target.totals.grand_total} {target.currency} "
                      f"({platform} prices from its own catalog)")
        else:
            reason = (f"{len(lines_differ)} line{'s' * (len(lines_differ) != 1)} differ after create "
                      f"({'; '.join(d.describe(source.currency) for d in lines_differ[:5])}); grand total source "
                      f"{source.totals.grand_total}, target {target.totals.grand_total} {target.currency} "
                      f"({platform} prices from its own catalog)")
        log.warning(f"create.{kind}", reason=reason, target_id=target.source.id)
        self.store.park(kind=kind, reason=reason, route=route.name, store=binding.source_store,
                        order_id=binding.source_id,
                        detail={"source_total": str(source.totals.grand_total),
                                "target_total": str(target.totals.grand_total), "target_id": target.source.id,
                                "lines": [d.as_dict() for d in lines_differ]},
                        replay={"task": "acknowledge"})

    def _apply_updates(self, route: Route, binding: Binding, source: NeutralOrder, target: NeutralOrder,
                       known: _Known, other: str, there_id: str, connector: Connector,
                       result: ReconcileResult) -> tuple[NeutralOrder, _Known]:
        """Plan and apply shipment/status/cancel/delete writes until the target agrees (≤ 3 passes).

        After each pass the target's new state comes from what was written (:mod:`mappings.effects`:
        a shipment makes BigCommerce "Shipped", corrected in the next pass); where a write's effect is
        not known, or an earlier attempt's write is only in the ledger, the target is read instead.
        A shipment is planned only on a target read in this reconcile: it needs the target's line ids,
        and it is the write a platform would duplicate. Status and cancel keys include the target's
        observed state, so "already done" means "done while the target looked like this", and a
        correction gets a new key. What is still planned after the last pass is left in
        ``result.unapplied``.
        """
        assert binding.id is not None
        result.unapplied, result.final_warnings = [], []
        known_shipments = dict(binding.shipments or {})
        passes = 0
        while True:
            todo = self._plan(route, binding, source, target, other, known_shipments, result)
            if not todo:
                break
            if not known.read and any(op.kind in ("shipment", "shipment_update") for op, _ in todo):
                target, known = self._read_mirror(binding, other, connector, there_id)
                continue
            if passes == MAX_PASSES:
                result.unapplied = [op.kind for op, _ in todo]
                break
            passes += 1
            progressed, bundle = False, known.bundle
            for op, key in todo:
                called, outcome = self._execute(route, binding, op, key, other, there_id, connector, result,
                                                known_shipments)
                progressed = progressed or called
                if op.kind == "delete":
                    self.store.update_binding(binding.id, deleted=True, shipments=known_shipments)
                    return target, known
                platform = self.runtime.store_config(other).platform
                bundle = effects.after_write(platform, bundle, op.kind, op.payload, outcome) \
                    if called and bundle is not None else None
            self.store.update_binding(binding.id, shipments=known_shipments)
            if bundle is not None:
                target, known = self.runtime.to_neutral(other, bundle), _Known(bundle, known.read)
            else:
                try:
                    target, known = self._read_mirror(binding, other, connector, there_id)
                except NotFound:
                    return target, known
            if not progressed:
                result.unapplied = [op.kind for op, _ in todo]
                break
        return target, known

    def _plan(self, route: Route, binding: Binding, source: NeutralOrder, target: NeutralOrder, other: str,
              known_shipments: dict[str, Any], result: ReconcileResult) -> list[tuple[PlannedOp, str]]:
        """The writes still needed, each with its idempotency key; mapping warnings go to ``result``."""
        origin = f"{binding.source_store}:{binding.source_id}"
        direction = "fwd" if binding.source_store == source.source.store else "rev"
        source_hash = content_hash(sync_projection(source))
        ctx = self.runtime.target_context(other, current=target)
        warned: list[tuple[str, str]] = []
        ops = plan_updates(route, source, target, self.runtime.mapping(other), ctx, known_shipments=known_shipments,
                           warned=warned)
        for operation, message in warned:
            result.warn(operation, [message])
        result.final_warnings = [message for operation, message in warned if operation in ("status", "cancel")]
        observed = _observed(target)
        todo = []
        for op in ops:
            parts: tuple[Any, ...] = op.key_parts
            if op.kind in ("status", "cancel"):
                parts = (*parts, source_hash, observed)
            todo.append((op, idempotency_key(route.name, origin, f"{direction}:{op.kind}", *parts)))
        return todo

    def _diverged(self, route: Route, binding: Binding, source: NeutralOrder, target: NeutralOrder, other: str,
                  result: ReconcileResult) -> bool:
        """Park a source state the target cannot express (or would not take) as its own attention kind.

        A status the mapping cannot write warns and plans nothing, which must not read as "both sides
        agree": when the states still differ and the mapping warned (or a write did not take), both
        states and the warnings are kept for the operator.
        """
        order = (binding.source_store, binding.source_id)
        differs = (source.status, source.payment_status, source.fulfillment_status) != (
            target.status, target.payment_status, target.fulfillment_status)
        mirrored = route.allows("cancel") if source.status == "cancelled" else route.allows("status")
        # A different status word alone is no divergence: when the planner wrote nothing and the mapping
        # did not warn, the target already holds what the mapping renders for the source (MerchantPro
        # "paid, awaiting shipment" is BigCommerce 11, which reads back as processing).
        if not mirrored or not (result.unapplied or (differs and result.final_warnings)):
            self.store.resolve_attention(route=route.name, store=order[0], order_id=order[1], kinds=(INEXPRESSIBLE,))
            return False
        if result.unapplied:
            why = f"{', '.join(result.unapplied)} still differs after {MAX_PASSES} passes"
        else:
            why = "; ".join(result.final_warnings) or f"no write the target offers makes it {source.status}"
        reason = (f"{other} cannot show the source's state: source {source.status}/{source.payment_status}/"
                  f"{source.fulfillment_status}, target {target.status}/{target.payment_status}/"
                  f"{target.fulfillment_status} ({why})")
        self.store.park(kind=INEXPRESSIBLE, reason=reason, route=route.name, store=order[0], order_id=order[1],
                        detail={"source_state": _state(source), "target_state": _state(target),
                                "target_store": other, "target_id": target.source.id,
                                "warnings": result.final_warnings, "unapplied": result.unapplied},
                        replay={"task": "reconcile", "route": route.name, "store": order[0], "order_id": order[1]})
        log.warning("reconcile.inexpressible_state", reason=reason)
        result.outcome, result.reason = "diverged", reason
        return True

    def _refresh_lock(self) -> None:
        """Restart the per-order lock's lifetime before a write (a lost lock raises, retriably)."""
        held = getattr(self._held, "lock", None)
        extend = getattr(held, "extend", None)
        if extend is not None:
            extend()

    def _execute(self, route: Route, binding: Binding, op: PlannedOp, key: str, other: str, there_id: str,
                 connector: Connector, result: ReconcileResult,
                 known: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
        """Run one planned write under its idempotency key; returns whether a call was made, and its outcome."""
        self._refresh_lock()
        with bound(idempotency_key=key, operation=op.kind, target_store=other, target_id=there_id):
            row, previous = self.store.begin_operation(key=key, route=route.name, source_store=binding.source_store,
                                                       source_id=binding.source_id, operation=op.kind,
                                                       desired=op.desired)
            if previous == "succeeded":
                if op.kind == "shipment" and op.source_shipment and row.result and row.result.get("shipment_id"):
                    known[op.source_shipment] = str(row.result["shipment_id"])
                log.debug("op.already_done")
                return False, {}
            log.info("op.calling", previous=previous)
            outcome: dict[str, Any] = {}
            try:
                if op.kind == "status":
                    connector.set_status(there_id, op.payload)
                elif op.kind == "shipment":
                    shipment_id = connector.create_shipment(there_id, op.payload)
                    outcome["shipment_id"] = shipment_id
                    if op.source_shipment:
                        known[op.source_shipment] = str(shipment_id)
                elif op.kind == "shipment_update":
                    connector.update_shipment(there_id, op.target_shipment or "", op.payload)
                    outcome["target_shipment"] = op.target_shipment
                elif op.kind == "cancel":
                    connector.cancel_order(there_id, op.payload)
                elif op.kind == "delete":
                    try:
                        connector.delete_order(there_id)
                    except NotFound:
                        outcome["already_gone"] = True
            except OutcomeUnknown as error:
                self.store.finish_operation(key, "unknown", error=str(error))
                raise
            except ConnectorError as error:
                self.store.finish_operation(key, "failed", error=str(error))
                raise
            self.store.finish_operation(key, "succeeded", result=outcome)
            result.applied.append(op.kind)
            log.info("op.done", **outcome)
            return True, outcome

    def _source_gone(self, route: Route, binding: Binding | None, here: _Side, other: str,
                     result: ReconcileResult) -> ReconcileResult:
        """The order no longer exists where the change came from: delete (or cancel) its mirror."""
        if binding is None or binding.deleted or not binding.target_id:
            return self._done(result, "skipped", "order not found and never mirrored")
        is_origin = binding.source_store == here.store
        if not is_origin and not route.two_way:
            return self._done(result, "skipped", "the mirror was deleted on the target; one-way route")
        if not route.allows("delete"):
            return self._done(result, "skipped", "order deleted; the route does not mirror deletions")
        there_id = binding.target_id if is_origin else binding.source_id
        assert binding.id is not None
        connector = self.runtime.connector(other)
        key = idempotency_key(route.name, f"{binding.source_store}:{binding.source_id}",
                              "fwd:delete" if is_origin else "rev:delete")
        op = PlannedOp("delete", None)
        self._execute(route, binding, op, key, other, there_id, connector, result, {})
        self.store.update_binding(binding.id, deleted=True)
        result.target_store, result.target_id = other, there_id
        return self._done(result, "deleted", f"deleted on {here.store}; mirror {there_id} deleted on {other}")

    def _done(self, result: ReconcileResult, outcome: Outcome, reason: str,
              binding: Binding | None = None) -> ReconcileResult:
        result.outcome, result.reason = outcome, reason
        if binding is not None:
            result.target_store = binding.target_store
            result.target_id = binding.target_id
        log.info("reconcile.skip", outcome=outcome, reason=reason)
        return result

    def _park_error(self, route: Route, store_name: str, order_id: str, error: OrderSyncError,
                    raw: Any = None) -> ReconcileResult:
        """Record a skippable or fatal failure with its input and a replay action."""
        kind = {
            UnknownSku: "unknown_sku", InvalidPayload: "invalid_payload", AuthFailed: "auth",
            Conflict: "conflict", NotFound: "not_found", Rejected: "rejected",
        }
        name = next((label for cls, label in kind.items() if isinstance(error, cls)), "error")
        detail: dict[str, Any] = {"error": type(error).__name__}
        if isinstance(error, InvalidPayload):
            detail["problems"] = [{"field": f, "reason": r} for f, r in error.problems]
        if isinstance(error, Rejected):
            detail["field_errors"] = error.field_errors
        if isinstance(error, UnknownSku):
            detail["sku"] = error.sku
        payload = _json(raw) if raw is not None else None
        self.store.park(kind=name, reason=str(error), route=route.name, store=store_name, order_id=order_id,
                        payload=payload, detail=detail,
                        replay={"task": "reconcile", "route": route.name, "store": store_name, "order_id": order_id})
        log.warning("reconcile.parked", kind=name, reason=str(error))
        return ReconcileResult(route.name, store_name, order_id, "parked", reason=f"{name}: {error}")

    def park_exhausted(self, route_name: str, store_name: str, order_id: str, error: BaseException,
                       attempts: int) -> None:
        """Retries ran out: park the order, never drop it."""
        self.store.park(kind="retries_exhausted", reason=f"gave up after {attempts} attempts: {error}",
                        route=route_name, store=store_name, order_id=order_id,
                        detail={"error": type(error).__name__, "attempts": attempts},
                        replay={"task": "reconcile", "route": route_name, "store": store_name, "order_id": order_id})
        log.error("reconcile.exhausted", route=route_name, store=store_name, order_id=order_id, attempts=attempts,
                  reason=str(error))

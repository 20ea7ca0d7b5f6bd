"""The diff: which writes bring the target order to the source order's state, in a fixed order.

Pure functions over neutral orders — no I/O — so the rules are easy to test: statuses, then
shipments (create missing, update tracking), then cancel or delete. Creating the order itself is
the engine's business (it needs the pending-binding protocol), and always comes first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from connectors.wire import WriteModel
from mappings.base import PlatformMapping, TargetContext
from mappings.neutral import NeutralOrder, Shipment
from sync.config import Route

__all__ = ["PlannedOp", "match_shipments", "plan_updates", "shipment_key"]

OpKind = Literal["status", "shipment", "shipment_update", "cancel", "delete"]


@dataclass
class PlannedOp:
    """One write to perform on the target, with what pins its idempotency key."""

    kind: OpKind
    payload: WriteModel | None
    key_parts: tuple[Any, ...] = ()
    source_shipment: str | None = None
    target_shipment: str | None = None
    note: str = ""
    desired: dict[str, Any] = field(default_factory=dict)


def shipment_key(shipment: Shipment) -> str:
    """A stable identity for a source shipment: its id, else its tracking number, else its lines."""
    if shipment.source_shipment_id:
        return f"id:{shipment.source_shipment_id}"
    if shipment.tracking_number:
        return f"tn:{shipment.tracking_number}"
    lines = ",".join(f"{line.sku or line.source_line_id}x{line.quantity}" for line in shipment.lines)
    return f"lines:{lines}"


def _line_set(shipment: Shipment) -> tuple[tuple[str, int], ...]:
    return tuple(sorted(((line.sku or "").upper(), line.quantity) for line in shipment.lines))


def match_shipments(source: list[Shipment], target: list[Shipment],
                    known: Mapping[str, str] | None = None) -> dict[str, Shipment]:
    """Pair source shipments with target ones: by remembered id, tracking number, then same lines."""
    known = known or {}
    by_id = {t.source_shipment_id: t for t in target if t.source_shipment_id and t.status != "cancelled"}
    taken: set[int] = set()
    pairs: dict[str, Shipment] = {}
    pending: list[Shipment] = []
    for shipment in source:
        key = shipment_key(shipment)
        target_id = known.get(key)
        candidate = by_id.get(target_id) if target_id else None
        if candidate is not None and id(candidate) not in taken:
            pairs[key] = candidate
            taken.add(id(candidate))
        else:
            pending.append(shipment)
    still: list[Shipment] = []
    for shipment in pending:
        found = next((t for t in target if id(t) not in taken and t.status != "cancelled" and t.tracking_number
                      and t.tracking_number == shipment.tracking_number), None)
        if found is not None:
            pairs[shipment_key(shipment)] = found
            taken.add(id(found))
        else:
            still.append(shipment)
    for shipment in still:
        lines = _line_set(shipment)
        found = next((t for t in target if id(t) not in taken and t.status != "cancelled"
                      and _line_set(t) == lines), None)
        if found is not None:
            pairs[shipment_key(shipment)] = found
            taken.add(id(found))
    return pairs


def _tracking_differs(source: Shipment, target: Shipment) -> bool:
    if source.tracking_number and source.tracking_number != target.tracking_number:
        return True
    return bool(source.tracking_url and target.tracking_url and source.tracking_url != target.tracking_url)


def plan_updates(route: Route, source: NeutralOrder, target: NeutralOrder, mapping: PlatformMapping,
                 ctx: TargetContext, *, known_shipments: Mapping[str, str] | None = None,
                 deleted: bool = False, warned: list[tuple[str, str]] | None = None) -> list[PlannedOp]:
    """The writes that bring ``target`` to ``source``'s shipments and statuses, in order.

    Shipments come before the status: BigCommerce, EverShop and MerchantPro move the order's status
    when a shipment is made (Shipped, ``shipped``), so a final status written first would be
    overwritten by the shipment after it. The engine re-reads the target after the writes and plans
    again, so a status the platform changed is corrected. ``warned`` collects each step's mapping
    warnings as ``(operation, message)`` (a status the target cannot express warns but plans nothing).
    """
    ops: list[PlannedOp] = []
    if deleted or source.status == "archived":
        if route.allows("delete"):
            ops.append(PlannedOp("delete", None, key_parts=()))
        return ops
    cancelled = source.status == "cancelled"
    steps: list[tuple[str, Any]] = []
    if route.allows("shipments"):
        steps.append(("shipment", lambda: _plan_shipments(source, target, mapping, ctx, known_shipments)))
    if route.allows("status") and not cancelled:
        steps.append(("status", lambda: _plan_status(source, mapping, ctx)))
    if cancelled and route.allows("cancel") and target.status != "cancelled":
        steps.append(("cancel", lambda: [PlannedOp("cancel", mapping.cancel_payload(source, ctx), key_parts=())]))
    for name, step in steps:
        before = len(ctx.warnings)
        ops.extend(step())
        if warned is not None:
            warned.extend((name, message) for message in ctx.warnings[before:])
    return ops


def _plan_status(source: NeutralOrder, mapping: PlatformMapping, ctx: TargetContext) -> list[PlannedOp]:
    """The status write, when the target does not show the source's statuses yet."""
    payload = mapping.status_payload(source, ctx)
    if payload is None:
        return []
    body = payload.body()
    return [PlannedOp("status", payload, key_parts=(body,), desired=body)]


def _plan_shipments(source: NeutralOrder, target: NeutralOrder, mapping: PlatformMapping, ctx: TargetContext,
                    known_shipments: Mapping[str, str] | None) -> list[PlannedOp]:
    """Missing shipments to create, and matched ones whose tracking changed."""
    ops: list[PlannedOp] = []
    live = [s for s in source.shipments if s.status != "cancelled"]
    pairs = match_shipments(live, target.shipments, known_shipments)
    for shipment in live:
        key = shipment_key(shipment)
        matched = pairs.get(key)
        if matched is None:
            payload = mapping.shipment_payload(shipment, source, ctx)
            ops.append(PlannedOp("shipment", payload, key_parts=(key,), source_shipment=key,
                                 desired={"tracking_number": shipment.tracking_number}))
        elif _tracking_differs(shipment, matched):
            one = target.model_copy(update={"shipments": [matched]})
            sub = TargetContext(store=ctx.store, reference=ctx.reference, statuses=ctx.statuses,
                                catalog=ctx.catalog, options=ctx.options, current=one, warnings=ctx.warnings)
            update = mapping.shipment_update_payload(shipment, sub)
            if update is not None:
                ops.append(PlannedOp("shipment_update", update,
                                     key_parts=(key, shipment.tracking_number, shipment.carrier),
                                     source_shipment=key, target_shipment=matched.source_shipment_id,
                                     desired={"tracking_number": shipment.tracking_number}))
    return ops

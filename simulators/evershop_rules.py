"""EverShop's status model as the simulator plays it, written from ``../shared/platforms/evershop.md`` §5.

Kept apart from ``connectors/evershop`` on purpose: the connector reads these statuses, the simulator
produces them, and a shared table would let one misreading pass every test on both sides.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = [
    "ORDER_FLOW",
    "ORDER_NAMES",
    "PAYMENT_NAMES",
    "ROLLUP_NAMES",
    "SHIPMENT_PHASE",
    "order_status",
    "rollup",
]

ORDER_NAMES: dict[str, str] = {
    "new": "New", "processing": "Processing", "completed": "Completed", "canceled": "Canceled", "closed": "Closed",
}
"""``statusList`` (sample 32)."""

ORDER_FLOW: tuple[str, ...] = ("new", "processing", "completed", "canceled", "closed")
"""The order the status flow sorts in: "Can not revert the status of the order"."""

PAYMENT_NAMES: dict[str, str] = {
    "pending": "Pending", "paid": "Paid", "canceled": "Canceled",
    "paypal_authorized": "Authorized", "paypal_captured": "Captured",
    "stripe_authorized": "Authorized", "stripe_captured": "Captured", "stripe_failed": "Failed",
    "stripe_refunded": "Refunded", "stripe_partial_refunded": "Partial Refunded",
}
"""``paymentStatusList`` (core + Stripe + PayPal)."""

ROLLUP_NAMES: dict[str, str] = {
    "pending": "Pending", "partially_shipped": "Partially Shipped", "shipped": "Shipped",
    "partially_delivered": "Partially Delivered", "delivered": "Delivered",
    "partially_canceled": "Partially Canceled", "canceled": "Canceled",
}
"""The order-level shipment status (rollup) codes and names."""

SHIPMENT_PHASE: dict[str, str] = {"shipped": "shipped", "delivered": "delivered", "canceled": "canceled"}
"""A shipment's status code → its phase (core registers these three)."""

_PSO: tuple[tuple[str, str, str], ...] = (  # the psoMapping table, most specific key first
    ("pending", "pending", "new"),
    ("paid", "pending", "processing"),
    ("paid", "partially_shipped", "processing"),
    ("paid", "shipped", "processing"),
    ("paid", "partially_delivered", "processing"),
    ("paid", "delivered", "completed"),
    ("canceled", "canceled", "canceled"),
    ("*", "partially_canceled", "processing"),
    ("*", "canceled", "processing"),
    ("pending", "*", "processing"),
    ("canceled", "*", "canceled"),
)


def order_status(payment: str | None, shipment: str | None) -> str | None:
    """``resolveOrderStatus``: the status ``psoMapping`` gives a payment and shipment rollup, else ``None``
    (keys tried exact, then ``*:shipment``, then ``payment:*``)."""
    pay, ship = payment or "pending", shipment or "pending"
    if ship == "unfullfilled":  # EverShop's own spelling of a not-yet-shipped order in older rows
        ship = "pending"
    for wanted_pay, wanted_ship in ((pay, ship), ("*", ship), (pay, "*")):
        for key_pay, key_ship, status in _PSO:
            if (key_pay, key_ship) == (wanted_pay, wanted_ship):
                return status
    return None


def rollup(ordered: Mapping[str, int], phases: Mapping[str, Mapping[str, int]], *, canceled: bool = False) -> str:
    """The order's shipment status from item quantities: ``ordered`` per item, and per phase
    (``shipped``/``delivered``/``canceled``) the quantity of each item in shipments of that phase."""
    if canceled:
        return "canceled"
    if not ordered:
        return "delivered"

    def qty(phase: str, item: str) -> int:
        return phases.get(phase, {}).get(item, 0)

    delivered = [qty("delivered", item) for item in ordered]
    out = [qty("shipped", item) + qty("delivered", item) for item in ordered]
    dropped = [qty("canceled", item) for item in ordered]
    wanted = list(ordered.values())
    if delivered == wanted:
        return "delivered"
    if any(delivered):
        return "partially_delivered"
    if out == wanted:
        return "shipped"
    if any(out):
        return "partially_shipped"
    if all(d >= w for d, w in zip(dropped, wanted, strict=True)):
        return "canceled"
    return "partially_canceled" if any(dropped) else "pending"

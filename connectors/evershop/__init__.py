"""EverShop 2.x as a sync source and target.

EverShop has no order document API: orders are read through its admin GraphQL, created by acting
as a guest shopper (cart → checkout), and their status is *derived* from payment and shipments.
:data:`CAPABILITIES` tells the engine and the mapping layer what that means, so plans only contain
writes EverShop can do and warnings say why the rest is left out.

Module layout: ``wire.py`` (read models and EverShop's status vocabulary), ``write.py`` (the write
plans), ``client.py`` (the connector), ``webhooks.py`` (our bridge extension's signed events),
``simulator.py`` (a stateful EverShop 2.2.1 for tests and the demo).
"""

from __future__ import annotations

from connectors.base import Capabilities

__all__ = ["CAPABILITIES", "METAFIELD_KEY", "METAFIELD_NAMESPACE", "REFERENCE_METAFIELD"]

METAFIELD_NAMESPACE = "ordersync"
"""The order metafield namespace our reference is stored under."""

METAFIELD_KEY = "ref"
"""The metafield key of our reference (``metaData.ordersync.ref``)."""

REFERENCE_METAFIELD = f"{METAFIELD_NAMESPACE}.{METAFIELD_KEY}"

CAPABILITIES = Capabilities(
    platform="evershop",
    delete="cancel_only",
    sets_line_prices=False,
    reprices_from_catalog=True,
    total_correction=False,
    sets_status_directly=False,
    creates_via_cart=True,
    custom_line_items=False,
    shipments="resource",
    partial_shipments=True,
    multiple_shipping_addresses=False,
    cancel_idempotent=False,
    webhooks="bridge",
    modified_since_filter=False,
    modified_stamp_moves=False,
    reference_field=f"order metafield {REFERENCE_METAFIELD} (+ the checked-out cart id)",
    rate_limit="undocumented: 120 /api requests per 60 s per client IP, hard-coded in 2.2.1 (RateLimit-* headers)",
    cannot_carry=(
        "lines[].unit_price",
        "lines[].tax_amount",
        "lines[].discount_amount",
        "totals",
        "discounts",
        "fees",
        "shipping.amount",
        "source.number",
        "created_at",
        "status",
        "payment_status",
        "billing_address.company",
        "shipping_address.company",
        "shipping_addresses[1:]",
        "notes.staff",
        "shipments[].tracking_url",
        "shipments[].carrier",
    ),
    notes=(
        "Prices, tax and totals come from EverShop's own catalog and rates (the cart reprices every line).",
        "Orders are placed as a guest checkout: SKUs must exist, be enabled and in stock.",
        "order_number is 10000 + order_id and created_at is the time of checkout; neither can be set.",
        "Status is derived from payment and shipment status (psoMapping); only COD capture, shipment "
        "delivery and cancel can move it.",
        "Cancelling twice answers 200 and restocks the items again: check the status before cancelling.",
        "A paid or delivered order cannot be cancelled (500 'Order is not cancelable at this status').",
        "Core registers only the 'custom' carrier; other carrier codes answer 500.",
        "updated_at never changes in 2.2.1: changes are found through the bridge webhooks.",
        "The order list has no modified-since filter; our bridge adds order_id and cart_id filters.",
    ),
)

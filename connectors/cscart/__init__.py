"""CS-Cart / Multi-Vendor connector (REST API 1.0 ``/api`` and 2.0 ``/api/2.0``).

CS-Cart reprices every order it creates from its own catalog (and recalculates taxes, shipping
and promotions), always creates in status ``O``, has no webhooks, no idempotency and no external
reference field. So ordersync creates with one POST, forces the source's grand total with a
follow-up ``PUT {"total": ...}``, sets the status with a status-only PUT, stamps its reference
as a marker line in the admin notes (``details``) and polls with ``updated_at_from`` (4.13+) or,
on older stores, creation windows plus re-reads of open orders. See ``docs/platforms/cscart.md``.
"""

from __future__ import annotations

from connectors.base import Capabilities

__all__ = ["CAPABILITIES", "PLATFORM"]

PLATFORM = "cscart"

CAPABILITIES = Capabilities(
    platform="cscart",
    delete="delete",
    sets_line_prices=False,
    reprices_from_catalog=True,
    total_correction=True,
    sets_status_directly=True,
    creates_via_cart=False,
    custom_line_items=False,
    shipments="resource",
    partial_shipments=True,
    multiple_shipping_addresses=False,
    cancel_idempotent=True,
    webhooks="none",
    modified_since_filter=True,
    modified_stamp_moves=True,
    reference_field="details (admin notes): a marker line [ordersync:<store>:<id>]",
    rate_limit="none documented (host/WAF limits only); ordersync paces at option rate_limit (10 per second)",
    cannot_carry=(
        "currency (orders carry none; amounts are in the store's primary currency)",
        "line prices (repriced from the catalog; only the grand total is forced)",
        "line and order discounts, coupons",
        "tax rates and amounts (recalculated)",
        "shipping cost (recalculated by the store's shipping method)",
        "payment surcharge and other fees",
        "variant ids (variants are products or option combinations)",
        "custom line items (every line must be a catalog product)",
        "multiple shipping addresses",
        "a separate company on the shipping address",
        "payment status apart from the status letter",
        "delivered (shipment statuses stop at shipped)",
        "the source order number (CS-Cart numbers its own orders)",
    ),
    notes=(
        "updated_at_from exists on 4.13+ only; older stores ignore it and are polled by creation window "
        "plus re-reads of open orders",
        "shipments created without an order_status do not change the order's updated_at",
        "a PUT with anything besides status recalculates the whole order (MV 4.14.1: even notify flags)",
        "Multi-Vendor parent orders (status T) are hidden from the list; their child orders are the real ones",
    ),
)

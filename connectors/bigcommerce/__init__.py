"""BigCommerce (Management API, Orders V2): capabilities; see ``client``, ``wire``, ``webhooks``, ``simulator``.

BigCommerce takes an order as one document (``POST /v2/orders``) with our prices and custom lines,
keeps shipments as their own resource, archives on delete, and lets us stamp and later search our
reference in ``external_order_id`` — which is what makes a lost create answer recoverable.
"""

from __future__ import annotations

from connectors.base import Capabilities

__all__ = ["CAPABILITIES"]

CAPABILITIES = Capabilities(
    platform="bigcommerce",
    delete="archive",
    sets_line_prices=True,
    reprices_from_catalog=False,
    total_correction=True,
    sets_status_directly=True,
    creates_via_cart=False,
    custom_line_items=True,
    shipments="resource",
    partial_shipments=True,
    multiple_shipping_addresses=True,
    cancel_idempotent=True,
    webhooks="native",
    modified_since_filter=True,
    modified_stamp_moves=True,
    reference_field="external_order_id + external_source",
    rate_limit="150 requests / 30 s per store, shared by every app (Standard/Plus; Pro 450 / 30 s)",
    cannot_carry=(
        "payment_status (read-only: set by the payment gateway)",
        "currency (orders take the store's currency)",
        "customer account links (API-created orders are guest orders unless the id exists on the target)",
        "coupon codes (sent as a manual discount_amount)",
        "line discounts (folded into discount_amount)",
        "tax rates (BigCommerce derives tax from price_inc_tax - price_ex_tax)",
        "region_code (only the state name or code as given)",
        "per-line shipping addresses (every created line goes to the first shipping address)",
        "shipment delivered state",
        "refunds (status 4/14 is bookkeeping; money moves only through V3 payment actions)",
    ),
    notes=(
        "GET on empty lists and past the last page answers 204 with no body",
        "status_id defaults to 1 (Pending) when omitted on create; V2 create sends no customer email",
        "creating shipments moves the order to Shipped / Partially Shipped",
        "a PUT that changes products clears the order's discounts; ordersync never sends one",
        "DELETE /v2/orders/{id} archives (is_deleted); archived orders leave the order list",
    ),
)

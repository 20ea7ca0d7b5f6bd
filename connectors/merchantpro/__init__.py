"""MerchantPro (REST API v2, ``https://www.<shop>/api/v2``): orders with separate payment and
shipping statuses, shipping moved by processing handlers, one AWB per order, tags as our reference.

See ``docs/platforms/merchantpro.md`` for the decisions and assumptions behind this connector.
"""

from __future__ import annotations

from connectors.base import Capabilities

__all__ = ["CAPABILITIES", "PLATFORM"]

PLATFORM = "merchantpro"

CAPABILITIES = Capabilities(
    platform="merchantpro",
    delete="delete",
    sets_line_prices=True,
    reprices_from_catalog=False,
    total_correction=False,
    sets_status_directly=True,
    creates_via_cart=False,
    custom_line_items=False,
    shipments="order_fields",
    partial_shipments=False,
    multiple_shipping_addresses=False,
    cancel_idempotent=True,
    webhooks="native",
    modified_since_filter=False,
    modified_stamp_moves=True,
    reference_field="tags[].name",
    rate_limit="4 req/s, 80/min, 3,600/h, 60,000/day per shop (shared by all integrations)",
    cannot_carry=(
        "shipments beyond the first (one AWB per order)",
        "partial shipments (the whole order is marked shipped)",
        "shipment tracking_url",
        "shipping_addresses beyond the first",
        "shipping_address.company",
        "address line2 (joined into the one address line)",
        "address region_code (only the state/county name)",
        "customer first/last name apart from the billing name (names are whole)",
        "line discount_amount and order discounts other than coupon_code",
        "fees",
        "totals.subtotal / totals.tax / totals.discount (recomputed by MerchantPro)",
        "order status on_hold and archived",
        "payment status authorized / partially_paid / partially_refunded",
    ),
    notes=(
        "Shipping status moves only through PATCH /api/v2/orders/{id}/{in_process|shipped|delivered|"
        "returned|cancelled}; there is no handler back to awaiting/confirmed.",
        "No modified-since filter: the change feed re-reads open orders by ids= batches.",
        "Cancelling is guarded by reading the order first (already cancelled = no-op).",
        "Line items need catalog product ids (resolved by SKU through GET /api/v2/products).",
    ),
)

"""EverShop read models, EverShop's status vocabulary, and the write plans (re-exported).

EverShop returns orders in two shapes, and both reach the mapping layer:

- the **admin GraphQL** ``Order`` object (camelCase; ids as strings, money as
  ``Price {value: Float, currency, text}``, dates as ``Date {value: "<epoch ms>", text}``); every
  field but ``uuid`` is optional because callers select subsets;
- the **REST order row** (``data`` of ``POST /api/orders``, the bridge's ``order_created`` /
  ``order_placed`` webhook data): snake_case columns, ``numeric(12,4)`` money written as
  ``"5.0000"`` by 2.2.1 but as JSON numbers by the older docs page and the ``order_created`` trigger,
  dates in ISO 8601 or ``YYYY-MM-DD HH:MM:SS``, plus ``items`` / ``shipping_address`` /
  ``billing_address`` rows and, in a connector bundle, ``shipments`` rows.

Money and time fields use pydantic-core's native ``Decimal`` and ``datetime`` parsing: it accepts
every spelling EverShop uses (``"5.0000"``, ``5``, ``64.99`` → ``Decimal("64.99")``, ISO with ``Z``,
``"2023-02-07 14:18:04"``, epoch milliseconds as a string) and rejects booleans, blanks, NaN and
infinities, without a Python validator per field (hot path). Naive datetimes are read as UTC by
the mapping. Unknown fields are kept in ``model_extra``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import ConfigDict, Field

from connectors.evershop.write import (
    EverShopAddress,
    EverShopCancel,
    EverShopCartItem,
    EverShopCreatePlan,
    EverShopLegacyShipmentCreate,
    EverShopShipmentCreate,
    EverShopShipmentItem,
    EverShopShipmentUpdate,
    EverShopStatusPlan,
)
from connectors.wire import ReadModel

__all__ = [
    "CURRENCY_PATTERN",
    "ORDER_STATUS_FLOW",
    "ORDER_STATUS_NAMES",
    "PAYMENT_STATUS_NAMES",
    "PSO_MAPPING",
    "SHIPMENT_PHASES",
    "SHIPMENT_ROLLUP_NAMES",
    "CurrentFilter",
    "ErrorBody",
    "ErrorEnvelope",
    "EverShopAddress",
    "EverShopCancel",
    "EverShopCartItem",
    "EverShopCreatePlan",
    "EverShopLegacyShipmentCreate",
    "EverShopShipmentCreate",
    "EverShopShipmentItem",
    "EverShopShipmentUpdate",
    "EverShopStatusPlan",
    "GqlActivity",
    "GqlAddress",
    "GqlCountry",
    "GqlDate",
    "GqlOrder",
    "GqlOrderCollection",
    "GqlOrderItem",
    "GqlPaymentTransaction",
    "GqlPrice",
    "GqlProvince",
    "GqlShipment",
    "GqlShipmentItem",
    "GqlShippingMethodData",
    "GqlShippingSnapshot",
    "GqlStatus",
    "GqlUnshippedItem",
    "GqlVariantOption",
    "OrderAddressRow",
    "OrderItemRow",
    "OrderRow",
    "OrdersEnvelope",
    "ShipmentCreated",
    "ShipmentItemRow",
    "ShipmentRow",
    "ShippingMethodDataRow",
    "TokenPair",
    "cancelable",
    "resolve_order_status",
    "shipment_rollup",
]

CURRENCY_PATTERN = r"^[A-Za-z]{3}$"


class _Read(ReadModel):
    """EverShop read model base: ids arrive as numbers or strings, so numbers coerce to ``str``."""

    model_config = ConfigDict(coerce_numbers_to_str=True)


class _Value(_Read):
    """A GraphQL value wrapper (``Price``, ``Date``, status, country...): presentation extras such as
    ``text`` or ``badge`` are ignored instead of copied (hot path; nothing maps them)."""

    model_config = ConfigDict(extra="ignore")


# -- GraphQL (admin and storefront) -----------------------------------------------------------


class GqlPrice(_Value):
    """``Price {value: Float!, currency, text}``."""

    value: Decimal
    currency: str | None = None
    text: str | None = None


class GqlDate(_Value):
    """``Date {value, text}`` / ``DateTime {value, timezone, text}``: ``value`` is epoch ms as a string."""

    value: datetime | None = None
    text: str | None = None


class GqlStatus(_Value):
    """``Status`` / ``PaymentStatus`` / ``ShipmentStatus``: ``{code, name, badge}`` (+ ``phase``)."""

    code: str | None = None
    name: str | None = None
    phase: str | None = None


class GqlCountry(_Value):
    """``Country {code, name}``."""

    code: str | None = None
    name: str | None = None


class GqlProvince(_Value):
    """``Province {code, name, countryCode}``; ``code`` is EverShop's ``US-CA`` form."""

    code: str | None = None
    name: str | None = None


class GqlAddress(_Read):
    """``OrderAddress``: one whole ``fullName``, no email, no company."""

    orderAddressId: str | None = None
    fullName: str | None = None
    address1: str | None = None
    address2: str | None = None
    city: str | None = None
    postcode: str | None = None
    telephone: str | None = None
    country: GqlCountry | None = None
    province: GqlProvince | None = None


class GqlVariantOption(_Value):
    """``VariantOption {attributeCode, attributeName, attributeId, optionId, optionText}``."""

    attributeCode: str | None = None
    attributeName: str | None = None
    optionText: str | None = None


class GqlOrderItem(_Read):
    """``OrderItem``. ``qty`` is the only required field: a line without quantity is invalid."""

    orderItemId: str | None = None
    uuid: str | None = None
    productId: str | None = None
    productSku: str | None = None
    productName: str | None = None
    qty: int = Field(ge=0)
    productPrice: GqlPrice | None = None
    productPriceInclTax: GqlPrice | None = None
    finalPrice: GqlPrice | None = None
    finalPriceInclTax: GqlPrice | None = None
    taxPercent: Decimal | None = None
    taxAmount: GqlPrice | None = None
    discountAmount: GqlPrice | None = None
    lineTotal: GqlPrice | None = None
    lineTotalInclTax: GqlPrice | None = None
    lineTotalWithDiscount: GqlPrice | None = None
    lineTotalWithDiscountInclTax: GqlPrice | None = None
    total: GqlPrice | None = None
    variantOptions: list[GqlVariantOption] | None = None


class GqlShipmentItem(_Read):
    """``ShipmentItem {orderItemId: Int!, qty: Int!, ...}``."""

    orderItemId: str | None = None
    qty: int = Field(ge=0)
    productSku: str | None = None


class GqlShipment(_Read):
    """``Shipment``: per-shipment status with a ``phase`` (shipped, delivered, canceled)."""

    uuid: str | None = None
    carrier: str | None = None
    carrierName: str | None = None
    trackingNumber: str | None = None
    trackingUrl: str | None = None
    status: GqlStatus | None = None
    phase: str | None = None
    items: list[GqlShipmentItem] | None = None
    createdAt: GqlDate | None = None
    updatedAt: GqlDate | None = None
    shippedAt: GqlDate | None = None
    deliveredAt: GqlDate | None = None
    canceledAt: GqlDate | None = None


class GqlActivity(_Read):
    """``Activity {comment, createdAt}`` (admin): the order's log."""

    comment: str | None = None
    createdAt: GqlDate | None = None


class GqlUnshippedItem(_Read):
    """``UnshippedOrderItem`` (admin): what is still to ship."""

    orderItemId: str | None = None
    productSku: str | None = None
    qtyOrdered: int | None = None
    qtyUnshipped: int | None = None


class GqlShippingSnapshot(_Value):
    """``ShippingMethodSnapshot {code, name, cost}``."""

    code: str | None = None
    name: str | None = None


class GqlShippingMethodData(_Read):
    """``ShippingMethodData {providerCode, methodCode, snapshot}``."""

    providerCode: str | None = None
    methodCode: str | None = None
    snapshot: GqlShippingSnapshot | None = None


class GqlPaymentTransaction(_Read):
    """``PaymentTransaction`` (admin)."""

    transactionId: str | None = None
    transactionType: str | None = None
    paymentAction: str | None = None


class GqlOrder(_Read):
    """The GraphQL ``Order`` object. Only ``uuid`` (the id in every API path) is required."""

    uuid: str = Field(min_length=1)
    orderId: str | None = None
    orderNumber: str | None = None
    status: GqlStatus | None = None
    paymentStatus: GqlStatus | None = None
    shipmentStatus: GqlStatus | None = None
    currency: str | None = Field(default=None, pattern=CURRENCY_PATTERN)
    customerId: str | None = None
    customerEmail: str | None = None
    customerFullName: str | None = None
    coupon: str | None = None
    items: list[GqlOrderItem] | None = None
    shippingAddress: GqlAddress | None = None
    billingAddress: GqlAddress | None = None
    shippingFeeExclTax: GqlPrice | None = None
    shippingFeeInclTax: GqlPrice | None = None
    shippingTaxAmount: GqlPrice | None = None
    discountAmount: GqlPrice | None = None
    subTotal: GqlPrice | None = None
    subTotalInclTax: GqlPrice | None = None
    taxAmount: GqlPrice | None = None
    totalTaxAmount: GqlPrice | None = None
    grandTotal: GqlPrice | None = None
    shippingMethodName: str | None = None
    shippingMethodData: GqlShippingMethodData | None = None
    paymentMethod: str | None = None
    paymentMethodName: str | None = None
    shippingNote: str | None = None
    createdAt: GqlDate | None = None
    updatedAt: GqlDate | None = None
    shipments: list[GqlShipment] | None = None
    shipment: GqlShipment | None = None
    activities: list[GqlActivity] | None = None
    unshippedItems: list[GqlUnshippedItem] | None = None
    paymentTransactions: list[GqlPaymentTransaction] | None = None
    metaData: Any = None


class CurrentFilter(_Read):
    """``Filter {key, operation, value}`` echoed by a collection."""

    key: str
    operation: str | None = None
    value: str | None = None


class GqlOrderCollection(_Read):
    """``OrderCollection {items, total, currentFilters}`` (never select ``currentPage``: it 500s)."""

    items: list[GqlOrder] | None = None
    total: int | None = None
    currentFilters: list[CurrentFilter] | None = None


class _OrdersData(_Read):
    orders: GqlOrderCollection | None = None


class OrdersEnvelope(_Read):
    """``{"data": {"orders": OrderCollection}}``: the admin ``orders(filters)`` answer."""

    data: _OrdersData


# -- REST rows -----------------------------------------------------------------------------------


class OrderItemRow(_Read):
    """An ``order_item`` row. Old docs add ``total``; 2.2.1 has the ``line_total_*`` columns."""

    order_item_id: str | None = None
    uuid: str | None = None
    product_id: str | None = None
    product_sku: str | None = None
    product_name: str | None = None
    qty: int = Field(ge=0)
    product_price: Decimal | None = None
    product_price_incl_tax: Decimal | None = None
    final_price: Decimal | None = None
    final_price_incl_tax: Decimal | None = None
    tax_percent: Decimal | None = None
    tax_amount: Decimal | None = None
    discount_amount: Decimal | None = None
    line_total: Decimal | None = None
    line_total_incl_tax: Decimal | None = None
    line_total_with_discount: Decimal | None = None
    line_total_with_discount_incl_tax: Decimal | None = None
    total: Decimal | None = None
    variant_options: str | list[dict[str, Any]] | None = Field(
        default=None, description="A JSON *text* column: '[{\"attribute_name\":..., \"option_text\":...}]'."
    )


class OrderAddressRow(_Read):
    """An ``order_address`` row: ``full_name``, ``province`` as ``US-CA``, no email or company."""

    order_address_id: str | None = None
    uuid: str | None = None
    full_name: str | None = None
    postcode: str | None = None
    telephone: str | None = None
    country: str | None = None
    province: str | None = None
    city: str | None = None
    address_1: str | None = None
    address_2: str | None = None


class ShipmentItemRow(_Read):
    """A ``shipment_item`` row embedded in ``GET /api/orders/:id/shipments``."""

    shipment_item_id: str | None = None
    order_item_id: str | None = None
    qty: int = Field(ge=0)


class ShipmentRow(_Read):
    """A ``shipment`` row: 2.x ``carrier`` + ``status``; the old docs' ``carrier_name`` without status."""

    shipment_id: str | None = None
    uuid: str | None = None
    shipment_order_id: str | None = None
    carrier: str | None = None
    carrier_name: str | None = None
    tracking_number: str | None = None
    tracking_url: str | None = None
    status: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    shipped_at: datetime | None = None
    delivered_at: datetime | None = None
    canceled_at: datetime | None = None
    items: list[ShipmentItemRow] | None = None


class ShippingMethodDataRow(_Read):
    """The ``shipping_method_data`` jsonb: ``{provider_code, method_code, snapshot{code,name,cost}}``."""

    provider_code: str | None = None
    method_code: str | None = None
    snapshot: GqlShippingSnapshot | None = None


class OrderRow(_Read):
    """An ``order`` row as ``POST /api/orders`` returns it (and the bridge's webhook ``data``)."""

    uuid: str = Field(min_length=1)
    order_id: str | None = None
    order_number: str | None = None
    status: str | None = None
    currency: str | None = Field(default=None, pattern=CURRENCY_PATTERN)
    customer_id: str | None = None
    customer_email: str | None = None
    customer_full_name: str | None = None
    coupon: str | None = None
    shipping_fee_excl_tax: Decimal | None = None
    shipping_fee_incl_tax: Decimal | None = None
    shipping_tax_amount: Decimal | None = None
    discount_amount: Decimal | None = None
    sub_total: Decimal | None = None
    sub_total_incl_tax: Decimal | None = None
    tax_amount: Decimal | None = None
    total_tax_amount: Decimal | None = None
    grand_total: Decimal | None = None
    shipping_note: str | None = None
    shipping_method: str | None = Field(default=None, description="Dropped in 2.x (checkout 1.0.9).")
    shipping_method_name: str | None = Field(default=None, description="Dropped in 2.x (checkout 1.0.9).")
    shipping_method_data: ShippingMethodDataRow | None = None
    payment_method: str | None = None
    payment_method_name: str | None = None
    payment_status: str | None = None
    shipment_status: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    meta_data: Any = None
    items: list[OrderItemRow] | None = None
    shipping_address: OrderAddressRow | None = None
    billing_address: OrderAddressRow | None = None
    shipments: list[ShipmentRow] | None = None


class _ShipmentCreatedData(_Read):
    shipment: ShipmentRow
    items: list[ShipmentItemRow] | None = None
    labelCreated: bool | None = None


class ShipmentCreated(_Read):
    """``POST /api/orders/:uuid/shipments`` answer: ``{data: {shipment, items, labelCreated}}``."""

    data: _ShipmentCreatedData


class _Tokens(_Read):
    accessToken: str
    refreshToken: str | None = None


class TokenPair(_Read):
    """``POST /api/user/tokens`` / ``token/refresh`` answer (refresh issues no new refresh token)."""

    data: _Tokens


class ErrorBody(_Read):
    """EverShop's error object; business rules answer 500 with a message to classify."""

    message: str = ""
    status: int | None = None


class ErrorEnvelope(_Read):
    """``{"error": {"status": ..., "message": ...}}`` (GraphQL execution errors too, with HTTP 500)."""

    error: ErrorBody


# -- EverShop's status vocabulary (oms/bootstrap.ts defaults) ------------------------------------

ORDER_STATUS_NAMES: dict[str, str] = {
    "new": "New", "processing": "Processing", "completed": "Completed", "canceled": "Canceled", "closed": "Closed",
}
ORDER_STATUS_FLOW: tuple[str, ...] = ("new", "processing", "completed", "canceled", "closed")
"""Topological order of the status flow; EverShop refuses to move an order backwards in it."""

PAYMENT_STATUS_NAMES: dict[str, str] = {
    "pending": "Pending", "paid": "Paid", "canceled": "Canceled",
    "paypal_authorized": "Authorized", "paypal_captured": "Captured",
    "stripe_authorized": "Authorized", "stripe_captured": "Captured", "stripe_failed": "Failed",
    "stripe_refunded": "Refunded", "stripe_partial_refunded": "Partial Refunded",
}
PAYMENT_NOT_CANCELABLE = frozenset({"paid", "stripe_captured", "stripe_refunded", "stripe_partial_refunded"})

SHIPMENT_ROLLUP_NAMES: dict[str, str] = {
    "pending": "Pending", "partially_shipped": "Partially Shipped", "shipped": "Shipped",
    "partially_delivered": "Partially Delivered", "delivered": "Delivered",
    "partially_canceled": "Partially Canceled", "canceled": "Canceled",
}
SHIPMENT_PHASES: dict[str, str] = {"shipped": "shipped", "delivered": "delivered", "canceled": "canceled"}
"""Per-shipment status code → phase (core registers exactly these three)."""

PSO_MAPPING: dict[str, str] = {
    "pending:pending": "new",
    "pending:*": "processing",
    "paid:pending": "processing",
    "paid:partially_shipped": "processing",
    "paid:shipped": "processing",
    "paid:partially_delivered": "processing",
    "paid:delivered": "completed",
    "*:partially_canceled": "processing",
    "*:canceled": "processing",
    "canceled:canceled": "canceled",
    "canceled:*": "canceled",
}
"""``payment:shipment`` → order status, looked up exact → ``*:ship`` → ``pay:*`` → ``*:*``."""


def resolve_order_status(payment: str | None, shipment: str | None) -> str | None:
    """The order status EverShop derives from a payment and a shipment (rollup) status, or ``None``."""
    pay = payment or "pending"
    ship = shipment or "pending"
    if ship == "unfullfilled":
        ship = "pending"
    return (
        PSO_MAPPING.get(f"{pay}:{ship}")
        or PSO_MAPPING.get(f"*:{ship}")
        or PSO_MAPPING.get(f"{pay}:*")
        or PSO_MAPPING.get("*:*")
    )


def shipment_rollup(
    ordered: dict[str, int], by_phase: dict[str, dict[str, int]], *, order_canceled: bool = False
) -> str:
    """EverShop's order-level shipment status from item quantities (``resolveShipmentRollup``).

    ``ordered`` maps each shippable order item to its quantity; ``by_phase`` maps a phase
    (``shipped``/``delivered``/``canceled``) to the quantity per item in shipments of that phase.
    """
    if order_canceled:
        return "canceled"
    if not ordered:
        return "delivered"
    shipped = by_phase.get("shipped", {})
    delivered = by_phase.get("delivered", {})
    canceled = by_phase.get("canceled", {})
    items = list(ordered)
    if all(delivered.get(i, 0) == ordered[i] for i in items):
        return "delivered"
    if any(delivered.get(i, 0) > 0 for i in items):
        return "partially_delivered"
    if all(shipped.get(i, 0) + delivered.get(i, 0) == ordered[i] for i in items):
        return "shipped"
    if any(shipped.get(i, 0) + delivered.get(i, 0) > 0 for i in items):
        return "partially_shipped"
    if all(canceled.get(i, 0) >= ordered[i] for i in items):
        return "canceled"
    if any(canceled.get(i, 0) > 0 for i in items):
        return "partially_canceled"
    return "pending"


def cancelable(payment: str | None, shipment: str | None) -> bool:
    """Whether ``POST /api/orders/:uuid/cancel`` is allowed (payment cancelable, not delivered)."""
    return (payment or "pending") not in PAYMENT_NOT_CANCELABLE and shipment != "delivered"

"""BigCommerce wire models: Orders V2 (and the bits of Catalog V3 and webhooks V3 we touch).

Read models mirror what BigCommerce returns and type only the fields ordersync uses; everything
else stays in ``model_extra``. BigCommerce writes money as strings (``"109.0000"``, sometimes
``"924.47"`` or numbers), dates as RFC 2822 (``"Thu, 18 Jun 2026 12:05:04 +0000"``, ``""`` while
unset), mixes ``null`` and ``""`` for empty strings, and returns sub-resources as link objects
``{"url", "resource"}`` (older stores and ``?include=`` embed arrays instead; both are accepted).

Types here are chosen for speed: pydantic's native ``Decimal``/``int``/``bool``/``str`` parse in
Rust (``coerce_numbers_to_str`` lets ids and zips arrive as numbers); only dates use a Python
validator, with a fast path for BigCommerce's fixed RFC 2822 form.

Write models forbid unknown fields and carry only fields BigCommerce accepts on that endpoint:
sending a read-only field (``id``, ``status``, ``payment_status``, ``currency_code``…) makes
BigCommerce answer ``400 The field 'X' cannot be written to``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, ConfigDict, Field, PlainSerializer, model_validator

from connectors.parsing import format_decimal, parse_timestamp
from connectors.wire import ReadModel, WriteModel

__all__ = [
    "READ_ONLY_ORDER_FIELDS",
    "SHIPPING_PROVIDERS",
    "BCAddress",
    "BCAddressWrite",
    "BCAppliedDiscount",
    "BCBillingAddress",
    "BCCoupon",
    "BCDate",
    "BCFeeWrite",
    "BCLink",
    "BCOrder",
    "BCOrderCreate",
    "BCOrderProduct",
    "BCOrderProductWrite",
    "BCOrderStatus",
    "BCOrderSummary",
    "BCOrderUpdate",
    "BCProductOption",
    "BCProductOptionWrite",
    "BCShipment",
    "BCShipmentCreate",
    "BCShipmentItem",
    "BCShipmentItemWrite",
    "BCShipmentUpdate",
    "BCShippingAddress",
    "BCShippingAddressWrite",
    "BCTax",
    "BCVariant",
    "BCVariantOptionValue",
    "BCWebhook",
    "BCWebhookData",
    "WriteMoney",
    "format_rfc2822",
    "parse_bc_date",
]

_MONTHS = {name: number for number, name in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}
_MONTH_NAMES = ("", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def parse_bc_date(value: Any) -> datetime | None:
    """A BigCommerce date: RFC 2822 (fast path for ``"Thu, 18 Jun 2026 12:05:04 +0000"``), or any
    form :func:`connectors.parsing.parse_timestamp` reads; ``""``/``null`` (unset ``date_shipped``)
    is ``None``."""
    if value is None:
        return None
    if isinstance(value, str):
        if not value or value.isspace():
            return None
        parts = value.split()
        if len(parts) == 6 and parts[5] == "+0000" and parts[2] in _MONTHS:
            clock = parts[4].split(":")
            if len(clock) == 3:
                try:
                    return datetime(int(parts[3]), _MONTHS[parts[2]], int(parts[1]), int(clock[0]),
                                    int(clock[1]), int(clock[2]), tzinfo=UTC)
                except ValueError:
                    pass  # the general parser gives the precise message
    return parse_timestamp(value)


def format_rfc2822(value: datetime) -> str:
    """``datetime`` → ``"Thu, 18 Jun 2026 12:05:04 +0000"`` (UTC, locale-independent), as BigCommerce writes."""
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return (f"{_DAY_NAMES[value.weekday()]}, {value.day:02d} {_MONTH_NAMES[value.month]} {value.year:04d} "
            f"{value.hour:02d}:{value.minute:02d}:{value.second:02d} +0000")


BCDate = Annotated[datetime | None, BeforeValidator(parse_bc_date)]
"""An optional BigCommerce date (RFC 2822; ``""`` = unset)."""

WriteMoney = Annotated[Decimal, PlainSerializer(format_decimal, return_type=str, when_used="json")]
"""A money amount sent as a plain decimal string (``"45.5"``, never ``"4.55E+1"``)."""

SHIPPING_PROVIDERS: frozenset[str] = frozenset({
    "auspost", "canadapost", "endicia", "usps", "fedex", "royalmail", "ups", "upsready", "upsonline", "shipperhq",
})
"""``shipping_provider`` values BigCommerce knows (besides ``""`` and ``carrier_{id}``)."""

READ_ONLY_ORDER_FIELDS: frozenset[str] = frozenset({
    "id", "date_modified", "date_shipped", "status", "order_source", "cart_id", "subtotal_tax",
    "shipping_cost_tax", "shipping_cost_tax_class_id", "handling_cost_tax", "handling_cost_tax_class_id",
    "wrapping_cost_tax", "wrapping_cost_tax_class_id", "total_tax", "payment_status", "currency_id",
    "currency_code", "currency_exchange_rate", "default_currency_id", "coupon_discount", "store_credit_amount",
    "gift_certificate_amount", "shipping_address_count", "is_deleted", "coupons", "external_id",
    "is_email_opt_in", "custom_status", "items_shipped", "store_default_currency_code",
    "store_default_to_transactional_exchange_rate",
})
"""Order fields BigCommerce refuses on POST with ``400 The field 'X' cannot be written to``."""


class _Read(ReadModel):
    """Read model base: numbers are accepted where BigCommerce usually sends strings."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, coerce_numbers_to_str=True)


# -- read models -----------------------------------------------------------------------------------


class BCLink(_Read):
    """A sub-resource link: ``{"url": "https://…/v2/orders/100/products", "resource": "/orders/100/products"}``."""

    url: str | None = None
    resource: str | None = None


class BCAddress(_Read):
    """Address fields shared by billing, shipping and shipment addresses."""

    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    street_1: str | None = None
    street_2: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    country: str | None = None
    country_iso2: str | None = None
    phone: str | None = None
    email: str | None = None


class BCBillingAddress(BCAddress):
    """The order's embedded ``billing_address`` (``form_fields`` stays in extra)."""


class BCShippingAddress(BCAddress):
    """``GET /v2/orders/{id}/shipping_addresses`` item; ``id`` is the ``order_address_id``."""

    id: int
    order_id: int | None = None
    items_total: int | None = None
    items_shipped: int | None = None
    shipping_method: str | None = None
    base_cost: Decimal | None = None
    cost_ex_tax: Decimal | None = None
    cost_inc_tax: Decimal | None = None
    cost_tax: Decimal | None = None


class BCProductOption(_Read):
    """A chosen option on an order product (``display_name``/``display_value`` are what the shopper saw)."""

    id: int | None = None
    option_id: int | None = None
    product_option_id: int | None = None
    display_name: str | None = None
    display_value: str | None = None
    value: str | None = None
    name: str | None = None
    type: str | None = None


class BCAppliedDiscount(_Read):
    """A discount's share on one product: ``{id, amount, name, code, target}``."""

    id: str | None = None
    amount: Decimal
    name: str | None = None
    code: str | None = None
    target: str | None = None


class BCOrderProduct(_Read):
    """``GET /v2/orders/{id}/products`` item. ``id`` is the ``order_product_id`` shipments refer to;
    ``product_id`` is 0 for custom products; bundle children carry ``parent_order_product_id``."""

    id: int
    order_id: int | None = None
    product_id: int | None = None
    variant_id: int | None = None
    order_address_id: int | None = None
    name: str | None = None
    sku: str | None = None
    type: str | None = None
    base_price: Decimal | None = None
    price_ex_tax: Decimal
    price_inc_tax: Decimal | None = None
    price_tax: Decimal | None = None
    base_total: Decimal | None = None
    total_ex_tax: Decimal | None = None
    total_inc_tax: Decimal | None = None
    total_tax: Decimal | None = None
    quantity: int
    quantity_shipped: int | None = None
    quantity_refunded: int | None = None
    parent_order_product_id: int | None = None
    applied_discounts: list[BCAppliedDiscount] | None = None
    product_options: list[BCProductOption] | None = None
    discounted_total_inc_tax: Decimal | None = None


class BCShipmentItem(_Read):
    """``{order_product_id, product_id, quantity}`` in a shipment."""

    order_product_id: int
    product_id: int | None = None
    quantity: int


class BCShipment(_Read):
    """``GET /v2/orders/{id}/shipments`` item."""

    id: int
    order_id: int | None = None
    customer_id: int | None = None
    order_address_id: int | None = None
    date_created: BCDate = None
    tracking_number: str | None = None
    shipping_method: str | None = None
    shipping_provider: str | None = None
    tracking_carrier: str | None = None
    tracking_link: str | None = None
    generated_tracking_link: str | None = None
    comments: str | None = None
    items: list[BCShipmentItem] = Field(default_factory=list)


class BCCoupon(_Read):
    """``GET /v2/orders/{id}/coupons`` item; ``discount`` is what the coupon took off this order,
    ``amount`` the coupon's configured value, ``type`` 0-5 (per item, percent, per total, shipping,
    free shipping, promotion)."""

    id: int | None = None
    coupon_id: int | None = None
    order_id: int | None = None
    code: str | None = None
    amount: Decimal | None = None
    type: str | None = None
    discount: Decimal | None = None


class BCTax(_Read):
    """``GET /v2/orders/{id}/taxes`` item (``?details=true`` adds ``order_product_id``)."""

    id: int | None = None
    order_address_id: int | None = None
    order_product_id: int | None = None
    name: str | None = None
    rate: Decimal | None = None
    line_amount: Decimal | None = None


class BCOrderStatus(_Read):
    """``GET /v2/order_statuses`` item."""

    id: int
    name: str | None = None
    system_label: str | None = None
    custom_label: str | None = None


class BCOrderSummary(_Read):
    """The few list fields the change feed reads (list items are full orders; the rest is ignored)."""

    id: int
    date_modified: BCDate = None
    date_created: BCDate = None
    external_order_id: str | None = None


class BCOrder(_Read):
    """``GET /v2/orders/{id}`` (and each ``GET /v2/orders`` item, POST/PUT answers).

    Sub-resources are link objects (``{"url", "resource"}``) or, with ``?include=``, embedded lists;
    the mapping validates embedded lists itself (as :class:`BCOrderProduct` etc.). Money fields are
    optional here because older payloads and docs examples omit some of them;
    ``total_inc_tax`` (the grand total), ``id``, ``status_id`` and ``date_created`` are required.
    """

    id: int
    customer_id: int | None = 0
    date_created: BCDate
    date_modified: BCDate = None
    date_shipped: BCDate = None
    status_id: int
    status: str | None = None
    is_tax_inclusive_pricing: bool | None = False
    subtotal_ex_tax: Decimal | None = None
    subtotal_inc_tax: Decimal | None = None
    subtotal_tax: Decimal | None = None
    shipping_cost_ex_tax: Decimal | None = None
    shipping_cost_inc_tax: Decimal | None = None
    shipping_cost_tax: Decimal | None = None
    handling_cost_ex_tax: Decimal | None = None
    handling_cost_inc_tax: Decimal | None = None
    wrapping_cost_ex_tax: Decimal | None = None
    wrapping_cost_inc_tax: Decimal | None = None
    total_ex_tax: Decimal | None = None
    total_inc_tax: Decimal
    total_tax: Decimal | None = None
    items_total: int | None = None
    items_shipped: int | None = None
    payment_method: str | None = None
    payment_provider_id: str | None = None
    payment_status: str | None = None
    refunded_amount: Decimal | None = None
    currency_code: str | None = None
    default_currency_code: str | None = None
    staff_notes: str | None = None
    customer_message: str | None = None
    discount_amount: Decimal | None = None
    coupon_discount: Decimal | None = None
    is_deleted: bool | None = False
    billing_address: BCBillingAddress | None = None
    customer_locale: str | None = None
    external_order_id: str | None = None
    products: Any = Field(default=None, description="A link object, or the embedded list.")
    shipping_addresses: Any = Field(default=None, description="A link object, or the embedded list.")
    coupons: Any = Field(default=None, description="A link object, or the embedded list.")

    def link(self, name: str) -> str | None:
        """The ``resource`` path of a sub-resource link (``/orders/100/products``), if the order has one."""
        value = (self.model_extra or {}).get(name) if name not in ("products", "shipping_addresses", "coupons") \
            else getattr(self, name)
        if isinstance(value, dict) and isinstance(value.get("resource"), str):
            return str(value["resource"])
        return None


class BCVariantOptionValue(_Read):
    """A V3 variant's option value: ``{id, label, option_id, option_display_name}``."""

    id: int
    label: str | None = None
    option_id: int
    option_display_name: str | None = None


class BCVariant(_Read):
    """``GET /v3/catalog/variants`` item (inside ``{"data": [...], "meta": {...}}``)."""

    id: int
    product_id: int
    sku: str
    price: Decimal | None = None
    calculated_price: Decimal | None = None
    sale_price: Decimal | None = None
    inventory_level: int | None = None
    option_values: list[BCVariantOptionValue] = Field(default_factory=list)


class BCWebhookData(_Read):
    """``data`` of a V3 hook callback: ``{type, id}``; shipments add ``orderId`` (camelCase),
    ``store/order/statusUpdated`` adds ``status{previous_status_id, new_status_id}``."""

    type: str | None = None
    id: str
    orderId: str | None = None
    status: dict[str, Any] | None = None


class BCWebhook(_Read):
    """A V3 hook callback: ``{scope, store_id, data, hash, created_at, producer}``."""

    scope: str = Field(min_length=1)
    store_id: str | None = None
    data: BCWebhookData
    hash: str | None = None
    created_at: int | None = None
    producer: str | None = None


# -- write models ----------------------------------------------------------------------------------


class BCAddressWrite(WriteModel):
    """``billing_address`` on ``POST/PUT /v2/orders`` (``zip`` ≥ 2 characters; ``country_iso2`` wins)."""

    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    street_1: str | None = None
    street_2: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    country: str | None = None
    country_iso2: str | None = None
    phone: str | None = None
    email: str | None = None


class BCShippingAddressWrite(BCAddressWrite):
    """A ``shipping_addresses[]`` item on create: an address plus a free-text ``shipping_method``."""

    shipping_method: str | None = None


class BCProductOptionWrite(WriteModel):
    """``{id, value}``: a variant option / modifier id and an option value id (or free text)."""

    id: int
    value: str


class BCOrderProductWrite(WriteModel):
    """A ``products[]`` item on create.

    Catalog product: ``product_id`` (+ ``variant_id`` or ``product_options``); BigCommerce prices it
    from its catalog unless both ``price_ex_tax`` and ``price_inc_tax`` are given. Custom product
    (no ``product_id``): ``name``, ``quantity``, ``price_ex_tax`` and ``price_inc_tax`` are required.
    """

    product_id: int | None = None
    variant_id: int | None = None
    product_options: list[BCProductOptionWrite] | None = None
    name: str | None = Field(default=None, min_length=1, max_length=250)
    sku: str | None = None
    quantity: int = Field(ge=1)
    price_ex_tax: WriteMoney | None = None
    price_inc_tax: WriteMoney | None = None

    @model_validator(mode="after")
    def _rules(self) -> BCOrderProductWrite:
        if (self.price_ex_tax is None) != (self.price_inc_tax is None):
            raise ValueError("give both price_ex_tax and price_inc_tax, or neither")
        if not self.product_id and (not self.name or self.price_ex_tax is None):
            raise ValueError("a custom product needs name, quantity, price_ex_tax and price_inc_tax")
        return self


class BCFeeWrite(WriteModel):
    """A ``fees[]`` item on create (handling and wrapping have their own order fields)."""

    type: Literal["custom_fee"] = "custom_fee"
    display_name_customer: str | None = None
    display_name_merchant: str | None = None
    source: str | None = None
    cost_ex_tax: WriteMoney
    cost_inc_tax: WriteMoney


def _pairs(model: Any, *names: tuple[str, str]) -> None:
    for first, second in names:
        if (getattr(model, first) is None) != (getattr(model, second) is None):
            raise ValueError(f"{first} and {second} must be given together")


class BCOrderCreate(WriteModel):
    """``POST /v2/orders`` body, allow-listed (no read-only field can slip in).

    ``external_order_id`` carries ordersync's reference (filterable, so a lost answer can be looked
    up); ``external_source`` says who created it. ``status_id`` defaults to 1 (Pending) when omitted.
    """

    customer_id: int | None = None
    status_id: int | None = Field(default=None, ge=0, le=14)
    date_created: str | None = Field(default=None, description="RFC 2822.")
    billing_address: BCAddressWrite
    shipping_addresses: list[BCShippingAddressWrite] | None = None
    products: list[BCOrderProductWrite] = Field(min_length=1)
    external_order_id: str | None = None
    external_source: str | None = None
    staff_notes: str | None = None
    customer_message: str | None = None
    discount_amount: WriteMoney | None = None
    shipping_cost_ex_tax: WriteMoney | None = None
    shipping_cost_inc_tax: WriteMoney | None = None
    handling_cost_ex_tax: WriteMoney | None = None
    handling_cost_inc_tax: WriteMoney | None = None
    wrapping_cost_ex_tax: WriteMoney | None = None
    wrapping_cost_inc_tax: WriteMoney | None = None
    subtotal_ex_tax: WriteMoney | None = None
    subtotal_inc_tax: WriteMoney | None = None
    total_ex_tax: WriteMoney | None = None
    total_inc_tax: WriteMoney | None = None
    payment_method: str | None = None
    payment_provider_id: str | None = None
    customer_locale: str | None = None
    channel_id: int | None = None
    fees: list[BCFeeWrite] | None = None

    @model_validator(mode="after")
    def _together(self) -> BCOrderCreate:
        _pairs(self, ("shipping_cost_ex_tax", "shipping_cost_inc_tax"), ("subtotal_ex_tax", "subtotal_inc_tax"),
               ("total_ex_tax", "total_inc_tax"), ("handling_cost_ex_tax", "handling_cost_inc_tax"),
               ("wrapping_cost_ex_tax", "wrapping_cost_inc_tax"))
        return self


class BCOrderUpdate(WriteModel):
    """``PUT /v2/orders/{id}`` body: status and bookkeeping fields only.

    Never ``custom_status`` or ``external_id`` (400), never an echoed GET body; changing products
    is left out on purpose because a PUT clears discounts on changed lines.
    """

    status_id: int | None = Field(default=None, ge=0, le=14)
    staff_notes: str | None = None
    customer_message: str | None = None
    external_order_id: str | None = None
    external_source: str | None = None
    billing_address: BCAddressWrite | None = None
    payment_method: str | None = None


class BCShipmentItemWrite(WriteModel):
    """``{order_product_id, quantity}`` in a shipment body."""

    order_product_id: int
    quantity: int = Field(ge=1)


class BCShipmentCreate(WriteModel):
    """``POST /v2/orders/{id}/shipments`` body.

    ``shipping_provider`` is always sent (``""`` unless BigCommerce knows the carrier): leaving it
    out made older API versions default to ``custom``, which drops the generated tracking link.
    ``order_address_id`` may be left ``None`` for the connector to fill with the order's first
    shipping address.
    """

    order_address_id: int | None = None
    items: list[BCShipmentItemWrite]
    tracking_number: str | None = Field(default=None, max_length=50)
    shipping_provider: str = ""
    tracking_carrier: str | None = None
    tracking_link: str | None = Field(default=None, max_length=500)
    shipping_method: str | None = None
    comments: str | None = None


class BCShipmentUpdate(WriteModel):
    """``PUT /v2/orders/{id}/shipments/{shipment_id}`` body: tracking, provider, comments (not items)."""

    tracking_number: str | None = Field(default=None, max_length=50)
    shipping_provider: str | None = None
    tracking_carrier: str | None = None
    tracking_link: str | None = Field(default=None, max_length=500)
    comments: str | None = None

"""MerchantPro REST API v2 wire models: what ``/api/v2/orders`` returns and what we send it.

Read models mirror the order resource as the real API writes it: money as floats with up to four
decimals (``13749.1667``) or bare ints for whole gross amounts (``109``), ``null`` and ``""`` both
meaning "not set", ISO 8601 dates with the shop's offset (``+02:00``/``+03:00``), ids as numbers,
stock as a string (``"-1.000"``), and the ``Info_url``/``info_url`` spelling drift. Only the fields
ordersync uses are typed; everything else stays verbatim in ``model_extra``. Sub-resources the
mapping only carries verbatim (``invoice``, ``shipping_delivery_info``, a line's ``status``) have
their own models for readers that need them, but are not validated as part of an order, so an
unexpected shape there never rejects an order. A list row fetched with
``fields=`` carries ``id`` and little else, so every field except ``id`` is optional here; the
mapping decides what a full order must have.

Write models mirror request bodies: the order create (``POST /api/v2/orders``), the partial update
(``PATCH /api/v2/orders/{id}``) and three *plans* the connector turns into several calls, because
MerchantPro moves the shipping status only through processing handlers
(``PATCH /api/v2/orders/{id}/{in_process|shipped|delivered|returned|cancelled}``) and has no
shipment resource (a shipment is the AWB/carrier fields on the order plus the ``shipped`` handler).
"""

from __future__ import annotations

import copy
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, ValidationError

from connectors.errors import InvalidPayload
from connectors.wire import ReadModel, WriteModel, invalid_payload_from

M = TypeVar("M", bound=BaseModel)

__all__ = [
    "FINAL_SHIPPING_STATUSES",
    "OPEN_PAYMENT_STATUSES",
    "PAYMENT_STATUSES",
    "SHIPPING_STATUSES",
    "TRANSITIONS",
    "MerchantProCancel",
    "MerchantProDeliveryInfo",
    "MerchantProInternalNote",
    "MerchantProInvoice",
    "MerchantProLineItem",
    "MerchantProLineItemWrite",
    "MerchantProLineStatus",
    "MerchantProNoteWrite",
    "MerchantProOrder",
    "MerchantProOrderCreate",
    "MerchantProOrderList",
    "MerchantProOrderUpdate",
    "MerchantProPage",
    "MerchantProPickupAddress",
    "MerchantProProduct",
    "MerchantProProductList",
    "MerchantProShipment",
    "MerchantProShipmentUpdate",
    "MerchantProStatusUpdate",
    "MerchantProTag",
    "MerchantProTagWrite",
    "MerchantProVariant",
    "MerchantProVariantOption",
    "MerchantProVariantOptionWrite",
    "Transition",
    "WireMoney",
    "id_text",
    "money_out",
    "parse_lenient",
]

PAYMENT_STATUSES: tuple[str, ...] = (
    "temporary", "awaiting", "paid", "failed", "canceled", "cancelled", "refunded", "rejected",
)
"""Payment status values (the API documents ``canceled`` and answers ``cancelled``; both occur)."""

SHIPPING_STATUSES: tuple[str, ...] = (
    "awaiting", "confirmed", "in_process", "shipped", "delivered", "returned", "cancelled",
)
"""Delivery (shipping) status values."""

FINAL_SHIPPING_STATUSES = frozenset({"delivered", "returned", "cancelled"})
"""Shipping statuses after which an order normally stops changing."""

OPEN_PAYMENT_STATUSES = frozenset({"temporary", "awaiting"})
"""Payment statuses that are still expected to change (e.g. cash on delivery awaiting payment)."""

Transition = Literal["in_process", "shipped", "delivered", "returned", "cancelled"]
"""The processing handlers that move an order's shipping status."""

TRANSITIONS: tuple[str, ...] = ("in_process", "shipped", "delivered", "returned", "cancelled")


def _blank_out(data: Any, error: ValidationError) -> Any | None:
    """A copy of ``data`` with every *blank* value that failed validation (``""``, ``[]``, ``{}``) set
    to ``None``, or ``None`` when no failure was a blank (so a retry cannot help)."""
    patched = copy.deepcopy(data)
    changed = False
    for item in error.errors(include_url=False):
        if item.get("input") not in ("", [], {}):
            continue
        node: Any = patched
        path = list(item["loc"])
        for index, key in enumerate(path):
            if isinstance(node, dict) and key in node:
                if index == len(path) - 1 or not isinstance(node[key], dict | list) or node[key] in ([], {}):
                    if node[key] in ("", [], {}):
                        node[key] = None
                        changed = True
                    break
                node = node[key]
            elif isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
                node = node[key]
            else:
                break
    return patched if changed else None


def parse_lenient(model: type[M], data: Any, *, what: str) -> M:
    """:func:`connectors.wire.parse_wire`, reading MerchantPro's blanks (``""``, ``[]``) as ``None``.

    The fields are pydantic-core's own types (``Decimal``, ``datetime``, ``int | str``), so a clean
    payload is parsed entirely in Rust with no Python validator per field or per object; only a
    payload that failed on a blank value pays for a second pass with those blanks set to ``None``.
    """
    if not isinstance(data, dict):
        got = "a list" if isinstance(data, list) else type(data).__name__
        raise InvalidPayload(what, [("", f"expected a JSON object, got {got}")])
    try:
        return model.model_validate(data)
    except ValidationError as first:
        patched = _blank_out(data, first)
        if patched is None:
            raise invalid_payload_from(what, first) from None
    try:
        return model.model_validate(patched)
    except ValidationError as second:
        raise invalid_payload_from(what, second) from None


_READ_CONFIG = ConfigDict(extra="allow", populate_by_name=True, frozen=False, coerce_numbers_to_str=True)

Id = int | str
"""An id as MerchantPro sends it (a number; documented as a string). Normalised by :func:`id_text`."""


def id_text(value: Any) -> str | None:
    """An id as text; ``None``, ``""`` and ``0`` (MerchantPro's "none", e.g. ``variant_id: 0``) → ``None``."""
    if value is None or value == "" or value == 0:
        return None
    if isinstance(value, str):
        text = value.strip()
        return text if text and text != "0" else None
    return str(value)


def money_out(value: Decimal) -> int | float:
    """How MerchantPro writes money: an int when whole (``109``), else a float (``91.6``)."""
    if value == value.to_integral_value():
        return int(value)
    return float(value)


WireMoney = Annotated[Decimal, PlainSerializer(money_out, return_type=int | float, when_used="json")]
"""A Decimal that leaves as a JSON number the way MerchantPro writes money."""


# --------------------------------------------------------------------------------------------------
# Read models
# --------------------------------------------------------------------------------------------------


class _MPRead(ReadModel):
    """MerchantPro read models: numbers accepted where text is documented (``coerce_numbers_to_str``)."""

    model_config = _READ_CONFIG


class MerchantProTag(_MPRead):
    """An order tag ``{id, name}``. ordersync stamps its reference as a tag name."""

    id: Id | None = None
    name: str | None = None


class MerchantProInternalNote(_MPRead):
    """A staff note on the order ``{id, text}`` (the docs type ``text`` as int; it is text)."""

    id: Id | None = None
    text: str | None = None


class MerchantProInvoice(_MPRead):
    """The order's invoice ``{prefix, number, app, cancelled, url}`` (``null`` when not issued)."""

    prefix: str | None = None
    number: str | None = None


class MerchantProPickupAddress(_MPRead):
    """``shipping_delivery_info.pickup_address``: a locker/easybox/office pickup point."""

    id: Id | None = None
    name: str | None = None


class MerchantProDeliveryInfo(_MPRead):
    """``shipping_delivery_info``: delivery time text and an optional pickup point."""

    delivery_time: str | None = None
    pickup_address: MerchantProPickupAddress | None = None


class MerchantProLineStatus(_MPRead):
    """A shop-defined per-line sub-status ``{id, name, color}``."""

    id: Id | None = None
    name: str | None = None


class MerchantProVariantOption(_MPRead):
    """One chosen variant option ``{id, name, value}``."""

    id: Id | None = None
    name: str | None = None
    value: str | None = None




class MerchantProLineItem(_MPRead):
    """One entry of ``line_items``. ``item_type`` is ``product`` (or absent), ``shipping`` or ``discount``.

    ``quantity`` and ``unit_price_net`` are required: a line without them is not an order line.
    Text fields keep ``""`` as sent; the mapping reads ``""`` as "not set".
    """

    item_type: str | None = None
    product_id: Id | None = None
    variant_id: Id | None = None
    variant_name: str | None = None
    variant_options: list[MerchantProVariantOption] | None = None
    family_sku: str | None = None
    product_sku: str | None = None
    product_name: str | None = None
    product_tax_percent: Decimal | None = None
    quantity: Decimal
    unit_price_net: Decimal
    unit_tax_amount: Decimal | None = None
    unit_price_gross: Decimal | None = None
    line_subtotal_net: Decimal | None = None
    line_tax_amount: Decimal | None = None
    line_subtotal_gross: Decimal | None = None





class MerchantProOrder(_MPRead):
    """An order as ``GET /api/v2/orders/{id}`` or a list row returns it (``fields=`` rows are partial).

    Only ``id`` is required here; the mapping names what a full order must have.
    """

    id: Id
    payment_status: str | None = None
    payment_method_code: str | None = None
    payment_method_name: str | None = None
    payment_transaction_id: str | None = None
    shipping_status: str | None = None
    shipping_status_text: str | None = None
    shipping_method_id: Id | None = None
    shipping_method_name: str | None = None
    shipping_carrier_id: Id | None = None
    shipping_carrier_name: str | None = None
    shipping_awb: str | None = None
    shipping_amount: Decimal | None = None
    shipping_tax_amount: Decimal | None = None
    subtotal_excluding_tax: Decimal | None = None
    subtotal_including_tax: Decimal | None = None
    discount_amount: Decimal | None = None
    tax_amount: Decimal | None = None
    total_amount: Decimal | None = None
    currency: str | None = None
    coupon_code: str | None = None
    customer_id: Id | None = None
    customer_email: str | None = None
    customer_lang: str | None = None
    customer_note: str | None = None
    date_created: datetime | None = None
    date_modified: datetime | None = None
    date_shipped: datetime | None = None
    date_delivered: datetime | None = None
    tags: list[MerchantProTag] | None = None
    internal_notes: list[MerchantProInternalNote] | None = None
    billing_name: str | None = None
    billing_company_name: str | None = None
    billing_country_code: str | None = None
    billing_country_name: str | None = None
    billing_state: str | None = None
    billing_city: str | None = None
    billing_address: str | None = None
    billing_postal_code: str | None = None
    billing_phone: str | None = None
    shipping_name: str | None = None
    shipping_country_code: str | None = None
    shipping_country_name: str | None = None
    shipping_state: str | None = None
    shipping_city: str | None = None
    shipping_address: str | None = None
    shipping_postal_code: str | None = None
    shipping_phone: str | None = None
    line_items: list[MerchantProLineItem] | None = None



class MerchantProCount(_MPRead):
    """``meta.count``: ``total`` matching rows, ``start`` offset, ``current`` rows in this page, ``limit``."""

    total: int = 0
    start: int = 0
    current: int = 0
    limit: int = 100


class MerchantProLinks(_MPRead):
    """``meta.links``: relative URLs of the previous, current and next page (``null`` at the ends)."""

    prev: str | None = None
    current: str | None = None
    next: str | None = None


class MerchantProPage(_MPRead):
    """``meta`` of a list answer."""

    count: MerchantProCount = Field(default_factory=MerchantProCount)
    links: MerchantProLinks = Field(default_factory=MerchantProLinks)


class MerchantProOrderList(_MPRead):
    """The list envelope ``{"data": [...], "meta": {"count": ..., "links": ...}}``."""

    data: list[MerchantProOrder]
    meta: MerchantProPage = Field(default_factory=MerchantProPage)




class MerchantProVariant(_MPRead):
    """A product variant: MerchantPro variants carry their own SKU, prices and stock (``"-1.000"``)."""

    id: Id
    sku: str | None = None
    stock: Decimal | None = None
    price_gross: Decimal | None = None
    variant_options: list[MerchantProVariantOption] | None = None



class MerchantProProduct(_MPRead):
    """A catalog product as ``GET /api/v2/products`` returns it (with ``include=variants``)."""

    id: Id
    name: str | None = None
    sku: str | None = None
    stock: Decimal | None = None
    price_gross: Decimal | None = None
    variants: list[MerchantProVariant] | None = None



class MerchantProProductList(_MPRead):
    """The products list envelope."""

    data: list[MerchantProProduct]
    meta: MerchantProPage = Field(default_factory=MerchantProPage)


# --------------------------------------------------------------------------------------------------
# Write models
# --------------------------------------------------------------------------------------------------


class MerchantProTagWrite(WriteModel):
    """A tag to attach by name (MerchantPro creates it when new)."""

    name: str = Field(min_length=1)


class MerchantProNoteWrite(WriteModel):
    """An internal (staff) note to add."""

    text: str


class MerchantProVariantOptionWrite(WriteModel):
    """A variant option as sent on a line (``id`` only when known on the target)."""

    id: int | None = None
    name: str
    value: str


class MerchantProLineItemWrite(WriteModel):
    """One line of an order create/update. ``product_id``/``variant_id`` come from the target catalog.

    Offline payloads (``ordersync translate``) leave the ids out and carry the SKU and name; the
    connector resolves them at sync time.
    """

    item_type: Literal["product"] = "product"
    product_id: int | None = None
    variant_id: int | None = None
    variant_name: str | None = None
    variant_options: list[MerchantProVariantOptionWrite] | None = None
    family_sku: str | None = None
    product_sku: str | None = None
    product_ean: str | None = None
    product_name: str | None = None
    product_url: str | None = None
    product_image_url: str | None = None
    category_id: int | None = None
    category_name: str | None = None
    manufacturer_id: int | None = None
    manufacturer_name: str | None = None
    product_tax_name: str | None = None
    product_tax_percent: WireMoney | None = None
    quantity: int = Field(ge=1)
    unit_price_net: WireMoney
    unit_tax_amount: WireMoney | None = None
    unit_price_gross: WireMoney | None = None
    line_subtotal_net: WireMoney | None = None
    line_tax_amount: WireMoney | None = None
    line_subtotal_gross: WireMoney | None = None
    meta_fields: dict[str, Any] | None = None


class _AddressFields(WriteModel):
    """Billing and shipping fields shared by the create and update bodies (whole names)."""

    billing_type: Literal["individual", "company"] | None = None
    billing_name: str | None = None
    billing_identity_number: str | None = None
    billing_company_name: str | None = None
    billing_company_number: str | None = None
    billing_company_vat: str | None = None
    billing_company_bank_name: str | None = None
    billing_company_bank_account: str | None = None
    billing_country_code: str | None = None
    billing_country_name: str | None = None
    billing_state: str | None = None
    billing_city: str | None = None
    billing_address: str | None = None
    billing_postal_code: str | None = None
    billing_phone: str | None = None
    shipping_name: str | None = None
    shipping_country_code: str | None = None
    shipping_country_name: str | None = None
    shipping_state: str | None = None
    shipping_city: str | None = None
    shipping_address: str | None = None
    shipping_postal_code: str | None = None
    shipping_phone: str | None = None


class MerchantProOrderCreate(_AddressFields):
    """``POST /api/v2/orders``: the seed page's create body, stamped with our reference tag."""

    payment_status: str | None = None
    payment_method_code: str | None = None
    payment_transaction_id: str | None = None
    shipping_status: str | None = None
    shipping_method_id: int | None = None
    shipping_amount: WireMoney | None = None
    shipping_awb: str | None = None
    shipping_carrier_id: str | None = None
    currency: str | None = None
    customer_id: int | None = None
    customer_email: str | None = None
    customer_lang: str | None = None
    customer_note: str | None = None
    coupon_code: str | None = None
    meta_fields: dict[str, Any] | None = None
    tags: list[MerchantProTagWrite] | None = None
    internal_notes: list[MerchantProNoteWrite] | None = None
    line_items: list[MerchantProLineItemWrite] = Field(min_length=1)


class MerchantProOrderUpdate(_AddressFields):
    """``PATCH /api/v2/orders/{id}``: a partial update. ``line_items`` replaces *all* lines when sent."""

    payment_status: str | None = None
    payment_method_code: str | None = None
    payment_transaction_id: str | None = None
    shipping_method_id: int | None = None
    shipping_amount: WireMoney | None = None
    shipping_awb: str | None = None
    shipping_carrier_id: str | None = None
    customer_note: str | None = None
    meta_fields: dict[str, Any] | None = None
    tags: list[MerchantProTagWrite] | None = None
    internal_notes: list[MerchantProNoteWrite] | None = None
    line_items: list[MerchantProLineItemWrite] | None = None


class MerchantProStatusUpdate(WriteModel):
    """A status plan: PATCH ``payment_status`` on the order, then run the shipping ``transition``.

    Either part may be absent (already equal on the target).
    """

    payment_status: str | None = None
    transition: Transition | None = None


class MerchantProShipment(WriteModel):
    """A shipment plan: PATCH the AWB and carrier on the order, then the ``shipped`` handler.

    ``transition`` is ``delivered`` for a shipment the source already reports as delivered, and
    ``None`` when the target is already at (or past) the wanted status.
    """

    shipping_awb: str = Field(min_length=1)
    shipping_carrier_id: str | None = None
    transition: Literal["shipped", "delivered"] | None = "shipped"


class MerchantProShipmentUpdate(WriteModel):
    """A tracking change: PATCH the AWB and/or carrier on the order (its one shipment slot)."""

    shipping_awb: str | None = None
    shipping_carrier_id: str | None = None


class MerchantProCancel(WriteModel):
    """A cancel plan: the ``cancelled`` handler, then (optionally) the payment status to record."""

    payment_status: str | None = None

"""EverShop ⇄ neutral order.

Reads EverShop's admin GraphQL ``Order`` object (``{"data": {"order": ...}}`` or the bare object)
and its REST order row (``data`` of ``POST /api/orders``, the bridge's webhook ``data``; bare or as
``{"data": row}``) into the neutral order, and turns neutral orders into EverShop's write *plans*
(:mod:`connectors.evershop.write`): EverShop creates orders only through a guest cart checkout,
reprices every line from its catalog, and derives its status from payment and shipments.

Decisions (see ``docs/platforms/evershop.md``):

- ``Line.unit_price`` is ``final_price`` (excl. tax, after catalog price rules, before coupon
  discounts); ``Line.total`` is ``line_total_with_discount_incl_tax``.
- EverShop ``closed`` (a completed order closed by the merchant; terminal) reads as ``archived``.
- ``updated_at`` is the latest of every time the order shows (created, updated, shipment and
  activity times), because EverShop 2.2.1 never updates ``order.updated_at``.
- Address and customer names come whole (``full_name``): they are split with
  :func:`mappings.base.split_name` and kept in ``full_name``. Addresses carry no email, so they get
  the customer's; the customer's phone is the billing (else shipping) telephone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar, Literal, cast

import orjson
from pydantic import BaseModel, ValidationError

from connectors.base import Capabilities
from connectors.errors import InvalidPayload
from connectors.evershop import CAPABILITIES, METAFIELD_KEY, METAFIELD_NAMESPACE
from connectors.evershop.wire import (
    ORDER_STATUS_NAMES,
    PAYMENT_STATUS_NAMES,
    SHIPMENT_PHASES,
    SHIPMENT_ROLLUP_NAMES,
    GqlAddress,
    GqlOrder,
    GqlOrderItem,
    GqlShipment,
    OrderAddressRow,
    OrderItemRow,
    OrderRow,
    ShipmentRow,
    cancelable,
    resolve_order_status,
)
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
from connectors.parsing import format_decimal
from connectors.wire import WriteModel, construct, parse_wire, plain_reader, to_plain
from mappings.base import (
    Call,
    TargetContext,
    join_name,
    refuse_negative,
    refuse_negative_lines,
    split_name,
    totals_warning,
)
from mappings.money import quantum
from mappings.neutral import (
    Address,
    Customer,
    Discount,
    FulfillmentStatus,
    Line,
    LineOption,
    NeutralOrder,
    Notes,
    OrderStatus,
    Payment,
    PaymentStatus,
    RawStatus,
    Shipment,
    ShipmentLine,
    Shipping,
    SourceRef,
    Totals,
)
from mappings.status import StatusTable, Triple

__all__ = [
    "MAPPING",
    "STATUSES",
    "EverShopMapping",
    "from_neutral",
    "to_neutral",
]

PLATFORM = "evershop"
_WHAT = "EverShop order"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NO_CURRENCY = "XXX"  # ISO 4217 "no currency": the query did not select one
_ZERO = Decimal(0)



STATUSES = StatusTable.build(
    PLATFORM,
    inbound={
        "order": {
            "new": "pending",
            "processing": "processing",
            "completed": "completed",
            "canceled": "cancelled",
            "closed": "archived",
        },
        "payment": {
            "pending": "*/unpaid",
            "paid": "*/paid",
            "canceled": "*/voided",
            "stripe_authorized": "*/authorized",
            "stripe_captured": "*/paid",
            "stripe_failed": "*/failed",
            "stripe_refunded": "*/refunded",
            "stripe_partial_refunded": "*/partially_refunded",
            "paypal_authorized": "*/authorized",
            "paypal_captured": "*/paid",
        },
        "shipment": {
            "pending": "*/*/unfulfilled",
            "unfullfilled": "*/*/unfulfilled",  # the older docs' spelling
            "partially_shipped": "*/*/partially_shipped",
            "shipped": "*/*/shipped",
            "partially_delivered": "*/*/partially_delivered",
            "delivered": "*/*/delivered",
            "partially_canceled": "*/*/unfulfilled",  # some shipments canceled, nothing shipped
            "canceled": "*/*/cancelled",
        },
    },
    outbound={
        "order": [
            ("cancelled", "canceled"),
            ("archived", "closed"),
            ("completed", "completed"),
            ("processing", "processing"),
            ("on_hold", "processing"),
            ("pending", "new"),
        ],
        "payment": [
            ("*/voided", "canceled"),
            ("*/paid", "paid"),
            ("*/authorized", "stripe_authorized"),
            ("*/refunded", "stripe_refunded"),
            ("*/partially_refunded", "stripe_partial_refunded"),
            ("*/failed", "stripe_failed"),
            ("*/partially_paid", "pending"),
            ("*/unpaid", "pending"),
        ],
        "shipment": [
            ("*/*/cancelled", "canceled"),
            ("*/*/delivered", "delivered"),
            ("*/*/partially_delivered", "partially_delivered"),
            ("*/*/shipped", "shipped"),
            ("*/*/partially_shipped", "partially_shipped"),
            ("*/*/returned", "delivered"),
            ("*/*/unfulfilled", "pending"),
        ],
    },
    labels={"order": ORDER_STATUS_NAMES, "payment": PAYMENT_STATUS_NAMES, "shipment": SHIPMENT_ROLLUP_NAMES},
)
"""EverShop's default status table (three axes); stores override it in ``ordersync.toml``."""

# Source fields placed in the neutral order; everything else goes to extra["evershop"] verbatim.
_GQL_MAPPED = frozenset({
    "uuid", "orderNumber", "status", "paymentStatus", "shipmentStatus", "currency", "customerId",
    "customerEmail", "customerFullName", "coupon", "items", "shippingAddress", "billingAddress",
    "shippingFeeExclTax", "shippingFeeInclTax", "shippingTaxAmount", "discountAmount", "subTotal",
    "subTotalInclTax", "totalTaxAmount", "taxAmount", "grandTotal", "shippingMethodName", "shippingMethodData",
    "paymentMethod", "paymentMethodName", "shippingNote", "createdAt", "updatedAt", "shipments", "metaData",
})
_GQL_ITEM_MAPPED = frozenset({
    "orderItemId", "productSku", "productName", "productId", "qty", "finalPrice", "finalPriceInclTax",
    "taxPercent", "taxAmount", "discountAmount", "lineTotalWithDiscount", "lineTotalWithDiscountInclTax",
    "variantOptions",
})
_GQL_ADDRESS_MAPPED = frozenset({
    "orderAddressId", "fullName", "address1", "address2", "city", "postcode", "telephone", "country", "province",
})
_GQL_SHIPMENT_MAPPED = frozenset({
    "uuid", "carrier", "trackingNumber", "trackingUrl", "status", "phase", "items", "shippedAt", "deliveredAt",
    "createdAt",  # shipped_at when shippedAt is null (always, in 2.2.1); kept in extra otherwise
})
_REST_MAPPED = frozenset({
    "uuid", "order_number", "status", "payment_status", "shipment_status", "currency", "customer_id",
    "customer_email", "customer_full_name", "coupon", "items", "shipping_address", "billing_address",
    "shipping_fee_excl_tax", "shipping_fee_incl_tax", "shipping_tax_amount", "discount_amount", "sub_total",
    "sub_total_incl_tax", "total_tax_amount", "tax_amount", "grand_total", "shipping_method",
    "shipping_method_name", "shipping_method_data", "payment_method", "payment_method_name", "shipping_note",
    "created_at", "updated_at", "shipments", "meta_data",
})
_REST_ITEM_MAPPED = frozenset({
    "order_item_id", "product_sku", "product_name", "product_id", "qty", "final_price", "final_price_incl_tax",
    "tax_percent", "tax_amount", "discount_amount", "line_total_with_discount",
    "line_total_with_discount_incl_tax", "variant_options",
})
_REST_ADDRESS_MAPPED = frozenset({
    "order_address_id", "full_name", "address_1", "address_2", "city", "postcode", "telephone", "country",
    "province",
})
_REST_SHIPMENT_MAPPED = frozenset({
    "uuid", "carrier", "carrier_name", "tracking_number", "tracking_url", "status", "items", "shipped_at",
    "created_at", "delivered_at",
})
_REST_KEYS = frozenset({
    "order_id", "order_number", "grand_total", "sub_total", "created_at", "updated_at", "customer_email",
    "customer_full_name", "payment_status", "shipment_status", "meta_data", "shipping_address",
    "billing_address", "shipping_fee_incl_tax", "cart_id", "payment_method", "shipping_note",
})
_GQL_KEYS = frozenset({
    "orderId", "orderNumber", "grandTotal", "createdAt", "paymentStatus", "shipmentStatus", "customerEmail",
    "metaData", "shippingAddress", "billingAddress",
})
_PHASE_TO_NEUTRAL: dict[str, Literal["shipped", "delivered", "cancelled"]] = {
    "shipped": "shipped", "delivered": "delivered", "canceled": "cancelled", "pending": "shipped",
}


@dataclass(frozen=True)
class _Unmapped:
    """Which keys of one kind of object go to ``extra``: the undeclared ones (what the read model keeps
    in ``model_extra``) in their order, then the declared ones the mapping does not place."""

    declared: frozenset[str]
    keep: tuple[str, ...]

    @classmethod
    def of(cls, model: type[BaseModel], mapped: frozenset[str]) -> _Unmapped:
        return cls(frozenset(model.model_fields), tuple(name for name in model.model_fields if name not in mapped))

    def __call__(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        out = {key: value for key, value in raw.items() if key not in self.declared}
        out.update((key, raw[key]) for key in self.keep if key in raw)
        return out


@dataclass(frozen=True)
class _Shape:
    """Where the GraphQL object and the REST row keep what the one reader needs."""

    order: _Unmapped
    item: _Unmapped
    address: _Unmapped
    shipment: _Unmapped
    price_fields: tuple[str, str, str]  # quantity, final price, product price: named in refusals
    billing_key: str
    shipping_key: str
    created_key: str  # a shipment's creation time, kept in extra when it is not the shipped time


_GQL = _Shape(_Unmapped.of(GqlOrder, _GQL_MAPPED), _Unmapped.of(GqlOrderItem, _GQL_ITEM_MAPPED),
              _Unmapped.of(GqlAddress, _GQL_ADDRESS_MAPPED), _Unmapped.of(GqlShipment, _GQL_SHIPMENT_MAPPED),
              ("qty", "finalPrice", "productPrice"), "billingAddress", "shippingAddress", "createdAt")
_REST = _Shape(_Unmapped.of(OrderRow, _REST_MAPPED), _Unmapped.of(OrderItemRow, _REST_ITEM_MAPPED),
               _Unmapped.of(OrderAddressRow, _REST_ADDRESS_MAPPED), _Unmapped.of(ShipmentRow, _REST_SHIPMENT_MAPPED),
               ("qty", "final_price", "product_price"), "billing_address", "shipping_address", "created_at")


# Validate exactly like GqlOrder / OrderRow but into plain dicts (no model instance per
# item, address, price or date wrapper: about half the validation time); the models stay the door for
# anything the fast pass refuses, so errors are raised exactly as before. See connectors.wire.plain_reader.
_READ_GQL = plain_reader(GqlOrder)
_READ_REST = plain_reader(OrderRow)


def _read(read: Callable[[Any], Any], model: type[BaseModel], raw: dict[str, Any], prefix: str) -> dict[str, Any]:
    """``raw`` validated like ``model``, as a plain dict (``InvalidPayload`` when invalid)."""
    try:
        return read(raw)  # type: ignore[no-any-return]
    except ValidationError:
        plain: dict[str, Any] = to_plain(parse_wire(model, raw, what=_WHAT, prefix=prefix))  # raises its error
        return plain


# -- small helpers ----------------------------------------------------------------------------


def _canon(value: Decimal | None, q: Decimal) -> Decimal | None:
    """``value`` at the currency's precision when that loses nothing (``"5.0000"`` → ``5.00``)."""
    if value is None:
        return None
    try:
        rounded = value.quantize(q)
    except InvalidOperation:
        return value
    return rounded if rounded == value else value


def _pv(p: dict[str, Any] | None) -> Decimal | None:
    """The amount of a GraphQL ``Price`` (validated dict)."""
    return None if p is None else p["value"]


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _date(d: dict[str, Any] | None) -> datetime | None:
    """A GraphQL ``Date`` (validated dict) as aware UTC."""
    return None if d is None else _utc(d["value"])


def _latest(times: Iterable[datetime | None]) -> datetime | None:
    best: datetime | None = None
    for t in times:
        if t is not None and (best is None or t > best):
            best = t
    return best


def _reference(meta: Any) -> tuple[str | None, dict[str, Any] | None]:
    """Our reference in ``metaData.ordersync.ref`` and the rest of the metadata (for ``extra``)."""
    if not isinstance(meta, dict) or not meta:
        return None, None
    ns = meta.get(METAFIELD_NAMESPACE)
    if not isinstance(ns, dict) or not isinstance(ns.get(METAFIELD_KEY), str) \
            or not ns[METAFIELD_KEY].startswith("ordersync:"):
        return None, dict(meta)  # only an ordersync reference marks a mirror; anything else stays in extra
    rest = {k: v for k, v in meta.items() if k != METAFIELD_NAMESPACE}
    others = {k: v for k, v in ns.items() if k != METAFIELD_KEY}
    if others:
        rest[METAFIELD_NAMESPACE] = others
    return cast(str, ns[METAFIELD_KEY]), rest or None


def _options(value: Any, warnings: list[str], index: int, gql: bool) -> list[LineOption]:
    """Variant options from GraphQL ``VariantOption`` objects (``gql``: validated dicts), REST dicts, or
    the REST JSON text column."""
    if value is None:
        return []
    if isinstance(value, str):
        if not value.strip():
            return []
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError:
            warnings.append(f"items[{index}]: variant_options is not JSON; kept as text in the line's extra")
            return []
    if not isinstance(value, list):
        return []
    out: list[LineOption] = []
    for opt in value:
        if gql:
            name = opt["attributeName"] or opt["attributeCode"]
            text = opt["optionText"]
        elif isinstance(opt, dict):
            name = opt.get("attribute_name") or opt.get("attribute_code")
            text = opt.get("option_text")
        else:
            continue  # not an option object
        if isinstance(name, str) and isinstance(text, str):
            out.append(construct(LineOption, {"name": name, "value": text}))
    return out


def _statuses(
    table: StatusTable, order_code: str | None, pay_code: str | None, ship_code: str | None, warnings: list[str]
) -> tuple[OrderStatus, PaymentStatus, FulfillmentStatus]:
    """The neutral triple from EverShop's three axes (order status derived when not selected)."""
    order_t = table.inbound_for("order", order_code)
    pay_t = table.inbound_for("payment", pay_code)
    ship_t = table.inbound_for("shipment", ship_code)
    for axis, code, found in (("order", order_code, order_t), ("payment", pay_code, pay_t),
                              ("shipment", ship_code, ship_t)):
        if code is not None and found is None:
            warnings.append(f"status: unknown EverShop {axis} status {code!r} (map it in status_map.inbound.{axis})")
    if order_t is None and order_code is None and (pay_code or ship_code):
        order_t = table.inbound_for("order", resolve_order_status(pay_code, ship_code))
    empty = Triple()
    o, p, s = order_t or empty, pay_t or empty, ship_t or empty
    status = o.status or p.status or s.status or "pending"
    payment = p.payment_status or o.payment_status or s.payment_status or "unpaid"
    fulfillment = s.fulfillment_status or o.fulfillment_status or p.fulfillment_status or "unfulfilled"
    return cast(OrderStatus, status), cast(PaymentStatus, payment), cast(FulfillmentStatus, fulfillment)


@dataclass
class _Item:
    """One order item's values, whichever shape it came in."""

    line_id: str | None
    sku: str | None
    name: str | None
    product_id: str | None
    qty: int
    final: Decimal | None
    final_incl: Decimal | None
    product: Decimal | None
    product_incl: Decimal | None
    tax_rate: Decimal | None
    tax: Decimal | None
    discount: Decimal | None
    line_total: Decimal | None
    line_total_incl: Decimal | None
    with_discount: Decimal | None
    with_discount_incl: Decimal | None
    old_total: Decimal | None
    options: Any


def _gql_item(it: dict[str, Any]) -> _Item:
    """A GraphQL ``OrderItem`` (prices are ``Price`` objects)."""
    return _Item(it["orderItemId"], it["productSku"], it["productName"], it["productId"], it["qty"],
                 _pv(it["finalPrice"]), _pv(it["finalPriceInclTax"]), _pv(it["productPrice"]),
                 _pv(it["productPriceInclTax"]), it["taxPercent"], _pv(it["taxAmount"]), _pv(it["discountAmount"]),
                 _pv(it["lineTotal"]), _pv(it["lineTotalInclTax"]), _pv(it["lineTotalWithDiscount"]),
                 _pv(it["lineTotalWithDiscountInclTax"]), _pv(it["total"]), it["variantOptions"])


def _rest_item(it: dict[str, Any]) -> _Item:
    """A REST ``order_item`` row."""
    return _Item(it["order_item_id"], it["product_sku"], it["product_name"], it["product_id"], it["qty"],
                 it["final_price"], it["final_price_incl_tax"], it["product_price"], it["product_price_incl_tax"],
                 it["tax_percent"], it["tax_amount"], it["discount_amount"], it["line_total"],
                 it["line_total_incl_tax"], it["line_total_with_discount"], it["line_total_with_discount_incl_tax"],
                 it["total"], it["variant_options"])


def _line(item: _Item, raw: Mapping[str, Any], shape: _Shape, index: int, q: Decimal,
          warnings: list[str]) -> Line:
    """One neutral line: the final price is the unit price; totals from the line totals given."""
    refuse_negative(_WHAT, [(f"items[{index}].{field}", value) for field, value in zip(
        shape.price_fields, (item.qty, item.final, item.product), strict=True)])
    qty, discount = item.qty, item.discount
    unit = item.final if item.final is not None else item.product
    if unit is None:
        if item.line_total is not None and qty:
            unit = item.line_total / qty
        else:
            warnings.append(f"items[{index}]: no price selected; unit_price set to 0")
            unit = _ZERO
    unit_incl = item.final_incl if item.final_incl is not None else item.product_incl
    total = item.with_discount_incl
    if total is None:
        base = item.line_total_incl if item.line_total_incl is not None else item.old_total
        if base is None and unit_incl is not None:
            base = unit_incl * qty
        if base is not None:
            total = base - discount if discount else base
    total_excl = item.with_discount
    if total_excl is None:
        base = item.line_total if item.line_total is not None else unit * qty
        total_excl = base - discount if discount else base
    return construct(Line, {
        "source_line_id": item.line_id,
        "sku": item.sku,
        "name": item.name,
        "product_ref": item.product_id,
        "options": _options(item.options, warnings, index, shape is _GQL) if item.options else [],
        "quantity": qty,
        "unit_price": _canon(unit, q),
        "unit_price_incl_tax": _canon(unit_incl, q),
        "tax_rate": item.tax_rate,
        "tax_amount": _canon(item.tax, q),
        "discount_amount": _canon(discount, q),
        "total": _canon(total, q),
        "total_excl_tax": _canon(total_excl, q),
        "extra": shape.item(raw),
    })


def _read_lines(items: list[_Item], raw: dict[str, Any], shape: _Shape, q: Decimal,
                warnings: list[str]) -> tuple[list[Line], dict[str, str]]:
    """``(lines, SKU by order item id)``."""
    raw_items = raw.get("items") or []
    lines = [_line(item, raw_items[index], shape, index, q, warnings) for index, item in enumerate(items)]
    skus = {item.line_id: item.sku for item in items if item.line_id is not None and item.sku is not None}
    return lines, skus


@dataclass
class _ShipmentRead:
    """One shipment's values, whichever shape it came in."""

    uuid: str | None
    carrier: str | None
    tracking_number: str | None
    tracking_url: str | None
    created_at: datetime | None
    shipped_at: datetime | None
    delivered_at: datetime | None
    canceled_at: datetime | None
    updated_at: datetime | None
    phase: str
    items: list[tuple[str | None, str | None, int]]  # (order item id, SKU when given, quantity)


def _gql_shipment(s: dict[str, Any]) -> _ShipmentRead:
    """A GraphQL ``Shipment`` (times are ``Date`` objects; the phase may sit on its status)."""
    status = s["status"]
    phase = (status["phase"] if status else None) or s["phase"] or SHIPMENT_PHASES.get(
        (status["code"] if status else None) or "", "shipped")
    return _ShipmentRead(s["uuid"], s["carrier"], s["trackingNumber"], s["trackingUrl"], _date(s["createdAt"]),
                         _date(s["shippedAt"]), _date(s["deliveredAt"]), _date(s["canceledAt"]),
                         _date(s["updatedAt"]), phase,
                         [(si["orderItemId"], si["productSku"], si["qty"]) for si in s["items"] or ()])


def _rest_shipment(s: dict[str, Any]) -> _ShipmentRead:
    """A REST ``shipment`` row."""
    return _ShipmentRead(s["uuid"], s["carrier"] or s["carrier_name"], s["tracking_number"], s["tracking_url"],
                         _utc(s["created_at"]), _utc(s["shipped_at"]), _utc(s["delivered_at"]),
                         _utc(s["canceled_at"]), _utc(s["updated_at"]),
                         SHIPMENT_PHASES.get(s["status"] or "shipped", "shipped"),
                         [(si["order_item_id"], None, si["qty"]) for si in s["items"] or ()])


def _read_shipments(reads: list[_ShipmentRead], raw_list: Any, shape: _Shape, skus: Mapping[str, str],
                    extra: dict[str, Any], times: list[datetime | None]) -> list[Shipment]:
    """Neutral shipments; every time they show joins ``times``; unmapped fields to ``extra["shipments"]``."""
    shipments: list[Shipment] = []
    rests: list[dict[str, Any]] = []
    for index, s in enumerate(reads):
        times += (s.created_at, s.shipped_at, s.delivered_at, s.canceled_at, s.updated_at)
        shipments.append(construct(Shipment, {
            "source_shipment_id": s.uuid,
            "carrier": s.carrier,
            "tracking_number": s.tracking_number,
            "tracking_url": s.tracking_url,
            "shipped_at": s.shipped_at or s.created_at,
            "lines": [ShipmentLine(source_line_id=item_id, sku=sku or skus.get(item_id or ""), quantity=qty)
                      for item_id, sku, qty in s.items],
            "status": _PHASE_TO_NEUTRAL.get(s.phase, "shipped"),
            "delivered_at": s.delivered_at,
        }))
        raw = raw_list[index] if raw_list else None
        rest = shape.shipment(raw) if isinstance(raw, dict) else {}
        if s.shipped_at is not None and s.created_at is not None and s.created_at != s.shipped_at:
            rest[shape.created_key] = cast("dict[str, Any]", raw)[shape.created_key]
        rests.append(rest)
    if any(rests):
        extra["shipments"] = rests
    return shipments


@dataclass
class _Source:
    """Everything one order says, whichever shape it came in (see :func:`_gql_source`, :func:`_rest_source`)."""

    uuid: str
    number: str | None
    currency: str
    created: datetime | None
    times: list[datetime | None]  # every other time the order shows but its shipments'
    codes: tuple[str | None, str | None, str | None]  # order, payment, shipment status codes
    label: str | None
    email: str | None
    customer_id: str | None
    customer_name: str | None
    billing: tuple[Address | None, dict[str, Any] | None]
    shipping: tuple[Address | None, dict[str, Any] | None]
    items: list[_Item]
    shipments: list[_ShipmentRead]
    raw_shipments: Any
    unshipped: Any
    shipping_info: Shipping
    coupon: str | None
    subtotal: Decimal | None
    discount: Decimal | None
    tax: Decimal | None
    grand_total: Decimal | None
    subtotal_incl: Decimal | None
    payment: Payment
    note: str | None
    meta: Any
    meta_key: str


def _gql_currency(o: dict[str, Any], warnings: list[str]) -> str:
    grand = o["grandTotal"]
    currency = (o["currency"] or (grand["currency"] if grand and grand["currency"] else None) or _NO_CURRENCY).upper()
    if currency == _NO_CURRENCY:
        warnings.append("currency: not selected; set to XXX (no currency)")
    return currency


def _gql_source(o: dict[str, Any], raw: dict[str, Any], warnings: list[str]) -> _Source:
    """The GraphQL ``Order`` object (admin or storefront query, any selection of fields)."""
    currency = _gql_currency(o, warnings)
    q = quantum(currency)
    if o["shipments"] is not None:
        shipments, raw_shipments = o["shipments"], raw.get("shipments")
    else:  # the storefront's single `shipment`
        shipments, raw_shipments = ([o["shipment"]] if o["shipment"] else []), [raw.get("shipment")]
    smd = o["shippingMethodData"]
    snapshot = smd["snapshot"] if smd else None
    status, payment_status, shipment_status = o["status"], o["paymentStatus"], o["shipmentStatus"]
    email = o["customerEmail"]
    return _Source(
        uuid=o["uuid"], number=o["orderNumber"], currency=currency, created=_date(o["createdAt"]),
        times=[_date(o["updatedAt"]), *(_date(activity["createdAt"]) for activity in o["activities"] or ())],
        codes=(status["code"] if status else None, payment_status["code"] if payment_status else None,
               shipment_status["code"] if shipment_status else None),
        label=status["name"] if status else None, email=email, customer_id=o["customerId"],
        customer_name=o["customerFullName"],
        billing=_gql_address(o["billingAddress"], raw.get("billingAddress"), email),
        shipping=_gql_address(o["shippingAddress"], raw.get("shippingAddress"), email),
        items=[_gql_item(it) for it in o["items"] or ()],
        shipments=[_gql_shipment(s) for s in shipments], raw_shipments=raw_shipments, unshipped=o["unshippedItems"],
        shipping_info=construct(Shipping, {
            "method_code": smd["methodCode"] if smd else None,
            "method_name": o["shippingMethodName"] or (snapshot["name"] if snapshot else None),
            "amount": _price(o["shippingFeeExclTax"], q),
            "amount_incl_tax": _price(o["shippingFeeInclTax"], q),
            "tax_amount": _price(o["shippingTaxAmount"], q),
        }),
        coupon=o["coupon"], subtotal=_price(o["subTotal"], q), discount=_price(o["discountAmount"], q),
        tax=_price(o["totalTaxAmount"] or o["taxAmount"], q), grand_total=_price(o["grandTotal"], q),
        subtotal_incl=_price(o["subTotalInclTax"], q),
        payment=Payment(method_code=o["paymentMethod"], method_name=o["paymentMethodName"], transaction_id=next(
            (t["transactionId"] for t in o["paymentTransactions"] or () if t["transactionId"]), None)),
        note=o["shippingNote"], meta=o["metaData"], meta_key="metaData",
    )


def _rest_source(o: dict[str, Any], raw: dict[str, Any], warnings: list[str]) -> _Source:
    """The REST order row (``GET /api/orders/{id}`` where a store has it, webhooks, exports)."""
    currency = (o["currency"] or _NO_CURRENCY).upper()
    if currency == _NO_CURRENCY:
        warnings.append("currency: missing; set to XXX (no currency)")
    q = quantum(currency)
    smd = o["shipping_method_data"]
    snapshot = smd["snapshot"] if smd else None
    total_tax = o["total_tax_amount"]
    email = o["customer_email"]
    return _Source(
        uuid=o["uuid"], number=o["order_number"], currency=currency, created=_utc(o["created_at"]),
        times=[_utc(o["updated_at"])], codes=(o["status"], o["payment_status"], o["shipment_status"]),
        label=ORDER_STATUS_NAMES.get(o["status"] or ""), email=email, customer_id=o["customer_id"],
        customer_name=o["customer_full_name"],
        billing=_rest_address(o["billing_address"], raw.get("billing_address"), email),
        shipping=_rest_address(o["shipping_address"], raw.get("shipping_address"), email),
        items=[_rest_item(it) for it in o["items"] or ()],
        shipments=[_rest_shipment(s) for s in o["shipments"] or ()], raw_shipments=raw.get("shipments") or [],
        unshipped=None,
        shipping_info=construct(Shipping, {
            "method_code": (smd["method_code"] if smd else None) or o["shipping_method"],
            "method_name": (snapshot["name"] if snapshot else None) or o["shipping_method_name"],
            "amount": _canon(o["shipping_fee_excl_tax"], q),
            "amount_incl_tax": _canon(o["shipping_fee_incl_tax"], q),
            "tax_amount": _canon(o["shipping_tax_amount"], q),
        }),
        coupon=o["coupon"], subtotal=_canon(o["sub_total"], q), discount=_canon(o["discount_amount"], q),
        tax=_canon(total_tax if total_tax is not None else o["tax_amount"], q),
        grand_total=_canon(o["grand_total"], q), subtotal_incl=_canon(o["sub_total_incl_tax"], q),
        payment=Payment(method_code=o["payment_method"], method_name=o["payment_method_name"]),
        note=o["shipping_note"], meta=o["meta_data"], meta_key="meta_data",
    )


def _read_source(src: _Source, raw: dict[str, Any], shape: _Shape, store: str | None, table: StatusTable,
                 warnings: list[str]) -> NeutralOrder:
    """The one reader both shapes share: lines, addresses, shipments, then the order."""
    extra = shape.order(raw)
    lines, skus = _read_lines(src.items, raw, shape, quantum(src.currency), warnings)
    (billing, billing_rest), (shipping, shipping_rest) = src.billing, src.shipping
    if billing_rest:
        extra[shape.billing_key] = billing_rest
    if shipping_rest:
        extra[shape.shipping_key] = shipping_rest
    times = [src.created, *src.times]
    shipments = _read_shipments(src.shipments, src.raw_shipments, shape, skus, extra, times)
    _quantities_shipped(lines, shipments, src.unshipped)
    status, payment, fulfillment = _statuses(table, *src.codes, warnings)
    if src.codes == (None, None, None):
        warnings.append("status: no EverShop status selected; read as pending/unpaid/unfulfilled")
    created, updated = _created_updated(src.created, times, warnings)
    grand_total = _grand_total(src, lines, warnings)
    mirror_of, meta_rest = _reference(src.meta)
    if meta_rest:
        extra[src.meta_key] = meta_rest
    return construct(NeutralOrder, {
        "source": SourceRef(platform=PLATFORM, store=store, id=src.uuid, number=src.number),
        "created_at": created,
        "updated_at": updated,
        "currency": src.currency,
        "status": status,
        "payment_status": payment,
        "fulfillment_status": fulfillment,
        "raw_status": RawStatus(platform=PLATFORM, code=src.codes[0], label=src.label, payment_code=src.codes[1],
                                fulfillment_code=src.codes[2]),
        "customer": _customer(src, billing, shipping),
        "billing_address": billing,
        "shipping_address": shipping,
        "shipping_addresses": [shipping] if shipping is not None else [],
        "lines": lines,
        "shipping": src.shipping_info,
        "discounts": [Discount(code=src.coupon, amount=src.discount or _ZERO)] if src.coupon or src.discount else [],
        "totals": construct(Totals, {"subtotal": src.subtotal, "discount": src.discount,
                                     "shipping": src.shipping_info.amount, "tax": src.tax,
                                     "grand_total": grand_total, "subtotal_incl_tax": src.subtotal_incl}),
        "payment": src.payment,
        "shipments": shipments,
        "notes": Notes(customer=src.note),
        "mirror_of": mirror_of,
        "extra": {PLATFORM: extra} if extra else {},
        "warnings": warnings,
    })


def _created_updated(created: datetime | None, times: list[datetime | None],
                     warnings: list[str]) -> tuple[datetime, datetime]:
    """``(created_at, updated_at)``: the latest time the order shows is its last change."""
    updated = _latest(times)
    if created is None:
        created = min((t for t in times if t is not None), default=None)
        if created is None:
            created = _EPOCH
            warnings.append("created_at: createdAt not selected; set to the Unix epoch")
        else:
            warnings.append("created_at: createdAt not selected; using the earliest time the order shows")
    if updated is None or updated < created:
        updated = created
    return created, updated


def _grand_total(src: _Source, lines: list[Line], warnings: list[str]) -> Decimal:
    """The declared grand total (checked against lines + shipping), else computed with a warning."""
    shipping = src.shipping_info.amount_incl_tax
    line_totals = [line.total for line in lines]
    if src.grand_total is None:
        grand_total = _ZERO
        if lines and None not in line_totals:
            grand_total = sum(cast("list[Decimal]", line_totals), _ZERO) + (shipping or _ZERO)
        warnings.append(f"totals: grandTotal not selected; computed {grand_total}")
        return grand_total
    if lines and shipping is not None and None not in line_totals:
        computed = sum(cast("list[Decimal]", line_totals), shipping)
        if abs(src.grand_total - computed) > quantum(src.currency):
            warnings.append(cast(str, totals_warning(src.grand_total, [computed], src.currency)))
    return src.grand_total


def _customer(src: _Source, billing: Address | None, shipping: Address | None) -> Customer:
    """The buyer: the order's name split predictably, else the billing address's."""
    first, last = split_name(src.customer_name)
    if first is None and billing is not None and billing.full_name:
        first, last = billing.first_name, billing.last_name
    phone = (billing.phone if billing else None) or (shipping.phone if shipping else None)
    return Customer(id=src.customer_id, email=src.email, first_name=first, last_name=last, phone=phone,
                    full_name=src.customer_name)


def _address(
    raw: Any, unmapped: _Unmapped, email: str | None, *, address_id: str | None,
    full: str | None,
    line1: str | None, line2: str | None, city: str | None, postcode: str | None, phone: str | None,
    country_code: str | None, country_name: str | None, region_code: str | None, region: str | None,
) -> tuple[Address, dict[str, Any] | None]:
    first, last = split_name(full)
    address = construct(Address, {
        "first_name": first,
        "last_name": last,
        "company": None,
        "line1": line1,
        "line2": line2,
        "city": city,
        "region": region,
        "region_code": region_code,
        "postal_code": postcode,
        "country_code": country_code,
        "phone": phone,
        "email": email,
        "full_name": full,
        "country": country_name,
        "source_address_id": address_id,
    })
    rest = unmapped(raw) if isinstance(raw, dict) else None
    return address, rest or None


def _gql_address(a: dict[str, Any] | None, raw: Any, email: str | None) -> tuple[Address | None,
                                                                               dict[str, Any] | None]:
    if a is None:
        return None, None
    country, province = a["country"], a["province"]
    return _address(
        raw, _GQL.address, email, address_id=a["orderAddressId"], full=a["fullName"],
        line1=a["address1"], line2=a["address2"], city=a["city"], postcode=a["postcode"], phone=a["telephone"],
        country_code=country["code"] if country else None, country_name=country["name"] if country else None,
        region_code=province["code"] if province else None, region=province["name"] if province else None,
    )


def _rest_address(
    a: dict[str, Any] | None, raw: Any, email: str | None
) -> tuple[Address | None, dict[str, Any] | None]:
    if a is None:
        return None, None
    return _address(
        raw, _REST.address, email, address_id=a["order_address_id"],
        full=a["full_name"], line1=a["address_1"], line2=a["address_2"], city=a["city"], postcode=a["postcode"],
        phone=a["telephone"], country_code=a["country"], country_name=None, region_code=a["province"], region=None,
    )


# -- reading -------------------------------------------------------------------------------------


def _unwrap(payload: Any) -> tuple[bool, dict[str, Any], str]:
    """``(is_rest, object, path prefix)`` for the accepted input shapes."""
    if not isinstance(payload, dict):
        got = "a list" if isinstance(payload, list) else type(payload).__name__
        raise InvalidPayload(_WHAT, [("", f"expected a JSON object, got {got}")])
    if "data" in payload:
        data = payload["data"]
        if not isinstance(data, dict):
            raise InvalidPayload(_WHAT, [("data", "expected an object")])
        if "order" in data:
            obj = data["order"]
            if not isinstance(obj, dict):
                raise InvalidPayload(_WHAT, [("data.order", "order not found (null)" if obj is None
                                              else "expected an object")])
            return False, obj, "data.order"
        return _is_rest(data), data, "data"
    if "error" in payload and isinstance(payload["error"], dict):
        message = payload["error"].get("message")
        raise InvalidPayload(_WHAT, [("error", f"EverShop answered an error: {message}")])
    if len(payload) == 1 and isinstance(payload.get("order"), dict):
        return False, payload["order"], "order"
    return _is_rest(payload), payload, ""


def _is_rest(obj: dict[str, Any]) -> bool:
    """A REST row has snake_case columns and none of the GraphQL object's camelCase fields."""
    if "shipment_id" in obj and "order_id" not in obj and "order_number" not in obj:
        raise InvalidPayload(_WHAT, [("shipment_id", "this is a shipment row, not an order")])
    return not _REST_KEYS.isdisjoint(obj) and _GQL_KEYS.isdisjoint(obj)


def _price(p: dict[str, Any] | None, q: Decimal) -> Decimal | None:
    """A GraphQL ``Price`` (validated dict) as a canonical amount."""
    return None if p is None else _canon(p["value"], q)


def _quantities_shipped(lines: list[Line], shipments: list[Shipment], unshipped: Any) -> None:
    """Fill ``Line.quantity_shipped`` from live shipments (or the admin ``unshippedItems``)."""
    shipped: dict[str, int] = {}
    if shipments:
        for shipment in shipments:
            if shipment.status == "cancelled":
                continue
            for item in shipment.lines:
                key = item.source_line_id or ""
                shipped[key] = shipped.get(key, 0) + item.quantity
    elif unshipped:
        for u in unshipped:
            item_id, ordered, left = u["orderItemId"], u["qtyOrdered"], u["qtyUnshipped"]
            if item_id is not None and ordered is not None and left is not None:
                shipped[item_id] = ordered - left
    else:
        return
    for line in lines:
        if line.source_line_id is not None:
            line.quantity_shipped = shipped.get(line.source_line_id, 0)


# -- writing helpers -----------------------------------------------------------------------------


def _province(address: Address) -> str | None:
    """EverShop's province code: ``US-CA`` from ``CA`` + ``US``; kept when it already has the prefix."""
    code = (address.region_code or "").strip()
    country = (address.country_code or "").strip().upper()
    if code:
        if "-" in code or not country:
            return code
        return f"{country}-{code}"
    return (address.region or "").strip() or None


def _plan_address(
    address: Address, where: str, fallback_name: str | None, ctx: TargetContext, problems: list[tuple[str, str]]
) -> EverShopAddress:
    full = join_name(address.first_name, address.last_name, address.full_name)
    if not full and fallback_name:
        ctx.warn(f"{where}: no name on the address; using the customer's name {fallback_name!r}")
        full = fallback_name
    province = _province(address)
    if province and not address.region_code:
        ctx.warn(f"{where}: province sent as the region name {province!r}; EverShop expects a code such as US-CA")
    country = (address.country_code or "").strip().upper() or None
    required = {"full_name": full, "address_1": address.line1, "province": province, "country": country,
                "postcode": address.postal_code}
    for field, value in required.items():
        if not value or not str(value).strip():
            problems.append((f"{where}.{field}", "EverShop requires it (its address validator refuses the cart)"))
    if address.company:
        ctx.warn(f"{where}: EverShop addresses have no company; {address.company!r} is dropped")
    return construct(EverShopAddress, {
        "full_name": full or "",
        "address_1": address.line1 or "",
        "address_2": address.line2 or None,
        "city": address.city or None,
        "province": province or "",
        "country": country or "",
        "postcode": address.postal_code or "",
        "telephone": address.phone or None,
    })


def _carrier(source: str | None, ctx: TargetContext) -> str:
    """A registered EverShop carrier code for a source carrier (``custom`` unless configured)."""
    carriers = ctx.options.get("carriers") or {}
    if source:
        for key in (source, source.lower(), source.upper()):
            if key in carriers:
                return str(carriers[key])
        if source.lower() != "custom":
            ctx.warn(f"shipment: carrier {source!r} is sent as EverShop's 'custom' carrier (core registers no "
                     "other; map it in options.carriers once a carrier extension is installed)")
    return "custom"


def _payment_code(order: NeutralOrder) -> str:
    raw = order.raw_status
    if raw.platform == PLATFORM and raw.payment_code:
        return raw.payment_code
    return STATUSES.outbound_for("payment", order.status, order.payment_status, order.fulfillment_status) or "pending"


def _shipment_code(order: NeutralOrder) -> str:
    raw = order.raw_status
    if raw.platform == PLATFORM and raw.fulfillment_code:
        return raw.fulfillment_code
    return STATUSES.outbound_for("shipment", order.status, order.payment_status,
                                 order.fulfillment_status) or "pending"


def _is_canceled(order: NeutralOrder) -> bool:
    raw = order.raw_status
    if raw.platform == PLATFORM and (raw.code == "canceled" or raw.payment_code == "canceled"):
        return True
    return order.status == "cancelled"


def _shipment_match(source: Shipment, candidates: list[Shipment]) -> Shipment | None:
    """The target shipment that mirrors ``source``: same tracking number, else same lines, else the only one."""
    if source.tracking_number:
        for candidate in candidates:
            if candidate.tracking_number == source.tracking_number:
                return candidate
    wanted = sorted((line.sku or "", line.quantity) for line in source.lines)
    if wanted:
        for candidate in candidates:
            if sorted((line.sku or "", line.quantity) for line in candidate.lines) == wanted:
                return candidate
    return candidates[0] if len(candidates) == 1 else None


def _ms(value: datetime) -> str:
    return str(int(value.timestamp() * 1000))


def _gdate(value: datetime | None) -> dict[str, Any] | None:
    if value is None:
        return None
    return {"value": _ms(value), "text": value.strftime("%b %d, %Y").replace(" 0", " ")}


def _gprice(value: Decimal | None, currency: str) -> dict[str, Any] | None:
    if value is None:
        return None
    text = f"${value:,.2f}" if currency == "USD" else f"{format_decimal(value)} {currency}"
    return {"value": float(value), "currency": currency, "text": text}


def _put(out: dict[str, Any], key: str, value: Any) -> None:
    if value is not None:
        out[key] = value


def _render_address(address: Address | None, extra: Any) -> dict[str, Any] | None:
    if address is None:
        return None
    out: dict[str, Any] = {}
    if address.source_address_id is not None:
        out["orderAddressId"] = int(address.source_address_id) if address.source_address_id.isdigit() \
            else address.source_address_id
    _put(out, "fullName", join_name(address.first_name, address.last_name, address.full_name))
    _put(out, "address1", address.line1)
    _put(out, "address2", address.line2)
    _put(out, "city", address.city)
    _put(out, "postcode", address.postal_code)
    _put(out, "telephone", address.phone)
    if address.country_code or address.country:
        country: dict[str, Any] = {}
        _put(country, "code", address.country_code)
        _put(country, "name", address.country)
        out["country"] = country
    province_code = _province(address) if address.region_code else None
    if province_code or address.region:
        province: dict[str, Any] = {}
        _put(province, "code", province_code)
        _put(province, "name", address.region)
        out["province"] = province
    if isinstance(extra, dict):
        out.update(extra)
    return out


# -- the mapping ---------------------------------------------------------------------------------


class EverShopMapping:
    """EverShop ⇄ neutral: GraphQL/REST orders in, cart-checkout and status *plans* out."""

    platform: ClassVar[str] = PLATFORM
    capabilities: ClassVar[Capabilities] = CAPABILITIES
    statuses: ClassVar[StatusTable] = STATUSES

    # -- read --------------------------------------------------------------------------------
    def to_neutral(
        self, payload: Any, *, store: str | None = None, statuses: StatusTable | None = None
    ) -> NeutralOrder:
        """Read an EverShop GraphQL order (bare or ``{"data": {"order": ...}}``) or REST order row
        (bare or ``{"data": row}``) into a neutral order. Raises only :class:`InvalidPayload`."""
        table = statuses or STATUSES
        try:
            is_rest, raw, prefix = _unwrap(payload)
            warnings: list[str] = []
            if is_rest:
                source, shape = _rest_source(_read(_READ_REST, OrderRow, raw, prefix), raw, warnings), _REST
            else:
                source, shape = _gql_source(_read(_READ_GQL, GqlOrder, raw, prefix), raw, warnings), _GQL
            return _read_source(source, raw, shape, store, table, warnings)
        except InvalidPayload:
            raise
        except Exception as error:  # noqa: BLE001 - odd-but-parsed JSON still reads as "invalid payload"
            raise InvalidPayload(_WHAT, [("", f"{type(error).__name__}: {error}")]) from None

    # -- create ------------------------------------------------------------------------------
    def create_payload(self, order: NeutralOrder, ctx: TargetContext) -> EverShopCreatePlan:
        """The cart → checkout plan for ``order``: SKUs and quantities, customer, addresses, methods.

        EverShop reprices every line from its catalog, so source prices and totals are not sent;
        ``expected_grand_total`` records the source total for the engine's drift report.
        """
        refuse_negative_lines(order, PLATFORM)
        ctx.prefetch(line.sku for line in order.lines if line.parent_line_id is None)  # one sku-in query
        problems: list[tuple[str, str]] = []
        items: list[EverShopCartItem] = []
        for index, line in enumerate(order.lines):
            if line.parent_line_id is not None:
                ctx.warn(f"lines[{index}]: bundle component {line.sku!r} left out (EverShop adds the parent SKU)")
                continue
            if not line.sku:
                problems.append((f"lines[{index}].sku", "EverShop creates lines from its catalog by SKU; none given"))
                continue
            if line.quantity < 1:
                ctx.warn(f"lines[{index}]: quantity {line.quantity} of {line.sku!r} left out")
                continue
            if ctx.catalog is not None:
                ref = ctx.catalog(line.sku)  # UnknownSku propagates: the engine parks the order
                if ref.price is not None and ref.price != line.unit_price:
                    ctx.warn(f"lines[{index}]: EverShop prices {line.sku!r} at {ref.price} (source {line.unit_price})")
                if ref.stock is not None and ref.stock < line.quantity:
                    ctx.warn(f"lines[{index}]: EverShop has {ref.stock} of {line.sku!r} in stock, "
                             f"{line.quantity} ordered (checkout will fail)")
            items.append(construct(EverShopCartItem, {"sku": line.sku, "qty": line.quantity}))
        if not items and not problems:
            problems.append(("lines", "no line can be created in EverShop"))
        customer = order.customer
        billing_src = order.billing_address or order.shipping_address
        shipping_src = order.shipping_address or order.billing_address
        email = customer.email or (billing_src.email if billing_src else None) or (
            shipping_src.email if shipping_src else None)
        if not email:
            problems.append(("customer.email", "EverShop's guest checkout needs an email"))
        name = join_name(customer.first_name, customer.last_name, customer.full_name) or (
            join_name(billing_src.first_name, billing_src.last_name, billing_src.full_name) if billing_src else None)
        shipping_plan = billing_plan = None
        if shipping_src is None:
            problems.append(("shipping_address", "EverShop requires a shipping and a billing address"))
        else:
            if order.shipping_address is None:
                ctx.warn("shipping_address: none on the source; the billing address is used")
            if order.billing_address is None:
                ctx.warn("billing_address: none on the source; the shipping address is used")
            shipping_plan = _plan_address(shipping_src, "shipping_address", name, ctx, problems)
            billing_plan = (shipping_plan if billing_src is shipping_src
                            else _plan_address(cast(Address, billing_src), "billing_address", name, ctx, problems))
        if problems:
            raise InvalidPayload("order for EverShop", problems)
        self._create_warnings(order, ctx)
        options = ctx.options
        payment_code = str(options.get("payment_method_code") or "cod")
        payment_name = options.get("payment_method_name") or ("Cash on Delivery" if payment_code == "cod" else None)
        reference = ctx.reference.key if ctx.reference is not None else None
        if reference is None:
            ctx.warn("reference: none given; the created order cannot be found again after a lost answer")
        fields: dict[str, Any] = {
            "items": items,
            "customer_email": email,
            "customer_full_name": name,
            "shipping_address": shipping_plan,
            "billing_address": billing_plan,
            "shipping_provider": str(options.get("shipping_provider_code") or "core"),
            "shipping_method_code": options.get("shipping_method_code"),
            "payment_method_code": payment_code,
            "payment_method_name": payment_name,
            "shipping_note": order.notes.customer,
            "reference": reference,
            "expected_grand_total": order.totals.grand_total,
        }
        return construct(EverShopCreatePlan, fields)

    @staticmethod
    def _create_warnings(order: NeutralOrder, ctx: TargetContext) -> None:
        """What EverShop cannot carry on create, said once each."""
        ctx.warn(f"prices: EverShop reprices every line from its own catalog and computes tax and shipping; "
                 f"source prices and totals are not sent (source grand total {order.totals.grand_total} "
                 f"{order.currency} kept as expected_grand_total)")
        if order.source.number:
            ctx.warn(f"order number: EverShop numbers orders itself (10000 + id); source number "
                     f"{order.source.number} is only in the reference")
        ctx.warn("created_at: EverShop stamps the checkout time; the source date is not carried")
        if (order.status, order.payment_status, order.fulfillment_status) != ("pending", "unpaid", "unfulfilled"):
            ctx.warn(f"status: the order is created new/pending/pending; {order.status}/{order.payment_status}/"
                     f"{order.fulfillment_status} is applied afterwards where EverShop allows it")
        if order.discounts or (order.totals.discount or _ZERO) > 0:
            ctx.warn("discounts: EverShop applies only its own coupons; source discounts are not carried")
        if order.fees:
            ctx.warn("fees: EverShop has no order fees; they are not carried")
        if len(order.shipping_addresses) > 1:
            ctx.warn("shipping_addresses: EverShop has one shipping address; only the first is used")
        if order.notes.staff:
            ctx.warn("notes.staff: EverShop has no staff note field on create; not carried")
        if order.payment.method_code and order.payment.method_code != ctx.options.get("payment_method_code", "cod"):
            ctx.warn(f"payment: source method {order.payment.method_code!r} is placed as "
                     f"{ctx.options.get('payment_method_code', 'cod')!r} in EverShop")
        for address in (order.billing_address, order.shipping_address):
            if address is not None and address.email and order.customer.email and address.email != order.customer.email:
                ctx.warn("addresses: EverShop addresses have no email; the customer email is used")
                break

    # -- status ------------------------------------------------------------------------------
    def status_payload(self, order: NeutralOrder, ctx: TargetContext) -> EverShopStatusPlan | None:
        """The actions that bring ``ctx.current`` (the EverShop order) towards ``order``'s status.

        EverShop's status is derived, so the plan only captures a COD payment, marks shipments
        delivered or cancels. Never cancels an order that is already canceled (EverShop restocks
        again on every cancel); says what cannot be reached (refunds, holds, closed).
        """
        current = ctx.current
        if current is None:
            ctx.warn("status: the current EverShop order is unknown; assuming a freshly created new/pending/pending")
            pay_code, ship_code, canceled, method = "pending", "pending", False, ctx.options.get(
                "payment_method_code", "cod")
            candidates: list[Shipment] = []
        else:
            pay_code, ship_code = _payment_code(current), _shipment_code(current)
            canceled = _is_canceled(current)
            method = current.payment.method_code
            candidates = [s for s in current.shipments if s.status == "shipped"]
        if order.status == "cancelled":
            if canceled:
                return None
            if not cancelable(pay_code, ship_code):
                ctx.warn(f"cancel: EverShop cannot cancel an order with payment {pay_code!r} and shipment "
                         f"{ship_code!r} ('Order is not cancelable at this status'); cancel or refund it by hand")
                return None
            reason = str(ctx.options.get("cancel_reason") or EverShopCancel().reason)
            return EverShopStatusPlan(cancel=True, cancel_reason=reason)
        if canceled:
            ctx.warn(f"status: the EverShop order is canceled and cannot be reopened (source is {order.status})")
            return None
        capture = False
        if order.payment_status in ("paid", "partially_refunded", "refunded"):
            if pay_code == "pending" and method == "cod":
                capture = True
            elif pay_code == "pending":
                ctx.warn(f"payment: only COD payments can be captured through the API (method {method!r})")
            if order.payment_status != "paid":
                ctx.warn(f"payment: EverShop cannot record refunds; source is {order.payment_status}")
        elif order.payment_status in ("authorized", "partially_paid"):
            ctx.warn(f"payment: EverShop COD has no {order.payment_status} state; payment stays {pay_code}")
        elif order.payment_status in ("voided", "failed"):
            ctx.warn(f"payment: source payment is {order.payment_status}; EverShop can only cancel the whole order")
        deliver: list[str] = []
        source_delivered = [s for s in order.shipments if s.status == "delivered"]
        if order.fulfillment_status == "delivered" and not source_delivered:
            deliver = [s.source_shipment_id for s in candidates if s.source_shipment_id]
        else:
            remaining = list(candidates)
            for shipment in source_delivered:
                match = _shipment_match(shipment, remaining)
                if match is not None and match.source_shipment_id:
                    deliver.append(match.source_shipment_id)
                    remaining.remove(match)
        if order.fulfillment_status in ("delivered", "partially_delivered") and not deliver and ship_code not in (
                "delivered", "partially_delivered"):
            ctx.warn("shipments: the source is delivered but EverShop has no open shipment to mark delivered yet")
        if order.fulfillment_status == "returned":
            ctx.warn("shipments: EverShop has no returns; 'returned' is not mirrored")
        if order.status == "on_hold":
            ctx.warn("status: EverShop has no on-hold status")
        if order.status == "archived":
            ctx.warn("status: EverShop's 'closed' cannot be set through the API")
        if not capture and not deliver:
            return None
        return EverShopStatusPlan(capture_payment=capture, deliver_shipments=deliver)

    # -- shipments ---------------------------------------------------------------------------
    def shipment_payload(
        self, shipment: Shipment, order: NeutralOrder, ctx: TargetContext
    ) -> EverShopShipmentCreate | EverShopLegacyShipmentCreate:
        """``POST /api/orders/:uuid/shipments`` body: target ``order_item_id`` by SKU from
        ``ctx.current``, a registered carrier (``custom`` by default) and the tracking number."""
        if shipment.tracking_url:
            ctx.warn("shipment: EverShop sets tracking URLs only through carrier extensions; the link is dropped")
        if ctx.options.get("legacy_shipments"):
            return EverShopLegacyShipmentCreate(carrier_name=shipment.carrier, tracking_number=shipment.tracking_number)
        current = ctx.current
        if current is None:
            raise InvalidPayload("shipment for EverShop", [("ctx.current", "the target order is needed to find "
                                                            "its order_item_id values")])
        sku_of = {line.source_line_id: line.sku for line in order.lines if line.source_line_id}
        shipped = current.shipped_quantities()
        remaining: dict[str, tuple[int, int]] = {}  # sku → (order_item_id, qty still to ship)
        for line in current.lines:
            if line.sku and line.source_line_id and line.source_line_id.isdigit():
                left = line.quantity - shipped.get(line.source_line_id, 0)
                previous = remaining.get(line.sku)
                remaining[line.sku] = (int(line.source_line_id), left + (previous[1] if previous else 0))
        wanted = [(item.sku or sku_of.get(item.source_line_id or ""), item.quantity) for item in shipment.lines]
        if not wanted:
            wanted = [(sku, left) for sku, (_, left) in remaining.items() if left > 0]
        items: list[EverShopShipmentItem] = []
        for sku, quantity in wanted:
            if not sku or sku not in remaining:
                ctx.warn(f"shipment: SKU {sku!r} is not on the EverShop order; left out of the shipment")
                continue
            item_id, left = remaining[sku]
            qty = min(quantity, left)
            if qty < quantity:
                ctx.warn(f"shipment: only {left} of {sku!r} left to ship in EverShop ({quantity} in the source "
                         "shipment); EverShop refuses over-shipping")
            if qty >= 1:
                items.append(EverShopShipmentItem(order_item_id=item_id, qty=qty))
                remaining[sku] = (item_id, left - qty)
        if not items:
            raise InvalidPayload("shipment for EverShop", [("lines", "nothing left to ship on the EverShop order")])
        notify = ctx.options.get("notify_customer")
        return EverShopShipmentCreate(
            items=items, carrier=_carrier(shipment.carrier, ctx), tracking_number=shipment.tracking_number,
            notify_customer=bool(notify) if notify is not None else False,
        )

    def shipment_update_payload(self, shipment: Shipment, ctx: TargetContext) -> EverShopShipmentUpdate | None:
        """``PATCH /api/shipments/:uuid`` body when tracking differs from the mirrored target shipment.

        The target shipment is ``options["target_shipment_id"]`` in ``ctx.current`` when given, else
        the one matching by tracking number or lines.
        """
        carrier = _carrier(shipment.carrier, ctx)
        target: Shipment | None = None
        if ctx.current is not None:
            wanted = ctx.options.get("target_shipment_id")
            if wanted:
                target = next((s for s in ctx.current.shipments if s.source_shipment_id == wanted), None)
            else:
                target = _shipment_match(shipment, list(ctx.current.shipments))
        if target is not None and target.tracking_number == shipment.tracking_number and target.carrier == carrier:
            return None
        if shipment.tracking_number is None and target is not None and target.carrier == carrier:
            return None
        if shipment.tracking_number is None:
            return EverShopShipmentUpdate(carrier=carrier)
        return EverShopShipmentUpdate(carrier=carrier, tracking_number=shipment.tracking_number)

    def cancel_payload(self, order: NeutralOrder, ctx: TargetContext) -> EverShopCancel:
        """``POST /api/orders/:uuid/cancel`` body (``reason`` is required by EverShop)."""
        current = ctx.current
        if current is not None:
            if _is_canceled(current):
                ctx.warn("cancel: the EverShop order is already canceled; cancelling again would restock twice, "
                         "so the connector must skip it")
            elif not cancelable(_payment_code(current), _shipment_code(current)):
                ctx.warn("cancel: EverShop refuses to cancel a paid or delivered order")
        reason = ctx.options.get("cancel_reason")
        return EverShopCancel(reason=str(reason)) if reason else EverShopCancel()

    # -- render ------------------------------------------------------------------------------
    def render(self, order: NeutralOrder) -> dict[str, Any]:
        """``order`` as EverShop's admin GraphQL ``Order`` object (what :meth:`to_neutral` reads)."""
        cur = order.currency
        extra = dict(order.extra.get(PLATFORM, {}))
        raw = order.raw_status
        own = raw.platform == PLATFORM
        triple = (order.status, order.payment_status, order.fulfillment_status)
        order_code = (raw.code if own and raw.code else None) or STATUSES.outbound_for("order", *triple) or "new"
        pay_code = _payment_code(order)
        if pay_code == "stripe_authorized" and (order.payment.method_code or "").startswith("paypal"):
            pay_code = "paypal_authorized"
        ship_code = _shipment_code(order)
        out: dict[str, Any] = {"uuid": order.source.id}
        _put(out, "orderNumber", order.source.number)
        out["status"] = {"code": order_code, "name": ORDER_STATUS_NAMES.get(order_code, "Unknown")}
        out["paymentStatus"] = {"code": pay_code, "name": PAYMENT_STATUS_NAMES.get(pay_code, "Unknown")}
        out["shipmentStatus"] = {"code": ship_code, "name": SHIPMENT_ROLLUP_NAMES.get(ship_code, "Unknown")}
        out["currency"] = cur
        customer = order.customer
        if customer.id is not None:
            out["customerId"] = int(customer.id) if customer.id.isdigit() else customer.id
        _put(out, "customerEmail", customer.email)
        _put(out, "customerFullName", join_name(customer.first_name, customer.last_name, customer.full_name))
        coupon = next((d.code for d in order.discounts if d.code), None)
        _put(out, "coupon", coupon)
        out["createdAt"] = _gdate(order.created_at)
        out["updatedAt"] = _gdate(order.updated_at or order.created_at)
        shipping = order.shipping
        _put(out, "shippingMethodName", shipping.method_name)
        if shipping.method_code:
            out["shippingMethodData"] = {"providerCode": "core", "methodCode": shipping.method_code,
                                         "snapshot": {"code": shipping.method_code, "name": shipping.method_name or "",
                                                      "cost": _gprice(shipping.amount_incl_tax, cur)}}
        _put(out, "paymentMethod", order.payment.method_code)
        _put(out, "paymentMethodName", order.payment.method_name)
        _put(out, "shippingNote", order.notes.customer)
        totals = order.totals
        for key, value in (("grandTotal", totals.grand_total), ("subTotal", totals.subtotal),
                           ("subTotalInclTax", totals.subtotal_incl_tax), ("discountAmount", totals.discount),
                           ("shippingFeeExclTax", shipping.amount), ("shippingFeeInclTax", shipping.amount_incl_tax),
                           ("shippingTaxAmount", shipping.tax_amount), ("taxAmount", totals.tax),
                           ("totalTaxAmount", totals.tax)):
            _put(out, key, _gprice(value, cur))
        out["items"] = [self._render_line(line, cur) for line in order.lines]
        _put(out, "shippingAddress", _render_address(order.shipping_address, extra.pop("shippingAddress", None)))
        _put(out, "billingAddress", _render_address(order.billing_address, extra.pop("billingAddress", None)))
        shipment_extra = extra.pop("shipments", None) or []
        shipments = []
        for index, shipment in enumerate(order.shipments):
            phase = {"delivered": "delivered", "cancelled": "canceled"}.get(shipment.status, "shipped")
            rendered: dict[str, Any] = {}
            _put(rendered, "uuid", shipment.source_shipment_id)
            _put(rendered, "carrier", shipment.carrier)
            _put(rendered, "trackingNumber", shipment.tracking_number)
            _put(rendered, "trackingUrl", shipment.tracking_url)
            rendered["status"] = {"code": phase, "name": phase.capitalize(), "phase": phase}
            rendered["items"] = [
                {"orderItemId": int(item.source_line_id) if item.source_line_id and item.source_line_id.isdigit()
                 else item.source_line_id, "qty": item.quantity, **({"productSku": item.sku} if item.sku else {})}
                for item in shipment.lines
            ]
            _put(rendered, "createdAt", _gdate(shipment.shipped_at or order.created_at))
            _put(rendered, "shippedAt", _gdate(shipment.shipped_at))
            _put(rendered, "deliveredAt", _gdate(shipment.delivered_at))
            if index < len(shipment_extra) and isinstance(shipment_extra[index], dict):
                rendered.update(shipment_extra[index])
            shipments.append(rendered)
        out["shipments"] = shipments
        meta = extra.pop("metaData", None)
        meta = dict(meta) if isinstance(meta, dict) else {}
        if order.mirror_of:
            namespace = dict(meta.get(METAFIELD_NAMESPACE) or {})
            namespace[METAFIELD_KEY] = order.mirror_of
            meta[METAFIELD_NAMESPACE] = namespace
        if meta:
            out["metaData"] = meta
        out.update(extra)
        return out

    @staticmethod
    def _render_line(line: Line, cur: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if line.source_line_id is not None:
            out["orderItemId"] = line.source_line_id
        _put(out, "productId", line.product_ref)
        _put(out, "productSku", line.sku)
        _put(out, "productName", line.name)
        out["qty"] = line.quantity
        unit_incl = line.unit_price_incl_tax
        for key, value in (
            ("finalPrice", line.unit_price), ("finalPriceInclTax", unit_incl),
            ("taxAmount", line.tax_amount), ("discountAmount", line.discount_amount),
            ("lineTotalWithDiscount", line.total_excl_tax), ("lineTotalWithDiscountInclTax", line.total),
        ):
            _put(out, key, _gprice(value, cur))
        if line.tax_rate is not None:
            out["taxPercent"] = float(line.tax_rate)
        if line.options:
            out["variantOptions"] = [
                {"attributeCode": option.name.lower().replace(" ", "_"), "attributeName": option.name,
                 "attributeId": index + 1, "optionId": index + 1, "optionText": option.value}
                for index, option in enumerate(line.options)
            ]
        out.update(line.extra)
        return out

    # -- calls -------------------------------------------------------------------------------
    def calls(self, payload: WriteModel) -> list[Call]:
        """The EverShop HTTP calls a plan becomes (what ``ordersync translate --to evershop`` prints)."""
        if isinstance(payload, EverShopCreatePlan):
            return _create_calls(payload)
        if isinstance(payload, EverShopStatusPlan):
            calls: list[Call] = []
            if payload.capture_payment:
                calls.append(Call("POST", "/api/cod/captures", {"order_id": "{order_id}"},
                                  "capture the cash-on-delivery payment (payment → paid)"))
            for uuid in payload.deliver_shipments:
                calls.append(Call("POST", f"/api/shipments/{uuid}/markDelivered", {},
                                  "mark the shipment delivered"))
            if payload.cancel:
                calls.append(Call("GET", "/api/admin/graphql", None,
                                  "read order(uuid){status{code}} first: cancelling twice restocks twice"))
                calls.append(Call("POST", "/api/orders/{order_id}/cancel",
                                  {"reason": payload.cancel_reason or EverShopCancel().reason}, "cancel the order"))
            return calls
        if isinstance(payload, EverShopShipmentCreate | EverShopLegacyShipmentCreate):
            return [Call("POST", "/api/orders/{order_id}/shipments", payload.body(), "create the shipment")]
        if isinstance(payload, EverShopShipmentUpdate):
            return [Call("PATCH", "/api/shipments/{shipment_id}", payload.body(), "update the tracking")]
        if isinstance(payload, EverShopCancel):
            return [Call("POST", "/api/orders/{order_id}/cancel", payload.body(),
                         "cancel the order (only when it is not canceled yet)")]
        raise TypeError(f"not an EverShop write model: {type(payload).__name__}")


def _create_calls(plan: EverShopCreatePlan) -> list[Call]:
    cart: dict[str, Any] = {"items": [item.body() for item in plan.items], "customer_email": plan.customer_email}
    if plan.customer_full_name:
        cart["customer_full_name"] = plan.customer_full_name
    calls = [
        Call("POST", "/api/carts", cart, "create the cart (EverShop prices the items from its catalog)"),
        Call("POST", "/api/carts/{cart_id}/contacts", {"email": plan.customer_email}, "set the contact email"),
        Call("POST", "/api/carts/{cart_id}/addresses",
             {"type": "shipping", "address": plan.shipping_address.body()}, "set the shipping address"),
        Call("POST", "/api/carts/{cart_id}/addresses",
             {"type": "billing", "address": plan.billing_address.body()}, "set the billing address"),
        Call("POST", "/api/carts/{cart_id}/shippingMethods",
             {"provider_code": plan.shipping_provider,
              "method_code": plan.shipping_method_code or "{shipping_method_code}"},
             "choose the shipping method" + ("" if plan.shipping_method_code
                                             else " (the cart's first available method)")),
        Call("POST", "/api/carts/{cart_id}/paymentMethods",
             {"method_code": plan.payment_method_code,
              **({"method_name": plan.payment_method_name} if plan.payment_method_name else {})},
             "choose the payment method"),
    ]
    if plan.shipping_note:
        calls.append(Call("POST", "/api/carts/{cart_id}/shippingNotes", {"note": plan.shipping_note},
                          "set the customer's note"))
    calls.append(Call("POST", "/api/orders", {"cart_id": "{cart_id}"},
                      "place the order (store the cart id first: a retry answers 500 'Cart not found')"))
    if plan.reference:
        calls.append(Call("PATCH", "/api/orders/{order_id}/metafields",
                          {"metafields": {METAFIELD_NAMESPACE: {METAFIELD_KEY: plan.reference}}},
                          "stamp our reference (needs the ordersync.ref metafield definition)"))
    return calls


MAPPING = EverShopMapping()
"""The EverShop mapping (what :func:`mappings.mapping_for` returns)."""


def to_neutral(payload: Any, *, store: str | None = None, statuses: StatusTable | None = None) -> NeutralOrder:
    """Read one EverShop order (GraphQL object or REST row, bare or enveloped) into the neutral order."""
    return MAPPING.to_neutral(payload, store=store, statuses=statuses)


def from_neutral(order: NeutralOrder, ctx: TargetContext | None = None, operation: str = "create") -> WriteModel | None:
    """EverShop's write plan for one operation (``create``, ``status`` or ``cancel``) on ``order``."""
    ctx = ctx or TargetContext()
    if operation == "create":
        return MAPPING.create_payload(order, ctx)
    if operation == "status":
        return MAPPING.status_payload(order, ctx)
    if operation == "cancel":
        return MAPPING.cancel_payload(order, ctx)
    raise ValueError(f"unknown operation {operation!r} (create, status or cancel)")

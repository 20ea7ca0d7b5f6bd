"""CS-Cart / Multi-Vendor orders ⇄ the neutral order.

Input of :func:`to_neutral`: ``GET /api/orders/{id}`` as is, or the bundle the connector builds
(``{"order": <detail>, "shipments": [<GET /api/shipments rows>], "currency": "EUR"}``), because
the order detail only lists ``shipment_ids``.

Reading (see ``docs/platforms/cscart.md`` for the reasons):

- ``products.<item_id>.price`` is the unit price after the line's per-unit ``discount``; it
  includes tax when the taxes say ``price_includes_tax = Y``. The neutral ``unit_price`` is
  before discount and excludes tax; per-line tax comes from ``taxes.<id>.applies``
  (``items.P`` lists the taxed item ids; early stores write ``P_<item_id>`` amounts).
- Totals: ``subtotal`` = goods before discounts excluding tax, ``discount`` = ``discount`` +
  ``subtotal_discount``, ``shipping`` = ``shipping_cost`` excluding tax, ``tax`` = every tax
  (included or not), ``grand_total`` = ``total``. The declared ``subtotal`` and ``tax_subtotal``
  (non-included taxes only) stay in ``extra``.
- CS-Cart orders carry no currency: the bundle's ``currency``, else ``to_neutral(currency=)``,
  else USD with a warning.
- Our reference is a marker line ``[ordersync:<store>:<id>]`` in the admin notes (``details``).

Writing: CS-Cart reprices from its catalog, so :meth:`CsCartMapping.create_payload` carries the
source grand total as ``total_override`` for the connector's follow-up ``PUT {"total": ...}``.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar, Literal, cast

from pydantic import ValidationError

from connectors.base import Capabilities
from connectors.cscart import CAPABILITIES, PLATFORM
from connectors.cscart.wire import (
    CsCartOrder,
    CsCartOrderCreate,
    CsCartOrderLine,
    CsCartOrderUpdate,
    CsCartShipment,
    CsCartShipmentCreate,
    CsCartShipmentUpdate,
    CsCartStatus,
    CsCartStatusParams,
    CsCartStatusUpdate,
    CsCartTaxApplies,
    CsCartUserData,
    entries,
    parse_cscart,
    parse_statuses,
    read_order,
)
from connectors.errors import ConnectorError, InvalidPayload, Rejected
from connectors.parsing import format_decimal, parse_decimal
from connectors.wire import WriteModel, construct, plain_reader, to_plain
from mappings.base import Call, TargetContext, refuse_negative, refuse_negative_lines, totals_warning
from mappings.money import quantum
from mappings.neutral import (
    Address,
    Customer,
    Discount,
    Fee,
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
    "CARRIERS_IN",
    "CARRIERS_OUT",
    "DEFAULT_CURRENCY",
    "MAPPING",
    "STATUS_TABLE",
    "CsCartMapping",
    "carrier_code",
    "from_neutral",
    "item_id_for",
    "reference_marker",
    "render",
    "status_table_from_statuses",
    "to_neutral",
]


DEFAULT_CURRENCY = "USD"
"""The currency assumed when neither the bundle nor the caller names the store's currency."""

_ZERO = Decimal(0)
_HUNDRED = Decimal(100)
_FOUR_PLACES = Decimal("0.0001")

STATUS_TABLE = StatusTable.build(
    PLATFORM,
    inbound={
        "order": {
            "P": "processing/paid/unfulfilled",
            "C": "completed/paid/shipped",
            "O": "pending/unpaid/unfulfilled",
            "F": "cancelled/failed/cancelled",
            "D": "cancelled/failed/cancelled",
            "B": "on_hold/paid/unfulfilled",
            "I": "cancelled/voided/cancelled",
            "Y": "on_hold/unpaid/unfulfilled",
            "N": "pending/unpaid/unfulfilled",
            "T": "pending/unpaid/unfulfilled",
        }
    },
    outbound={
        "order": [
            ("archived", "C"),
            ("completed", "C"),
            ("cancelled/failed", "F"),
            ("cancelled", "I"),
            ("on_hold/unpaid", "Y"),
            ("on_hold/failed", "Y"),
            ("on_hold", "B"),
            ("processing", "P"),
            ("pending", "O"),
        ]
    },
    labels={
        "order": {
            "P": "Processed", "C": "Complete", "O": "Open", "F": "Failed", "D": "Declined",
            "B": "Backordered", "I": "Cancelled", "Y": "Awaiting call", "N": "Incomplete",
            "T": "Parent order",
        }
    },
)
"""CS-Cart's default letters (axis ``order``). Stores add letters: override per store, or derive
a table from ``/api/statuses`` with :func:`status_table_from_statuses`."""

PARENT_STATUS = "T"

CARRIERS_IN: dict[str, str] = {"aup": "australia_post", "can": "canada_post", "swisspost": "swiss_post"}
"""CS-Cart carrier codes whose neutral name differs; other codes pass through as sent."""

CARRIERS_OUT: dict[str, str] = {
    "ups": "ups", "usps": "usps", "fedex": "fedex", "dhl": "dhl", "dhl_express": "dhl",
    "australia_post": "aup", "auspost": "aup", "aup": "aup",
    "canada_post": "can", "canadapost": "can", "can": "can",
    "swiss_post": "swisspost", "swisspost": "swisspost", "temando": "temando",
}
"""Neutral carrier names (and common spellings) → CS-Cart's built-in carrier codes (the ones it
builds tracking links for). Anything else is passed through as is."""

_MARKER = re.compile(r"^\s*\[(ordersync:[^\]\r\n]+)\]\s*$")

# Order columns the mapping places in the neutral order; every other key goes to extra["cscart"].
_ORDER_MAPPED = frozenset({
    "order_id", "status", "timestamp", "updated_at", "total", "discount", "subtotal_discount",
    "payment_surcharge", "shipping_cost", "user_id", "email", "firstname", "lastname", "phone", "company",
    "lang_code", "notes", "details", "payment_id", "products",
    "b_firstname", "b_lastname", "b_address", "b_address_2", "b_city", "b_state", "b_state_descr",
    "b_country", "b_country_descr", "b_zipcode", "b_phone",
    "s_firstname", "s_lastname", "s_address", "s_address_2", "s_city", "s_state", "s_state_descr",
    "s_country", "s_country_descr", "s_zipcode", "s_phone",
})
_LINE_MAPPED = frozenset({"item_id", "product_id", "product_code", "product", "price", "amount", "discount",
                          "shipped_amount"})
_SHIPMENT_MAPPED = frozenset({"shipment_id", "order_id", "shipment_timestamp", "tracking_number", "carrier",
                              "products", "comments"})


# ------------------------------------------------------------------------------------------------
# small helpers
# ------------------------------------------------------------------------------------------------


def _text(value: str | None) -> str | None:
    """CS-Cart writes "not set" as ``""``; the neutral order uses ``None`` (blank text is not set either)."""
    if not value or value.isspace():
        return None
    return value


def _unix(value: int | None, field: str, *, zero_is_none: bool = True) -> datetime | None:
    if value is None or (zero_is_none and value == 0):
        return None
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise InvalidPayload("CS-Cart order", [(field, f"{value!r} is out of range for a timestamp")]) from None


def _per_unit(amount: Decimal, quantity: int, q: Decimal) -> Decimal:
    """``amount / quantity`` at the currency's precision when exact, else at 4 places."""
    if quantity == 1:
        return amount
    value = amount / quantity
    rounded = value.quantize(q)
    if rounded * quantity == amount:
        return rounded
    return value.quantize(_FOUR_PLACES)


def _fmt(value: Decimal | None) -> str:
    return "0.00" if value is None else format_decimal(value)


def _num(value: Decimal | None) -> int | float:
    """A computed field as PHP would print it: an int when whole, else a float."""
    if value is None:
        return 0
    if value == value.to_integral_value():
        return int(value)
    return float(value)


def item_id_for(product_id: str, options: Mapping[str, str] | None = None) -> str:
    """CS-Cart's line id: ``crc32(product_id + "_" + natsorted option variant ids)`` (fn_generate_cart_id).

    The same product with the same options always gets the same id, which is why CS-Cart merges
    such lines into one.
    """
    variants = sorted((str(v) for v in (options or {}).values()), key=_natural)
    return str(zlib.crc32("_".join([str(product_id), *variants]).encode()))


def _natural(text: str) -> tuple[int, int | str]:
    return (0, int(text)) if text.isdigit() else (1, text)


def reference_marker(key: str) -> str:
    """The admin-notes marker line for a reference key: ``[ordersync:<store>:<id>]``."""
    return f"[{key if key.startswith('ordersync:') else 'ordersync:' + key}]"


def _split_details(details: str | None) -> tuple[str | None, str | None]:
    """``(reference key, staff notes without the marker)`` from the admin notes."""
    if not details:
        return None, None
    if "[ordersync:" not in details:
        return None, _text(details)
    found: str | None = None
    kept: list[str] = []
    for line in details.splitlines():
        match = _MARKER.match(line)
        if match and found is None:
            found = match.group(1)
        else:
            kept.append(line)
    staff = "\n".join(kept).strip()
    return found, staff or None


def carrier_code(carrier: str | None) -> str | None:
    """The CS-Cart carrier code for a neutral carrier name (built-in codes mapped, others as is)."""
    if not carrier:
        return None
    key = carrier.strip().lower().replace(" ", "_").replace("-", "_")
    return CARRIERS_OUT.get(key, carrier.strip())


def _carrier_in(code: str | None) -> str | None:
    code = _text(code)
    if code is None:
        return None
    return CARRIERS_IN.get(code.lower(), code)


# ------------------------------------------------------------------------------------------------
# to_neutral
# ------------------------------------------------------------------------------------------------

# Validate exactly like CsCartOrder / CsCartShipment but into plain dicts (no model
# instance per line, tax, method...: about half the validation time); the models stay the door for
# anything the fast pass refuses, so errors are raised exactly as before. See connectors.wire.plain_reader.
_READ_ORDER = plain_reader(CsCartOrder)
_READ_SHIPMENT = plain_reader(CsCartShipment)
_APPLIES_FIELDS = frozenset(CsCartTaxApplies.model_fields)
"""Declared ``applies`` fields; its other keys are the early-4.x per-line amounts."""


def _read_order(raw: Any) -> dict[str, Any]:
    """``GET /api/orders/{id}`` validated like :class:`CsCartOrder`, as a plain dict."""
    if isinstance(raw, dict):
        try:
            return _READ_ORDER(raw)  # type: ignore[no-any-return]
        except ValidationError:
            pass
    plain: dict[str, Any] = to_plain(read_order(raw))  # raises the model's InvalidPayload
    return plain


def _read_shipment(raw: Any, index: int) -> dict[str, Any]:
    """A shipment row validated like :class:`CsCartShipment`, as a plain dict."""
    if isinstance(raw, dict):
        try:
            return _READ_SHIPMENT(raw)  # type: ignore[no-any-return]
        except ValidationError:
            pass
    plain: dict[str, Any] = to_plain(parse_cscart(CsCartShipment, raw, what="CS-Cart shipment",
                                                  prefix=f"shipments[{index}]"))
    return plain



def to_neutral(payload: Any, *, store: str | None = None, statuses: StatusTable | None = None,
               currency: str | None = None) -> NeutralOrder:
    """Read a CS-Cart order detail (or the connector's bundle) into a neutral order.

    ``currency`` is the store's currency when the bundle does not say (CS-Cart orders carry none).
    Raises only :class:`~connectors.errors.InvalidPayload`.
    """
    try:
        return _to_neutral(payload, store, statuses, currency)
    except InvalidPayload:
        raise
    except Exception as error:  # noqa: BLE001 - anything unexpected in odd JSON is still an invalid payload
        raise InvalidPayload("CS-Cart order", [("", f"{type(error).__name__}: {error}")]) from None


@dataclass
class _LineSums:
    """What the lines add up to, for the totals and the fulfillment."""

    subtotal_excl: Decimal = _ZERO
    subtotal_incl: Decimal = _ZERO
    declared_goods: Decimal = _ZERO
    ordered: int = 0
    shipped: int = 0
    any_shipped_info: bool = False


_Entry = tuple[str, dict[str, Any], Any]
"""``(key, validated object, raw JSON)`` of one entry of a CS-Cart keyed object (``products``, ``taxes``)."""


def _unbundle(payload: Any) -> tuple[Any, Any, Any]:
    """``(order, shipments, currency)`` from the connector's bundle, or ``(payload, None, None)``."""
    if isinstance(payload, dict) and isinstance(payload.get("order"), dict):
        return payload["order"], payload.get("shipments"), payload.get("currency")
    return payload, None, None


def _entries(order: dict[str, Any], raw: Any, key: str) -> list[_Entry]:
    """The entries of ``products`` or ``taxes`` (a keyed object, or a list) beside their raw JSON."""
    validated = order[key]
    if not validated:
        return []
    raw_entries = raw[key]
    out: list[_Entry] = []
    for entry_key, value in entries(validated):
        if isinstance(raw_entries, dict):
            raw_entry = raw_entries[entry_key] if key == "products" else raw_entries.get(entry_key)
        else:
            raw_entry = raw_entries[int(entry_key)]
        out.append(((value["item_id"] or entry_key) if key == "products" else entry_key, value, raw_entry))
    return out


def _line(item_id: str, product: dict[str, Any], row: Any, tax: Decimal, rate: Decimal | None,
          prices_include_tax: bool, q: Decimal) -> Line:
    """One product: ``price`` is after the line discount, tax-inclusive when the store's taxes are."""
    qty, price = product["amount"], product["price"]
    if qty < 0:
        raise InvalidPayload("CS-Cart order", [(f"products.{item_id}.amount", "must not be negative")])
    refuse_negative("CS-Cart order", [(f"products.{item_id}.price", price)])
    disc = product["discount"] or _ZERO
    line_goods = price * qty
    if prices_include_tax:
        total, total_excl = line_goods, line_goods - tax
        unit_incl = price + disc
        unit_excl = unit_incl - _per_unit(tax, qty, q) if qty else unit_incl
    else:
        total_excl, total = line_goods, line_goods + tax
        unit_excl = price + disc
        unit_incl = unit_excl + _per_unit(tax, qty, q) if qty else unit_excl
    product_id = product["product_id"]
    return construct(Line, {
        "source_line_id": item_id,
        "sku": _text(product["product_code"]),
        "name": _text(product["product"]),
        "product_ref": product_id if product_id not in ("", "0") else None,
        "options": _options(product["extra"]),
        "quantity": qty,
        "unit_price": unit_excl,
        "unit_price_incl_tax": unit_incl,
        "tax_rate": rate,
        "tax_amount": tax,
        "discount_amount": disc * qty,
        "total": total,
        "total_excl_tax": total_excl,
        "quantity_shipped": product["shipped_amount"],
        "extra": {k: v for k, v in row.items() if k not in _LINE_MAPPED} if isinstance(row, dict) else {},
    })


def _read_lines(products: list[_Entry], line_tax: Mapping[str, Decimal], line_rate: Mapping[str, Decimal],
                prices_include_tax: bool, q: Decimal) -> tuple[list[Line], _LineSums]:
    """Every product as a neutral line, with what they add up to."""
    lines: list[Line] = []
    sums = _LineSums()
    for item_id, product, row in products:
        line = _line(item_id, product, row, line_tax.get(item_id, _ZERO), line_rate.get(item_id),
                     prices_include_tax, q)
        lines.append(line)
        sums.declared_goods += product["price"] * product["amount"]
        discount = cast(Decimal, line.discount_amount)
        sums.subtotal_excl += cast(Decimal, line.total_excl_tax) + discount
        sums.subtotal_incl += cast(Decimal, line.total) + discount
        sums.ordered += line.quantity
        if line.quantity_shipped is not None:
            sums.any_shipped_info = True
            sums.shipped += min(line.quantity_shipped, line.quantity)
    return lines, sums


def _prices_include_tax(taxes: list[_Entry], warnings: list[str]) -> bool:
    """Whether line prices include tax (as any of the order's taxes says)."""
    flags = {tax["price_includes_tax"] for _, tax, _ in taxes}
    if len(flags) > 1:
        warnings.append("taxes: some taxes are included in prices and some are not; "
                        "line prices are read as tax-inclusive")
    return True in flags


def _payment_method(order: dict[str, Any]) -> dict[str, Any] | None:
    """The ``payment_method`` object, or ``None`` (``[]``, an empty PHP array, or absent)."""
    method = order["payment_method"]
    return method if isinstance(method, dict) else None


def _read_fees(order: dict[str, Any]) -> list[Fee]:
    """The payment surcharge, the only CS-Cart fee."""
    surcharge = order["payment_surcharge"] or _ZERO
    if not surcharge:
        return []
    method = _payment_method(order)
    title = method["surcharge_title"] if method is not None else None
    return [Fee(kind="payment_surcharge", amount=surcharge, name=_text(title))]


def _read_fulfillment(triple_value: str | None, status: str, sums: _LineSums) -> str:
    """Fulfillment from the shipped amounts (or shipments) when the order says any, else the letter's."""
    fulfillment = triple_value or "unfulfilled"
    if not sums.any_shipped_info or status == "cancelled":
        return fulfillment
    if sums.ordered and sums.shipped >= sums.ordered:
        return fulfillment if fulfillment in ("delivered", "returned") else "shipped"
    if sums.shipped > 0:
        return "partially_shipped"
    return "unfulfilled" if fulfillment == "partially_shipped" else fulfillment


def _count_shipments(sums: _LineSums, products: list[_Entry], shipments: list[Shipment]) -> None:
    """Shipped amounts from the shipments, when the products do not say them."""
    if sums.any_shipped_info or not shipments:
        return
    shipped_by_item: dict[str, int] = {}
    for shipment in shipments:
        for item in shipment.lines:
            key = item.source_line_id or ""
            shipped_by_item[key] = shipped_by_item.get(key, 0) + item.quantity
    sums.any_shipped_info = True
    sums.shipped = sum(min(shipped_by_item.get(item_id, 0), p["amount"]) for item_id, p, _ in products)


def _read_statuses(order: dict[str, Any], table: StatusTable, sums: _LineSums,
                   warnings: list[str]) -> tuple[OrderStatus, PaymentStatus, FulfillmentStatus, RawStatus]:
    """The status letter through the table; fulfillment from what was shipped."""
    letter = order["status"]
    triple = table.inbound_for("order", letter)
    if triple is None:
        warnings.append(f"status: unknown CS-Cart status letter {letter!r}; read as pending/unpaid. Add it to "
                        f"status_map.inbound.order or derive the table from /api/statuses")
        triple = Triple("pending", "unpaid", None)
    status = triple.status or "pending"
    fulfillment = _read_fulfillment(triple.fulfillment_status, status, sums)
    if order["is_parent_order"] or letter == PARENT_STATUS:
        warnings.append("multi-vendor: this is a parent order (status T), a container for the vendors' child "
                        "orders, not a real order; sync the child orders instead")
    raw = RawStatus(platform=PLATFORM, code=letter, label=table.label("order", letter))
    return (cast(OrderStatus, status), cast(PaymentStatus, triple.payment_status or "unpaid"),
            cast(FulfillmentStatus, fulfillment), raw)


def _read_customer(order: dict[str, Any]) -> Customer:
    """The buyer; a guest (``user_id`` 0) has no id."""
    user_id = order["user_id"]
    return Customer(id=user_id if user_id not in (None, "", "0") else None, email=_text(order["email"]),
                    first_name=_text(order["firstname"]), last_name=_text(order["lastname"]),
                    phone=_text(order["phone"]), locale=_text(order["lang_code"]))


def _read_payment(order: dict[str, Any]) -> Payment:
    """The payment method id and name, and a gateway transaction id when ``payment_info`` has one."""
    method = _payment_method(order)
    payment_id = order["payment_id"] or (method["payment_id"] if method is not None else None)
    info = order["payment_info"]
    transaction = info.get("transaction_id") if isinstance(info, dict) else None
    return construct(Payment, {
        "method_code": payment_id if payment_id not in (None, "", "0") else None,
        "method_name": _text(method["payment"]) if method is not None else None,
        "transaction_id": str(transaction) if transaction not in (None, "") else None,
    })


def _to_neutral(payload: Any, store: str | None, statuses: StatusTable | None,
                currency: str | None) -> NeutralOrder:
    """The read, step by step: taxes, lines, shipping, discounts, fees, totals, shipments, statuses, people."""
    raw, shipments_raw, bundle_currency = _unbundle(payload)
    order = _read_order(raw)
    warnings: list[str] = []
    cur = _currency(bundle_currency, currency, warnings)
    q = quantum(cur)
    products, taxes = _entries(order, raw, "products"), _entries(order, raw, "taxes")
    prices_include_tax = _prices_include_tax(taxes, warnings)
    line_tax, line_rate, _, ship_tax, ship_tax_incl, total_tax = _read_taxes(taxes, products, q)
    lines, sums = _read_lines(products, line_tax, line_rate, prices_include_tax, q)
    declared_subtotal = order["subtotal"]
    if declared_subtotal is not None and products and not _close(declared_subtotal, sums.declared_goods, q):
        warnings.append(f"totals: declared subtotal {declared_subtotal} differs from the lines' "
                        f"{sums.declared_goods}")
    shipping = _shipping(order, ship_tax, ship_tax_incl)
    discount_total = (order["discount"] or _ZERO) + (order["subtotal_discount"] or _ZERO)
    fees = _read_fees(order)
    grand_total = order["total"]
    computed = sums.subtotal_excl - discount_total + (shipping.amount or _ZERO) + total_tax + \
        sum((fee.amount for fee in fees), _ZERO)
    if abs(grand_total - computed) > q:
        warnings.append(totals_warning(grand_total, [computed], cur) or "totals: mismatch")
    order_id = order["order_id"]
    shipments, shipments_extra = _shipments(shipments_raw, order_id, {line.source_line_id or "": line.sku
                                                                      for line in lines}, warnings)
    _count_shipments(sums, products, shipments)
    status, payment_status, fulfillment, raw_status = _read_statuses(order, statuses or STATUS_TABLE, sums,
                                                                     warnings)
    email = _text(order["email"])
    shipping_address = _address(order, "s_", email, None)
    mirror_of, staff = _split_details(order["details"])
    created_at = _unix(order["timestamp"], "timestamp", zero_is_none=False)
    if created_at is None:  # pragma: no cover - zero_is_none=False never gives None
        raise InvalidPayload("CS-Cart order", [("timestamp", "missing")])
    extra = {k: v for k, v in raw.items() if k not in _ORDER_MAPPED}
    if shipments_extra:
        extra["shipments"] = shipments_extra
    return construct(NeutralOrder, {
        "source": SourceRef(platform=PLATFORM, store=store, id=order_id, number=order_id),
        "created_at": created_at,
        "updated_at": _unix(order["updated_at"], "updated_at"),
        "currency": cur,
        "prices_include_tax": prices_include_tax,
        "status": status,
        "payment_status": payment_status,
        "fulfillment_status": fulfillment,
        "raw_status": raw_status,
        "customer": _read_customer(order),
        "billing_address": _address(order, "b_", email, _text(order["company"])),
        "shipping_address": shipping_address,
        "shipping_addresses": [shipping_address] if shipping_address is not None else [],
        "lines": lines,
        "shipping": shipping,
        "discounts": _discounts(order, discount_total),
        "fees": fees,
        "totals": construct(Totals, {
            "subtotal": sums.subtotal_excl, "discount": discount_total, "shipping": shipping.amount,
            "tax": total_tax, "grand_total": grand_total,
            "subtotal_incl_tax": sums.subtotal_incl if prices_include_tax else None,
        }),
        "payment": _read_payment(order),
        "shipments": shipments,
        "notes": Notes(customer=_text(order["notes"]), staff=staff),
        "mirror_of": mirror_of,
        "extra": {PLATFORM: extra},
        "warnings": warnings,
    })


def _close(a: Decimal, b: Decimal, q: Decimal) -> bool:
    return abs(a - b) <= q


def _currency(bundle: Any, default: str | None, warnings: list[str]) -> str:
    value = bundle if bundle not in (None, "") else default
    if value is None:
        warnings.append(f"currency: CS-Cart orders carry no currency; assumed {DEFAULT_CURRENCY} "
                        f"(set the store option 'currency')")
        return DEFAULT_CURRENCY
    if not isinstance(value, str) or len(value.strip()) != 3 or not value.strip().isalpha():
        raise InvalidPayload("CS-Cart order", [("currency", f"{value!r} is not an ISO 4217 currency code")])
    return value.strip().upper()


def _read_taxes(
    taxes: list[tuple[str, dict[str, Any], Any]],
    products: list[tuple[str, dict[str, Any], dict[str, Any]]],
    q: Decimal,
) -> tuple[dict[str, Decimal], dict[str, Decimal], Decimal, Decimal, Decimal, Decimal]:
    """Per-line tax amounts and rates, and the order's tax sums, from ``taxes``.

    ``taxes`` holds ``(tax id, validated tax, raw tax JSON)``: the early-4.x per-line keys of
    ``applies`` (``P_<item_id>``, ``S_<group>_<id>``) are not declared fields, so they are read from
    the raw JSON. Returns ``(tax by item, rate by item, goods tax included in prices, shipping tax,
    shipping tax included in the shipping cost, all taxes)``.
    """
    line_tax: dict[str, Decimal] = {}
    line_rate: dict[str, Decimal] = {}
    goods_incl = ship = ship_incl = total = _ZERO
    if not taxes:
        return line_tax, line_rate, goods_incl, ship, ship_incl, total
    by_id = {item_id: product for item_id, product, _ in products}
    goods_total = _ZERO
    for tax_id, tax, raw_tax in taxes:
        applies = tax["applies"]
        per_item: dict[str, Decimal] = {}
        taxed: list[str] = []
        goods = shipping_part = _ZERO
        if isinstance(applies, dict):
            old_shipping = _ZERO
            raw_applies = raw_tax.get("applies") if isinstance(raw_tax, dict) else None
            for key, value in raw_applies.items() if isinstance(raw_applies, dict) else ():
                if key in _APPLIES_FIELDS:
                    continue  # declared fields: validated above
                if key.startswith("P_"):
                    item_id = key[2:]
                    per_item[item_id] = per_item.get(item_id, _ZERO) + _dec(value, f"taxes.{tax_id}.applies.{key}")
                elif key.startswith("S_"):
                    old_shipping += _dec(value, f"taxes.{tax_id}.applies.{key}")
            if per_item:
                goods = sum(per_item.values(), _ZERO)
            else:
                goods = applies["P"] or _ZERO
                applied_items = applies["items"]
                items = applied_items.get("P") if isinstance(applied_items, dict) else None
                taxed = [item_id for item_id, flag in entries(items) if flag and item_id in by_id] \
                    if isinstance(items, dict) else []
            shipping_part = applies["S"] if applies["S"] is not None else old_shipping
        else:
            goods = tax["tax_subtotal"] or _ZERO
            taxed = list(by_id)
        if not per_item and taxed:
            per_item = _allocate(goods, [(item_id, by_id[item_id]) for item_id in taxed], tax, q)
        rate = tax["rate_value"] if tax["rate_type"] in (None, "P") else None
        for item_id, amount in per_item.items():
            line_tax[item_id] = line_tax.get(item_id, _ZERO) + amount
            if rate is not None:
                line_rate[item_id] = line_rate.get(item_id, _ZERO) + rate
        goods_total += goods
        ship += shipping_part
        if tax["price_includes_tax"]:
            goods_incl += goods
            ship_incl += shipping_part
        total += tax["tax_subtotal"] if tax["tax_subtotal"] is not None else goods + shipping_part
    # Stores where applies keys matched (early 4.x) also fill tax_value per line: exact, prefer it.
    values = [(item_id, product["tax_value"]) for item_id, product, _ in products if product["tax_value"]]
    if values and sum((v for _, v in values if v is not None), _ZERO) == goods_total:
        line_tax = {item_id: value for item_id, value in values if value is not None}
    return line_tax, line_rate, goods_incl, ship, ship_incl, total


def _dec(value: Any, field: str) -> Decimal:
    try:
        return parse_decimal(value)
    except ValueError as error:
        raise InvalidPayload("CS-Cart order", [(field, str(error))]) from None


def _allocate(total: Decimal, items: list[tuple[str, dict[str, Any]]], tax: dict[str, Any],
              q: Decimal) -> dict[str, Decimal]:
    """Split a tax's goods amount over the items it applies to (CS-Cart 4.x gives only the sum).

    Tries CS-Cart's two calculation modes (per unit, then per line subtotal) and keeps the one
    that adds up; otherwise splits in proportion to the line amounts, the rest on the largest line.
    """
    if len(items) == 1:
        return {items[0][0]: total}
    rate = tax["rate_value"] if tax["rate_type"] in (None, "P") else None
    if rate is not None and rate > 0:
        factor = rate / _HUNDRED
        for per_unit in (True, False):
            guess: dict[str, Decimal] = {}
            for item_id, product in items:
                price, amount = product["price"], product["amount"]
                base = price if per_unit else price * amount
                part = base - base / (1 + factor) if tax["price_includes_tax"] else base * factor
                part = part.quantize(q)
                guess[item_id] = part * amount if per_unit else part
            if sum(guess.values(), _ZERO) == total:
                return guess
    weights = [(item_id, product["price"] * product["amount"]) for item_id, product in items]
    whole = sum((w for _, w in weights), _ZERO)
    shares: dict[str, Decimal] = {}
    if whole == 0:
        weights = [(item_id, Decimal(1)) for item_id, _ in items]
        whole = Decimal(len(items))
    for item_id, weight in weights:
        shares[item_id] = (total * weight / whole).quantize(q)
    rest = total - sum(shares.values(), _ZERO)
    if rest:
        largest = max(weights, key=lambda pair: pair[1])[0]
        shares[largest] += rest
    return shares


def _options(extra: Any) -> list[LineOption]:
    """A line's chosen options, from its ``extra.product_options_value`` (see
    :meth:`CsCartOrderProduct.options_value`)."""
    if not isinstance(extra, dict):
        return []
    values = extra.get("product_options_value")
    if isinstance(values, dict):
        values = values.values()
    elif not isinstance(values, list):
        return []
    out: list[LineOption] = []
    for option in values:
        if not isinstance(option, dict):
            continue
        name = option.get("option_name") or option.get("description")
        value = option.get("variant_name") or option.get("value")
        if name not in (None, "") and value not in (None, "") and not isinstance(value, dict | list):
            out.append(construct(LineOption, {"name": str(name), "value": str(value)}))
    return out


def _shipping(order: dict[str, Any], ship_tax: Decimal, ship_tax_incl: Decimal) -> Shipping:
    methods: list[dict[str, Any]] = []
    codes: list[str] = []
    order_shipping = order["shipping"]
    keyed = isinstance(order_shipping, dict)
    for key, method in entries(order_shipping):
        methods.append(method)
        code = method["shipping_id"] or (key if keyed else None)
        if code and code not in codes:
            codes.append(code)
    names = [m["shipping"] for m in methods if m["shipping"]]
    cost = order["shipping_cost"]
    if cost is None and methods:
        cost = sum((_method_rate(m) for m in methods), _ZERO)
    amount = cost - ship_tax_incl if cost is not None else None
    return construct(Shipping, {
        "method_code": codes[0] if codes else None,
        "method_name": " / ".join(dict.fromkeys(names)) if names else None,
        "amount": amount,
        "amount_incl_tax": amount + ship_tax if amount is not None else None,
        "tax_amount": ship_tax if amount is not None else None,
    })


def _method_rate(method: dict[str, Any]) -> Decimal:
    rate: Decimal | None = method["rate"]
    if rate is not None:
        return rate
    rates = method["rates"]
    if isinstance(rates, dict):
        return sum((r for r in rates.values() if r is not None), _ZERO)
    if isinstance(rates, list):
        return sum((r for r in rates if r is not None), _ZERO)
    return _ZERO


def _discounts(order: dict[str, Any], discount_total: Decimal) -> list[Discount]:
    promotions = order["promotions"]
    if not promotions and not discount_total:
        return []
    codes: dict[str, str] = {}
    for code, promotion_ids in entries(order["coupons"]):
        for _, promotion_id in entries(promotion_ids if isinstance(promotion_ids, dict | list) else [promotion_ids]):
            codes.setdefault(str(promotion_id), code)
    found: list[tuple[str, str | None, Decimal | None]] = []
    if isinstance(promotions, dict):
        for promotion_id, promotion in promotions.items():
            found.append((promotion_id, _text(promotion["name"]) or _text(promotion["short_description"]),
                          promotion["total_discount"]))
    known = sum((amount for _, _, amount in found if amount is not None), _ZERO)
    rest = discount_total - known
    out: list[Discount] = []
    for promotion_id, name, amount in found:
        if amount is None:
            amount, rest = (rest, _ZERO) if rest > 0 else (_ZERO, rest)
        if amount:
            out.append(construct(Discount, {"code": codes.get(promotion_id), "amount": amount,
                                        "name": name or f"Promotion {promotion_id}"}))
    if rest > 0:
        out.append(construct(Discount, {"code": None, "amount": rest, "name": "Discount"}))
    return out


def _address(order: dict[str, Any], prefix: str, email: str | None, company: str | None) -> Address | None:
    """The billing (``b_``) or shipping (``s_``) address from the order's columns; ``None`` when it has
    no name, street, city, zip or country."""
    def column(name: str) -> str | None:
        return _text(order[f"{prefix}{name}"])

    first, last, line1, city = column("firstname"), column("lastname"), column("address"), column("city")
    zipcode, country, state = column("zipcode"), column("country"), column("state")
    if not (first or last or line1 or city or zipcode or country):
        return None
    return Address(
        first_name=first,
        last_name=last,
        company=company,
        line1=line1,
        line2=column("address_2"),
        city=city,
        region=column("state_descr") or (None if state else column("county")),
        region_code=state,
        postal_code=zipcode,
        country_code=country.upper() if country else None,
        phone=column("phone"),
        email=email,
        full_name=f"{first} {last}" if first and last else (first or last),
        country=column("country_descr"),
    )


def _shipments(data: Any, order_id: str, sku_by_item: Mapping[str, str | None],
               warnings: list[str]) -> tuple[list[Shipment], dict[str, Any]]:
    if data is None:
        return [], {}
    if isinstance(data, dict) and "shipments" in data:
        data = data["shipments"]
    if not isinstance(data, list):
        raise InvalidPayload("CS-Cart order", [("shipments", "expected a list of shipments")])
    out: list[Shipment] = []
    extra: dict[str, Any] = {}
    for index, item in enumerate(data):
        shipment = _read_shipment(item, index)
        shipment_id, shipment_order = shipment["shipment_id"], shipment["order_id"]
        if shipment_order not in (None, "", order_id):
            warnings.append(f"shipments: shipment {shipment_id} belongs to order {shipment_order}; ignored")
            continue
        lines = [
            construct(ShipmentLine, {"source_line_id": item_id, "sku": sku_by_item.get(item_id), "quantity": int(qty)})
            for item_id, qty in entries(shipment["products"])
            if isinstance(qty, int) and not isinstance(qty, bool) and qty > 0
        ]
        info = shipment["carrier_info"]
        url = _text(info["tracking_url"]) if isinstance(info, dict) else None
        out.append(construct(Shipment, {
            "source_shipment_id": shipment_id,
            "carrier": _carrier_in(shipment["carrier"]),
            "tracking_number": _text(shipment["tracking_number"]),
            "tracking_url": url,
            "shipped_at": _unix(shipment["shipment_timestamp"], f"shipments[{index}].shipment_timestamp"),
            "lines": lines,
            "status": "shipped",
            "delivered_at": None,
            "comment": _text(shipment["comments"]),
        }))
        leftover = {k: v for k, v in item.items() if k not in _SHIPMENT_MAPPED}
        if leftover:
            extra[shipment_id] = leftover
    return out, extra


# ------------------------------------------------------------------------------------------------
# status tables from /api/statuses
# ------------------------------------------------------------------------------------------------

_KEYWORDS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("refund",), "cancelled/refunded/cancelled"),
    (("cancel", "void"), "cancelled/voided/cancelled"),
    (("fail", "declin", "reject", "fraud"), "cancelled/failed/cancelled"),
    (("deliver",), "completed/paid/delivered"),
    (("complet", "finish", "done", "closed"), "completed/paid/shipped"),
    (("ship", "sent", "dispatch", "transit", "courier"), "processing/paid/shipped"),
    (("hold", "backorder", "await", "wait", "call", "suspend"), "on_hold"),
    (("pending", "open", "new", "unpaid"), "pending/unpaid/unfulfilled"),
    (("process", "pick", "pack", "ready", "confirm", "paid", "accept"), "processing"),
)


def _derive(status: CsCartStatus) -> str:
    params = status.params if isinstance(status.params, CsCartStatusParams) else None
    paid = bool(params and (params.payment_received or "").upper() == "Y")
    increases_stock = bool(params and (params.inventory or "").upper() == "I")
    text = (status.description or "").lower()
    for words, triple in _KEYWORDS:
        if any(word in text for word in words):
            if triple in ("on_hold", "processing"):
                return f"{triple}/{'paid' if paid else 'unpaid'}/unfulfilled"
            if triple.startswith("pending") and paid:
                return "processing/paid/unfulfilled"
            return triple
    if paid:
        return "processing/paid/unfulfilled"
    if increases_stock:
        return "cancelled/unpaid/cancelled"
    return "pending/unpaid/unfulfilled"


def status_table_from_statuses(statuses: Any, *, base: StatusTable = STATUS_TABLE,
                               rederive_defaults: bool = False,
                               overrides: Mapping[str, Any] | None = None) -> StatusTable:
    """A status table for one store, from its ``GET /api/statuses`` answer (envelope or bare array).

    Custom letters get a triple derived from ``params.payment_received``, ``params.inventory`` and
    the description (e.g. "Awaiting pickup" → ``on_hold``). Default letters keep their meaning
    unless ``rederive_defaults`` (for stores that renamed them). ``overrides`` (a store's
    ``status_map``) are applied last. Labels come from the descriptions.
    """
    parsed = statuses if isinstance(statuses, list) and all(isinstance(s, CsCartStatus) for s in statuses) \
        else parse_statuses(statuses)
    inbound = dict(base.inbound.get("order", {}))
    labels = {axis: dict(table) for axis, table in base.labels.items()}
    order_labels = labels.setdefault("order", {})
    for status in parsed:
        if (status.type or "O").upper() != "O":
            continue
        letter = status.status.strip().upper()
        if not letter:
            continue
        if letter not in inbound or rederive_defaults:
            inbound[letter] = _derive(status)  # type: ignore[assignment]
        if status.description:
            order_labels[letter] = status.description
    table = StatusTable.build(
        base.platform,
        inbound={"order": {code: str(triple) for code, triple in inbound.items()}},
        outbound={axis: [(str(rule.pattern), rule.code) for rule in rules] for axis, rules in base.outbound.items()},
        labels=labels,
    )
    return table.with_overrides(overrides)


# ------------------------------------------------------------------------------------------------
# from neutral
# ------------------------------------------------------------------------------------------------


def _required_option(ctx: TargetContext, name: str, what: str, offline: bool) -> Any:
    """A store write default CS-Cart needs on create. Offline (``ordersync translate`` without
    ``-o NAME=...``) a missing one is left out with a warning; a sync refuses to create without it."""
    value = ctx.options.get(name)
    if value in (None, "", {}):
        if offline:
            ctx.warn(f"{name}: not set; CS-Cart needs {what} to create an order "
                     f"(store option {name!r}, or translate -o {name}=ID)")
            return None
        raise ConnectorError(f"store option {name!r} is required to create CS-Cart orders ({what})",
                             platform=PLATFORM)
    if isinstance(value, str | int):  # the usual case, without the (slow) Mapping ABC check
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): str(v) for k, v in value.items()}
    return str(value)


def _state_code(address: Address, which: str, ctx: TargetContext) -> str | None:
    code = address.region_code
    if code:
        code = code.strip()
        if "-" in code:
            prefix, _, rest = code.partition("-")
            if not address.country_code or prefix.upper() == address.country_code.upper():
                code = rest
        return code
    if address.region:
        ctx.warn(f"{which} address has no state code ({address.region!r}); CS-Cart needs a state code that "
                 f"exists in the store (Administration → States), so the state is left empty")
    return None


def _names(address: Address, fallback: Customer) -> tuple[str | None, str | None]:
    first, last = address.first_name, address.last_name
    if not first and not last and address.full_name:
        parts = address.full_name.split()
        first, last = (" ".join(parts[:-1]) or parts[0], parts[-1] if len(parts) > 1 else None)
    return first or fallback.first_name, last or fallback.last_name


def _user_data(order: NeutralOrder, ctx: TargetContext) -> CsCartUserData:
    billing = order.billing_address or order.shipping_address
    shipping = order.shipping_address or order.billing_address
    email = order.customer.email or (billing.email if billing else None) or (shipping.email if shipping else None)
    if not email:
        raise Rejected("CS-Cart needs the customer's e-mail to create a guest order", platform=PLATFORM,
                       field_errors={"user_data.email": "missing"})
    if billing is None or shipping is None:
        raise Rejected("CS-Cart needs an address to create an order (shipping is rated on it)", platform=PLATFORM,
                       field_errors={"user_data.s_country": "missing"})
    if len(order.shipping_addresses) > 1:
        ctx.warn("CS-Cart orders have one shipping address; only the first is kept")
    if shipping.company and shipping.company != billing.company:
        ctx.warn("CS-Cart keeps one company per order; the shipping address's company is dropped")
    b_first, b_last = _names(billing, order.customer)
    s_first, s_last = _names(shipping, order.customer)
    fields: dict[str, Any] = {
        "email": email,
        "firstname": order.customer.first_name or b_first,
        "lastname": order.customer.last_name or b_last,
        "phone": order.customer.phone or billing.phone,
        "company": billing.company,
        "b_firstname": b_first, "b_lastname": b_last, "b_address": billing.line1, "b_address_2": billing.line2,
        "b_city": billing.city, "b_state": _state_code(billing, "billing", ctx), "b_country": billing.country_code,
        "b_zipcode": billing.postal_code, "b_phone": billing.phone,
        "s_firstname": s_first, "s_lastname": s_last, "s_address": shipping.line1, "s_address_2": shipping.line2,
        "s_city": shipping.city, "s_state": _state_code(shipping, "shipping", ctx),
        "s_country": shipping.country_code, "s_zipcode": shipping.postal_code, "s_phone": shipping.phone,
    }
    return construct(CsCartUserData, {k: v for k, v in fields.items() if v is not None})


def _details(order: NeutralOrder, ctx: TargetContext) -> str | None:
    parts: list[str] = []
    if ctx.reference is not None:
        parts.append(reference_marker(ctx.reference.key))
    else:
        ctx.warn("no ordersync reference: a create whose answer is lost cannot be found again")
    if order.notes.staff:
        parts.append(order.notes.staff)
    return "\n".join(parts) or None


def _status_code(order: NeutralOrder, ctx: TargetContext) -> str | None:
    """The status letter for the order's neutral triple (a warning when the table has none)."""
    table = ctx.statuses or STATUS_TABLE
    code = table.outbound_for("order", order.status, order.payment_status, order.fulfillment_status)
    if code is None:
        ctx.warn(f"status: no CS-Cart letter for {order.status}/{order.payment_status}/{order.fulfillment_status}; "
                 f"add a status_map.outbound.order rule")
    return code


class CsCartMapping:
    """CS-Cart's :class:`~mappings.base.PlatformMapping`: orders in, write models out."""

    platform: ClassVar[str] = PLATFORM
    capabilities: ClassVar[Capabilities] = CAPABILITIES
    statuses: ClassVar[StatusTable] = STATUS_TABLE

    def to_neutral(self, payload: Any, *, store: str | None = None, statuses: StatusTable | None = None,
                   currency: str | None = None) -> NeutralOrder:
        """Read ``GET /api/orders/{id}`` or the connector's bundle (see the module docstring)."""
        return to_neutral(payload, store=store, statuses=statuses, currency=currency)

    def create_payload(self, order: NeutralOrder, ctx: TargetContext) -> CsCartOrderCreate:
        """The POST body for ``order``: catalog products by SKU, a guest ``user_data``, the store's
        ``payment_id``/``shipping_id`` options, our marker in ``details``, plus the source grand
        total (``total_override``) and status letter (``status_after``) for the follow-up PUTs."""
        refuse_negative_lines(order, PLATFORM)
        offline = ctx.catalog is None
        payment_id = _required_option(ctx, "payment_id", "the payment method id new orders use", offline)
        shipping_id = _required_option(ctx, "shipping_id", "the shipping method id, or one per product group",
                                       offline)
        products: dict[str, CsCartOrderLine] = {}
        seen: dict[tuple[str, tuple[tuple[str, str], ...]], str] = {}
        for index, line in enumerate(order.lines, 1):
            if line.quantity < 1:
                ctx.warn(f"line {line.sku or line.name!r} has quantity {line.quantity}; CS-Cart skips such lines")
                continue
            if offline:
                key = line.sku or f"line-{index}"
                if key in products:
                    products[key] = construct(CsCartOrderLine, {"amount": products[key].amount + line.quantity})
                else:
                    products[key] = construct(CsCartOrderLine, {"amount": line.quantity})
                continue
            if not line.sku:
                raise Rejected(f"line {line.name!r} has no SKU; CS-Cart orders hold catalog products only",
                               platform=PLATFORM, field_errors={f"lines[{index - 1}].sku": "missing"})
            ref = ctx.resolve(line.sku)
            if ref is None:  # pragma: no cover - resolve returns None only offline or without SKU
                continue
            options = {str(k): str(v) for k, v in ref.options.items()}
            signature = (ref.product_id, tuple(sorted(options.items())))
            if signature in seen:
                key = seen[signature]
                previous = products[key]
                products[key] = previous.model_copy(update={"amount": previous.amount + line.quantity})
                ctx.warn(f"lines with SKU {line.sku!r} are the same CS-Cart product and options; CS-Cart merges "
                         f"them into one line")
                continue
            key = str(index)
            seen[signature] = key
            if options:
                products[key] = construct(CsCartOrderLine, {"product_id": ref.product_id, "amount": line.quantity,
                                                        "product_options": options})
            else:
                products[key] = construct(CsCartOrderLine, {"product_id": ref.product_id, "amount": line.quantity})
        if not products:
            raise Rejected("the order has no line CS-Cart can create", platform=PLATFORM,
                           field_errors={"lines": "empty"})
        if offline:
            ctx.warn("offline: products are keyed by SKU; CS-Cart product ids are resolved at sync")
        store_currency = str(ctx.options.get("currency") or DEFAULT_CURRENCY).upper()
        if order.currency != store_currency:
            ctx.warn(f"currency: the order is in {order.currency} but the CS-Cart store's currency is "
                     f"{store_currency}; CS-Cart orders carry no currency and amounts are not converted")
        total = order.totals.grand_total
        ctx.warn(f"CS-Cart reprices new orders from its catalog (line prices, taxes, shipping, promotions, "
                 f"payment surcharge); ordersync forces the source grand total {total} afterwards with PUT total")
        if order.discounts:
            ctx.warn("discounts and coupons are not recreated on CS-Cart; the forced total carries them")
        code = _status_code(order, ctx)
        fields: dict[str, Any] = {
            "user_id": "0",
            "user_data": _user_data(order, ctx),
            "payment_id": payment_id,
            "shipping_id": shipping_id,
            "products": products,
            "total_override": total,
        }
        if order.notes.customer:
            fields["notes"] = order.notes.customer
        details = _details(order, ctx)
        if details:
            fields["details"] = details
        if code and code != "O":
            fields["status_after"] = code
        return construct(CsCartOrderCreate, fields)

    def status_payload(self, order: NeutralOrder, ctx: TargetContext) -> CsCartStatusUpdate | None:
        """A status-only PUT bringing the target to ``order``'s status, or ``None`` when it is there.

        Only ``status`` is sent (the fast path; anything else recalculates the order). Notify flags
        are added only when ``ctx.options["notify_customer"]`` is set.
        """
        code = _status_code(order, ctx)
        if code is None:
            return None
        if ctx.current is not None and ctx.current.raw_status.code == code:
            return None
        return self._status_update(code, ctx)

    @staticmethod
    def _status_update(code: str, ctx: TargetContext) -> CsCartStatusUpdate:
        if ctx.options.get("notify_customer"):
            ctx.warn("notify_user leaves CS-Cart's status-only fast path on Multi-Vendor 4.14.1: the whole order "
                     "is recalculated (prices, taxes, shipping); enable notify_customer only on verified stores")
            return construct(CsCartStatusUpdate, {"status": code, "notify_user": "Y"})
        return construct(CsCartStatusUpdate, {"status": code})

    def shipment_payload(self, shipment: Shipment, order: NeutralOrder, ctx: TargetContext) -> CsCartShipmentCreate:
        """``POST /api/shipments`` for a source shipment: quantities keyed by the target's item ids
        (matched by SKU in ``ctx.current``), the current order's shipping method, the carrier code."""
        sku_by_line = {line.source_line_id: line.sku for line in order.lines if line.source_line_id}
        target = ctx.current
        target_items: dict[str, str] = {}
        if target is not None:
            for line in target.lines:
                if line.sku and line.source_line_id and line.sku not in target_items:
                    target_items[line.sku] = line.source_line_id
        products: dict[str, int] = {}
        for item in shipment.lines:
            sku = item.sku or sku_by_line.get(item.source_line_id or "")
            if target is None:
                key = sku or item.source_line_id or ""
            else:
                key = target_items.get(sku or "", "")
                if not key:
                    ctx.warn(f"shipment: SKU {sku!r} is not on the CS-Cart order; left out of the shipment")
                    continue
            products[key] = products.get(key, 0) + item.quantity
        if target is None:
            ctx.warn("offline: shipment products are keyed by SKU; CS-Cart item ids are resolved at sync")
        if not products:
            raise Rejected("no shipment line matches a line of the CS-Cart order", platform=PLATFORM,
                           field_errors={"products": "empty"})
        shipping_id = (target.shipping.method_code if target is not None else None) or ctx.options.get("shipping_id")
        if isinstance(shipping_id, Mapping):
            shipping_id = next(iter(shipping_id.values()), None)
        if not shipping_id:
            raise ConnectorError("a CS-Cart shipment needs the order's shipping_id (none on the order; "
                                 "set the store option 'shipping_id')", platform=PLATFORM)
        carrier = carrier_code(shipment.carrier)
        tracking = shipment.tracking_number
        if not carrier and not tracking:
            carrier = "custom"
            ctx.warn("shipment has neither carrier nor tracking number; CS-Cart needs one, sent carrier 'custom'")
        fields: dict[str, Any] = {"shipping_id": str(shipping_id), "products": products, "status": "S"}
        if target is not None:
            fields["order_id"] = target.source.id
        if tracking:
            fields["tracking_number"] = tracking
        if carrier:
            fields["carrier"] = carrier
        if shipment.comment:
            fields["comments"] = shipment.comment
        return construct(CsCartShipmentCreate, fields)

    def shipment_update_payload(self, shipment: Shipment, ctx: TargetContext) -> CsCartShipmentUpdate | None:
        """The tracking change for an existing shipment (``None`` when the target already has it)."""
        carrier = carrier_code(shipment.carrier)
        tracking = shipment.tracking_number
        if ctx.current is not None:
            for existing in ctx.current.shipments:
                if existing.tracking_number == tracking and carrier_code(existing.carrier) == carrier \
                        and (shipment.comment is None or existing.comment == shipment.comment):
                    return None
        if tracking is None and carrier is None and shipment.comment is None:
            return None
        fields = {"tracking_number": tracking, "carrier": carrier, "comments": shipment.comment}
        present: dict[str, Any] = {k: v for k, v in fields.items() if v is not None}
        return construct(CsCartShipmentUpdate, present)

    def cancel_payload(self, order: NeutralOrder, ctx: TargetContext) -> CsCartStatusUpdate | None:
        """The status-only PUT to the store's cancelled letter (``I`` by default)."""
        table = ctx.statuses or STATUS_TABLE
        code = table.outbound_for("order", "cancelled", "voided", "cancelled") or "I"
        return self._status_update(code, ctx)

    def render(self, order: NeutralOrder) -> dict[str, Any]:
        """``order`` as the connector's bundle: ``{"order": <GET detail shape>, "shipments": [...],
        "currency": ...}``, for round-trip tests and the demo."""
        return render(order)

    def calls(self, payload: WriteModel) -> list[Call]:
        """The HTTP calls a write model becomes (paths relative to the store root, API 1.0)."""
        if isinstance(payload, CsCartOrderCreate):
            out = [Call("POST", "/api/orders", payload.body(), "create the order (CS-Cart reprices it, status O)")]
            if payload.total_override is not None:
                out.append(Call("PUT", "/api/orders/{order_id}", {"total": format_decimal(payload.total_override)},
                                "force the source grand total (skipped when CS-Cart's total already matches)"))
            if payload.status_after:
                out.append(Call("PUT", "/api/orders/{order_id}", {"status": payload.status_after},
                                "set the status (status-only: no recalculation, no e-mail)"))
            return out
        if isinstance(payload, CsCartStatusUpdate | CsCartOrderUpdate):
            return [Call("PUT", "/api/orders/{order_id}", payload.body(), "update the order")]
        if isinstance(payload, CsCartShipmentCreate):
            return [Call("POST", "/api/shipments", payload.body(), "create the shipment")]
        if isinstance(payload, CsCartShipmentUpdate):
            return [Call("PUT", "/api/shipments/{shipment_id}", payload.body(), "update the shipment's tracking")]
        raise TypeError(f"not a CS-Cart write model: {type(payload).__name__}")


MAPPING = CsCartMapping()


def from_neutral(order: NeutralOrder, ctx: TargetContext | None = None,
                 operation: Literal["create", "status", "cancel"] = "create") -> WriteModel | None:
    """CS-Cart's write model for one operation on ``order`` (see :class:`CsCartMapping`)."""
    ctx = ctx or TargetContext()
    if operation == "create":
        return MAPPING.create_payload(order, ctx)
    if operation == "status":
        return MAPPING.status_payload(order, ctx)
    return MAPPING.cancel_payload(order, ctx)


# ------------------------------------------------------------------------------------------------
# render: neutral → the GET detail shape
# ------------------------------------------------------------------------------------------------


def _line_discount_unit(line: Line) -> Decimal:
    if not line.discount_amount or not line.quantity:
        return _ZERO
    return line.discount_amount / line.quantity


@dataclass
class _RenderedLines:
    """The ``products`` object and what the totals and taxes need from it."""

    products: dict[str, Any] = field(default_factory=dict)
    tax_groups: dict[str, dict[str, Any]] = field(default_factory=dict)  # by rate: rate, goods (tax), items
    goods: Decimal = _ZERO
    line_discounts: Decimal = _ZERO
    excluded_tax: Decimal = _ZERO


def render(order: NeutralOrder) -> dict[str, Any]:
    """``order`` in CS-Cart's shapes: the order detail, its shipments, and the currency (a bundle).

    Unmapped CS-Cart fields kept in ``extra["cscart"]`` (order) and ``Line.extra`` are written back
    verbatim, so a CS-Cart order survives ``to_neutral → render → to_neutral``.
    """
    rendered = _render_lines(order)
    detail = _render_detail(order, rendered)
    detail.update(order.extra.get(PLATFORM, {}))
    kept = detail.pop("shipments", None)
    ship_to = order.shipping_address or order.billing_address or Address()
    shipments = [_render_shipment(shipment, index, order, detail["timestamp"], ship_to, kept)
                 for index, shipment in enumerate(order.shipments) if shipment.status != "cancelled"]
    return {"order": detail, "shipments": shipments, "currency": order.currency}


def _render_lines(order: NeutralOrder) -> _RenderedLines:
    """Every line as a ``products`` entry (``price`` after the line discount), grouped by tax rate."""
    out = _RenderedLines()
    shipped: dict[str, int] = {}
    for shipment in order.shipments:
        if shipment.status != "cancelled":
            for item in shipment.lines:
                key = item.source_line_id or item.sku or ""
                shipped[key] = shipped.get(key, 0) + item.quantity
    for index, line in enumerate(order.lines):
        item_id = line.source_line_id or item_id_for(line.product_ref or "0", {"line": str(index)})
        tax = line.tax_amount or _ZERO
        if order.prices_include_tax:
            unit_incl = line.unit_price_incl_tax if line.unit_price_incl_tax is not None else \
                line.unit_price + (tax / line.quantity if line.quantity else _ZERO)
            price = unit_incl - _line_discount_unit(line)
        else:
            price = line.unit_price - _line_discount_unit(line)
            out.excluded_tax += tax
        out.goods += price * line.quantity
        out.line_discounts += line.discount_amount or _ZERO
        shipped_qty = shipped.get(item_id, shipped.get(line.sku or "", 0)) if shipped else (line.quantity_shipped or 0)
        out.products[item_id] = _render_product(line, item_id, price, tax, shipped_qty, order.source.id)
        if line.tax_rate is not None or tax:
            key = format_decimal(line.tax_rate) if line.tax_rate is not None else "F"
            group = out.tax_groups.setdefault(key, {"rate": line.tax_rate, "goods": _ZERO, "items": {}})
            group["goods"] += tax
            group["items"][item_id] = True
    return out


def _render_product(line: Line, item_id: str, price: Decimal, tax: Decimal, shipped: int,
                    order_id: str) -> dict[str, Any]:
    """One ``products`` entry, the line's kept extras over it."""
    disc_unit = _line_discount_unit(line)
    name = line.name or ""
    options_value = [{"option_name": o.name, "variant_name": o.value, "value": o.value} for o in line.options]
    row: dict[str, Any] = {
        "item_id": item_id,
        "order_id": order_id,
        "product_id": line.product_ref or "0",
        "product_code": line.sku or "",
        "price": format_decimal(price),
        "amount": str(line.quantity),
        "extra": {"product_options": [], "product_options_value": options_value, "product": name,
                  "discount": _num(disc_unit), "base_price": _num(price + disc_unit), "stored_price": "N"},
        "product": name,
        "product_status": "A",
        "deleted_product": False,
        "discount": _num(disc_unit),
        "base_price": _num(price + disc_unit),
        "original_price": _num(price + disc_unit),
        "cart_id": item_id,
        "tax_value": _num(tax),
        "subtotal": _num(price * line.quantity),
        "display_subtotal": _num(price * line.quantity),
        "shipped_amount": shipped,
        "shipment_amount": max(line.quantity - shipped, 0),
    }
    row.update(line.extra)
    return row


def _render_taxes(order: NeutralOrder, rendered: _RenderedLines) -> dict[str, Any]:
    """The ``taxes`` object: one tax per rate; the first also carries the shipping tax."""
    incl = order.prices_include_tax
    ship_tax = order.shipping.tax_amount or _ZERO
    groups = dict(rendered.tax_groups)
    if ship_tax:
        if not groups:
            groups["F"] = {"rate": None, "goods": _ZERO, "items": {}}
        if not incl:
            rendered.excluded_tax += ship_tax
    taxes: dict[str, Any] = {}
    for number, (key, group) in enumerate(groups.items(), 1):
        ship_part = ship_tax if number == 1 else _ZERO
        rate = group["rate"]
        taxes[str(number)] = {
            "rate_type": "P" if rate is not None else "F",
            "rate_value": format_decimal(rate) if rate is not None else "0.000",
            "price_includes_tax": "Y" if incl else "N",
            "regnumber": "",
            "priority": 0,
            "tax_subtotal": _num(group["goods"] + ship_part),
            "description": f"Tax {key}%" if rate is not None else "Tax",
            "applies": {
                "P": _num(group["goods"]),
                "S": _num(ship_part),
                "items": {"S": {"0": {order.shipping.method_code or "0": True}} if ship_part else [],
                          "P": group["items"] or []},
            },
        }
    return taxes


def _render_shipping(order: NeutralOrder, products: Mapping[str, Any]) -> tuple[Decimal | None, list[Any]]:
    """``(shipping_cost, shipping rows)``: the cost includes its tax when prices do."""
    method = order.shipping
    ship_tax = method.tax_amount or _ZERO
    cost = (method.amount + (ship_tax if order.prices_include_tax else _ZERO)) if method.amount is not None else None
    if not (method.method_code or method.method_name):
        return cost, []
    return cost, [{
        "shipping_id": method.method_code or "",
        "shipping": method.method_name or "",
        "group_key": 0,
        "rate": _num(cost),
        "need_shipment": any(row["shipment_amount"] for row in products.values()),
    }]


def _render_promotions(order: NeutralOrder) -> dict[str, Any]:
    """``promotions``, ``promotion_ids`` and ``coupons`` for the order's discounts."""
    if not order.discounts:
        return {"promotions": [], "promotion_ids": ""}
    promotions: dict[str, Any] = {
        str(i + 1): {"name": d.name or "", "short_description": "", "total_discount": _num(d.amount), "bonuses": []}
        for i, d in enumerate(order.discounts)
    }
    out: dict[str, Any] = {"promotions": promotions, "promotion_ids": ",".join(promotions)}
    coupons = {d.code: [str(i + 1)] for i, d in enumerate(order.discounts) if d.code}
    if coupons:
        out["coupons"] = coupons
    return out


def _render_status(order: NeutralOrder) -> str:
    """The order's own letter when it is a CS-Cart order, else the default table's."""
    raw = order.raw_status
    if raw.platform == PLATFORM and raw.code:
        return raw.code
    return STATUS_TABLE.outbound_for("order", order.status, order.payment_status, order.fulfillment_status) or "O"


def _render_detail(order: NeutralOrder, rendered: _RenderedLines) -> dict[str, Any]:
    """The order detail as ``GET /api/orders/{id}`` returns it."""
    taxes = _render_taxes(order, rendered)
    shipping_cost, shipping_rows = _render_shipping(order, rendered.products)
    surcharges = [fee for fee in order.fees if fee.kind == "payment_surcharge"]
    order_discount = (order.totals.discount or _ZERO) - rendered.line_discounts
    billing = order.billing_address or order.shipping_address or Address()
    ship_to = order.shipping_address or order.billing_address or Address()
    details = "\n".join(part for part in (reference_marker(order.mirror_of) if order.mirror_of else None,
                                          order.notes.staff) if part)
    payment, customer = order.payment, order.customer
    promotions = _render_promotions(order)
    return {
        "order_id": order.source.id, "is_parent_order": "N", "parent_order_id": "0", "company_id": "1",
        "issuer_id": None, "user_id": customer.id or "0",
        "total": format_decimal(order.totals.grand_total),
        "subtotal": _num(rendered.goods),
        "discount": _fmt(rendered.line_discounts),
        "subtotal_discount": _fmt(max(order_discount, _ZERO)),
        "payment_surcharge": _fmt(sum((fee.amount for fee in surcharges), _ZERO)),
        "shipping_ids": order.shipping.method_code or "",
        "shipping_cost": _fmt(shipping_cost) if shipping_cost is not None else "0.00",
        "timestamp": str(int(order.created_at.timestamp())),
        "status": _render_status(order),
        "notes": order.notes.customer or "",
        "details": details,
        "promotions": promotions["promotions"], "promotion_ids": promotions["promotion_ids"],
        "firstname": customer.first_name or "", "lastname": customer.last_name or "",
        "company": billing.company or "",
        **_render_address("b_", billing),
        **_render_address("s_", ship_to),
        "s_address_type": "", "phone": customer.phone or "", "fax": "", "url": "",
        "email": customer.email or billing.email or "",
        "payment_id": payment.method_code or "0",
        "tax_exempt": "N", "lang_code": customer.locale or "", "repaid": "0", "localization_id": "0",
        "profile_id": "0", "storefront_id": "1",
        "updated_at": str(int(order.updated_at.timestamp())) if order.updated_at else "0",
        "payment_method": {"payment_id": payment.method_code or "0", "payment": payment.method_name or "",
                           "surcharge_title": next((fee.name for fee in surcharges if fee.name), "")}
        if (payment.method_code or payment.method_name) else [],
        "fields": [],
        "products": rendered.products,
        "taxes": taxes or [],
        "tax_subtotal": _num(rendered.excluded_tax),
        "display_shipping_cost": _fmt(shipping_cost) if shipping_cost is not None else "0.00",
        "need_shipping": True,
        "shipping": shipping_rows,
        "shipment_ids": [s.source_shipment_id or str(i + 1) for i, s in enumerate(order.shipments)
                         if s.status != "cancelled"],
        "secondary_currency": order.currency,
        "display_subtotal": _num(rendered.goods),
        "payment_info": {"transaction_id": payment.transaction_id} if payment.transaction_id else [],
        "doc_ids": [],
        **({"coupons": promotions["coupons"]} if "coupons" in promotions else {}),
    }


def _render_shipment(shipment: Shipment, index: int, order: NeutralOrder, order_timestamp: str, ship_to: Address,
                     kept: Any) -> dict[str, Any]:
    """One shipment row, its kept extras over it."""
    shipment_id = shipment.source_shipment_id or str(index + 1)
    method = order.shipping
    row = {
        "shipment_id": shipment_id,
        "shipment_timestamp": str(int(shipment.shipped_at.timestamp())) if shipment.shipped_at else "0",
        "comments": shipment.comment or "",
        "status": "S",
        "order_id": order.source.id,
        "order_timestamp": order_timestamp,
        "s_firstname": ship_to.first_name or "",
        "s_lastname": ship_to.last_name or "",
        "company": ship_to.company or "",
        "user_id": order.customer.id or "0",
        "shipping_id": method.method_code or "0",
        "shipping": method.method_name or "",
        "tracking_number": shipment.tracking_number or "",
        "carrier": carrier_code(shipment.carrier) or "",
        "products": {item.source_line_id or item.sku or "": item.quantity for item in shipment.lines},
        "group_key": "0",
        "carrier_info": {"name": shipment.carrier or "", "tracking_url": shipment.tracking_url or ""},
        "one_full": len(order.shipments) == 1,
    }
    if isinstance(kept, dict) and isinstance(kept.get(shipment_id), dict):
        row.update(kept[shipment_id])
    return row


def _render_address(prefix: str, address: Address) -> dict[str, Any]:
    return {
        f"{prefix}firstname": address.first_name or "",
        f"{prefix}lastname": address.last_name or "",
        f"{prefix}address": address.line1 or "",
        f"{prefix}address_2": address.line2 or "",
        f"{prefix}city": address.city or "",
        f"{prefix}county": "",
        f"{prefix}state": address.region_code or "",
        f"{prefix}country": address.country_code or "",
        f"{prefix}zipcode": address.postal_code or "",
        f"{prefix}phone": address.phone or "",
        f"{prefix}country_descr": address.country or "",
        f"{prefix}state_descr": address.region or "",
    }


"""BigCommerce Orders V2 ⇄ the neutral order.

Input of :func:`to_neutral` is the bundle the connector's ``get_order`` returns::

    {"order": {...}, "products": [...], "shipping_addresses": [...], "shipments": [...], "coupons": [...]}

(every key but ``order`` optional; ``taxes`` and ``fees`` lists are read when present), or a bare
order object. Sub-resources may also come embedded in the order instead of as link objects.

Mapping decisions (see ``docs/platforms/bigcommerce.md`` for the whole table):

- Lines: ``unit_price`` = ``price_ex_tax``, ``unit_price_incl_tax`` = ``price_inc_tax``;
  ``discount_amount`` = the line's ``applied_discounts``; ``total`` = ``discounted_total_inc_tax``
  (else ``total_inc_tax`` - discounts); ``total_excl_tax`` = ``total_ex_tax`` - discounts.
- Totals exactly as declared: subtotal = ``subtotal_ex_tax``, tax = ``total_tax``, shipping =
  ``shipping_cost_ex_tax``, discount = ``discount_amount`` + ``coupon_discount``, grand total =
  ``total_inc_tax``. Handling and gift wrapping become ``fees``; coupons (and a manual
  ``discount_amount``) become ``discounts``.
- Statuses on two axes: ``status_id`` (table below) and the ``payment_status`` string, which wins
  for the payment part; fulfillment comes from shipped quantities whenever the order has physical
  items. ``is_deleted`` → ``archived``.
- Every unmapped order field is kept verbatim in ``extra["bigcommerce"]``; unmapped parts of
  sub-resources under ``"@billing_address"``, ``"@shipping_addresses"`` (by id), ``"@shipments"``
  (by id), ``"@coupons"``, ``"@taxes"``, ``"@<other bundle key>"``; unmapped line fields in
  ``Line.extra`` (``product_options`` and ``applied_discounts`` are also kept there verbatim, since
  the neutral form drops their ids).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from connectors.base import Capabilities, ProductRef
from connectors.bigcommerce import CAPABILITIES
from connectors.bigcommerce.wire import (
    BCAddressWrite,
    BCCoupon,
    BCFeeWrite,
    BCOrder,
    BCOrderCreate,
    BCOrderProduct,
    BCOrderProductWrite,
    BCOrderUpdate,
    BCProductOptionWrite,
    BCShipment,
    BCShipmentCreate,
    BCShipmentItemWrite,
    BCShipmentUpdate,
    BCShippingAddress,
    BCShippingAddressWrite,
    BCTax,
    format_rfc2822,
)
from connectors.errors import InvalidPayload, Rejected, UnknownSku
from connectors.parsing import parse_decimal
from connectors.wire import WriteModel, construct, invalid_payload_from, parse_wire, plain_reader, to_plain
from mappings import carriers
from mappings.base import Call, TargetContext, refuse_negative, refuse_negative_lines, unmapped
from mappings.money import canonical, quantum
from mappings.neutral import (
    Address,
    Customer,
    Discount,
    Fee,
    Line,
    LineOption,
    NeutralOrder,
    Notes,
    Payment,
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
    "ORDER_STATUS_LABELS",
    "PAYMENT_STATUS_VALUES",
    "PLATFORM",
    "STATUSES",
    "BigCommerceMapping",
    "from_neutral",
    "to_neutral",
]

PLATFORM = "bigcommerce"
REFERENCE_SOURCE = "ordersync"
_WHAT = "bigcommerce order"
_ZERO = Decimal(0)

ORDER_STATUS_LABELS: dict[str, str] = {
    "0": "Incomplete", "1": "Pending", "2": "Shipped", "3": "Partially Shipped", "4": "Refunded",
    "5": "Cancelled", "6": "Declined", "7": "Awaiting Payment", "8": "Awaiting Pickup", "9": "Awaiting Shipment",
    "10": "Completed", "11": "Awaiting Fulfillment", "12": "Manual Verification Required", "13": "Disputed",
    "14": "Partially Refunded",
}
"""BigCommerce's system labels for ``status_id`` 0-14 (``GET /v2/order_statuses``)."""

PAYMENT_STATUS_VALUES: tuple[str, ...] = (
    "authorized", "captured", "capture pending", "declined", "held for review", "paid", "partially refunded",
    "pending", "refunded", "void", "void pending", "",
)
"""The ``payment_status`` values BigCommerce documents (read-only on the order)."""

STATUSES: StatusTable = StatusTable.build(
    PLATFORM,
    inbound={
        "order": {
            "0": "pending/unpaid/unfulfilled",
            "1": "pending/unpaid/unfulfilled",
            "2": "processing/paid/shipped",
            "3": "processing/paid/partially_shipped",
            "4": "completed/refunded",
            "5": "cancelled/voided/cancelled",
            "6": "cancelled/failed/unfulfilled",
            "7": "pending/unpaid",
            "8": "processing/paid",
            "9": "processing/paid",
            "10": "completed/paid/delivered",
            "11": "processing/paid/unfulfilled",
            "12": "on_hold/authorized",
            "13": "on_hold/paid",
            "14": "processing/partially_refunded",
        },
        "payment": {
            "authorized": "*/authorized",
            "captured": "*/paid",
            "capture pending": "*/authorized",
            "declined": "*/failed",
            "held for review": "*/authorized",
            "paid": "*/paid",
            "partially refunded": "*/partially_refunded",
            "pending": "*/unpaid",
            "refunded": "*/refunded",
            "void": "*/voided",
            "void pending": "*/voided",
        },
    },
    outbound={
        "order": [
            ("cancelled/failed", "6"),
            ("cancelled", "5"),
            ("*/refunded", "4"),
            ("*/partially_refunded", "14"),
            ("completed", "10"),
            ("on_hold", "12"),
            ("processing/*/partially_shipped", "3"),
            ("processing/*/partially_delivered", "3"),
            ("processing/*/shipped", "2"),
            ("processing/*/delivered", "2"),
            ("processing", "11"),
            ("pending/paid", "11"),  # paid, not yet worked on: BigCommerce's Pending (1) reads as unpaid
            ("pending/authorized", "7"),
            ("pending", "1"),
        ],
        "payment": [
            ("*/authorized", "authorized"),
            ("*/paid", "captured"),
            ("*/partially_refunded", "partially refunded"),
            ("*/refunded", "refunded"),
            ("*/voided", "void"),
            ("*/failed", "declined"),
            ("*/unpaid", "pending"),
        ],
    },
    labels={"order": ORDER_STATUS_LABELS},
)
"""Default status table. ``order`` axis: ``status_id``; ``payment`` axis: ``payment_status``."""

_FALLBACK_TRIPLE = Triple("pending", "unpaid", "unfulfilled")
_FINAL_PAYMENTS = frozenset({"refunded", "partially_refunded"})
_EARLY_PAYMENTS = frozenset({"paid", "authorized", "unpaid"})

# Order fields that have a neutral home (everything else goes verbatim to extra["bigcommerce"]).
_ORDER_MAPPED = frozenset({
    "id", "customer_id", "date_created", "date_modified", "status_id", "status", "is_tax_inclusive_pricing",
    "subtotal_ex_tax", "subtotal_inc_tax", "shipping_cost_ex_tax", "shipping_cost_inc_tax", "shipping_cost_tax",
    "handling_cost_ex_tax", "handling_cost_inc_tax", "wrapping_cost_ex_tax", "wrapping_cost_inc_tax",
    "total_inc_tax", "total_tax", "payment_method", "payment_provider_id", "payment_status", "refunded_amount",
    "currency_code", "staff_notes", "customer_message", "discount_amount", "coupon_discount", "is_deleted",
    "billing_address", "customer_locale",
})
_LINE_MAPPED = frozenset({
    "id", "product_id", "variant_id", "name", "sku", "price_ex_tax", "price_inc_tax", "total_ex_tax",
    "total_inc_tax", "total_tax", "quantity", "quantity_shipped", "quantity_refunded", "parent_order_product_id",
    "discounted_total_inc_tax",
})
_ADDRESS_MAPPED = frozenset({
    "first_name", "last_name", "company", "street_1", "street_2", "city", "state", "zip", "country",
    "country_iso2", "phone", "email",
})
_SHIPPING_ADDRESS_MAPPED = _ADDRESS_MAPPED | {"id", "shipping_method"}
_SHIPMENT_MAPPED = frozenset({
    "id", "date_created", "tracking_number", "shipping_provider", "tracking_carrier", "tracking_link",
    "generated_tracking_link", "comments", "items",
})
_EMBEDDABLE = ("products", "shipping_addresses", "coupons")
_BUNDLE_KNOWN = frozenset({"order", "products", "shipping_addresses", "shipments", "coupons", "taxes", "fees"})

_PRODUCTS = TypeAdapter(list[BCOrderProduct])
_ADDRESSES = TypeAdapter(list[BCShippingAddress])
_SHIPMENTS = TypeAdapter(list[BCShipment])
_COUPONS = TypeAdapter(list[BCCoupon])
_TAXES = TypeAdapter(list[BCTax])

# Validate exactly like the wire models but into plain dicts (no model instance per
# object: about a third less validation time); the models stay the door for errors, so an invalid
# payload raises the same InvalidPayload as before. See connectors.wire.plain_reader.
_READ_ORDER = plain_reader(BCOrder)
_READ_PRODUCTS = plain_reader(list[BCOrderProduct])
_READ_ADDRESSES = plain_reader(list[BCShippingAddress])
_READ_SHIPMENTS = plain_reader(list[BCShipment])
_READ_COUPONS = plain_reader(list[BCCoupon])
_READ_TAXES = plain_reader(list[BCTax])

# Region names → codes for the countries whose shoppers most often reach these stores (BigCommerce
# sends the state *name*; targets such as EverShop need the code).
_US_STATES = {
    "Alabama": "AL", "Alaska": "AK", "Arizona": "AZ", "Arkansas": "AR", "California": "CA", "Colorado": "CO",
    "Connecticut": "CT", "Delaware": "DE", "District of Columbia": "DC", "Florida": "FL", "Georgia": "GA",
    "Hawaii": "HI", "Idaho": "ID", "Illinois": "IL", "Indiana": "IN", "Iowa": "IA", "Kansas": "KS",
    "Kentucky": "KY", "Louisiana": "LA", "Maine": "ME", "Maryland": "MD", "Massachusetts": "MA", "Michigan": "MI",
    "Minnesota": "MN", "Mississippi": "MS", "Missouri": "MO", "Montana": "MT", "Nebraska": "NE", "Nevada": "NV",
    "New Hampshire": "NH", "New Jersey": "NJ", "New Mexico": "NM", "New York": "NY", "North Carolina": "NC",
    "North Dakota": "ND", "Ohio": "OH", "Oklahoma": "OK", "Oregon": "OR", "Pennsylvania": "PA",
    "Rhode Island": "RI", "South Carolina": "SC", "South Dakota": "SD", "Tennessee": "TN", "Texas": "TX",
    "Utah": "UT", "Vermont": "VT", "Virginia": "VA", "Washington": "WA", "West Virginia": "WV",
    "Wisconsin": "WI", "Wyoming": "WY", "Puerto Rico": "PR",
}
_REGIONS: dict[str, dict[str, str]] = {
    "US": _US_STATES,
    "CA": {"Alberta": "AB", "British Columbia": "BC", "Manitoba": "MB", "New Brunswick": "NB",
           "Newfoundland and Labrador": "NL", "Nova Scotia": "NS", "Ontario": "ON", "Prince Edward Island": "PE",
           "Quebec": "QC", "Saskatchewan": "SK", "Northwest Territories": "NT", "Nunavut": "NU", "Yukon": "YT"},
    "AU": {"Australian Capital Territory": "ACT", "New South Wales": "NSW", "Northern Territory": "NT",
           "Queensland": "QLD", "South Australia": "SA", "Tasmania": "TAS", "Victoria": "VIC",
           "Western Australia": "WA"},
}
_REGION_CODES = {country: frozenset(table.values()) for country, table in _REGIONS.items()}
_COUNTRY_NAMES = {"US": "United States", "CA": "Canada", "AU": "Australia", "GB": "United Kingdom",
                  "DE": "Germany", "FR": "France", "RO": "Romania", "KE": "Kenya", "NZ": "New Zealand"}

M = TypeVar("M", bound=BaseModel)


def _text(value: str | None) -> str | None:
    """BigCommerce's ``""``, blank and ``null`` all mean "not set"."""
    if not value or value.isspace():
        return None
    return value


def _int_id(value: str | None, fallback: int) -> int:
    """A neutral id as BigCommerce's integer id (a stable hash for non-numeric ids)."""
    if value is not None and value.isdigit():
        return int(value)
    if value:
        return zlib.crc32(value.encode()) & 0x7FFFFFFF
    return fallback


def _region_code(state: str | None, country: str | None) -> str | None:
    if not state or not country:
        return None
    table = _REGIONS.get(country)
    if table is None:
        return None
    if state in _REGION_CODES[country]:
        return state
    return table.get(state)


# -- inbound -----------------------------------------------------------------------------------------


def _address(model: dict[str, Any], source_id: str | None = None) -> Address:
    """A validated BigCommerce address (order ``billing_address`` or a shipping address) as neutral."""
    country = model["country_iso2"]
    country = country.upper() if country else None
    region = model["state"] or None
    return construct(Address, {
        "first_name": model["first_name"] or None,
        "last_name": model["last_name"] or None,
        "company": model["company"] or None,
        "line1": model["street_1"] or None,
        "line2": model["street_2"] or None,
        "city": model["city"] or None,
        "region": region,
        "region_code": _region_code(region, country) if region and country else None,
        "postal_code": model["zip"] or None,
        "country_code": country,
        "phone": model["phone"] or None,
        "email": model["email"] or None,
        "full_name": None,
        "country": model["country"] or None,
        "source_address_id": source_id,
    })


def _read_order(raw: Any, prefix: str) -> dict[str, Any]:
    """The order validated like :class:`BCOrder`, as a plain dict (``InvalidPayload`` when invalid)."""
    if isinstance(raw, dict):
        try:
            return _READ_ORDER(raw)  # type: ignore[no-any-return]
        except ValidationError:
            pass
    plain: dict[str, Any] = to_plain(parse_wire(BCOrder, raw, what=_WHAT, prefix=prefix))  # raises its error
    return plain


def _list(bundle: Mapping[str, Any], key: str, raw_order: Mapping[str, Any], read: Callable[[Any], Any],
          adapter: TypeAdapter[list[M]]) -> tuple[list[dict[str, Any]], list[Any]]:
    """A sub-resource list from the bundle, else embedded in the order; ``([], [])`` when absent.

    ``None`` (a 204) and a link object mean "not fetched / none"; anything else that is not a list
    is an invalid payload. Items come back as plain dicts validated like ``adapter``'s models
    (``read``); on invalid items the models validate again to name the problem.
    """
    raw = bundle.get(key) if bundle else None
    where = key
    if raw is None or isinstance(raw, dict):
        raw = raw_order.get(key)
        where = f"order.{key}" if bundle else key
        if not isinstance(raw, list):
            if raw is None or isinstance(raw, dict):
                return [], []
            raise InvalidPayload(_WHAT, [(where, f"expected a link object or a list, got {type(raw).__name__}")])
    elif not isinstance(raw, list):
        raise InvalidPayload(_WHAT, [(key, f"expected a list, got {type(raw).__name__}")])
    if not raw:
        return [], []
    try:
        return read(raw), raw
    except ValidationError:
        pass
    try:
        return to_plain(adapter.validate_python(raw)), raw
    except ValidationError as error:
        found = invalid_payload_from(_WHAT, error)
        raise InvalidPayload(_WHAT, [(f"{where}{path}" if path.startswith("[") else f"{where}.{path}", reason)
                                     for path, reason in found.problems]) from None


def _merge_payment(order_triple: Triple, payment: Triple | None) -> str:
    base = order_triple.payment_status or "unpaid"
    if payment is None or payment.payment_status is None:
        return base
    if base in _FINAL_PAYMENTS and payment.payment_status in _EARLY_PAYMENTS:
        return base  # a refund recorded on the status outranks a stale gateway state
    return payment.payment_status


def _shipped_units(physical: Mapping[int, int], declared: Mapping[int, int],
                   shipments: list[dict[str, Any]]) -> int:
    """Physical units shipped: per line, the larger of the product's ``quantity_shipped`` and the units
    in the shipments given (either may lag the other), capped at the line's quantity."""
    in_shipments: dict[int, int] = {}
    for shipment in shipments:
        for item in shipment["items"]:
            line_id = item["order_product_id"]
            in_shipments[line_id] = in_shipments.get(line_id, 0) + max(item["quantity"], 0)
    return sum(min(max(declared.get(line_id, 0), in_shipments.get(line_id, 0), 0), quantity)
               for line_id, quantity in physical.items())


def _fulfillment(table_value: str | None, shipped: int, total: int) -> str:
    """Fulfillment from shipped quantities (when there are physical items), else from the table.

    A status the merchant set without any shipment (PUT to Shipped: ``date_shipped`` set,
    ``items_shipped`` 0, real sample 17) is the platform's word: nothing counted as shipped leaves
    the declared fulfillment as it is.
    """
    value = table_value or "unfulfilled"
    if total <= 0 or value in ("cancelled", "returned"):
        return value
    if shipped == 0 and value in ("shipped", "partially_shipped", "delivered", "partially_delivered"):
        return value
    if shipped >= total:
        return "delivered" if value in ("delivered", "partially_delivered") else "shipped"
    if shipped > 0:
        return "partially_delivered" if value == "partially_delivered" else "partially_shipped"
    return "unfulfilled"


@dataclass
class _Bundle:
    """One BigCommerce order and its sub-resources: each validated (as plain dicts) beside its raw JSON."""

    given: dict[str, Any]  # the bundle as given ({} for a bare order)
    raw_order: dict[str, Any]
    order: dict[str, Any]
    currency: str
    products: list[dict[str, Any]]
    raw_products: list[Any]
    addresses: list[dict[str, Any]]
    raw_addresses: list[Any]
    shipments: list[dict[str, Any]]
    raw_shipments: list[Any]
    coupons: list[dict[str, Any]]
    raw_coupons: list[Any]
    taxes: list[dict[str, Any]]
    raw_taxes: list[Any]


@dataclass
class _LineFacts:
    """What the lines say beyond themselves: SKUs and physical/shipped units by line id, and sums."""

    skus: dict[int, str | None] = field(default_factory=dict)
    physical: dict[int, int] = field(default_factory=dict)
    declared_shipped: dict[int, int] = field(default_factory=dict)
    ex_total: Decimal = _ZERO
    inc_total: Decimal = _ZERO


def _money(value: Decimal | None, currency: str) -> Decimal | None:
    """An amount at the currency's precision when that is exact (see :func:`mappings.money.canonical`)."""
    return None if value is None else canonical(value, currency)


def _read_bundle(payload: Any) -> _Bundle:
    """Validate the order and every sub-resource given (``InvalidPayload`` names the field)."""
    if not isinstance(payload, dict):
        got = "a list" if isinstance(payload, list) else type(payload).__name__
        raise InvalidPayload(_WHAT, [("", f"expected a JSON object, got {got}")])
    if "order" in payload:
        given, raw_order, prefix = payload, payload["order"], "order"
    else:
        given, raw_order, prefix = {}, payload, ""
    order = _read_order(raw_order, prefix)
    where = f"{prefix}." if prefix else ""
    if order["date_created"] is None:
        raise InvalidPayload(_WHAT, [(f"{where}date_created", "required")])
    currency = (order["currency_code"] or order["default_currency_code"] or "").strip().upper()
    if len(currency) != 3 or not currency.isalpha():
        raise InvalidPayload(_WHAT, [(f"{where}currency_code",
                                      f"expected an ISO 4217 code, got {order['currency_code']!r}")])
    products, raw_products = _list(given, "products", raw_order, _READ_PRODUCTS, _PRODUCTS)
    addresses, raw_addresses = _list(given, "shipping_addresses", raw_order, _READ_ADDRESSES, _ADDRESSES)
    shipments, raw_shipments = _list(given, "shipments", raw_order, _READ_SHIPMENTS, _SHIPMENTS) \
        if given else ([], [])
    coupons, raw_coupons = _list(given, "coupons", raw_order, _READ_COUPONS, _COUPONS)
    taxes, raw_taxes = _list(given, "taxes", raw_order, _READ_TAXES, _TAXES) if given else ([], [])
    return _Bundle(given, raw_order, order, currency, products, raw_products, addresses, raw_addresses,
                   shipments, raw_shipments, coupons, raw_coupons, taxes, raw_taxes)


def _tax_rates(taxes: list[dict[str, Any]]) -> dict[int, Decimal]:
    """The summed tax rate per order product id (from ``/taxes?details=true``)."""
    rates: dict[int, Decimal] = {}
    for tax in taxes:
        product_id, rate = tax["order_product_id"], tax["rate"]
        if product_id is not None and rate is not None:
            rates[product_id] = rates.get(product_id, _ZERO) + rate
    return rates


def _read_lines(b: _Bundle) -> tuple[list[Line], _LineFacts]:
    """Every product as a neutral line (negative quantities and prices refused), with the facts the
    statuses, shipments and totals need."""
    rates = _tax_rates(b.taxes)
    where = "products" if b.given.get("products") is b.raw_products or not b.given else "order.products"
    facts = _LineFacts()
    lines: list[Line] = []
    for index, (product, raw) in enumerate(zip(b.products, b.raw_products, strict=True)):
        refuse_negative(_WHAT, [(f"{where}[{index}].quantity", product["quantity"]),
                                (f"{where}[{index}].price_ex_tax", product["price_ex_tax"]),
                                (f"{where}[{index}].price_inc_tax", product["price_inc_tax"])])
        line_id = product["id"]
        price_inc, total_ex, total_inc = _line_gross(product)
        facts.ex_total += total_ex
        facts.inc_total += total_inc
        facts.skus[line_id] = _text(product["sku"])
        if product["type"] != "digital":
            facts.physical[line_id] = product["quantity"]
            facts.declared_shipped[line_id] = product["quantity_shipped"] or 0
        lines.append(_line(product, raw, price_inc, total_ex, total_inc, rates.get(line_id), b.currency))
    return lines, facts


def _line_gross(product: dict[str, Any]) -> tuple[Decimal, Decimal, Decimal]:
    """``(price_inc_tax, total_ex_tax, total_inc_tax)``, each derived from the price when not given."""
    price_ex, quantity = product["price_ex_tax"], product["quantity"]
    price_inc = product["price_inc_tax"] if product["price_inc_tax"] is not None else price_ex
    total_ex = product["total_ex_tax"] if product["total_ex_tax"] is not None else price_ex * quantity
    total_inc = product["total_inc_tax"] if product["total_inc_tax"] is not None else price_inc * quantity
    return price_inc, total_ex, total_inc


def _line(product: dict[str, Any], raw: Any, price_inc: Decimal, total_ex: Decimal, total_inc: Decimal,
          tax_rate: Decimal | None, currency: str) -> Line:
    """One product as a neutral line: the line discount is its ``applied_discounts``."""
    discount = sum((applied["amount"] for applied in product["applied_discounts"] or ()), _ZERO)
    total = product["discounted_total_inc_tax"]
    if total is None:
        total = total_inc - discount
    line_tax = product["total_tax"] if product["total_tax"] is not None else total_inc - total_ex
    options = [
        LineOption(name=option["display_name"] or option["name"] or "",
                   value=option["display_value"] or option["value"] or "")
        for option in product["product_options"] or ()
    ]
    product_id, variant_id, parent = product["product_id"], product["variant_id"], product["parent_order_product_id"]
    return construct(Line, {
        "source_line_id": str(product["id"]),
        "sku": _text(product["sku"]),
        "name": _text(product["name"]),
        "product_ref": str(product_id) if product_id else None,
        "variant_ref": str(variant_id) if variant_id else None,
        "options": options,
        "quantity": product["quantity"],
        "unit_price": _money(product["price_ex_tax"], currency),
        "unit_price_incl_tax": _money(price_inc, currency),
        "tax_rate": tax_rate,
        "tax_amount": _money(line_tax, currency),
        "discount_amount": _money(discount, currency),
        "total": _money(total, currency),
        "total_excl_tax": _money(total_ex - discount if discount else total_ex, currency),
        "quantity_shipped": product["quantity_shipped"],
        "quantity_refunded": product["quantity_refunded"],
        "parent_line_id": str(parent) if parent else None,
        "extra": unmapped(raw, _LINE_MAPPED),
    })


def _read_statuses(b: _Bundle, facts: _LineFacts, table: StatusTable,
                   warnings: list[str]) -> tuple[str, str, str, RawStatus]:
    """``(status, payment_status, fulfillment_status, raw)``: ``status_id`` through the table, the
    ``payment_status`` string over it, fulfillment from the units shipped and the declared status."""
    order = b.order
    shipped = _shipped_units(facts.physical, facts.declared_shipped, b.shipments)
    physical = sum(facts.physical.values())
    items_total = order["items_total"]
    if not b.products and items_total:
        warnings.append(f"lines: the order counts {items_total} item(s) but its products were not given "
                        f"(GET /v2/orders/{{id}}/products); pass them as the bundle's \"products\" to map lines")
        physical, shipped = items_total, min(order["items_shipped"] or 0, items_total)
    code = str(order["status_id"])
    triple = table.inbound_for("order", code)
    if triple is None:
        warnings.append(f"status: unknown BigCommerce status_id {code}; read as pending")
        triple = _FALLBACK_TRIPLE
    payment_code = _text(order["payment_status"])
    payment_triple = None
    if payment_code is not None:
        payment_triple = table.inbound_for("payment", payment_code.lower())
        if payment_triple is None:
            warnings.append(f"status: unknown BigCommerce payment_status {payment_code!r}; ignored")
    status = "archived" if order["is_deleted"] else (triple.status or "pending")
    raw = RawStatus(platform=PLATFORM, code=code, label=_text(order["status"]) or table.label("order", code),
                    payment_code=payment_code, fulfillment_code=None)
    return (status, _merge_payment(triple, payment_triple),
            _fulfillment(triple.fulfillment_status, shipped, physical), raw)


def _read_addresses(b: _Bundle, extra: dict[str, Any]) -> tuple[Address | None, list[Address], str | None]:
    """``(billing, shipping addresses, shipping method name)``; unmapped address fields go to ``extra``."""
    billing = _address(b.order["billing_address"]) if b.order["billing_address"] is not None else None
    raw_billing = b.raw_order.get("billing_address")
    if billing is not None and isinstance(raw_billing, dict):
        rest = unmapped(raw_billing, _ADDRESS_MAPPED)
        if rest:
            extra["@billing_address"] = rest
    shipping = [_address(address, str(address["id"])) for address in b.addresses]
    method = None
    if b.addresses:
        extra["@shipping_addresses"] = {
            str(address["id"]): unmapped(raw, _SHIPPING_ADDRESS_MAPPED)
            for address, raw in zip(b.addresses, b.raw_addresses, strict=True)
        }
        method = _text(b.addresses[0]["shipping_method"])
        if method == "None":
            method = None
    return billing, shipping, method


def _customer(order: dict[str, Any], billing: Address | None) -> Customer:
    """The buyer: the customer id and locale of the order, the rest from the billing address."""
    customer_id = order["customer_id"]
    return Customer(
        id=str(customer_id) if customer_id else None,
        email=billing.email if billing else None,
        first_name=billing.first_name if billing else None,
        last_name=billing.last_name if billing else None,
        phone=billing.phone if billing else None,
        locale=_text(order["customer_locale"]),
    )


def _read_shipments(b: _Bundle, skus: Mapping[int, str | None], extra: dict[str, Any]) -> list[Shipment]:
    """Every shipment given, its lines by order product id; unmapped fields to ``extra["@shipments"]``."""
    shipments: list[Shipment] = []
    kept: dict[str, Any] = {}
    for shipment, raw in zip(b.shipments, b.raw_shipments, strict=True):
        provider, carrier = _text(shipment["shipping_provider"]), _text(shipment["tracking_carrier"])
        link, generated = _text(shipment["tracking_link"]), _text(shipment["generated_tracking_link"])
        shipments.append(Shipment(
            source_shipment_id=str(shipment["id"]),
            carrier=provider or carrier,
            tracking_number=_text(shipment["tracking_number"]),
            tracking_url=link or generated,
            shipped_at=shipment["date_created"],
            lines=[ShipmentLine(source_line_id=str(item["order_product_id"]), sku=skus.get(item["order_product_id"]),
                                quantity=item["quantity"]) for item in shipment["items"]],
            comment=_text(shipment["comments"]),
        ))
        rest = unmapped(raw, _SHIPMENT_MAPPED)
        if provider and carrier:
            rest["tracking_carrier"] = carrier  # both set: the neutral carrier keeps the first
        if link and generated:
            rest["generated_tracking_link"] = shipment["generated_tracking_link"]
        kept[str(shipment["id"])] = rest
    if kept:
        extra["@shipments"] = kept
    return shipments


def _read_discounts(b: _Bundle, extra: dict[str, Any]) -> list[Discount]:
    """Coupons, then a manual ``discount_amount``, as order discounts."""
    currency = b.currency
    discounts = [
        Discount(code=_text(coupon["code"]), amount=canonical(
            (coupon["discount"] if coupon["discount"] is not None else coupon["amount"]) or _ZERO, currency))
        for coupon in b.coupons
    ]
    if b.coupons:
        extra["@coupons"] = b.raw_coupons
    if b.taxes:
        extra["@taxes"] = b.raw_taxes
    if b.order["discount_amount"]:
        discounts.append(Discount(amount=canonical(b.order["discount_amount"], currency), name="Manual Discount"))
    return discounts


def _read_fees(b: _Bundle, extra: dict[str, Any]) -> tuple[list[Fee], Decimal]:
    """Handling, gift wrapping and ``fees[]`` as neutral fees, with the sum ``fees[]`` add to the total."""
    order, currency = b.order, b.currency
    fees: list[Fee] = []
    for kind, name in (("handling", "Handling"), ("wrapping", "Gift wrapping")):
        ex, inc = order[f"{kind}_cost_ex_tax"], order[f"{kind}_cost_inc_tax"]
        if ex or inc:
            fees.append(Fee(kind=kind, amount=_money(ex or _ZERO, currency),
                            amount_incl_tax=_money(inc, currency), name=name))
    listed = b.given.get("fees")
    if not isinstance(listed, list):
        listed = b.raw_order.get("fees")
    listed_total = _ZERO
    if isinstance(listed, list) and listed:
        for index, raw_fee in enumerate(listed):
            fee = _fee(raw_fee, index, currency)
            fees.append(fee)
            listed_total += fee.amount_incl_tax if fee.amount_incl_tax is not None else fee.amount
        if b.given.get("fees") is listed:
            extra["@fees"] = listed
    return fees, listed_total


def _fee(raw: Any, index: int, currency: str) -> Fee:
    """A ``fees[]`` item (``?include=fees`` or the ``/fees`` sub-resource) as a neutral fee."""
    where = f"fees[{index}]"
    if not isinstance(raw, dict):
        raise InvalidPayload(_WHAT, [(where, "expected a JSON object")])
    try:
        amount = parse_decimal(raw.get("cost_ex_tax", raw.get("cost_exc_tax", 0)) or 0)
        incl = raw.get("cost_inc_tax")
        amount_incl = parse_decimal(incl) if incl not in (None, "") else None
    except ValueError as error:
        raise InvalidPayload(_WHAT, [(where, str(error))]) from None
    name = raw.get("display_name_customer") or raw.get("display_name_merchant")
    return Fee(kind=str(raw.get("type") or "custom"), amount=_money(amount, currency) or _ZERO,
               amount_incl_tax=_money(amount_incl, currency), name=str(name) if name else None)


def _read_totals(order: dict[str, Any], currency: str, discount_total: Decimal | None) -> Totals:
    """The totals exactly as declared."""
    return Totals(
        subtotal=_money(order["subtotal_ex_tax"], currency),
        discount=_money(discount_total, currency),
        shipping=_money(order["shipping_cost_ex_tax"], currency),
        tax=_money(order["total_tax"], currency),
        grand_total=canonical(order["total_inc_tax"], currency),
        subtotal_incl_tax=_money(order["subtotal_inc_tax"], currency),
        refunded=_money(order["refunded_amount"], currency),
    )


def _order_extra(b: _Bundle) -> tuple[dict[str, Any], str | None]:
    """``(extra, mirror_of)``: the unmapped order fields, and our reference
    when ``external_order_id`` holds one (then it is not kept in ``extra``)."""
    extra = unmapped(b.raw_order, _ORDER_MAPPED)
    for key in _EMBEDDABLE:
        if isinstance(extra.get(key), list):
            del extra[key]  # embedded sub-resources are mapped, not extra
    external = _text(b.order["external_order_id"])
    mirror_of = external if external and external.startswith("ordersync:") else None
    if mirror_of is not None:
        extra.pop("external_order_id", None)
    return extra, mirror_of


def _to_neutral(payload: Any, store: str | None, statuses: StatusTable | None) -> NeutralOrder:
    """The read, step by step: bundle, lines, statuses, addresses, shipments, money, totals check."""
    b = _read_bundle(payload)
    order, currency = b.order, b.currency
    warnings: list[str] = []
    extra, mirror_of = _order_extra(b)
    lines, facts = _read_lines(b)
    status, payment_status, fulfillment_status, raw_status = _read_statuses(b, facts, statuses or STATUSES,
                                                                            warnings)
    billing, shipping_addresses, method = _read_addresses(b, extra)
    shipments = _read_shipments(b, facts.skus, extra)
    discounts = _read_discounts(b, extra)
    fees, listed_fees = _read_fees(b, extra)
    extra.update({f"@{key}": value for key, value in b.given.items() if key not in _BUNDLE_KNOWN})
    discount_amount, coupon_discount = order["discount_amount"], order["coupon_discount"]
    discount_total = None if discount_amount is None and coupon_discount is None else \
        (discount_amount or _ZERO) + (coupon_discount or _ZERO)
    _check_totals(order, quantum(currency), discount_total or _ZERO, listed_fees, warnings,
                  (facts.ex_total, facts.inc_total) if b.products else None)
    return construct(NeutralOrder, {
        "source": SourceRef(platform=PLATFORM, store=store, id=str(order["id"]), number=str(order["id"])),
        "created_at": order["date_created"],
        "updated_at": order["date_modified"],
        "currency": currency,
        "prices_include_tax": bool(order["is_tax_inclusive_pricing"]),
        "status": status,
        "payment_status": payment_status,
        "fulfillment_status": fulfillment_status,
        "raw_status": raw_status,
        "customer": _customer(order, billing),
        "billing_address": billing,
        "shipping_address": shipping_addresses[0] if shipping_addresses else None,
        "shipping_addresses": shipping_addresses,
        "lines": lines,
        "shipping": Shipping(method_name=method, amount=_money(order["shipping_cost_ex_tax"], currency),
                             amount_incl_tax=_money(order["shipping_cost_inc_tax"], currency),
                             tax_amount=_money(order["shipping_cost_tax"], currency)),
        "discounts": discounts,
        "fees": fees,
        "totals": _read_totals(order, currency, discount_total),
        "payment": Payment(method_name=_text(order["payment_method"]),
                           transaction_id=_text(order["payment_provider_id"])),
        "shipments": shipments,
        "notes": Notes(customer=_text(order["customer_message"]), staff=_text(order["staff_notes"])),
        "mirror_of": mirror_of,
        "extra": {PLATFORM: extra},
        "warnings": warnings,
    })


def _check_totals(order: dict[str, Any], q: Decimal, discount: Decimal, fees: Decimal, warnings: list[str],
                  lines: tuple[Decimal, Decimal] | None) -> None:
    """Warn when declared totals do not add up (one minor unit ``q`` of tolerance).

    BigCommerce applies discounts to tax-inclusive amounts when the store prices include tax and to
    tax-exclusive ones otherwise, so the grand total is checked both ways (the store's way first):
    ``subtotal_inc + shipping_inc + handling_inc + wrapping_inc - discount`` or
    ``subtotal_ex + shipping_ex + handling_ex + wrapping_ex - discount + total_tax``. Store credit and
    gift certificates are payments, not part of the total; a store whose ``discount_amount`` already
    includes ``coupon_discount`` is accepted too. The subtotal must match the lines (before discounts)
    either excluding or including tax. ``order`` is the validated order (plain dict).
    """
    grand = order["total_inc_tax"]
    currency = order["currency_code"] or order["default_currency_code"]
    subtotal_ex, subtotal_inc, total_tax = order["subtotal_ex_tax"], order["subtotal_inc_tax"], order["total_tax"]
    if subtotal_ex is not None or subtotal_inc is not None:
        incl = fees - discount
        for part in (subtotal_inc, order["shipping_cost_inc_tax"], order["handling_cost_inc_tax"],
                     order["wrapping_cost_inc_tax"]):
            if part is not None:
                incl += part
        excl = fees - discount
        for part in (subtotal_ex, order["shipping_cost_ex_tax"], order["handling_cost_ex_tax"],
                     order["wrapping_cost_ex_tax"], total_tax):
            if part is not None:
                excl += part
        coupon = order["coupon_discount"] or _ZERO
        if abs(grand - incl) > q and abs(grand - excl) > q and not (
                coupon and (abs(grand - incl - coupon) <= q or abs(grand - excl - coupon) <= q)):
            # (the last case reads discount_amount as already including the coupons)
            first = incl if order["is_tax_inclusive_pricing"] else excl
            warnings.append(f"totals: declared total_inc_tax {grand} differs from the computed {first} ({currency})")
    total_ex = order["total_ex_tax"]
    if total_ex is not None and total_tax is not None and abs(grand - total_ex - total_tax) > q:
        warnings.append(f"totals: total_inc_tax {grand} is not total_ex_tax {total_ex} "
                        f"+ total_tax {total_tax} ({currency})")
    if lines is not None:
        lines_ex, lines_inc = lines
        ok_ex = subtotal_ex is None or abs(subtotal_ex - lines_ex) <= q
        ok_inc = subtotal_inc is None or abs(subtotal_inc - lines_inc) <= q
        if not ok_ex and not ok_inc:
            warnings.append(f"totals: declared subtotal_ex_tax {subtotal_ex} differs from the lines' "
                            f"{lines_ex} ({currency})")


# -- outbound ------------------------------------------------------------------------------------------


def _money4(value: Decimal | None) -> str:
    """BigCommerce's money spelling: 4 decimals."""
    return f"{value if value is not None else _ZERO:.4f}"


def _status_code(order: NeutralOrder, table: StatusTable) -> str | None:
    """The ``status_id`` for the order's neutral triple."""
    return table.outbound_for("order", order.status, order.payment_status, order.fulfillment_status)


def _address_write(address: Address, model: type[M], customer_email: str | None = None,
                   shipping_method: str | None = None) -> M:
    """A neutral address as a BigCommerce address body (``None`` fields are left out)."""
    values: dict[str, Any] = {
        "first_name": address.first_name or "",
        "last_name": address.last_name or "",
        "company": address.company,
        "street_1": address.line1,
        "street_2": address.line2,
        "city": address.city,
        "state": address.region or address.region_code,
        "zip": address.postal_code,
        "country": address.country or _COUNTRY_NAMES.get(address.country_code or ""),
        "country_iso2": address.country_code,
        "phone": address.phone,
        "email": address.email or customer_email,
        "shipping_method": shipping_method,
    }
    return construct(model, {key: value for key, value in values.items() if value is not None})


def _carrier_fields(carrier: str | None) -> tuple[str, str | None]:
    """``(shipping_provider, tracking_carrier)`` for a neutral carrier name (through mappings.carriers)."""
    fields = carriers.for_bigcommerce(carrier)
    return fields.provider, fields.tracking_carrier or None


def _comments(shipment: Shipment) -> str:
    """The shipment's comment, plus the name of a carrier BigCommerce has no code for (kept, not lost)."""
    note = carriers.note_for(shipment.carrier)
    comment = shipment.comment or ""
    return "\n".join(part for part in (comment, note if note and note not in comment else None) if part)


def _create_addresses(order: NeutralOrder, ctx: TargetContext) -> dict[str, Any]:
    """``billing_address`` (the shipping address when there is none) and ``shipping_addresses``."""
    customer = order.customer
    billing_source = order.billing_address or order.shipping_address
    if order.billing_address is None:
        ctx.warn("no billing address: the shipping address is used as billing address")
    if billing_source is not None:
        billing = _address_write(billing_source, BCAddressWrite, customer.email)
    else:
        billing = construct(BCAddressWrite, {k: v for k, v in (
            ("first_name", customer.first_name or ""), ("last_name", customer.last_name or ""),
            ("email", customer.email)) if v is not None})
    if not billing.zip or len(billing.zip) < 2:
        ctx.warn("the billing address has no postal code: BigCommerce requires a zip of 2+ characters")
    sources = order.shipping_addresses or ([order.shipping_address] if order.shipping_address else [])
    method = order.shipping.method_name or order.shipping.method_code
    shipping = [
        _address_write(address, BCShippingAddressWrite, customer.email, shipping_method=method if index == 0 else None)
        for index, address in enumerate(sources)
    ]
    if len(shipping) > 1:
        ctx.warn("several shipping addresses: BigCommerce's order create puts every line on the first one")
    return {"billing_address": billing, **({"shipping_addresses": shipping} if shipping else {})}


def _create_status(order: NeutralOrder, ctx: TargetContext) -> dict[str, Any]:
    """``status_id``: the store's ``create_status_id`` option, else the table's code for the order."""
    status_id = ctx.options.get("create_status_id")
    if status_id is None:
        code = _status_code(order, ctx.statuses or STATUSES) if order.status != "archived" else None
        if code is None or not code.isdigit():
            ctx.warn(f"no BigCommerce status for {order.status}/{order.payment_status}/"
                     f"{order.fulfillment_status}: BigCommerce's default (1, Pending) applies")
            return {}
        status_id = code
    return {"status_id": int(status_id)}


def _create_money(order: NeutralOrder, ctx: TargetContext) -> dict[str, Any]:
    """Discount, shipping, fees, subtotals and totals as declared by the source."""
    values: dict[str, Any] = {}
    totals = order.totals
    discount_total = totals.discount
    if not discount_total:
        line_discounts = sum((line.discount_amount or _ZERO for line in order.lines), _ZERO)
        if line_discounts:
            discount_total = line_discounts
            ctx.warn("line discounts are sent as the order's discount_amount (no line discounts on create)")
    if discount_total:
        values["discount_amount"] = discount_total
    charge = order.shipping
    ship_ex = charge.amount if charge.amount is not None else totals.shipping
    if ship_ex is not None:
        ship_inc = charge.amount_incl_tax
        if ship_inc is None:
            ship_inc = ship_ex + (charge.tax_amount or _ZERO)
        values["shipping_cost_ex_tax"], values["shipping_cost_inc_tax"] = ship_ex, ship_inc
    values.update(_create_fees(order))
    if totals.subtotal is not None:
        sub_inc = totals.subtotal_incl_tax
        if sub_inc is None:
            sub_inc = totals.subtotal + sum((line.tax_amount or _ZERO for line in order.lines), _ZERO)
        values["subtotal_ex_tax"], values["subtotal_inc_tax"] = totals.subtotal, sub_inc
    values["total_ex_tax"] = totals.grand_total - (totals.tax or _ZERO)
    values["total_inc_tax"] = totals.grand_total
    return values


def _create_fees(order: NeutralOrder) -> dict[str, Any]:
    """The first handling and wrapping fees in their own fields, every other fee as a custom fee."""
    values: dict[str, Any] = {}
    custom_fees: list[BCFeeWrite] = []
    for fee in order.fees:
        incl = fee.amount_incl_tax if fee.amount_incl_tax is not None else fee.amount
        if fee.kind in ("handling", "wrapping") and f"{fee.kind}_cost_ex_tax" not in values:
            values[f"{fee.kind}_cost_ex_tax"], values[f"{fee.kind}_cost_inc_tax"] = fee.amount, incl
        else:
            custom_fees.append(construct(BCFeeWrite, {
                "type": "custom_fee", "display_name_customer": fee.name or fee.kind,
                "source": REFERENCE_SOURCE, "cost_ex_tax": fee.amount, "cost_inc_tax": incl}))
    if custom_fees:
        values["fees"] = custom_fees
    return values


class BigCommerceMapping:
    """BigCommerce Orders V2 ⇄ neutral (``PlatformMapping``)."""

    platform: ClassVar[str] = PLATFORM
    capabilities: ClassVar[Capabilities] = CAPABILITIES
    statuses: ClassVar[StatusTable] = STATUSES

    # -- read
    def to_neutral(self, payload: Any, *, store: str | None = None,
                   statuses: StatusTable | None = None) -> NeutralOrder:
        """Read a BigCommerce bundle (or bare order) into a neutral order; raises only ``InvalidPayload``."""
        try:
            return _to_neutral(payload, store, statuses)
        except InvalidPayload:
            raise
        except Exception as error:  # noqa: BLE001 - any other failure is a payload we could not read
            raise InvalidPayload(_WHAT, [("", f"{type(error).__name__}: {error}")]) from None

    # -- write
    def create_payload(self, order: NeutralOrder, ctx: TargetContext) -> BCOrderCreate:
        """``POST /v2/orders`` body: lines with the source's prices, stamped with ``ctx.reference``.

        Built with :func:`~connectors.wire.construct` from the (already valid) neutral order: every rule of
        :class:`BCOrderCreate` holds by construction (both prices on every line, names on custom
        lines, money in pairs), and anything BigCommerce could still refuse is said in ``ctx``.
        """
        refuse_negative_lines(order, PLATFORM)
        ctx.prefetch(line.sku for line in order.lines if line.quantity > 0)
        products = [self._product(line, ctx) for line in order.lines if line.quantity > 0]
        if len(products) < len(order.lines):
            ctx.warn("lines with quantity 0 are left out (BigCommerce needs a quantity of at least 1)")
        if not products:
            raise Rejected("the order has no line BigCommerce can create (it refuses an order without products)",
                           platform=PLATFORM, field_errors={"lines": "empty"})
        values: dict[str, Any] = {
            "customer_id": 0,
            **_create_addresses(order, ctx),
            "products": products,
            "date_created": format_rfc2822(order.created_at),
            "external_source": REFERENCE_SOURCE,
        }
        if order.customer.id:
            ctx.warn("the customer account is not linked on the target: the order is created as a guest order")
        if any(discount.code for discount in order.discounts):
            ctx.warn("coupon codes cannot be applied through the API: the discount is sent as discount_amount")
        if ctx.reference is not None:
            values["external_order_id"] = ctx.reference.key
        else:
            ctx.warn("no reference given: the order cannot be found again after a lost answer")
        values.update(_create_status(order, ctx))
        if order.notes.customer:
            values["customer_message"] = order.notes.customer
        if order.notes.staff:
            values["staff_notes"] = order.notes.staff
        values.update(_create_money(order, ctx))
        payment_method = order.payment.method_name or order.payment.method_code
        if payment_method:
            values["payment_method"] = payment_method
        if order.payment.transaction_id:
            values["payment_provider_id"] = order.payment.transaction_id
        if order.customer.locale:
            values["customer_locale"] = order.customer.locale
        channel = ctx.options.get("channel_id")
        if channel is not None:
            values["channel_id"] = int(channel)
        store_currency = ctx.options.get("currency")
        if store_currency and str(store_currency).upper() != order.currency:
            ctx.warn(f"BigCommerce orders take the store's currency ({store_currency}); "
                     f"the source amounts are in {order.currency}")
        return construct(BCOrderCreate, values)

    def _product(self, line: Line, ctx: TargetContext) -> BCOrderProductWrite:
        """A catalog product when the SKU resolves (with both source prices), else a custom product."""
        price_ex = line.unit_price
        price_inc = line.unit_price_incl_tax
        if price_inc is None:
            price_inc = price_ex + (line.tax_amount / line.quantity if line.tax_amount and line.quantity else _ZERO)
        ref: ProductRef | None = None
        sku = line.sku
        if sku:
            if ctx.catalog is None:
                ctx.warn("offline: SKUs are not resolved, lines are shown as custom products")
            else:
                try:
                    ref = ctx.catalog(sku)
                except UnknownSku:
                    if ctx.options.get("unknown_sku") == "reject":
                        raise
                    ctx.warn(f"SKU {sku!r} is not in the target catalog: sent as a custom product")
        elif ctx.catalog is not None:
            ctx.warn(f"line {line.name or line.source_line_id!r} has no SKU: sent as a custom product")
        if line.parent_line_id:
            ctx.warn("bundle lines are sent flat (BigCommerce rebuilds bundles only from catalog pick lists)")
        name = (line.name or sku or "Item")[:250]
        if ref is not None and ref.product_id.isdigit():
            values: dict[str, Any] = {"product_id": int(ref.product_id), "quantity": line.quantity,
                                      "price_ex_tax": price_ex, "price_inc_tax": price_inc}
            if ref.variant_id and ref.variant_id.isdigit() and ref.options:
                values["variant_id"] = int(ref.variant_id)  # a real variant; a base variant needs no id
            elif ref.options:
                values["product_options"] = [
                    construct(BCProductOptionWrite, {"id": int(k), "value": str(v)})
                    for k, v in ref.options.items() if str(k).isdigit()
                ]
            if line.name:
                values["name"] = name
            return construct(BCOrderProductWrite, values)
        values = {"name": name, "quantity": line.quantity, "price_ex_tax": price_ex, "price_inc_tax": price_inc}
        if sku:
            values["sku"] = sku
        return construct(BCOrderProductWrite, values)

    def status_payload(self, order: NeutralOrder, ctx: TargetContext) -> BCOrderUpdate | None:
        """``PUT /v2/orders/{id}`` with the ``status_id`` for ``order``'s statuses, or ``None`` if the
        target already shows them. Changing the status moves no money and creates no shipment."""
        table = ctx.statuses or STATUSES
        if order.status == "archived":
            ctx.warn("archiving is done by deleting the order, not by a status")
            return None
        code = _status_code(order, table)
        if code is None:
            ctx.warn(f"no BigCommerce status for {order.status}/{order.payment_status}/{order.fulfillment_status}")
            return None
        current = ctx.current
        if current is not None:
            if current.raw_status.code == code:
                return None
            if (current.status, current.payment_status, current.fulfillment_status) == (
                    order.status, order.payment_status, order.fulfillment_status):
                return None
        if order.payment_status in ("refunded", "partially_refunded"):
            ctx.warn("a refund status on BigCommerce is bookkeeping only: no money is moved")
        return BCOrderUpdate(status_id=int(code))

    def shipment_payload(self, shipment: Shipment, order: NeutralOrder, ctx: TargetContext) -> BCShipmentCreate:
        """``POST /v2/orders/{id}/shipments``: items by the *target's* line ids, matched by SKU."""
        items: list[BCShipmentItemWrite] = []
        current = ctx.current
        if current is None:
            ctx.warn("offline: order_product_id and order_address_id are resolved at sync time")
            for item in shipment.lines:
                if item.quantity > 0:
                    items.append(BCShipmentItemWrite(order_product_id=0, quantity=item.quantity))
            address_id = None
        else:
            remaining: dict[str, int] = {}
            for line in current.lines:
                if line.source_line_id:
                    remaining[line.source_line_id] = line.quantity - (line.quantity_shipped or 0)
            for item in shipment.lines:
                sku = item.sku
                if sku is None and item.source_line_id:
                    sku = next((ln.sku for ln in order.lines if ln.source_line_id == item.source_line_id), None)
                wanted = item.quantity
                candidates = [ln for ln in current.lines if sku and ln.sku == sku and ln.source_line_id]
                for line in candidates:
                    if wanted <= 0:
                        break
                    line_id = line.source_line_id or ""
                    take = min(wanted, max(remaining.get(line_id, 0), 0))
                    if take <= 0:
                        continue
                    remaining[line_id] -= take
                    wanted -= take
                    items.append(BCShipmentItemWrite(order_product_id=int(line_id), quantity=take))
                if wanted > 0:
                    if not candidates:
                        ctx.warn(f"shipment line {sku or item.source_line_id!r}: no target line with this SKU")
                    else:
                        ctx.warn(f"shipment line {sku!r}: {wanted} more than the target has left to ship")
            target_address = current.shipping_address
            address_id = int(target_address.source_address_id) if target_address and \
                target_address.source_address_id and target_address.source_address_id.isdigit() else None
        provider, tracking_carrier = _carrier_fields(shipment.carrier)
        values: dict[str, Any] = {"order_address_id": address_id, "items": items, "shipping_provider": provider}
        if shipment.tracking_number:
            values["tracking_number"] = shipment.tracking_number[:50]
        if tracking_carrier:
            values["tracking_carrier"] = tracking_carrier
        if shipment.tracking_url:
            values["tracking_link"] = shipment.tracking_url[:500]
        if _comments(shipment):
            values["comments"] = _comments(shipment)
        return BCShipmentCreate.model_validate(values)

    def shipment_update_payload(self, shipment: Shipment, ctx: TargetContext) -> BCShipmentUpdate | None:
        """``PUT …/shipments/{id}`` with changed tracking, or ``None`` when the target already has it."""
        provider, tracking_carrier = _carrier_fields(shipment.carrier)
        wanted = {
            "tracking_number": shipment.tracking_number or "",
            "shipping_provider": provider,
            "tracking_carrier": tracking_carrier or "",
            "tracking_link": shipment.tracking_url or "",
            "comments": _comments(shipment),
        }
        target = self._matching_shipment(shipment, ctx)
        if target is not None:
            t_provider, t_carrier = _carrier_fields(target.carrier)
            have = {
                "tracking_number": target.tracking_number or "",
                "shipping_provider": t_provider,
                "tracking_carrier": t_carrier or "",
                "tracking_link": target.tracking_url or "",
                "comments": target.comment or "",
            }
            if not shipment.tracking_url:
                have["tracking_link"] = ""  # a generated link on the target is not a difference
            if not wanted["comments"]:
                have["comments"] = ""
            changed = {k: v for k, v in wanted.items() if have[k] != v}
            if not changed:
                return None
            return BCShipmentUpdate.model_validate(changed)
        return BCShipmentUpdate.model_validate({k: v for k, v in wanted.items() if v or k == "shipping_provider"})

    @staticmethod
    def _matching_shipment(shipment: Shipment, ctx: TargetContext) -> Shipment | None:
        current = ctx.current
        if current is None or not current.shipments:
            return None
        if shipment.tracking_number:
            for candidate in current.shipments:
                if candidate.tracking_number == shipment.tracking_number:
                    return candidate
        if len(current.shipments) == 1:
            return current.shipments[0]
        return None

    def cancel_payload(self, order: NeutralOrder, ctx: TargetContext) -> BCOrderUpdate | None:
        """``PUT /v2/orders/{id}`` ``{"status_id": 5}``; ``None`` when the target is already cancelled."""
        if ctx.current is not None and ctx.current.raw_status.code == "5":
            return None
        return BCOrderUpdate(status_id=5)

    def calls(self, payload: WriteModel) -> list[Call]:
        """The HTTP calls a BigCommerce write model becomes."""
        body = payload.body()
        if isinstance(payload, BCOrderCreate):
            return [Call("POST", "/v2/orders", body, "create the order (201)")]
        if isinstance(payload, BCOrderUpdate):
            purpose = "cancel the order" if body == {"status_id": 5} else "update the order"
            return [Call("PUT", "/v2/orders/{order_id}", body, purpose)]
        if isinstance(payload, BCShipmentCreate):
            body.setdefault("shipping_provider", "")
            return [Call("POST", "/v2/orders/{order_id}/shipments", body, "create a shipment (201)")]
        if isinstance(payload, BCShipmentUpdate):
            return [Call("PUT", "/v2/orders/{order_id}/shipments/{shipment_id}", body, "update tracking")]
        raise TypeError(f"not a BigCommerce write model: {type(payload).__name__}")

    # -- render
    def render(self, order: NeutralOrder) -> dict[str, Any]:
        """``order`` as BigCommerce returns it: the bundle ``{order, products, shipping_addresses,
        shipments, coupons}`` with 4-decimal money strings, RFC 2822 dates and link objects."""
        return _render(order, STATUSES)


@dataclass
class _Ids:
    """The integer ids a rendered order uses, derived once from the neutral ids."""

    order: int
    lines: dict[str, int]
    addresses: list[Address]
    address_ids: list[int]

    @classmethod
    def of(cls, order: NeutralOrder) -> _Ids:
        lines: dict[str, int] = {}
        for index, line in enumerate(order.lines):
            if line.source_line_id:
                lines.setdefault(line.source_line_id, _int_id(line.source_line_id, index + 1))
        addresses = order.shipping_addresses or ([order.shipping_address] if order.shipping_address else [])
        address_ids = [_int_id(a.source_address_id, index + 1) for index, a in enumerate(addresses)]
        return cls(_int_id(order.source.id, 1), lines, addresses, address_ids)

    @property
    def first_address(self) -> int:
        return self.address_ids[0] if self.address_ids else 0

    def link(self, name: str) -> dict[str, str]:
        """A sub-resource link object as BigCommerce writes it."""
        resource = f"/orders/{self.order}/{name}"
        return {"url": f"https://api.bigcommerce.com/stores/{{store_hash}}/v2{resource}", "resource": resource}


def _render(order: NeutralOrder, table: StatusTable) -> dict[str, Any]:
    """The bundle: order body, products, shipping addresses, shipments and coupons, with the kept extras."""
    ids = _Ids.of(order)
    extra = order.extra.get(PLATFORM, {})
    sub_extras = {key: value for key, value in extra.items() if key.startswith("@")}
    by_line = order.shipped_quantities()
    shipped = [_line_shipped(line, by_line) for line in order.lines]
    products = [_render_product(line, index, count, ids) for index, (line, count) in enumerate(
        zip(order.lines, shipped, strict=True))]
    items_shipped = sum(shipped)
    body = _render_order(order, table, ids, items_shipped)
    body.update({key: value for key, value in extra.items() if not key.startswith("@")})
    if isinstance(sub_extras.get("@billing_address"), dict):
        body["billing_address"].update(sub_extras["@billing_address"])
    sku_product = {line.sku: row["product_id"] for line, row in zip(order.lines, products, strict=True) if line.sku}
    bundle: dict[str, Any] = {
        "order": body,
        "products": products,
        "shipping_addresses": _render_shipping_addresses(order, ids, items_shipped,
                                                         sub_extras.get("@shipping_addresses") or {}),
        "shipments": _render_shipments(order, ids, sku_product, sub_extras.get("@shipments") or {}),
        "coupons": _render_coupons(order, ids, sub_extras.get("@coupons")),
    }
    for key, value in sub_extras.items():
        name = key[1:]
        if name not in ("billing_address", "shipping_addresses", "shipments", "coupons") and name not in bundle:
            bundle[name] = value
    return bundle


def _line_shipped(line: Line, by_line: Mapping[str, int]) -> int:
    """Units of a line shipped: as the line says, else as its shipments say."""
    if line.quantity_shipped is not None:
        return line.quantity_shipped
    return by_line.get(line.source_line_id or "", 0) or by_line.get(line.sku or "", 0)


def _render_product(line: Line, index: int, shipped: int, ids: _Ids) -> dict[str, Any]:
    """One line as a ``/products`` row (4-decimal money strings), its kept extras over it."""
    pid = ids.lines.get(line.source_line_id or "", index + 1)
    quantity, tax, price_ex = line.quantity, line.tax_amount, line.unit_price
    price_inc = line.unit_price_incl_tax
    if price_inc is None:
        price_inc = price_ex + (tax / quantity if tax and quantity else _ZERO)
    discount = line.discount_amount or _ZERO
    total = line.total if line.total is not None else price_inc * quantity - discount
    total_ex = (line.total_excl_tax + discount) if line.total_excl_tax is not None else price_ex * quantity
    total_inc = total + discount
    if tax is None:
        tax = total_inc - total_ex
    name = line.name or line.sku or ""
    zero = "0.0000"
    row: dict[str, Any] = {
        "id": pid, "order_id": ids.order, "product_id": _int_id(line.product_ref, 0) if line.product_ref else 0,
        "variant_id": _int_id(line.variant_ref, 0) if line.variant_ref else None,
        "order_pickup_method_id": 0, "order_address_id": ids.first_address,
        "name": name, "name_customer": name, "name_merchant": name, "sku": line.sku or "", "upc": "",
        "type": "physical", "base_price": _money4(price_ex), "price_ex_tax": _money4(price_ex),
        "price_inc_tax": _money4(price_inc), "price_tax": _money4(price_inc - price_ex),
        "base_total": _money4(total_ex), "total_ex_tax": _money4(total_ex), "total_inc_tax": _money4(total_inc),
        "total_tax": _money4(tax), "weight": zero, "quantity": quantity,
        "base_cost_price": zero, "cost_price_inc_tax": zero, "cost_price_ex_tax": zero,
        "cost_price_tax": zero, "is_refunded": bool(line.quantity_refunded),
        "quantity_refunded": line.quantity_refunded or 0, "refund_amount": zero, "return_id": 0,
        "wrapping_name": "", "base_wrapping_cost": zero, "wrapping_cost_ex_tax": zero,
        "wrapping_cost_inc_tax": zero, "wrapping_cost_tax": zero, "wrapping_message": "",
        "quantity_shipped": shipped, "event_name": None, "event_date": None,
        "fixed_shipping_cost": zero, "ebay_item_id": "", "ebay_transaction_id": "", "option_set_id": None,
        "parent_order_product_id": ids.lines.get(line.parent_line_id) if line.parent_line_id else None,
        "is_bundled_product": bool(line.parent_line_id), "bin_picking_number": "", "external_id": None,
        "fulfillment_source": "", "brand": "", "gift_certificate_id": None,
        "applied_discounts": [{"id": "ordersync", "amount": _money4(discount), "name": "Discount", "code": None,
                               "target": "product"}] if discount else [],
        "product_options": [_render_option(option, position, pid) for position, option in enumerate(line.options)],
        "configurable_fields": [],
        "discounted_total_inc_tax": _money4(total),
    }
    row.update(line.extra)
    return row


def _render_option(option: LineOption, position: int, pid: int) -> dict[str, Any]:
    """A chosen option as a ``product_options`` row."""
    number = position + 1
    return {"id": number, "option_id": number, "order_product_id": pid, "product_option_id": number,
            "display_name": option.name, "display_name_customer": option.name,
            "display_name_merchant": option.name, "display_value": option.value,
            "display_value_customer": option.value, "display_value_merchant": option.value,
            "value": option.value, "type": "Multiple choice", "name": option.name, "display_style": ""}


def _render_status(order: NeutralOrder, table: StatusTable) -> tuple[str, str]:
    """``(status_id, payment_status)``: BigCommerce's own codes while they still say the same."""
    raw = order.raw_status
    own = raw.platform == PLATFORM
    code = None
    if own and raw.code is not None:
        # Keep BigCommerce's own code (e.g. 9 Awaiting Shipment) while it still says the same status;
        # payment comes from payment_status and fulfillment from the shipped quantities anyway.
        inbound = table.inbound_for("order", raw.code)
        if inbound is not None and (order.status == "archived" or inbound.status == order.status):
            code = raw.code
    if code is None:
        code = _status_code(order, table) or (raw.code if own and raw.code else "1")
    if own and raw.payment_code is not None:
        known = table.inbound_for("payment", raw.payment_code.lower())
        if known is not None and known.payment_status == order.payment_status:
            return code, raw.payment_code
    by_status = table.inbound_for("order", code)
    if own and raw.payment_code is None and by_status is not None and (
            by_status.payment_status or "unpaid") == order.payment_status:
        return code, ""  # BigCommerce left payment_status empty and the status said it all
    return code, table.outbound_for("payment", order.status, order.payment_status, order.fulfillment_status) or ""


def _fee_amounts(fee: Fee | None) -> tuple[str, str, str]:
    """``(ex, inc, tax)`` of a handling or wrapping fee as money strings."""
    if fee is None:
        return "0.0000", "0.0000", "0.0000"
    inc = fee.amount_incl_tax if fee.amount_incl_tax is not None else fee.amount
    return _money4(fee.amount), _money4(inc), _money4(inc - fee.amount)


def _shipping_charge(order: NeutralOrder) -> tuple[Decimal, Decimal, Decimal]:
    """``(ex, inc, tax)`` of the shipping charge, each derived from the others when not given."""
    shipping = order.shipping
    ex = shipping.amount if shipping.amount is not None else (order.totals.shipping or _ZERO)
    inc = shipping.amount_incl_tax if shipping.amount_incl_tax is not None else ex + (shipping.tax_amount or _ZERO)
    tax = shipping.tax_amount if shipping.tax_amount is not None else inc - ex
    return ex, inc, tax


def _render_money(order: NeutralOrder) -> dict[str, Any]:
    """The order body's money fields (subtotals, shipping, handling, wrapping, totals, discounts)."""
    totals = order.totals
    subtotal_ex = totals.subtotal if totals.subtotal is not None else sum(
        (line.unit_price * line.quantity for line in order.lines), _ZERO)
    subtotal_inc = totals.subtotal_incl_tax if totals.subtotal_incl_tax is not None else subtotal_ex + sum(
        (line.tax_amount or _ZERO for line in order.lines), _ZERO)
    ship_ex, ship_inc, ship_tax = _shipping_charge(order)
    h_ex, h_inc, h_tax = _fee_amounts(next((f for f in order.fees if f.kind == "handling"), None))
    w_ex, w_inc, w_tax = _fee_amounts(next((f for f in order.fees if f.kind == "wrapping"), None))
    coupon_total = sum((d.amount for d in order.discounts if d.code), _ZERO)
    discount_total = totals.discount if totals.discount is not None else sum(
        (d.amount for d in order.discounts), _ZERO)
    tax = totals.tax if totals.tax is not None else _ZERO
    return {
        "subtotal_ex_tax": _money4(subtotal_ex), "subtotal_inc_tax": _money4(subtotal_inc),
        "subtotal_tax": _money4(subtotal_inc - subtotal_ex),
        "base_shipping_cost": _money4(ship_ex), "shipping_cost_ex_tax": _money4(ship_ex),
        "shipping_cost_inc_tax": _money4(ship_inc), "shipping_cost_tax": _money4(ship_tax),
        "shipping_cost_tax_class_id": 0,
        "base_handling_cost": h_ex, "handling_cost_ex_tax": h_ex, "handling_cost_inc_tax": h_inc,
        "handling_cost_tax": h_tax, "handling_cost_tax_class_id": 0,
        "base_wrapping_cost": w_ex, "wrapping_cost_ex_tax": w_ex, "wrapping_cost_inc_tax": w_inc,
        "wrapping_cost_tax": w_tax, "wrapping_cost_tax_class_id": 0,
        "total_ex_tax": _money4(totals.grand_total - tax), "total_inc_tax": _money4(totals.grand_total),
        "total_tax": _money4(tax),
        "refunded_amount": _money4(totals.refunded),
        "store_credit_amount": "0.0000", "gift_certificate_amount": "0.0000",
        "discount_amount": _money4(max(discount_total - coupon_total, _ZERO)),
        "coupon_discount": _money4(coupon_total),
    }


def _render_order(order: NeutralOrder, table: StatusTable, ids: _Ids, items_shipped: int) -> dict[str, Any]:
    """The order body as ``GET /v2/orders/{id}`` returns it (sub-resources as link objects)."""
    code, payment_code = _render_status(order, table)
    label = table.label("order", code) or (order.raw_status.label or "")
    customer = order.customer
    body: dict[str, Any] = {
        "id": ids.order,
        "customer_id": _int_id(customer.id, 0) if customer.id else 0,
        "date_created": format_rfc2822(order.created_at),
        "is_tax_inclusive_pricing": order.prices_include_tax,
        "date_modified": format_rfc2822(order.updated_at or order.created_at),
        "date_shipped": _date_shipped(order),
        "status_id": int(code) if code.isdigit() else code,
        "status": label,
        **_render_money(order),
        "items_total": sum(line.quantity for line in order.lines),
        "items_shipped": items_shipped,
        "payment_method": order.payment.method_name or order.payment.method_code or "",
        "payment_provider_id": order.payment.transaction_id,
        "payment_status": payment_code,
        "order_is_digital": False,
        "ip_address": "", "ip_address_v6": "", "geoip_country": "", "geoip_country_iso2": "",
        "currency_id": 1, "currency_code": order.currency, "currency_exchange_rate": "1.0000000000",
        "default_currency_id": 1, "default_currency_code": order.currency,
        "staff_notes": order.notes.staff,
        "customer_message": order.notes.customer,
        "shipping_address_count": len(ids.addresses),
        "is_deleted": order.status == "archived",
        "ebay_order_id": "0",
        "cart_id": None,
        "billing_address": {**_address_dict(order.billing_address, customer.email), "form_fields": []},
        "fees": ids.link("fees"),
        "is_email_opt_in": False,
        "credit_card_type": None,
        "order_source": "external",
        "channel_id": 1,
        "external_source": REFERENCE_SOURCE if order.mirror_of else None,
        "consignments": ids.link("consignments"),
        "products": ids.link("products"),
        "shipping_addresses": ids.link("shipping_addresses"),
        "coupons": ids.link("coupons"),
        "external_id": None,
        "external_merchant_id": None,
        "tax_provider_id": "",
        "customer_locale": customer.locale or "",
        "external_order_id": order.mirror_of or "",
        "store_default_currency_code": order.currency,
        "store_default_to_transactional_exchange_rate": "1.0000000000",
        "custom_status": label,
    }
    return body


def _date_shipped(order: NeutralOrder) -> str:
    """``""`` until the order is shipped; then the last shipment's date."""
    if order.fulfillment_status in ("shipped", "delivered") and order.shipments:
        last = max((s.shipped_at for s in order.shipments if s.shipped_at), default=None)
        if last is not None:
            return format_rfc2822(last)
    return ""


def _render_shipping_addresses(order: NeutralOrder, ids: _Ids, items_shipped: int,
                               kept: Any) -> list[dict[str, Any]]:
    """The ``/shipping_addresses`` rows; the first carries the items and the shipping charge."""
    ship_ex, ship_inc, ship_tax = _shipping_charge(order)
    items_total = sum(line.quantity for line in order.lines)
    rows = []
    for index, (address, aid) in enumerate(zip(ids.addresses, ids.address_ids, strict=True)):
        first = index == 0
        zero = "0.0000"
        row = {
            "id": aid, "order_id": ids.order, **_address_dict(address, order.customer.email),
            "items_total": items_total if first else 0,
            "items_shipped": items_shipped if first else 0,
            "shipping_method": (order.shipping.method_name or "None") if first else "None",
            "base_cost": _money4(ship_ex if first else _ZERO),
            "cost_ex_tax": _money4(ship_ex if first else _ZERO),
            "cost_inc_tax": _money4(ship_inc if first else _ZERO),
            "cost_tax": _money4(ship_tax if first else _ZERO),
            "cost_tax_class_id": 0, "base_handling_cost": zero, "handling_cost_ex_tax": zero,
            "handling_cost_inc_tax": zero, "handling_cost_tax": zero, "handling_cost_tax_class_id": 0,
            "shipping_zone_id": 1, "shipping_zone_name": "",
            "shipping_quotes": ids.link(f"shipping_addresses/{aid}/shipping_quotes"),
            "form_fields": [],
        }
        more = kept.get(str(aid)) if isinstance(kept, dict) else None
        if isinstance(more, dict):
            row.update(more)
        rows.append(row)
    return rows


def _render_shipments(order: NeutralOrder, ids: _Ids, sku_product: Mapping[str, int],
                      kept: Any) -> list[dict[str, Any]]:
    """The ``/shipments`` rows, items by the rendered product ids."""
    email, billing = order.customer.email, order.billing_address
    rows = []
    for index, shipment in enumerate(order.shipments):
        sid = _int_id(shipment.source_shipment_id, index + 1)
        provider, tracking_carrier = _carrier_fields(shipment.carrier)
        row = {
            "id": sid, "order_id": ids.order, "customer_id": _int_id(order.customer.id, 0) if order.customer.id else 0,
            "order_address_id": ids.first_address,
            "date_created": format_rfc2822(shipment.shipped_at or order.updated_at or order.created_at),
            "tracking_number": shipment.tracking_number or "", "merchant_shipping_cost": "0.0000",
            "shipping_method": "None", "comments": shipment.comment or "", "shipping_provider": provider,
            "tracking_carrier": tracking_carrier or "", "tracking_link": shipment.tracking_url or "",
            "billing_address": _address_dict(billing, email),
            "shipping_address": _address_dict(ids.addresses[0] if ids.addresses else billing, email),
            "items": [
                {"order_product_id": ids.lines.get(item.source_line_id or "", _int_id(item.source_line_id, 0)),
                 "product_id": sku_product.get(item.sku or "", 0), "quantity": item.quantity}
                for item in shipment.lines
            ],
            "shipping_provider_display_name": provider.upper() if provider else "",
            "generated_tracking_link": "",
        }
        more = kept.get(str(sid)) if isinstance(kept, dict) else None
        if isinstance(more, dict):
            row.update(more)
        rows.append(row)
    return rows


def _render_coupons(order: NeutralOrder, ids: _Ids, kept: Any) -> list[Any]:
    """The kept ``/coupons`` rows, else one row per discount with a code."""
    if isinstance(kept, list):
        return kept
    coded = [d for d in order.discounts if d.code]
    return [{"id": index + 1, "coupon_id": index + 1, "order_id": ids.order, "code": d.code,
             "amount": _money4(d.amount), "type": 2, "discount": _money4(d.amount)}
            for index, d in enumerate(coded)]


def _address_dict(address: Address | None, email: str | None) -> dict[str, Any]:
    if address is None:
        return {"first_name": "", "last_name": "", "company": "", "street_1": "", "street_2": "", "city": "",
                "state": "", "zip": "", "country": "", "country_iso2": "", "phone": "", "email": email or ""}
    return {
        "first_name": address.first_name or "", "last_name": address.last_name or "",
        "company": address.company or "", "street_1": address.line1 or "", "street_2": address.line2 or "",
        "city": address.city or "", "state": address.region or address.region_code or "",
        "zip": address.postal_code or "",
        "country": address.country or _COUNTRY_NAMES.get(address.country_code or "", ""),
        "country_iso2": address.country_code or "", "phone": address.phone or "",
        "email": address.email or email or "",
    }


MAPPING = BigCommerceMapping()
"""The BigCommerce mapping (``mappings.mapping_for("bigcommerce")``)."""


def to_neutral(payload: Any, **kw: Any) -> NeutralOrder:
    """Read a BigCommerce bundle (or bare order) into a neutral order (``store=``, ``statuses=``)."""
    return MAPPING.to_neutral(payload, **kw)


def from_neutral(order: NeutralOrder, ctx: TargetContext | None = None,
                 operation: str = "create") -> WriteModel | None:
    """The BigCommerce write model for one operation (``create``, ``status``, ``cancel``)."""
    ctx = ctx or TargetContext()
    if operation == "create":
        return MAPPING.create_payload(order, ctx)
    if operation == "status":
        return MAPPING.status_payload(order, ctx)
    if operation == "cancel":
        return MAPPING.cancel_payload(order, ctx)
    raise ValueError(f"unknown operation {operation!r} (create, status or cancel)")

"""A BigCommerce store in memory: Orders V2, the bits of Catalog V3 and hooks V3 ordersync uses.

Served under ``/stores/{store_hash}/v2/...`` and ``/stores/{store_hash}/v3/...`` with BigCommerce's
paths, status codes, error bodies (V2: ``[{"status", "message"}]``; V3: ``{"status", "title",
"type", "errors"}``), envelopes, filters and field formats (money as 4-decimal strings, RFC 2822
dates, ``date_shipped: ""``, link objects for sub-resources, 204 for empty lists). Authentication
is ``X-Auth-Token``; every answer carries ``X-Rate-Limit-*`` headers from a 150 requests / 30 s
window (429 with ``X-Retry-After`` past it).

Handlers are O(1) or O(page) for the paths a poller hits (order, sub-resources, list pages sorted
by id or date_modified with a ``min_*`` bound), so a benchmark can read thousands of orders.
Deviations from the real API are listed in ``docs/platforms/bigcommerce.md``.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import contextlib
import hashlib
import hmac
import random
import time
import zlib
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any, ClassVar

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from simulators import FaultConfig, SimulatorBase, json_response
from simulators.app import WindowState, ceil_seconds, read_json, store_currency
from simulators.catalog import DEMO_PRODUCTS, CatalogItem, Shopper, fake_shopper

__all__ = ["STATUS_NAMES", "Simulator"]

STATUS_NAMES: dict[int, str] = {
    0: "Incomplete", 1: "Pending", 2: "Shipped", 3: "Partially Shipped", 4: "Refunded", 5: "Cancelled",
    6: "Declined", 7: "Awaiting Payment", 8: "Awaiting Pickup", 9: "Awaiting Shipment", 10: "Completed",
    11: "Awaiting Fulfillment", 12: "Manual Verification Required", 13: "Disputed", 14: "Partially Refunded",
}
_STATUS_ORDER = {0: 0, 1: 1, 7: 2, 11: 3, 9: 4, 8: 5, 3: 6, 10: 7, 2: 8, 5: 9, 6: 10, 4: 11, 13: 12, 12: 13, 14: 14}
_STATUS_TEXT = {
    0: "Checkout reached payment but was not finished.",
    1: "Order placed; nothing done with it yet.",
    2: "Every item has been shipped.",
    3: "Some items have been shipped.",
    4: "The order has been refunded.",
    5: "The order was cancelled by the merchant.",
    6: "The order was declined (e.g. payment not received).",
    7: "Checkout finished; payment not confirmed yet.",
    8: "Packed and waiting for the customer to collect it.",
    9: "Packed and waiting for the carrier.",
    10: "The order is done.",
    11: "Paid and ready to be picked and shipped.",
    12: "Held until someone checks it by hand.",
    13: "The customer opened a payment dispute.",
    14: "Part of the order has been refunded.",
}
_PROVIDER_NAMES = {"usps": "USPS", "ups": "UPS", "fedex": "FedEx", "auspost": "Australia Post",
                   "canadapost": "Canada Post", "royalmail": "Royal Mail", "endicia": "Endicia",
                   "upsready": "UPS Ready", "upsonline": "UPS Online", "shipperhq": "ShipperHQ"}
_TRACKING_URLS = {"usps": "https://tools.usps.com/go/TrackConfirmAction?tLabels={}",
                  "ups": "https://www.ups.com/track?tracknum={}",
                  "fedex": "https://www.fedex.com/fedextrack/?trknbr={}"}
_PAID_STATUSES = frozenset({2, 3, 8, 9, 10, 11, 13, 14})
_ZERO = Decimal(0)
_CENT = Decimal("0.01")
_V3_TYPE = "https://developer.bigcommerce.com/api-docs/getting-started/api-status-codes"

_LIST_FILTERS = frozenset({
    "min_id", "max_id", "min_total", "max_total", "customer_id", "email", "status_id", "cart_id", "payment_method",
    "min_date_created", "max_date_created", "min_date_modified", "max_date_modified", "channel_id",
    "external_order_id", "is_deleted", "include", "consignment_structure", "page", "limit", "sort",
})
_SORTS = frozenset({"id", "customer_id", "date_created", "date_modified", "status_id", "channel_id", "external_id"})
_ADDRESS_FIELDS = frozenset({"first_name", "last_name", "company", "street_1", "street_2", "city", "state", "zip",
                             "country", "country_iso2", "phone", "email", "form_fields"})
_CREATE_FIELDS = frozenset({
    "customer_id", "status_id", "date_created", "billing_address", "shipping_addresses", "products",
    "external_order_id", "external_source", "external_merchant_id", "staff_notes", "customer_message",
    "discount_amount", "base_shipping_cost", "shipping_cost_ex_tax", "shipping_cost_inc_tax", "base_handling_cost",
    "handling_cost_ex_tax", "handling_cost_inc_tax", "base_wrapping_cost", "wrapping_cost_ex_tax",
    "wrapping_cost_inc_tax", "subtotal_ex_tax", "subtotal_inc_tax", "total_ex_tax", "total_inc_tax",
    "payment_method", "payment_provider_id", "refunded_amount", "order_is_digital", "ip_address", "ip_address_v6",
    "geoip_country", "geoip_country_iso2", "customer_locale", "channel_id", "tax_provider_id", "fees",
    "default_currency_code", "items_total", "consignments", "ebay_order_id",
})
_UPDATE_FIELDS = frozenset({
    "customer_id", "products", "shipping_addresses",
    "status_id", "staff_notes", "customer_message", "external_order_id", "external_source", "billing_address",
    "payment_method", "payment_provider_id", "discount_amount", "customer_locale", "is_deleted", "date_created",
})
_PRODUCT_FIELDS = frozenset({"product_id", "variant_id", "product_options", "quantity", "name", "name_customer",
                             "name_merchant", "sku", "upc", "price_ex_tax", "price_inc_tax", "wrapping_id",
                             "wrapping_message", "event_name", "event_date"})
_SHIPPING_ADDRESS_FIELDS = _ADDRESS_FIELDS | {"shipping_method"}
_SHIPMENT_FIELDS = frozenset({"order_address_id", "items", "tracking_number", "tracking_link", "shipping_provider",
                              "tracking_carrier", "shipping_method", "comments", "merchant_shipping_cost"})
_SHIPMENT_READ_ONLY = frozenset({"id", "order_id", "customer_id", "date_created", "billing_address",
                                 "shipping_address", "shipping_provider_display_name", "generated_tracking_link"})
_STATE_TAX = {"CA": Decimal("0.0725"), "TX": Decimal("0.0625"), "NY": Decimal("0.08875"), "MA": Decimal("0.0625")}
_SEED_BASE = datetime(2026, 11, 1, tzinfo=UTC)

# Constants from ../shared/platforms/bigcommerce.md, written here on purpose: the simulator shares no
# code with connectors/bigcommerce, so a misreading of the platform is not made identically on both sides.
_READ_ONLY_ORDER_FIELDS = frozenset({  # §4 "Read-only (including them → 400 ...)" plus fields only BC computes
    "id", "date_modified", "date_shipped", "status", "order_source", "cart_id", "subtotal_tax",
    "shipping_cost_tax", "shipping_cost_tax_class_id", "handling_cost_tax", "handling_cost_tax_class_id",
    "wrapping_cost_tax", "wrapping_cost_tax_class_id", "total_tax", "payment_status", "currency_id",
    "currency_code", "currency_exchange_rate", "default_currency_id", "coupon_discount", "store_credit_amount",
    "gift_certificate_amount", "shipping_address_count", "is_deleted", "coupons", "external_id",
    "is_email_opt_in", "custom_status", "items_shipped", "store_default_currency_code",
    "store_default_to_transactional_exchange_rate",
})
_SHIPPING_PROVIDERS = frozenset({  # §2 shipments: shipping_provider values (besides "" and carrier_{id})
    "auspost", "canadapost", "endicia", "usps", "fedex", "royalmail", "ups", "upsready", "upsonline", "shipperhq",
})
_HOST_MARKER = "https://api.bigcommerce.com"
"""Link objects are stored with this host and rewritten to the host that serves each answer."""
_LINE_ITEMS_CAP = 50
"""Line items embedded per consignment (``include=consignments.line_items``) before ``__warning__``."""
_LINE_ITEMS_WARNING = ("Not all line items of this consignment are returned with this response, only 50 are "
                       "included. Please use the `/v2/orders/{order_id}/products` endpoint to fetch all line items.")
_V3_PAGE_CAP = 250
"""Catalog V3's largest page: "The maximum number of products returned is 250" (REST overview)."""
_INCLUDES = frozenset({"consignments", "consignments.line_items", "fees"})
_SECRET_HEADER = "X-Ordersync-Secret"
"""The custom header a hook is registered with (§6 ``headers``); a store sends it on every callback."""


def _rfc2822(moment: datetime) -> str:
    """``Tue, 05 Mar 2019 21:40:11 +0000``: BigCommerce's date format, always UTC (§1.2)."""
    return format_datetime(moment.astimezone(UTC))


def _parse_filter_date(value: Any) -> datetime:
    """A list filter or writable date: RFC 2822 or ISO 8601 (§1.2); a naive time is UTC."""
    text = str(value).strip()
    if not text:
        raise ValueError("empty date")
    if text.isdigit():
        return datetime.fromtimestamp(int(text), UTC)
    if text[0].isalpha():
        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            raise ValueError(f"{text!r} is not an RFC 2822 date") from None
    else:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _standard_webhook_headers(raw: bytes, client_secret: str) -> dict[str, str]:
    """Standard Webhooks headers (§6): ``webhook-signature: v1,<base64 HMAC-SHA256("id.timestamp.body")>``,
    keyed by the app's client secret (``whsec_<base64>`` decoded, else its bytes)."""
    key = client_secret.encode()
    if client_secret.startswith("whsec_"):
        with contextlib.suppress(binascii.Error, ValueError):
            key = base64.b64decode(client_secret.removeprefix("whsec_"), validate=True)
    msg_id = "msg_" + hashlib.sha256(raw).hexdigest()[:24]
    stamp = str(int(time.time()))
    mac = hmac.new(key, b".".join((msg_id.encode(), stamp.encode(), raw)), hashlib.sha256).digest()
    signature = "v1," + base64.b64encode(mac).decode()
    return {"webhook-id": msg_id, "webhook-timestamp": stamp, "webhook-signature": signature}


class _Invalid(Exception):
    """A request BigCommerce refuses: status and message for the error body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _cannot_write(name: str) -> _Invalid:
    return _Invalid(400, f"The field '{name}' cannot be written to. Please remove it from your request before "
                         "trying again.")


def _not_supported(name: str) -> _Invalid:
    return _Invalid(400, f"The field '{name}' is not supported by this resource.")


def _invalid(name: str) -> _Invalid:
    return _Invalid(400, f"The field '{name}' is invalid.")


def _m4(value: Decimal) -> str:
    return f"{value:.4f}"


def _dec(value: Any, name: str) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise _invalid(name)
    try:
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value).strip())
    except InvalidOperation:
        raise _invalid(name) from None
    if not number.is_finite():
        raise _invalid(name)
    return number


def _int(value: Any, name: str, *, minimum: int | None = None) -> int:
    if isinstance(value, bool):
        raise _invalid(name)
    try:
        number = int(value) if isinstance(value, int) else int(str(value).strip())
    except ValueError:
        raise _invalid(name) from None
    if minimum is not None and number < minimum:
        raise _invalid(name)
    return number


def _rfc(ts: int) -> str:
    return _rfc2822(datetime.fromtimestamp(ts, UTC))


def _is_json(content_type: str | None) -> bool:
    """Whether a request's ``Content-Type`` is JSON (a POST or PUT with anything else gets 415, §4)."""
    return (content_type or "").split(";")[0].strip().lower() == "application/json"


def _rehost(response: Response, request: Request) -> Response:
    """Link objects' ``url`` pointing at the host that served the answer, as the real API's do (a client
    that follows ``url`` stays on the simulator)."""
    body = bytes(response.body) if response.media_type == "application/json" else b""
    marker = _HOST_MARKER.encode()
    if marker not in body:
        return response
    host = str(request.base_url).rstrip("/").encode()
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
    return Response(body.replace(marker, host), status_code=response.status_code, headers=headers,
                    media_type=response.media_type)


def _round_cent(value: Decimal) -> Decimal:
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


@dataclass
class _Variant:
    id: int
    product_id: int
    sku: str
    price: Decimal
    weight: Decimal
    stock: int
    option_values: list[dict[str, Any]]


@dataclass
class _Product:
    id: int
    name: str
    sku: str
    price: Decimal
    weight: Decimal
    variants: list[_Variant]
    option: dict[str, Any] | None = None


@dataclass
class _Line:
    """A line being created: catalog variant (or custom), quantity, unit prices."""

    product: _Product | None
    variant: _Variant | None
    name: str
    sku: str
    quantity: int
    price_ex: Decimal
    price_inc: Decimal
    options: list[dict[str, Any]] = field(default_factory=list)
    address_index: int = 0


@dataclass
class _Order:
    id: int
    data: dict[str, Any]
    products: list[dict[str, Any]]
    addresses: list[dict[str, Any]]
    coupons: list[dict[str, Any]]
    shipments: dict[int, dict[str, Any]] = field(default_factory=dict)
    fees: list[dict[str, Any]] = field(default_factory=list)
    created_ts: int = 0
    modified_ts: int = 0


class Simulator(SimulatorBase):
    """An in-memory BigCommerce store (see the module docstring)."""

    platform: ClassVar[str] = "bigcommerce"
    default_rate_limit: ClassVar[tuple[int, float] | None] = (150, 30.0)

    def __init__(self, *, orders: int = 0, seed: int = 0, faults: FaultConfig | None = None,
                 rate_limit: tuple[int, float] | bool | None = True, credentials: dict[str, str] | None = None,
                 store_hash: str = "simstore", currency: str | None = None) -> None:
        super().__init__(faults=faults, rate_limit=rate_limit)
        self.store_hash = store_hash
        self.store_id = str(1000000 + (zlib.crc32(store_hash.encode()) % 8999999))
        self.token = (credentials or {}).get("token", "sim-token")
        self.prefix = f"/stores/{store_hash}"
        self.api_url = f"{_HOST_MARKER}{self.prefix}/v2"
        self.currency = store_currency(currency, "USD")
        self.enforce_stock = True
        self.clock: Callable[[], float] = time.time
        self.orders: dict[int, _Order] = {}
        self.customers: dict[int, Shopper] = {}
        self.products: dict[int, _Product] = {}
        self.variants: dict[int, _Variant] = {}
        self.variants_by_sku: dict[str, _Variant] = {}
        self._order_product_of: dict[int, int] = {}
        self._by_reference: dict[str, set[int]] = {}
        self._next = {"order": 100, "line": 1, "address": 1, "shipment": 1, "coupon": 1, "hook": 1}
        self._version = 0
        self._sorted: dict[tuple[str, bool, bool], tuple[int, list[int], list[Any]]] = {}
        self.hooks: dict[int, dict[str, Any]] = {}
        self._hook_scopes: set[str] | None = None
        self._seed_catalog()
        rng = random.Random(seed)
        for customer_id in range(1, 21):
            self.customers[customer_id] = fake_shopper(rng)
        for _ in range(orders):
            self._seed_order(rng)

    # -- catalog ----------------------------------------------------------------------------------

    def _seed_catalog(self) -> None:
        grouped: dict[str, list[CatalogItem]] = {}
        for item in DEMO_PRODUCTS:
            key = item.name if item.option_name else item.sku
            grouped.setdefault(key, []).append(item)
        product_id, variant_id, option_id, value_id = 111, 201, 31, 61
        for items in grouped.values():
            first = items[0]
            option: dict[str, Any] | None = None
            variants: list[_Variant] = []
            if first.option_name:
                option = {"id": option_id, "display_name": first.option_name, "values": []}
                option_id += 1
            for item in items:
                values: list[dict[str, Any]] = []
                if option is not None:
                    value = {"id": value_id, "label": item.option_value, "option_id": option["id"],
                             "option_display_name": option["display_name"]}
                    option["values"].append(value)
                    values.append(value)
                    value_id += 1
                variant = _Variant(variant_id, product_id, item.sku, item.price, item.weight, item.stock, values)
                variant_id += 1
                variants.append(variant)
                self.variants[variant.id] = variant
                self.variants_by_sku[item.sku.upper()] = variant
            base_sku = first.sku.rsplit("-", 1)[0] if option is not None else first.sku
            self.products[product_id] = _Product(product_id, first.name, base_sku, first.price, first.weight,
                                                 variants, option)
            product_id += 1

    # -- building orders ----------------------------------------------------------------------------

    def _link(self, order_id: int, name: str) -> dict[str, str]:
        return {"url": f"{self.api_url}/orders/{order_id}/{name}", "resource": f"/orders/{order_id}/{name}"}

    def _next_id(self, kind: str) -> int:
        value = self._next[kind]
        self._next[kind] = value + 1
        return value

    @staticmethod
    def _address_json(source: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "first_name": str(source.get("first_name") or ""), "last_name": str(source.get("last_name") or ""),
            "company": str(source.get("company") or ""), "street_1": str(source.get("street_1") or ""),
            "street_2": str(source.get("street_2") or ""), "city": str(source.get("city") or ""),
            "state": str(source.get("state") or ""), "zip": str(source.get("zip") or ""),
            "country": str(source.get("country") or ""), "country_iso2": str(source.get("country_iso2") or ""),
            "phone": str(source.get("phone") or ""), "email": str(source.get("email") or ""),
        }

    def _build_order(self, *, customer_id: int, billing: Mapping[str, Any], shipping: Sequence[Mapping[str, Any]],
                     lines: list[_Line], status_id: int, created_ts: int, modified_ts: int,
                     values: Mapping[str, Any], payment_method: str, payment_status: str,
                     order_source: str = "external", coupon: tuple[str, Decimal] | None = None,
                     cart_id: str | None = None) -> _Order:
        """Create an order (ids, lines, addresses, totals) in the store; shared by POST and seeding."""
        fee_rows = [self._fee_json(fee) for fee in values.get("fees") or []]
        order_id = self._next_id("order")
        money = {key: _dec(values[key], key) for key in (
            "shipping_cost_ex_tax", "shipping_cost_inc_tax", "handling_cost_ex_tax", "handling_cost_inc_tax",
            "wrapping_cost_ex_tax", "wrapping_cost_inc_tax", "discount_amount", "subtotal_ex_tax",
            "subtotal_inc_tax", "total_ex_tax", "total_inc_tax", "base_shipping_cost", "base_handling_cost",
            "base_wrapping_cost") if values.get(key) is not None}
        ship_ex = money.get("shipping_cost_ex_tax", money.get("base_shipping_cost", _ZERO))
        ship_inc = money.get("shipping_cost_inc_tax", ship_ex)
        handling_ex = money.get("handling_cost_ex_tax", money.get("base_handling_cost", _ZERO))
        handling_inc = money.get("handling_cost_inc_tax", handling_ex)
        wrapping_ex = money.get("wrapping_cost_ex_tax", money.get("base_wrapping_cost", _ZERO))
        wrapping_inc = money.get("wrapping_cost_inc_tax", wrapping_ex)
        discount = money.get("discount_amount", _ZERO)
        addresses: list[dict[str, Any]] = []
        for index, source in enumerate(shipping or [billing]):
            address_id = self._next_id("address")
            method = str(source.get("shipping_method") or "None") if shipping else "None"
            addresses.append({
                "id": address_id, "order_id": order_id, **self._address_json(source),
                "items_total": sum(line.quantity for line in lines if line.address_index == index),
                "items_shipped": 0, "shipping_method": method,
                "base_cost": _m4(ship_ex if index == 0 else _ZERO),
                "cost_ex_tax": _m4(ship_ex if index == 0 else _ZERO),
                "cost_inc_tax": _m4(ship_inc if index == 0 else _ZERO),
                "cost_tax": _m4(ship_inc - ship_ex if index == 0 else _ZERO), "cost_tax_class_id": 0,
                "base_handling_cost": "0.0000", "handling_cost_ex_tax": "0.0000", "handling_cost_inc_tax": "0.0000",
                "handling_cost_tax": "0.0000", "handling_cost_tax_class_id": 0, "shipping_zone_id": 1,
                "shipping_zone_name": "United States",
                "shipping_quotes": self._link(order_id, f"shipping_addresses/{address_id}/shipping_quotes"),
                "form_fields": [],
            })
        subtotal_ex = sum((line.price_ex * line.quantity for line in lines), _ZERO)
        subtotal_inc = sum((line.price_inc * line.quantity for line in lines), _ZERO)
        coupon_discount = coupon[1] if coupon else _ZERO
        products: list[dict[str, Any]] = []
        remaining = coupon_discount + discount
        for index, line in enumerate(lines):
            line_id = self._next_id("line")
            share = _ZERO
            applied: list[dict[str, Any]] = []
            if remaining and subtotal_ex:
                share = remaining if index == len(lines) - 1 else _round_cent(
                    (coupon_discount + discount) * line.price_ex * line.quantity / subtotal_ex)
                share = min(share, remaining)
                remaining -= share
                if share:
                    applied.append({"id": coupon[0] if coupon else "manual-discount", "amount": _m4(share),
                                    "name": "Coupon" if coupon else "Manual Discount",
                                    "code": coupon[0] if coupon else None, "target": "order"})
            address_id = addresses[min(line.address_index, len(addresses) - 1)]["id"]
            products.append(self._line_json(order_id, line_id, line, address_id, applied, share))
            self._order_product_of[line_id] = order_id
        if "subtotal_ex_tax" in money:
            subtotal_ex, subtotal_inc = money["subtotal_ex_tax"], money["subtotal_inc_tax"]
        total_tax = (subtotal_inc - subtotal_ex) + (ship_inc - ship_ex) + (handling_inc - handling_ex) + (
            wrapping_inc - wrapping_ex)
        total_ex = subtotal_ex + ship_ex + handling_ex + wrapping_ex - discount - coupon_discount
        for fee in fee_rows:
            total_ex += Decimal(fee["cost_ex_tax"])
            total_tax += Decimal(fee["cost_tax"])
        total_inc = total_ex + total_tax
        if "total_ex_tax" in money:
            total_ex, total_inc = money["total_ex_tax"], money["total_inc_tax"]
            total_tax = total_inc - total_ex
        coupons: list[dict[str, Any]] = []
        if coupon:
            coupons.append({"id": self._next_id("coupon"), "coupon_id": 1, "order_id": order_id, "code": coupon[0],
                            "amount": 10, "type": 1, "discount": float(coupon[1])})
        status_id = status_id if status_id in STATUS_NAMES else 1
        data: dict[str, Any] = {
            "id": order_id, "customer_id": customer_id, "date_created": _rfc(created_ts),
            "is_tax_inclusive_pricing": False, "date_modified": _rfc(modified_ts),
            "date_shipped": _rfc(modified_ts) if status_id in (2, 10) else "",
            "status_id": status_id, "status": STATUS_NAMES[status_id],
            "subtotal_ex_tax": _m4(subtotal_ex), "subtotal_inc_tax": _m4(subtotal_inc),
            "subtotal_tax": _m4(subtotal_inc - subtotal_ex), "base_shipping_cost": _m4(ship_ex),
            "shipping_cost_ex_tax": _m4(ship_ex), "shipping_cost_inc_tax": _m4(ship_inc),
            "shipping_cost_tax": _m4(ship_inc - ship_ex), "shipping_cost_tax_class_id": 0,
            "base_handling_cost": _m4(handling_ex), "handling_cost_ex_tax": _m4(handling_ex),
            "handling_cost_inc_tax": _m4(handling_inc), "handling_cost_tax": _m4(handling_inc - handling_ex),
            "handling_cost_tax_class_id": 0, "base_wrapping_cost": _m4(wrapping_ex),
            "wrapping_cost_ex_tax": _m4(wrapping_ex), "wrapping_cost_inc_tax": _m4(wrapping_inc),
            "wrapping_cost_tax": _m4(wrapping_inc - wrapping_ex), "wrapping_cost_tax_class_id": 0,
            "total_ex_tax": _m4(total_ex), "total_inc_tax": _m4(total_inc), "total_tax": _m4(total_tax),
            "items_total": sum(line.quantity for line in lines), "items_shipped": 0,
            "payment_method": payment_method, "payment_provider_id": values.get("payment_provider_id"),
            "payment_status": payment_status, "refunded_amount": "0.0000", "order_is_digital": False,
            "store_credit_amount": "0.0000", "gift_certificate_amount": "0.0000",
            "ip_address": str(values.get("ip_address") or ""), "ip_address_v6": str(values.get("ip_address_v6") or ""),
            "geoip_country": "", "geoip_country_iso2": "", "currency_id": 1, "currency_code": self.currency,
            "currency_exchange_rate": "1.0000000000", "default_currency_id": 1,
            "default_currency_code": self.currency,
            "staff_notes": values.get("staff_notes"), "customer_message": values.get("customer_message"),
            "discount_amount": _m4(discount), "coupon_discount": _m4(coupon_discount),
            "shipping_address_count": len(addresses), "is_deleted": False, "ebay_order_id": "0",
            "cart_id": cart_id,
            "billing_address": {**self._address_json(billing), "form_fields": []},
            "fees": self._link(order_id, "fees"), "is_email_opt_in": False, "credit_card_type": None,
            "order_source": order_source, "channel_id": 1, "external_source": values.get("external_source"),
            "consignments": self._link(order_id, "consignments"), "products": self._link(order_id, "products"),
            "shipping_addresses": self._link(order_id, "shipping_addresses"),
            "coupons": self._link(order_id, "coupons"), "external_id": None,
            "external_merchant_id": values.get("external_merchant_id"),
            "tax_provider_id": str(values.get("tax_provider_id") or ""),
            "customer_locale": str(values.get("customer_locale") or "en"),
            "external_order_id": str(values.get("external_order_id") or ""),
            "store_default_currency_code": self.currency,
            "store_default_to_transactional_exchange_rate": "1.0000000000",
            "custom_status": STATUS_NAMES[status_id],
        }
        order = _Order(order_id, data, products, addresses, coupons, created_ts=created_ts, modified_ts=modified_ts,
                       fees=fee_rows)
        self.orders[order_id] = order
        if data["external_order_id"]:
            self._by_reference.setdefault(data["external_order_id"], set()).add(order_id)
        self._version += 1
        return order

    def _line_json(self, order_id: int, line_id: int, line: _Line, address_id: int,
                   applied: list[dict[str, Any]], share: Decimal) -> dict[str, Any]:
        """An order line as ``/orders/{id}/products`` shows it."""
        total_ex = line.price_ex * line.quantity
        total_inc = line.price_inc * line.quantity
        return {
            "id": line_id, "order_id": order_id,
            "product_id": line.product.id if line.product else 0,
            "variant_id": line.variant.id if line.variant else None,
            "order_pickup_method_id": 0, "order_address_id": address_id,
            "name": line.name, "name_customer": line.name, "name_merchant": line.name, "sku": line.sku,
            "upc": "", "type": "physical", "base_price": _m4(line.price_ex), "price_ex_tax": _m4(line.price_ex),
            "price_inc_tax": _m4(line.price_inc), "price_tax": _m4(line.price_inc - line.price_ex),
            "base_total": _m4(total_ex), "total_ex_tax": _m4(total_ex), "total_inc_tax": _m4(total_inc),
            "total_tax": _m4(total_inc - total_ex),
            "weight": _m4(line.variant.weight if line.variant else _ZERO), "width": "0.0000",
            "height": "0.0000", "depth": "0.0000", "quantity": line.quantity, "base_cost_price": "0.0000",
            "cost_price_inc_tax": "0.0000", "cost_price_ex_tax": "0.0000", "cost_price_tax": "0.0000",
            "is_refunded": False, "quantity_refunded": 0, "refund_amount": "0.0000", "return_id": 0,
            "wrapping_id": 0, "wrapping_name": "", "base_wrapping_cost": "0.0000",
            "wrapping_cost_ex_tax": "0.0000", "wrapping_cost_inc_tax": "0.0000", "wrapping_cost_tax": "0.0000",
            "wrapping_message": "", "quantity_shipped": 0, "event_name": None, "event_date": None,
            "fixed_shipping_cost": "0.0000", "ebay_item_id": "", "ebay_transaction_id": "",
            "option_set_id": None, "parent_order_product_id": None, "is_bundled_product": False,
            "bin_picking_number": "", "external_id": "", "fulfillment_source": "", "brand": "",
            "gift_certificate_id": None, "applied_discounts": applied,
            "product_options": [dict(option, order_product_id=line_id) for option in line.options],
            "configurable_fields": [], "discounted_total_inc_tax": _m4(total_inc - share),
        }

    def _touch(self, order: _Order) -> None:
        now = int(self.clock())
        order.modified_ts = max(now, order.modified_ts)
        order.data["date_modified"] = _rfc(order.modified_ts)
        self._version += 1

    def _set_status(self, order: _Order, status_id: int) -> int:
        previous = int(order.data["status_id"])
        order.data["status_id"] = status_id
        order.data["status"] = order.data["custom_status"] = STATUS_NAMES[status_id]
        if status_id in (2, 10) and not order.data["date_shipped"]:
            order.data["date_shipped"] = _rfc(int(self.clock()))
        return previous

    def _ship(self, order: _Order, address: dict[str, Any], items: list[tuple[dict[str, Any], int]],
              tracking_number: str, provider: str, values: Mapping[str, Any], ts: int) -> dict[str, Any]:
        shipment_id = self._next_id("shipment")
        link = str(values.get("tracking_link") or "")
        generated = ""
        if provider in _TRACKING_URLS and tracking_number and not link:
            generated = _TRACKING_URLS[provider].format(tracking_number)
        billing = {k: v for k, v in order.data["billing_address"].items() if k != "form_fields"}
        shipment = {
            "id": shipment_id, "order_id": order.id, "customer_id": order.data["customer_id"],
            "order_address_id": address["id"], "date_created": _rfc(ts), "tracking_number": tracking_number,
            "merchant_shipping_cost": _m4(_dec(values.get("merchant_shipping_cost", 0), "merchant_shipping_cost")),
            "shipping_method": str(values.get("shipping_method") or address.get("shipping_method") or "None"),
            "comments": str(values.get("comments") or ""), "shipping_provider": provider,
            "tracking_carrier": str(values.get("tracking_carrier") or ""), "tracking_link": link,
            "billing_address": billing,
            "shipping_address": {k: address[k] for k in ("first_name", "last_name", "company", "street_1",
                                                         "street_2", "city", "state", "zip", "country",
                                                         "country_iso2", "phone", "email")},
            "items": [{"order_product_id": product["id"], "product_id": product["product_id"], "quantity": qty}
                      for product, qty in items],
            "shipping_provider_display_name": _PROVIDER_NAMES.get(provider, ""),
            "generated_tracking_link": generated,
        }
        for product, qty in items:
            product["quantity_shipped"] += qty
            order.data["items_shipped"] += qty
            owner = next((a for a in order.addresses if a["id"] == product["order_address_id"]), address)
            owner["items_shipped"] += qty
        order.shipments[shipment_id] = shipment
        return shipment

    def _seed_order(self, rng: random.Random) -> None:
        registered = rng.random() < 0.4
        customer_id = rng.randint(1, len(self.customers)) if registered else 0
        shopper = self.customers[customer_id] if registered else fake_shopper(rng)
        billing = {"first_name": shopper.first_name, "last_name": shopper.last_name, "street_1": shopper.street,
                   "city": shopper.city, "state": shopper.region, "zip": shopper.postal_code,
                   "country": "United States", "country_iso2": shopper.country_code, "phone": shopper.phone,
                   "email": shopper.email}
        two_addresses = rng.random() < 0.05
        shipping: list[Mapping[str, Any]] = [dict(billing, shipping_method="Flat Rate")]
        if two_addresses:
            other = fake_shopper(rng)
            shipping.append({"first_name": other.first_name, "last_name": other.last_name,
                             "street_1": other.street, "city": other.city, "state": other.region,
                             "zip": other.postal_code, "country": "United States",
                             "country_iso2": other.country_code, "phone": other.phone, "email": shopper.email,
                             "shipping_method": "Flat Rate"})
        rate = _STATE_TAX.get(shopper.region_code, _ZERO)
        variants = rng.sample(list(self.variants.values()), rng.randint(1, 4))
        lines = []
        for index, variant in enumerate(variants):
            product = self.products[variant.product_id]
            tax = _round_cent(variant.price * rate)
            lines.append(_Line(product, variant, product.name, variant.sku, rng.randint(1, 3), variant.price,
                               variant.price + tax, self._options_for(product, variant),
                               address_index=1 if two_addresses and index % 2 else 0))
        subtotal = sum((line.price_ex * line.quantity for line in lines), _ZERO)
        ship = _ZERO if subtotal >= 75 else Decimal("7.95")
        status_id = rng.choices((11, 2, 10, 1, 7, 3, 5, 9, 0, 4, 12),
                                weights=(25, 20, 15, 8, 7, 8, 5, 4, 3, 2, 3))[0]
        if status_id == 3 and len(lines) == 1 and lines[0].quantity == 1:
            status_id = 2
        payment_method, payment_status = "Credit Card", "captured"
        if status_id in (1, 7):
            payment_method, payment_status = "Manual", ""
        elif status_id == 0:
            payment_status = "declined"
        elif status_id == 5:
            payment_status = "void"
        elif status_id == 4:
            payment_status = "refunded"
        elif status_id == 12:
            payment_status = "authorized"
        coupon = None
        if rng.random() < 0.15:
            coupon = ("WELCOME10", _round_cent(subtotal / 10))
        created = _SEED_BASE - timedelta(seconds=rng.randint(3600, 90 * 86400))
        modified = created + timedelta(seconds=rng.randint(0, 3 * 86400))
        modified = min(modified, _SEED_BASE)
        created_ts, modified_ts = int(created.timestamp()), int(modified.timestamp())
        values: dict[str, Any] = {"shipping_cost_ex_tax": ship, "shipping_cost_inc_tax": ship,
                                  "customer_message": rng.choice([None, None, None, "Please leave at the door."])}
        if payment_status == "captured":
            values["payment_provider_id"] = f"ch_{rng.getrandbits(48):012x}"
        order = self._build_order(customer_id=customer_id, billing=billing, shipping=shipping, lines=lines,
                                  status_id=status_id, created_ts=created_ts, modified_ts=modified_ts,
                                  values=values, payment_method=payment_method, payment_status=payment_status,
                                  order_source="www", coupon=coupon,
                                  cart_id=f"{rng.getrandbits(128):032x}")
        if status_id in (2, 3, 10, 4):
            provider = rng.choice(["usps", "ups", "fedex"])
            batches: list[tuple[dict[str, Any], list[tuple[dict[str, Any], int]]]] = []
            if status_id == 3:
                first = order.products[0]
                quantity = first["quantity"] if len(order.products) > 1 else first["quantity"] - 1
                address = next(a for a in order.addresses if a["id"] == first["order_address_id"])
                batches.append((address, [(first, quantity)]))
            else:
                for address in order.addresses:
                    mine = [(p, p["quantity"]) for p in order.products if p["order_address_id"] == address["id"]]
                    if mine:
                        batches.append((address, mine))
            for address, items in batches:
                number = f"1Z{rng.getrandbits(40):010X}" if provider == "ups" else str(rng.randint(10**11, 10**12))
                self._ship(order, address, items, number, provider, {}, modified_ts)
            if status_id in (2, 10):
                order.data["date_shipped"] = _rfc(modified_ts)
        self._version += 1

    def _options_for(self, product: _Product, variant: _Variant) -> list[dict[str, Any]]:
        if product.option is None:
            return []
        value = variant.option_values[0]
        return [{"id": value["id"], "option_id": product.option["id"], "order_product_id": 0,
                 "product_option_id": product.option["id"], "display_name": product.option["display_name"],
                 "display_name_customer": product.option["display_name"],
                 "display_name_merchant": product.option["display_name"], "display_value": value["label"],
                 "display_value_customer": value["label"], "display_value_merchant": value["label"],
                 "value": str(value["id"]), "type": "Multiple choice", "name": product.option["display_name"],
                 "display_style": "Rectangle"}]

    # -- hooks the base class calls -----------------------------------------------------------------

    def authenticate(self, request: Request) -> Response | None:
        """401 unless ``X-Auth-Token`` is the store's token (V2 or V3 error body by path)."""
        token = request.headers.get("x-auth-token")
        if token == self.token:
            return None
        message = "No credentials were supplied in the request." if not token else \
            "The credentials supplied in the request are invalid."
        if "/v3/" in request.url.path:
            return self._v3_error(401, message)
        return self.error_response(401, message)

    def error_response(self, status: int, message: str) -> Response:
        """BigCommerce V2's error body: ``[{"status": 400, "message": "..."}]``."""
        return json_response([{"status": status, "message": message}], status)

    @staticmethod
    def _v3_error(status: int, title: str, errors: Mapping[str, str] | None = None) -> Response:
        return json_response({"status": status, "title": title, "type": _V3_TYPE, "errors": dict(errors or {})},
                             status)

    def rate_headers(self, state: WindowState) -> dict[str, str]:
        """``X-Rate-Limit-*`` headers, as BigCommerce sends them on every answer."""
        return {
            "X-Rate-Limit-Requests-Left": str(state.remaining),
            "X-Rate-Limit-Requests-Quota": str(state.quota),
            "X-Rate-Limit-Time-Reset-Ms": str(max(0, int(state.reset_after * 1000))),
            "X-Rate-Limit-Time-Window-Ms": str(int(state.window * 1000)),
        }

    def rate_limited_response(self, state: WindowState) -> Response:
        """429 with ``X-Retry-After`` (seconds) and the rate headers."""
        response = self.error_response(429, "Too many requests. Please wait before trying again.")
        response.headers["X-Retry-After"] = str(ceil_seconds(state.reset_after))
        return response

    def configure_webhooks(self, url: str | None, secret: str | None = None, *,
                           client_secret: str | None = None) -> None:
        """Send every order/shipment scope to ``url`` with our custom secret header (as a hook made
        with ``headers`` would); with ``client_secret``, also Standard Webhooks signatures."""
        headers = {_SECRET_HEADER: secret} if secret else {}
        self.webhooks.configure(url, headers=headers)
        self.webhooks.sign = (lambda raw: _standard_webhook_headers(raw, client_secret)) if client_secret else None
        self._hook_scopes = None

    def _emit(self, scope: str, data: dict[str, Any]) -> None:
        if not self.webhooks.url:
            return
        if self._hook_scopes is not None and not any(
                scope == wanted or (wanted.endswith("/*") and scope.startswith(wanted[:-1]))
                for wanted in self._hook_scopes):
            return
        created = int(self.clock())
        digest = hashlib.sha1(orjson.dumps({"scope": scope, "data": data, "created_at": created,
                                            "store_id": self.store_id}), usedforsecurity=False).hexdigest()
        self.webhooks.emit(scope, {"scope": scope, "store_id": self.store_id, "data": data, "hash": digest,
                                   "created_at": created, "producer": f"stores/{self.store_hash}"})

    # -- routes -----------------------------------------------------------------------------------

    def access(self, *, hidden: Collection[str] = ()) -> tuple[str, str]:
        """BigCommerce's ``/stores/{store_hash}/v2`` (and ``/v3``), with an ``X-Auth-Token`` header."""
        return (f"{self.prefix}/v2 (and {self.prefix}/v3)",
                f"header X-Auth-Token: {self.shown('token', self.token, hidden)}")

    def routes(self) -> list[BaseRoute]:
        """The Orders V2, Catalog V3 and hooks V3 routes."""
        p = self.prefix
        o = p + "/v2/orders/{order_id:int}"
        e = self.endpoint

        def route(path: str, handler: Any, method: str, label: str) -> Route:
            return Route(path, e(self._safe(handler), write=method != "GET", route=label), methods=[method])

        return [
            route(p + "/v2/orders", self.list_orders, "GET", "/v2/orders"),
            route(p + "/v2/orders", self.create_order, "POST", "/v2/orders"),
            route(p + "/v2/orders/count", self.count_orders, "GET", "/v2/orders/count"),
            route(o, self.get_order, "GET", "/v2/orders/{id}"),
            route(o, self.update_order, "PUT", "/v2/orders/{id}"),
            route(o, self.archive_order, "DELETE", "/v2/orders/{id}"),
            route(o + "/products", self.list_products, "GET", "/v2/orders/{id}/products"),
            route(o + "/products/{item_id:int}", self.get_product, "GET", "/v2/orders/{id}/products/{id}"),
            route(o + "/shipping_addresses", self.list_addresses, "GET", "/v2/orders/{id}/shipping_addresses"),
            route(o + "/shippingaddresses", self.list_addresses, "GET", "/v2/orders/{id}/shippingaddresses"),
            route(o + "/shipping_addresses/{item_id:int}", self.get_address, "GET",
                  "/v2/orders/{id}/shipping_addresses/{id}"),
            route(o + "/coupons", self.list_coupons, "GET", "/v2/orders/{id}/coupons"),
            route(o + "/shipments", self.list_shipments, "GET", "/v2/orders/{id}/shipments"),
            route(o + "/shipments", self.create_shipment, "POST", "/v2/orders/{id}/shipments"),
            route(o + "/shipments/count", self.count_shipments, "GET", "/v2/orders/{id}/shipments/count"),
            route(o + "/shipments/{item_id:int}", self.get_shipment, "GET", "/v2/orders/{id}/shipments/{id}"),
            route(o + "/shipments/{item_id:int}", self.update_shipment, "PUT", "/v2/orders/{id}/shipments/{id}"),
            route(o + "/shipments/{item_id:int}", self.delete_shipment, "DELETE",
                  "/v2/orders/{id}/shipments/{id}"),
            route(p + "/v2/order_statuses", self.list_statuses, "GET", "/v2/order_statuses"),
            route(p + "/v2/order_statuses/{status_id:int}", self.get_status, "GET", "/v2/order_statuses/{id}"),
            route(p + "/v3/catalog/variants", self.list_variants, "GET", "/v3/catalog/variants"),
            route(p + "/v3/catalog/products", self.list_catalog_products, "GET", "/v3/catalog/products"),
            route(p + "/v3/hooks", self.list_hooks, "GET", "/v3/hooks"),
            route(p + "/v3/hooks", self.create_hook, "POST", "/v3/hooks"),
            route(o + "/fees", self.list_fees, "GET", "/v2/orders/{id}/fees"),
            route(o + "/consignments", self.get_consignments, "GET", "/v2/orders/{id}/consignments"),
            route(o + "/consignments/shipping/{item_id:int}/shipping_quotes", self.consignment_quotes, "GET",
                  "/v2/orders/{id}/consignments/shipping/{id}/shipping_quotes"),
            route(o + "/shipping_addresses/{item_id:int}/shipping_quotes", self.address_quotes, "GET",
                  "/v2/orders/{id}/shipping_addresses/{id}/shipping_quotes"),
            route(o + "/shipping_addresses/{item_id:int}", self.update_address, "PUT",
                  "/v2/orders/{id}/shipping_addresses/{id}"),
            route(o + "/taxes", self.list_taxes, "GET", "/v2/orders/{id}/taxes"),
            route(o + "/messages", self.list_messages, "GET", "/v2/orders/{id}/messages"),
            route(p + "/v2/time", self.get_time, "GET", "/v2/time"),
            route(p + "/v2/store", self.get_store, "GET", "/v2/store"),
        ]

    def fallback_routes(self) -> list[BaseRoute]:
        """Any other path: BigCommerce's JSON 404 (V3 body under ``/v3``), through the guard, so it carries
        the rate-limit headers and counts against the window like every answer."""
        async def not_found(request: Request) -> Response:
            raise _Invalid(404, "The requested resource was not found.")

        methods = ["GET", "POST", "PUT", "DELETE", "PATCH"]
        handler = self.endpoint(self._safe_any(not_found), route="(unknown path)")
        return [Route("/{path:path}", handler, methods=methods)]

    def _safe_any(self, handler: Callable[[Request], Any]) -> Callable[[Request], Any]:
        """:meth:`_safe` without the content-type check (an unknown path is a 404 whatever it was sent)."""
        async def run(request: Request) -> Response:
            try:
                response: Response = await handler(request)
            except _Invalid as error:
                if "/v3/" in request.url.path:
                    return self._v3_error(error.status, error.message)
                return self.error_response(error.status, error.message)
            return response

        return run

    def _safe(self, handler: Callable[[Request], Any]) -> Callable[[Request], Any]:
        """Turn :class:`_Invalid` into BigCommerce's error body (V3 shape on ``/v3`` paths)."""
        async def run(request: Request) -> Response:
            try:
                if request.method in ("POST", "PUT") and not _is_json(request.headers.get("content-type")):
                    raise _Invalid(415, "The request payload must be sent as JSON (Content-Type: application/json).")
                response: Response = await handler(request)
            except _Invalid as error:
                if "/v3/" in request.url.path:
                    return self._v3_error(error.status, error.message)
                return self.error_response(error.status, error.message)
            return _rehost(response, request)

        run.__name__ = getattr(handler, "__name__", "handler")
        return run

    def _order(self, request: Request) -> _Order:
        order = self.orders.get(int(request.path_params["order_id"]))
        if order is None:
            raise _Invalid(404, "The requested resource was not found.")
        return order

    @staticmethod
    async def _body(request: Request) -> dict[str, Any]:
        body = await read_json(request)
        if not isinstance(body, dict):
            raise _Invalid(400, "The request body must be a JSON object.")
        return body

    # -- orders -------------------------------------------------------------------------------------

    def _sorted_ids(self, sort: str, desc: bool, deleted: bool) -> tuple[list[int], list[Any]]:
        key = (sort, desc, deleted)
        cached = self._sorted.get(key)
        if cached is not None and cached[0] == self._version:
            return cached[1], cached[2]
        orders = [o for o in self.orders.values() if bool(o.data["is_deleted"]) == deleted]
        getters: dict[str, Callable[[_Order], Any]] = {
            "id": lambda o: o.id,
            "customer_id": lambda o: o.data["customer_id"],
            "date_created": lambda o: o.created_ts,
            "date_modified": lambda o: o.modified_ts,
            "status_id": lambda o: o.data["status_id"],
            "channel_id": lambda o: o.data["channel_id"],
            "external_id": lambda o: o.data["external_id"] or "",
        }
        getter = getters[sort]
        orders.sort(key=lambda o: (getter(o), o.id), reverse=desc)
        ids = [o.id for o in orders]
        keys = [getter(o) for o in orders]
        self._sorted[key] = (self._version, ids, keys)
        return ids, keys

    def _filters(self, params: Mapping[str, str]) -> list[Callable[[_Order], bool]]:
        checks: list[Callable[[_Order], bool]] = []

        def ts(name: str) -> int:
            try:
                return int(_parse_filter_date(params[name]).timestamp())
            except ValueError:
                raise _invalid(name) from None

        if "min_id" in params:
            low = _int(params["min_id"], "min_id")
            checks.append(lambda o: o.id >= low)
        if "max_id" in params:
            high = _int(params["max_id"], "max_id")
            checks.append(lambda o: o.id <= high)
        if "min_total" in params:
            min_total = _dec(params["min_total"], "min_total")
            checks.append(lambda o: Decimal(o.data["total_inc_tax"]) >= min_total)
        if "max_total" in params:
            max_total = _dec(params["max_total"], "max_total")
            checks.append(lambda o: Decimal(o.data["total_inc_tax"]) <= max_total)
        if "customer_id" in params:
            customer = _int(params["customer_id"], "customer_id")
            checks.append(lambda o: o.data["customer_id"] == customer)
        if "email" in params:
            email = params["email"].strip().lower()
            checks.append(lambda o: str(o.data["billing_address"]["email"]).lower() == email)
        if "status_id" in params:
            status = _int(params["status_id"], "status_id")
            checks.append(lambda o: o.data["status_id"] == status)
        if "cart_id" in params:
            cart = params["cart_id"]
            checks.append(lambda o: o.data["cart_id"] == cart)
        if "payment_method" in params:
            method = params["payment_method"]
            checks.append(lambda o: o.data["payment_method"] == method)
        if "channel_id" in params:
            channel = _int(params["channel_id"], "channel_id")
            checks.append(lambda o: o.data["channel_id"] == channel)
        if "external_order_id" in params:
            reference = params["external_order_id"]
            checks.append(lambda o: o.data["external_order_id"] == reference)
        for name, attr, lower in (("min_date_created", "created_ts", True), ("max_date_created", "created_ts", False),
                                  ("min_date_modified", "modified_ts", True),
                                  ("max_date_modified", "modified_ts", False)):
            if name in params:
                bound = ts(name)
                if lower:
                    checks.append(lambda o, a=attr, b=bound: getattr(o, a) >= b)  # type: ignore[misc]
                else:
                    checks.append(lambda o, a=attr, b=bound: getattr(o, a) <= b)  # type: ignore[misc]
        return checks

    def _query(self, params: Mapping[str, str]) -> tuple[list[_Order], int, int]:
        """Filtered, sorted orders for a list request, with page and limit (validated)."""
        for name in params:
            if name not in _LIST_FILTERS:
                raise _not_supported(name)
        limit = _int(params.get("limit", 50), "limit", minimum=1)
        if limit > 250:
            raise _Invalid(413, "The requested limit exceeds the maximum of 250 items per page.")
        page = _int(params.get("page", 1), "page", minimum=1)
        sort = params.get("sort", "id:asc")
        field_name, _, direction = sort.partition(":")
        if field_name not in _SORTS or direction not in ("", "asc", "desc"):
            raise _invalid("sort")
        deleted_text = params.get("is_deleted", "false").strip().lower()
        if deleted_text not in ("true", "false", "1", "0"):
            raise _invalid("is_deleted")
        deleted = deleted_text in ("true", "1")
        checks = self._filters(params)
        desc = direction == "desc"
        reference = params.get("external_order_id")
        if reference is not None:
            candidates = [self.orders[i] for i in sorted(self._by_reference.get(reference, ()))
                          if bool(self.orders[i].data["is_deleted"]) == deleted]
            ids, _ = self._sorted_ids(field_name, desc, deleted)
            position = {order_id: index for index, order_id in enumerate(ids)} if len(candidates) > 1 else {}
            candidates.sort(key=lambda o: position.get(o.id, 0))
            source: Iterable[_Order] = candidates
        else:
            ids, keys = self._sorted_ids(field_name, desc, deleted)
            start = 0
            if not desc and field_name == "date_modified" and "min_date_modified" in params:
                start = bisect.bisect_left(keys, int(_parse_filter_date(params["min_date_modified"]).timestamp()))
            elif not desc and field_name == "id" and "min_id" in params:
                start = bisect.bisect_left(keys, _int(params["min_id"], "min_id"))
            source = (self.orders[i] for i in ids[start:])
        skip = (page - 1) * limit
        rows: list[_Order] = []
        for order in source:
            if checks and not all(check(order) for check in checks):
                continue
            if skip:
                skip -= 1
                continue
            rows.append(order)
            if len(rows) >= limit:
                break
        return rows, page, limit

    async def list_orders(self, request: Request) -> Response:
        """``GET /v2/orders``: filters, ``sort``, ``page``/``limit`` (≤ 250, else 413), 204 when empty."""
        rows, _, _ = self._query(request.query_params)
        if not rows:
            return Response(status_code=204)
        embed = self._embedding(request.query_params)
        return json_response([self._view(order, *embed) for order in rows])

    @staticmethod
    def _embedding(params: Mapping[str, str]) -> tuple[frozenset[str], bool]:
        """``include`` (consignments, consignments.line_items, fees) and whether consignments come in the
        object structure (``consignment_structure=object``) rather than the legacy array."""
        include = frozenset(filter(None, (part.strip() for part in params.get("include", "").split(","))))
        if include - _INCLUDES:
            raise _invalid("include")
        structure = params.get("consignment_structure")
        if structure not in (None, "object"):
            raise _invalid("consignment_structure")
        return include, structure == "object"

    def _view(self, order: _Order, include: frozenset[str], as_object: bool) -> dict[str, Any]:
        """The order as ``GET`` shows it, with the ``include``d sub-resources embedded in place of their links."""
        if not include:
            return order.data
        data = dict(order.data)
        if "fees" in include:
            data["fees"] = self._fees(order)
        if include & {"consignments", "consignments.line_items"}:
            consignments = self._consignments(order, line_items="consignments.line_items" in include)
            data["consignments"] = consignments if as_object else [consignments]
        return data

    async def count_orders(self, request: Request) -> Response:
        """``GET /v2/orders/count``: per-status counts and the total (archived orders left out)."""
        counts: dict[int, int] = dict.fromkeys(STATUS_NAMES, 0)
        for order in self.orders.values():
            if not order.data["is_deleted"]:
                counts[order.data["status_id"]] += 1
        statuses = [{"id": sid, "name": name, "system_label": name, "custom_label": name,
                     "system_description": _STATUS_TEXT[sid], "count": counts[sid],
                     "url": f"{self.api_url}/orders?status_id={sid}", "sort_order": _STATUS_ORDER[sid]}
                    for sid, name in STATUS_NAMES.items()]
        return json_response({"statuses": statuses, "count": sum(counts.values())})

    async def get_order(self, request: Request) -> Response:
        """``GET /v2/orders/{id}`` (archived orders too, with ``is_deleted: true``); ``include`` embeds."""
        return json_response(self._view(self._order(request), *self._embedding(request.query_params)))

    def _check_address(self, value: Any, name: str, allowed: frozenset[str], *, required: bool) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise _invalid(name)
        for key in value:
            if key not in allowed:
                raise _not_supported(key)
        if required:
            zip_code = str(value.get("zip") or "").strip()
            if len(zip_code) < 2:
                raise _invalid("zip")
            if not (value.get("country_iso2") or value.get("country")):
                raise _invalid("country")
            if value.get("state") is None and "state" in value:
                raise _Invalid(400, "The field 'state' does not allow null values.")
        return value

    def _lines_from(self, products: Any) -> list[_Line]:
        if not isinstance(products, list) or not products:
            raise _invalid("products")
        lines: list[_Line] = []
        needed: dict[int, int] = {}
        for raw in products:
            if not isinstance(raw, dict):
                raise _invalid("products")
            for key in raw:
                if key not in _PRODUCT_FIELDS:
                    raise _not_supported(key)
            quantity = _int(raw.get("quantity", 1), "quantity", minimum=1)
            has_ex, has_inc = raw.get("price_ex_tax") is not None, raw.get("price_inc_tax") is not None
            if has_ex != has_inc:
                raise _Invalid(400, "The fields 'price_ex_tax' and 'price_inc_tax' must be supplied together.")
            product_id = _int(raw.get("product_id") or 0, "product_id")
            if product_id:
                product = self.products.get(product_id)
                if product is None:
                    raise _invalid("product_id")
                variant = self._pick_variant(product, raw)
                price_ex = _dec(raw["price_ex_tax"], "price_ex_tax") if has_ex else variant.price
                price_inc = _dec(raw["price_inc_tax"], "price_inc_tax") if has_inc else variant.price
                needed[variant.id] = needed.get(variant.id, 0) + quantity
                name = str(raw.get("name") or product.name)
                lines.append(_Line(product, variant, name, variant.sku, quantity, price_ex, price_inc,
                                   self._options_for(product, variant)))
            else:
                name = str(raw.get("name") or "").strip()
                if not name or len(name) > 250:
                    raise _Invalid(400, "The field 'name' is required for a custom product.")
                if not has_ex:
                    raise _Invalid(400, "The fields 'price_ex_tax' and 'price_inc_tax' are required for a custom "
                                        "product.")
                lines.append(_Line(None, None, name, str(raw.get("sku") or ""), quantity,
                                   _dec(raw["price_ex_tax"], "price_ex_tax"), _dec(raw["price_inc_tax"],
                                                                                   "price_inc_tax")))
        if self.enforce_stock:
            for variant_id, quantity in needed.items():
                if self.variants[variant_id].stock < quantity:
                    raise _Invalid(400, "Quantities of one or more products are out of stock or did not meet "
                                        "quantity requirements.")
        for variant_id, quantity in needed.items():
            self.variants[variant_id].stock -= quantity
        return lines

    @staticmethod
    def _pick_variant(product: _Product, raw: Mapping[str, Any]) -> _Variant:
        if raw.get("variant_id") is not None:
            variant_id = _int(raw["variant_id"], "variant_id")
            for variant in product.variants:
                if variant.id == variant_id:
                    return variant
            raise _invalid("variant_id")
        if product.option is None:
            return product.variants[0]
        options = raw.get("product_options")
        if isinstance(options, list):
            for option in options:
                if isinstance(option, dict) and str(option.get("id")) == str(product.option["id"]):
                    for variant in product.variants:
                        if str(variant.option_values[0]["id"]) == str(option.get("value")):
                            return variant
        raise _Invalid(400, "The options of one or more products are invalid.")

    async def create_order(self, request: Request) -> Response:
        """``POST /v2/orders`` → 201 with the order (status 1 unless ``status_id`` is given)."""
        body = await self._body(request)
        for key in body:
            if key in _READ_ONLY_ORDER_FIELDS:
                raise _cannot_write(key)
            if key not in _CREATE_FIELDS:
                raise _not_supported(key)
        if "consignments" in body:
            raise _Invalid(400, "Consignments (pickup orders) are not simulated; send products and "
                                "shipping_addresses.")
        if "billing_address" not in body:
            raise _Invalid(400, "The required field 'billing_address' was not supplied.")
        if "products" not in body:
            raise _Invalid(400, "The required field 'products' was not supplied.")
        billing = self._check_address(body["billing_address"], "billing_address", _ADDRESS_FIELDS, required=True)
        shipping_raw = body.get("shipping_addresses") or []
        if not isinstance(shipping_raw, list):
            raise _invalid("shipping_addresses")
        shipping = [self._check_address(a, "shipping_addresses", _SHIPPING_ADDRESS_FIELDS, required=True)
                    for a in shipping_raw]
        customer_id = _int(body.get("customer_id") or 0, "customer_id", minimum=0)
        if customer_id and customer_id not in self.customers:
            raise _invalid("customer_id")
        status_id = _int(body.get("status_id", 1), "status_id")
        if status_id not in STATUS_NAMES:
            raise _invalid("status_id")
        channel = _int(body.get("channel_id", 1), "channel_id")
        if channel != 1:
            raise _invalid("channel_id")
        now = int(self.clock())
        created = now
        if body.get("date_created"):
            try:
                created = int(_parse_filter_date(body["date_created"]).timestamp())
            except ValueError:
                raise _invalid("date_created") from None
        for first, second in (("subtotal_ex_tax", "subtotal_inc_tax"), ("total_ex_tax", "total_inc_tax"),
                              ("shipping_cost_ex_tax", "shipping_cost_inc_tax")):
            if (body.get(first) is None) != (body.get(second) is None):
                missing = second if body.get(second) is None else first
                raise _Invalid(400, f"The field '{missing}' is required when '{first if missing == second else second}'"
                                    " is supplied.")
        fees = body.get("fees")
        if fees is not None and not (isinstance(fees, list) and all(isinstance(f, dict) for f in fees)):
            raise _invalid("fees")
        for fee in fees or []:
            self._fee_json(fee)  # refused before anything (stock, ids) is taken
        for key in ("discount_amount", "shipping_cost_ex_tax", "shipping_cost_inc_tax", "handling_cost_ex_tax",
                    "handling_cost_inc_tax", "wrapping_cost_ex_tax", "wrapping_cost_inc_tax", "subtotal_ex_tax",
                    "subtotal_inc_tax", "total_ex_tax", "total_inc_tax"):
            if body.get(key) is not None:
                _dec(body[key], key)
        lines = self._lines_from(body["products"])
        order = self._build_order(
            customer_id=customer_id, billing=billing, shipping=shipping, lines=lines, status_id=status_id,
            created_ts=created, modified_ts=now, values=body,
            payment_method=str(body.get("payment_method") or "Manual"), payment_status="",
        )
        self._emit("store/order/created", {"type": "order", "id": order.id})
        return json_response(order.data, 201)

    async def update_order(self, request: Request) -> Response:
        """``PUT /v2/orders/{id}``: status (``date_shipped`` on Shipped/Completed), notes, reference…"""
        order = self._order(request)
        body = await self._body(request)
        for key in body:
            if key == "custom_status":
                raise _not_supported(key)
            if key in ("external_id", "external_merchant_id") or (
                    key in _READ_ONLY_ORDER_FIELDS and key != "is_deleted"):
                raise _cannot_write(key)
            if key in ("consignments", "fees"):
                raise _Invalid(400, f"Changing '{key}' through PUT is not simulated.")
            if key not in _UPDATE_FIELDS:
                raise _not_supported(key)
        if "customer_id" in body:
            customer_id = _int(body["customer_id"] or 0, "customer_id", minimum=0)
            if customer_id and customer_id not in self.customers:
                raise _invalid("customer_id")
            order.data["customer_id"] = customer_id
        if "products" in body:
            self._put_products(order, body["products"])
        if "shipping_addresses" in body:
            self._put_addresses(order, body["shipping_addresses"])
        status_change: tuple[int, int] | None = None
        if "status_id" in body:
            status_id = _int(body["status_id"], "status_id")
            if status_id not in STATUS_NAMES:
                raise _invalid("status_id")
            previous = self._set_status(order, status_id)
            if previous != status_id:
                status_change = (previous, status_id)
        if "billing_address" in body:
            billing = self._check_address(body["billing_address"], "billing_address", _ADDRESS_FIELDS,
                                          required=False)
            order.data["billing_address"].update({k: ("" if v is None else v) for k, v in billing.items()})
        if "discount_amount" in body:
            new = _dec(body["discount_amount"], "discount_amount")
            delta = new - Decimal(order.data["discount_amount"])
            order.data["discount_amount"] = _m4(new)
            order.data["total_ex_tax"] = _m4(Decimal(order.data["total_ex_tax"]) - delta)
            order.data["total_inc_tax"] = _m4(Decimal(order.data["total_inc_tax"]) - delta)
        for key in ("staff_notes", "customer_message", "external_source", "payment_method", "payment_provider_id",
                    "customer_locale"):
            if key in body:
                order.data[key] = body[key]
        if "date_created" in body:
            try:
                order.created_ts = int(_parse_filter_date(body["date_created"]).timestamp())
            except ValueError:
                raise _invalid("date_created") from None
            order.data["date_created"] = _rfc(order.created_ts)
        if "external_order_id" in body:
            old = order.data["external_order_id"]
            if old:
                self._by_reference.get(old, set()).discard(order.id)
            order.data["external_order_id"] = str(body["external_order_id"] or "")
            if order.data["external_order_id"]:
                self._by_reference.setdefault(order.data["external_order_id"], set()).add(order.id)
        archived = bool(body.get("is_deleted")) and not order.data["is_deleted"]
        if archived:
            order.data["is_deleted"] = True
        self._touch(order)
        if status_change is not None:
            self._emit("store/order/statusUpdated", {"type": "order", "id": order.id, "status": {
                "previous_status_id": status_change[0], "new_status_id": status_change[1]}})
        self._emit("store/order/archived" if archived else "store/order/updated", {"type": "order", "id": order.id})
        return json_response(order.data)

    def _put_products(self, order: _Order, changes: Any) -> None:
        """PUT ``products`` works like PATCH (§4): ``id`` + fields changes a line, ``quantity: 0`` removes it,
        no ``id`` adds one. A changed line loses its discounts ("PUT clears discounts"), and the order's
        subtotal and total follow the lines."""
        if not isinstance(changes, list):
            raise _invalid("products")
        before_ex, before_inc = self._line_sums(order)
        cleared = _ZERO
        for raw in changes:
            if not isinstance(raw, dict):
                raise _invalid("products")
            if raw.get("id") is None:
                self._add_line(order, raw)
                continue
            line = next((p for p in order.products if p["id"] == _int(raw["id"], "id")), None)
            if line is None:
                raise _invalid("id")
            cleared += self._change_line(order, line, raw)
        after_ex, after_inc = self._line_sums(order)
        for key, delta in (("subtotal_ex_tax", after_ex - before_ex), ("subtotal_inc_tax", after_inc - before_inc),
                           ("total_ex_tax", after_ex - before_ex + cleared),
                           ("total_inc_tax", after_inc - before_inc + cleared),
                           ("subtotal_tax", (after_inc - after_ex) - (before_inc - before_ex)),
                           ("total_tax", (after_inc - after_ex) - (before_inc - before_ex))):
            order.data[key] = _m4(Decimal(order.data[key]) + delta)
        order.data["items_total"] = sum(p["quantity"] for p in order.products)
        for address in order.addresses:
            address["items_total"] = sum(p["quantity"] for p in order.products
                                         if p["order_address_id"] == address["id"])

    @staticmethod
    def _line_sums(order: _Order) -> tuple[Decimal, Decimal]:
        return (sum((Decimal(p["total_ex_tax"]) for p in order.products), _ZERO),
                sum((Decimal(p["total_inc_tax"]) for p in order.products), _ZERO))

    def _change_line(self, order: _Order, line: dict[str, Any], raw: Mapping[str, Any]) -> Decimal:
        """Apply one line change; the discount it loses (cleared), which the order's total gets back."""
        for key in raw:
            if key not in _PRODUCT_FIELDS | {"id"}:
                raise _not_supported(key)
        quantity = _int(raw.get("quantity", line["quantity"]), "quantity", minimum=0)
        if quantity < line["quantity_shipped"]:
            raise _Invalid(400, "The quantity of a line cannot go below what was already shipped.")
        cleared = sum((Decimal(d["amount"]) for d in line["applied_discounts"]), _ZERO)
        for discount in line["applied_discounts"]:
            key = "coupon_discount" if discount.get("code") else "discount_amount"
            order.data[key] = _m4(max(_ZERO, Decimal(order.data[key]) - Decimal(discount["amount"])))
        line["applied_discounts"] = []
        if quantity == 0:
            order.products.remove(line)
            self._order_product_of.pop(line["id"], None)
            return cleared
        price_ex = _dec(raw.get("price_ex_tax", line["price_ex_tax"]), "price_ex_tax")
        price_inc = _dec(raw.get("price_inc_tax", line["price_inc_tax"]), "price_inc_tax")
        for key in ("name", "name_customer", "name_merchant", "sku", "upc"):
            if key in raw:
                line[key] = str(raw[key] or "")
        line.update({
            "quantity": quantity, "price_ex_tax": _m4(price_ex), "price_inc_tax": _m4(price_inc),
            "base_price": _m4(price_ex), "price_tax": _m4(price_inc - price_ex),
            "total_ex_tax": _m4(price_ex * quantity), "base_total": _m4(price_ex * quantity),
            "total_inc_tax": _m4(price_inc * quantity), "total_tax": _m4((price_inc - price_ex) * quantity),
            "discounted_total_inc_tax": _m4(price_inc * quantity),
        })
        return cleared

    def _add_line(self, order: _Order, raw: Mapping[str, Any]) -> None:
        """A line added by PUT (no ``id``), built like a created order's line, on the first address."""
        line_id = self._next_id("line")
        address_id = order.addresses[0]["id"] if order.addresses else 0
        order.products.append(self._line_json(order.id, line_id, self._lines_from([raw])[0], address_id, [], _ZERO))
        self._order_product_of[line_id] = order.id

    def _put_addresses(self, order: _Order, changes: Any) -> None:
        """PUT ``shipping_addresses``: each entry with ``id`` updates that address (no new shipping or tax)."""
        if not isinstance(changes, list):
            raise _invalid("shipping_addresses")
        for raw in changes:
            if not isinstance(raw, dict) or raw.get("id") is None:
                raise _invalid("shipping_addresses")
            address = next((a for a in order.addresses if a["id"] == _int(raw["id"], "id")), None)
            if address is None:
                raise _invalid("id")
            self._update_address(address, {k: v for k, v in raw.items() if k != "id"})

    def _update_address(self, address: dict[str, Any], raw: Mapping[str, Any]) -> None:
        checked = self._check_address(dict(raw), "shipping_addresses", _SHIPPING_ADDRESS_FIELDS, required=False)
        address.update({k: ("" if v is None else v) for k, v in checked.items()})

    async def update_address(self, request: Request) -> Response:
        """``PUT /v2/orders/{id}/shipping_addresses/{id}`` (shipping cost and tax are not recalculated)."""
        order = self._order(request)
        address = next((a for a in order.addresses if a["id"] == int(request.path_params["item_id"])), None)
        if address is None:
            raise _Invalid(404, "The requested resource was not found.")
        self._update_address(address, await self._body(request))
        self._touch(order)
        self._emit("store/order/updated", {"type": "order", "id": order.id})
        return json_response(address)

    @staticmethod
    def _fee_json(raw: Mapping[str, Any]) -> dict[str, Any]:
        """A fee as ``GET /orders/{id}/fees`` shows it (ids are assigned in order of the POST body)."""
        raw = {("cost_ex_tax" if k == "cost_exc_tax" else k): v for k, v in raw.items()}  # the spec's own spelling
        given = {name: _dec(raw[name], name) for name in ("cost_ex_tax", "cost_inc_tax", "cost_tax")
                 if raw.get(name) is not None}
        if len(given) < 2:  # orderFees_Post: "at least two of cost_ex_tax, cost_inc_tax and cost_tax"
            raise _Invalid(422, "The fee needs at least two of 'cost_ex_tax', 'cost_inc_tax' and 'cost_tax'.")
        ex = given.get("cost_ex_tax", given.get("cost_inc_tax", _ZERO) - given.get("cost_tax", _ZERO))
        inc = given.get("cost_inc_tax", ex + given.get("cost_tax", _ZERO))
        return {"id": 0, "type": str(raw.get("type") or "custom_fee"),
                "display_name_customer": str(raw.get("display_name_customer") or raw.get("display_name_merchant")
                                             or ""),
                "display_name_merchant": str(raw.get("display_name_merchant") or raw.get("display_name_customer")
                                             or ""),
                "source": str(raw.get("source") or "v2"), "base_cost": _m4(ex), "cost_ex_tax": _m4(ex),
                "cost_inc_tax": _m4(inc), "cost_tax": _m4(inc - ex), "tax_class_id": raw.get("tax_class_id")}

    async def list_fees(self, request: Request) -> Response:
        """``GET /v2/orders/{id}/fees`` (204 when the order has none)."""
        order = self._order(request)
        return json_response(self._fees(order)) if order.fees else Response(status_code=204)

    @staticmethod
    def _fees(order: _Order) -> list[dict[str, Any]]:
        return [dict(fee, id=index) for index, fee in enumerate(order.fees, start=1)]

    def _consignments(self, order: _Order, *, line_items: bool) -> dict[str, Any]:
        """The consignment object (``orderConsignment_Get``): one shipping consignment per address, line
        items as links, or in full (at most 50, then ``__warning__``) with ``line_items``."""
        shipping: list[dict[str, Any]] = []
        for address in order.addresses:
            mine = [p for p in order.products if p["order_address_id"] == address["id"]]
            consignment: dict[str, Any] = {
                "id": address["id"], **{k: address[k] for k in (
                    "first_name", "last_name", "company", "street_1", "street_2", "city", "state", "zip",
                    "country", "country_iso2", "phone", "email", "form_fields", "shipping_method")},
                "line_items": (mine[:_LINE_ITEMS_CAP] if line_items else
                               [self._link(order.id, f"products/{p['id']}") for p in mine]),
                "items_total": address["items_total"], "items_shipped": address["items_shipped"],
                "base_cost": float(address["base_cost"]), "cost_ex_tax": float(address["cost_ex_tax"]),
                "cost_inc_tax": float(address["cost_inc_tax"]), "cost_tax": float(address["cost_tax"]),
                "cost_tax_class_id": address["cost_tax_class_id"],
                "base_handling_cost": float(address["base_handling_cost"]),
                "handling_cost_ex_tax": float(address["handling_cost_ex_tax"]),
                "handling_cost_inc_tax": float(address["handling_cost_inc_tax"]),
                "handling_cost_tax": float(address["handling_cost_tax"]),
                "handling_cost_tax_class_id": address["handling_cost_tax_class_id"],
                "shipping_zone_id": address["shipping_zone_id"], "shipping_zone_name": address["shipping_zone_name"],
                "shipping_quotes": self._link(order.id, f"consignments/shipping/{address['id']}/shipping_quotes"),
            }
            if line_items and len(mine) > _LINE_ITEMS_CAP:
                consignment["__warning__"] = {"message": _LINE_ITEMS_WARNING}
            shipping.append(consignment)
        return {"pickups": [], "shipping": shipping, "downloads": [], "email": {"gift_certificates": []}}

    async def get_consignments(self, request: Request) -> Response:
        """``GET /v2/orders/{id}/consignments`` (``include=consignments.line_items`` embeds the lines)."""
        order = self._order(request)
        include = set(filter(None, request.query_params.get("include", "").split(",")))
        if include - {"consignments.line_items"}:
            raise _invalid("include")
        return json_response(self._consignments(order, line_items="consignments.line_items" in include))

    async def consignment_quotes(self, request: Request) -> Response:
        """``GET …/consignments/shipping/{id}/shipping_quotes``: 204, as for every API-created order."""
        order = self._order(request)
        if not any(a["id"] == int(request.path_params["item_id"]) for a in order.addresses):
            raise _Invalid(404, "The requested resource was not found.")
        return Response(status_code=204)

    async def address_quotes(self, request: Request) -> Response:
        """``GET …/shipping_addresses/{id}/shipping_quotes``: 204, as for every API-created order."""
        return await self.consignment_quotes(request)

    async def list_taxes(self, request: Request) -> Response:
        """``GET /v2/orders/{id}/taxes``: one "API Tax Override" row per address that carries tax (204 if none);
        ``details=true`` adds ``order_product_id`` and ``line_item_type`` rows per line."""
        order = self._order(request)
        details = request.query_params.get("details", "false").lower() == "true"
        rows: list[dict[str, Any]] = []
        for address in order.addresses:
            mine = [p for p in order.products if p["order_address_id"] == address["id"]]
            parts = [(p, Decimal(p["total_tax"]), Decimal(p["total_ex_tax"])) for p in mine] if details else [
                (None, sum((Decimal(p["total_tax"]) for p in mine), _ZERO),
                 sum((Decimal(p["total_ex_tax"]) for p in mine), _ZERO))]
            for line, tax, base in parts:
                if not tax:
                    continue
                row = {"id": len(rows) + 1, "order_id": order.id, "order_address_id": address["id"],
                       "tax_rate_id": 0, "sales_tax_id": "", "tax_class_id": 0, "name": "Tax",
                       "class": "API Tax Override", "rate": _m4(tax * 100 / base if base else _ZERO),
                       "priority": 0, "priority_amount": _m4(tax), "line_amount": _m4(tax),
                       "order_pickup_method_id": 0}
                if line is not None:
                    row.update(order_product_id=line["id"], line_item_type="item")
                rows.append(row)
        return json_response(rows) if rows else Response(status_code=204)

    async def list_messages(self, request: Request) -> Response:
        """``GET /v2/orders/{id}/messages``: 204 (orders here carry no customer-merchant messages)."""
        self._order(request)
        return Response(status_code=204)

    async def get_time(self, request: Request) -> Response:
        """``GET /v2/time``: the store's clock, unix seconds."""
        return json_response({"time": int(self.clock())})

    async def get_store(self, request: Request) -> Response:
        """``GET /v2/store``: the store profile (currency, units, time zone, plan)."""
        return json_response({
            "id": self.store_hash, "account_uuid": f"{zlib.crc32(self.store_hash.encode()):08x}-sim",
            "domain": f"{self.store_hash}.mybigcommerce.com", "secure_url": f"https://{self.store_hash}.mybigcommerce.com",
            "control_panel_base_url": f"https://store-{self.store_hash}.mybigcommerce.com", "status": "live",
            "name": "Simulated Store", "first_name": "Sim", "last_name": "Merchant", "address": "",
            "country": "United States", "country_code": "US", "phone": "", "admin_email": "admin@example.com",
            "order_email": "orders@example.com", "favicon_url": "", "timezone": {
                "name": "Etc/UTC", "raw_offset": 0, "dst_offset": 0, "date_format": {
                    "display": "jS M Y", "export": "M jS Y", "extended_display": "M jS Y @ g:i A"}},
            "language": "en", "currency": self.currency, "currency_symbol": "$" if self.currency == "USD" else "",
            "decimal_separator": ".", "thousands_separator": ",", "decimal_places": 2,
            "currency_symbol_location": "left", "weight_units": "LBS", "dimension_units": "Inches",
            "dimension_decimal_places": 2, "dimension_decimal_token": ".", "dimension_thousands_token": ",",
            "plan_name": "Standard", "plan_level": "Standard", "plan_is_trial": False, "industry": "",
            "logo": [], "is_price_entered_with_tax": False, "store_id": int(self.store_id),
            "default_channel_id": 1, "default_site_id": 1, "active_comparison_modules": [],
            "features": {"stencil_enabled": True, "sitewidehttps_enabled": True, "facebook_catalog_id": "",
                         "checkout_type": "optimized", "wishlists_enabled": True,
                         "graphql_storefront_api_enabled": True, "shopper_consent_tracking_enabled": False,
                         "multi_storefront_enabled": True,
                         "storefront_limits": {"active": 1, "total_including_inactive": 1}},
        })

    async def archive_order(self, request: Request) -> Response:
        """``DELETE /v2/orders/{id}`` archives (``is_deleted: true``) and answers 204."""
        order = self._order(request)
        if not order.data["is_deleted"]:
            order.data["is_deleted"] = True
            self._touch(order)
            self._emit("store/order/archived", {"type": "order", "id": order.id})
        return Response(status_code=204)

    # -- sub-resources ------------------------------------------------------------------------------

    async def list_products(self, request: Request) -> Response:
        """``GET /v2/orders/{id}/products``: 50 a page by default, 204 past the last page."""
        order = self._order(request)
        params = request.query_params
        limit = _int(params.get("limit", 50), "limit", minimum=1)
        if limit > 250:
            raise _Invalid(413, "The requested limit exceeds the maximum of 250 items per page.")
        page = _int(params.get("page", 1), "page", minimum=1)
        rows = order.products[(page - 1) * limit: page * limit]
        if not rows:
            return Response(status_code=204)
        return json_response(rows)

    async def get_product(self, request: Request) -> Response:
        """``GET /v2/orders/{id}/products/{order_product_id}``."""
        order = self._order(request)
        wanted = int(request.path_params["item_id"])
        for product in order.products:
            if product["id"] == wanted:
                return json_response(product)
        raise _Invalid(404, "The requested resource was not found.")

    async def list_addresses(self, request: Request) -> Response:
        """``GET /v2/orders/{id}/shipping_addresses``."""
        order = self._order(request)
        return json_response(order.addresses) if order.addresses else Response(status_code=204)

    async def get_address(self, request: Request) -> Response:
        """``GET /v2/orders/{id}/shipping_addresses/{id}``."""
        order = self._order(request)
        wanted = int(request.path_params["item_id"])
        for address in order.addresses:
            if address["id"] == wanted:
                return json_response(address)
        raise _Invalid(404, "The requested resource was not found.")

    async def list_coupons(self, request: Request) -> Response:
        """``GET /v2/orders/{id}/coupons`` (204 when the order has none)."""
        order = self._order(request)
        return json_response(order.coupons) if order.coupons else Response(status_code=204)

    async def list_shipments(self, request: Request) -> Response:
        """``GET /v2/orders/{id}/shipments`` (204 when the order has none)."""
        order = self._order(request)
        if not order.shipments:
            return Response(status_code=204)
        return json_response(list(order.shipments.values()))

    async def count_shipments(self, request: Request) -> Response:
        """``GET /v2/orders/{id}/shipments/count``."""
        return json_response({"count": len(self._order(request).shipments)})

    def _shipment(self, order: _Order, request: Request) -> dict[str, Any]:
        shipment = order.shipments.get(int(request.path_params["item_id"]))
        if shipment is None:
            raise _Invalid(404, "The requested resource was not found.")
        return shipment

    async def get_shipment(self, request: Request) -> Response:
        """``GET /v2/orders/{id}/shipments/{shipment_id}``."""
        order = self._order(request)
        return json_response(self._shipment(order, request))

    @staticmethod
    def _check_shipment_fields(body: Mapping[str, Any], allowed: frozenset[str]) -> None:
        for key in body:
            if key in _SHIPMENT_READ_ONLY:
                raise _cannot_write(key)
            if key not in allowed:
                raise _not_supported(key)
        if "tracking_number" in body and len(str(body["tracking_number"] or "")) > 50:
            raise _invalid("tracking_number")
        if "tracking_link" in body and len(str(body["tracking_link"] or "")) > 500:
            raise _invalid("tracking_link")
        if "shipping_provider" in body:
            provider = str(body["shipping_provider"] or "")
            if provider and provider not in _SHIPPING_PROVIDERS and not (
                    provider.startswith("carrier_") and provider[8:].isdigit()):
                raise _invalid("shipping_provider")

    async def create_shipment(self, request: Request) -> Response:
        """``POST /v2/orders/{id}/shipments`` → 201; moves the order to Shipped / Partially Shipped."""
        order = self._order(request)
        body = await self._body(request)
        self._check_shipment_fields(body, _SHIPMENT_FIELDS)
        if body.get("order_address_id") is None:
            raise _Invalid(400, "The required field 'order_address_id' was not supplied.")
        address_id = _int(body["order_address_id"], "order_address_id")
        address = next((a for a in order.addresses if a["id"] == address_id), None)
        if address is None:
            raise _invalid("order_address_id")
        items_raw = body.get("items")
        if not isinstance(items_raw, list) or not items_raw:
            raise _Invalid(400, "The required field 'items' was not supplied.")
        wanted: dict[int, int] = {}
        for item in items_raw:
            if not isinstance(item, dict) or "order_product_id" not in item:
                raise _invalid("items")
            for key in item:
                if key not in ("order_product_id", "quantity", "product_id"):
                    raise _not_supported(key)
            product_id = _int(item["order_product_id"], "order_product_id")
            wanted[product_id] = wanted.get(product_id, 0) + _int(item.get("quantity", 1), "quantity", minimum=1)
        items: list[tuple[dict[str, Any], int]] = []
        for product_id, quantity in wanted.items():
            product = next((p for p in order.products if p["id"] == product_id), None)
            if product is None or product["order_address_id"] != address_id:
                raise _invalid("order_product_id")
            if product["quantity_shipped"] + quantity > product["quantity"]:
                raise _Invalid(400, "The quantity specified is greater than the quantity of the product that is "
                                    "available to ship.")
            items.append((product, quantity))
        shipment = self._ship(order, address, items, str(body.get("tracking_number") or ""),
                              str(body.get("shipping_provider") or ""), body, int(self.clock()))
        all_shipped = all(p["quantity_shipped"] >= p["quantity"] for p in order.products)
        previous = self._set_status(order, 2 if all_shipped else 3)
        self._touch(order)
        self._emit("store/shipment/created", {"type": "shipment", "id": shipment["id"], "orderId": order.id})
        if previous != order.data["status_id"]:
            self._emit("store/order/statusUpdated", {"type": "order", "id": order.id, "status": {
                "previous_status_id": previous, "new_status_id": order.data["status_id"]}})
        self._emit("store/order/updated", {"type": "order", "id": order.id})
        return json_response(shipment, 201)

    async def update_shipment(self, request: Request) -> Response:
        """``PUT /v2/orders/{id}/shipments/{shipment_id}``: tracking, provider, comments (not items)."""
        order = self._order(request)
        shipment = self._shipment(order, request)
        body = await self._body(request)
        if "items" in body:
            raise _cannot_write("items")
        self._check_shipment_fields(body, _SHIPMENT_FIELDS - {"items"})
        if "order_address_id" in body:
            address_id = _int(body["order_address_id"], "order_address_id")
            if not any(a["id"] == address_id for a in order.addresses):
                raise _invalid("order_address_id")
            shipment["order_address_id"] = address_id
        for key in ("tracking_number", "tracking_link", "shipping_provider", "tracking_carrier", "shipping_method",
                    "comments"):
            if key in body:
                shipment[key] = str(body[key] or "")
        if "merchant_shipping_cost" in body:
            shipment["merchant_shipping_cost"] = _m4(_dec(body["merchant_shipping_cost"], "merchant_shipping_cost"))
        provider = shipment["shipping_provider"]
        shipment["shipping_provider_display_name"] = _PROVIDER_NAMES.get(provider, "")
        shipment["generated_tracking_link"] = (
            _TRACKING_URLS[provider].format(shipment["tracking_number"])
            if provider in _TRACKING_URLS and shipment["tracking_number"] and not shipment["tracking_link"] else "")
        self._touch(order)
        self._emit("store/shipment/updated", {"type": "shipment", "id": shipment["id"], "orderId": order.id})
        return json_response(shipment)

    async def delete_shipment(self, request: Request) -> Response:
        """``DELETE …/shipments/{id}``: the items become shippable again; the status stays."""
        order = self._order(request)
        shipment = self._shipment(order, request)
        del order.shipments[shipment["id"]]
        for item in shipment["items"]:
            for product in order.products:
                if product["id"] == item["order_product_id"]:
                    product["quantity_shipped"] -= item["quantity"]
                    order.data["items_shipped"] -= item["quantity"]
                    for address in order.addresses:
                        if address["id"] == product["order_address_id"]:
                            address["items_shipped"] -= item["quantity"]
        self._touch(order)
        self._emit("store/shipment/deleted", {"type": "shipment", "id": shipment["id"], "orderId": order.id})
        return Response(status_code=204)

    async def list_statuses(self, request: Request) -> Response:
        """``GET /v2/order_statuses``."""
        return json_response([self._status_json(sid) for sid in STATUS_NAMES])

    async def get_status(self, request: Request) -> Response:
        """``GET /v2/order_statuses/{id}``."""
        sid = int(request.path_params["status_id"])
        if sid not in STATUS_NAMES:
            raise _Invalid(404, "The requested resource was not found.")
        return json_response(self._status_json(sid))

    @staticmethod
    def _status_json(sid: int) -> dict[str, Any]:
        name = STATUS_NAMES[sid]
        return {"id": sid, "name": name, "system_label": name, "custom_label": name,
                "system_description": _STATUS_TEXT[sid], "order": _STATUS_ORDER[sid]}

    # -- catalog V3 -------------------------------------------------------------------------------------

    def _variant_json(self, variant: _Variant) -> dict[str, Any]:
        return {
            "id": variant.id, "product_id": variant.product_id, "sku": variant.sku, "sku_id": variant.id,
            "price": float(variant.price), "calculated_price": float(variant.price), "sale_price": None,
            "retail_price": None, "map_price": None, "weight": float(variant.weight),
            "calculated_weight": float(variant.weight), "width": None, "height": None, "depth": None,
            "is_free_shipping": False, "fixed_cost_shipping_price": None, "purchasing_disabled": False,
            "purchasing_disabled_message": "", "image_url": "", "cost_price": 0, "upc": "", "mpn": "", "gtin": "",
            "inventory_level": variant.stock, "inventory_warning_level": 0, "bin_picking_number": "",
            "option_values": [dict(value) for value in variant.option_values],
        }

    @staticmethod
    def _v3_page(rows: list[dict[str, Any]], params: Mapping[str, str], path: str) -> Response:
        """One page of a Catalog V3 list with its ``meta.pagination`` (a ``limit`` above 250 serves 250)."""
        limit = min(_int(params.get("limit", 50), "limit", minimum=1), _V3_PAGE_CAP)
        page = _int(params.get("page", 1), "page", minimum=1)
        total = len(rows)
        chunk = rows[(page - 1) * limit: page * limit]
        pages = max(1, -(-total // limit))
        return json_response({"data": chunk, "meta": {"pagination": {
            "total": total, "count": len(chunk), "per_page": limit, "current_page": page, "total_pages": pages,
            "links": {"current": f"?page={page}&limit={limit}"}}}})

    async def list_variants(self, request: Request) -> Response:
        """``GET /v3/catalog/variants`` (filters ``sku``, ``sku:in`` (comma-separated), ``product_id``;
        ``page``/``limit``: 50 a page by default, at most 250)."""
        params = request.query_params
        variants: list[_Variant] = list(self.variants.values())
        if "sku" in params:
            found = self.variants_by_sku.get(params["sku"].upper())
            variants = [found] if found is not None else []
        if "sku:in" in params:
            wanted = {sku.strip().upper() for sku in params["sku:in"].split(",") if sku.strip()}
            variants = [v for v in variants if v.sku.upper() in wanted]
        if "product_id" in params:
            product_id = _int(params["product_id"], "product_id")
            variants = [v for v in variants if v.product_id == product_id]
        return self._v3_page([self._variant_json(v) for v in variants], params, "variants")

    async def list_catalog_products(self, request: Request) -> Response:
        """``GET /v3/catalog/products`` (filters ``sku``, ``id``; ``include=variants``)."""
        params = request.query_params
        products = list(self.products.values())
        if "sku" in params:
            sku = params["sku"].upper()
            products = [p for p in products if p.sku.upper() == sku]
        if "id" in params:
            product_id = _int(params["id"], "id")
            products = [p for p in products if p.id == product_id]
        include = params.get("include", "")
        rows = []
        for product in products:
            row: dict[str, Any] = {
                "id": product.id, "name": product.name, "type": "physical", "sku": product.sku,
                "price": float(product.price), "calculated_price": float(product.price),
                "weight": float(product.weight), "inventory_level": sum(v.stock for v in product.variants),
                "inventory_tracking": "variant" if product.option else "product", "is_visible": True,
                "base_variant_id": product.variants[0].id if product.option is None else None,
            }
            if "variants" in include:
                row["variants"] = [self._variant_json(v) for v in product.variants]
            rows.append(row)
        return self._v3_page(rows, params, "products")

    async def list_hooks(self, request: Request) -> Response:
        """``GET /v3/hooks``."""
        return json_response({"data": list(self.hooks.values()), "meta": {}})

    async def create_hook(self, request: Request) -> Response:
        """``POST /v3/hooks``: callbacks for ``scope`` go to ``destination`` with the given ``headers``."""
        body = await self._body(request)
        scope, destination = body.get("scope"), body.get("destination")
        if not isinstance(scope, str) or not scope.startswith("store/"):
            raise _Invalid(422, "The field 'scope' is invalid.")
        if not isinstance(destination, str) or not destination.startswith(("https://", "http://127.0.0.1",
                                                                           "http://localhost")):
            raise _Invalid(422, "The field 'destination' is invalid.")
        headers = body.get("headers") or {}
        if not isinstance(headers, dict):
            raise _Invalid(422, "The field 'headers' is invalid.")
        now = int(self.clock())
        hook: dict[str, Any] = {"id": self._next_id("hook"), "client_id": "simulator", "store_hash": self.store_hash,
                "scope": scope, "destination": destination, "headers": headers,
                "is_active": bool(body.get("is_active", True)), "created_at": now, "updated_at": now}
        self.hooks[hook["id"]] = hook
        self.webhooks.configure(destination, headers={str(k): str(v) for k, v in headers.items()})
        self._hook_scopes = {h["scope"] for h in self.hooks.values() if h["is_active"]}
        return json_response({"data": hook, "meta": {}}, 200)


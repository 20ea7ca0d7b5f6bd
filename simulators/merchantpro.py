"""A MerchantPro shop in memory: the REST API v2 order endpoints as the real API answers them.

What it reproduces (from the API page and a real order): the ``{data, meta{count, links}}`` list
envelope with ``start``/``limit`` (≤ 100) paging and relative ``links``; the documented filters, and
the real ``400 {"error": {"name": "undefined_filter", "message": "No such filter `x` defined"}}`` for
any other; ``fields=`` and ``include=line_items``; money as floats with up to four decimals and bare
ints when whole; ``null`` for unset values and ``""`` for a few blank strings; dates in ISO 8601 with
the shop's offset (Europe/Bucharest: ``+02:00``/``+03:00``); per-line sub-status objects,
``meta_fields``, ``channel_id: null``, ``source_type``; the ``Info_url`` spelling on plain list rows;
Basic auth with 401, then 403 lock-out after repeated bad credentials; 4 req/s and 80/min with 429
and ``Retry-After``; processing handlers answering ``{"ok": true}``; webhooks signed with
``X-Webhook-Signature``. Where the real behaviour is unknown, the choice is written down in
``docs/platforms/merchantpro.md``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import random
import threading
import time
from collections.abc import Callable, Collection, Iterable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from simulators.app import (
    RateWindow,
    SimulatorBase,
    WindowState,
    ceil_seconds,
    json_response,
    read_json,
    store_currency,
)
from simulators.catalog import DEMO_PRODUCTS, CatalogItem, fake_shopper
from simulators.faults import FaultConfig

__all__ = ["PAYMENT_TEXT", "SHIPPING_TEXT", "Simulator", "TwoWindows", "money_out"]

SHOP = "https://www.shop.sim.ro"
TZ = ZoneInfo("Europe/Bucharest")
_FOUR = Decimal("0.0001")
_HUNDRED = Decimal(100)

PAYMENT_TEXT = {
    "temporary": "Plata temporara", "awaiting": "Plata in asteptare", "paid": "Plata confirmata",
    "failed": "Plata esuata", "canceled": "Plata anulata", "cancelled": "Plata anulata",
    "refunded": "Plata rambursata", "rejected": "Plata respinsa",
}
SHIPPING_TEXT = {
    "awaiting": "Comanda in asteptare", "confirmed": "Comanda confirmata", "in_process": "Comanda in procesare",
    "shipped": "Comanda expediata", "delivered": "Comanda livrata", "returned": "Comanda returnata",
    "cancelled": "Comanda anulata",
}
PAYMENT_METHODS = {"cash_delivery": "Plata in sistem ramburs", "wire": "Transfer bancar", "paypal": "PayPal"}
SHIPPING_METHODS = {3: "Speedy", 5: "Fan Courier", 7: "Sameday easybox"}
CARRIERS = {"3": "speedy", "5": "fancourier", "7": "sameday"}
LINE_STATUS = {"id": 1, "name": "Nou", "color": "#1e88e5"}
_ORDER_FILTERS = frozenset({
    "id", "ids", "payment_status", "payment_substatus_id", "payment_method_code", "payment_transaction_id",
    "shipping_status", "shipping_substatus_id", "shipping_method_id", "shipping_awb", "customer_id",
    "customer_email", "created_after", "created_before", "tag_name", "tag_ids",
})
_PAGING = frozenset({"start", "limit", "sort", "fields", "include"})
_PRODUCT_FILTERS = frozenset({"id", "ids", "sku", "category_id"})
_HANDLERS = frozenset({"in_process", "shipped", "delivered", "returned", "cancelled", "create_invoice"})
_PATCHABLE = frozenset({
    "payment_status", "payment_substatus_id", "payment_method_code", "payment_transaction_id",
    "shipping_method_id", "shipping_amount", "shipping_awb", "shipping_carrier_id", "customer_note",
    "customer_notification", "billing_type", "billing_name", "billing_identity_number", "billing_company_name",
    "billing_company_number", "billing_company_vat", "billing_company_bank_name", "billing_company_bank_account",
    "billing_country_code", "billing_country_name", "billing_state", "billing_city", "billing_address",
    "billing_postal_code", "billing_phone", "shipping_name", "shipping_country_code", "shipping_country_name",
    "shipping_state", "shipping_city", "shipping_address", "shipping_postal_code", "shipping_phone",
})
_TAX = {"NB-A5": Decimal(9), "PEN-3": Decimal(9)}
_SHIPPING_TAX = Decimal(19)


def _now() -> datetime:
    return datetime.now(TZ).replace(microsecond=0)


def _stamp(value: datetime) -> str:
    """ISO 8601 with the shop's offset, seconds precision: ``2019-12-05T16:11:23+02:00``."""
    return value.astimezone(TZ).replace(microsecond=0).isoformat()


def _dec(value: Any) -> Decimal:
    """A number as MerchantPro takes it (JSON number or numeric string); ``ValueError`` (→ 400) otherwise."""
    if value is None or value == "":
        return Decimal(0)
    if isinstance(value, bool):
        raise ValueError("expected a number, got a boolean")
    try:
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a number") from None
    if not number.is_finite():
        raise ValueError(f"{value!r} is not a finite number")
    return number


def _when(value: str) -> datetime:
    """An ISO 8601 time as the API writes and takes it; a naive one is read as UTC."""
    parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def money_out(value: Decimal) -> int | float:
    """Money as MerchantPro writes it (B7, seed examples): a JSON int when whole (``109``), else a float."""
    return int(value) if value == value.to_integral_value() else float(value)


def _signed(raw: bytes, secret: str) -> dict[str, str]:
    """B5: ``X-Webhook-Signature`` = base64(HMAC-SHA256(raw body, webhook secret)), base64 not hex."""
    mac = hmac.new(secret.encode(), raw, hashlib.sha256).digest()
    return {"X-Webhook-Signature": base64.b64encode(mac).decode()}


class TwoWindows(RateWindow):
    """MerchantPro's two budgets at once: ``per_second`` requests a second and ``per_minute`` a minute."""

    def __init__(self, per_second: int = 4, per_minute: int = 80,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(per_minute, 60.0, clock)
        self.second = RateWindow(per_second, 1.0, clock)

    def hit(self) -> WindowState:
        """Count one request against both windows when both have room; a refusal counts in neither
        and reports the window that refused (when both did, the one that reopens later)."""
        with self.lock:
            fast, slow = self.second.peek(), self.peek()
            refusals = [state for state in (fast, slow) if not state.allowed]
            if refusals:
                return max(refusals, key=lambda state: state.reset_after)
            self.second.take()
            self.take()
            return WindowState(True, self.quota, slow.remaining - 1, self.window, slow.reset_after)

    def fresh(self, clock: Callable[[], float] | None = None) -> TwoWindows:
        """Both windows of the same shape, opening now (on ``clock``, else this one's)."""
        return TwoWindows(self.second.quota, self.quota, clock or self._clock)


class _Error(Exception):
    def __init__(self, status: int, name: str, message: str) -> None:
        super().__init__(message)
        self.status, self.name, self.message = status, name, message


class Simulator(SimulatorBase):
    """A stateful MerchantPro shop (orders, products, tags, webhooks) served as an ASGI app."""

    platform: ClassVar[str] = "merchantpro"
    default_rate_limit: ClassVar[tuple[int, float] | None] = (80, 60.0)

    def __init__(self, *, orders: int = 0, seed: int = 0, faults: FaultConfig | None = None,
                 rate_limit: bool | tuple[int, float] | None = True,
                 credentials: dict[str, str] | None = None, lockout_after: int = 5,
                 lockout_seconds: float = 60.0, currency: str | None = None) -> None:
        super().__init__(faults=faults, rate_limit=False)
        self.currency: str | None = store_currency(currency, "RON") if currency else None
        """The shop's currency when one was chosen; otherwise seeded orders mix RON and EUR."""
        if rate_limit is True:
            self.window = TwoWindows()
        elif rate_limit:
            self.window = RateWindow(*rate_limit)
        creds = credentials or {}
        self.api_key = creds.get("api_key", "sim-key")
        self.api_secret = creds.get("api_secret", "sim-secret")
        self.lockout_after = lockout_after
        self.lockout_seconds = lockout_seconds
        self._failures: list[float] = []
        self._locked_until = 0.0
        self.rng = random.Random(seed)
        self.orders: dict[str, dict[str, Any]] = {}
        self.products: list[dict[str, Any]] = []
        self.tags: dict[str, int] = {}
        self._ids = itertools.count(1)
        self._deliveries = itertools.count(1)
        self._lock = threading.RLock()
        self._seed_catalog()
        for _ in range(orders):
            self.add_random_order()

    # -- catalog and seeding ----------------------------------------------------------------------
    def _seed_catalog(self) -> None:
        groups: dict[str, list[CatalogItem]] = {}
        for item in DEMO_PRODUCTS:
            groups.setdefault(item.name, []).append(item)
        product_id, variant_id = 5001, 10004401
        for name, items in groups.items():
            first = items[0]
            gross = first.price
            rate = _TAX.get(first.sku, Decimal(19))
            product: dict[str, Any] = {
                "id": product_id, "name": name, "sku": first.sku if len(items) == 1 else first.sku.rsplit("-", 1)[0],
                "ean": None, "price_gross": money_out(gross),
                "price_net": money_out((gross * _HUNDRED / (_HUNDRED + rate)).quantize(_FOUR)),
                "tax_percent": money_out(rate),
                "stock": "-1.000" if len(items) == 1 else f"{sum(i.stock for i in items)}.000",
                "category_id": 6, "category_name": "Demo", "url": f"{SHOP}/cumpara?id={product_id}",
                "image_url": f"{SHOP}/files/p/{product_id}.jpg", "variants": None,
            }
            if len(items) > 1 or first.option_name:
                product["variants"] = []
                for item in items:
                    product["variants"].append({
                        "id": variant_id, "sku": item.sku, "ean": None, "price_gross": money_out(item.price),
                        "stock": f"{item.stock}.000",
                        "variant_options": [{"id": 27884, "name": item.option_name, "value": item.option_value}],
                    })
                    variant_id += 1
            self.products.append(product)
            product_id += 1

    def _by_sku(self, sku: str) -> tuple[dict[str, Any], dict[str, Any] | None] | None:
        for product in self.products:
            for variant in product["variants"] or ():
                if variant["sku"] == sku:
                    return product, variant
            if product["sku"] == sku and not product["variants"]:
                return product, None
        return None

    def _product(self, product_id: Any, variant_id: Any) -> tuple[dict[str, Any], dict[str, Any] | None] | None:
        for product in self.products:
            if str(product["id"]) == str(product_id):
                if variant_id in (None, 0, "0", ""):
                    return product, None
                for variant in product["variants"] or ():
                    if str(variant["id"]) == str(variant_id):
                        return product, variant
                return None
        return None

    def _new_id(self) -> str:
        while True:
            candidate = str(self.rng.randint(10_000_000, 99_999_999))
            if candidate not in self.orders:
                return candidate

    def add_random_order(self, *, created: datetime | None = None) -> dict[str, Any]:
        """Seed one realistic order (the shop's currency, else RON or EUR; 1 to 3 lines; a plausible status pair)."""
        rng = self.rng
        shopper = fake_shopper(rng)
        mixed = "RON" if rng.random() < 0.7 else "EUR"
        currency = self.currency or mixed
        created = created or (_now() - timedelta(days=rng.uniform(0, 60)))
        modified = created + timedelta(minutes=rng.randint(0, 3000))
        picks = rng.sample(range(len(DEMO_PRODUCTS)), rng.randint(1, 3))
        lines = []
        for pick in picks:
            item = DEMO_PRODUCTS[pick]
            found = self._by_sku(item.sku)
            assert found is not None
            lines.append(self._line_from_catalog(found[0], found[1], rng.randint(1, 3)))
        payment, shipping = rng.choice([
            ("awaiting", "awaiting"), ("awaiting", "confirmed"), ("paid", "in_process"), ("paid", "shipped"),
            ("awaiting", "shipped"), ("paid", "delivered"), ("cancelled", "cancelled"), ("refunded", "returned"),
            ("temporary", "awaiting"), ("failed", "awaiting"),
        ])
        method_id = rng.choice(list(SHIPPING_METHODS))
        name = f"{shopper.first_name} {shopper.last_name}"
        order: dict[str, Any] = {
            "id": int(self._new_id()),
            "payment_status": payment,
            "payment_method_code": "cash_delivery" if payment in ("awaiting", "cancelled") else
            rng.choice(["wire", "paypal"]),
            "shipping_status": shipping,
            "shipping_method_id": method_id,
            "shipping_amount": rng.choice([15, 19.99, 0]),
            "currency": currency,
            "customer_id": rng.randint(1, 500),
            "customer_email": shopper.email,
            "customer_ip_address": f"188.27.{rng.randint(1, 254)}.{rng.randint(1, 254)}",
            "customer_ip_country": "ro",
            "customer_device": rng.choice(["desktop", "mobile"]),
            "customer_lang": "ro_RO" if currency == "RON" else "en_US",
            "customer_note": rng.choice([None, None, "Va rog sunati inainte de livrare."]),
            "created_by": "customer",
            "billing_name": name,
            "billing_country_code": shopper.country_code,
            "billing_country_name": "United States",
            "billing_state": shopper.region,
            "billing_city": shopper.city,
            "billing_address": shopper.street,
            "billing_postal_code": shopper.postal_code,
            "billing_phone": shopper.phone,
            "shipping_name": name,
            "shipping_country_code": shopper.country_code,
            "shipping_country_name": "United States",
            "shipping_state": shopper.region,
            "shipping_city": shopper.city,
            "shipping_address": shopper.street,
            "shipping_postal_code": shopper.postal_code,
            "shipping_phone": shopper.phone,
        }
        with self._lock:
            stored = self._build(order, lines, created=created)
            stored["date_modified"] = _stamp(modified)
            if shipping in ("shipped", "delivered", "returned"):
                stored["shipping_awb"] = str(rng.randint(10**10, 10**11))
                stored["shipping_carrier_id"] = str(method_id)
                stored["date_shipped"] = _stamp(created + timedelta(days=1))
                if shipping == "delivered":
                    stored["date_delivered"] = _stamp(created + timedelta(days=3))
            self.orders[str(stored["id"])] = stored
        return stored

    def _line_from_catalog(self, product: dict[str, Any], variant: dict[str, Any] | None, quantity: int,
                           prices: dict[str, Any] | None = None) -> dict[str, Any]:
        rate = _dec(product["tax_percent"])
        gross = _dec((variant or product)["price_gross"])
        net = (gross * _HUNDRED / (_HUNDRED + rate)).quantize(_FOUR)
        if prices:
            if prices.get("unit_price_net") is not None:
                net = _dec(prices["unit_price_net"])
            if prices.get("product_tax_percent") is not None:
                rate = _dec(prices["product_tax_percent"])
            if prices.get("unit_price_gross") is not None:
                gross = _dec(prices["unit_price_gross"])
            else:
                gross = (net * (_HUNDRED + rate) / _HUNDRED).quantize(_FOUR)
        options = variant["variant_options"] if variant else None
        return {
            "item_type": "product",
            "product_id": product["id"],
            "variant_id": variant["id"] if variant else None,
            "variant_name": ", ".join(f"{o['name']}: {o['value']}" for o in options) if options else None,
            "variant_options": options,
            "family_sku": product["sku"],
            "product_sku": variant["sku"] if variant else product["sku"],
            "product_ean": None,
            "product_name": product["name"],
            "product_url": product["url"],
            "product_image_url": product["image_url"],
            "product_tax_name": "TVA",
            "product_tax_percent": money_out(rate),
            "category_id": product["category_id"],
            "category_name": product["category_name"],
            "manufacturer_id": 0,
            "quantity": quantity,
            "unit_price_net": money_out(net),
            "unit_tax_amount": money_out(gross - net),
            "unit_price_gross": money_out(gross),
            "line_subtotal_net": money_out(net * quantity),
            "line_tax_amount": money_out((gross - net) * quantity),
            "line_subtotal_gross": money_out(gross * quantity),
            "meta_fields": None,
            "status": dict(LINE_STATUS),
        }

    def _build(self, body: dict[str, Any], lines: list[dict[str, Any]], *, created: datetime) -> dict[str, Any]:
        """A full stored order from create fields and priced lines (totals computed here)."""
        payment = body.get("payment_status") or "awaiting"
        shipping = body.get("shipping_status") or "awaiting"
        method_id = body.get("shipping_method_id") or 0
        order_id = body.get("id") or int(self._new_id())
        key = f"{self.rng.getrandbits(128):032x}"
        order: dict[str, Any] = {
            "id": order_id, "parent_id": None, "return_source_id": None, "rma_orders": None,
            "channel_id": None, "channel_name": None, "channel_ref_id": None, "source_type": "system",
            "payment_status": payment, "payment_status_text": PAYMENT_TEXT.get(payment, payment),
            "payment_substatus_id": None, "payment_substatus_text": None,
            "payment_method_code": body.get("payment_method_code") or "cash_delivery",
            "payment_method_name": PAYMENT_METHODS.get(body.get("payment_method_code") or "cash_delivery"),
            "payment_transaction_id": body.get("payment_transaction_id"),
            "shipping_status": shipping, "shipping_status_text": SHIPPING_TEXT.get(shipping, shipping),
            "shipping_substatus_id": None, "shipping_substatus_text": None,
            "shipping_method_id": method_id, "shipping_method_name": SHIPPING_METHODS.get(method_id),
            "shipping_delivery_info": None, "shipping_carrier_id": body.get("shipping_carrier_id"),
            "shipping_awb": body.get("shipping_awb"),
            "shipping_amount": body.get("shipping_amount"), "shipping_tax_amount": None,
            "subtotal_excluding_tax": None, "total_amount": 0,
            "currency": body.get("currency") or self.currency or "RON",
            "original_currency": None, "currency_rate": None,
            "coupon_code": body.get("coupon_code"),
            "customer_id": body.get("customer_id"), "customer_email": body.get("customer_email"),
            "customer_ip_address": body.get("customer_ip_address", ""),
            "customer_ip_country": body.get("customer_ip_country", ""),
            "customer_device": body.get("customer_device", "manual"),
            "customer_lang": body.get("customer_lang"), "customer_note": body.get("customer_note"),
            "customer_notification": None,
            "date_created": _stamp(created), "date_modified": _stamp(created),
            "date_shipped": None, "date_delivered": None,
            "created_by": body.get("created_by", "system"),
            "meta_fields": body.get("meta_fields"),
            "internal_notes": None, "tags": None,
            "billing_type": body.get("billing_type") or "individual",
        }
        for field in sorted(_PATCHABLE):
            if field.startswith(("billing_", "shipping_")) and field not in order:
                order[field] = body.get(field)
        order["line_items"] = lines
        order["invoice"] = None
        order["info_url"] = f"{SHOP}/comanda/info/{key}/{order_id}"
        order["proforma_url"] = f"{SHOP}/comanda/proforma/{key}/{order_id}"
        self._set_tags(order, body.get("tags"))
        self._add_notes(order, body.get("internal_notes"))
        self._totals(order)
        return order

    def _totals(self, order: dict[str, Any]) -> None:
        lines = order["line_items"] or []
        gross = sum((_dec(line["line_subtotal_gross"]) for line in lines), Decimal(0))
        net = sum((_dec(line["line_subtotal_net"]) for line in lines), Decimal(0))
        shipping = order.get("shipping_amount")
        if shipping is None:
            order["shipping_tax_amount"] = None
            ship = Decimal(0)
        else:
            ship = _dec(shipping)
            order["shipping_amount"] = money_out(ship)
            tax = (ship - ship * _HUNDRED / (_HUNDRED + _SHIPPING_TAX)).quantize(Decimal("0.01"))
            order["shipping_tax_amount"] = money_out(tax)
        order["subtotal_excluding_tax"] = money_out(net)
        order["total_amount"] = money_out(gross + ship)

    def _set_tags(self, order: dict[str, Any], tags: Any) -> None:
        """ASSUMPTION (real behaviour unknown, docs/platforms/merchantpro.md "Assumptions"): ``tags`` on
        POST/PATCH replaces the order's whole tag list, as ``line_items`` does (B7); it is not merged."""
        if tags is None:
            return
        if not isinstance(tags, list):
            raise _Error(400, "invalid_value", "tags must be a list")
        out = []
        for tag in tags:
            name = tag.get("name") if isinstance(tag, dict) else None
            if not isinstance(name, str) or not name.strip():
                raise _Error(400, "invalid_value", "tags[].name is required")
            tag_id = self.tags.setdefault(name, len(self.tags) + 1)
            out.append({"id": tag_id, "name": name})
        order["tags"] = out or None

    def _add_notes(self, order: dict[str, Any], notes: Any) -> None:
        if not notes:
            return
        if not isinstance(notes, list):
            raise _Error(400, "invalid_value", "internal_notes must be a list")
        kept = list(order.get("internal_notes") or [])
        for note in notes:
            text = note.get("text") if isinstance(note, dict) else None
            if not isinstance(text, str):
                raise _Error(400, "invalid_value", "internal_notes[].text is required")
            kept.append({"id": next(self._ids), "text": text, "date_created": _stamp(_now())})
        order["internal_notes"] = kept

    def _priced_lines(self, items: Any) -> list[dict[str, Any]]:
        if not isinstance(items, list) or not items:
            raise _Error(400, "invalid_value", "line_items must be a non-empty list")
        lines = []
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                raise _Error(400, "invalid_value", f"line_items[{index}] must be an object")
            if item.get("product_id") in (None, "", 0):
                raise _Error(400, "invalid_value", f"line_items[{index}].product_id is required")
            found = self._product(item.get("product_id"), item.get("variant_id"))
            if found is None:
                raise _Error(400, "invalid_product",
                             f"line_items[{index}]: product {item.get('product_id')} / variant "
                             f"{item.get('variant_id')} does not exist")
            quantity = item.get("quantity")
            if not isinstance(quantity, int | float) or isinstance(quantity, bool) or quantity < 1:
                raise _Error(400, "invalid_value", f"line_items[{index}].quantity must be a positive number")
            try:
                line = self._line_from_catalog(found[0], found[1], int(quantity), prices=item)
            except ValueError as error:
                raise _Error(400, "invalid_value", f"line_items[{index}]: {error}") from None
            if isinstance(item.get("meta_fields"), dict):
                line["meta_fields"] = item["meta_fields"]
            lines.append(line)
        return lines

    # -- test helpers -----------------------------------------------------------------------------
    def touch(self, order_id: str, **changes: Any) -> dict[str, Any]:
        """Change an order as a merchant would in the panel (bumps ``date_modified``, sends a webhook)."""
        with self._lock:
            order = self.orders[str(order_id)]
            order.update(changes)
            if "payment_status" in changes:
                order["payment_status_text"] = PAYMENT_TEXT.get(order["payment_status"], order["payment_status"])
            if "shipping_status" in changes:
                order["shipping_status_text"] = SHIPPING_TEXT.get(order["shipping_status"], order["shipping_status"])
            self._modified(order)
        self._emit("order.updated", order)
        return order

    def _modified(self, order: dict[str, Any]) -> None:
        now = _now()
        previous = _when(order["date_modified"])
        if now <= previous:
            now = previous + timedelta(seconds=1)
        order["date_modified"] = _stamp(now)

    def configure_webhooks(self, url: str | None, secret: str | None = None) -> None:
        """Send signed order webhooks to ``url`` (``X-Webhook-Signature`` with ``secret``)."""
        if secret:
            key = secret
            self.webhooks.configure(url, sign=lambda raw: _signed(raw, key))
        else:
            self.webhooks.configure(url)

    def _emit(self, event: str, order: dict[str, Any]) -> None:
        self.webhooks.emit(event, {
            "event": event,
            "id": f"whd_{next(self._deliveries):06d}_{self.rng.getrandbits(32):08x}",
            "created_at": _stamp(_now()),
            "data": {"id": order["id"], "payment_status": order.get("payment_status"),
                     "shipping_status": order.get("shipping_status")},
        })

    # -- platform hooks ---------------------------------------------------------------------------
    def error_response(self, status: int, message: str) -> Response:
        """MerchantPro's error body ``{"error": {"name", "message"}}``."""
        names = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                 405: "method_not_allowed", 429: "too_many_requests"}
        return json_response({"error": {"name": names.get(status, "server_error"), "message": message}}, status)

    def rate_limited_response(self, state: WindowState) -> Response:
        """429 with ``Retry-After`` (seconds until the window that refused resets)."""
        response = self.error_response(429, "Too many requests, please retry later")
        response.headers["Retry-After"] = str(ceil_seconds(state.reset_after))
        return response

    def authenticate(self, request: Request) -> Response | None:
        """Basic auth. Repeated invalid credentials → 403 is documented (B1); the numbers are an ASSUMPTION
        (docs/platforms/merchantpro.md "Assumptions"): 5 failures within a minute lock the API for
        ``lockout_seconds``, answered with 403 and ``Retry-After``."""
        now = time.monotonic()
        with self._lock:
            if now < self._locked_until:
                return self._locked(now)
            header = request.headers.get("authorization", "")
            good = False
            if header.lower().startswith("basic "):
                try:
                    user, _, password = base64.b64decode(header[6:].strip()).decode("utf-8").partition(":")
                    good = user == self.api_key and password == self.api_secret
                except ValueError:
                    good = False
            if good:
                self._failures.clear()
                return None
            self._failures = [t for t in self._failures if now - t < 60.0] + [now]
            if len(self._failures) >= self.lockout_after:
                self._locked_until = now + self.lockout_seconds
                self._failures.clear()
                return self._locked(now)
        return self.error_response(401, "Invalid API credentials")

    def _locked(self, now: float) -> Response:
        response = self.error_response(403, "Access temporarily blocked after repeated failed authentications")
        response.headers["Retry-After"] = str(ceil_seconds(self._locked_until - now))
        return response

    # -- routes -----------------------------------------------------------------------------------
    def access(self, *, hidden: Collection[str] = ()) -> tuple[str, str]:
        """MerchantPro's ``/api/v2`` with HTTP Basic ``api_key:api_secret``."""
        return "/api/v2", (f"HTTP Basic, user {self.shown('api_key', self.api_key, hidden)}, "
                           f"password {self.shown('api_secret', self.api_secret, hidden)}")

    def routes(self) -> list[BaseRoute]:
        """The order and product endpoints under ``/api/v2``."""
        e = self.endpoint
        return [
            Route("/api/v2/orders", e(self._list_orders, route="GET /orders"), methods=["GET"]),
            Route("/api/v2/orders", e(self._create_order, write=True, route="POST /orders"), methods=["POST"]),
            Route("/api/v2/orders/{order_id}", e(self._get_order, route="GET /orders/{id}"), methods=["GET"]),
            Route("/api/v2/orders/{order_id}", e(self._patch_order, write=True, route="PATCH /orders/{id}"),
                  methods=["PATCH"]),
            Route("/api/v2/orders/{order_id}", e(self._delete_order, write=True, route="DELETE /orders/{id}"),
                  methods=["DELETE"]),
            Route("/api/v2/orders/{order_id}/{handler}", e(self._process, write=True,
                                                             route="PATCH /orders/{id}/{handler}"), methods=["PATCH"]),
            Route("/api/v2/products", e(self._list_products, route="GET /products"), methods=["GET"]),
            Route("/api/v2/products/{product_id}", e(self._get_product, route="GET /products/{id}"), methods=["GET"]),
        ]

    def fallback_routes(self) -> list[BaseRoute]:
        """Any other path: MerchantPro's JSON error body (``not_found``), after auth and the rate windows."""
        async def not_found(request: Request) -> Response:
            return self.error_response(404, f"No route for {request.method} {request.url.path}")

        methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
        return [Route("/{path:path}", self.endpoint(not_found, route="(unknown path)"), methods=methods)]

    async def _run(self, work: Callable[[], Any]) -> Response:
        try:
            with self._lock:
                result = work()
        except _Error as error:
            return json_response({"error": {"name": error.name, "message": error.message}}, error.status)
        return json_response(result)

    @staticmethod
    def _check_filters(request: Request, allowed: Iterable[str]) -> None:
        allowed = frozenset(allowed) | _PAGING
        for name in request.query_params:
            if name not in allowed:
                raise _Error(400, "undefined_filter", f"No such filter `{name}` defined")

    @staticmethod
    def _view(order: dict[str, Any], fields: list[str] | None, lines: bool, list_row: bool) -> dict[str, Any]:
        if fields:
            return {"id": order["id"], **{f: order[f] for f in fields if f in order and f != "id"}}
        view = {k: v for k, v in order.items() if lines or k != "line_items"}
        if list_row and not lines:
            view = {("Info_url" if k == "info_url" else k): v for k, v in view.items()}
        return view

    async def _list_orders(self, request: Request) -> Response:
        def work() -> dict[str, Any]:
            self._check_filters(request, _ORDER_FILTERS)
            q = request.query_params
            rows = list(self.orders.values())
            rows = [row for row in rows if self._matches(row, q)]
            sort = q.get("sort", "date_created.desc")
            if sort not in ("date_created", "date_created.desc"):
                raise _Error(400, "invalid_sort", f"Cannot sort by `{sort}`")
            rows.sort(key=lambda r: (_when(r["date_created"]), int(r["id"])),
                      reverse=sort.endswith(".desc"))
            start, limit = self._paging(q.get("start"), q.get("limit"))
            page = rows[start:start + limit]
            include = set((q.get("include") or "").split(","))
            fields = [f for f in (q.get("fields") or "").split(",") if f] or None
            data = [self._view(row, fields, "line_items" in include, True) for row in page]
            base = dict(q)
            links = {"prev": None, "current": self._link(request, base), "next": None}
            if start > 0:
                links["prev"] = self._link(request, {**base, "start": str(max(0, start - limit)), "limit": str(limit)})
            if start + limit < len(rows):
                links["next"] = self._link(request, {**base, "start": str(start + limit), "limit": str(limit)})
            return {"data": data, "meta": {"count": {"total": len(rows), "current": len(data), "start": start,
                                                     "limit": limit}, "links": links}}

        return await self._run(work)

    @staticmethod
    def _link(request: Request, params: dict[str, str]) -> str:
        query = urlencode(params, safe=",:")
        return f"{request.url.path}?{query}" if query else request.url.path

    @staticmethod
    def _paging(start: str | None, limit: str | None) -> tuple[int, int]:
        try:
            first = int(start or 0)
            size = int(limit or 100)
        except ValueError:
            raise _Error(400, "invalid_value", "start and limit must be integers") from None
        if first < 0 or size < 1:
            raise _Error(400, "invalid_value", "start must be >= 0 and limit >= 1")
        if size > 100:  # the seed page: "The maximum number of records per page cannot exceed 100."
            raise _Error(400, "invalid_value", "limit cannot exceed 100")
        return first, size

    def _matches(self, row: dict[str, Any], q: Any) -> bool:
        for name, value in q.items():
            if name in _PAGING:
                continue
            if name == "ids":
                if str(row["id"]) not in {v.strip() for v in value.split(",")}:
                    return False
            elif name == "tag_name":
                if not any(tag["name"] == value for tag in row.get("tags") or ()):
                    return False
            elif name == "tag_ids":
                wanted = {v.strip() for v in value.split(",")}
                if not any(str(tag["id"]) in wanted for tag in row.get("tags") or ()):
                    return False
            elif name in ("created_after", "created_before"):
                bound = self._bound(value)
                created = _when(row["date_created"])
                if name == "created_after" and created < bound:
                    return False
                if name == "created_before" and created >= bound:
                    return False
            elif str(row.get(name)) != value:
                return False
        return True

    @staticmethod
    def _bound(value: str) -> datetime:
        try:
            if len(value) == 10:
                return datetime.combine(date.fromisoformat(value), datetime.min.time(), TZ).astimezone(UTC)
            return _when(value)
        except ValueError:
            raise _Error(400, "invalid_value", f"`{value}` is not an ISO 8601 date") from None

    def _find(self, order_id: str) -> dict[str, Any]:
        order = self.orders.get(order_id)
        if order is None:
            raise _Error(404, "not_found", f"Order {order_id} not found")
        return order

    async def _get_order(self, request: Request) -> Response:
        def work() -> dict[str, Any]:
            order = self._find(request.path_params["order_id"])
            fields = [f for f in (request.query_params.get("fields") or "").split(",") if f] or None
            return self._view(order, fields, True, False)

        return await self._run(work)

    async def _create_order(self, request: Request) -> Response:
        body = await read_json(request)

        def work() -> dict[str, Any]:
            if not isinstance(body, dict):
                raise _Error(400, "invalid_value", "the body must be a JSON object")
            self._check_values(body, creating=True)
            lines = self._priced_lines(body.get("line_items"))
            order = self._build({k: v for k, v in body.items() if k != "id"}, lines, created=_now())
            self.orders[str(order["id"])] = order
            return order

        response = await self._run(work)
        if response.status_code == 200:
            self._emit("order.created", self.orders[self._last_id(response)])
        return response

    @staticmethod
    def _last_id(response: Response) -> str:
        import orjson

        return str(orjson.loads(bytes(response.body))["id"])

    @staticmethod
    def _check_values(body: dict[str, Any], *, creating: bool) -> None:
        if body.get("payment_status") not in (None, *PAYMENT_TEXT):
            raise _Error(400, "invalid_value", f"payment_status `{body['payment_status']}` is not valid")
        if body.get("shipping_status") not in (None, *SHIPPING_TEXT):
            raise _Error(400, "invalid_value", f"shipping_status `{body['shipping_status']}` is not valid")
        if creating and body.get("customer_email") in (None, ""):
            raise _Error(400, "invalid_value", "customer_email is required")

    async def _patch_order(self, request: Request) -> Response:
        body = await read_json(request)

        def work() -> dict[str, Any]:
            order = self._find(request.path_params["order_id"])
            if not isinstance(body, dict):
                raise _Error(400, "invalid_value", "the body must be a JSON object")
            self._check_values(body, creating=False)
            if "line_items" in body:
                order["line_items"] = self._priced_lines(body["line_items"])  # replace-style, as the real API
            for key, value in body.items():
                if key in _PATCHABLE:
                    order[key] = value
            if "payment_status" in body:
                order["payment_status_text"] = PAYMENT_TEXT[body["payment_status"]]
            if "shipping_method_id" in body:
                order["shipping_method_name"] = SHIPPING_METHODS.get(body["shipping_method_id"])
            if "tags" in body:
                self._set_tags(order, body["tags"])
            self._add_notes(order, body.get("internal_notes"))
            if isinstance(body.get("meta_fields"), dict):
                order["meta_fields"] = {**(order.get("meta_fields") or {}), **body["meta_fields"]}
            self._totals(order)
            self._modified(order)
            return order

        response = await self._run(work)
        if response.status_code == 200:
            self._emit("order.updated", self.orders[request.path_params["order_id"]])
        return response

    async def _process(self, request: Request) -> Response:
        handler = request.path_params["handler"]

        def work() -> dict[str, Any]:
            if handler not in _HANDLERS:
                raise _Error(404, "not_found", f"Unknown request handler `{handler}`")
            order = self._find(request.path_params["order_id"])
            current = order["shipping_status"]
            if handler == "create_invoice":
                if order["invoice"] is None:
                    order["invoice"] = {"prefix": "SIM", "number": f"{next(self._ids):07d}", "app": "billing",
                                        "cancelled": False, "url": f"{SHOP}/comanda/invoice/{order['id']}"}
            elif current == "cancelled" and handler != "cancelled":
                raise _Error(400, "invalid_status", "The order is cancelled and cannot be processed")
            elif handler == "returned" and current not in ("shipped", "delivered", "returned"):
                raise _Error(400, "invalid_status", "Only shipped or delivered orders can be returned")
            elif handler != current:
                order["shipping_status"] = handler
                order["shipping_status_text"] = SHIPPING_TEXT[handler]
                now = _stamp(_now())
                if handler in ("shipped", "delivered") and order["date_shipped"] is None:
                    order["date_shipped"] = now
                if handler == "delivered":
                    order["date_delivered"] = now
                if handler == "cancelled" and order["payment_status"] in ("awaiting", "temporary"):
                    order["payment_status"] = "cancelled"
                    order["payment_status_text"] = PAYMENT_TEXT["cancelled"]
            self._modified(order)
            return {"ok": True}

        response = await self._run(work)
        if response.status_code == 200:
            self._emit("order.status_changed", self.orders[request.path_params["order_id"]])
        return response

    async def _delete_order(self, request: Request) -> Response:
        def work() -> dict[str, Any]:
            order = self._find(request.path_params["order_id"])
            del self.orders[str(order["id"])]
            return order

        response = await self._run(work)
        if response.status_code == 200:
            self.webhooks.emit("order.deleted", {
                "event": "order.deleted", "id": f"whd_{next(self._deliveries):06d}", "created_at": _stamp(_now()),
                "data": {"id": int(request.path_params["order_id"])},
            })
            return json_response({"ok": True})
        return response

    async def _list_products(self, request: Request) -> Response:
        def work() -> dict[str, Any]:
            self._check_filters(request, _PRODUCT_FILTERS)
            q = request.query_params
            rows = self.products
            if "sku" in q:
                sku = q["sku"]
                rows = [p for p in rows if p["sku"] == sku or any(v["sku"] == sku for v in p["variants"] or ())]
            if "ids" in q:
                wanted = set(q["ids"].split(","))
                rows = [p for p in rows if str(p["id"]) in wanted]
            if "id" in q:
                rows = [p for p in rows if str(p["id"]) == q["id"]]
            start, limit = self._paging(q.get("start"), q.get("limit"))
            page = rows[start:start + limit]
            include = set((q.get("include") or "").split(","))
            data = [p if "variants" in include else {k: v for k, v in p.items() if k != "variants"} for p in page]
            return {"data": data, "meta": {"count": {"total": len(rows), "current": len(data), "start": start,
                                                     "limit": limit},
                                           "links": {"prev": None, "current": self._link(request, dict(q)),
                                                     "next": None}}}

        return await self._run(work)

    async def _get_product(self, request: Request) -> Response:
        def work() -> dict[str, Any]:
            for product in self.products:
                if str(product["id"]) == request.path_params["product_id"]:
                    return product
            raise _Error(404, "not_found", "Product not found")

        return await self._run(work)

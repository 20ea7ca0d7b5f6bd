"""A CS-Cart 4.x store simulator (ASGI): the REST API surface ordersync uses, with CS-Cart's quirks.

What it reproduces (see ``docs/platforms/cscart.md`` for the list of deviations):

- ``/api`` and ``/api/2.0`` prefixes, ``/api/stores/<company_id>/orders`` for creates;
  HTTP Basic with the administrator e-mail and API key, 401 with
  ``WWW-Authenticate: Basic realm="User email/API key"``; a read-only administrator gets 403;
- error bodies ``{"message": "<Reason>: <details>", "messages": [...], "status": N}``;
- strings for columns, PHP numbers/booleans for computed fields, ``total_items`` as a string,
  out-of-range pages clamped to the last page;
- the list filters of ``fn_get_orders`` (status incl. arrays, user_id, company_id, email as a
  substring, order_id lists, total_from/to, ``period=C`` creation windows, ``updated_at_from/to``
  on 4.13+ only, ``get_orders_data=1``), sort_by limited to order_id|status|customer|email|date|total;
  incomplete (``N``) and parent orders never listed;
- creates: status always ``O``, prices recomputed from the catalog (which differs slightly from
  the demo prices), lines without ``amount`` silently skipped, same product+options merged into
  one line (crc32 item ids), 403 "No shipping methods are available" outside the shipping zone,
  400 "The <field> field is required"; 201 ``{"order_id": "N"}`` plus ``order_data`` on 4.13+;
- updates: a status-only body changes the status without recalculation (4.14+: ``status`` alone);
  anything else re-prices the order from the catalog, ``total`` forces the total, ``products``
  replaces every line; ``updated_at`` moves on every order change;
- shipments keyed by item_id, capped at what is left to ship, ``order_status`` applied, 400 without
  tracking number and carrier; PUT changes only tracking/carrier/comments/timestamp and only on a
  single full shipment; shipments without ``order_status`` leave the order's ``updated_at`` alone;
- ``/api/statuses`` (with a custom letter ``Z``) and ``/api/products?pcode=`` (a substring match;
  option combinations report ``combination``);
- a store ``version`` (default ``4.13.2``); ``"4.3"`` behaves like an old store that ignores
  ``updated_at_from``/``updated_at_to`` and answers creates without ``order_data``.

There are no webhooks: CS-Cart has none.
"""

from __future__ import annotations

import base64
import binascii
import random
import re
import threading
import time
import zlib
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, ClassVar

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from simulators import FaultConfig, SimulatorBase, json_response
from simulators.app import WindowState, ceil_seconds, read_json, store_currency
from simulators.catalog import DEMO_PRODUCTS, fake_shopper

__all__ = ["SHIPPING_METHODS", "STATUSES", "SimOrder", "SimProduct", "Simulator"]

_CENT = Decimal("0.01")
_ZERO = Decimal(0)
_REASONS = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
            409: "Conflict", 415: "Unsupported Media Type", 500: "Internal Server Error",
            503: "Service Unavailable", 504: "Gateway Timeout"}
_SORTS = ("order_id", "status", "customer", "email", "date", "total")

STATUSES: tuple[dict[str, Any], ...] = (
    {"status": "P", "description": "Processed", "params": {"inventory": "D", "payment_received": "Y", "notify": "Y",
                                                          "color": "#97cf4d"}},
    {"status": "C", "description": "Complete", "params": {"inventory": "D", "payment_received": "Y", "notify": "Y",
                                                         "color": "#97cf4d"}},
    {"status": "O", "description": "Open", "params": {"inventory": "D", "notify": "Y", "color": "#ff5215"}},
    {"status": "F", "description": "Failed", "params": {"inventory": "I", "notify": "Y", "color": "#ff5215"}},
    {"status": "D", "description": "Declined", "params": {"inventory": "I", "notify": "Y", "color": "#ff5215"}},
    {"status": "B", "description": "Backordered", "params": {"inventory": "D", "notify": "Y", "color": "#28abf6"}},
    {"status": "I", "description": "Cancelled", "params": {"inventory": "I", "notify": "Y", "color": "#c2c2c2"}},
    {"status": "Y", "description": "Awaiting call", "params": {"inventory": "D", "notify": "Y", "color": "#cc4125"}},
    {"status": "Z", "description": "Awaiting pickup", "params": {"inventory": "D", "payment_received": "Y",
                                                                "notify": "Y", "color": "#3c78d8"}},
)
"""Order statuses (type O): CS-Cart's defaults plus one custom letter, ``Z``."""

_SHIPMENT_STATUSES = (("P", "Picked up"), ("A", "Packed"), ("S", "Shipped"))
_INTERNAL = {"N": "I", "T": "I"}  # incomplete and parent: not in /api/statuses, inventory "increase"

SHIPPING_METHODS: dict[str, dict[str, Any]] = {
    "1": {"shipping": "Custom shipping method", "delivery_time": "3-5 days", "rate": Decimal("5.00"),
          "countries": {"US", "CA"}},
    "3": {"shipping": "FedEx Home Delivery", "delivery_time": "2 days", "rate": Decimal("9.74"), "countries": {"US"}},
}
"""The store's shipping methods: flat rates, and the countries each one serves."""

PAYMENT_METHODS: dict[str, dict[str, Any]] = {
    "2": {"payment": "Phone ordering", "description": "Call to 5555555", "surcharge": Decimal(0), "title": ""},
    "4": {"payment": "Cash on delivery", "description": "", "surcharge": Decimal("2.00"), "title": "COD fee"},
    "6": {"payment": "Credit card", "description": "", "surcharge": Decimal(0), "title": ""},
}

_PRICE_DRIFT = {"BTL-750": Decimal("31.50"), "NB-A5": Decimal("7.29")}
"""Where this store's catalog prices differ from the demo catalog (so creates show repricing)."""

_TAX_ID = "6"
_TAX_RATE = Decimal(10)
_PROMOTION_ID = "15"
_PROMOTION_NAME = "5% off orders over $200"
_PROMOTION_THRESHOLD = Decimal(200)
_PROMOTION_PERCENT = Decimal(5)
_STATES = {"US": {"CA": "California", "TX": "Texas", "NY": "New York", "MA": "Massachusetts", "WA": "Washington",
                  "FL": "Florida", "IL": "Illinois"},
           "CA": {"ON": "Ontario", "QC": "Quebec", "BC": "British Columbia"},
           "DE": {"BE": "Berlin", "BY": "Bayern"}, "RO": {"B": "Bucuresti", "CJ": "Cluj"}}
_COUNTRIES = {"US": "United States", "CA": "Canada", "DE": "Germany", "RO": "Romania", "GB": "United Kingdom",
              "FR": "France"}
_ADDRESS_FIELDS = ("firstname", "lastname", "address", "address_2", "city", "county", "state", "country", "zipcode",
                   "phone")
_ORDER_COLUMNS = frozenset({"notes", "details", "timestamp", "firstname", "lastname", "email", "phone", "company",
                            "fax", "url", "tax_exempt", "lang_code", "ip_address", "company_id",
                            *(f"{p}_{f}" for p in ("b", "s") for f in _ADDRESS_FIELDS)})


def _money(value: Decimal) -> str:
    return format(value.quantize(_CENT, ROUND_HALF_UP), "f")


def _num(value: Decimal) -> int | float:
    value = value.quantize(_CENT, ROUND_HALF_UP)
    return int(value) if value == value.to_integral_value() else float(value)


def _cart_id(product_id: str, options: dict[str, str]) -> str:
    variants = sorted(options.values(), key=lambda v: (0, int(v)) if v.isdigit() else (1, v))
    return str(zlib.crc32("_".join([product_id, *variants]).encode()))


def _dec(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        result = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return result if result.is_finite() else None


def _int(value: Any) -> int | None:
    number = _dec(value)
    if number is None or number != number.to_integral_value():
        return None
    return int(number)


class _ApiError(Exception):
    def __init__(self, status: int, message: str | None = None, *, errors: list[str] | None = None) -> None:
        super().__init__(message or "")
        self.status = status
        self.message = message
        self.errors = errors or []


@dataclass
class SimProduct:
    """A catalog product: its code, price, stock and (for the tee) one option with combinations."""

    product_id: str
    product_code: str
    name: str
    price: Decimal
    weight: Decimal
    amount: int
    options: dict[str, dict[str, Any]] = field(default_factory=dict)
    combinations: dict[str, str] = field(default_factory=dict)
    status: str = "A"

    def code_for(self, options: dict[str, str]) -> str:
        """The product code of a line: the combination's code when the options match one."""
        key = "_".join(f"{k}_{v}" for k, v in sorted(options.items()))
        return self.combinations.get(key, self.product_code)


@dataclass
class SimOrder:
    """One order's stored state: its columns (strings, as in cscart_orders) and lines."""

    order_id: int
    columns: dict[str, Any]
    lines: dict[str, dict[str, Any]]
    shipping_id: str
    totals: dict[str, Decimal] = field(default_factory=dict)
    forced_total: Decimal | None = None


class Simulator(SimulatorBase):
    """An in-memory CS-Cart store serving the REST API (see the module docstring)."""

    platform: ClassVar[str] = "cscart"
    default_rate_limit: ClassVar[tuple[int, float] | None] = None  # CS-Cart core has no rate limit

    def __init__(self, *, orders: int = 0, seed: int = 0, faults: FaultConfig | None = None,
                 rate_limit: tuple[int, float] | bool | None = True, credentials: dict[str, str] | None = None,
                 version: str = "4.13.2", prices_include_tax: bool = False,
                 clock: Callable[[], float] | None = None, currency: str | None = None) -> None:
        super().__init__(faults=faults, rate_limit=rate_limit)
        self.currency = store_currency(currency, "USD")
        credentials = credentials or {}
        self.email = credentials.get("email", "admin@example.com")
        self.api_key = credentials.get("api_key", "sim-api-key")
        self.readonly = {credentials.get("readonly_email", "viewer@example.com"):
                         credentials.get("readonly_api_key", "sim-viewer-key")}
        self.version = version
        numbers = [int(part) for part in re.findall(r"\d+", version)[:3]] or [4, 13, 2]
        self._version = tuple(numbers + [0] * (3 - len(numbers)))
        self.prices_include_tax = prices_include_tax
        self.clock: Callable[[], float] = clock or time.time
        self._lock = threading.RLock()
        self._rng = random.Random(seed)
        self.products: dict[str, SimProduct] = {}
        self.orders: dict[int, SimOrder] = {}
        self.shipments: dict[int, dict[str, Any]] = {}
        self.users: dict[str, dict[str, str]] = {
            "3": {"user_id": "3", "email": "customer@example.com", "firstname": "Customer", "lastname": "Customer",
                  "b_firstname": "Customer", "b_lastname": "Customer", "b_address": "44 Main street",
                  "b_city": "Boston", "b_state": "MA", "b_country": "US", "b_zipcode": "02134",
                  "s_firstname": "Customer", "s_lastname": "Customer", "s_address": "44 Main street",
                  "s_city": "Boston", "s_state": "MA", "s_country": "US", "s_zipcode": "02134"},
        }
        self._next_order = 1
        self._next_shipment = 1
        self.requests_log: list[tuple[str, str, Any]] = []
        self._seed_catalog()
        for _ in range(orders):
            self._seed_order()

    # -- version behaviour ------------------------------------------------------------------------
    @property
    def honours_updated_at(self) -> bool:
        """``updated_at_from``/``updated_at_to`` exist from 4.13 on; older stores ignore them."""
        return self._version >= (4, 13, 0)

    @property
    def status_only_params(self) -> frozenset[str]:
        """The PUT keys that keep the status-only fast path (MV 4.14.1: only ``status``)."""
        if self._version >= (4, 14, 0):
            return frozenset({"status"})
        return frozenset({"status", "notify_user", "notify_department", "notify_vendor"})

    def now(self) -> int:
        """The store's clock, unix seconds (tests may replace ``clock``)."""
        return int(self.clock())

    # -- catalog and seeding ----------------------------------------------------------------------
    def _seed_catalog(self) -> None:
        next_id = 101
        grouped: dict[str, SimProduct] = {}
        option_id, variant_id = 3, 11
        for item in DEMO_PRODUCTS:
            price = _PRICE_DRIFT.get(item.sku, item.price)
            if item.option_name and item.option_value:
                product = grouped.get(item.name)
                if product is None:
                    base_code = item.sku.split("-")[0]
                    product = SimProduct(str(next_id), base_code, item.name, price, item.weight, item.stock,
                                         options={str(option_id): {"option_name": item.option_name, "variants": {}}})
                    next_id += 1
                    grouped[item.name] = product
                    self.products[product.product_id] = product
                opt = next(iter(product.options))
                product.options[opt]["variants"][str(variant_id)] = item.option_value
                product.combinations[f"{opt}_{variant_id}"] = item.sku
                variant_id += 1
                continue
            product = SimProduct(str(next_id), item.sku, item.name, price, item.weight, item.stock)
            self.products[product.product_id] = product
            next_id += 1

    def product_by_code(self, code: str) -> tuple[SimProduct, dict[str, str]] | None:
        """The product (and options) whose code or combination code is exactly ``code``."""
        for product in self.products.values():
            if product.product_code == code:
                return product, {}
            for key, combo_code in product.combinations.items():
                if combo_code == code:
                    opt, variant = key.split("_", 1)
                    return product, {opt: variant}
        return None

    def _seed_order(self) -> None:
        rng = self._rng
        shopper = fake_shopper(rng)
        chosen = rng.sample(list(DEMO_PRODUCTS), rng.randint(1, 3))
        products: dict[str, Any] = {}
        for index, item in enumerate(chosen, 1):
            found = self.product_by_code(item.sku)
            if found is None:  # pragma: no cover - every demo SKU is in the catalog
                continue
            product, options = found
            products[str(index)] = {"product_id": product.product_id, "amount": rng.randint(1, 3),
                                    **({"product_options": options} if options else {})}
        user_data = {
            "email": shopper.email, "firstname": shopper.first_name, "lastname": shopper.last_name,
            "phone": shopper.phone,
            **{f"{p}_{k}": v for p in ("b", "s") for k, v in (
                ("firstname", shopper.first_name), ("lastname", shopper.last_name), ("address", shopper.street),
                ("city", shopper.city), ("state", shopper.region_code), ("country", shopper.country_code),
                ("zipcode", shopper.postal_code), ("phone", shopper.phone))},
        }
        created = self.now() - rng.randint(3600, 30 * 86400)
        with self._lock:
            order = self._create({"user_id": "0", "user_data": user_data, "payment_id": rng.choice(["2", "4", "6"]),
                                  "shipping_id": rng.choice(["1", "3"]), "products": products,
                                  "notes": rng.choice(["", "", "Please leave at the door"])}, when=created)
            status = rng.choices(["P", "C", "O", "I", "B"], weights=[4, 4, 2, 1, 1])[0]
            updated = min(created + rng.randint(60, 3 * 86400), self.now() - rng.randint(900, 3600))
            if status in ("P", "C") and rng.random() < 0.6:
                partial = status == "P" and rng.random() < 0.5
                items = {item_id: (max(1, line["amount"] - 1) if partial else line["amount"])
                         for item_id, line in list(order.lines.items())[: 1 if partial else None]}
                self._add_shipment(order, {"shipping_id": order.shipping_id, "products": items,
                                           "tracking_number": f"1Z{rng.randint(10**9, 10**10 - 1)}",
                                           "carrier": rng.choice(["ups", "usps", "fedex", "dhl"]), "status": "S"},
                                   when=updated)
            if status != "O":
                self._change_status(order, status, when=updated)
            order.columns["updated_at"] = str(updated)

    def configure_webhooks(self, url: str | None, secret: str | None = None) -> None:
        """Accepted and ignored: CS-Cart has no outgoing webhooks, so this store never sends any."""

    # -- the guard hooks ---------------------------------------------------------------------------
    def authenticate(self, request: Request) -> Response | None:
        """Basic auth with the admin e-mail and API key; a read-only admin may only read."""
        header = request.headers.get("authorization", "")
        user = password = None
        if header.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(header[6:].strip()).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                decoded = ""
            user, _, password = decoded.partition(":")
        if user == self.email and password == self.api_key:
            return None
        if user in self.readonly and password == self.readonly[user]:
            if request.method in ("GET", "HEAD"):
                return None
            return self._error(403)
        response = self._error(401)
        response.headers["WWW-Authenticate"] = 'Basic realm="User email/API key"'
        return response

    def error_response(self, status: int, message: str) -> Response:
        """CS-Cart's error body (the base class uses it for injected faults)."""
        reason = _REASONS.get(status, message)
        return self._error(status, None if message == reason else message)

    def rate_limited_response(self, state: WindowState) -> Response:
        """What a WAF in front of CS-Cart answers: an HTML 429 with ``Retry-After``."""
        return Response("<html><body><h1>429 Too Many Requests</h1></body></html>", status_code=429,
                        media_type="text/html", headers={"Retry-After": str(ceil_seconds(state.reset_after))})

    def _error(self, status: int, message: str | None = None, *, errors: list[str] | None = None) -> Response:
        reason = _REASONS.get(status, "Error")
        body: dict[str, Any] = {"message": reason}
        details = [*(errors or []), *([message] if message else [])]
        if details:
            body["message"] = f"{reason}: {'. '.join(details)}"
        if message:
            body["messages"] = [message]
        if errors:
            body["errors"] = errors
        body["status"] = status
        return json_response(body, status)

    # -- routes -----------------------------------------------------------------------------------
    def access(self, *, hidden: Collection[str] = ()) -> tuple[str, str]:
        """CS-Cart's ``/api`` (and ``/api/2.0``) with HTTP Basic ``email:api_key``."""
        return "/api (and /api/2.0)", (f"HTTP Basic, user {self.shown('email', self.email, hidden)}, "
                                       f"password {self.shown('api_key', self.api_key, hidden)} "
                                       f"(CS-Cart: the admin e-mail and API key)")

    def routes(self) -> list[BaseRoute]:
        """The API under ``/api`` and ``/api/2.0``."""
        table: list[tuple[str, Any, list[str], bool]] = [
            ("/orders", self._orders, ["GET", "POST"], False),
            ("/stores/{company_id}/orders", self._store_orders, ["GET", "POST"], False),
            ("/orders/{order_id}", self._order, ["GET", "PUT", "DELETE"], False),
            ("/shipments", self._shipments, ["GET", "POST"], False),
            ("/shipments/{shipment_id}", self._shipment, ["GET", "PUT", "DELETE"], False),
            ("/statuses", self._statuses, ["GET"], False),
            ("/products", self._products, ["GET"], False),
            ("/products/{product_id}", self._product, ["GET"], False),
            ("/payments", self._payments, ["GET"], False),
            ("/payments/{payment_id}", self._payment, ["GET"], False),
            ("/shippings", self._shippings, ["GET"], False),
            ("/shippings/{shipping_id}", self._shipping, ["GET"], False),
        ]
        routes: list[BaseRoute] = []
        for prefix in ("/api/2.0", "/api"):
            for path, handler, methods, _ in table:
                for method in methods:
                    write = method in ("POST", "PUT", "DELETE")
                    guarded = self.endpoint(self._wrap(handler), write=write, route=path)
                    routes.append(Route(prefix + path, guarded, methods=[method]))
        return routes

    def fallback_routes(self) -> list[BaseRoute]:
        """Any other path: under ``/api`` CS-Cart's JSON ``404 Not Found`` (after auth, like every API call);
        elsewhere the storefront's HTML 404 page."""
        async def not_found(request: Request) -> Response:
            return self._error(404)

        async def storefront(request: Request) -> Response:
            return Response("<!DOCTYPE html><html><head><title>Page not found</title></head><body><h1>404</h1>"
                            "<p>The page you are looking for cannot be found.</p></body></html>", status_code=404,
                            media_type="text/html")

        methods = ["GET", "POST", "PUT", "DELETE", "PATCH"]
        return [Route("/api/{path:path}", self.endpoint(not_found, route="(unknown path)"), methods=methods),
                Route("/{path:path}", storefront, methods=methods)]

    def control_routes(self) -> list[BaseRoute]:
        """``POST /__sim/cscart/orders/{id}`` ``{"status": "C"}``: a merchant action in the admin."""

        async def merchant(request: Request) -> Response:
            body = await read_json(request) or {}
            with self._lock:
                order = self.orders.get(int(request.path_params["order_id"]))
                if order is None:
                    return json_response({"error": "no such order"}, 404)
                if body.get("status"):
                    self._change_status(order, str(body["status"]))
                if "details" in body:
                    order.columns["details"] = str(body["details"])
                    order.columns["updated_at"] = str(self.now())
            return json_response({"ok": True})

        return [Route("/__sim/cscart/orders/{order_id:int}", merchant, methods=["POST"])]

    def _wrap(self, handler: Any) -> Any:
        async def run(request: Request) -> Response:
            if request.method in ("POST", "PUT"):
                kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
                if kind != "application/json":
                    return self._error(415)
                try:
                    body = await read_json(request)
                except ValueError:
                    return self._error(400)
                if not isinstance(body, dict):
                    return self._error(400)
            else:
                body = None
            self.requests_log.append((request.method, request.url.path, body))
            try:
                with self._lock:
                    result = handler(request, body)
            except _ApiError as error:
                return self._error(error.status, error.message, errors=error.errors)
            if isinstance(result, Response):
                return result
            status, data = result
            return json_response(data, status)

        return run

    # -- orders -----------------------------------------------------------------------------------
    def _store_orders(self, request: Request, body: dict[str, Any] | None) -> tuple[int, Any]:
        if request.method == "POST":
            assert body is not None
            return self._post_order({**body, "company_id": str(request.path_params["company_id"])})
        return self._list(request)

    def _orders(self, request: Request, body: dict[str, Any] | None) -> tuple[int, Any]:
        if request.method == "POST":
            assert body is not None
            return self._post_order(body)
        return self._list(request)

    def _list(self, request: Request) -> tuple[int, Any]:
        query = request.query_params
        rows = [o for o in self.orders.values()
                if o.columns["status"] not in ("N", "T") and o.columns.get("is_parent_order") != "Y"]
        statuses = [s for key in ("status", "status[]") for s in query.getlist(key) if s]
        if statuses:
            rows = [o for o in rows if o.columns["status"] in statuses]
        for key in ("user_id", "company_id", "parent_order_id"):
            if query.get(key):
                rows = [o for o in rows if o.columns.get(key) == query[key]]
        if query.get("email"):
            needle = query["email"].strip().lower()
            rows = [o for o in rows if needle in o.columns.get("email", "").lower()]
        if query.get("order_id"):
            wanted = {part.strip() for part in query["order_id"].split(",") if part.strip()}
            rows = [o for o in rows if str(o.order_id) in wanted]
        low, high = _dec(query.get("total_from")), _dec(query.get("total_to"))
        if low is not None:
            rows = [o for o in rows if Decimal(o.columns["total"]) >= low]
        if high is not None:
            rows = [o for o in rows if Decimal(o.columns["total"]) <= high]
        if query.get("period") == "C" or (query.get("time_from") and query.get("period") in (None, "C")):
            start, end = _int(query.get("time_from")), _int(query.get("time_to"))
            if start is not None:
                rows = [o for o in rows if int(o.columns["timestamp"]) >= start]
            if end is not None:
                rows = [o for o in rows if int(o.columns["timestamp"]) <= end]
        if self.honours_updated_at:
            start, end = _int(query.get("updated_at_from")), _int(query.get("updated_at_to"))
            if start is not None:
                rows = [o for o in rows if int(o.columns["updated_at"]) >= start]
            if end is not None:
                rows = [o for o in rows if int(o.columns["updated_at"]) <= end]
        sort_by = str(query.get("sort_by")) if query.get("sort_by") in _SORTS else "date"
        sort_order = "asc" if query.get("sort_order") == "asc" else "desc"
        keys = {
            "order_id": lambda o: (o.order_id,),
            "status": lambda o: (o.columns["status"], o.order_id),
            "customer": lambda o: (o.columns["lastname"], o.columns["firstname"], o.order_id),
            "email": lambda o: (o.columns["email"], o.order_id),
            "date": lambda o: (int(o.columns["timestamp"]), o.order_id),
            "total": lambda o: (Decimal(o.columns["total"]), o.order_id),
        }
        rows.sort(key=keys[sort_by], reverse=sort_order == "desc")
        page, per_page, page_rows = self._paginate(rows, query)
        params: dict[str, Any] = dict(query.items())
        if query.get("get_orders_data") in ("1", "Y", "true"):
            data = [self._detail(o) for o in page_rows]
        else:
            data = [self._row(o) for o in page_rows]
        params.update(page=page, items_per_page=query.get("items_per_page", per_page), ajax_custom="1",
                      include_incompleted=False,
                      sort_by=sort_by, sort_order=sort_order, sort_order_rev="desc" if sort_order == "asc" else "asc",
                      total_items=str(len(rows)))
        return 200, {"orders": data, "params": params}

    @staticmethod
    def _paginate(rows: list[Any], query: Any, default: int = 10) -> tuple[int, int, list[Any]]:
        page = _int(query.get("page")) or 1
        per_page = _int(query.get("items_per_page")) or default
        page = max(page, 1)
        per_page = per_page if per_page > 0 else 100
        if rows and (page - 1) * per_page >= len(rows):  # db_get_valid_page: clamp to the last page
            page = -(-len(rows) // per_page)
        return page, per_page, rows[(page - 1) * per_page: page * per_page]

    def _order(self, request: Request, body: dict[str, Any] | None) -> tuple[int, Any] | Response:
        order = self.orders.get(_int(request.path_params["order_id"]) or -1)
        if order is None:
            raise _ApiError(404)
        if request.method == "GET":
            return 200, self._detail(order)
        if request.method == "DELETE":
            self._change_status(order, "N", bump=False)  # CS-Cart returns stock through "incomplete"
            del self.orders[order.order_id]
            for shipment_id in [sid for sid, s in self.shipments.items() if s["order_id"] == order.order_id]:
                del self.shipments[shipment_id]
            return Response(status_code=204)
        assert body is not None
        return self._put_order(order, body)

    def _post_order(self, body: dict[str, Any]) -> tuple[int, Any]:
        order = self._create(body)
        data: dict[str, Any] = {"order_id": str(order.order_id)}
        if self._version >= (4, 13, 0):
            data["order_data"] = self._detail(order)
        return 201, data

    def _customer(self, body: dict[str, Any]) -> dict[str, Any]:
        user_id = str(body.get("user_id") or "0")
        if user_id not in ("", "0") and user_id.isdigit():
            user = self.users.get(user_id)
            if user is None:
                raise _ApiError(400, "User was not found")
            return dict(user)
        if isinstance(body.get("user_data"), dict):
            return {k: str(v) for k, v in body["user_data"].items() if v is not None and not isinstance(v, dict)}
        raise _ApiError(400, "The user_id/user_data field is required")

    def _create(self, body: dict[str, Any], *, when: int | None = None) -> SimOrder:
        user = self._customer(body)
        if not body.get("payment_id"):
            raise _ApiError(400, "The payment_id field is required")
        shipping = body.get("shipping_ids", body.get("shipping_id"))
        if shipping in (None, "", [], {}):
            raise _ApiError(400, "The shipping_id field is required")
        if not body.get("products") or not isinstance(body["products"], dict | list):
            raise _ApiError(400, "The products field is required")
        shipping_id = str(next(iter(shipping.values())) if isinstance(shipping, dict) else
                          shipping[0] if isinstance(shipping, list) else shipping)
        lines = self._lines(body["products"], stored_prices=False)
        if not lines:
            raise _ApiError(400, "Order couldn't be created")
        self._check_shipping(shipping_id, user.get("s_country") or user.get("b_country") or "")
        now = self.now() if when is None else when
        order_id = self._next_order
        self._next_order += 1
        columns: dict[str, Any] = {
            "order_id": str(order_id), "is_parent_order": "N", "parent_order_id": "0", "company_id": "1",
            "issuer_id": None, "user_id": str(body.get("user_id") or "0") if str(body.get("user_id") or "0").isdigit()
            else "0", "status": "O", "timestamp": str(now), "updated_at": str(now), "notes": "", "details": "",
            "firstname": user.get("firstname") or user.get("b_firstname", ""),
            "lastname": user.get("lastname") or user.get("b_lastname", ""), "company": user.get("company", ""),
            "email": user.get("email", ""), "phone": user.get("phone", ""), "fax": "", "url": "",
            "payment_id": str(body["payment_id"]), "tax_exempt": "N", "lang_code": "en", "ip_address": "127.0.0.1",
            "repaid": "0", "validation_code": "", "localization_id": "0", "profile_id": "0", "storefront_id": "1",
            "s_address_type": "",
        }
        for prefix in ("b", "s"):
            for name in _ADDRESS_FIELDS:
                columns[f"{prefix}_{name}"] = user.get(f"{prefix}_{name}", "")
        for key, value in body.items():  # mergeOrderData: other params become order columns
            if key in _ORDER_COLUMNS and key not in ("timestamp",) and not isinstance(value, dict | list):
                columns[key] = "" if value is None else str(value)
        if body.get("timestamp") and _int(body["timestamp"]) is not None:
            columns["timestamp"] = str(_int(body["timestamp"]))
        order = SimOrder(order_id, columns, lines, shipping_id)
        self._price(order)
        self._move_stock(order, None, "O")
        self.orders[order_id] = order
        return order

    def _lines(self, products: Any, *, stored_prices: bool) -> dict[str, dict[str, Any]]:
        """Cart lines from a ``products`` body: catalog prices (or stored prices on PUT), merged by item_id."""
        items = products.items() if isinstance(products, dict) else enumerate(products)
        lines: dict[str, dict[str, Any]] = {}
        for key, data in items:
            if not isinstance(data, dict):
                continue
            amount = _int(data.get("amount"))
            if amount is None or amount <= 0:
                continue  # fn_add_product_to_cart: `continue` on an empty amount
            product = self.products.get(str(data.get("product_id") or key))
            if product is None or product.status != "A":
                continue
            raw_options: dict[Any, Any] = data["product_options"] if isinstance(data.get("product_options"), dict) \
                else {}
            options = {str(k): str(v) for k, v in raw_options.items()
                       if str(k) in product.options and str(v) in product.options[str(k)]["variants"]}
            item_id = _cart_id(product.product_id, options)
            price = product.price
            stored = stored_prices and str(data.get("stored_price", "")).upper() == "Y" and \
                _dec(data.get("price")) is not None
            if stored:
                price = _dec(data.get("price")) or price
            if item_id in lines:
                lines[item_id]["amount"] += amount
                continue
            lines[item_id] = {"product_id": product.product_id, "amount": amount, "options": options,
                              "price": price, "stored": stored}
        return lines

    def _check_shipping(self, shipping_id: str, country: str) -> None:
        method = SHIPPING_METHODS.get(shipping_id)
        if method is None or country.upper() not in method["countries"]:
            raise _ApiError(403, "No shipping methods are available")

    def _price(self, order: SimOrder) -> None:
        """Recalculate the order the way fn_calculate_cart_content does (simplified)."""
        subtotal = tax = _ZERO
        for line in order.lines.values():
            if not line.get("stored"):
                line["price"] = self.products[line["product_id"]].price if line["product_id"] in self.products \
                    else line["price"]
            price: Decimal = line["price"]
            if self.prices_include_tax:
                unit_tax = (price - price / (1 + _TAX_RATE / 100)).quantize(_CENT, ROUND_HALF_UP)
            else:
                unit_tax = (price * _TAX_RATE / 100).quantize(_CENT, ROUND_HALF_UP)
            line["tax"] = unit_tax * line["amount"]
            subtotal += price * line["amount"]
            tax += line["tax"]
        discount = (subtotal * _PROMOTION_PERCENT / 100).quantize(_CENT, ROUND_HALF_UP) \
            if subtotal >= _PROMOTION_THRESHOLD else _ZERO
        shipping_cost = SHIPPING_METHODS.get(order.shipping_id, {}).get("rate", _ZERO)
        surcharge = PAYMENT_METHODS.get(order.columns["payment_id"], {}).get("surcharge", _ZERO)
        total = subtotal - discount + shipping_cost + surcharge + (_ZERO if self.prices_include_tax else tax)
        order.totals = {"subtotal": subtotal, "tax": tax, "subtotal_discount": discount,
                        "shipping_cost": shipping_cost, "payment_surcharge": surcharge, "total": total}
        order.forced_total = None
        order.columns["total"] = _money(total)

    def _put_order(self, order: SimOrder, body: dict[str, Any]) -> tuple[int, Any]:
        keys = set(body)
        if "status" in body and keys <= self.status_only_params:
            self._change_status(order, str(body["status"]))
            return 200, {"order_id": str(order.order_id)}
        # the full path: re-cart the order and recalculate everything
        if isinstance(body.get("products"), dict | list) and body["products"]:
            lines = self._lines(body["products"], stored_prices=True)
            if not lines:
                raise _ApiError(400)
            order.lines = lines
        user: dict[str, Any] = {}
        if body.get("user_id") and str(body["user_id"]) in self.users:
            user = self.users[str(body["user_id"])]
        elif isinstance(body.get("user_data"), dict):
            user = body["user_data"]
        for key, value in {**user, **body}.items():
            if key in _ORDER_COLUMNS and not isinstance(value, dict | list) and value is not None:
                order.columns[key] = str(value)
        if body.get("payment_id"):
            order.columns["payment_id"] = str(body["payment_id"])
        shipping = body.get("shipping_ids", body.get("shipping_id"))
        if shipping not in (None, "", [], {}):
            order.shipping_id = str(next(iter(shipping.values())) if isinstance(shipping, dict) else shipping)
        self._check_shipping(order.shipping_id, order.columns.get("s_country") or order.columns.get("b_country", ""))
        self._price(order)
        forced = _dec(body.get("total"))
        if forced is not None:
            order.forced_total = forced
            order.columns["total"] = _money(forced)
        order.columns["updated_at"] = str(self.now())
        if body.get("status"):
            self._change_status(order, str(body["status"]))
        return 200, {"order_id": str(order.order_id)}

    def _status_letters(self) -> dict[str, str]:
        letters = {s["status"]: s["params"].get("inventory", "D") for s in STATUSES}
        letters.update(_INTERNAL)
        return letters

    def _change_status(self, order: SimOrder, letter: str, *, when: int | None = None, bump: bool = True) -> None:
        letters = self._status_letters()
        if letter not in letters:
            raise _ApiError(400, f"Unknown order status {letter!r}")
        previous = order.columns["status"]
        if previous == letter:
            return
        self._move_stock(order, previous, letter)
        order.columns["status"] = letter
        if bump:
            order.columns["updated_at"] = str(self.now() if when is None else when)

    def _move_stock(self, order: SimOrder, previous: str | None, letter: str) -> None:
        letters = self._status_letters()
        before = letters.get(previous, "I") if previous else "I"
        after = letters.get(letter, "D")
        if before == after:
            return
        sign = -1 if after == "D" else 1
        for line in order.lines.values():
            product = self.products.get(line["product_id"])
            if product is not None:
                product.amount += sign * line["amount"]

    # -- rendering --------------------------------------------------------------------------------
    def _row(self, order: SimOrder) -> dict[str, Any]:
        c = order.columns
        return {"order_id": c["order_id"], "issuer_id": None, "user_id": c["user_id"],
                "is_parent_order": c["is_parent_order"], "parent_order_id": c["parent_order_id"],
                "company_id": c["company_id"], "timestamp": c["timestamp"], "firstname": c["firstname"],
                "lastname": c["lastname"], "email": c["email"], "phone": c["phone"], "status": c["status"],
                "total": c["total"], "invoice_id": None, "credit_memo_id": None}

    def _shipped(self, order: SimOrder) -> dict[str, int]:
        shipped: dict[str, int] = {}
        for shipment in self.shipments.values():
            if shipment["order_id"] == order.order_id:
                for item_id, qty in shipment["products"].items():
                    shipped[item_id] = shipped.get(item_id, 0) + qty
        return shipped

    def _detail(self, order: SimOrder) -> dict[str, Any]:
        c = order.columns
        shipped = self._shipped(order)
        products: dict[str, Any] = {}
        for item_id, line in order.lines.items():
            product = self.products.get(line["product_id"])
            name = product.name if product else ""
            code = product.code_for(line["options"]) if product else ""
            options_value = [
                {"option_id": opt, "option_name": product.options[opt]["option_name"], "variant_id": variant,
                 "variant_name": product.options[opt]["variants"][variant], "value": variant, "option_type": "S"}
                for opt, variant in line["options"].items()
            ] if product else []
            price: Decimal = line["price"]
            done = shipped.get(item_id, 0)
            extra: dict[str, Any] = {"product_options": dict(line["options"]) or [], "unlimited_download": "N",
                                     "product": name, "company_id": "1", "is_edp": "N", "edp_shipping": "N",
                                     "discount": 0, "base_price": _num(price),
                                     "stored_price": "Y" if line.get("stored") else "N"}
            if options_value:
                extra["product_options_value"] = options_value
            products[item_id] = {
                "item_id": item_id, "order_id": c["order_id"], "product_id": line["product_id"],
                "product_code": code, "price": _money(price), "amount": str(line["amount"]), "extra": extra,
                "product": name, "product_status": "A", "deleted_product": False, "discount": 0, "company_id": "1",
                "base_price": _num(price), "original_price": _num(price), "cart_id": item_id, "tax_value": 0,
                "subtotal": _num(price * line["amount"]), "display_subtotal": _num(price * line["amount"]),
                "shipped_amount": done, "shipment_amount": str(max(line["amount"] - done, 0)),
                "is_accessible": True,
            }
        totals = order.totals
        tax = totals["tax"]
        method = SHIPPING_METHODS.get(order.shipping_id, {})
        payment = PAYMENT_METHODS.get(c["payment_id"])
        discount = totals["subtotal_discount"]
        detail: dict[str, Any] = {
            **dict(c.items()),
            "total": c["total"],
            "subtotal": _num(totals["subtotal"]),
            "discount": "0.00",
            "subtotal_discount": _money(discount),
            "payment_surcharge": _money(totals["payment_surcharge"]),
            "shipping_ids": order.shipping_id,
            "shipping_cost": _money(totals["shipping_cost"]),
            "promotions": {_PROMOTION_ID: {
                "bonuses": [{"bonus": "order_discount", "discount_bonus": "by_percentage",
                             "discount_value": format(_PROMOTION_PERCENT, "f"), "promotion_id": _PROMOTION_ID}],
                "name": _PROMOTION_NAME, "short_description": ""}} if discount else [],
            "promotion_ids": _PROMOTION_ID if discount else "",
            "b_country_descr": _COUNTRIES.get(c["b_country"], ""),
            "s_country_descr": _COUNTRIES.get(c["s_country"], ""),
            "b_state_descr": _STATES.get(c["b_country"], {}).get(c["b_state"], c["b_state"]),
            "s_state_descr": _STATES.get(c["s_country"], {}).get(c["s_state"], c["s_state"]),
            "payment_method": {"payment_id": c["payment_id"], "company_id": "1", "usergroup_ids": "0",
                               "position": "20", "status": "A",
                               "template": "views/orders/components/payments/cc_outside.tpl",
                               "processor_params": None, "processor_id": "0", "a_surcharge":
                               _money(payment["surcharge"]) + "0", "p_surcharge": "0.000", "tax_ids": [],
                               "localization": "", "payment_category": "tab3", "payment": payment["payment"],
                               "description": payment["description"], "instructions": "",
                               "surcharge_title": payment["title"], "lang_code": "en", "processor": None,
                               "processor_type": None, "processor_status": None, "image": []} if payment else [],
            "fields": [],
            "products": products,
            "taxes": {_TAX_ID: {
                "rate_type": "P", "rate_value": "10.000",
                "price_includes_tax": "Y" if self.prices_include_tax else "N", "regnumber": "", "priority": 0,
                "tax_subtotal": _num(tax), "description": "VAT",
                "applies": {"P": _num(tax), "S": 0, "items": {"S": [], "P": dict.fromkeys(order.lines, True)}},
            }} if order.lines else [],
            "tax_subtotal": 0 if self.prices_include_tax else _num(tax),
            "display_shipping_cost": _money(totals["shipping_cost"]),
            "need_shipping": True,
            "shipping": [{
                "shipping_id": order.shipping_id, "shipping": method.get("shipping", ""),
                "delivery_time": method.get("delivery_time", ""), "rate_calculation": "M", "service_params": [],
                "destination": "I", "min_weight": "0.00", "max_weight": "0.00", "service_id": "0", "module": None,
                "service_code": None, "group_key": 0, "rate": _num(totals["shipping_cost"]), "group_name": "Simtech",
                "need_shipment": any(line["amount"] > shipped.get(i, 0) for i, line in order.lines.items()),
            }],
            "shipment_ids": [str(sid) for sid, s in self.shipments.items() if s["order_id"] == order.order_id],
            "secondary_currency": self.currency,
            "display_subtotal": _num(totals["subtotal"]),
            "payment_info": [],
            "product_groups": [{"name": "Simtech", "company_id": 1, "products": {
                i: {"product_id": int(line["product_id"]), "amount": line["amount"], "price": _num(line["price"])}
                for i, line in order.lines.items()}, "chosen_shippings": [{"shipping_id": order.shipping_id,
                                                                           "group_key": 0}]}],
            "doc_ids": [],
        }
        return detail

    # -- shipments --------------------------------------------------------------------------------
    def _shipments(self, request: Request, body: dict[str, Any] | None) -> tuple[int, Any]:
        if request.method == "POST":
            assert body is not None
            if not body.get("order_id"):
                raise _ApiError(400, "The order_id field is required")
            if not body.get("shipping_id"):
                raise _ApiError(400, "The shipping_id field is required")
            order = self.orders.get(_int(body["order_id"]) or -1)
            if order is None:
                raise _ApiError(400)
            shipment_id = self._add_shipment(order, body)
            return 201, {"shipment_id": shipment_id}
        query = request.query_params
        rows = sorted(self.shipments.values(), key=lambda s: s["shipment_id"], reverse=True)
        if query.get("order_id"):
            rows = [s for s in rows if str(s["order_id"]) == query["order_id"]]
        if query.get("shipment_id"):
            rows = [s for s in rows if str(s["shipment_id"]) == query["shipment_id"]]
        if query.get("status"):
            rows = [s for s in rows if s["status"] == query["status"]]
        page, per_page, page_rows = self._paginate(rows, query)
        params: dict[str, Any] = dict(query.items())
        params.update(page=page, items_per_page=per_page, advanced_info=True, total_items=str(len(rows)))
        return 200, {"shipments": [self._shipment_row(s) for s in page_rows], "params": params}

    def _add_shipment(self, order: SimOrder, body: dict[str, Any], *, when: int | None = None) -> int:
        tracking = str(body.get("tracking_number") or "").strip()
        carrier = str(body.get("carrier") or "").strip()
        if not tracking and not carrier:
            raise _ApiError(400)
        shipped = self._shipped(order)
        wanted = body.get("products")
        if not isinstance(wanted, dict) or not wanted:
            wanted = {item_id: line["amount"] for item_id, line in order.lines.items()}
        products: dict[str, int] = {}
        for item_id, qty in wanted.items():
            line = order.lines.get(str(item_id))
            amount = _int(qty)
            if line is None or amount is None or amount <= 0:
                continue
            left = line["amount"] - shipped.get(str(item_id), 0)
            if left > 0:
                products[str(item_id)] = min(amount, left)
        if not products:
            raise _ApiError(400)
        shipment_id = self._next_shipment
        self._next_shipment += 1
        status = str(body.get("status") or "P")
        self.shipments[shipment_id] = {
            "shipment_id": shipment_id, "order_id": order.order_id,
            "shipping_id": str(body.get("shipping_id") or order.shipping_id),
            "tracking_number": tracking, "carrier": carrier, "comments": str(body.get("comments") or ""),
            "status": status if status in ("P", "A", "S") else "P",
            "timestamp": _int(body.get("timestamp")) or (self.now() if when is None else when),
            "products": products,
        }
        if body.get("order_status"):
            self._change_status(order, str(body["order_status"]), when=when)
        return shipment_id

    def _shipment_row(self, shipment: dict[str, Any]) -> dict[str, Any]:
        order = self.orders.get(shipment["order_id"])
        columns = order.columns if order else {}
        carrier = shipment["carrier"]
        names = {"ups": "UPS", "usps": "USPS", "fedex": "FedEx", "dhl": "DHL", "aup": "Australia Post",
                 "can": "Canada Post", "swisspost": "Swiss Post", "temando": "Temando"}
        urls = {"ups": "https://www.ups.com/WebTracking?trackingNumber={}",
                "usps": "https://tools.usps.com/go/TrackConfirmAction_input?qtc_tLabels1={}",
                "fedex": "https://www.fedex.com/apps/fedextrack/?tracknumbers={}",
                "dhl": "https://www.dhl.com/en/express/tracking.html?AWB={}"}
        url = urls[carrier].format(shipment["tracking_number"]) if carrier in urls and shipment["tracking_number"] \
            else ""
        same_order = [s for s in self.shipments.values() if s["order_id"] == shipment["order_id"]]
        one_full = len(same_order) == 1 and order is not None and all(
            shipment["products"].get(i, 0) >= line["amount"] for i, line in order.lines.items())
        return {
            "shipment_id": str(shipment["shipment_id"]), "shipment_timestamp": str(shipment["timestamp"]),
            "comments": shipment["comments"], "status": shipment["status"], "order_id": str(shipment["order_id"]),
            "order_timestamp": columns.get("timestamp", ""), "s_firstname": columns.get("s_firstname", ""),
            "s_lastname": columns.get("s_lastname", ""), "company": columns.get("company", ""),
            "user_id": columns.get("user_id", "0"), "shipping_id": shipment["shipping_id"],
            "shipping": SHIPPING_METHODS.get(shipment["shipping_id"], {}).get("shipping", ""),
            "tracking_number": shipment["tracking_number"], "carrier": carrier,
            "products": dict(shipment["products"]), "group_key": "0",
            "carrier_info": {"name": names.get(carrier, carrier), "tracking_url": url},
            "one_full": one_full,
        }

    def _shipment(self, request: Request, body: dict[str, Any] | None) -> tuple[int, Any] | Response:
        shipment = self.shipments.get(_int(request.path_params["shipment_id"]) or -1)
        if shipment is None:
            raise _ApiError(404)
        if request.method == "GET":
            return 200, self._shipment_row(shipment)
        if request.method == "DELETE":
            del self.shipments[shipment["shipment_id"]]
            if self._version >= (4, 13, 0):
                return Response(status_code=204)
            return 200, {"message": "Ok"}
        assert body is not None
        if not self._shipment_row(shipment)["one_full"]:
            raise _ApiError(400, "Only the tracking_number and carrier params can be updated, and only for a "
                                 "shipment that contains every product of the order")
        for key in ("tracking_number", "carrier", "comments"):
            if key in body and body[key] is not None:
                shipment[key] = str(body[key])
        if _int(body.get("timestamp")) is not None:
            shipment["timestamp"] = _int(body["timestamp"])
        return 200, {"shipment_id": shipment["shipment_id"]}

    # -- statuses and products --------------------------------------------------------------------
    def _statuses(self, request: Request, body: dict[str, Any] | None) -> tuple[int, Any]:
        kind = (request.query_params.get("type") or "O").upper()
        rows: list[dict[str, Any]] = []
        if kind == "O":
            for number, status in enumerate(STATUSES, 1):
                rows.append({"status_id": str(number), "status": status["status"], "type": "O",
                             "is_default": "N" if status["status"] == "Z" else "Y",
                             "description": status["description"], "email_subj": "", "email_header": "",
                             "lang_code": "en", "params": dict(status["params"])})
        elif kind == "S":
            for number, (letter, description) in enumerate(_SHIPMENT_STATUSES, 20):
                rows.append({"status_id": str(number), "status": letter, "type": "S", "is_default": "Y",
                             "description": description, "lang_code": "en", "params": {}})
        page, per_page, page_rows = self._paginate(rows, request.query_params)
        return 200, {"statuses": page_rows,
                     "params": {"items_per_page": per_page, "page": page, "total_items": str(len(rows))}}

    @staticmethod
    def _payment_row(payment_id: str) -> dict[str, Any]:
        """A payment method as ``/api/payments`` lists it (the same record the order detail embeds)."""
        payment = PAYMENT_METHODS[payment_id]
        return {"payment_id": payment_id, "company_id": "1", "usergroup_ids": "0", "position": "20", "status": "A",
                "template": "views/orders/components/payments/cc_outside.tpl", "processor_id": "0",
                "processor_params": None, "a_surcharge": _money(payment["surcharge"]) + "0", "p_surcharge": "0.000",
                "tax_ids": [], "localization": "", "payment_category": "tab3", "payment": payment["payment"],
                "description": payment["description"], "instructions": "", "surcharge_title": payment["title"],
                "lang_code": "en"}

    @staticmethod
    def _shipping_row(shipping_id: str) -> dict[str, Any]:
        """A shipping method as ``/api/shippings`` lists it (``shipping_id`` is what a new order needs)."""
        method = SHIPPING_METHODS[shipping_id]
        return {"shipping_id": shipping_id, "company_id": "0", "destination": "I", "min_weight": "0.00",
                "max_weight": "0.00", "usergroup_ids": "0", "rate_calculation": "M" if shipping_id == "1" else "R",
                "service_id": "0" if shipping_id == "1" else "8", "service_params": [], "localization": "",
                "tax_ids": [], "position": shipping_id, "status": "A", "free_shipping": "N",
                "is_address_required": "Y", "shipping": method["shipping"], "delivery_time": method["delivery_time"],
                "description": "", "lang_code": "en"}

    def _payments(self, request: Request, body: dict[str, Any] | None) -> tuple[int, Any]:
        """``GET /api/payments``: the store's payment methods (a CS-Cart order needs a ``payment_id``)."""
        rows = [self._payment_row(payment_id) for payment_id in PAYMENT_METHODS]
        page, per_page, page_rows = self._paginate(rows, request.query_params)
        return 200, {"payments": page_rows,
                     "params": {"page": page, "items_per_page": per_page, "total_items": str(len(rows))}}

    def _payment(self, request: Request, body: dict[str, Any] | None) -> tuple[int, Any]:
        """``GET /api/payments/{id}`` (404 for an unknown id)."""
        payment_id = str(request.path_params["payment_id"])
        if payment_id not in PAYMENT_METHODS:
            raise _ApiError(404)
        return 200, self._payment_row(payment_id)

    def _shippings(self, request: Request, body: dict[str, Any] | None) -> tuple[int, Any]:
        """``GET /api/shippings``: the store's shipping methods (a CS-Cart order needs a ``shipping_id``)."""
        rows = [self._shipping_row(shipping_id) for shipping_id in SHIPPING_METHODS]
        page, per_page, page_rows = self._paginate(rows, request.query_params)
        return 200, {"shippings": page_rows,
                     "params": {"page": page, "items_per_page": per_page, "total_items": str(len(rows))}}

    def _shipping(self, request: Request, body: dict[str, Any] | None) -> tuple[int, Any]:
        """``GET /api/shippings/{id}`` (404 for an unknown id)."""
        shipping_id = str(request.path_params["shipping_id"])
        if shipping_id not in SHIPPING_METHODS:
            raise _ApiError(404)
        return 200, self._shipping_row(shipping_id)

    def _catalog_row(self, product: SimProduct, combination: str | None = None) -> dict[str, Any]:
        row: dict[str, Any] = {
            "product_id": product.product_id, "product": product.name, "product_type": "P",
            "product_code": product.product_code, "status": product.status, "company_id": "1",
            "list_price": "0.00", "amount": str(product.amount), "weight": format(product.weight, "f"),
            "price": _money(product.price), "tracking": "O" if product.combinations else "B",
        }
        if combination is not None:
            row["combination"] = combination
        return row

    def _products(self, request: Request, body: dict[str, Any] | None) -> tuple[int, Any]:
        query = request.query_params
        pcode = (query.get("pcode") or "").strip().lower()
        rows: list[dict[str, Any]] = []
        for product in self.products.values():
            if not pcode:
                rows.append(self._catalog_row(product))
                continue
            if pcode in product.product_code.lower():
                rows.append(self._catalog_row(product))
            for key, code in product.combinations.items():
                if pcode in code.lower():
                    rows.append(self._catalog_row(product, key))
        page, per_page, page_rows = self._paginate(rows, query)
        params: dict[str, Any] = dict(query.items())
        params.update(page=page, items_per_page=per_page, total_items=str(len(rows)))
        return 200, {"products": page_rows, "params": params}

    def _product(self, request: Request, body: dict[str, Any] | None) -> tuple[int, Any]:
        product = self.products.get(str(request.path_params["product_id"]))
        if product is None:
            raise _ApiError(404)
        return 200, self._catalog_row(product)

    # -- helpers for tests and the demo -----------------------------------------------------------
    def merchant_set_status(self, order_id: int | str, letter: str) -> None:
        """Change an order's status as a merchant would in the admin panel."""
        with self._lock:
            self._change_status(self.orders[int(order_id)], letter)

    def order_count(self) -> int:
        """Orders in the store (excluding nothing: incomplete and parents too)."""
        with self._lock:
            return len(self.orders)


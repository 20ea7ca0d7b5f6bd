"""A stateful EverShop 2.2.1, in memory, for tests and the demo.

What it reproduces (verified against EverShop 2.2.1's source and the recorded samples):

- JWT admin auth (``/api/user/tokens``, ``/api/user/token/refresh``; access 900 s, refresh 54 000 s,
  both configurable), 401 bodies ``Unauthorized`` / ``Token has expired`` / ``Invalid token``;
- the setup routes the checkout needs (settings, packages, products, shipping zones, core methods
  and rates, metafield definitions), pre-seeded with one zone, method, rate and COD enabled;
- the guest cart flow, the one-shot checkout (with its ``customer_full_name`` bug) and
  ``POST /api/orders`` (``order_number = 10000 + order_id``; a second checkout of the same cart
  answers 500 "Cart not found"); prices come from the catalog, stock is checked and decremented;
- admin and storefront GraphQL executed by graphql-core against a subset of the real schema,
  including the real quirks: documents are not validated (unknown fields are silently dropped),
  execution errors answer HTTP 500 ``{"error": {...}}``, ``OrderCollection.currentPage`` fails,
  the real default filters with their ``currentFilters`` echo, plus our bridge's ``order_id`` and
  ``cart_id`` filters;
- the oms routes: shipments (2.x body; the old body only with ``legacy_shipments=True``), tracking
  updates, deliveries, COD capture, cancel (not idempotent: it restocks again), metafields;
- statuses derived exactly as ``psoMapping`` + the shipment rollup; ``updated_at`` never changes;
- HTML 404 for the order REST routes EverShop does not have;
- our bridge's signed webhooks (``X-Ordersync-Event``, ``X-Ordersync-Signature: sha256=<hex>``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import secrets
import time
import uuid as uuidlib
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar

import orjson
from graphql import ExecutionResult, GraphQLError, GraphQLSchema, build_schema, execute, parse
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from simulators import FaultConfig, SimulatorBase, json_response
from simulators.app import Handler, WindowState, ceil_seconds, read_json, store_currency
from simulators.catalog import DEMO_PRODUCTS, fake_shopper
from simulators.evershop_rules import (
    ORDER_FLOW,
    ORDER_NAMES,
    PAYMENT_NAMES,
    ROLLUP_NAMES,
    SHIPMENT_PHASE,
    order_status,
    rollup,
)

__all__ = ["DEFAULT_CREDENTIALS", "Simulator", "sign_webhook"]

DEFAULT_CREDENTIALS = {"email": "admin@example.com", "password": "Admin12345"}
_Q4 = Decimal("0.0001")
_Q2 = Decimal("0.01")
_HTML_404 = (
    '<!DOCTYPE html><html id="root" lang="en"><head><meta charSet="utf-8"/><meta name="viewport" '
    'content="width=device-width, initial-scale=1.0"/><title>Page Not Found</title><meta name="description" '
    'content="Page Not Found"/></head><body><div id="app"><h1>404</h1><p>Page not found</p></div></body></html>'
)
_PAYMENT_BADGES = {
    "pending": ("default", True, True), "paid": ("success", None, False), "canceled": ("destructive", None, True),
    "paypal_authorized": ("default", None, None), "paypal_captured": ("success", None, None),
    "stripe_authorized": ("default", False, True), "stripe_captured": ("success", False, False),
    "stripe_failed": ("destructive", False, True), "stripe_refunded": ("default", False, False),
    "stripe_partial_refunded": ("default", False, False),
}
_ORDER_BADGES = {"new": "default", "processing": "default", "completed": "success", "canceled": "destructive",
                 "closed": "outline"}
_ROLLUP_BADGES = {"pending": "default", "partially_shipped": "warning", "shipped": "warning",
                  "partially_delivered": "warning", "delivered": "success", "partially_canceled": "warning",
                  "canceled": "destructive"}
_SHIPMENT_STATUS = {"shipped": ("Shipped", "warning"), "delivered": ("Delivered", "success"),
                    "canceled": ("Canceled", "destructive")}
_CARRIERS = {"custom": ("Custom / Other", "Generic fallback for shipping without a specific carrier integration.")}
_DEFAULT_COUNTRIES = ("US", "CA", "GB", "IE", "DE", "FR", "NL", "BE", "IT", "ES", "PT", "RO", "PL", "AT", "AU", "NZ")


def sign_webhook(raw: bytes, secret: str) -> str:
    """Our bridge's signature header value: ``sha256=<hex HMAC-SHA256(raw body, secret)>``."""
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


class _Fail(Exception):
    """An EverShop error answer: ``{"error": {"status": ..., "message": ...}}``."""

    def __init__(self, status: int, message: str, *, message_first: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.message_first = message_first

    def response(self) -> Response:
        body = ({"message": self.message, "status": self.status} if self.message_first
                else {"status": self.status, "message": self.message})
        return json_response({"error": body}, self.status)


# -- value formatting ---------------------------------------------------------------------------


def _num4(value: Decimal) -> str:
    """numeric(12,4) as node-postgres returns it: ``"5.0000"``."""
    return f"{value.quantize(_Q4):f}"


def _jsnum(value: Decimal) -> int | float:
    """A numeric as a JSON number (the event trigger's row_to_json): ``5``, ``59.99``."""
    return int(value) if value == value.to_integral_value() else float(value)


def _js_numbers(value: Any) -> Any:
    """GraphQL ``Float`` values as JavaScript writes them: a whole number without ``.0`` (``5``, not ``5.0``)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _js_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_js_numbers(item) for item in value]
    return value


def _iso(value: datetime | None) -> str | None:
    """A timestamptz as JavaScript's ``Date.toJSON``: ``2026-11-22T07:58:47.033Z``."""
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _iso_offset(value: datetime) -> str:
    """A timestamptz as Postgres ``row_to_json`` writes it: ``2026-11-22T07:58:47.033+00:00``."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+00:00"


def _sql_time(value: datetime) -> str:
    """The older docs' ``YYYY-MM-DD HH:MM:SS``."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _ms(value: datetime) -> str:
    return str(int(value.timestamp() * 1000))


def _date(value: datetime) -> dict[str, Any]:
    return {"value": _ms(value), "text": f"{value:%b} {value.day}, {value.year}"}


def _datetime(value: datetime | None) -> dict[str, Any] | None:
    if value is None:
        return None
    return {"value": _ms(value), "timezone": "UTC", "text": f"{value:%Y-%m-%d}"}


def _price(value: Decimal, currency: str) -> dict[str, Any]:
    text = f"${value:,.2f}" if currency == "USD" else f"{value:,.2f} {currency}"
    return {"value": _jsnum(value), "currency": currency, "text": text}


def _weight(value: Decimal) -> dict[str, Any]:
    return {"value": _jsnum(value), "unit": "kg", "text": f"{_jsnum(value)} kg"}


def _uuid() -> str:
    return str(uuidlib.uuid4())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# -- state ----------------------------------------------------------------------------------------


@dataclass
class _Product:
    product_id: int
    uuid: str
    sku: str
    name: str
    price: Decimal
    qty: int
    weight: Decimal
    url_key: str
    status: bool = True
    manage_stock: bool = True
    package_id: int | None = 1
    variant_group_id: int | None = None
    variant_options: str | None = None
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass
class _CartItem:
    uuid: str
    product: _Product
    qty: int


@dataclass
class _Cart:
    cart_id: int
    uuid: str
    currency: str
    created_at: datetime
    items: list[_CartItem] = field(default_factory=list)
    customer_email: str | None = None
    customer_full_name: str | None = None
    shipping_address: dict[str, Any] | None = None
    billing_address: dict[str, Any] | None = None
    shipping_method: dict[str, Any] | None = None
    payment_method: str | None = None
    payment_method_name: str | None = None
    shipping_note: str | None = None
    active: bool = True
    errors: dict[str, str] = field(default_factory=dict)


@dataclass
class _Shipment:
    row: dict[str, Any]
    items: list[dict[str, Any]]


@dataclass
class _Order:
    row: dict[str, Any]
    items: list[dict[str, Any]]
    shipping_address: dict[str, Any]
    billing_address: dict[str, Any]
    shipments: list[_Shipment] = field(default_factory=list)
    activities: list[dict[str, Any]] = field(default_factory=list)
    transactions: list[dict[str, Any]] = field(default_factory=list)


class Simulator(SimulatorBase):
    """EverShop 2.2.1 in memory: catalog, guest checkout, admin GraphQL, oms routes, bridge webhooks."""

    platform: ClassVar[str] = "evershop"
    default_rate_limit: ClassVar[tuple[int, float] | None] = (120, 60.0)
    """EverShop 2.2.1 hard-codes 120 ``/api/**`` requests per 60 s per client IP (express-rate-limit,
    ``modules/base/services/rateLimit.js``); undocumented, but real. ``rate_limit=False`` turns it off."""

    def __init__(
        self,
        *,
        orders: int = 0,
        seed: int = 0,
        faults: FaultConfig | None = None,
        rate_limit: tuple[int, float] | bool | None = True,
        credentials: dict[str, str] | None = None,
        legacy_shipments: bool = False,
        bridge_filters: bool = True,
        access_token_ttl: float = 900.0,
        refresh_token_ttl: float = 54_000.0,
        clock: Callable[[], float] = time.time,
        currency: str | None = None,
    ) -> None:
        super().__init__(faults=faults, rate_limit=rate_limit)
        self.credentials = {**DEFAULT_CREDENTIALS, **(credentials or {})}
        self.legacy_shipments = legacy_shipments
        self.bridge_filters = bridge_filters
        self.access_token_ttl = access_token_ttl
        self.refresh_token_ttl = refresh_token_ttl
        self.clock = clock
        self.currency = store_currency(currency, "USD")
        self.events: list[dict[str, Any]] = []
        self._pending_events: list[tuple[str, dict[str, Any], int | None]] = []
        self._webhook_secret: str | None = None
        self._access_secret = secrets.token_bytes(32)
        self._refresh_secret = secrets.token_bytes(32)
        self._rng = random.Random(seed)
        self._now_override: datetime | None = None
        self.settings: dict[str, Any] = {"codPaymentStatus": 1, "codDisplayName": "Cash on Delivery",
                                         "allowGuestCheckout": 1}
        self.packages: list[dict[str, Any]] = [
            {"package_id": 1, "uuid": _uuid(), "name": "Default box", "length": Decimal(10), "width": Decimal(10),
             "height": Decimal(10), "weight": Decimal("0.1"), "is_default": True},
        ]
        self.products: dict[str, _Product] = {}
        self.zones: list[dict[str, Any]] = [
            {"shipping_zone_id": 1, "uuid": _uuid(), "name": "Default", "countries": list(_DEFAULT_COUNTRIES),
             "provinces": []},
        ]
        self.methods: list[dict[str, Any]] = [
            {"core_shipping_method_id": 1, "uuid": _uuid(), "name": "Standard", "is_enabled": True, "sort_order": 0},
        ]
        self.rates: list[dict[str, Any]] = [
            {"core_shipping_method_rate_id": 1, "uuid": _uuid(), "method_id": 1, "zone_id": 1, "is_enabled": True,
             "cost": Decimal(5)},
        ]
        self.metafield_definitions: list[dict[str, Any]] = []
        self.carts: dict[str, _Cart] = {}
        self.orders: dict[int, _Order] = {}
        self._order_by_uuid: dict[str, _Order] = {}
        self._ids: dict[str, int] = {}
        self._sessions: dict[str, str] = {}
        self._variant_groups: dict[str, int] = {}
        self._private: set[Handler] = set()
        for item in DEMO_PRODUCTS:
            option = (item.option_name, item.option_value) if item.option_name and item.option_value else None
            self._add_product(item.sku, item.name, item.price, item.stock, item.weight, option=option)
        self._admin_schema = self._build_schema(ADMIN_SDL, admin=True)
        self._public_schema = self._build_schema(STOREFRONT_SDL, admin=False)
        if orders:
            self._seed(orders)

    # -- small infrastructure ------------------------------------------------------------------
    def _next(self, table: str) -> int:
        self._ids[table] = self._ids.get(table, 0) + 1
        return self._ids[table]

    def _now(self) -> datetime:
        if self._now_override is not None:
            return self._now_override
        return datetime.fromtimestamp(self.clock(), UTC)

    def _add_product(self, sku: str, name: str, price: Decimal, qty: int, weight: Decimal,
                     option: tuple[str, str] | None = None, url_key: str | None = None,
                     package_id: int | None = 1, status: bool = True) -> _Product:
        product_id = self._next("product")
        product = _Product(product_id=product_id, uuid=_uuid(), sku=sku, name=name, price=price, qty=qty,
                           weight=weight, url_key=url_key or sku.lower(), package_id=package_id, status=status)
        if option is not None:
            group = self._variant_groups.setdefault(option[0], len(self._variant_groups) + 1)
            option_id = self._next(f"option:{option[0]}")
            product.variant_group_id = group
            product.variant_options = json.dumps([{
                "attribute_code": option[0].lower(), "attribute_name": option[0], "attribute_id": 2,
                "option_id": option_id, "option_text": option[1],
            }], separators=(",", ":"))
        self.products[sku] = product
        return product

    def set_stock(self, sku: str, qty: int) -> None:
        """Set a product's stock (tests: out-of-stock checkouts, restock checks)."""
        self.products[sku].qty = qty

    def stock(self, sku: str) -> int:
        """A product's current stock."""
        return self.products[sku].qty

    def order_by_uuid(self, uuid: str) -> dict[str, Any]:
        """The REST row of an order (tests and the demo)."""
        return self._order_row(self._order(uuid))

    def _order(self, uuid: str) -> _Order:
        order = self._order_by_uuid.get(uuid)
        if order is None:
            raise _Fail(500, "Order not found")
        return order

    # -- webhooks --------------------------------------------------------------------------------
    def configure_webhooks(self, url: str | None, secret: str | None = None) -> None:
        """Send our bridge's events to ``url``, signed with ``secret`` (HMAC-SHA256 of the raw body)."""
        self._webhook_secret = secret

        def sign(raw: bytes) -> dict[str, str]:
            headers = {"X-Ordersync-Event": str(orjson.loads(raw).get("event", ""))}
            if self._webhook_secret:
                headers["X-Ordersync-Signature"] = sign_webhook(raw, self._webhook_secret)
            return headers

        self.webhooks.configure(url, sign=sign)

    def _emit(self, event: str, data: dict[str, Any], order_id: int | None) -> None:
        """Queue an event; sent after the change is complete (EverShop emits after commit)."""
        self._pending_events.append((event, data, order_id))

    def _flush_events(self) -> None:
        pending, self._pending_events = self._pending_events, []
        for event, data, order_id in pending:
            summary = None
            order = self.orders.get(order_id) if order_id is not None else None
            if order is not None:
                row = order.row
                summary = {"order_id": row["order_id"], "uuid": row["uuid"], "order_number": row["order_number"],
                           "cart_id": row["cart_id"], "status": row["status"],
                           "payment_status": row["payment_status"], "shipment_status": row["shipment_status"]}
            body = {"event": event, "event_id": _uuid(), "data": data, "order": summary,
                    "sent_at": _iso(datetime.now(UTC))}
            self.events.append(body)
            self.webhooks.emit(event, body)

    # -- auth --------------------------------------------------------------------------------------
    def _token(self, kind: str) -> str:
        now = int(self.clock())
        ttl = self.access_token_ttl if kind == "access" else self.refresh_token_ttl
        payload = {"user": {"admin_user_id": 1, "uuid": "00000000-0000-4000-8000-000000000001",
                            "email": self.credentials["email"], "full_name": "Admin", "status": 1, "roles": "*"},
                   "tokenType": "admin", "tokenKind": kind, "iat": now, "exp": now + int(ttl), "aud": "admin",
                   "iss": "evershop"}
        head = _b64(orjson.dumps({"alg": "HS256", "typ": "JWT"}))
        body = _b64(orjson.dumps(payload))
        key = self._access_secret if kind == "access" else self._refresh_secret
        sig = _b64(hmac.new(key, f"{head}.{body}".encode(), hashlib.sha256).digest())
        return f"{head}.{body}.{sig}"

    def _verify(self, token: str, kind: str) -> dict[str, Any]:
        """The token's claims, or ``_Fail(401)`` with EverShop's message."""
        prefix = "Refresh token" if kind == "refresh" else "Token"
        invalid = "Invalid refresh token" if kind == "refresh" else "Invalid token"
        try:
            head, body, sig = token.split(".")
            claims = orjson.loads(_unb64(body))
        except (ValueError, orjson.JSONDecodeError):
            raise _Fail(401, invalid) from None
        key = self._access_secret if kind == "access" else self._refresh_secret
        expected = _b64(hmac.new(key, f"{head}.{body}".encode(), hashlib.sha256).digest())
        if not hmac.compare_digest(expected, sig):
            raise _Fail(401, invalid)
        if not isinstance(claims, dict) or claims.get("exp", 0) <= self.clock():
            raise _Fail(401, f"{prefix} has expired")
        if claims.get("tokenKind") != kind:
            raise _Fail(401, f"Invalid token kind. Expected {kind} token")
        return claims

    @staticmethod
    def _decode(token: str) -> dict[str, Any] | None:
        try:
            claims = orjson.loads(_unb64(token.split(".")[1]))
        except (IndexError, ValueError, orjson.JSONDecodeError):
            return None
        return claims if isinstance(claims, dict) else None

    def authenticate(self, request: Request) -> Response | None:
        """EverShop's global JWT middleware, then the private-route check (``401 Unauthorized``)."""
        header = request.headers.get("authorization", "")
        user = None
        if header.startswith("Bearer "):
            token = header[7:]
            claims = self._decode(token)
            if claims is not None and claims.get("tokenType") == "admin":
                try:
                    user = self._verify(token, "access")["user"]
                except _Fail as fail:
                    return fail.response()
        if user is None and self._session_user(request) is not None:
            user = self._session_user(request)
        if request.scope.get("endpoint") in self._private and user is None:
            return _Fail(401, "Unauthorized").response()
        return None

    def _session_user(self, request: Request) -> str | None:
        """The admin behind an ``asid`` session cookie (API routes accept it too, evershop.md §auth)."""
        cookie = request.cookies.get("asid", "")
        sid = cookie.removeprefix("s:").split(".")[0]
        return self._sessions.get(sid)

    def error_response(self, status: int, message: str) -> Response:
        """EverShop's error body (``{"error": {"status", "message"}}``)."""
        return _Fail(status, message).response()

    def rate_headers(self, state: WindowState) -> dict[str, str]:
        """express-rate-limit's ``standardHeaders`` (IETF draft-6)."""
        return {"RateLimit-Policy": f"{state.quota};w={int(state.window)}", "RateLimit-Limit": str(state.quota),
                "RateLimit-Remaining": str(state.remaining), "RateLimit-Reset": str(ceil_seconds(state.reset_after))}

    def rate_limited_response(self, state: WindowState) -> Response:
        """EverShop's API 429: the JSON error envelope and ``Retry-After`` = the whole window."""
        response = _Fail(429, "Too many requests. Please slow down and try again later.").response()
        response.headers["Retry-After"] = str(int(state.window))
        return response

    # -- routes ----------------------------------------------------------------------------------
    def access(self, *, hidden: Collection[str] = ()) -> tuple[str, str]:
        """EverShop's ``/api`` (admin GraphQL at ``/api/graphql``): a token from ``POST /api/user/tokens``."""
        email = self.shown("email", self.credentials["email"], hidden)
        password = self.shown("password", self.credentials["password"], hidden)
        return "/api (GraphQL: /api/graphql)", (f"POST /api/user/tokens {{\"email\": \"{email}\", \"password\": "
                                                f"\"{password}\"}}, then header Authorization: Bearer <accessToken>")

    def routes(self) -> list[BaseRoute]:
        """EverShop's API: public cart/checkout, private admin and oms routes, GraphQL, HTML 404s."""
        public: list[tuple[str, str, Callable[..., Any], bool]] = [
            ("POST", "/api/user/tokens", self._h_tokens, False),
            ("POST", "/api/user/token/refresh", self._h_refresh, False),
            ("POST", "/admin/user/login", self._h_admin_login, False),
            ("POST", "/api/carts", self._h_cart_create, True),
            ("POST", "/api/cart/{cart_id}/items", self._h_cart_add_item, True),
            ("POST", "/api/carts/{cart_id}/contacts", self._h_cart_contact, True),
            ("POST", "/api/carts/{cart_id}/addresses", self._h_cart_address, True),
            ("POST", "/api/carts/{cart_id}/shippingMethods", self._h_cart_shipping_method, True),
            ("POST", "/api/carts/{cart_id}/paymentMethods", self._h_cart_payment_method, True),
            ("POST", "/api/carts/{cart_id}/shippingNotes", self._h_cart_note, True),
            ("POST", "/api/carts/{cart_id}/checkout", self._h_cart_checkout, True),
            ("POST", "/api/orders", self._h_order_create, True),
            ("GET,POST", "/api/graphql", self._gql_public, False),
        ]
        private: list[tuple[str, str, Callable[..., Any], bool]] = [
            ("POST", "/api/user/session/tokens", self._h_session_tokens, False),
            ("POST", "/api/settings", self._h_settings, True),
            ("POST", "/api/packages", self._h_package, True),
            ("POST", "/api/products", self._h_product, True),
            ("POST", "/api/shippingZones", self._h_zone, True),
            ("POST", "/api/shippingProviders/core/methods", self._h_method, True),
            ("POST", "/api/shippingProviders/core/rates", self._h_rate, True),
            ("GET", "/api/metafield-definitions", self._h_metafield_definitions, False),
            ("POST", "/api/metafield-definitions", self._h_metafield_definition_create, True),
            ("GET,POST", "/api/admin/graphql", self._gql_admin, False),
            ("POST", "/api/orders/{id}/shipments", self._h_shipment_create, True),
            ("GET", "/api/orders/{id}/shipments", self._h_shipment_list, False),
            ("PATCH", "/api/orders/{order_id}/shipments/{shipment_id}", self._h_shipment_update_legacy, True),
            ("PATCH", "/api/shipments/{shipment_uuid}", self._h_shipment_update, True),
            ("POST", "/api/shipments/{shipment_uuid}/markDelivered", self._h_shipment_deliver, True),
            ("POST", "/api/shipments/{shipment_uuid}/cancel", self._h_shipment_cancel, True),
            ("POST", "/api/deliveries", self._h_deliveries, True),
            ("POST", "/api/orders/{id}/cancel", self._h_order_cancel, True),
            ("POST", "/api/cod/captures", self._h_cod_capture, True),
            ("PATCH", "/api/orders/{id}/metafields", self._h_metafields, True),
        ]
        out: list[BaseRoute] = []
        for access, table in (("public", public), ("private", private)):
            for methods, path, handler, write in table:
                raw = handler if handler in (self._gql_admin, self._gql_public) else self._wrap(handler)
                guarded = self.endpoint(raw, write=write, route=path)
                if access == "private":
                    self._private.add(guarded)
                out.append(Route(path, guarded, methods=methods.split(",")))
        out.append(Route("/{path:path}", self._not_found,
                         methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]))
        return out

    async def _not_found(self, request: Request) -> Response:
        """EverShop's storefront 404 page (there is no GET/DELETE /api/orders[/:id])."""
        response = HTMLResponse(_HTML_404, status_code=404)
        response.set_cookie("sid", secrets.token_urlsafe(16), httponly=True)
        return response

    def _wrap(self, handler: Callable[..., Any]) -> Handler:
        async def run(request: Request) -> Response:
            body: Any = None
            if request.method in ("POST", "PATCH", "PUT"):
                body = await read_json(request)
                if body is None:
                    body = {}
            try:
                result: Response = handler(request, body)
            except _Fail as fail:
                result = fail.response()
            finally:
                self._flush_events()
            return result

        run.__name__ = getattr(handler, "__name__", "handler")
        return run

    # -- payload schema helpers ----------------------------------------------------------------
    @staticmethod
    def _object(body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise _Fail(400, "must be object")
        return body

    @staticmethod
    def _require(body: dict[str, Any], *names: str, messages: Mapping[str, str] | None = None) -> None:
        for name in names:
            if name not in body or body[name] is None:
                raise _Fail(400, (messages or {}).get(name, f"must have required property '{name}'"))

    # -- auth routes -----------------------------------------------------------------------------
    def _h_tokens(self, request: Request, body: Any) -> Response:
        body = self._object(body)
        self._require(body, "email", "password")
        if (body.get("email") != self.credentials["email"]
                or not hmac.compare_digest(str(body.get("password")), self.credentials["password"])):
            return json_response({"error": {"message": "Invalid email or password", "status": 400}}, 400)
        return json_response({"data": {"accessToken": self._token("access"), "refreshToken": self._token("refresh")}})

    def _h_admin_login(self, request: Request, body: Any) -> Response:
        """``POST /admin/user/login``: the admin UI's login, ``{"data": {"sid"}}`` and an ``asid`` cookie."""
        body = self._object(body)
        self._require(body, "email", "password")
        if (body.get("email") != self.credentials["email"]
                or not hmac.compare_digest(str(body.get("password")), self.credentials["password"])):
            return json_response({"error": {"message": "Invalid email or password", "status": 400}}, 400)
        sid = secrets.token_urlsafe(24)[:32]
        self._sessions[sid] = str(body["email"])
        response = json_response({"data": {"sid": sid}})
        signature = hmac.new(self._access_secret, sid.encode(), hashlib.sha256).hexdigest()[:27]
        response.set_cookie("asid", f"s:{sid}.{signature}", max_age=86_400, path="/", httponly=True)
        return response

    def _h_session_tokens(self, request: Request, body: Any) -> Response:
        """``POST /api/user/session/tokens``: the session cookie exchanged for a JWT pair."""
        return json_response({"data": {"accessToken": self._token("access"), "refreshToken": self._token("refresh")}})

    def _h_refresh(self, request: Request, body: Any) -> Response:
        body = self._object(body)
        token = body.get("refreshToken")
        if not token:
            raise _Fail(400, "Refresh token is required")
        self._verify(str(token), "refresh")
        return json_response({"data": {"accessToken": self._token("access")}})

    # -- setup routes ----------------------------------------------------------------------------
    def _h_settings(self, request: Request, body: Any) -> Response:
        self.settings.update(self._object(body))
        return json_response({"data": {}, "warnings": []})

    def _h_package(self, request: Request, body: Any) -> Response:
        body = self._object(body)
        self._require(body, "name", "length", "width", "height")
        now = self._now()
        package_id = len(self.packages) + 1
        row = {"package_id": package_id, "uuid": _uuid(), "name": body["name"],
               "length": Decimal(str(body["length"])), "width": Decimal(str(body["width"])),
               "height": Decimal(str(body["height"])), "weight": Decimal(str(body.get("weight") or 0)),
               "is_default": bool(body.get("is_default"))}
        self.packages.append(row)
        return json_response({"data": {
            "package_id": package_id, "uuid": row["uuid"], "name": row["name"],
            "length": f"{row['length'].quantize(_Q2):f}", "width": f"{row['width'].quantize(_Q2):f}",
            "height": f"{row['height'].quantize(_Q2):f}", "weight": _num4(row["weight"]),
            "is_default": row["is_default"], "created_at": _iso(now), "updated_at": _iso(now), "insertId": package_id,
        }})

    def _h_product(self, request: Request, body: Any) -> Response:
        body = self._object(body)
        self._require(body, "name", "url_key", "status", "sku", "qty", "price", "group_id", "visibility")
        if not body.get("package_id") and not body.get("no_shipping_required"):
            raise _Fail(500, "A package is required for shippable products")
        sku = str(body["sku"])
        if sku in self.products:
            raise _Fail(500, 'duplicate key value violates unique constraint "PRODUCT_SKU_UNIQUE"')
        product = self._add_product(sku, str(body["name"]), Decimal(str(body["price"])), int(body["qty"]),
                                    Decimal(str(body.get("weight") or 0)), url_key=str(body["url_key"]),
                                    package_id=int(body["package_id"]), status=bool(int(body["status"])))
        product.manage_stock = bool(int(body.get("manage_stock", 1)))
        return json_response({"data": {
            "product_description_id": product.product_id, "product_description_product_id": product.product_id,
            "name": product.name, "description": "[]", "short_description": None, "url_key": product.url_key,
            "meta_title": None, "meta_description": None, "meta_keywords": None, "insertId": product.product_id,
            "product_id": product.product_id, "uuid": product.uuid, "type": "simple", "variant_group_id": None,
            "visibility": True, "group_id": int(body["group_id"]), "sku": sku, "price": _num4(product.price),
            "weight": _num4(product.weight), "tax_class": None, "status": product.status,
            "created_at": _iso(product.created_at), "updated_at": _iso(product.created_at), "category_id": None,
            "no_shipping_required": False, "package_id": product.package_id, "meta_data": {},
            "related_products_mode": "inherit", "related_products_rules": None, "cross_sell_mode": "auto",
            "exclude_from_recommendation": False,
            "links": [{"rel": "productGrid", "href": "/admin/products", "action": "GET", "types": ["text/xml"]},
                      {"rel": "view", "href": f"/product/{product.uuid}", "action": "GET", "types": ["text/xml"]},
                      {"rel": "edit", "href": f"/admin/products/edit/{product.uuid}", "action": "GET",
                       "types": ["text/xml"]}],
        }})

    def _h_zone(self, request: Request, body: Any) -> Response:
        body = self._object(body)
        self._require(body, "name", "countries")
        zone = {"shipping_zone_id": len(self.zones) + 1, "uuid": _uuid(), "name": body["name"],
                "countries": list(body["countries"]), "provinces": list(body.get("provinces") or [])}
        self.zones.append(zone)
        return json_response({"data": {"shipping_zone_id": zone["shipping_zone_id"], "uuid": zone["uuid"],
                                       "name": zone["name"], "insertId": zone["shipping_zone_id"]}})

    def _h_method(self, request: Request, body: Any) -> Response:
        body = self._object(body)
        self._require(body, "name")
        method = {"core_shipping_method_id": len(self.methods) + 1, "uuid": _uuid(), "name": body["name"],
                  "is_enabled": bool(body.get("is_enabled", True)), "sort_order": 0}
        self.methods.append(method)
        return json_response({"data": {**method, "default_service_code": None, "default_carrier_code": None,
                                       "insertId": method["core_shipping_method_id"]}})

    def _h_rate(self, request: Request, body: Any) -> Response:
        body = self._object(body)
        self._require(body, "method_id", "zone_id")
        method = next((m for m in self.methods if m["uuid"] == body["method_id"]), None)
        zone = next((z for z in self.zones if z["uuid"] == body["zone_id"]), None)
        if method is None or zone is None:
            raise _Fail(400, "Invalid method or zone")
        rate = {"core_shipping_method_rate_id": len(self.rates) + 1, "uuid": _uuid(),
                "method_id": method["core_shipping_method_id"], "zone_id": zone["shipping_zone_id"],
                "is_enabled": bool(body.get("is_enabled", True)), "cost": Decimal(str(body.get("cost") or 0))}
        self.rates.append(rate)
        return json_response({"data": {**rate, "cost": _num4(rate["cost"]), "condition_type": None, "min": None,
                                       "max": None, "price_based_cost": None, "weight_based_cost": None}})

    def _h_metafield_definitions(self, request: Request, body: Any) -> Response:
        owner = request.query_params.get("ownerType")
        if not owner:
            raise _Fail(400, "ownerType query parameter is required")
        return json_response({"data": [d for d in self.metafield_definitions if d["ownerType"] == owner]})

    def _h_metafield_definition_create(self, request: Request, body: Any) -> Response:
        body = self._object(body)
        self._require(body, "ownerType", "namespace", "fieldKey", "name", "fieldType")
        owner, namespace, key = str(body["ownerType"]), str(body["namespace"]), str(body["fieldKey"])
        if any(d["ownerType"] == owner and d["namespace"] == namespace and d["key"] == key
               for d in self.metafield_definitions):
            raise _Fail(409, f'A metafield definition "{namespace}.{key}" already exists for "{owner}"')
        definition = {"uuid": _uuid(), "ownerType": owner, "namespace": namespace, "key": key,
                      "name": body["name"], "type": body["fieldType"], "isList": False, "required": False,
                      "translatable": False, "visibleToCustomer": bool(body.get("visibleToCustomer", False)),
                      "validations": [], "appearance": {}, "subFields": [], "position": 0}
        self.metafield_definitions.append(definition)
        return json_response({"data": definition})

    def define_reference_metafield(self) -> None:
        """Create the ``order`` metafield definition ``ordersync.ref`` (what the connector's setup does)."""
        if not any(d["namespace"] == "ordersync" and d["key"] == "ref" for d in self.metafield_definitions):
            self.metafield_definitions.append({
                "uuid": _uuid(), "ownerType": "order", "namespace": "ordersync", "key": "ref",
                "name": "ordersync reference", "type": "short_text", "isList": False, "required": False,
                "translatable": False, "visibleToCustomer": False, "validations": [], "appearance": {},
                "subFields": [], "position": 0})

    # -- carts -------------------------------------------------------------------------------------
    def _cart(self, cart_id: str) -> _Cart:
        cart = self.carts.get(cart_id.replace("-", "").lower())
        if cart is None or not cart.active:
            raise _Fail(500, "Cart not found", message_first=True)
        return cart

    def _cart_line_amounts(self, item: _CartItem) -> dict[str, Decimal]:
        price = item.product.price
        total = price * item.qty
        return {"product_price": price, "product_price_incl_tax": price, "final_price": price,
                "final_price_incl_tax": price, "tax_percent": Decimal(0), "tax_amount": Decimal(0),
                "tax_amount_before_discount": Decimal(0), "discount_amount": Decimal(0), "line_total": total,
                "line_total_incl_tax": total, "line_total_with_discount": total,
                "line_total_with_discount_incl_tax": total}

    def _cart_item_export(self, item: _CartItem, cart: _Cart | None = None) -> dict[str, Any]:
        product = item.product
        package = self.packages[(product.package_id or 1) - 1] if product.package_id else None
        out: dict[str, Any] = {"uuid": item.uuid}
        if cart is not None:
            out["cart_id"] = cart.cart_id
        out.update({
            "product_id": product.product_id, "productUrl": f"/{product.url_key}", "product_uuid": product.uuid,
            "product_sku": product.sku, "group_id": 1, "category_id": None, "product_name": product.name,
            "thumbnail": None, "product_weight": _jsnum(product.weight),
            "package_length": _jsnum(package["length"]) if package else None,
            "package_width": _jsnum(package["width"]) if package else None,
            "package_height": _jsnum(package["height"]) if package else None,
            "package_weight": _jsnum(package["weight"]) if package else None,
            "no_shipping_required": False, "tax_class_id": None, "qty": item.qty,
            "variant_group_id": product.variant_group_id, "variant_options": product.variant_options,
        })
        amounts = self._cart_line_amounts(item)
        for key in ("tax_percent", "product_price", "product_price_incl_tax", "tax_amount_before_discount",
                    "final_price", "final_price_incl_tax", "line_total", "line_total_incl_tax", "discount_amount",
                    "tax_amount", "line_total_with_discount", "line_total_with_discount_incl_tax"):
            out[key] = _jsnum(amounts[key])
        out["errors"] = {}
        return out

    def _add_to_cart(self, cart: _Cart, product: _Product, qty: int) -> _CartItem:
        if not isinstance(qty, int) or isinstance(qty, bool) or qty <= 0:
            raise _Fail(500, "Invalid quantity", message_first=True)
        existing = next((i for i in cart.items if i.product is product), None)
        wanted = qty + (existing.qty if existing else 0)
        if product.manage_stock and product.qty < 1:
            raise _Fail(500, "This item is out of stock", message_first=True)
        if product.manage_stock and product.qty < wanted:
            raise _Fail(500, "We do not have enough stock", message_first=True)
        if existing is not None:
            existing.qty = wanted
            return existing
        item = _CartItem(uuid=_uuid(), product=product, qty=qty)
        cart.items.append(item)
        return item

    def create_cart(self, items: list[dict[str, Any]], email: str | None = None,
                    full_name: str | None = None) -> _Cart:
        """``POST /api/carts`` logic (also used to seed orders)."""
        if not items:
            raise _Fail(400, "Requires at least one item to create a cart")
        if len(items) > 100:
            raise _Fail(400, "Too many items requested")
        grouped: dict[str, int] = {}
        for item in items:
            grouped[str(item["sku"])] = grouped.get(str(item["sku"]), 0) + item["qty"]
        products = [self.products.get(sku) for sku in grouped]
        if any(p is None or not p.status for p in products):
            raise _Fail(400, "Some products are not available")
        hexid = uuidlib.uuid4().hex
        cart = _Cart(cart_id=self._next("cart"), uuid=str(uuidlib.UUID(hexid)), currency=self.currency,
                     created_at=self._now(), customer_email=email, customer_full_name=full_name)
        for sku, qty in grouped.items():
            self._add_to_cart(cart, self.products[sku], qty)
        self.carts[hexid] = cart
        return cart

    def _h_cart_create(self, request: Request, body: Any) -> Response:
        body = self._object(body)
        self._require(body, "items", messages={"items": "Must provide at least one item"})
        items = body["items"]
        if not isinstance(items, list):
            raise _Fail(400, "must be array")
        for item in items:
            if not isinstance(item, dict) or not isinstance(item.get("sku"), str):
                raise _Fail(400, "Sku is required")
            if not isinstance(item.get("qty"), int) or isinstance(item.get("qty"), bool):
                raise _Fail(400, "Qty is invalid")
        email = body.get("customer_email")
        if email is not None and (not isinstance(email, str) or "@" not in email):
            raise _Fail(400, "Email is invalid")
        cart = self.create_cart(items, email, body.get("customer_full_name"))
        return json_response({"data": {"items": [self._cart_item_export(i) for i in cart.items],
                                        "count": len(cart.items), "cartId": cart.uuid.replace("-", "")}})

    def _h_cart_add_item(self, request: Request, body: Any) -> Response:
        body = self._object(body)
        self._require(body, "sku", "qty")
        qty = body["qty"]
        if isinstance(qty, str) and qty.isdigit() and not qty.startswith("0"):
            qty = int(qty)
        if not isinstance(qty, int) or isinstance(qty, bool) or qty < 1:
            raise _Fail(400, "Qty is invalid")
        cart = self._cart(request.path_params["cart_id"])
        product = self.products.get(str(body["sku"]))
        if product is None or not product.status:
            raise _Fail(400, "Product not found")
        item = self._add_to_cart(cart, product, qty)
        return json_response({"data": {"item": self._cart_item_export(item, cart),
                                       "count": sum(i.qty for i in cart.items), "cartId": cart.uuid}})

    def _h_cart_contact(self, request: Request, body: Any) -> Response:
        body = self._object(body)
        self._require(body, "email")
        cart = self._cart(request.path_params["cart_id"])
        cart.customer_email = str(body["email"])
        return json_response({"data": {"email": cart.customer_email}})

    @staticmethod
    def _validate_address(address: Any) -> dict[str, Any]:
        if not isinstance(address, dict):
            raise _Fail(500, "Address data is required")
        for key, message in (("full_name", "Full name is required"), ("address_1", "Address is required"),
                             ("province", "Province is required"), ("country", "Country is required"),
                             ("postcode", "Postcode is required")):
            value = address.get(key)
            if not isinstance(value, str) or not value.strip():
                raise _Fail(500, message)
        return address

    def set_address(self, cart: _Cart, kind: str, address: Any) -> dict[str, Any]:
        """``POST /api/carts/:id/addresses`` logic."""
        address = self._validate_address(address)
        row = {"cart_address_id": self._next("cart_address"), "uuid": _uuid()}
        for key in ("full_name", "postcode", "telephone", "country", "province", "city", "address_1", "address_2"):
            value = address.get(key)
            row[key] = str(value) if value is not None else None
        if kind == "shipping":
            cart.shipping_address = row
        else:
            cart.billing_address = row
        return row

    def _h_cart_address(self, request: Request, body: Any) -> Response:
        body = self._object(body)
        self._require(body, "address", "type")
        if body["type"] not in ("shipping", "billing"):
            raise _Fail(400, "must be equal to one of the allowed values")
        cart = self._cart(request.path_params["cart_id"])
        return json_response({"data": self.set_address(cart, body["type"], body["address"])})

    def _methods_for(self, country: str | None, province: str | None) -> list[dict[str, Any]]:
        if not country:
            return []
        out = []
        for zone in self.zones:
            if country not in zone["countries"]:
                continue
            if zone["provinces"] and province not in zone["provinces"]:
                continue
            for rate in self.rates:
                if rate["zone_id"] != zone["shipping_zone_id"] or not rate["is_enabled"]:
                    continue
                method = self.methods[rate["method_id"] - 1]
                if method["is_enabled"]:
                    out.append({"code": method["uuid"], "name": method["name"], "cost": rate["cost"]})
        return out

    def _payment_methods(self) -> list[dict[str, str]]:
        if str(self.settings.get("codPaymentStatus", 0)) in ("1", "True", "true"):
            return [{"code": "cod", "name": str(self.settings.get("codDisplayName") or "Cash on Delivery")}]
        return []

    def set_shipping_method(self, cart: _Cart, provider: Any, code: Any) -> None:
        """``POST /api/carts/:id/shippingMethods`` logic (``resolveShippingQuote``'s messages, 400)."""
        if not provider:
            raise _Fail(400, "provider_code is required", message_first=True)
        if not code:
            raise _Fail(400, "Missing provider_code or method_code", message_first=True)
        if provider != "core":
            raise _Fail(400, f'Shipping provider "{provider}" is not registered', message_first=True)
        address = cart.shipping_address or {}
        if not address.get("country"):
            raise _Fail(400, "Shipping address is required", message_first=True)
        if not any(address["country"] in z["countries"] and (not z["provinces"] or address.get("province")
                                                              in z["provinces"]) for z in self.zones):
            raise _Fail(400, "We do not ship to this address", message_first=True)
        available = self._methods_for(address.get("country"), address.get("province"))
        method = next((m for m in available if m["code"] == code), None)
        if method is None:
            raise _Fail(400, "Selected shipping method is no longer available", message_first=True)
        cart.shipping_method = {"provider_code": "core", "method_code": method["code"], "name": method["name"],
                                "cost": method["cost"], "quotedAt": _iso(self._now())}

    def _h_cart_shipping_method(self, request: Request, body: Any) -> Response:
        body = self._object(body)
        self._require(body, "provider_code", "method_code")
        cart = self._cart(request.path_params["cart_id"])
        self.set_shipping_method(cart, body.get("provider_code"), body.get("method_code"))
        return json_response({"data": {"method": {"code": body["method_code"],
                                                  "provider_code": body["provider_code"]}}})

    def set_payment_method(self, cart: _Cart, code: Any, name: Any = None) -> None:
        """``POST /api/carts/:id/paymentMethods`` logic: an unavailable method becomes a cart error."""
        cart.payment_method = str(code) if code else None
        available = {m["code"]: m["name"] for m in self._payment_methods()}
        if not code:
            cart.errors["payment_method"] = "Payment method is required"
        elif code not in available:
            cart.errors["payment_method"] = f"Payment method {code} is not available"
        else:
            cart.errors.pop("payment_method", None)
            cart.payment_method_name = available[code]

    def _h_cart_payment_method(self, request: Request, body: Any) -> Response:
        body = self._object(body)
        self._require(body, "method_code")
        cart = self._cart(request.path_params["cart_id"])
        self.set_payment_method(cart, body["method_code"], body.get("method_name"))
        return json_response({"data": {"method": {"code": body["method_code"], "name": body.get("method_name")}}})

    def _h_cart_note(self, request: Request, body: Any) -> Response:
        body = self._object(body)
        self._require(body, "note")
        cart = self._cart(request.path_params["cart_id"])
        cart.shipping_note = str(body["note"])
        return json_response({"data": {"note": cart.shipping_note}})

    # -- placing orders ------------------------------------------------------------------------
    def place_order(self, cart: _Cart) -> _Order:
        """``POST /api/orders`` logic: validate the cart, write the order, decrement stock, emit events."""
        if cart.errors:
            raise _Fail(400, next(iter(cart.errors.values())), message_first=True)
        for item in cart.items:
            if item.product.manage_stock and item.product.qty < item.qty:
                raise _Fail(400, "We do not have enough stock", message_first=True)
        problems = []
        if not cart.items:
            problems.append("Cart is empty")
        if cart.shipping_address is None:
            problems.append("Shipping address is required")
        if cart.shipping_method is None:
            problems.append("Shipping method is required")
        if cart.billing_address is None:
            problems.append("Billing address is required")
        if not cart.customer_email:
            problems.append("You must be logged in to place an order")
        if problems:
            raise _Fail(500, "Order validation failed: " + "\r\n-- ".join(problems), message_first=True)
        assert cart.shipping_address is not None
        assert cart.billing_address is not None
        assert cart.shipping_method is not None
        now = self._now()
        order_id = self._next("order")
        uuid = _uuid()
        # Order items are written newest cart item first: the recorded real order (sample 22) numbers the
        # item added last (POST /api/cart/:id/items) order_item_id 1 and the one the cart was created with 2.
        lines = [(item, self._cart_line_amounts(item)) for item in reversed(cart.items)]
        sub_total = sum((a["line_total"] for _, a in lines), Decimal(0))
        fee = cart.shipping_method["cost"]
        weight = sum((i.product.weight * i.qty for i in cart.items), Decimal(0))
        addresses = []
        for source in (cart.shipping_address, cart.billing_address):
            address = {"order_address_id": self._next("order_address"), "uuid": _uuid()}
            for key in ("full_name", "postcode", "telephone", "country", "province", "city", "address_1",
                        "address_2"):
                address[key] = source.get(key)
            addresses.append(address)
        zero = Decimal(0)
        row: dict[str, Any] = {
            "order_id": order_id, "uuid": uuid, "integration_order_id": None, "sid": None,
            "order_number": str(10000 + order_id), "status": "new", "cart_id": cart.cart_id,
            "currency": cart.currency, "customer_id": None, "customer_email": cart.customer_email,
            "customer_full_name": cart.customer_full_name, "user_ip": None, "user_agent": None, "coupon": None,
            "shipping_fee_excl_tax": fee, "shipping_fee_incl_tax": fee, "discount_amount": zero,
            "sub_total": sub_total, "sub_total_incl_tax": sub_total, "sub_total_with_discount": sub_total,
            "sub_total_with_discount_incl_tax": sub_total, "total_qty": sum(i.qty for i in cart.items),
            "total_weight": weight, "tax_amount": zero, "tax_amount_before_discount": zero,
            "shipping_tax_amount": zero, "shipping_note": cart.shipping_note, "grand_total": sub_total + fee,
            "shipping_address_id": addresses[0]["order_address_id"], "payment_method": cart.payment_method,
            "payment_method_name": cart.payment_method_name, "billing_address_id": addresses[1]["order_address_id"],
            "shipment_status": "pending", "payment_status": "pending", "created_at": now, "updated_at": now,
            "total_tax_amount": zero,
            "shipping_method_data": {
                "quotedAt": cart.shipping_method["quotedAt"],
                "snapshot": {"code": cart.shipping_method["method_code"], "cost": _jsnum(fee),
                             "name": cart.shipping_method["name"]},
                "fingerprint": hashlib.sha1(cart.uuid.encode(), usedforsecurity=False).hexdigest(),
                "method_code": cart.shipping_method["method_code"], "provider_code": "core",
            },
            "no_shipping_required": False, "meta_data": {},
        }
        items = []
        for item, amounts in lines:
            product = item.product
            package = self.packages[(product.package_id or 1) - 1]
            items.append({
                "order_item_id": self._next("order_item"), "uuid": _uuid(), "order_item_order_id": order_id,
                "product_id": product.product_id, "referer": None, "product_sku": product.sku,
                "product_name": product.name, "thumbnail": None, "product_weight": product.weight,
                "product_price": amounts["product_price"], "product_price_incl_tax": amounts["product_price_incl_tax"],
                "qty": item.qty, "final_price": amounts["final_price"],
                "final_price_incl_tax": amounts["final_price_incl_tax"], "tax_percent": amounts["tax_percent"],
                "tax_amount": amounts["tax_amount"], "tax_amount_before_discount": zero,
                "discount_amount": amounts["discount_amount"], "line_total": amounts["line_total"],
                "line_total_with_discount": amounts["line_total_with_discount"],
                "line_total_incl_tax": amounts["line_total_incl_tax"],
                "line_total_with_discount_incl_tax": amounts["line_total_with_discount_incl_tax"],
                "variant_group_id": product.variant_group_id, "variant_options": product.variant_options,
                "product_custom_options": None, "requested_data": None, "no_shipping_required": False,
                "package_length": package["length"], "package_width": package["width"],
                "package_height": package["height"], "package_weight": package["weight"],
            })
            if product.manage_stock:
                product.qty -= item.qty
        order = _Order(row=row, items=items, shipping_address=addresses[0], billing_address=addresses[1])
        self.orders[order_id] = order
        self._order_by_uuid[uuid] = order
        cart.active = False
        self._activity(order, "Order has been created")
        self._emit("order_created", self._event_row(order), order_id)
        if row["payment_method"] == "cod":
            self._emit("order_placed", {**self._order_row(order, nested=False), "insertId": order_id}, order_id)
        return order

    def _h_order_create(self, request: Request, body: Any) -> Response:
        body = self._object(body)
        self._require(body, "cart_id")
        order = self.place_order(self._cart(str(body["cart_id"])))
        return json_response({"data": self._order_row(order)})

    def _h_cart_checkout(self, request: Request, body: Any) -> Response:
        body = self._object(body)
        self._require(body, "cart_id")
        customer = body.get("customer")
        if not isinstance(customer, dict):
            raise _Fail(500, "Cannot read properties of undefined (reading 'email')", message_first=True)
        cart = self._cart(request.path_params["cart_id"])
        try:
            if customer.get("email"):
                cart.customer_email = str(customer["email"])
            # EverShop rebuilds `customer` as {email} only: customer.fullName is dropped (2.2.1 bug).
            self.set_address(cart, "shipping", body.get("shippingAddress"))
            self.set_address(cart, "billing", body.get("billingAddress") or body.get("shippingAddress"))
            self.set_shipping_method(cart, body.get("shippingProvider"), body.get("shippingMethod"))
            self.set_payment_method(cart, body.get("paymentMethod"))
            if body.get("note"):
                cart.shipping_note = str(body["note"])
            order = self.place_order(cart)
        except _Fail as fail:
            raise _Fail(500, fail.message, message_first=True) from None
        return json_response({"data": {**self._order_row(order, nested=False), "insertId": order.row["order_id"],
                                       "links": self._links(order)}})

    @staticmethod
    def _links(order: _Order) -> list[dict[str, Any]]:
        return [{"rel": "edit", "href": f"/admin/order/edit/{order.row['uuid']}", "action": "GET",
                 "types": ["text/xml"]}]

    # -- rows --------------------------------------------------------------------------------------
    def _order_row(self, order: _Order, *, nested: bool = True) -> dict[str, Any]:
        """The ``order`` row as node-postgres returns it (numerics as strings), plus items/addresses."""
        out: dict[str, Any] = {}
        for key, value in order.row.items():
            if isinstance(value, Decimal):
                out[key] = _num4(value)
            elif isinstance(value, datetime):
                out[key] = _iso(value)
            else:
                out[key] = value
        if nested:
            out["items"] = [self._item_row(item) for item in order.items]
            out["shipping_address"] = dict(order.shipping_address)
            out["billing_address"] = dict(order.billing_address)
            out["links"] = self._links(order)
        return out

    @staticmethod
    def _item_row(item: dict[str, Any]) -> dict[str, Any]:
        out = {}
        for key, value in item.items():
            if isinstance(value, Decimal):
                out[key] = f"{value.quantize(_Q2):f}" if key.startswith("package_") and key != "package_weight" \
                    else _num4(value)
            else:
                out[key] = value
        return out

    def _event_row(self, order: _Order) -> dict[str, Any]:
        """The row as the ``order_created`` trigger serialises it (JSON numbers, ``+00:00`` dates)."""
        out: dict[str, Any] = {}
        for key, value in order.row.items():
            if isinstance(value, Decimal):
                out[key] = _jsnum(value)
            elif isinstance(value, datetime):
                out[key] = _iso_offset(value)
            else:
                out[key] = value
        return out

    def _shipment_row(self, shipment: _Shipment, *, with_items: bool = False) -> dict[str, Any]:
        row = shipment.row
        if self.legacy_shipments:
            out: dict[str, Any] = {"shipment_id": row["shipment_id"], "shipment_order_id": row["shipment_order_id"],
                                   "uuid": row["uuid"].replace("-", ""), "carrier_name": row["carrier"],
                                   "tracking_number": row["tracking_number"],
                                   "created_at": _sql_time(row["created_at"]),
                                   "updated_at": _sql_time(row["updated_at"])}
        else:
            out = {key: (_iso(value) if isinstance(value, datetime) else value) for key, value in row.items()}
        if with_items:
            out["items"] = [{**i, "created_at": _iso(i["created_at"])} for i in shipment.items]
        return out

    # -- status machinery (oms) ------------------------------------------------------------------
    def _activity(self, order: _Order, comment: str) -> None:
        now = self._now()
        order.activities.append({"order_activity_id": self._next("activity"), "comment": comment,
                                 "customer_notified": 0, "created_at": now, "updated_at": now})

    def _change_order_status(self, order: _Order, status: str) -> None:
        current = order.row["status"]
        if current == status:
            return
        if ORDER_FLOW.index(current) > ORDER_FLOW.index(status):
            raise _Fail(500, "Can not revert the status of the order")
        order.row["status"] = status
        self._emit("order_status_updated", {"orderId": order.row["order_id"], "before": current, "after": status},
                   order.row["order_id"])

    def _after_status_change(self, order: _Order) -> None:
        """The hookAfter on payment/shipment changes: derive the order status via psoMapping."""
        new = order_status(order.row["payment_status"], order.row["shipment_status"])
        if new is None:
            raise _Fail(500, "Can not found a valid order status from the current shipment and payment status")
        if order.row["status"] == "canceled" and new != "canceled":
            raise _Fail(500, "Order is already canceled")
        if order.row["status"] == "closed" and new != "closed":
            raise _Fail(500, "Order is already closed")
        self._change_order_status(order, new)

    def _set_payment_status(self, order: _Order, status: str) -> None:
        order.row["payment_status"] = status
        self._after_status_change(order)

    def _recompute_shipment_status(self, order: _Order) -> None:
        ordered = {item["order_item_id"]: item["qty"] for item in order.items if not item["no_shipping_required"]}
        by_phase: dict[str, dict[int, int]] = {}
        for shipment in order.shipments:
            phase = SHIPMENT_PHASE.get(shipment.row["status"], "shipped")
            bucket = by_phase.setdefault(phase, {})
            for item in shipment.items:
                bucket[item["order_item_id"]] = bucket.get(item["order_item_id"], 0) + item["qty"]
        order.row["shipment_status"] = rollup(
            {str(k): v for k, v in ordered.items()},
            {phase: {str(k): v for k, v in qty.items()} for phase, qty in by_phase.items()},
            canceled=order.row["status"] == "canceled",
        )
        self._after_status_change(order)

    def _shipment(self, uuid: str) -> tuple[_Order, _Shipment]:
        for order in self.orders.values():
            for shipment in order.shipments:
                if shipment.row["uuid"] == uuid:
                    return order, shipment
        raise _Fail(400, "Invalid shipment id")

    def _set_shipment_status(self, order: _Order, shipment: _Shipment, status: str) -> None:
        before = shipment.row["status"]
        from_phase, to_phase = SHIPMENT_PHASE[before], SHIPMENT_PHASE[status]
        allowed = {"shipped": {"shipped", "delivered", "canceled"}, "delivered": {"delivered"},
                   "canceled": {"canceled"}}[from_phase]
        if to_phase not in allowed:
            raise _Fail(500, f"Cannot transition shipment from phase {from_phase} to phase {to_phase}")
        now = self._now()
        shipment.row["status"] = status
        column = {"shipped": "shipped_at", "delivered": "delivered_at", "canceled": "canceled_at"}[to_phase]
        if shipment.row[column] is None:
            shipment.row[column] = now
        self._recompute_shipment_status(order)
        event = {"shipmentId": shipment.row["shipment_id"], "orderId": order.row["order_id"], "from": before,
                 "to": status, "phase": to_phase}
        self._emit("shipment_status_changed", event, order.row["order_id"])
        if to_phase == "delivered":
            self._emit("shipment_delivered", {"shipmentId": shipment.row["shipment_id"],
                                              "orderId": order.row["order_id"]}, order.row["order_id"])

    def _shipped_so_far(self, order: _Order) -> dict[int, int]:
        shipped: dict[int, int] = {}
        for shipment in order.shipments:
            if shipment.row["status"] == "canceled":
                continue
            for item in shipment.items:
                shipped[item["order_item_id"]] = shipped.get(item["order_item_id"], 0) + item["qty"]
        return shipped

    def create_shipment(self, order: _Order, items: list[dict[str, Any]], carrier: str,
                        tracking_number: str | None, notify: bool = True) -> _Shipment:
        """The oms ``createShipment`` service: validate items and carrier, insert, roll up, emit."""
        if not items:
            raise _Fail(500, "items is required and must be a non-empty array")
        if not carrier:
            raise _Fail(500, "carrier is required")
        if not self.legacy_shipments and carrier not in _CARRIERS:
            raise _Fail(500, f"Unknown carrier '{carrier}'. Install or register the carrier extension first.")
        by_id = {item["order_item_id"]: item for item in order.items}
        if any(i.get("order_item_id") not in by_id for i in items):
            raise _Fail(500, f"One or more order_item_ids not found on order {order.row['order_id']}")
        shipped = self._shipped_so_far(order)
        for requested in items:
            qty = requested.get("qty")
            if not isinstance(qty, int) or isinstance(qty, bool) or qty <= 0:
                raise _Fail(500, f"Invalid qty for order_item {requested['order_item_id']}: {qty}")
            item = by_id[requested["order_item_id"]]
            remaining = item["qty"] - shipped.get(item["order_item_id"], 0)
            if qty > remaining:
                if remaining <= 0:
                    raise _Fail(500, f"Item {item['product_sku']} is already fully shipped")
                raise _Fail(500, f"Cannot ship {qty} of {item['product_sku']} — only {remaining} unshipped")
        now = self._now()
        shipment_id = self._next("shipment")
        row = {"shipment_id": shipment_id, "uuid": _uuid(), "shipment_order_id": order.row["order_id"],
               "carrier": carrier, "tracking_number": tracking_number, "created_at": now, "updated_at": now,
               "status": "shipped", "shipped_at": None, "delivered_at": None, "canceled_at": None,
               "label_url": None, "label_format": None, "carrier_shipment_id": None, "carrier_metadata": None,
               "tracking_url": None}
        shipment = _Shipment(row=row, items=[
            {"shipment_item_id": self._next("shipment_item"), "uuid": _uuid(), "shipment_id": shipment_id,
             "order_item_id": i["order_item_id"], "qty": i["qty"], "created_at": now} for i in items])
        order.shipments.append(shipment)
        self._recompute_shipment_status(order)
        count = len(items)
        self._activity(order, f"Shipment created ({count} item{'' if count == 1 else 's'}, carrier {carrier})")
        self._emit("shipment_created", {"shipmentId": shipment_id, "orderId": order.row["order_id"],
                                        "notifyCustomer": notify}, order.row["order_id"])
        return shipment

    def _h_shipment_create(self, request: Request, body: Any) -> Response:
        body = self._object(body)
        order_uuid = request.path_params["id"]
        if self.legacy_shipments:
            return self._legacy_shipment_create(order_uuid, body)
        self._require(body, "items")
        items = body["items"]
        if not isinstance(items, list):
            raise _Fail(400, "must be array")
        if not items:
            raise _Fail(400, "must NOT have fewer than 1 items")
        for item in items:
            if not isinstance(item, dict):
                raise _Fail(400, "must be object")
            self._require(item, "order_item_id", "qty")
            if not isinstance(item["order_item_id"], int) or not isinstance(item["qty"], int):
                raise _Fail(400, "must be integer")
            if item["qty"] < 1:
                raise _Fail(400, "must be >= 1")
        self._require(body, "carrier")
        carrier = body["carrier"]
        if not isinstance(carrier, str) or not carrier:
            raise _Fail(400, "must NOT have fewer than 1 characters")
        order = self._order_by_uuid.get(order_uuid)
        if order is None:
            raise _Fail(500, f"Order not found: {order_uuid}")
        tracking = body.get("tracking_number")
        shipment = self.create_shipment(order, items, carrier, str(tracking) if tracking else None,
                                        body.get("notifyCustomer") is not False)
        return json_response({"data": {"shipment": {**self._shipment_row(shipment),
                                                     "insertId": shipment.row["shipment_id"]},
                                        "items": [{"order_item_id": i["order_item_id"], "qty": i["qty"]}
                                                  for i in shipment.items],
                                        "labelCreated": False}})

    def _legacy_shipment_create(self, order_uuid: str, body: dict[str, Any]) -> Response:
        """The older docs' ``{carrier_name, tracking_number}``: ships everything still unshipped."""
        wanted = order_uuid.replace("-", "").lower()
        order = next((o for key, o in self._order_by_uuid.items() if key.replace("-", "") == wanted), None)
        if order is None:
            raise _Fail(500, "Order not found")
        items = body.get("items")
        if not items:
            shipped = self._shipped_so_far(order)
            items = [{"order_item_id": i["order_item_id"], "qty": i["qty"] - shipped.get(i["order_item_id"], 0)}
                     for i in order.items if i["qty"] - shipped.get(i["order_item_id"], 0) > 0]
        if not items:
            raise _Fail(500, "Shipment was created")
        carrier = str(body.get("carrier_name") or body.get("carrier") or "")
        tracking = body.get("tracking_number")
        shipment = self.create_shipment(order, items, carrier or "custom", str(tracking) if tracking else None)
        return json_response({"data": self._shipment_row(shipment)})

    def _h_shipment_list(self, request: Request, body: Any) -> Response:
        key = request.path_params["id"]
        order = self._order_by_uuid.get(key)
        if order is None and key.isdigit():
            order = self.orders.get(int(key))
        shipments = sorted(order.shipments, key=lambda s: (s.row["created_at"], s.row["shipment_id"])) if order \
            else []
        return json_response({"data": [self._shipment_row(s, with_items=True) for s in shipments]})

    def _h_shipment_update_legacy(self, request: Request, body: Any) -> Response:
        body = self._object(body)
        order = self._order_by_uuid.get(request.path_params["order_id"])
        if order is None:
            raise _Fail(400, "Invalid order id")
        shipment = next((s for s in order.shipments if s.row["uuid"] == request.path_params["shipment_id"]), None)
        if shipment is None:
            raise _Fail(400, "Invalid shipment id")
        carrier = body.get("carrier", body.get("carrier_name"))
        if carrier is not None:
            shipment.row["carrier"] = str(carrier)
        if body.get("tracking_number") is not None:
            shipment.row["tracking_number"] = str(body["tracking_number"])
        self._activity(order, "Shipment information updated")
        return json_response({"data": self._shipment_row(shipment)})

    def _h_shipment_update(self, request: Request, body: Any) -> Response:
        body = self._object(body)
        if "carrier" in body and (not isinstance(body["carrier"], str) or not body["carrier"]):
            raise _Fail(400, "must NOT have fewer than 1 characters")
        order, shipment = self._shipment(request.path_params["shipment_uuid"])
        given = {k: body[k] for k in ("carrier", "tracking_number") if isinstance(body.get(k), str)}
        if not given:
            raise _Fail(400, "Nothing to update; provide carrier and/or tracking_number")
        shipment.row.update(given)
        self._activity(order, "Shipment information updated")
        return json_response({"data": self._shipment_row(shipment)})

    def _h_shipment_deliver(self, request: Request, body: Any) -> Response:
        uuid = request.path_params["shipment_uuid"]
        order, shipment = self._shipment(uuid)
        self._set_shipment_status(order, shipment, "delivered")
        return json_response({"data": {"uuid": uuid}})

    def _h_shipment_cancel(self, request: Request, body: Any) -> Response:
        uuid = request.path_params["shipment_uuid"]
        order, shipment = self._shipment(uuid)
        self._set_shipment_status(order, shipment, "canceled")
        return json_response({"data": {"uuid": uuid}})

    def _h_deliveries(self, request: Request, body: Any) -> Response:
        body = self._object(body)
        raw = body.get("order_id")
        if raw is not None and not str(raw).lstrip("-").isdigit():
            raise _Fail(500, f'invalid input syntax for type integer: "{raw}"')
        order = self.orders.get(int(raw)) if raw is not None else None
        if order is None:
            raise _Fail(400, "Invalid order id")
        if not order.shipments:
            raise _Fail(400, "No shipments to mark delivered")
        updated = 0
        for shipment in order.shipments:
            try:
                self._set_shipment_status(order, shipment, "delivered")
                updated += 1
            except _Fail:
                continue
        self._activity(order, f"Order delivered ({updated} shipment{'' if updated == 1 else 's'} advanced)")
        return json_response({"data": {"order_id": order.row["order_id"], "updated_count": updated}})

    def cancel_order(self, order: _Order, reason: str | None) -> None:
        """The oms ``cancelOrder`` service, bug included: an already canceled order is canceled (and
        restocked) again."""
        payment = order.row["payment_status"] or "pending"
        payment_cancelable = _PAYMENT_BADGES.get(payment, ("", None, None))[2] is not False
        if not payment_cancelable or order.row["shipment_status"] == "delivered":
            raise _Fail(500, "Order is not cancelable at this status")
        self._set_payment_status(order, "canceled")
        for shipment in order.shipments:
            if SHIPMENT_PHASE.get(shipment.row["status"]) == "shipped":
                self._set_shipment_status(order, shipment, "canceled")
        self._activity(order, f"Order canceled {f'({reason})' if reason else ''}")
        for item in order.items:
            product = next((p for p in self.products.values() if p.product_id == item["product_id"]), None)
            if product is not None:
                product.qty += item["qty"]

    def _h_order_cancel(self, request: Request, body: Any) -> Response:
        body = self._object(body)
        self._require(body, "reason")
        order = self._order(request.path_params["id"])
        self.cancel_order(order, str(body["reason"]))
        return json_response({"data": {}})

    def capture_cod(self, order: _Order) -> None:
        """``POST /api/cod/captures``: pending COD payment → paid, with a transaction and an activity."""
        if order.row["payment_method"] != "cod" or order.row["payment_status"] != "pending":
            raise _Fail(400, "Requested order does not exist or is not in pending payment status")
        self._set_payment_status(order, "paid")
        order.transactions.append({"payment_transaction_id": self._next("transaction"), "uuid": _uuid(),
                                   "transaction_id": None, "transaction_type": "offline",
                                   "amount": order.row["grand_total"], "payment_action": "capture",
                                   "created_at": self._now()})
        self._activity(order, "Customer paid using cash.")

    def _h_cod_capture(self, request: Request, body: Any) -> Response:
        body = self._object(body)
        order = self._order_by_uuid.get(str(body.get("order_id")))
        if order is None:
            raise _Fail(400, "Requested order does not exist or is not in pending payment status")
        self.capture_cod(order)
        return json_response({"data": {}})

    def _h_metafields(self, request: Request, body: Any) -> Response:
        body = self._object(body)
        order = self._order_by_uuid.get(request.path_params["id"])
        if order is None:
            raise _Fail(404, "Order not found")
        values = body.get("metafields") or {}
        if not isinstance(values, dict):
            raise _Fail(400, "Custom fields must be an object")
        defined = {(d["namespace"], d["key"]) for d in self.metafield_definitions if d["ownerType"] == "order"}
        meta: dict[str, Any] = {}
        for namespace, entries in values.items():
            if not isinstance(entries, dict):
                continue
            kept = {k: v for k, v in entries.items() if (namespace, k) in defined and v not in (None, "")}
            if kept:
                meta[namespace] = kept
        order.row["meta_data"] = meta
        return json_response({"data": {"metaData": meta}})

    # -- GraphQL ---------------------------------------------------------------------------------
    def _build_schema(self, sdl: str, *, admin: bool) -> GraphQLSchema:
        schema = build_schema(sdl)
        query = schema.query_type
        assert query is not None
        query.fields["order"].resolve = lambda _root, _info, uuid: self._gql_order_by_uuid(uuid, admin)
        query.fields["statusList"].resolve = lambda *_: [
            {"code": code, "name": name, "badge": _ORDER_BADGES[code]} for code, name in ORDER_NAMES.items()]
        query.fields["paymentStatusList"].resolve = lambda *_: [
            {"code": code, "name": name, "badge": _PAYMENT_BADGES[code][0], "isDefault": _PAYMENT_BADGES[code][1],
             "isCancelable": _PAYMENT_BADGES[code][2]} for code, name in PAYMENT_NAMES.items()]
        query.fields["shipmentStatusList"].resolve = lambda *_: [
            {"code": code, "name": name, "badge": badge, "phase": code} for code, (name, badge) in
            _SHIPMENT_STATUS.items()]
        if admin:
            query.fields["orders"].resolve = lambda _root, _info, filters=None: self._gql_orders(filters or [])
            query.fields["carriers"].resolve = lambda *_: [self._gql_carrier(c) for c in _CARRIERS]
            query.fields["carrier"].resolve = lambda _root, _info, code: (
                self._gql_carrier(code) if code in _CARRIERS else None)
            query.fields["version"].resolve = lambda *_: "2.2.1"
            query.fields["setting"].resolve = lambda *_: self._gql_setting()
            query.fields["products"].resolve = lambda _root, _info, filters=None: self._gql_products(filters or [])
            query.fields["product"].resolve = lambda _root, _info, id=None: next(
                (self._gql_product(p) for p in self.products.values() if str(p.product_id) == str(id)), None)
            query.fields["packages"].resolve = lambda *_: [self._gql_package(p) for p in self.packages]
            query.fields["shippingZones"].resolve = lambda *_: [self._gql_zone(z) for z in self.zones]
            query.fields["coreShippingMethods"].resolve = lambda *_: [self._gql_method(m) for m in self.methods]
        else:
            query.fields["cart"].resolve = lambda _root, _info, id: self._gql_cart(id)
        return schema

    def _gql_setting(self) -> dict[str, Any]:
        cod = self.settings.get("codPaymentStatus")
        guest = self.settings.get("allowGuestCheckout")
        return {"allowGuestCheckout": str(guest) in ("1", "True", "true"),
                "codPaymentStatus": _int(cod) if cod is not None else None,
                "codDisplayName": self.settings.get("codDisplayName"), "storeName": self.settings.get("storeName"),
                "storeCurrency": self.currency, "weightUnit": "kg", "dimensionUnit": "cm"}

    def _gql_product(self, product: _Product) -> dict[str, Any]:
        price = _price(product.price, self.currency)
        return {"productId": product.product_id, "uuid": product.uuid, "name": product.name,
                "status": 1 if product.status else 0, "sku": product.sku, "variantGroupId": product.variant_group_id,
                "inventory": {"qty": product.qty, "isInStock": product.qty > 0 or not product.manage_stock,
                              "stockAvailability": 1, "manageStock": 1 if product.manage_stock else 0},
                "price": {"regular": price, "special": price}}

    def _gql_products(self, filters: list[dict[str, Any]]) -> dict[str, Any]:
        """``ProductCollection`` with the filters sync needs: ``sku`` (eq, in), ``name`` (like), paging."""
        rows = sorted(self.products.values(), key=lambda p: p.product_id, reverse=True)
        current: list[dict[str, Any]] = []
        for f in filters:
            key, op, value = f.get("key"), f.get("operation"), str(f.get("value") or "")
            if key == "sku" and op in ("eq", "in"):
                wanted = {v.strip() for v in value.split(",")} if op == "in" else {value}
                rows = [p for p in rows if p.sku in wanted]
            elif key in ("name", "keyword") and op in ("eq", "like"):
                rows = [p for p in rows if value.lower() in p.name.lower()]
            elif key == "status" and op == "eq":
                rows = [p for p in rows if int(p.status) == _int(value)]
            else:
                continue
            current.append({"key": key, "operation": op, "value": value})
        page = max(_int(next((f.get("value") for f in filters if f.get("key") == "page"), 1)), 1)
        limit = max(_int(next((f.get("value") for f in filters if f.get("key") == "limit"), 20)), 1)
        current += [{"key": "page", "operation": "eq", "value": str(page)},
                    {"key": "limit", "operation": "eq", "value": str(limit)}]
        return {"items": [self._gql_product(p) for p in rows[(page - 1) * limit: page * limit]],
                "total": len(rows), "currentFilters": current}

    @staticmethod
    def _gql_package(package: dict[str, Any]) -> dict[str, Any]:
        return {"packageId": package["package_id"], "uuid": package["uuid"], "name": package["name"],
                "length": _jsnum(package["length"]), "width": _jsnum(package["width"]),
                "height": _jsnum(package["height"]), "weight": _weight(package["weight"]),
                "isDefault": package["is_default"], "updateApi": f"/api/packages/{package['uuid']}",
                "deleteApi": f"/api/packages/{package['uuid']}"}

    @staticmethod
    def _gql_zone(zone: dict[str, Any]) -> dict[str, Any]:
        return {"shippingZoneId": zone["shipping_zone_id"], "uuid": zone["uuid"], "name": zone["name"],
                "countries": [{"code": c, "name": c} for c in zone["countries"]],
                "provinces": [{"code": p, "name": p, "countryCode": p.split("-")[0]} for p in zone["provinces"]],
                "providers": [{"shippingZoneProviderId": zone["shipping_zone_id"], "uuid": zone["uuid"],
                               "zoneId": zone["shipping_zone_id"], "providerCode": "core", "isEnabled": True,
                               "sortOrder": 0, "config": None}],
                "updateApi": f"/api/shippingZones/{zone['uuid']}", "deleteApi": f"/api/shippingZones/{zone['uuid']}"}

    def _gql_method(self, method: dict[str, Any]) -> dict[str, Any]:
        rates = [r for r in self.rates if r["method_id"] == method["core_shipping_method_id"]]
        return {"coreShippingMethodId": method["core_shipping_method_id"], "uuid": method["uuid"],
                "name": method["name"], "isEnabled": method["is_enabled"], "sortOrder": method["sort_order"],
                "defaultCarrierCode": None, "defaultServiceCode": None,
                "rates": [{"coreShippingMethodRateId": r["core_shipping_method_rate_id"], "uuid": r["uuid"],
                           "methodId": r["method_id"], "zoneId": r["zone_id"], "isEnabled": r["is_enabled"],
                           "cost": _price(r["cost"], self.currency), "conditionType": None, "min": None,
                           "max": None, "updateApi": f"/api/shippingProviders/core/rates/{r['uuid']}",
                           "deleteApi": f"/api/shippingProviders/core/rates/{r['uuid']}"} for r in rates],
                "addRateApi": "/api/shippingProviders/core/rates"}

    @staticmethod
    def _gql_carrier(code: str) -> dict[str, Any]:
        name, description = _CARRIERS[code]
        return {"code": code, "name": name, "description": description,
                "capabilities": {"generateTrackingUrl": False, "createLabel": False, "voidLabel": False,
                                 "fetchStatus": False, "schedulePickup": False}}

    async def _graphql(self, request: Request, schema: GraphQLSchema) -> Response:
        if request.method == "GET":
            query = request.query_params.get("query")
            variables_text = request.query_params.get("variables")
            variables = orjson.loads(variables_text) if variables_text else None
        else:
            body = await read_json(request) or {}
            if not isinstance(body, dict):
                return _Fail(500, "Must provide query string.").response()
            query, variables = body.get("query"), body.get("variables")
        if not query:
            return json_response({"data": {}})
        try:
            document = parse(str(query))
        except GraphQLError as error:
            return _Fail(500, error.message).response()
        # EverShop validates the schema, not the document: unknown fields are skipped, not refused.
        result = execute(schema, document, variable_values=variables if isinstance(variables, dict) else None)
        assert isinstance(result, ExecutionResult)  # every resolver here is synchronous
        if result.errors:
            return _Fail(500, result.errors[0].message).response()
        return json_response({"data": _js_numbers(result.data)})

    async def _gql_admin(self, request: Request) -> Response:
        return await self._graphql(request, self._admin_schema)

    async def _gql_public(self, request: Request) -> Response:
        return await self._graphql(request, self._public_schema)

    def _gql_order_by_uuid(self, uuid: str, admin: bool) -> dict[str, Any] | None:
        order = self._order_by_uuid.get(uuid)
        return self._gql_order(order, admin) if order is not None else None

    def _gql_orders(self, filters: list[dict[str, Any]]) -> dict[str, Any]:
        """``OrderCollection``: EverShop's registered filters in order, with its ``currentFilters`` echo."""
        rows = list(self.orders.values())
        current: list[dict[str, Any]] = []
        sort_column = "order_id"
        descending = True
        page_limit: dict[str, Any] = {}

        def find(key: str, operations: tuple[str, ...]) -> dict[str, Any] | None:
            return next((f for f in filters if f.get("key") == key and f.get("operation") in operations), None)

        if (f := find("keyword", ("eq",))) is not None:
            needle = str(f.get("value") or "").lower()
            rows = [o for o in rows if any(needle in str(o.row[k] or "").lower()
                                           for k in ("customer_email", "order_number", "customer_full_name"))]
            current.append({"key": "keyword", "operation": f["operation"], "value": f.get("value")})
        for key, column in (("number", "order_number"), ("email", "customer_email")):
            if (f := find(key, ("eq", "like"))) is not None:
                value = str(f.get("value") or "")
                if f["operation"] == "eq":
                    rows = [o for o in rows if str(o.row[column]) == value]
                else:
                    rows = [o for o in rows if value.lower() in str(o.row[column] or "").lower()]
                current.append({"key": "order_number" if key == "number" else key, "operation": f["operation"],
                                "value": f.get("value")})
        for key in ("shipment_status", "payment_status"):
            if (f := find(key, ("eq",))) is not None:
                rows = [o for o in rows if o.row[key] == f.get("value")]
                current.append({"key": key, "operation": "eq", "value": f.get("value")})
        if (f := find("ob", ("eq",))) is not None:
            columns = {"number": "order_number", "payment_status": "payment_status",
                       "shipment_status": "shipment_status", "total": "grand_total", "created_at": "created_at"}
            chosen = columns.get(str(f.get("value")))
            if chosen is not None:
                sort_column = chosen
                current.append({"key": "ob", "operation": "eq", "value": f.get("value")})
        if (f := find("od", ("eq",))) is not None and str(f.get("value")) in ("ASC", "DESC", "asc", "desc"):
            descending = str(f.get("value")).upper() == "DESC"
            current.append({"key": "od", "operation": "eq", "value": f.get("value")})
        if (f := find("page", ("eq",))) is not None:
            page_number = _int(f.get("value"))
            current.append({"key": "page", "operation": "eq", "value": f.get("value") if page_number > 0 else 1})
        if (f := find("limit", ("eq",))) is not None:
            if _int(f.get("value")) > 0:
                if not any(c["key"] == "page" for c in current):
                    current.append({"key": "limit", "operation": "eq", "value": f.get("value")})
                current.append({"key": "limit", "operation": "eq", "value": f.get("value")})
            else:
                current.append({"key": "limit", "operation": "eq", "value": 20})
        page_filter = next((c for c in current if c["key"] == "page"), None)
        limit_filter = next((c for c in current if c["key"] == "limit"), None)
        current.append({"key": "page", "operation": "eq", "value": 1})
        if limit_filter is None:
            current.append({"key": "limit", "operation": "eq", "value": 20})
        page_limit["page"] = _int(page_filter["value"]) if page_filter else 1
        page_limit["limit"] = _int(limit_filter["value"]) if limit_filter else 20
        if self.bridge_filters:
            if (f := find("order_id", ("eq", "gt", "gteq", "lt", "lteq"))) is not None:
                target = _int(f.get("value"))
                compare: dict[str, Callable[[int], bool]] = {
                    "eq": lambda v: v == target, "gt": lambda v: v > target, "gteq": lambda v: v >= target,
                    "lt": lambda v: v < target, "lteq": lambda v: v <= target}
                rows = [o for o in rows if compare[str(f["operation"])](o.row["order_id"])]
                current.append({"key": "order_id", "operation": f["operation"], "value": f.get("value")})
            if (f := find("cart_id", ("eq",))) is not None:
                value = str(f.get("value") or "")
                cart = self.carts.get(value.replace("-", "").lower())
                wanted = cart.cart_id if cart is not None else (_int(value) if value.isdigit() else -1)
                rows = [o for o in rows if o.row["cart_id"] == wanted]
                current.append({"key": "cart_id", "operation": "eq", "value": f.get("value")})
        total = len(rows)
        rows.sort(key=lambda o: (o.row[sort_column] is None, o.row[sort_column]), reverse=descending)
        page, limit = max(page_limit["page"], 1), max(page_limit["limit"], 1)
        window = rows[(page - 1) * limit: page * limit]
        return {"items": [self._gql_order(o, True) for o in window], "total": total,
                "currentFilters": [{**c, "value": str(c["value"])} for c in current]}

    def _gql_order(self, order: _Order, admin: bool) -> dict[str, Any]:
        """The GraphQL ``Order`` object (dict; graphql-core's default resolver reads it)."""
        row, cur = order.row, order.row["currency"]
        uuid = row["uuid"]
        by_item = {item["order_item_id"]: item for item in order.items}
        shipped = self._shipped_so_far(order)
        shipments = sorted(order.shipments, key=lambda s: (s.row["created_at"], s.row["shipment_id"]))
        pay = row["payment_status"]
        badge, is_default, is_cancelable = _PAYMENT_BADGES.get(pay, ("default", None, None))
        out: dict[str, Any] = {
            "orderId": row["order_id"], "uuid": uuid, "orderNumber": row["order_number"],
            "status": {"code": row["status"], "name": ORDER_NAMES.get(row["status"], "Unknown"),
                       "badge": _ORDER_BADGES.get(row["status"], "default")},
            "paymentStatus": {"code": pay, "name": PAYMENT_NAMES.get(pay, "Unknown"), "badge": badge,
                              "isDefault": is_default, "isCancelable": is_cancelable},
            # The order-level rollup has no phase: selecting shipmentStatus.phase fails (as in 2.2.1).
            "shipmentStatus": {"code": row["shipment_status"],
                               "name": ROLLUP_NAMES.get(row["shipment_status"], "Unknown"),
                               "badge": _ROLLUP_BADGES.get(row["shipment_status"], "default")},
            "items": [self._gql_item(item, cur, shipped) for item in order.items],
            "noShippingRequired": row["no_shipping_required"],
            "shippingAddress": self._gql_address(order.shipping_address),
            "billingAddress": self._gql_address(order.billing_address),
            "currency": cur, "customerId": row["customer_id"], "customerGroupId": None,
            "customerEmail": row["customer_email"], "customerFullName": row["customer_full_name"],
            "userIp": row["user_ip"], "userId": None, "coupon": row["coupon"],
            "totalQty": row["total_qty"], "totalWeight": _weight(row["total_weight"]),
            "shippingMethodName": row["shipping_method_data"]["snapshot"]["name"],
            "shippingMethodData": {
                "providerCode": row["shipping_method_data"]["provider_code"],
                "methodCode": row["shipping_method_data"]["method_code"],
                "snapshot": {"code": row["shipping_method_data"]["snapshot"]["code"],
                             "name": row["shipping_method_data"]["snapshot"]["name"],
                             "cost": _price(row["shipping_fee_incl_tax"], cur)},
                "fingerprint": row["shipping_method_data"]["fingerprint"],
                "quotedAt": row["shipping_method_data"]["quotedAt"]},
            "paymentMethod": row["payment_method"], "paymentMethodName": row["payment_method_name"],
            "shippingNote": row["shipping_note"],
            "createdAt": _date(row["created_at"]), "updatedAt": _date(row["updated_at"]),
            "activities": [self._gql_activity(a) for a in reversed(order.activities)],
            "shipments": [self._gql_shipment(s, by_item) for s in shipments],
            "shipment": self._gql_shipment(shipments[0], by_item) if shipments else None,
            "urn": f"urn:evershop:order:{uuid}",
            "metafields": lambda _info, namespace=None: [
                {"namespace": ns, "key": k, "type": "SHORT_TEXT", "value": v}
                for ns, entries in row["meta_data"].items() if namespace in (None, ns) for k, v in entries.items()],
            "metafield": lambda _info, namespace, key: (
                {"namespace": namespace, "key": key, "type": "SHORT_TEXT",
                 "value": row["meta_data"][namespace][key]}
                if key in row["meta_data"].get(namespace, {}) else None),
        }
        for key, column in (("shippingFeeExclTax", "shipping_fee_excl_tax"),
                            ("shippingFeeInclTax", "shipping_fee_incl_tax"),
                            ("shippingTaxAmount", "shipping_tax_amount"), ("discountAmount", "discount_amount"),
                            ("subTotal", "sub_total"), ("subTotalInclTax", "sub_total_incl_tax"),
                            ("subTotalWithDiscount", "sub_total_with_discount"),
                            ("subTotalWithDiscountInclTax", "sub_total_with_discount_incl_tax"),
                            ("taxAmount", "tax_amount"), ("taxAmountBeforeDiscount", "tax_amount_before_discount"),
                            ("totalTaxAmount", "total_tax_amount"), ("grandTotal", "grand_total")):
            out[key] = _price(row[column], cur)
        if admin:
            out.update({
                "customerUrl": None, "editUrl": f"/admin/order/edit/{uuid}",
                "createShipmentApi": f"/api/orders/{uuid}/shipments", "cancelApi": f"/api/orders/{uuid}/cancel",
                "updateMetafieldsApi": f"/api/orders/{uuid}/metafields", "metaData": row["meta_data"],
                "unshippedItems": [
                    {"uuid": item["uuid"], "orderItemId": item["order_item_id"], "productSku": item["product_sku"],
                     "productName": item["product_name"], "qtyOrdered": item["qty"],
                     "qtyUnshipped": item["qty"] - shipped.get(item["order_item_id"], 0)}
                    for item in order.items if item["qty"] - shipped.get(item["order_item_id"], 0) > 0],
                "paymentTransactions": [
                    {"paymentTransactionId": t["payment_transaction_id"], "uuid": t["uuid"],
                     "transactionId": t["transaction_id"], "transactionType": t["transaction_type"],
                     "amount": _price(t["amount"], cur), "parentTransactionId": None,
                     "paymentAction": t["payment_action"], "additionalInformation": "",
                     "createdAt": _iso(t["created_at"])} for t in order.transactions],
            })
        return out

    def _gql_item(self, item: dict[str, Any], cur: str, shipped: dict[int, int]) -> dict[str, Any]:
        options = json.loads(item["variant_options"]) if item["variant_options"] else None
        done = shipped.get(item["order_item_id"], 0)
        out: dict[str, Any] = {
            "orderItemId": item["order_item_id"], "uuid": item["uuid"], "orderId": item["order_item_order_id"],
            "productId": item["product_id"], "productSku": item["product_sku"], "productName": item["product_name"],
            "thumbnail": item["thumbnail"], "noShippingRequired": item["no_shipping_required"],
            "productWeight": _weight(item["product_weight"]), "qty": item["qty"],
            "taxPercent": _jsnum(item["tax_percent"]), "variantGroupId": item["variant_group_id"],
            "variantOptions": [{"attributeCode": o["attribute_code"], "attributeName": o["attribute_name"],
                                "attributeId": o["attribute_id"], "optionId": o["option_id"],
                                "optionText": o["option_text"]} for o in options] if options else None,
            "productCustomOptions": item["product_custom_options"], "productUrl": None,
            "fulfillmentBadge": "pending" if done == 0 else ("shipped" if done >= item["qty"] else "partial_shipped"),
        }
        for key, column in (("productPrice", "product_price"), ("productPriceInclTax", "product_price_incl_tax"),
                            ("finalPrice", "final_price"), ("finalPriceInclTax", "final_price_incl_tax"),
                            ("taxAmount", "tax_amount"), ("taxAmountBeforeDiscount", "tax_amount_before_discount"),
                            ("discountAmount", "discount_amount"), ("lineTotal", "line_total"),
                            ("subTotal", "line_total"), ("lineTotalWithDiscount", "line_total_with_discount"),
                            ("lineTotalWithDiscountInclTax", "line_total_with_discount_incl_tax"),
                            ("lineTotalInclTax", "line_total_incl_tax"),
                            ("total", "line_total_with_discount_incl_tax")):
            out[key] = _price(item[column], cur)
        return out

    @staticmethod
    def _gql_address(address: dict[str, Any]) -> dict[str, Any]:
        country = address.get("country")
        province = address.get("province")
        return {
            "orderAddressId": address["order_address_id"], "uuid": address["uuid"],
            "fullName": address["full_name"], "postcode": address["postcode"], "telephone": address["telephone"],
            "country": {"code": country, "name": country} if country else None,
            "province": {"code": province, "name": province, "countryCode": country} if province else None,
            "city": address["city"], "address1": address["address_1"], "address2": address["address_2"],
        }

    @staticmethod
    def _gql_activity(activity: dict[str, Any]) -> dict[str, Any]:
        return {"orderActivityId": activity["order_activity_id"], "comment": activity["comment"],
                "customerNotified": activity["customer_notified"], "createdAt": _datetime(activity["created_at"]),
                "updatedAt": _datetime(activity["updated_at"])}

    @staticmethod
    def _gql_shipment(shipment: _Shipment, by_item: dict[int, dict[str, Any]]) -> dict[str, Any]:
        row = shipment.row
        name, badge = _SHIPMENT_STATUS.get(row["status"], ("Unknown", "default"))
        phase = SHIPMENT_PHASE.get(row["status"], "shipped")
        uuid = row["uuid"]
        return {
            "markDeliveredApi": f"/api/shipments/{uuid}/markDelivered",
            "cancelShipmentApi": f"/api/shipments/{uuid}/cancel",
            "voidShipmentLabelApi": f"/api/shipments/{uuid}/label",
            "shipmentId": row["shipment_id"], "uuid": uuid, "carrier": row["carrier"],
            "trackingNumber": row["tracking_number"], "carrierName": _CARRIERS.get(row["carrier"], (None,))[0],
            "trackingUrl": row["tracking_url"],
            "status": {"code": row["status"], "name": name, "badge": badge, "phase": phase}, "phase": phase,
            "shippedAt": _datetime(row["shipped_at"]), "deliveredAt": _datetime(row["delivered_at"]),
            "canceledAt": _datetime(row["canceled_at"]), "labelUrl": row["label_url"],
            "items": [{"uuid": i["uuid"], "orderItemId": i["order_item_id"], "qty": i["qty"],
                       "productSku": by_item.get(i["order_item_id"], {}).get("product_sku"), "thumbnail": None,
                       "productName": by_item.get(i["order_item_id"], {}).get("product_name")}
                      for i in shipment.items],
            "createdAt": _datetime(row["created_at"]), "updatedAt": _datetime(row["updated_at"]),
        }

    def _gql_cart(self, cart_id: str) -> dict[str, Any] | None:
        cart = self.carts.get(cart_id.replace("-", "").lower())
        if cart is None or not cart.active:
            return None
        cur = cart.currency
        sub_total = sum((i.product.price * i.qty for i in cart.items), Decimal(0))
        fee = cart.shipping_method["cost"] if cart.shipping_method else Decimal(0)
        zero = _price(Decimal(0), cur)
        shipping_address = cart.shipping_address or {}

        def shipping_methods(_info: Any, country: str | None = None, province: str | None = None,
                             postcode: str | None = None) -> list[dict[str, Any]]:
            methods = self._methods_for(country or shipping_address.get("country"),
                                        province or shipping_address.get("province"))
            return [{"id": f"core:{m['code']}", "providerCode": "core", "code": m["code"], "name": m["name"],
                     "cost": _price(m["cost"], cur), "carrier": None, "serviceCode": None, "delivery": None}
                    for m in methods]

        def address(row: dict[str, Any] | None) -> dict[str, Any] | None:
            if row is None:
                return None
            return {**self._gql_address({**row, "order_address_id": row["cart_address_id"]}),
                    "cartAddressId": row["cart_address_id"]}

        items = []
        for item in cart.items:
            amounts = self._cart_line_amounts(item)
            entry: dict[str, Any] = {
                "cartItemId": None, "uuid": item.uuid, "cartId": cart.cart_id, "productId": item.product.product_id,
                "productSku": item.product.sku, "productName": item.product.name, "qty": item.qty,
                "thumbnail": None, "noShippingRequired": False, "productWeight": _weight(item.product.weight),
                "taxPercent": 0.0, "errors": []}
            for key, column in (("productPrice", "product_price"), ("finalPrice", "final_price"),
                                ("lineTotal", "line_total"), ("lineTotalInclTax", "line_total_incl_tax"),
                                ("total", "line_total_with_discount_incl_tax")):
                entry[key] = _price(amounts[column], cur)
            items.append(entry)
        return {
            "cartId": cart.cart_id, "uuid": cart.uuid, "items": items, "currency": cur, "status": 1,
            "customerEmail": cart.customer_email, "customerFullName": cart.customer_full_name,
            "noShippingRequired": False, "subTotal": _price(sub_total, cur), "subTotalInclTax": _price(sub_total, cur),
            "shippingFeeExclTax": _price(fee, cur), "shippingFeeInclTax": _price(fee, cur), "discountAmount": zero,
            "taxAmount": zero, "totalTaxAmount": zero, "grandTotal": _price(sub_total + fee, cur),
            "totalQty": sum(i.qty for i in cart.items), "paymentMethod": cart.payment_method,
            "shippingNote": cart.shipping_note, "shippingAddress": address(cart.shipping_address),
            "billingAddress": address(cart.billing_address),
            "createdAt": _date(cart.created_at), "updatedAt": _date(cart.created_at),
            "availablePaymentMethods": self._payment_methods(),
            "availableShippingMethods": shipping_methods,
        }

    # -- seeding ---------------------------------------------------------------------------------
    def _seed(self, count: int) -> None:
        """``count`` realistic orders through the same flow, spread over the last 30 days."""
        rng = self._rng
        now = datetime.now(UTC)
        starts = sorted(now - timedelta(seconds=rng.uniform(3600, 30 * 86400)) for _ in range(count))
        skus = [p.sku for p in self.products.values()]
        for created in starts:
            self._now_override = created
            shopper = fake_shopper(rng)
            chosen = rng.sample(skus, rng.randint(1, 3))
            for sku in chosen:
                if self.products[sku].qty < 10:
                    self.products[sku].qty += 1000
            cart = self.create_cart([{"sku": sku, "qty": rng.randint(1, 3)} for sku in chosen], shopper.email,
                                    f"{shopper.first_name} {shopper.last_name}")
            address = {"full_name": f"{shopper.first_name} {shopper.last_name}", "telephone": shopper.phone,
                       "address_1": shopper.street, "address_2": None, "city": shopper.city,
                       "province": f"{shopper.country_code}-{shopper.region_code}",
                       "country": shopper.country_code, "postcode": shopper.postal_code}
            self.set_address(cart, "shipping", address)
            self.set_address(cart, "billing", address)
            self.set_shipping_method(cart, "core", self.methods[0]["uuid"])
            self.set_payment_method(cart, "cod")
            if rng.random() < 0.2:
                cart.shipping_note = "Please leave at the door"
            order = self.place_order(cart)
            fate = rng.random()
            self._now_override = created + timedelta(hours=rng.uniform(1, 48))
            if fate < 0.1:
                self.cancel_order(order, "customer request")
            elif fate < 0.6:
                items = [{"order_item_id": i["order_item_id"], "qty": i["qty"]} for i in order.items]
                if fate < 0.25 and len(items) > 1:
                    items = items[:1]
                shipment = self.create_shipment(order, items, "custom", f"TRK{rng.randint(10**8, 10**9 - 1)}",
                                                 notify=False)
                if fate >= 0.35:
                    self.capture_cod(order)
                if fate >= 0.45:
                    self._set_shipment_status(order, shipment, "delivered")
            elif fate < 0.75:
                self.capture_cod(order)
        self._now_override = None
        self._pending_events.clear()
        self.events.clear()


def _int(value: Any) -> int:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return 0


# -- the GraphQL schema subset (from the live shop's introspection) -----------------------------

_COMMON = """
scalar JSON

enum FilterOperation { eq neq gt gteq lt lteq like nlike in nin }

input FilterInput {
  key: String!
  operation: FilterOperation!
  value: ID
}

type Filter {
  key: String!
  operation: String!
  value: String!
}

type Price {
  value: Float!
  currency(currency: String): String!
  text(currency: String): String!
}

type Date {
  value: String
  text: String
}

type DateTime {
  value: String
  timezone: String
  text(format: String): String
}

type Weight {
  value: Float!
  unit: String!
  text: String!
}

type Country {
  name: String!
  code: String!
}

type Province {
  name: String!
  code: String!
  countryCode: String!
}

interface Address {
  fullName: String
  postcode: String
  telephone: String
  country: Country
  province: Province
  city: String
  address1: String
  address2: String
}

type OrderAddress implements Address {
  orderAddressId: Int!
  uuid: String!
  fullName: String
  postcode: String
  telephone: String
  country: Country
  province: Province
  city: String
  address1: String
  address2: String
}

type CartAddress implements Address {
  cartAddressId: Int!
  uuid: String!
  fullName: String
  postcode: String
  telephone: String
  country: Country
  province: Province
  city: String
  address1: String
  address2: String
}

type Status {
  name: String
  code: String
  badge: String
}

type PaymentStatus {
  name: String
  code: String
  badge: String
  isDefault: Boolean
  isCancelable: Boolean
}

type ShipmentStatus {
  name: String
  code: String
  badge: String
  phase: String!
}

type VariantOption {
  attributeCode: String!
  attributeName: String!
  attributeId: Int!
  optionId: Int!
  optionText: String!
}

interface ShoppingCartItem {
  uuid: String!
  productId: ID!
  productSku: String!
  productName: String
  thumbnail: String
  noShippingRequired: Boolean!
  productWeight: Weight!
  productPrice: Price!
  productPriceInclTax: Price!
  qty: Int!
  finalPrice: Price!
  finalPriceInclTax: Price!
  taxPercent: Float!
  taxAmount: Price!
  taxAmountBeforeDiscount: Price!
  discountAmount: Price!
  lineTotal: Price!
  subTotal: Price!
  lineTotalWithDiscount: Price!
  lineTotalWithDiscountInclTax: Price!
  lineTotalInclTax: Price!
  total: Price!
  variantGroupId: Int
  variantOptions: [VariantOption]
  productCustomOptions: String
  productUrl: String
}

type OrderItem implements ShoppingCartItem {
  orderItemId: ID!
  uuid: String!
  orderId: ID!
  productId: ID!
  productSku: String!
  productName: String
  thumbnail: String
  noShippingRequired: Boolean!
  productWeight: Weight!
  productPrice: Price!
  productPriceInclTax: Price!
  qty: Int!
  finalPrice: Price!
  finalPriceInclTax: Price!
  taxPercent: Float!
  taxAmount: Price!
  taxAmountBeforeDiscount: Price!
  discountAmount: Price!
  lineTotal: Price!
  subTotal: Price!
  lineTotalWithDiscount: Price!
  lineTotalWithDiscountInclTax: Price!
  lineTotalInclTax: Price!
  total: Price!
  variantGroupId: Int
  variantOptions: [VariantOption]
  productCustomOptions: String
  productUrl: String
  fulfillmentBadge: String!
}

type ShipmentItem {
  uuid: String!
  orderItemId: Int!
  qty: Int!
  productSku: String
  thumbnail: String
  productName: String
}

type Shipment {
  markDeliveredApi: String!
  cancelShipmentApi: String!
  voidShipmentLabelApi: String!
  shipmentId: Int!
  uuid: String!
  carrier: String
  trackingNumber: String
  carrierName: String
  trackingUrl: String
  status: ShipmentStatus!
  phase: String!
  shippedAt: DateTime
  deliveredAt: DateTime
  canceledAt: DateTime
  labelUrl: String
  items: [ShipmentItem!]!
  createdAt: DateTime!
  updatedAt: DateTime
}

type Activity {
  orderActivityId: Int!
  comment: String
  customerNotified: Int!
  createdAt: DateTime
  updatedAt: DateTime
}

type DeliveryWindow {
  minBusinessDays: Int
  maxBusinessDays: Int
  estimatedDate: String
}

type ShippingMethodSnapshot {
  code: String!
  name: String!
  cost: Price!
  carrier: String
  serviceCode: String
  delivery: DeliveryWindow
}

type ShippingMethodData {
  providerCode: String!
  methodCode: String!
  snapshot: ShippingMethodSnapshot!
  fingerprint: String
  quotedAt: String
}

enum MetafieldType { SHORT_TEXT LONG_TEXT RICH_TEXT INTEGER NUMBER BOOLEAN DATE COLOR URL GROUP }

type Metafield {
  namespace: String!
  key: String!
  type: MetafieldType!
  value: JSON
}

interface ShoppingCart {
  uuid: String!
  currency: String!
  customerId: Int
  customerGroupId: Int
  customerEmail: String
  customerFullName: String
  userIp: String
  userId: String
  coupon: String
  noShippingRequired: Boolean!
  shippingFeeExclTax: Price!
  shippingFeeInclTax: Price!
  shippingTaxAmount: Price!
  discountAmount: Price!
  subTotal: Price!
  subTotalInclTax: Price!
  subTotalWithDiscount: Price!
  subTotalWithDiscountInclTax: Price!
  totalQty: Int!
  totalWeight: Weight!
  taxAmount: Price!
  taxAmountBeforeDiscount: Price!
  totalTaxAmount: Price!
  grandTotal: Price!
  shippingMethodName: String
  shippingMethodData: ShippingMethodData
  shippingAddress: Address
  paymentMethod: String
  paymentMethodName: String
  billingAddress: Address
  shippingNote: String
  createdAt: Date!
  updatedAt: Date!
}
"""

_ORDER_FIELDS = """
  orderId: ID!
  uuid: String!
  orderNumber: String!
  status: Status
  items: [OrderItem]
  noShippingRequired: Boolean!
  shippingAddress: OrderAddress
  billingAddress: OrderAddress
  currency: String!
  customerId: Int
  customerGroupId: Int
  customerEmail: String
  customerFullName: String
  userIp: String
  userId: String
  coupon: String
  shippingFeeExclTax: Price!
  shippingFeeInclTax: Price!
  shippingTaxAmount: Price!
  discountAmount: Price!
  subTotal: Price!
  subTotalInclTax: Price!
  subTotalWithDiscount: Price!
  subTotalWithDiscountInclTax: Price!
  totalQty: Int!
  totalWeight: Weight!
  taxAmount: Price!
  taxAmountBeforeDiscount: Price!
  totalTaxAmount: Price!
  grandTotal: Price!
  shippingMethodName: String
  shippingMethodData: ShippingMethodData
  shipmentStatus: ShipmentStatus
  paymentMethod: String
  paymentMethodName: String
  paymentStatus: PaymentStatus
  shippingNote: String
  createdAt: Date!
  updatedAt: Date!
  activities: [Activity]
  shipment: Shipment @deprecated(reason: "Use shipments. Returns the earliest shipment for back-compat.")
  shipments: [Shipment!]!
  urn: String!
  metafields(namespace: String): [Metafield!]!
  metafield(namespace: String!, key: String!): Metafield
"""

_ADMIN_ONLY = """
type Order implements ShoppingCart {
  customerUrl: String
  editUrl: String!
  createShipmentApi: String!
  cancelApi: String!
  unshippedItems: [UnshippedOrderItem!]!
  metaData: JSON
  updateMetafieldsApi: String!
  paymentTransactions: [PaymentTransaction]
""" + _ORDER_FIELDS + """
}

type UnshippedOrderItem {
  uuid: String!
  orderItemId: Int!
  productSku: String!
  productName: String!
  qtyOrdered: Int!
  qtyUnshipped: Int!
}

type PaymentTransaction {
  paymentTransactionId: Int!
  uuid: String!
  transactionId: String
  transactionType: String!
  amount: Price!
  parentTransactionId: String
  paymentAction: String!
  additionalInformation: String!
  createdAt: String!
}

type OrderCollection {
  items: [Order]
  currentPage: Int!
  total: Int!
  currentFilters: [Filter]
}

type CarrierCapabilities {
  generateTrackingUrl: Boolean!
  createLabel: Boolean!
  voidLabel: Boolean!
  fetchStatus: Boolean!
  schedulePickup: Boolean!
}

type Carrier {
  code: String!
  name: String!
  description: String
  capabilities: CarrierCapabilities!
}

type Inventory {
  qty: Int!
  isInStock: Boolean!
  stockAvailability: Int!
  manageStock: Int!
}

type ProductPrice {
  regular: Price!
  special: Price!
}

type Product {
  productId: Int!
  uuid: String!
  name: String!
  status: Int!
  sku: String!
  variantGroupId: ID
  inventory: Inventory!
  price: ProductPrice!
}

type ProductCollection {
  items: [Product]
  currentPage: Int!
  total: Int!
  currentFilters: [Filter]
}

type Setting {
  allowGuestCheckout: Boolean
  codPaymentStatus: Int
  codDisplayName: String
  storeName: String
  storeCurrency: String
  weightUnit: String
  dimensionUnit: String
}

type Package {
  packageId: Int!
  uuid: String!
  name: String!
  length: Float!
  width: Float!
  height: Float!
  weight: Weight!
  isDefault: Boolean!
  updateApi: String!
  deleteApi: String!
}

type ShippingZoneProvider {
  shippingZoneProviderId: Int!
  uuid: String!
  zoneId: Int!
  providerCode: String!
  isEnabled: Boolean!
  sortOrder: Int!
  config: JSON
}

type ShippingZone {
  shippingZoneId: Int!
  uuid: String!
  name: String!
  countries: [Country!]!
  provinces: [Province]
  providers: [ShippingZoneProvider!]!
  updateApi: String!
  deleteApi: String!
}

type CoreShippingMethodRate {
  coreShippingMethodRateId: Int!
  uuid: String!
  methodId: Int!
  zoneId: Int!
  zone: ShippingZone
  isEnabled: Boolean!
  cost: Price
  conditionType: String
  min: Float
  max: Float
  updateApi: String!
  deleteApi: String!
}

type CoreShippingMethod {
  coreShippingMethodId: Int!
  uuid: String!
  name: String!
  isEnabled: Boolean!
  sortOrder: Int!
  defaultCarrierCode: String
  defaultServiceCode: String
  rates: [CoreShippingMethodRate!]!
  addRateApi: String!
}

type Query {
  version: String!
  setting: Setting
  orders(filters: [FilterInput]): OrderCollection
  order(uuid: String!): Order
  products(filters: [FilterInput]): ProductCollection
  product(id: ID): Product
  packages: [Package!]!
  shippingZones: [ShippingZone]
  coreShippingMethods: [CoreShippingMethod!]!
  statusList: [Status]
  paymentStatusList: [PaymentStatus]
  shipmentStatusList: [ShipmentStatus]
  carriers: [Carrier!]!
  carrier(code: String!): Carrier
}
"""

_STOREFRONT_ONLY = """
type Order implements ShoppingCart {
""" + _ORDER_FIELDS + """
}

type CartItem implements ShoppingCartItem {
  cartItemId: ID
  uuid: String!
  cartId: ID!
  removeApi: String!
  updateQtyApi: String!
  productId: ID!
  productSku: String!
  productName: String
  thumbnail: String
  noShippingRequired: Boolean!
  productWeight: Weight!
  productPrice: Price!
  productPriceInclTax: Price!
  qty: Int!
  finalPrice: Price!
  finalPriceInclTax: Price!
  taxPercent: Float!
  taxAmount: Price!
  taxAmountBeforeDiscount: Price!
  discountAmount: Price!
  lineTotal: Price!
  subTotal: Price!
  lineTotalWithDiscount: Price!
  lineTotalWithDiscountInclTax: Price!
  lineTotalInclTax: Price!
  total: Price!
  variantGroupId: Int
  variantOptions: [VariantOption]
  productCustomOptions: String
  productUrl: String
  errors: [String!]
}

type AvailablePaymentMethod {
  code: String!
  name: String!
}

type AvailableShippingMethod {
  id: String!
  providerCode: String!
  code: String!
  name: String!
  cost: Price!
  carrier: String
  serviceCode: String
  delivery: DeliveryWindow
}

type Cart implements ShoppingCart {
  cartId: ID!
  uuid: String!
  items: [CartItem]
  noShippingRequired: Boolean!
  shippingAddress: CartAddress
  billingAddress: CartAddress
  currency: String!
  customerId: Int
  customerGroupId: Int
  customerEmail: String
  customerFullName: String
  userIp: String
  userId: String
  status: Int!
  coupon: String
  shippingFeeExclTax: Price!
  shippingFeeInclTax: Price!
  shippingTaxAmount: Price!
  discountAmount: Price!
  subTotal: Price!
  subTotalInclTax: Price!
  subTotalWithDiscount: Price!
  subTotalWithDiscountInclTax: Price!
  totalQty: Int!
  totalWeight: Weight!
  taxAmount: Price!
  taxAmountBeforeDiscount: Price!
  totalTaxAmount: Price!
  grandTotal: Price!
  shippingMethodName: String
  shippingMethodData: ShippingMethodData
  paymentMethod: String
  paymentMethodName: String
  shippingNote: String
  addItemApi: String!
  addPaymentMethodApi: String!
  addShippingMethodApi: String!
  addContactInfoApi: String!
  addAddressApi: String!
  addNoteApi: String!
  checkoutApi: String!
  createdAt: Date!
  updatedAt: Date!
  availablePaymentMethods: [AvailablePaymentMethod]
  availableShippingMethods(country: String, province: String, postcode: String): [AvailableShippingMethod]
}

type Query {
  cart(id: String!): Cart
  order(uuid: String!): Order
  statusList: [Status]
  paymentStatusList: [PaymentStatus]
  shipmentStatusList: [ShipmentStatus]
}
"""

ADMIN_SDL = _COMMON + _ADMIN_ONLY
"""The admin schema subset served at ``/api/admin/graphql``."""

STOREFRONT_SDL = _COMMON + _STOREFRONT_ONLY
"""The storefront schema subset served at ``/api/graphql`` (no ``orders``; ``order(uuid)`` is open)."""

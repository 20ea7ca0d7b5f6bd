"""The EverShop client against a small in-test fake of EverShop 2.2.1 (``httpx.MockTransport``).

The fake answers like the real shop does (checked on a live 2.2.1, see ``test_live_evershop.py``):
JWT login/refresh with expiry, 401 messages, ``{"error": {...}}`` bodies with business-rule 500s,
the HTML 404 page, the guest cart flow, "Cart not found" on a second checkout, the bridge's
``order_id``/``cart_id`` filters echoed in ``currentFilters``, and restock on *every* cancel. It is
deliberately small: the full simulator is ``connectors/evershop/simulator.py``.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import uuid as uuidlib
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import httpx
import pytest

from connectors.base import ConnectionSettings, Connector, OrderReference
from connectors.errors import (
    AuthFailed,
    Conflict,
    NotFound,
    OutcomeUnknown,
    RateLimited,
    Rejected,
    Transient,
    UnknownSku,
)
from connectors.evershop import CAPABILITIES
from connectors.evershop.client import (
    EverShopConnector,
    SetupProduct,
    classify,
    ensure_store_setup,
    open_connector,
    read_rate_signal,
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
from connectors.ratelimit import TokenBucket

EMAIL, PASSWORD = "admin@example.com", "Admin12345"
HTML_404 = "<!DOCTYPE html><html><head><title>Page Not Found</title></head><body>404</body></html>"


class Clock:
    """A settable clock shared by the fake shop and the connector."""

    def __init__(self, now: float = 1_795_334_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _jwt(exp: float, kind: str, serial: int) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'HS256'})}.{part({'exp': int(exp), 'tokenKind': kind, 'n': serial})}.sig"


def _error(status: int, message: str) -> httpx.Response:
    return httpx.Response(status, json={"error": {"status": status, "message": message}})


class FakeShop:
    """Just enough EverShop for the client's logic. ``requests`` logs ``(method, path)``."""

    def __init__(self, clock: Clock, *, bridge: bool = True, version: str | None = "2.2.1") -> None:
        self.clock = clock
        self.bridge = bridge
        self.version = version
        self.requests: list[tuple[str, str]] = []
        self.access: dict[str, float] = {}
        self.refresh: dict[str, float] = {}
        self.serial = 0
        self.logins = 0
        self.products: dict[str, dict[str, Any]] = {}
        self.carts: dict[str, dict[str, Any]] = {}
        self.orders: list[dict[str, Any]] = []
        self.definitions: set[tuple[str, str]] = set()
        self.restocks = 0
        self.lose_answer: set[tuple[str, str]] = set()
        self.fail_next: dict[tuple[str, str], httpx.Response] = {}
        self.lock = threading.Lock()

    # -- helpers --------------------------------------------------------------------------------
    def add_product(self, sku: str, price: str = "10", qty: int = 100, status: int = 1) -> None:
        self.products[sku] = {"productId": len(self.products) + 1, "uuid": str(uuidlib.uuid4()), "sku": sku,
                              "name": f"Product {sku}", "status": status, "price": Decimal(price), "qty": qty}

    def order(self, uuid: str) -> dict[str, Any]:
        return next(o for o in self.orders if o["uuid"] == uuid)

    def count(self, method: str, path: str) -> int:
        return sum(1 for m, p in self.requests if m == method and p == path)

    def _issue(self) -> dict[str, str]:
        self.serial += 1
        access = _jwt(self.clock() + 900, "access", self.serial)
        refresh = _jwt(self.clock() + 54_000, "refresh", self.serial)
        self.access[access] = self.clock() + 900
        self.refresh[refresh] = self.clock() + 54_000
        return {"accessToken": access, "refreshToken": refresh}

    def _recompute(self, order: dict[str, Any]) -> None:
        total = sum(int(i["qty"]) for i in order["items"])
        live = [s for s in order["shipments"] if s["status"]["code"] != "canceled"]
        shipped = sum(int(i["qty"]) for s in live for i in s["items"])
        delivered = sum(int(i["qty"]) for s in live if s["status"]["code"] == "delivered" for i in s["items"])
        if delivered and delivered >= total:
            rollup = "delivered"
        elif delivered:
            rollup = "partially_delivered"
        elif shipped >= total:
            rollup = "shipped"
        elif shipped:
            rollup = "partially_shipped"
        else:
            rollup = "pending"
        order["shipmentStatus"] = {"code": rollup}
        payment = order["paymentStatus"]["code"]
        if payment == "canceled":
            status = "canceled"
        elif payment == "paid" and rollup == "delivered":
            status = "completed"
        elif payment == "pending" and rollup == "pending":
            status = "new"
        else:
            status = "processing"
        order["status"] = {"code": status}

    @staticmethod
    def _public_copy(order: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in order.items() if not k.startswith("_")}

    # -- transport ------------------------------------------------------------------------------
    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            return self._handle(request)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        method, path = request.method, request.url.path
        self.requests.append((method, path))
        forced = self.fail_next.pop((method, path), None)
        if forced is not None:
            return forced
        body = json.loads(request.content) if request.content else {}
        if path == "/api/user/tokens":
            if body.get("email") == EMAIL and body.get("password") == PASSWORD:
                self.logins += 1
                return httpx.Response(200, json={"data": self._issue()})
            return _error(400, "Invalid email or password")
        if path == "/api/user/token/refresh":
            exp = self.refresh.get(body.get("refreshToken", ""))
            if exp is None:
                return _error(401, "Invalid refresh token")
            if self.clock() >= exp:
                return _error(401, "Refresh token has expired")
            token = _jwt(self.clock() + 900, "access", self.serial + 1000)
            self.serial += 1
            self.access[token] = self.clock() + 900
            return httpx.Response(200, json={"data": {"accessToken": token}})
        public = (path.startswith("/api/carts/") or path == "/api/carts" or path == "/api/graphql"
                  or (path == "/api/orders" and method == "POST"))
        if not public:
            denied = self._authorize(request)
            if denied is not None:
                return denied
        response = self._route(method, path, body, request)
        if (method, path) in self.lose_answer and response.status_code < 300:
            self.lose_answer.discard((method, path))
            return httpx.Response(502, text="<html><body><h1>502 Bad Gateway</h1></body></html>",
                                  headers={"content-type": "text/html"})
        return response

    def _authorize(self, request: httpx.Request) -> httpx.Response | None:
        header = request.headers.get("authorization", "")
        if not header.startswith("Bearer "):
            return _error(401, "Unauthorized")
        exp = self.access.get(header[7:])
        if exp is None:
            return _error(401, "Invalid token")
        if self.clock() >= exp:
            return _error(401, "Token has expired")
        return None

    def _route(self, method: str, path: str, body: dict[str, Any], request: httpx.Request) -> httpx.Response:
        if path in ("/api/admin/graphql", "/api/graphql"):
            return self._graphql(body["query"], body.get("variables") or {})
        if path == "/api/carts" and method == "POST":
            return self._create_cart(body)
        match = re.fullmatch(r"/api/carts/(\w+)/(contacts|addresses|shippingMethods|paymentMethods|shippingNotes)",
                             path)
        if match:
            cart = self.carts.get(match.group(1))
            if cart is None or not cart["active"]:
                return _error(500, "Cart not found")
            cart[match.group(2)] = body
            return httpx.Response(200, json={"data": body})
        if path == "/api/orders" and method == "POST":
            return self._place(body)
        match = re.fullmatch(r"/api/orders/([\w-]+)/(metafields|shipments|cancel)", path)
        if match:
            found = [o for o in self.orders if o["uuid"] == match.group(1)]
            if not found:
                return _error(500, f"Order not found: {match.group(1)}")
            return self._order_action(found[0], match.group(2), method, body)
        match = re.fullmatch(r"/api/orders/([\w-]+)/shipments/([\w-]+)", path)
        if match and method == "PATCH":
            return self._update_shipment(match.group(2), body)
        match = re.fullmatch(r"/api/shipments/([\w-]+)(/markDelivered)?", path)
        if match:
            if match.group(2):
                return self._deliver(match.group(1))
            return self._update_shipment(match.group(1), body)
        if path == "/api/cod/captures":
            order = next((o for o in self.orders if o["uuid"] == body.get("order_id")
                          and o["paymentMethod"] == "cod" and o["paymentStatus"]["code"] == "pending"), None)
            if order is None:
                return _error(400, "Requested order does not exist or is not in pending payment status")
            order["paymentStatus"] = {"code": "paid"}
            self._recompute(order)
            return httpx.Response(200, json={"data": {}})
        if path == "/api/metafield-definitions":
            if method == "GET":
                return httpx.Response(200, json={"data": [{"ownerType": "order", "namespace": n, "key": k}
                                                          for n, k in sorted(self.definitions)]})
            key = (body["namespace"], body["fieldKey"])
            if key in self.definitions:
                return _error(409, f'A metafield definition "{key[0]}.{key[1]}" already exists for "order"')
            self.definitions.add(key)
            return httpx.Response(200, json={"data": {"namespace": key[0], "key": key[1]}})
        if path == "/api/products" and method == "POST":
            self.add_product(body["sku"], str(body["price"]), int(body["qty"]))
            return httpx.Response(200, json={"data": {"sku": body["sku"]}})
        if path == "/api/settings":
            return httpx.Response(200, json={"data": {}, "warnings": []})
        if path == "/api/packages":
            return httpx.Response(200, json={"data": {"package_id": 7}})
        if path == "/api/shippingZones":
            return httpx.Response(200, json={"data": {"uuid": "zone-uuid", "shipping_zone_id": 3}})
        if path == "/api/shippingProviders/core/methods":
            return httpx.Response(200, json={"data": {"uuid": "method-uuid"}})
        if path == "/api/shippingProviders/core/rates":
            return httpx.Response(200, json={"data": {"uuid": "rate-uuid"}})
        return httpx.Response(404, text=HTML_404, headers={"content-type": "text/html; charset=utf-8"})

    def _create_cart(self, body: dict[str, Any]) -> httpx.Response:
        for item in body["items"]:
            product = self.products.get(item["sku"])
            if product is None or product["status"] != 1:
                return _error(400, "Some products are not available")
            if product["qty"] < item["qty"]:
                return _error(500, "We do not have enough stock")
        cart_id = uuidlib.uuid4().hex
        self.carts[cart_id] = {"number": len(self.carts) + 1, "items": body["items"], "active": True,
                               "email": body.get("customer_email")}
        return httpx.Response(200, json={"data": {"items": body["items"], "count": len(body["items"]),
                                                  "cartId": cart_id}})

    def _place(self, body: dict[str, Any]) -> httpx.Response:
        cart = self.carts.get(body.get("cart_id", ""))
        if cart is None or not cart["active"]:
            return _error(500, "Cart not found")
        if "shippingMethods" not in cart:
            return _error(400, "Please select a shipping method")
        cart["active"] = False
        number = len(self.orders) + 1
        items = []
        subtotal = Decimal(0)
        for index, item in enumerate(cart["items"]):
            product = self.products[item["sku"]]
            product["qty"] -= item["qty"]
            subtotal += product["price"] * item["qty"]
            items.append({"orderItemId": str(number * 10 + index), "productSku": item["sku"], "qty": item["qty"]})
        grand = subtotal + 5
        order = {
            "orderId": str(number), "uuid": str(uuidlib.uuid4()), "orderNumber": str(10000 + number),
            "status": {"code": "new"}, "paymentStatus": {"code": "pending"}, "shipmentStatus": {"code": "pending"},
            "paymentMethod": cart["paymentMethods"]["method_code"], "customerEmail": cart["contacts"]["email"],
            "createdAt": {"value": str(int(self.clock() * 1000))}, "grandTotal": {"value": float(grand)},
            "items": items, "shipments": [], "metaData": {}, "_cart": body["cart_id"], "_cart_number": cart["number"],
        }
        self.orders.append(order)
        row = {"order_id": number, "uuid": order["uuid"], "order_number": order["orderNumber"],
               "grand_total": f"{grand:.4f}", "cart_id": cart["number"]}
        return httpx.Response(200, json={"data": row})

    def _order_action(self, order: dict[str, Any], action: str, method: str, body: dict[str, Any]) -> httpx.Response:
        if action == "metafields":
            for space, values in body["metafields"].items():
                for key, value in values.items():
                    if (space, key) in self.definitions:
                        order["metaData"].setdefault(space, {})[key] = value
            return httpx.Response(200, json={"data": {"metaData": order["metaData"]}})
        if action == "cancel":
            if order["paymentStatus"]["code"] == "paid" or order["shipmentStatus"]["code"] == "delivered":
                return _error(500, "Order is not cancelable at this status")
            for line in order["items"]:
                self.products[line["productSku"]]["qty"] += line["qty"]
            self.restocks += 1
            order["paymentStatus"] = {"code": "canceled"}
            self._recompute(order)
            return httpx.Response(200, json={"data": {}})
        if method == "GET":
            return httpx.Response(200, json={"data": order["shipments"]})
        if "items" not in body:
            return _error(400, "must have required property 'items'")
        if body.get("carrier") != "custom":
            return _error(500, f"Unknown carrier '{body.get('carrier')}'. Install or register the carrier "
                               "extension first.")
        shipment = {"uuid": str(uuidlib.uuid4()), "carrier": body["carrier"],
                    "trackingNumber": body.get("tracking_number"), "status": {"code": "shipped"},
                    "items": [{"orderItemId": i["order_item_id"], "qty": i["qty"]} for i in body["items"]]}
        order["shipments"].append(shipment)
        self._recompute(order)
        return httpx.Response(200, json={"data": {"shipment": {"uuid": shipment["uuid"], "status": "shipped"},
                                                  "items": body["items"], "labelCreated": False}})

    def _shipment(self, uuid: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
        for order in self.orders:
            for shipment in order["shipments"]:
                if shipment["uuid"] == uuid:
                    return order, shipment
        return None

    def _update_shipment(self, uuid: str, body: dict[str, Any]) -> httpx.Response:
        found = self._shipment(uuid)
        if found is None:
            return _error(400, "Invalid shipment id")
        _, shipment = found
        if "carrier" in body:
            shipment["carrier"] = body["carrier"]
        if "tracking_number" in body:
            shipment["trackingNumber"] = body["tracking_number"]
        return httpx.Response(200, json={"data": {"uuid": uuid, "tracking_number": shipment["trackingNumber"]}})

    def _deliver(self, uuid: str) -> httpx.Response:
        found = self._shipment(uuid)
        if found is None:
            return _error(500, f"Shipment not found: {uuid}")
        order, shipment = found
        if shipment["status"]["code"] != "shipped":
            return _error(500, f"Cannot transition shipment from phase {shipment['status']['code']} to phase delivered")
        shipment["status"] = {"code": "delivered"}
        self._recompute(order)
        return httpx.Response(200, json={"data": {"uuid": uuid}})

    # -- GraphQL --------------------------------------------------------------------------------
    def _graphql(self, query: str, variables: dict[str, Any]) -> httpx.Response:
        name = re.match(r"\s*query\s+(\w+)", query)
        op = name.group(1) if name else ""
        if "currentPage" in query:
            return _error(500, "Cannot return null for non-nullable field OrderCollection.currentPage.")
        if op == "ShopVersion":
            if self.version is None:
                return _error(500, 'Cannot query field "version" on type "Query".')
            return httpx.Response(200, json={"data": {"version": self.version}})
        if op in ("OrderByUuid", "OrderState", "OrderUnshipped"):
            found = [o for o in self.orders if o["uuid"] == variables["uuid"]]
            order = self._public_copy(found[0]) if found else None
            if order is not None and op == "OrderUnshipped":
                shipped: dict[str, int] = {}
                for shipment in found[0]["shipments"]:
                    for item in shipment["items"]:
                        key = str(item["orderItemId"])
                        shipped[key] = shipped.get(key, 0) + item["qty"]
                order["unshippedItems"] = [
                    {"orderItemId": int(i["orderItemId"]), "productSku": i["productSku"], "qtyOrdered": i["qty"],
                     "qtyUnshipped": i["qty"] - shipped.get(i["orderItemId"], 0)} for i in found[0]["items"]]
            return httpx.Response(200, json={"data": {"order": order}})
        if op in ("OrderStates", "OrdersWhole"):
            data = {}
            for key, value in variables.items():
                found = [o for o in self.orders if o["uuid"] == value]
                data["o" + key[1:]] = self._public_copy(found[0]) if found else None
            return httpx.Response(200, json={"data": data})
        if op in ("OrdersPage", "OrdersLightPage"):
            return httpx.Response(200, json={"data": {"orders": self._orders_page(variables.get("filters") or [])}})
        if op == "ProductsBySku":
            wanted = next(f["value"] for f in variables["filters"] if f["key"] == "sku").split(",")
            items = [{"productId": p["productId"], "uuid": p["uuid"], "sku": p["sku"], "name": p["name"],
                      "status": p["status"], "price": {"regular": {"value": float(p["price"]), "currency": "USD"}},
                      "inventory": {"qty": p["qty"]}} for p in self.products.values() if p["sku"] in wanted]
            return httpx.Response(200, json={"data": {"products": {"total": len(items), "items": items}}})
        if op == "CartMethods":
            cart = self.carts.get(variables["id"])
            if cart is None:
                return httpx.Response(200, json={"data": {"cart": None}})
            return httpx.Response(200, json={"data": {"cart": {
                "uuid": variables["id"],
                "availableShippingMethods": [{"code": "method-uuid", "providerCode": "core", "name": "Standard",
                                              "cost": {"value": 5}}],
                "availablePaymentMethods": [{"code": "cod", "name": "Cash on Delivery"}]}}})
        if op == "Carriers":
            return httpx.Response(200, json={"data": {"carriers": [{"code": "custom"}]}})
        if op == "StoreSetup":
            return httpx.Response(200, json={"data": {
                "setting": {"codPaymentStatus": 0, "allowGuestCheckout": True}, "packages": [],
                "shippingZones": [], "coreShippingMethods": []}})
        return _error(500, f'Unknown operation "{op}"')

    def _orders_page(self, filters: list[dict[str, str]]) -> dict[str, Any]:
        items = list(self.orders)
        applied = []
        limit, page, direction = 20, 1, "desc"
        ops = {"eq": lambda a, b: a == b, "gt": lambda a, b: a > b, "gteq": lambda a, b: a >= b,
               "lt": lambda a, b: a < b, "lteq": lambda a, b: a <= b}
        for f in filters:
            key, op, value = f["key"], f["operation"], f["value"]
            if key == "order_id" and self.bridge:
                items = [o for o in items if ops[op](int(o["orderId"]), int(value))]
            elif key == "cart_id" and self.bridge:
                items = [o for o in items if value.replace("-", "") == o["_cart"] or value == str(o["_cart_number"])]
            elif key == "email":
                items = [o for o in items if o["customerEmail"] == value]
            elif key == "limit":
                limit = int(value)
            elif key == "page":
                page = int(value)
            elif key == "od":
                direction = value
            else:
                continue
            applied.append(f)
        items.sort(key=lambda o: int(o["orderId"]), reverse=direction != "asc")
        window = items[(page - 1) * limit: page * limit]
        return {"total": len(items), "currentFilters": applied, "items": [self._public_copy(o) for o in window]}


# -- fixtures ------------------------------------------------------------------------------------------


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def shop(clock: Clock) -> FakeShop:
    fake = FakeShop(clock)
    for sku in ("MUG-BLK", "TEE-M", "CAP-01"):
        fake.add_product(sku, "12.50", 50)
    return fake


def make(shop: FakeShop, clock: Clock, **options: Any) -> EverShopConnector:
    """A connector on the fake (an unthrottled bucket: the budget has its own tests)."""
    settings = ConnectionSettings(store="es", platform="evershop", base_url="http://shop.test/api",
                                  credentials={"email": EMAIL, "password": PASSWORD},
                                  options={"recovery_delay": 0, "rate_limit": {"requests": 10_000, "burst": 10_000},
                                           **options})
    return EverShopConnector(settings, transport=httpx.MockTransport(shop), clock=clock, sleep=lambda _: None)


@pytest.fixture
def connector(shop: FakeShop, clock: Clock) -> EverShopConnector:
    return make(shop, clock)


ADDRESS = EverShopAddress(full_name="Jane Buyer", address_1="1 Main St", city="San Francisco", province="US-CA",
                          country="US", postcode="94105", telephone="5551234567")


def plan(*items: tuple[str, int], email: str = "jane@example.com", **extra: Any) -> EverShopCreatePlan:
    return EverShopCreatePlan(items=[EverShopCartItem(sku=s, qty=q) for s, q in items], customer_email=email,
                              customer_full_name="Jane Buyer", shipping_address=ADDRESS, billing_address=ADDRESS,
                              **extra)


def ref(n: int = 1, **extra: Any) -> OrderReference:
    return OrderReference(key=f"ordersync:ro:{n}", email="jane@example.com", **extra)


# -- contract ------------------------------------------------------------------------------------------


def test_connector_protocol_and_capabilities(connector: EverShopConnector, shop: FakeShop, clock: Clock) -> None:
    assert isinstance(connector, Connector)
    assert connector.capabilities is CAPABILITIES
    assert connector.capabilities.delete == "cancel_only"
    settings = ConnectionSettings(store="x", platform="evershop", base_url="http://shop.test",
                                  credentials={"email": EMAIL, "password": PASSWORD})
    opened = open_connector(settings, transport=httpx.MockTransport(shop))
    assert isinstance(opened, EverShopConnector)
    assert opened.http.base_url == "http://shop.test"
    assert connector.http.base_url == "http://shop.test"  # a trailing /api is dropped
    assert (opened.http.bucket.rate, opened.http.bucket.burst) == (2.0, 20.0)  # EverShop: 120 / 60 s per IP
    opened.close()


# -- auth ----------------------------------------------------------------------------------------------


def test_login_once_and_bearer_reused(connector: EverShopConnector, shop: FakeShop) -> None:
    shop.add_product("X-1")
    connector.resolve_sku("X-1")
    connector.graphql("query ShopVersion { version }")
    assert shop.logins == 1
    assert shop.count("POST", "/api/user/tokens") == 1


def test_refresh_before_expiry_then_relogin_after_refresh_expiry(connector: EverShopConnector, shop: FakeShop,
                                                                   clock: Clock) -> None:
    connector.graphql("query ShopVersion { version }")
    clock.now += 900 - 30  # inside the 60 s margin: refreshed before the shop would refuse it
    connector.graphql("query ShopVersion { version }")
    assert (connector.tokens.logins, connector.tokens.refreshes) == (1, 1)
    assert shop.count("POST", "/api/user/token/refresh") == 1
    clock.now += 54_000  # the refresh token has expired too: log in again
    connector.graphql("query ShopVersion { version }")
    assert connector.tokens.logins == 2
    assert shop.count("POST", "/api/admin/graphql") == 3  # never refused: renewed before expiry


def test_401_token_expired_refreshes_and_retries_once(connector: EverShopConnector, shop: FakeShop,
                                                      clock: Clock) -> None:
    connector.graphql("query ShopVersion { version }")
    shop.access.clear()  # the shop forgets every access token: next call answers 401 "Invalid token"
    assert connector.graphql("query ShopVersion { version }") == {"version": "2.2.1"}
    assert connector.tokens.refreshes == 1
    assert shop.count("POST", "/api/admin/graphql") == 3  # ok, 401, retried ok


def test_401_even_after_renewal_is_auth_failed(connector: EverShopConnector, shop: FakeShop) -> None:
    shop.fail_next[("POST", "/api/admin/graphql")] = _error(401, "Unauthorized")
    connector.graphql("query ShopVersion { version }")  # one 401, then fine after a renewal

    def always_401(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/admin/graphql":
            return _error(401, "Unauthorized")
        return shop(request)

    stuck = EverShopConnector(connector.settings, transport=httpx.MockTransport(always_401))
    with pytest.raises(AuthFailed, match="Unauthorized"):
        stuck.graphql("query ShopVersion { version }")


def test_refused_refresh_token_falls_back_to_login(connector: EverShopConnector, shop: FakeShop,
                                                   clock: Clock) -> None:
    connector.graphql("query ShopVersion { version }")
    shop.refresh.clear()
    clock.now += 900
    connector.graphql("query ShopVersion { version }")
    assert connector.tokens.logins == 2


def test_bad_credentials_raise_auth_failed_with_the_real_message(shop: FakeShop, clock: Clock) -> None:
    settings = ConnectionSettings(store="es", platform="evershop", base_url="http://shop.test",
                                  credentials={"email": EMAIL, "password": "wrong-secret"})
    bad = EverShopConnector(settings, transport=httpx.MockTransport(shop), clock=clock)
    with pytest.raises(AuthFailed) as caught:
        bad.get_order("e84ac459-fa6f-4013-b848-d5b583f70bf1")
    assert "Invalid email or password" in str(caught.value)
    assert "wrong-secret" not in str(caught.value)
    assert caught.value.disposition == "fatal"


def test_token_handling_is_thread_safe(connector: EverShopConnector, shop: FakeShop) -> None:
    barrier = threading.Barrier(16)

    def work(_: int) -> dict[str, Any]:
        barrier.wait()
        return connector.graphql("query ShopVersion { version }")

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(work, range(16)))
    assert results == [{"version": "2.2.1"}] * 16
    assert shop.logins == 1


# -- classification ------------------------------------------------------------------------------------


def _response(status: int, message: str | None = None, *, html: str | None = None) -> httpx.Response:
    request = httpx.Request("POST", "http://shop.test/api/x")
    if html is not None:
        return httpx.Response(status, text=html, headers={"content-type": "text/html"}, request=request)
    return httpx.Response(status, json={"error": {"status": status, "message": message}}, request=request)


@pytest.mark.parametrize(("status", "message", "expected", "field"), [
    (500, "Cart not found", NotFound, None),
    (400, "Invalid cart", NotFound, None),
    (500, "Unknown carrier 'ups'. Install or register the carrier extension first.", Rejected, "carrier"),
    (500, "Order is not cancelable at this status", Conflict, None),
    (500, "We do not have enough stock", Rejected, "items"),
    (400, "Some products are not available", Rejected, "items"),
    (400, "must have required property 'items'", Rejected, "items"),
    (500, "Cannot return null for non-nullable field OrderCollection.currentPage.", Rejected,
     "OrderCollection.currentPage"),
    (500, 'Cannot query field "version" on type "Query".', Rejected, "query"),
    (500, "Item TEE-M is already fully shipped", Conflict, None),
    (500, "Cannot ship 2 of TEE-M — only 1 unshipped", Conflict, None),
    (400, "Requested order does not exist or is not in pending payment status", Conflict, None),
    (409, 'A metafield definition "ordersync.ref" already exists for "order"', Conflict, None),
    (500, "Order not found: e84ac459-fa6f-4013-b848-d5b583f70bf1", NotFound, None),
    (500, 'invalid input syntax for type uuid: "nope"', NotFound, None),
    (400, "Invalid email or password", AuthFailed, None),
    (401, "Token has expired", AuthFailed, None),
    (401, "Invalid token", AuthFailed, None),
    (500, "Connection terminated unexpectedly", Transient, None),
    (503, "Service Unavailable", Transient, None),
    (400, "Something else is wrong", Rejected, ""),
])
def test_classify_by_message_then_status(status: int, message: str, expected: type[Exception],
                                         field: str | None) -> None:
    error = classify(_response(status, message))
    assert type(error) is expected
    assert message in str(error)
    if field is not None:
        assert isinstance(error, Rejected)
        assert field in error.field_errors


def test_classify_html_404_and_429() -> None:
    assert isinstance(classify(_response(404, html=HTML_404)), NotFound)
    limited = classify(httpx.Response(429, headers={"retry-after": "3"}, request=httpx.Request("GET", "http://x")))
    assert isinstance(limited, RateLimited)
    assert limited.retry_after == 3.0


def _limited(remaining: int, reset: int, status: int = 200) -> httpx.Response:
    headers = {"RateLimit-Policy": "120;w=60", "RateLimit-Limit": "120", "RateLimit-Remaining": str(remaining),
               "RateLimit-Reset": str(reset)}
    if status == 429:
        headers["Retry-After"] = "60"
        return httpx.Response(429, headers=headers, request=httpx.Request("POST", "http://x"), json={
            "error": {"status": 429, "message": "Too many requests. Please slow down and try again later."}})
    return httpx.Response(status, headers=headers, request=httpx.Request("POST", "http://x"), json={"data": {}})


def test_rate_limit_headers_are_read() -> None:
    signal = read_rate_signal(_limited(17, 42))
    assert signal is not None
    assert (signal.remaining, signal.reset_after, signal.limit, signal.window) == (17, 42.0, 120, 60.0)
    assert read_rate_signal(httpx.Response(200)) is None
    limited = classify(_limited(0, 5, status=429))
    assert isinstance(limited, RateLimited)
    assert limited.retry_after == 5.0  # the time left in the window, not Retry-After's whole window


def test_a_short_429_is_waited_out_and_retried(shop: FakeShop, clock: Clock) -> None:
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.now += seconds

    bucket = TokenBucket(clock=clock, sleep=sleep)
    connector = EverShopConnector(make(shop, clock).settings, transport=httpx.MockTransport(shop), clock=clock,
                                  limiter=bucket)
    connector.graphql("query ShopVersion { version }")
    shop.fail_next[("POST", "/api/admin/graphql")] = _limited(0, 4, status=429)
    assert connector.graphql("query ShopVersion { version }") == {"version": "2.2.1"}
    assert slept
    assert sum(slept) >= 4
    shop.fail_next[("POST", "/api/admin/graphql")] = _limited(0, 50, status=429)
    with pytest.raises(RateLimited) as caught:
        connector.graphql("query ShopVersion { version }")
    assert caught.value.retry_after > 10


def test_business_500_on_a_post_is_not_outcome_unknown(connector: EverShopConnector, shop: FakeShop) -> None:
    created = connector.create_order(plan(("MUG-BLK", 1)), ref())
    item = int(shop.order(created.id)["items"][0]["orderItemId"])
    with pytest.raises(Rejected, match="Unknown carrier"):
        connector.create_shipment(created.id, EverShopShipmentCreate(
            items=[EverShopShipmentItem(order_item_id=item, qty=1)], carrier="ups"))


def test_html_404_is_not_found(connector: EverShopConnector) -> None:
    with pytest.raises(NotFound):
        connector._admin("GET", "/api/orders")


# -- create ----------------------------------------------------------------------------------------------


def test_create_order_runs_the_cart_flow_and_stamps_the_reference(connector: EverShopConnector,
                                                                  shop: FakeShop) -> None:
    progress: list[dict[str, Any]] = []

    def on_progress(facts: dict[str, Any]) -> None:
        assert shop.count("POST", "/api/orders") == 0, "the cart id must be persisted before placing"
        progress.append(facts)

    created = connector.create_order(plan(("MUG-BLK", 2), ("TEE-M", 1), expected_grand_total=Decimal("40.00"),
                                          shipping_note="leave at door"), ref(), on_progress=on_progress)
    cart_id = progress[0]["cart_id"]
    assert created.number == "10001"
    assert not created.adopted
    order = shop.order(created.id)
    assert order["metaData"] == {"ordersync": {"ref": "ordersync:ro:1"}}
    report = created.raw["_ordersync"]
    assert report["cart_id"] == cart_id
    assert report["grand_total"] == "42.5000"
    assert report["total_drift"] == "2.5000"
    paths = [p for m, p in shop.requests if m in ("POST", "PATCH") and not p.startswith("/api/user")]
    assert paths == [
        "/api/carts", f"/api/carts/{cart_id}/contacts", f"/api/carts/{cart_id}/addresses",
        f"/api/carts/{cart_id}/addresses", "/api/graphql", f"/api/carts/{cart_id}/shippingMethods",
        f"/api/carts/{cart_id}/paymentMethods", f"/api/carts/{cart_id}/shippingNotes", "/api/orders",
        "/api/metafield-definitions", f"/api/orders/{created.id}/metafields",
    ]
    assert shop.carts[cart_id]["shippingMethods"] == {"provider_code": "core", "method_code": "method-uuid"}
    # The definition is created once per connector.
    connector.create_order(plan(("CAP-01", 1)), ref(2))
    assert shop.count("POST", "/api/metafield-definitions") == 1


def test_cart_requests_carry_no_credentials(shop: FakeShop, clock: Clock) -> None:
    seen: list[httpx.Request] = []

    def spy(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return shop(request)

    connector = EverShopConnector(make(shop, clock).settings, transport=httpx.MockTransport(spy), clock=clock)
    connector.create_order(plan(("MUG-BLK", 1)), ref())
    assert connector.http.requests_sent == len(seen)
    public = [r for r in seen if r.url.path.startswith("/api/carts") or r.url.path in ("/api/orders", "/api/graphql")]
    assert public
    assert all("authorization" not in r.headers for r in public)


def test_lost_place_order_answer_is_recovered_by_cart_without_a_second_post(connector: EverShopConnector,
                                                                             shop: FakeShop) -> None:
    shop.lose_answer.add(("POST", "/api/orders"))  # placed, then a 502 from a proxy
    progress: list[dict[str, Any]] = []
    created = connector.create_order(plan(("MUG-BLK", 1)), ref(), on_progress=progress.append)
    assert shop.count("POST", "/api/orders") == 1
    assert len(shop.orders) == 1
    assert created.id == shop.orders[0]["uuid"]
    assert created.adopted
    assert shop.orders[0]["metaData"]["ordersync"]["ref"] == "ordersync:ro:1"
    assert created.raw["_ordersync"]["cart_id"] == progress[0]["cart_id"]


def test_retry_with_a_placed_cart_adopts_instead_of_duplicating(connector: EverShopConnector,
                                                                shop: FakeShop) -> None:
    progress: list[dict[str, Any]] = []
    first = connector.create_order(plan(("MUG-BLK", 1)), ref(), on_progress=progress.append)
    cart_id = progress[0]["cart_id"]
    shop.orders[0]["metaData"] = {}  # as if the process died between placing and stamping
    again = connector.create_order(plan(("MUG-BLK", 1)), ref(cart_id=cart_id))
    assert again.id == first.id
    assert again.adopted
    assert len(shop.orders) == 1
    assert shop.count("POST", "/api/orders") == 1
    assert shop.orders[0]["metaData"]["ordersync"]["ref"] == "ordersync:ro:1"


def test_cart_not_found_on_place_recovers(connector: EverShopConnector, shop: FakeShop,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    real_prepare = connector._prepare_cart

    def prepare_then_race(cart_id: str, p: EverShopCreatePlan) -> None:
        real_prepare(cart_id, p)
        shop._place({"cart_id": cart_id})  # a ghost write from an earlier attempt lands first

    monkeypatch.setattr(connector, "_prepare_cart", prepare_then_race)
    created = connector.create_order(plan(("TEE-M", 1)), ref())
    assert created.adopted
    assert len(shop.orders) == 1
    assert created.id == shop.orders[0]["uuid"]
    assert shop.count("POST", "/api/orders") == 1  # ours, answered 500 "Cart not found"


def test_retry_with_an_unplaced_cart_reuses_it(connector: EverShopConnector, shop: FakeShop) -> None:
    cart_id = connector._create_cart(plan(("MUG-BLK", 1)))
    created = connector.create_order(plan(("MUG-BLK", 1)), ref(cart_id=cart_id))
    assert not created.adopted
    assert shop.count("POST", "/api/carts") == 1
    assert shop.orders[0]["_cart"] == cart_id


def test_lost_answer_not_found_stays_outcome_unknown(connector: EverShopConnector, shop: FakeShop) -> None:
    shop.fail_next[("POST", "/api/orders")] = httpx.Response(502, text="<html>502</html>",
                                                             headers={"content-type": "text/html"})
    with pytest.raises(OutcomeUnknown):
        connector.create_order(plan(("MUG-BLK", 1)), ref())
    assert shop.count("POST", "/api/orders") == 1
    assert not shop.orders


def test_lost_answer_without_the_bridge_matches_the_newest_unstamped_order(shop: FakeShop, clock: Clock) -> None:
    shop.bridge = False
    connector = make(shop, clock)
    shop.lose_answer.add(("POST", "/api/orders"))
    created = connector.create_order(plan(("MUG-BLK", 2)), ref())
    assert created.adopted
    assert len(shop.orders) == 1
    assert shop.orders[0]["metaData"]["ordersync"]["ref"] == "ordersync:ro:1"


def test_unknown_sku_is_named(connector: EverShopConnector, shop: FakeShop) -> None:
    with pytest.raises(UnknownSku) as caught:
        connector.create_order(plan(("MUG-BLK", 1), ("NOPE-9", 1)), ref())
    assert caught.value.sku == "NOPE-9"
    assert shop.count("POST", "/api/orders") == 0


def test_not_enough_stock_names_the_line(connector: EverShopConnector) -> None:
    with pytest.raises(Rejected) as caught:
        connector.create_order(plan(("MUG-BLK", 1), ("TEE-M", 500)), ref())
    assert "enough stock" in str(caught.value)
    assert "items[1].qty" in caught.value.field_errors


def test_unavailable_payment_method_is_rejected_before_placing(connector: EverShopConnector,
                                                               shop: FakeShop) -> None:
    with pytest.raises(Rejected, match="payment method 'stripe'"):
        connector.create_order(plan(("MUG-BLK", 1), payment_method_code="stripe"), ref())
    assert shop.count("POST", "/api/orders") == 0


def test_create_takes_only_the_create_plan(connector: EverShopConnector) -> None:
    with pytest.raises(TypeError):
        connector.create_order({"items": []}, ref())


# -- references ------------------------------------------------------------------------------------------


def test_find_by_reference_by_cart_then_by_email(connector: EverShopConnector, shop: FakeShop,
                                                 clock: Clock) -> None:
    progress: list[dict[str, Any]] = []
    created = connector.create_order(plan(("MUG-BLK", 1)), ref(), on_progress=progress.append)
    cart_id = progress[0]["cart_id"]
    assert connector.find_by_reference(ref(cart_id=cart_id)) == created.id
    assert connector.find_by_reference(ref(cart_id=uuidlib.UUID(cart_id).hex.upper())) == created.id
    assert connector.find_by_reference(ref(cart_id=uuidlib.uuid4().hex)) is None
    assert connector.find_by_reference(ref()) == created.id  # no cart: email + metafield
    assert connector.find_by_reference(ref(7)) is None
    shop.bridge = False
    no_bridge = make(shop, clock)
    assert no_bridge.find_by_reference(ref(cart_id=cart_id)) == created.id  # falls back to the metafield


def test_find_by_reference_ignores_a_foreign_stamp(connector: EverShopConnector, shop: FakeShop) -> None:
    progress: list[dict[str, Any]] = []
    connector.create_order(plan(("MUG-BLK", 1)), ref(), on_progress=progress.append)
    shop.orders[0]["metaData"] = {"ordersync": {"ref": "ordersync:other:9"}}
    assert connector.find_by_reference(ref(cart_id=progress[0]["cart_id"])) is None


# -- status ----------------------------------------------------------------------------------------------


def _ship_all(connector: EverShopConnector, shop: FakeShop, uuid: str) -> list[str]:
    ids = []
    for index, item in enumerate(shop.order(uuid)["items"]):
        ids.append(connector.create_shipment(uuid, EverShopShipmentCreate(
            items=[EverShopShipmentItem(order_item_id=int(item["orderItemId"]), qty=item["qty"])],
            tracking_number=f"TRK-{index}")))
    return ids


def test_set_status_capture_deliver_are_checked(connector: EverShopConnector, shop: FakeShop) -> None:
    created = connector.create_order(plan(("MUG-BLK", 1), ("TEE-M", 2)), ref())
    shipments = _ship_all(connector, shop, created.id)
    connector.set_status(created.id, EverShopStatusPlan(capture_payment=True, deliver_shipments=shipments[:1]))
    order = shop.order(created.id)
    assert (order["paymentStatus"]["code"], order["shipmentStatus"]["code"]) == ("paid", "partially_delivered")
    connector.set_status(created.id, EverShopStatusPlan(capture_payment=True, deliver_shipments=shipments))
    assert order["status"]["code"] == "completed"
    assert shop.count("POST", "/api/cod/captures") == 1
    assert shop.count("POST", f"/api/shipments/{shipments[0]}/markDelivered") == 1
    with pytest.raises(NotFound):
        connector.set_status(created.id, EverShopStatusPlan(deliver_shipments=["no-such-shipment"]))


def test_cancel_is_never_repeated(connector: EverShopConnector, shop: FakeShop) -> None:
    created = connector.create_order(plan(("MUG-BLK", 3)), ref())
    assert shop.products["MUG-BLK"]["qty"] == 47
    connector.cancel_order(created.id, EverShopCancel(reason="source cancelled"))
    connector.cancel_order(created.id)
    connector.set_status(created.id, EverShopStatusPlan(cancel=True))
    connector.delete_order(created.id)  # cancel_only
    assert shop.count("POST", f"/api/orders/{created.id}/cancel") == 1
    assert shop.restocks == 1
    assert shop.products["MUG-BLK"]["qty"] == 50


def test_cancel_with_lost_answer_is_checked_not_resent(connector: EverShopConnector, shop: FakeShop) -> None:
    created = connector.create_order(plan(("MUG-BLK", 1)), ref())
    shop.lose_answer.add(("POST", f"/api/orders/{created.id}/cancel"))
    connector.cancel_order(created.id)  # the re-read shows it canceled: success
    assert shop.count("POST", f"/api/orders/{created.id}/cancel") == 1
    assert shop.restocks == 1


def test_cancel_of_a_paid_order_is_a_conflict(connector: EverShopConnector, shop: FakeShop) -> None:
    created = connector.create_order(plan(("MUG-BLK", 1)), ref())
    connector.set_status(created.id, EverShopStatusPlan(capture_payment=True))
    with pytest.raises(Conflict, match="not cancelable"):
        connector.cancel_order(created.id)


def test_capture_of_a_non_cod_payment_is_a_conflict(connector: EverShopConnector, shop: FakeShop) -> None:
    created = connector.create_order(plan(("MUG-BLK", 1)), ref())
    shop.order(created.id)["paymentMethod"] = "stripe"
    with pytest.raises(Conflict, match="stripe"):
        connector.set_status(created.id, EverShopStatusPlan(capture_payment=True))


# -- shipments -------------------------------------------------------------------------------------------


def test_shipment_create_is_deduplicated_by_tracking_number(connector: EverShopConnector, shop: FakeShop) -> None:
    created = connector.create_order(plan(("TEE-M", 2)), ref())
    item = int(shop.order(created.id)["items"][0]["orderItemId"])
    body = EverShopShipmentCreate(items=[EverShopShipmentItem(order_item_id=item, qty=1)], tracking_number="T-1")
    first = connector.create_shipment(created.id, body)
    assert connector.create_shipment(created.id, body) == first
    assert shop.count("POST", f"/api/orders/{created.id}/shipments") == 1


def test_shipment_create_with_lost_answer_finds_the_new_shipment(connector: EverShopConnector,
                                                                 shop: FakeShop) -> None:
    created = connector.create_order(plan(("TEE-M", 2)), ref())
    item = int(shop.order(created.id)["items"][0]["orderItemId"])
    shop.lose_answer.add(("POST", f"/api/orders/{created.id}/shipments"))
    uuid = connector.create_shipment(created.id, EverShopShipmentCreate(
        items=[EverShopShipmentItem(order_item_id=item, qty=2)]))
    assert uuid == shop.order(created.id)["shipments"][0]["uuid"]


def test_legacy_shipment_body_is_converted_on_2x(connector: EverShopConnector, shop: FakeShop) -> None:
    created = connector.create_order(plan(("TEE-M", 2), ("CAP-01", 1)), ref())
    first = int(shop.order(created.id)["items"][0]["orderItemId"])
    connector.create_shipment(created.id, EverShopShipmentCreate(
        items=[EverShopShipmentItem(order_item_id=first, qty=1)], tracking_number="A"))
    uuid = connector.create_shipment(created.id, EverShopLegacyShipmentCreate(carrier_name="UPS",
                                                                              tracking_number="1Z999"))
    shipment = shop.order(created.id)["shipments"][1]
    assert shipment["uuid"] == uuid
    assert shipment["carrier"] == "custom"
    assert shipment["trackingNumber"] == "1Z999"
    assert sorted((i["orderItemId"], i["qty"]) for i in shipment["items"]) == [
        (first, 1), (first + 1, 1)]
    assert shop.order(created.id)["shipmentStatus"]["code"] == "shipped"


def test_legacy_shop_gets_the_old_body(shop: FakeShop, clock: Clock) -> None:
    seen: list[dict[str, Any]] = []

    def legacy(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/shipments") and request.method == "POST":
            seen.append(json.loads(request.content))
            return httpx.Response(200, json={"data": {"shipment_id": 50, "uuid": "dcc16767a5c311edb46b60d819134f39",
                                                      "carrier_name": "fedex"}})
        if request.url.path.startswith("/api/orders/") and "/shipments/" in request.url.path:
            seen.append(json.loads(request.content))
            return httpx.Response(200, json={"data": {}})
        return shop(request)

    shop.version = None  # 1.x has no `version` field
    connector = EverShopConnector(make(shop, clock).settings, transport=httpx.MockTransport(legacy), clock=clock)
    assert connector.legacy_shipments()
    uuid = connector.create_shipment("fd0b4f0f-d670-4ed0-b53f-a0c64ae7df3c", EverShopShipmentCreate(
        items=[EverShopShipmentItem(order_item_id=1, qty=1)], carrier="fedex", tracking_number="1223"))
    assert uuid == "dcc16767a5c311edb46b60d819134f39"
    assert seen[0] == {"carrier_name": "fedex", "tracking_number": "1223"}
    connector.update_shipment("fd0b4f0f", "dcc16767", EverShopShipmentUpdate(carrier="fedex", tracking_number="9"))
    assert seen[1] == {"carrier_name": "fedex", "tracking_number": "9"}


def test_update_shipment_by_uuid_then_legacy_path(connector: EverShopConnector, shop: FakeShop) -> None:
    created = connector.create_order(plan(("TEE-M", 1)), ref())
    (shipment_id,) = _ship_all(connector, shop, created.id)
    connector.update_shipment(created.id, shipment_id, EverShopShipmentUpdate(tracking_number="NEW-1"))
    assert shop.order(created.id)["shipments"][0]["trackingNumber"] == "NEW-1"
    shop.fail_next[("PATCH", f"/api/shipments/{shipment_id}")] = httpx.Response(
        404, text=HTML_404, headers={"content-type": "text/html"})
    connector.update_shipment(created.id, shipment_id, EverShopShipmentUpdate(tracking_number="NEW-2"))
    assert shop.order(created.id)["shipments"][0]["trackingNumber"] == "NEW-2"
    assert shop.count("PATCH", f"/api/orders/{created.id}/shipments/{shipment_id}") == 1
    before = len(shop.requests)
    connector.update_shipment(created.id, shipment_id, EverShopShipmentUpdate())  # nothing to change
    assert len(shop.requests) == before


# -- reads -----------------------------------------------------------------------------------------------


def test_get_order_and_get_orders(connector: EverShopConnector, shop: FakeShop) -> None:
    a = connector.create_order(plan(("MUG-BLK", 1)), ref(1))
    b = connector.create_order(plan(("TEE-M", 1)), ref(2))
    assert connector.get_order(a.id)["uuid"] == a.id
    with pytest.raises(NotFound):
        connector.get_order(str(uuidlib.uuid4()))
    results = dict(connector.get_orders([a.id, "missing", b.id]))
    assert results[a.id]["orderNumber"] == "10001"  # type: ignore[index]
    assert isinstance(results["missing"], NotFound)


@pytest.mark.parametrize("bridge", [True, False])
def test_iter_orders_new_then_changed_open_orders(shop: FakeShop, clock: Clock, bridge: bool) -> None:
    shop.bridge = bridge
    connector = make(shop, clock, page_size=2)
    created = [connector.create_order(plan(("MUG-BLK", 1)), ref(n)) for n in range(3)]
    feed = connector.iter_orders(None)
    assert [c.id for c in feed] == [c.id for c in created]
    cursor = feed.cursor
    assert cursor is not None
    assert set(cursor["open"]) == {c.id for c in created}
    # Nothing changed: nothing reported.
    quiet = connector.iter_orders(cursor)
    assert list(quiet) == []
    # A change to an open order, a cancel, and a new order.
    clock.now += 60
    connector.set_status(created[0].id, EverShopStatusPlan(capture_payment=True))
    connector.cancel_order(created[1].id)
    newer = connector.create_order(plan(("TEE-M", 1)), ref(9))
    feed = connector.iter_orders(quiet.cursor)
    assert [c.id for c in feed] == [newer.id, created[0].id, created[1].id]
    cursor = feed.cursor
    assert cursor is not None
    assert created[1].id not in cursor["open"]  # canceled: no longer re-read
    assert list(connector.iter_orders(cursor)) == []


def test_iter_orders_cursor_moves_the_watermark_after_the_lookback(connector: EverShopConnector, shop: FakeShop,
                                                                   clock: Clock) -> None:
    first = connector.create_order(plan(("MUG-BLK", 1)), ref(1))
    feed = connector.iter_orders(None, lookback_seconds=300)
    list(feed)
    assert feed.cursor is not None
    assert feed.cursor["watermark"] == 0
    clock.now += 600
    connector.create_order(plan(("MUG-BLK", 1)), ref(2))
    feed2 = connector.iter_orders(feed.cursor, lookback_seconds=300)
    assert [c.number for c in feed2] == ["10002"]
    assert feed2.cursor is not None
    assert feed2.cursor["watermark"] == 1
    assert list(feed2.cursor["recent"]) == ["2"]
    assert first.id in feed2.cursor["open"]  # still open: still re-read


def test_iter_orders_finds_a_late_commit_inside_the_window(connector: EverShopConnector, shop: FakeShop) -> None:
    a = connector.create_order(plan(("MUG-BLK", 1)), ref(1))
    b = connector.create_order(plan(("MUG-BLK", 1)), ref(2))
    late = shop.orders.pop(0)  # order 1 was not committed yet when we first read
    feed = connector.iter_orders(None)
    assert [c.id for c in feed] == [b.id]
    shop.orders.insert(0, late)
    feed2 = connector.iter_orders(feed.cursor)
    assert [c.id for c in feed2] == [a.id]


def test_iter_orders_cursor_is_not_final_until_exhausted(connector: EverShopConnector) -> None:
    connector.create_order(plan(("MUG-BLK", 1)), ref(1))
    feed = connector.iter_orders(None)
    with pytest.raises(RuntimeError):
        _ = feed.cursor


def test_bridge_detection_is_cached(shop: FakeShop, clock: Clock) -> None:
    connector = make(shop, clock)
    assert connector.bridge_available()
    assert connector.bridge_available()
    probes = sum(1 for m, p in shop.requests if p == "/api/admin/graphql")
    assert probes == 1
    shop.bridge = False
    assert not make(shop, clock).bridge_available()
    assert make(shop, clock, bridge=True).bridge_available()


def test_resolve_sku_is_exact_and_cached(connector: EverShopConnector, shop: FakeShop) -> None:
    ref_ = connector.resolve_sku("MUG-BLK")
    assert (ref_.sku, ref_.price, ref_.stock) == ("MUG-BLK", Decimal("12.5"), 50)
    assert ref_.product_id == str(shop.products["MUG-BLK"]["productId"])
    calls = len(shop.requests)
    connector.resolve_sku("MUG-BLK")
    assert len(shop.requests) == calls
    with pytest.raises(UnknownSku):
        connector.resolve_sku("MUG")
    with pytest.raises(UnknownSku):
        connector.resolve_sku("A,B")


def test_ensure_store_setup_is_idempotent(connector: EverShopConnector, shop: FakeShop) -> None:
    products = [SetupProduct("NEW-1", "New one", Decimal("9.99"), 5), SetupProduct("MUG-BLK", "Mug", Decimal("1"))]
    setup = ensure_store_setup(connector, products)
    assert "product:NEW-1" in setup.created
    assert "product:MUG-BLK" not in setup.created
    assert "metafield_definition" in setup.created
    assert setup.products["NEW-1"].price == Decimal("9.99")
    again = ensure_store_setup(connector, products)
    assert "metafield_definition" not in again.created
    assert not any(c.startswith("product:") for c in again.created)


# -- documents ---------------------------------------------------------------------------------------------


def test_documents_parse_and_never_select_current_page() -> None:
    from graphql import parse

    from connectors.evershop import queries

    documents = [getattr(queries, name) for name in queries.__all__ if name.isupper() and name.endswith(
        ("ORDER", "PAGE", "FILTER", "STATE", "UNSHIPPED", "SKU", "METHODS", "VERSION", "SETUP"))]
    documents.append(queries.order_states_document(3))
    assert len(documents) >= 9
    for document in documents:
        parse(document)
        assert "currentPage" not in document
    with pytest.raises(ValueError):
        queries.order_states_document(0)


@pytest.mark.parametrize("bridge", [True, False])
def test_iter_references_reads_our_stamps_from_list_pages_then_only_newer_orders(
        shop: FakeShop, clock: Clock, bridge: bool) -> None:
    """The reference index's source: every stamped order once, then only orders placed since."""
    shop.bridge = bridge
    connector = make(shop, clock)
    first = [connector.create_order(plan(("MUG-BLK", 1)), ref(n)).id for n in (1, 2)]
    feed = connector.iter_references(None)
    assert {(c.id, c.reference) for c in feed} == {(first[0], "ordersync:ro:1"), (first[1], "ordersync:ro:2")}
    third = connector.create_order(plan(("MUG-BLK", 1)), ref(3)).id
    again = connector.iter_references(feed.cursor)
    assert [(c.id, c.reference) for c in again] == [(third, "ordersync:ro:3")]

"""Contract tests against a REAL EverShop 2.2.1 with the ordersync bridge (``-m evershop_live``).

Start the shop with ``scripts/evershop-live.sh`` and export the line it prints last::

    eval "$(scripts/evershop-live.sh | tail -1 | sed 's/^/export /')"
    pytest -m evershop_live tests/connectors/evershop

Needs ``EVERSHOP_URL``, ``EVERSHOP_ADMIN_EMAIL``, ``EVERSHOP_ADMIN_PASSWORD`` (skipped otherwise);
the webhook test also needs ``EVERSHOP_WEBHOOK_SECRET`` and listens on 127.0.0.1:
``EVERSHOP_WEBHOOK_PORT`` (default 8799) — the port the shop's ``SYNC_WEBHOOK_URL`` points to.
Every run uses its own SKUs and e-mails, so runs never disturb each other or other users of the shop.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import orjson
import pytest

from connectors.base import ConnectionSettings, OrderReference
from connectors.errors import AuthFailed, Conflict, NotFound, OutcomeUnknown, Rejected, UnknownSku
from connectors.evershop import webhooks
from connectors.evershop.client import EverShopConnector, SetupProduct, StoreSetup, ensure_store_setup
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

URL = os.environ.get("EVERSHOP_URL")
ADMIN_EMAIL = os.environ.get("EVERSHOP_ADMIN_EMAIL")
ADMIN_PASSWORD = os.environ.get("EVERSHOP_ADMIN_PASSWORD")
WEBHOOK_SECRET = os.environ.get("EVERSHOP_WEBHOOK_SECRET")
WEBHOOK_PORT = int(os.environ.get("EVERSHOP_WEBHOOK_PORT", "8799"))

pytestmark = [
    pytest.mark.evershop_live,
    pytest.mark.skipif(not (URL and ADMIN_EMAIL and ADMIN_PASSWORD),
                       reason="set EVERSHOP_URL, EVERSHOP_ADMIN_EMAIL, EVERSHOP_ADMIN_PASSWORD "
                              "(scripts/evershop-live.sh prints them)"),
]

RUN = f"{int(time.time())}{os.getpid() % 1000:03d}"
SKU_A, SKU_B, SKU_C = f"OSL-{RUN}-A", f"OSL-{RUN}-B", f"OSL-{RUN}-C"
ADDRESS = EverShopAddress(full_name="Jane Buyer", address_1="1 Main St", address_2="Apt 2", city="San Francisco",
                          province="US-CA", country="US", postcode="94105", telephone="5551234567")


SHARED_BUDGET = TokenBucket()
"""One bucket for every connector of the run: EverShop counts 120 /api requests a minute per IP."""


def settings(**options: Any) -> ConnectionSettings:
    """Live settings; calls wait out EverShop's per-minute window instead of failing."""
    assert URL
    assert ADMIN_EMAIL
    assert ADMIN_PASSWORD
    return ConnectionSettings(store="live", platform="evershop", base_url=URL,
                              credentials={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
                              options={"max_wait": 70.0, **options})


def plan(*items: tuple[str, int], tag: str, **extra: Any) -> EverShopCreatePlan:
    return EverShopCreatePlan(items=[EverShopCartItem(sku=s, qty=q) for s, q in items],
                              customer_email=f"live-{RUN}-{tag}@example.com", customer_full_name="Jane Buyer",
                              shipping_address=ADDRESS, billing_address=ADDRESS, **extra)


def ref(tag: str, **extra: Any) -> OrderReference:
    return OrderReference(key=f"ordersync:live:{RUN}-{tag}", email=f"live-{RUN}-{tag}@example.com", **extra)


# -- the webhook receiver (started before any order of this run is made) -------------------------------------


class Receiver:
    """A loopback HTTP server collecting the bridge's deliveries."""

    def __init__(self, port: int) -> None:
        self.deliveries: list[tuple[dict[str, str], bytes]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    receiver.deliveries.append((dict(self.headers.items()), raw))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def events_for(self, uuid: str) -> list[tuple[dict[str, str], bytes, dict[str, Any]]]:
        with self.lock:
            out = []
            for headers, raw in self.deliveries:
                body = orjson.loads(raw)
                if (body.get("order") or {}).get("uuid") == uuid:
                    out.append((headers, raw, body))
            return out

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver | None]:
    deadline = time.monotonic() + 90  # another live test (one xdist worker runs them all) may still hold it
    while True:
        try:
            server = Receiver(WEBHOOK_PORT)
            break
        except OSError:
            if time.monotonic() > deadline:
                yield None  # the port is taken: the webhook test says so
                return
            time.sleep(0.5)
    yield server
    server.close()


@pytest.fixture(scope="module")
def live(receiver: Receiver | None) -> Iterator[EverShopConnector]:
    connector = EverShopConnector(settings(), limiter=SHARED_BUDGET)
    yield connector
    connector.close()


@pytest.fixture(scope="module")
def setup(live: EverShopConnector) -> StoreSetup:
    return ensure_store_setup(live, [
        SetupProduct(SKU_A, f"Live A {RUN}", Decimal("25.00"), 100),
        SetupProduct(SKU_B, f"Live B {RUN}", Decimal("9.99"), 100),
        SetupProduct(SKU_C, f"Live C {RUN}", Decimal("4.50"), 20),
    ])


# -- auth -------------------------------------------------------------------------------------------------------


def test_login_refresh_and_relogin(live: EverShopConnector) -> None:
    connector = EverShopConnector(settings(), limiter=SHARED_BUDGET)
    connector.graphql("query ShopVersion { version }")
    assert (connector.tokens.logins, connector.tokens.refreshes) == (1, 0)
    connector.tokens._access_expires = 0  # as if 15 minutes had passed
    assert connector.graphql("query ShopVersion { version }")["version"].startswith("2.")
    assert (connector.tokens.logins, connector.tokens.refreshes) == (1, 1)
    connector.tokens._access_expires = 0
    connector.tokens._refresh = "expired.refresh.token"  # refused by the shop: log in again
    connector.graphql("query ShopVersion { version }")
    assert connector.tokens.logins == 2
    connector.tokens._access = "not.a.token"  # the shop answers 401: renewed and retried once
    connector.tokens._access_expires = time.time() + 600
    connector.graphql("query ShopVersion { version }")
    assert connector.tokens.refreshes == 2
    connector.close()


def test_bad_credentials(live: EverShopConnector) -> None:
    assert URL
    assert ADMIN_EMAIL
    bad = EverShopConnector(ConnectionSettings(store="bad", platform="evershop", base_url=URL,
                                               credentials={"email": ADMIN_EMAIL, "password": "wrong-" + RUN}),
                            limiter=SHARED_BUDGET)
    with pytest.raises(AuthFailed, match="Invalid email or password") as caught:
        bad.graphql("query ShopVersion { version }")
    assert "wrong-" not in str(caught.value)
    bad.close()


# -- setup and create -----------------------------------------------------------------------------------------


def test_store_setup_is_idempotent(live: EverShopConnector, setup: StoreSetup) -> None:
    assert set(setup.products) == {SKU_A, SKU_B, SKU_C}
    again = ensure_store_setup(live, [SetupProduct(SKU_A, "x", Decimal("1"))])
    assert again.created == []
    assert (again.package_id, again.zone_uuid, again.method_uuid) == (
        setup.package_id, setup.zone_uuid, setup.method_uuid)
    assert live.bridge_available()
    assert not live.legacy_shipments()
    with pytest.raises(UnknownSku):
        live.resolve_sku(f"OSL-{RUN}-NOPE")


def test_create_through_the_cart_flow(live: EverShopConnector, setup: StoreSetup) -> None:
    progress: list[dict[str, Any]] = []
    created = live.create_order(plan((SKU_A, 2), (SKU_B, 1), tag="create", expected_grand_total=Decimal("59.99"),
                                     shipping_note="leave at door"), ref("create"), on_progress=progress.append)
    assert progress
    assert len(progress[0]["cart_id"]) == 32
    assert created.raw["_ordersync"]["grand_total"] == "64.9900"  # 2 x 25 + 9.99 + 5 shipping
    assert created.raw["_ordersync"]["total_drift"] == "5.0000"
    order = live.get_order(created.id)
    assert order["orderNumber"] == created.number
    assert order["metaData"]["ordersync"]["ref"] == f"ordersync:live:{RUN}-create"
    assert sorted((i["productSku"], i["qty"]) for i in order["items"]) == [(SKU_A, 2), (SKU_B, 1)]
    assert order["shippingAddress"]["province"]["code"] == "US-CA"
    assert order["shippingAddress"]["country"]["code"] == "US"
    assert order["paymentMethod"] == "cod"
    assert order["shippingNote"] == "leave at door"
    assert order["status"]["code"] == "new"
    assert {u["productSku"] for u in order["unshippedItems"]} == {SKU_A, SKU_B}
    assert live.find_by_reference(ref("create", cart_id=progress[0]["cart_id"])) == created.id
    assert live.find_by_reference(ref("create")) == created.id  # email + metafield


def test_create_errors(live: EverShopConnector, setup: StoreSetup) -> None:
    with pytest.raises(UnknownSku) as unknown:
        live.create_order(plan((SKU_A, 1), (f"OSL-{RUN}-NOPE", 1), tag="err"), ref("err"))
    assert unknown.value.sku == f"OSL-{RUN}-NOPE"
    with pytest.raises(Rejected, match="enough stock") as stock:
        live.create_order(plan((SKU_C, 500), tag="err"), ref("err"))
    assert "items[0].qty" in stock.value.field_errors


# -- recovery of a create whose answer was lost --------------------------------------------------------------


class LoseOrderAnswer(httpx.HTTPTransport):
    """Sends POST /api/orders to the real shop, then pretends the answer never came."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if request.method == "POST" and request.url.path == "/api/orders":
            response.read()
            raise httpx.ReadTimeout("answer lost (test)", request=request)
        return response


def _orders_of(live: EverShopConnector, email: str) -> list[dict[str, Any]]:
    page = live._orders_page([{"key": "email", "operation": "eq", "value": email},
                              {"key": "limit", "operation": "eq", "value": "20"}])
    return list(page["items"])


def test_recover_by_cart_id_never_duplicates(live: EverShopConnector, setup: StoreSetup) -> None:
    progress: list[dict[str, Any]] = []
    first = live.create_order(plan((SKU_B, 1), tag="recover"), ref("recover"), on_progress=progress.append)
    cart_id = progress[0]["cart_id"]
    # The engine retries with the persisted cart: the order is adopted, not placed again.
    again = live.create_order(plan((SKU_B, 1), tag="recover"), ref("recover", cart_id=cart_id))
    assert (again.id, again.adopted) == (first.id, True)
    # A second checkout of the same cart is refused by EverShop with "Cart not found".
    with pytest.raises(NotFound, match="Cart not found"):
        live._public("POST", "/api/orders", {"cart_id": cart_id}, idempotent=False)
    assert [o["uuid"] for o in _orders_of(live, f"live-{RUN}-recover@example.com")] == [first.id]


def test_recover_a_lost_place_order_answer(live: EverShopConnector, setup: StoreSetup) -> None:
    lossy = EverShopConnector(settings(recovery_delay=0.2), transport=LoseOrderAnswer(), limiter=SHARED_BUDGET)
    created = lossy.create_order(plan((SKU_A, 1), tag="lost"), ref("lost"))
    assert created.adopted
    orders = _orders_of(live, f"live-{RUN}-lost@example.com")
    assert [o["uuid"] for o in orders] == [created.id]
    assert orders[0]["metaData"]["ordersync"]["ref"] == f"ordersync:live:{RUN}-lost"
    lossy.close()


def test_unstamped_order_is_found_by_cart_and_stamped(live: EverShopConnector, setup: StoreSetup) -> None:
    cart = plan((SKU_B, 1), tag="unstamped")
    cart_id = live._create_cart(cart)
    live._prepare_cart(cart_id, cart)
    placed = live._public("POST", "/api/orders", {"cart_id": cart_id}, idempotent=False)["data"]
    # The process "died" before the metafield PATCH.
    assert live.find_by_reference(ref("unstamped", cart_id=cart_id)) == placed["uuid"]
    assert live.get_order(placed["uuid"])["metaData"]["ordersync"]["ref"] == f"ordersync:live:{RUN}-unstamped"


def test_unknown_answer_without_order_stays_unknown(live: EverShopConnector, setup: StoreSetup) -> None:
    class Refuse(httpx.HTTPTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            if request.method == "POST" and request.url.path == "/api/orders":
                raise httpx.ReadTimeout("no answer (test), nothing sent", request=request)
            return super().handle_request(request)

    lossy = EverShopConnector(settings(recovery_delay=0.05, recovery_attempts=2), transport=Refuse(),
                              limiter=SHARED_BUDGET)
    with pytest.raises(OutcomeUnknown):
        lossy.create_order(plan((SKU_B, 1), tag="never"), ref("never"))
    assert _orders_of(live, f"live-{RUN}-never@example.com") == []
    lossy.close()


# -- list, shipments, payment, delivery, cancel ----------------------------------------------------------------


def test_resolve_skus_reads_the_batch_in_one_query(live: EverShopConnector, setup: StoreSetup) -> None:
    live.forget_sku()
    found = live.resolve_skus([SKU_A, SKU_B, f"OSL-{RUN}-NONE"])
    assert set(found) == {SKU_A, SKU_B}
    assert found[SKU_A].price == Decimal("25.00")
    assert found[SKU_B].product_id == setup.products[SKU_B].product_id
    with pytest.raises(UnknownSku):
        live.resolve_sku(f"OSL-{RUN}-NONE")


def test_list_by_order_id_and_change_feed(live: EverShopConnector, setup: StoreSetup) -> None:
    a = live.create_order(plan((SKU_A, 1), tag="feed"), ref("feed-a"))
    b = live.create_order(plan((SKU_B, 1), tag="feed"), ref("feed-b"))
    first_id = int(live.get_order(a.id)["orderId"])
    page = live._orders_page([{"key": "order_id", "operation": "gteq", "value": str(first_id)},
                              {"key": "od", "operation": "eq", "value": "asc"},
                              {"key": "limit", "operation": "eq", "value": "50"}])
    assert any(f["key"] == "order_id" for f in page["currentFilters"])
    uuids = [o["uuid"] for o in page["items"]]
    assert uuids.index(a.id) < uuids.index(b.id)
    assert all(int(o["orderId"]) >= first_id for o in page["items"])
    feed = live.iter_orders({"watermark": first_id - 1})
    changes = list(feed)
    seen = [c.id for c in changes]
    assert seen.index(a.id) < seen.index(b.id)
    for change in changes:  # the page carries the whole order: hydrate is the order(uuid) answer
        assert change.snapshot is not None
        assert live.hydrate(change.snapshot) == live.get_order(change.id)
    cursor = feed.cursor
    assert cursor is not None
    assert {a.id, b.id} <= set(cursor["open"])
    live.cancel_order(b.id)
    again = list(live.iter_orders(cursor))
    changed = [c.id for c in again]
    assert b.id in changed
    assert a.id not in changed
    whole = next(c for c in again if c.id == b.id)  # read whole in the aliased batch
    assert whole.snapshot is not None
    assert live.hydrate(whole.snapshot) == live.get_order(b.id)


def test_shipments_tracking_capture_delivery(live: EverShopConnector, setup: StoreSetup) -> None:
    created = live.create_order(plan((SKU_A, 2), (SKU_B, 1), tag="ship"), ref("ship"))
    items = {i["productSku"]: int(i["orderItemId"]) for i in live.get_order(created.id)["items"]}
    with pytest.raises(Rejected, match="Unknown carrier") as carrier:
        live.create_shipment(created.id, EverShopShipmentCreate(
            items=[EverShopShipmentItem(order_item_id=items[SKU_A], qty=1)], carrier="ups"))
    assert "carrier" in carrier.value.field_errors
    first = live.create_shipment(created.id, EverShopShipmentCreate(
        items=[EverShopShipmentItem(order_item_id=items[SKU_A], qty=2)], tracking_number=f"TRK-{RUN}-1"))
    assert live.create_shipment(created.id, EverShopShipmentCreate(   # a retried job: same shipment
        items=[EverShopShipmentItem(order_item_id=items[SKU_A], qty=2)], tracking_number=f"TRK-{RUN}-1")) == first
    second = live.create_shipment(created.id, EverShopLegacyShipmentCreate(carrier_name="UPS",
                                                                           tracking_number=f"TRK-{RUN}-2"))
    with pytest.raises(Conflict, match=r"fully shipped|nothing left"):
        live.create_shipment(created.id, EverShopShipmentCreate(
            items=[EverShopShipmentItem(order_item_id=items[SKU_B], qty=1)]))
    live.update_shipment(created.id, first, EverShopShipmentUpdate(tracking_number=f"TRK-{RUN}-1B"))
    live._admin("PATCH", f"/api/orders/{created.id}/shipments/{second}",  # the older route still works
                {"tracking_number": f"TRK-{RUN}-2B"}, idempotent=True)
    order = live.get_order(created.id)
    tracking = {s["uuid"]: (s["trackingNumber"], s["carrier"], s["status"]["code"]) for s in order["shipments"]}
    assert tracking == {first: (f"TRK-{RUN}-1B", "custom", "shipped"), second: (f"TRK-{RUN}-2B", "custom", "shipped")}
    assert {(i["orderItemId"], i["qty"]) for s in order["shipments"] for i in s["items"]} == {
        (items[SKU_A], 2), (items[SKU_B], 1)}
    assert (order["status"]["code"], order["shipmentStatus"]["code"]) == ("processing", "shipped")

    live.set_status(created.id, EverShopStatusPlan(capture_payment=True, deliver_shipments=[first]))
    order = live.get_order(created.id)
    assert (order["paymentStatus"]["code"], order["shipmentStatus"]["code"]) == ("paid", "partially_delivered")
    live.set_status(created.id, EverShopStatusPlan(capture_payment=True, deliver_shipments=[first, second]))
    order = live.get_order(created.id)
    assert (order["status"]["code"], order["paymentStatus"]["code"], order["shipmentStatus"]["code"]) == (
        "completed", "paid", "delivered")
    assert sum(1 for t in order["paymentTransactions"] if t["paymentAction"] == "capture") == 1
    with pytest.raises(Conflict, match="not cancelable"):
        live.cancel_order(created.id)


def test_cancel_is_checked_and_restocks_once(live: EverShopConnector, setup: StoreSetup) -> None:
    def stock() -> int | None:
        live.forget_sku(SKU_C)
        return live.resolve_sku(SKU_C).stock

    before = stock()
    assert before is not None
    created = live.create_order(plan((SKU_C, 3), tag="cancel"), ref("cancel"))
    assert stock() == before - 3
    live.cancel_order(created.id, EverShopCancel(reason=f"live test {RUN}"))
    assert stock() == before
    live.cancel_order(created.id)
    live.set_status(created.id, EverShopStatusPlan(cancel=True))
    live.delete_order(created.id)
    assert stock() == before  # restocked once, not four times
    order = live.get_order(created.id)
    assert (order["status"]["code"], order["paymentStatus"]["code"]) == ("canceled", "canceled")
    assert sum(1 for a in order["activities"] if "canceled" in (a["comment"] or "").lower()) == 1


# -- the bridge's webhooks -----------------------------------------------------------------------------------------


def test_bridge_events_reach_the_receiver(live: EverShopConnector, setup: StoreSetup,
                                          receiver: Receiver | None) -> None:
    if receiver is None:
        pytest.skip(f"127.0.0.1:{WEBHOOK_PORT} is taken; set EVERSHOP_WEBHOOK_PORT to the shop's SYNC_WEBHOOK_URL port")
    if not WEBHOOK_SECRET:
        pytest.skip("set EVERSHOP_WEBHOOK_SECRET (scripts/evershop-live.sh prints it)")
    progress: list[dict[str, Any]] = []
    created = live.create_order(plan((SKU_A, 1), tag="hooks"), ref("hooks"), on_progress=progress.append)
    item = int(live.get_order(created.id)["items"][0]["orderItemId"])
    shipment = live.create_shipment(created.id, EverShopShipmentCreate(
        items=[EverShopShipmentItem(order_item_id=item, qty=1)], tracking_number=f"HOOK-{RUN}"))
    live.set_status(created.id, EverShopStatusPlan(capture_payment=True, deliver_shipments=[shipment]))
    wanted = {"order_created", "order_placed", "order_status_updated", "shipment_created",
              "shipment_status_changed", "shipment_delivered"}
    deadline = time.monotonic() + 45
    while time.monotonic() < deadline:
        topics = {body["event"] for _, _, body in receiver.events_for(created.id)}
        if wanted <= topics:
            break
        time.sleep(0.25)
    events = receiver.events_for(created.id)
    assert wanted <= {body["event"] for _, _, body in events}, "is SYNC_WEBHOOK_URL pointing at this receiver?"
    keys = set()
    for headers, raw, body in events:
        assert webhooks.verify(headers, raw, WEBHOOK_SECRET)
        assert headers.get("X-Ordersync-Event") == body["event"]
        (event,) = webhooks.parse(raw, headers)
        assert event.order_id == created.id
        keys.add(event.event_key)
        assert body["order"]["order_number"] == created.number
        assert body["order"]["cart_uuid"] == progress[0]["cart_id"]
        if body["event"].startswith("shipment_"):
            assert body["shipment"]["uuid"] == shipment
    assert len(keys) == len(events)
    final = [body for _, _, body in events if body["event"] == "shipment_delivered"]
    assert final[0]["shipment"]["status"] == "delivered"

"""The EverShop client against the EverShop simulator, in process (``connectors.testing.ASGITransport``).

The simulator executes our GraphQL documents against its copy of EverShop's schema and reproduces
the shop's rules (cart flow, "Cart not found", derived statuses, restock on every cancel), so these
tests check the client and the simulator against each other; ``test_live_evershop.py`` checks both
against the real EverShop.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from connectors.base import ConnectionSettings, OrderReference
from connectors.errors import Conflict, NotFound, Rejected, UnknownSku
from connectors.evershop import webhooks
from connectors.evershop.client import EverShopConnector, SetupProduct, ensure_store_setup
from connectors.evershop.write import (
    EverShopAddress,
    EverShopCartItem,
    EverShopCreatePlan,
    EverShopLegacyShipmentCreate,
    EverShopShipmentCreate,
    EverShopShipmentItem,
    EverShopShipmentUpdate,
    EverShopStatusPlan,
)
from connectors.testing import ASGITransport
from simulators.evershop import Simulator

ADDRESS = EverShopAddress(full_name="Jane Buyer", address_1="1 Main St", city="San Francisco", province="US-CA",
                          country="US", postcode="94105", telephone="5551234567")


def plan(*items: tuple[str, int], email: str = "jane@example.com", **extra: Any) -> EverShopCreatePlan:
    return EverShopCreatePlan(items=[EverShopCartItem(sku=s, qty=q) for s, q in items], customer_email=email,
                              customer_full_name="Jane Buyer", shipping_address=ADDRESS, billing_address=ADDRESS,
                              **extra)


def ref(n: int, **extra: Any) -> OrderReference:
    return OrderReference(key=f"ordersync:sim:{n}", email="jane@example.com", **extra)


@pytest.fixture
def sim() -> Simulator:
    return Simulator(orders=3, seed=7, rate_limit=False)


def connect(sim: Simulator, **options: Any) -> EverShopConnector:
    settings = ConnectionSettings(store="sim", platform="evershop", base_url="http://evershop.sim",
                                  credentials=dict(sim.credentials),
                                  options={"rate_limit": {"requests": 10_000, "burst": 10_000}, "recovery_delay": 0,
                                           **options})
    return EverShopConnector(settings, transport=ASGITransport(sim, timeout=5.0))


@pytest.fixture
def connector(sim: Simulator) -> Iterator[EverShopConnector]:
    client = connect(sim)
    yield client
    client.close()


def test_seeded_orders_are_listed_and_read(connector: EverShopConnector) -> None:
    feed = connector.iter_orders(None)
    changes = list(feed)
    assert len(changes) == 3
    for change in changes:
        order = connector.get_order(change.id)
        assert order["uuid"] == change.id
        assert order["orderNumber"] == change.number
        assert order["items"]
    assert feed.cursor is not None
    assert list(connector.iter_orders(feed.cursor)) == []
    results = dict(connector.get_orders([c.id for c in changes]))
    assert all(isinstance(v, dict) for v in results.values())


def test_store_setup_create_find_and_statuses(connector: EverShopConnector, sim: Simulator) -> None:
    setup = ensure_store_setup(connector, [SetupProduct("SIM-NEW-1", "Sim product", Decimal("3.50"), 10)])
    assert "product:SIM-NEW-1" in setup.created
    assert ensure_store_setup(connector, [SetupProduct("SIM-NEW-1", "x", Decimal("1"))]).created == []
    progress: list[dict[str, Any]] = []
    created = connector.create_order(plan(("MUG-BLK", 2), ("SIM-NEW-1", 1), expected_grand_total=Decimal("30")),
                                     ref(1), on_progress=progress.append)
    assert created.raw["_ordersync"]["grand_total"] == "33.5000"  # 2 x 12.50 + 3.50 + 5 shipping
    order = connector.get_order(created.id)
    assert order["metaData"]["ordersync"]["ref"] == "ordersync:sim:1"
    assert connector.find_by_reference(ref(1, cart_id=progress[0]["cart_id"])) == created.id
    assert connector.find_by_reference(ref(1)) == created.id

    items = {i["productSku"]: int(i["orderItemId"]) for i in order["items"]}
    first = connector.create_shipment(created.id, EverShopShipmentCreate(
        items=[EverShopShipmentItem(order_item_id=items["MUG-BLK"], qty=2)], tracking_number="SIM-T1"))
    second = connector.create_shipment(created.id, EverShopLegacyShipmentCreate(carrier_name="UPS",
                                                                                tracking_number="SIM-T2"))
    connector.update_shipment(created.id, first, EverShopShipmentUpdate(tracking_number="SIM-T1B"))
    with pytest.raises(Rejected, match="Unknown carrier"):
        connector.create_shipment(created.id, EverShopShipmentCreate(
            items=[EverShopShipmentItem(order_item_id=items["SIM-NEW-1"], qty=1)], carrier="ups"))
    connector.set_status(created.id, EverShopStatusPlan(capture_payment=True, deliver_shipments=[first, second]))
    order = connector.get_order(created.id)
    assert (order["status"]["code"], order["paymentStatus"]["code"], order["shipmentStatus"]["code"]) == (
        "completed", "paid", "delivered")
    assert {s["trackingNumber"] for s in order["shipments"]} == {"SIM-T1B", "SIM-T2"}
    with pytest.raises(Conflict, match="not cancelable"):
        connector.cancel_order(created.id)


def test_cancel_restocks_once(connector: EverShopConnector) -> None:
    def stock() -> int | None:
        connector.forget_sku("CAP-01")
        return connector.resolve_sku("CAP-01").stock

    before = stock()
    assert before is not None
    created = connector.create_order(plan(("CAP-01", 3)), ref(2))
    assert stock() == before - 3
    connector.cancel_order(created.id)
    connector.cancel_order(created.id)
    connector.delete_order(created.id)
    assert stock() == before


def test_lost_place_order_answer_is_recovered(connector: EverShopConnector, sim: Simulator) -> None:
    sim.faults.inject("ghost", method="POST", path_prefix="/api/orders", count=1)
    created = connector.create_order(plan(("TEE-M", 1), email="ghost@example.com"), ref(3))
    assert created.adopted
    page = connector._orders_page([{"key": "email", "operation": "eq", "value": "ghost@example.com"}])
    assert [o["uuid"] for o in page["items"]] == [created.id]
    assert page["items"][0]["metaData"]["ordersync"]["ref"] == "ordersync:sim:3"


def test_second_checkout_of_a_cart_is_adopted(connector: EverShopConnector) -> None:
    progress: list[dict[str, Any]] = []
    first = connector.create_order(plan(("BAG-TOTE", 1)), ref(4), on_progress=progress.append)
    with pytest.raises(NotFound, match="Cart not found"):
        connector._public("POST", "/api/orders", {"cart_id": progress[0]["cart_id"]}, idempotent=False)
    again = connector.create_order(plan(("BAG-TOTE", 1)), ref(4, cart_id=progress[0]["cart_id"]))
    assert (again.id, again.adopted) == (first.id, True)


def test_without_the_bridge_filters(sim: Simulator) -> None:
    sim.bridge_filters = False
    connector = connect(sim)
    assert not connector.bridge_available()
    assert len(list(connector.iter_orders(None))) == 3
    created = connector.create_order(plan(("PEN-3", 1)), ref(5))
    assert connector.find_by_reference(ref(5)) == created.id
    with pytest.raises(UnknownSku):
        connector.resolve_sku("NOT-A-SKU")
    connector.close()


class _Receiver:
    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.received.append((dict(self.headers.items()), raw))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_simulator_webhooks_verify_and_parse(connector: EverShopConnector, sim: Simulator) -> None:
    receiver = _Receiver()
    sim.configure_webhooks(receiver.url, "sim-secret")
    created = connector.create_order(plan(("NB-A5", 1)), ref(6))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(receiver.received) < 2:
        time.sleep(0.05)
    receiver.server.shutdown()
    receiver.server.server_close()
    assert receiver.received
    for headers, raw in receiver.received:
        assert webhooks.verify(headers, raw, "sim-secret")
        (event,) = webhooks.parse(raw, headers)
        assert event.order_id == created.id
        assert event.topic in webhooks.EVENTS

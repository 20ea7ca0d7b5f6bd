"""The BigCommerce connector against the simulator, through every operation and failure."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from connectors.base import Connector, OrderReference
from connectors.bigcommerce import webhooks
from connectors.bigcommerce.client import BigCommerceConnector, SignalLimiter, open_connector
from connectors.bigcommerce.wire import BCOrderUpdate, BCShipmentUpdate
from connectors.errors import AuthFailed, NotFound, OutcomeUnknown, RateLimited, Rejected, Transient, UnknownSku
from connectors.ratelimit import BucketSpec, RateSignal
from connectors.testing import ASGITransport
from mappings.base import TargetContext
from mappings.bigcommerce import MAPPING, to_neutral
from mappings.neutral import Shipment, ShipmentLine
from simulators import FaultConfig, serve_in_thread
from simulators.bigcommerce import Simulator
from tests.connectors.bigcommerce.samples import settings

Make = Callable[..., BigCommerceConnector]
ORDERS = "/stores/simstore/v2/orders"


def references(sim: Simulator, key: str) -> list[int]:
    return [o.id for o in sim.orders.values() if o.data["external_order_id"] == key]


def new_order(connector: BigCommerceConnector, key: str, **changes: Any) -> str:
    """Mirror a seeded order back into the store with our reference (catalog SKUs, both prices)."""
    source = to_neutral(connector.get_order("105"))
    source = source.model_copy(update=changes)
    ctx = TargetContext(reference=OrderReference(key=key), catalog=connector.resolve_sku)
    return connector.create_order(MAPPING.create_payload(source, ctx), ctx.reference or OrderReference(key=key)).id


# -- reads ---------------------------------------------------------------------------------------------


def test_protocol_and_capabilities(connector: BigCommerceConnector) -> None:
    assert isinstance(connector, Connector)
    assert connector.capabilities.delete == "archive"
    assert connector.capabilities.reference_field == "external_order_id + external_source"
    assert "150" in connector.capabilities.rate_limit
    default = open_connector(settings())
    assert default.http.bucket == BucketSpec.per_window(150, 30)  # the Standard/Plus plan quota
    default.close()


def test_change_feed_pages_until_204(sim: Simulator, make_connector: Make) -> None:
    connector = make_connector(sim, page_size=5)
    feed = connector.iter_orders(None)
    with pytest.raises(RuntimeError):
        _ = feed.cursor
    changes = list(feed)
    assert sorted(int(c.id) for c in changes) == sorted(sim.orders)
    assert len({c.id for c in changes}) == len(changes) == 20
    modified = [c.updated_at for c in changes if c.updated_at is not None]
    assert len(modified) == 20
    assert modified == sorted(modified)  # date_modified ascending
    assert sim.stats.by_status[204] == 2  # live orders: 4 full pages, then 204; archived ones: 204
    cursor = feed.cursor
    assert cursor is not None
    signpost = datetime.fromisoformat(cursor["modified_since"])
    assert datetime.now(UTC) - timedelta(seconds=30) < signpost < datetime.now(UTC)


def test_change_feed_reports_archived_orders(sim: Simulator, make_connector: Make) -> None:
    """An order archived after the cursor is in the next feed, though the plain list hides it."""
    connector = make_connector(sim)
    first = connector.iter_orders(None)
    list(first)
    connector.delete_order("105")
    ids = {change.id for change in connector.iter_orders(first.cursor, lookback_seconds=60)}
    assert "105" in ids


def test_change_feed_is_incremental_with_lookback(sim: Simulator, make_connector: Make) -> None:
    connector = make_connector(sim)
    first = connector.iter_orders(None)
    list(first)
    connector.set_status("103", BCOrderUpdate(status_id=9))
    created = new_order(connector, "ordersync:src:feed")
    second = connector.iter_orders(first.cursor, lookback_seconds=60)
    ids = {change.id for change in second}
    assert ids == {"103", created}
    assert second.cursor is not None
    query = [k for k in sim.stats.by_route if k == f"GET {'/v2/orders'}"]
    assert query


def test_order_modified_during_the_read_is_not_skipped(sim: Simulator, make_connector: Make) -> None:
    order_pages = 0

    class Meddler(httpx.BaseTransport):
        """Modifies an order already read, right after the first page (as a merchant would)."""

        def __init__(self, inner: httpx.BaseTransport) -> None:
            self.inner = inner

        def handle_request(self, request: httpx.Request) -> httpx.Response:
            nonlocal order_pages
            response = self.inner.handle_request(request)
            if request.url.path == ORDERS and request.method == "GET":
                order_pages += 1
                if order_pages == 1:
                    first_id = response.json()[0]["id"]
                    order = sim.orders[first_id]
                    sim._touch(order)
            return response

    connector = make_connector(sim, page_size=4, transport=Meddler)
    changes = list(connector.iter_orders(None))
    assert {int(c.id) for c in changes} == set(sim.orders)
    assert order_pages >= 10  # a second pass, because order 1 came back with a newer date


def test_get_order_bundle_follows_the_links(sim: Simulator, make_connector: Make) -> None:
    connector = make_connector(sim, embed_sub_resources=False)
    shipped = next(o for o in sim.orders.values() if o.shipments)
    order = sim.orders[shipped.id]
    order.data["shipping_addresses"] = {"url": "https://api.bigcommerce.com/x", "resource":
                                        f"/orders/{order.id}/shippingaddresses"}  # the older spelling
    bundle = connector.get_order(str(order.id))
    assert set(bundle) == {"order", "products", "shipping_addresses", "shipments", "coupons"}
    assert len(bundle["products"]) == len(order.products)
    assert len(bundle["shipments"]) == len(order.shipments)
    assert "GET /v2/orders/{id}/shippingaddresses" in sim.stats.by_route
    n = to_neutral(bundle)
    assert n.warnings == []
    assert n.shipments
    assert n.shipping_address is not None
    unshipped = next(o for o in sim.orders.values() if not o.shipments and not o.coupons)
    bundle = connector.get_order(str(unshipped.id))
    assert bundle["shipments"] == []
    assert bundle["coupons"] == []


def test_get_orders_fans_out_and_reports_each_failure(sim: Simulator, connector: BigCommerceConnector) -> None:
    ids = ["100", "101", "99999", "102", "not-an-id"]
    results = list(connector.get_orders(ids))
    assert [order_id for order_id, _ in results] == ids
    outcome = dict(results)
    assert isinstance(outcome["99999"], NotFound)
    assert isinstance(outcome["not-an-id"], NotFound)
    for order_id in ("100", "101", "102"):
        bundle = outcome[order_id]
        assert isinstance(bundle, dict)
        assert bundle["order"]["id"] == int(order_id)


# -- failures -------------------------------------------------------------------------------------------


def test_auth_failure(sim: Simulator, make_connector: Make) -> None:
    connector = make_connector(sim, token="wrong")
    with pytest.raises(AuthFailed) as caught:
        connector.get_order("100")
    assert caught.value.status == 401
    assert "credentials" in str(caught.value)
    assert "wrong" not in str(caught.value)
    with pytest.raises(AuthFailed):
        list(connector.iter_orders(None))


def test_not_found_and_rejected(connector: BigCommerceConnector) -> None:
    with pytest.raises(NotFound) as missing:
        connector.get_order("424242")
    assert missing.value.status == 404
    assert "not found" in str(missing.value)
    with pytest.raises(Rejected) as refused:
        connector.http.send_json("POST", "/v2/orders", {"id": 5, "billing_address": {}, "products": []})
    assert refused.value.status == 400
    assert refused.value.field_errors == {"id": refused.value.message}
    assert "cannot be written to" in refused.value.message
    with pytest.raises(Rejected) as local:
        connector.create_order({"billing_address": {"zip": "12345"}, "products": [{"product_id": 1, "quantity": 1}],
                                "status": "Pending"}, OrderReference(key="ordersync:x:1"))
    assert "status" in local.value.field_errors
    with pytest.raises(Rejected) as bad_status:
        connector.set_status("100", {"status_id": 14, "custom_status": "Mine"})
    assert "custom_status" in bad_status.value.field_errors


def test_server_errors_are_retried_for_reads_and_unknown_for_writes(sim: Simulator, connector: BigCommerceConnector,
                                                                    make_connector: Make) -> None:
    sim.faults.inject("error", method="GET", path_prefix=f"{ORDERS}/100", count=1)
    assert connector.get_order("100")["order"]["id"] == 100
    assert sim.faults.injected["error"] == 1
    stubborn = make_connector(sim, max_attempts=2)
    sim.faults.inject("error", method="GET", path_prefix=f"{ORDERS}/101", count=5)
    with pytest.raises(Transient) as caught:
        stubborn.get_order("101")
    assert caught.value.status == 500
    sim.faults.clear()
    before = len(sim.orders)
    sim.faults.inject("error", method="POST", path_prefix=ORDERS, count=1)
    with pytest.raises(OutcomeUnknown):
        new_order(connector, "ordersync:src:5xx")
    assert len(sim.orders) == before  # the 500 applied nothing …
    assert connector.find_by_reference(OrderReference(key="ordersync:src:5xx")) is None  # … and a lookup says so


def test_a_429_is_waited_out_and_retried(sim: Simulator, connector: BigCommerceConnector) -> None:
    sim.faults.inject("rate_limit", method="GET", path_prefix=f"{ORDERS}/104", count=1)
    started = time.monotonic()
    assert connector.get_order("104")["order"]["id"] == 104
    assert sim.stats.by_status[429] == 1
    assert time.monotonic() - started < 5


def test_the_shared_quota_is_respected(make_connector: Make) -> None:
    sim = Simulator(orders=3, seed=1, rate_limit=(4, 1.0))
    connector = make_connector(sim)
    for _ in range(3):
        connector.http.get_json("/v2/orders/100")
    for _ in range(3):  # another app on the store uses up the window
        assert sim.window is not None
        sim.window.hit()
    started = time.monotonic()
    for _ in range(4):
        assert connector.http.get_json("/v2/orders/101")["id"] == 101
    assert time.monotonic() - started >= 0.5  # it waited for the reset instead of hammering
    assert sim.stats.by_status[429] <= 1
    assert sim.stats.by_status[200] == 7


def test_signal_limiter() -> None:
    now = [100.0]
    slept: list[float] = []
    limiter = SignalLimiter(clock=lambda: now[0], sleep=slept.append)
    spec = BucketSpec.per_window(150, 30)
    limiter.acquire("k", spec, max_wait=1)
    limiter.observe("k", spec, RateSignal(remaining=3, reset_after=9))
    limiter.acquire("k", spec, max_wait=1)
    assert slept == []
    limiter.observe("k", spec, RateSignal(remaining=0, reset_after=0.5))
    limiter.acquire("k", spec, max_wait=1)
    assert slept == [0.5]
    limiter.observe("k", spec, RateSignal(retry_after=12))
    with pytest.raises(RateLimited) as caught:
        limiter.acquire("k", spec, max_wait=10)
    assert caught.value.retry_after == pytest.approx(12)
    limiter.acquire("other", spec, max_wait=0)  # stores are independent


# -- writes ---------------------------------------------------------------------------------------------


def test_ghost_create_is_recovered_by_reference_not_duplicated(sim: Simulator, connector: BigCommerceConnector) -> None:
    key = "ordersync:src:ghost-1"
    ref = OrderReference(key=key)
    sim.faults.inject("ghost", method="POST", path_prefix=ORDERS, count=1)
    with pytest.raises(OutcomeUnknown):
        new_order(connector, key)
    assert len(references(sim, key)) == 1  # applied, answer lost
    found = connector.find_by_reference(ref)
    assert found == str(references(sim, key)[0])
    source = to_neutral(connector.get_order("105"))
    ctx = TargetContext(reference=ref, catalog=connector.resolve_sku)
    adopted = connector.create_order(MAPPING.create_payload(source, ctx), ref, check_existing=True)
    assert adopted.adopted
    assert adopted.id == found
    assert references(sim, key) == [int(found)]  # exactly one order, never a duplicate
    assert sim.faults.injected["ghost"] == 1


def test_ghost_create_that_times_out(make_connector: Make) -> None:
    sim = Simulator(orders=6, seed=2, rate_limit=False,
                    faults=FaultConfig(ghost_mode="timeout", timeout_seconds=0.6))
    connector = make_connector(sim, timeout=0.3)
    key = "ordersync:src:slow"
    sim.faults.inject("ghost", method="POST", path_prefix=ORDERS)
    with pytest.raises(OutcomeUnknown):
        new_order(connector, key)
    time.sleep(0.4)
    assert connector.find_by_reference(OrderReference(key=key)) == str(references(sim, key)[0])
    assert len(references(sim, key)) == 1


def test_create_ship_update_cancel_archive(sim: Simulator, connector: BigCommerceConnector) -> None:
    order_id = new_order(connector, "ordersync:src:life", status="processing", fulfillment_status="unfulfilled",
                         payment_status="paid", shipments=[])
    created = sim.orders[int(order_id)]
    assert created.data["external_source"] == "ordersync"
    assert created.data["status_id"] == 11
    current = to_neutral(connector.get_order(order_id))
    assert current.mirror_of == "ordersync:src:life"
    first = current.lines[0]
    shipment = Shipment(carrier="usps", tracking_number="9400100000000000000001",
                        lines=[ShipmentLine(sku=first.sku, quantity=first.quantity)])
    payload = MAPPING.shipment_payload(shipment, current, TargetContext(current=current))
    shipment_id = connector.create_shipment(order_id, payload)
    after = to_neutral(connector.get_order(order_id))
    assert after.raw_status.code == ("2" if len(after.lines) == 1 else "3")
    assert after.shipments[0].tracking_url
    assert "9400100000000000000001" in after.shipments[0].tracking_url
    assert connector.find_shipment(order_id, "9400100000000000000001") == shipment_id
    connector.update_shipment(order_id, shipment_id, BCShipmentUpdate(tracking_number="NEW1", shipping_provider="",
                                                                      tracking_link="https://t.example/NEW1"))
    assert sim.orders[int(order_id)].shipments[int(shipment_id)]["tracking_link"] == "https://t.example/NEW1"
    with pytest.raises(Rejected) as over:
        connector.create_shipment(order_id, payload)  # the same items again: more than is left to ship
    assert "greater than the quantity" in over.value.message
    done = after.model_copy(update={"status": "completed", "fulfillment_status": "delivered"})
    status = MAPPING.status_payload(done, TargetContext(current=after))
    assert status is not None
    connector.set_status(order_id, status)
    assert sim.orders[int(order_id)].data["status_id"] == 10
    connector.cancel_order(order_id)
    puts = sim.stats.by_route["PUT /v2/orders/{id}"]
    connector.cancel_order(order_id)  # already cancelled: no second PUT (no second restock)
    assert sim.stats.by_route["PUT /v2/orders/{id}"] == puts
    assert sim.orders[int(order_id)].data["status_id"] == 5
    connector.delete_order(order_id)
    assert sim.orders[int(order_id)].data["is_deleted"] is True
    listed = connector.http.get_json("/v2/orders", params={"limit": 250}) or []
    assert order_id not in {str(row["id"]) for row in listed}  # archived orders leave the plain list
    assert order_id in {c.id for c in connector.iter_orders(None)}  # ... but the change feed still sees them
    assert connector.find_by_reference(OrderReference(key="ordersync:src:life")) == order_id
    connector.delete_order(order_id)  # twice is fine
    connector.delete_order("987654")  # 404 = already gone


def test_create_shipment_fills_the_address_and_refuses_empty_items(sim: Simulator,
                                                                   connector: BigCommerceConnector) -> None:
    order = next(o for o in sim.orders.values() if not o.shipments and o.data["status_id"] == 11)
    product = order.products[0]
    shipment_id = connector.create_shipment(str(order.id), {"items": [{"order_product_id": product["id"],
                                                                       "quantity": 1}]})
    stored = order.shipments[int(shipment_id)]
    assert stored["order_address_id"] == product["order_address_id"]
    assert stored["shipping_provider"] == ""
    with pytest.raises(Rejected):
        connector.create_shipment(str(order.id), {"items": []})
    with pytest.raises(Rejected):
        connector.create_shipment(str(order.id), {"items": [{"order_product_id": 0, "quantity": 1}]})


def test_resolve_sku_and_unknown_sku(sim: Simulator, connector: BigCommerceConnector) -> None:
    tee = connector.resolve_sku("TEE-M")
    variant = sim.variants_by_sku["TEE-M"]
    assert (tee.product_id, tee.variant_id, tee.price) == (str(variant.product_id), str(variant.id), Decimal("24"))
    assert tee.options == {str(variant.option_values[0]["option_id"]): str(variant.option_values[0]["id"])}
    mug = connector.resolve_sku("MUG-BLK")
    assert mug.variant_id == str(sim.variants_by_sku["MUG-BLK"].id)
    assert mug.options == {}
    assert mug.stock == 1000
    calls = sim.stats.by_route["GET /v3/catalog/variants"]
    connector.resolve_sku("TEE-M")
    assert sim.stats.by_route["GET /v3/catalog/variants"] == calls  # cached
    with pytest.raises(UnknownSku) as caught:
        connector.resolve_sku("NOPE-404")
    assert caught.value.sku == "NOPE-404"
    n = to_neutral(connector.get_order("100"))
    n.lines[0].sku = "NOPE-404"
    ctx = TargetContext(reference=OrderReference(key="ordersync:x:sku"), catalog=connector.resolve_sku)
    body = MAPPING.create_payload(n, ctx).body()
    assert "product_id" not in body["products"][0]
    assert any("NOPE-404" in w for w in ctx.warnings)
    order_id = connector.create_order(MAPPING.create_payload(n, ctx), OrderReference(key="ordersync:x:sku")).id
    assert sim.orders[int(order_id)].products[0]["product_id"] == 0  # a custom product keeps its price


def test_webhooks_registered_and_delivered(sim: Simulator, connector: BigCommerceConnector) -> None:
    received: list[tuple[dict[str, str], bytes]] = []
    arrived = threading.Event()

    async def hook(request: Request) -> Response:
        received.append((dict(request.headers), await request.body()))
        arrived.set()
        return Response(status_code=200)

    with serve_in_thread(Starlette(routes=[Route("/hook", hook, methods=["POST"])])) as server:
        ids = connector.register_webhooks(f"{server.url}/hook", "s3cret", scopes=["store/order/*"])
        assert len(ids) == 1
        order_id = new_order(connector, "ordersync:src:hook")
        assert arrived.wait(5)
    headers, raw = received[0]
    assert webhooks.verify(headers, raw, "s3cret")
    assert not webhooks.verify(headers, raw, "other")
    [event] = webhooks.parse(raw, headers)
    assert event.topic == "store/order/created"
    assert event.order_id == order_id
    sim.webhooks.close()


def test_against_a_real_socket() -> None:
    sim = Simulator(orders=2, seed=3)
    with serve_in_thread(sim) as server:
        connector = open_connector(settings(url=f"{server.url}/stores/simstore"))
        try:
            assert connector.get_order("100")["order"]["id"] == 100
            assert len(list(connector.iter_orders(None))) == 2
        finally:
            connector.close()


def test_base_url_may_end_in_v2(sim: Simulator) -> None:
    transport = ASGITransport(sim.app)
    connector = open_connector(settings(url="http://sim/stores/simstore/v2/"), transport=transport)
    try:
        assert connector.get_order("100")["order"]["id"] == 100
    finally:
        connector.close()
        transport.close()

"""The MerchantPro connector against the simulator: every operation, paging, filters and errors."""

from __future__ import annotations

import time
from collections import Counter
from datetime import timedelta
from typing import Any

import httpx
import pytest

from connectors.base import Connector, OrderReference
from connectors.errors import (
    AuthFailed,
    ConnectorError,
    NotFound,
    OutcomeUnknown,
    RateLimited,
    Rejected,
    Transient,
    UnknownSku,
)
from connectors.merchantpro.client import DEFAULT_BUCKET, MerchantProConnector, open_connector
from connectors.merchantpro.wire import (
    MerchantProCancel,
    MerchantProShipment,
    MerchantProShipmentUpdate,
    MerchantProStatusUpdate,
)
from connectors.ratelimit import BucketSpec, TokenBucket
from mappings.base import TargetContext
from mappings.merchantpro import MAPPING
from simulators.merchantpro import Simulator, _now
from tests.connectors.merchantpro.conftest import Shop, settings

REF = OrderReference(key="ordersync:shop-a:7001")


def _source(sim: Simulator) -> Any:
    """An open source order (awaiting shipping) from the simulated shop, as neutral."""
    return MAPPING.to_neutral(next(o for o in sim.orders.values() if o["shipping_status"] == "awaiting"))


def _create(connector: MerchantProConnector, sim: Simulator, ref: OrderReference = REF) -> str:
    source = _source(sim)
    payload = MAPPING.create_payload(source, TargetContext(reference=ref, catalog=connector.resolve_sku))
    return connector.create_order(payload, ref).id


def test_is_a_connector(connector: MerchantProConnector) -> None:
    assert isinstance(connector, Connector)
    assert connector.capabilities.platform == "merchantpro"


@pytest.mark.parametrize("shop", [{"orders": 250}], indirect=True)
def test_full_read_pages_through_links_next(shop: Shop, connector: MerchantProConnector) -> None:
    feed = connector.iter_orders(None)
    ids = [change.id for change in feed]
    assert len(ids) == len(set(ids)) == 250
    assert set(ids) == set(shop.sim.orders)
    assert shop.sim.stats.by_route["GET GET /orders"] == 3  # 100 + 100 + 50
    cursor = feed.cursor
    assert cursor is not None
    assert cursor["created_high"]
    open_ids = {i for i, o in shop.sim.orders.items()
                if o["shipping_status"] not in ("delivered", "returned", "cancelled")
                or o["payment_status"] in ("awaiting", "temporary")}
    assert set(cursor["open"]) == open_ids


def test_incremental_feed(shop: Shop, connector: MerchantProConnector) -> None:
    first = connector.iter_orders(None)
    list(first)
    quiet = connector.iter_orders(first.cursor, lookback_seconds=0)
    assert [c.id for c in quiet] == []
    open_id = next(iter(first.cursor["open"]))  # type: ignore[index]
    shop.sim.touch(open_id, payment_status="paid")
    new = shop.sim.add_random_order(created=_now())
    feed = connector.iter_orders(quiet.cursor, lookback_seconds=60)
    changed = [c.id for c in feed]
    assert sorted(changed) == sorted([open_id, str(new["id"])])
    again = connector.iter_orders(feed.cursor, lookback_seconds=60)
    assert [c.id for c in again] == []  # the new order is open and unchanged now


def test_feed_never_skips_a_change_made_during_the_read(shop: Shop, connector: MerchantProConnector) -> None:
    first = connector.iter_orders(None)
    list(first)
    open_ids = list(first.cursor["open"])  # type: ignore[index]
    feed = connector.iter_orders(first.cursor)
    iterator = iter(feed)
    seen = []
    shop.sim.touch(open_ids[-1], shipping_status="in_process")  # changes while this read is running
    for change in iterator:
        seen.append(change.id)
        shop.sim.touch(open_ids[0], customer_note="changed mid-read")
    following = [c.id for c in connector.iter_orders(feed.cursor)]
    assert open_ids[-1] in seen + following
    assert open_ids[0] in seen + following


def test_feed_reports_deleted_open_orders(shop: Shop, connector: MerchantProConnector) -> None:
    first = connector.iter_orders(None)
    list(first)
    gone = next(iter(first.cursor["open"]))  # type: ignore[index]
    connector.delete_order(gone)
    changes = list(connector.iter_orders(first.cursor))
    assert any(c.id == gone and c.updated_at is None for c in changes)
    with pytest.raises(NotFound):
        connector.get_order(gone)


def test_feed_checks_the_page_offset(connector: MerchantProConnector) -> None:
    def lying(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"data": [{"id": 1}], "meta": {"count": {"total": 1, "start": 5, "current": 1,
                                                                               "limit": 100}, "links": {}}})

    bad = open_connector(settings(), transport=httpx.MockTransport(lying))
    with pytest.raises(Transient):
        list(bad.iter_orders(None))


@pytest.mark.parametrize(("params", "check"), [
    ({"payment_status": "paid"}, lambda o: o["payment_status"] == "paid"),
    ({"shipping_status": "awaiting"}, lambda o: o["shipping_status"] == "awaiting"),
    ({"payment_method_code": "cash_delivery"}, lambda o: o["payment_method_code"] == "cash_delivery"),
    ({"shipping_method_id": "3"}, lambda o: o["shipping_method_id"] == 3),
    ({"customer_id": "17"}, lambda o: o["customer_id"] == 17),
    ({"shipping_substatus_id": "21"}, lambda o: o["shipping_substatus_id"] == 21),
])
def test_list_filters(shop: Shop, connector: MerchantProConnector, params: dict[str, str], check: Any) -> None:
    rows = connector.http.get_json("/api/v2/orders", params=params)["data"]
    expected = {i for i, o in shop.sim.orders.items() if check(o)}
    assert {str(r["id"]) for r in rows} == expected


def test_more_filters_fields_include_and_sort(shop: Shop, connector: MerchantProConnector) -> None:
    orders = list(shop.sim.orders.values())
    some = [str(o["id"]) for o in orders[:3]]
    rows = connector.http.get_json("/api/v2/orders", params={"ids": ",".join(some), "fields": "id,total_amount"})
    assert sorted(str(r["id"]) for r in rows["data"]) == sorted(some)
    assert all(set(r) == {"id", "total_amount"} for r in rows["data"])
    one = orders[1]
    assert [r["id"] for r in connector.http.get_json("/api/v2/orders", params={"id": str(one["id"])})["data"]] == [
        one["id"]]
    shipped = next(o for o in orders if o["shipping_awb"])
    by_awb = connector.http.get_json("/api/v2/orders", params={"shipping_awb": shipped["shipping_awb"]})["data"]
    assert [r["id"] for r in by_awb] == [shipped["id"]]
    email = orders[0]["customer_email"]
    by_email = connector.http.get_json("/api/v2/orders", params={"customer_email": email})["data"]
    assert {r["customer_email"] for r in by_email} == {email}
    assert "line_items" not in by_email[0]
    assert "Info_url" in by_email[0]
    with_lines = connector.http.get_json("/api/v2/orders", params={"include": "line_items", "limit": 2})
    assert all(r["line_items"] for r in with_lines["data"])
    assert with_lines["meta"]["count"]["limit"] == 2
    assert with_lines["meta"]["links"]["next"].startswith("/api/v2/orders?")
    asc = connector.http.get_json("/api/v2/orders", params={"sort": "date_created"})["data"]
    desc = connector.http.get_json("/api/v2/orders", params={"sort": "date_created.desc"})["data"]
    assert [r["id"] for r in asc] == [r["id"] for r in reversed(desc)]
    middle = sorted(orders, key=lambda o: o["date_created"])[len(orders) // 2]["date_created"][:10]
    after = connector.http.get_json("/api/v2/orders", params={"created_after": middle})["data"]
    before = connector.http.get_json("/api/v2/orders", params={"created_before": middle})["data"]
    assert len(after) + len(before) == len(orders)
    assert after
    assert connector.http.get_json("/api/v2/orders", params={"limit": 100})["meta"]["count"]["limit"] == 100
    created = _create(connector, shop.sim)
    tag_id = shop.sim.orders[created]["tags"][0]["id"]
    assert [r["id"] for r in connector.http.get_json("/api/v2/orders", params={"tag_name": REF.key})["data"]] == [
        int(created)]
    assert [r["id"] for r in connector.http.get_json("/api/v2/orders", params={"tag_ids": str(tag_id)})["data"]] == [
        int(created)]


def test_unknown_filter_is_the_real_400(connector: MerchantProConnector) -> None:
    with pytest.raises(Rejected) as caught:
        connector.http.get_json("/api/v2/orders", params={"date_modified[gte]": "2026-01-01"})
    assert caught.value.status == 400
    assert "No such filter" in str(caught.value)
    assert caught.value.field_errors["filter"].startswith("No such filter")


def test_get_orders_fans_out_and_reports_missing(shop: Shop, connector: MerchantProConnector) -> None:
    ids = [*list(shop.sim.orders)[:4], "404404"]
    results = dict(connector.get_orders(ids))
    assert all(isinstance(results[i], dict) and results[i]["line_items"] for i in ids[:4])  # type: ignore[index]
    assert isinstance(results["404404"], NotFound)


def test_create_find_status_shipment_cancel_delete(shop: Shop, connector: MerchantProConnector) -> None:
    sim = shop.sim
    order_id = _create(connector, sim)
    assert connector.find_by_reference(REF) == order_id
    assert connector.find_by_reference(OrderReference(key="ordersync:shop-a:none")) is None
    created = MAPPING.to_neutral(connector.get_order(order_id))
    assert created.mirror_of == REF.key
    connector.set_status(order_id, MerchantProStatusUpdate(payment_status="paid", transition="in_process"))
    assert (sim.orders[order_id]["payment_status"], sim.orders[order_id]["shipping_status"]) == ("paid", "in_process")
    shipment_id = connector.create_shipment(order_id, MerchantProShipment(shipping_awb="AWB123",
                                                                          shipping_carrier_id="5"))
    assert shipment_id == "awb:AWB123"
    shipped = MAPPING.to_neutral(connector.get_order(order_id))
    assert shipped.fulfillment_status == "shipped"
    assert shipped.shipments[0].source_shipment_id == shipment_id
    connector.update_shipment(order_id, shipment_id, MerchantProShipmentUpdate(shipping_awb="AWB124"))
    assert sim.orders[order_id]["shipping_awb"] == "AWB124"
    connector.cancel_order(order_id, MerchantProCancel(payment_status="refunded"))
    assert (sim.orders[order_id]["shipping_status"], sim.orders[order_id]["payment_status"]) == (
        "cancelled", "refunded")
    before = sim.stats.total
    connector.cancel_order(order_id)  # already cancelled: a read, no write
    assert sim.stats.total == before + 1
    with pytest.raises(Rejected):
        connector.set_status(order_id, MerchantProStatusUpdate(transition="shipped"))
    connector.delete_order(order_id)
    connector.delete_order(order_id)  # 404 = already gone
    assert order_id not in sim.orders


def test_resolve_sku(shop: Shop, connector: MerchantProConnector) -> None:
    variant = connector.resolve_sku("TEE-M")
    assert variant.variant_id is not None
    assert variant.product_id
    assert variant.options == {"27884": "M"}
    simple = connector.resolve_sku("MUG-BLK")
    assert simple.variant_id is None
    assert simple.stock is None
    calls = shop.sim.stats.total
    assert connector.resolve_sku("TEE-M") == variant
    assert shop.sim.stats.total == calls  # cached
    with pytest.raises(UnknownSku):
        connector.resolve_sku("NOPE-1")


def test_create_with_unknown_product_is_rejected(connector: MerchantProConnector, shop: Shop) -> None:
    source = _source(shop.sim)
    payload = MAPPING.create_payload(source, TargetContext(reference=REF))  # offline: no product ids
    with pytest.raises(Rejected) as caught:
        connector.create_order(payload, REF)
    assert "product_id" in str(caught.value)


def test_ghost_create_is_adopted_by_reference(shop: Shop, connector: MerchantProConnector) -> None:
    sim = shop.sim
    source = _source(sim)
    payload = MAPPING.create_payload(source, TargetContext(reference=REF, catalog=connector.resolve_sku))
    sim.faults.inject("ghost", method="POST", path_prefix="/api/v2/orders")
    created = connector.create_order(payload, REF)
    assert created.adopted
    tagged = [i for i, o in sim.orders.items() if any(t["name"] == REF.key for t in o["tags"] or ())]
    assert tagged == [created.id]
    assert sim.faults.injected == {"ghost": 1}


def test_lost_create_not_found_is_outcome_unknown(shop: Shop, connector: MerchantProConnector) -> None:
    source = _source(shop.sim)
    payload = MAPPING.create_payload(source, TargetContext(reference=REF, catalog=connector.resolve_sku))
    shop.sim.faults.inject("error", method="POST", path_prefix="/api/v2/orders")  # 500, nothing applied
    count = len(shop.sim.orders)
    with pytest.raises(OutcomeUnknown):
        connector.create_order(payload, REF)
    assert len(shop.sim.orders) == count  # never retried blindly


def test_server_errors_are_retried_for_reads(shop: Shop, connector: MerchantProConnector) -> None:
    order_id = next(iter(shop.sim.orders))
    shop.sim.faults.inject("error", method="GET", path_prefix="/api/v2/orders/", count=1)
    assert connector.get_order(order_id)["id"] == int(order_id)
    connector.http.backoff = 0.0
    shop.sim.faults.inject("error", method="GET", path_prefix="/api/v2/orders/", count=10)
    with pytest.raises(Transient) as caught:
        connector.get_order(order_id)
    assert caught.value.status == 500


def test_429_then_success_honours_retry_after(shop: Shop) -> None:
    slept: list[float] = []
    clock = [0.0]

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds

    connector = shop.connect(limiter=TokenBucket(clock=lambda: clock[0], sleep=sleep))
    order_id = next(iter(shop.sim.orders))
    shop.sim.faults.inject("rate_limit", method="GET", count=1)
    assert connector.get_order(order_id)["id"] == int(order_id)
    assert shop.sim.stats.by_status[429] == 1
    assert slept
    assert slept[0] >= 1.0


@pytest.mark.parametrize("shop", [{"rate_limit": True}], indirect=True)
def test_real_budget_answers_429_with_retry_after(shop: Shop) -> None:
    connector = shop.connect()
    connector.http.max_attempts = 1
    connector.http.bucket = BucketSpec(rate=100.0, burst=100.0)  # as if another app used the shared budget
    order_id = next(iter(shop.sim.orders))
    for _ in range(4):
        connector.get_order(order_id)
    with pytest.raises(RateLimited) as caught:
        connector.get_order(order_id)
    assert caught.value.retry_after >= 1
    assert shop.sim.stats.by_status[200] == 4


def test_auth_failure_and_lockout(shop: Shop) -> None:
    bad = shop.connect(api_secret="wrong")
    for _ in range(4):
        with pytest.raises(AuthFailed) as caught:
            bad.get_order("1")
        assert not caught.value.locked_out
        assert caught.value.status == 401
        assert "wrong" not in str(caught.value)
    with pytest.raises(AuthFailed) as caught:
        bad.get_order("1")
    assert caught.value.locked_out
    assert caught.value.status == 403
    sent = shop.sim.stats.total
    with pytest.raises(AuthFailed) as caught:
        bad.get_order("1")
    assert caught.value.locked_out
    assert shop.sim.stats.total == sent
    good = shop.connect()
    with pytest.raises(AuthFailed) as caught:
        good.get_order(next(iter(shop.sim.orders)))
    assert caught.value.locked_out  # the shop locks the API, not only the bad client
    shop.sim._locked_until = time.monotonic() - 1  # the shop's lock ran out
    assert shop.connect().get_order(next(iter(shop.sim.orders)))


def test_redirect_is_a_clear_configuration_error() -> None:
    def moved(request: httpx.Request) -> httpx.Response:
        return httpx.Response(301, headers={"Location": "https://www.shop.ro/api/v2/orders/1"})

    connector = open_connector(settings(), transport=httpx.MockTransport(moved))
    with pytest.raises(ConnectorError) as caught:
        connector.get_order("1")
    assert "base_url" in str(caught.value)
    assert caught.value.status == 301


def test_credentials_are_never_in_errors(shop: Shop) -> None:
    connector = shop.connect(api_key="visible-key-123", api_secret="secret-xyz")
    with pytest.raises(AuthFailed) as caught:
        connector.get_order("1")
    assert "secret-xyz" not in str(caught.value)
    assert "visible-key-123" not in str(caught.value)
    assert "secret-xyz" not in repr(connector.settings)


def test_created_after_window_uses_lookback(shop: Shop, connector: MerchantProConnector) -> None:
    first = connector.iter_orders(None)
    list(first)
    high = first.cursor["created_high"]  # type: ignore[index]
    late = shop.sim.add_random_order(created=_now() - timedelta(days=400))  # back-dated: outside the window
    changes = [c.id for c in connector.iter_orders(first.cursor)]
    assert str(late["id"]) not in changes or late["shipping_status"] not in ("delivered", "cancelled", "returned")
    assert high


def test_a_corrupt_cursor_is_an_invalid_payload(connector: MerchantProConnector) -> None:
    from connectors.errors import InvalidPayload

    with pytest.raises(InvalidPayload):
        list(connector.iter_orders({"v": 1, "created_high": "not a time", "open": {}}))


@pytest.mark.parametrize("offset", [0.0, 0.37, 0.99, 30.5, 59.9])
def test_default_bucket_stays_inside_both_windows(offset: float) -> None:
    """4 req/s and 80/min are fixed windows: the default bucket never puts more in one, at any alignment."""
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    bucket = TokenBucket(clock=lambda: now[0], sleep=sleep)
    sent: list[float] = []
    for _ in range(400):
        bucket.acquire("mp", DEFAULT_BUCKET, max_wait=3600.0)
        sent.append(now[0] + offset)
    per_second = Counter(int(t) for t in sent)
    per_minute = Counter(int(t // 60) for t in sent)
    assert max(per_second.values()) <= 4
    assert max(per_minute.values()) <= 80
    assert sent[-1] - sent[0] < 400 / (76 / 60)  # and the budget is used, not wasted

"""The CS-Cart connector against the simulator, through every operation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from connectors.base import Connector, OrderReference
from connectors.cscart.client import CsCartConnector, classify
from connectors.cscart.wire import CsCartOrderCreate, CsCartShipmentUpdate, CsCartStatusUpdate
from connectors.errors import AuthFailed, NotFound, OutcomeUnknown, RateLimited, Rejected, Transient, UnknownSku
from mappings.base import TargetContext
from mappings.cscart import MAPPING, status_table_from_statuses, to_neutral
from mappings.neutral import NeutralOrder, Shipment, ShipmentLine
from simulators import serve_in_thread
from simulators.cscart import Simulator

from .conftest import Clock

Connect = Callable[..., CsCartConnector]


def _ids(connector: CsCartConnector, since: Any = None, **kwargs: Any) -> tuple[list[str], Any]:
    feed = connector.iter_orders(since, **kwargs)
    ids = [change.id for change in feed]
    return ids, feed.cursor


def _source_order(connector: CsCartConnector, order_id: str) -> NeutralOrder:
    return to_neutral(connector.get_order(order_id), store="src", currency="USD")


def _create(connector: CsCartConnector, order: NeutralOrder, key: str = "ordersync:src:1",
            **options: Any) -> tuple[CsCartOrderCreate, OrderReference]:
    ref = OrderReference(key=key, email=order.customer.email, placed_after=datetime.fromtimestamp(1_795_000_000, UTC))
    ctx = TargetContext(reference=ref, catalog=connector.resolve_sku,
                        options={"payment_id": "2", "shipping_id": "1", **options})
    return MAPPING.create_payload(order, ctx), ref


def test_implements_the_protocol(connector: CsCartConnector) -> None:
    assert isinstance(connector, Connector)
    assert connector.capabilities.webhooks == "none"
    assert connector.capabilities.reprices_from_catalog is True
    assert connector.capabilities.total_correction is True


# -- reading ------------------------------------------------------------------------------------


def test_first_read_pages_through_every_order(sim: Simulator, connector: CsCartConnector) -> None:
    ids, cursor = _ids(connector)
    assert sorted(ids, key=int) == sorted((str(i) for i in sim.orders), key=int)
    assert len(ids) == len(set(ids)) == 23
    assert ids == sorted(ids, key=int)  # order_id ascending: stable paging
    assert sim.stats.by_route["GET /orders"] >= 5 + 1  # 5 pages of 5 and the probe
    assert cursor["mode"] == "updated_at"
    assert cursor["updated_at"] <= 1_795_000_000


def test_incremental_read_sees_changes_and_the_overlap(sim: Simulator, connector: CsCartConnector,
                                                       clock: Clock) -> None:
    _, cursor = _ids(connector)
    clock.tick(3600)
    assert _ids(connector, cursor)[0] == []
    sim.merchant_set_status(4, "C" if sim.orders[4].columns["status"] != "C" else "P")
    clock.tick(10)
    ids, cursor2 = _ids(connector, cursor)
    assert ids == ["4"]
    assert cursor2["updated_at"] == int(clock.now)
    clock.tick(60)
    assert _ids(connector, cursor2)[0] == ["4"]  # inside the lookback window: read again (dedupe later)
    assert _ids(connector, cursor2, lookback_seconds=0)[0] == []


def test_an_order_changed_while_paging_is_read_next_time(sim: Simulator, connect: Connect, clock: Clock) -> None:
    connector = connect(sim, updated_at_filter="true")
    _, cursor = _ids(connector)
    clock.tick(3600)
    sim.merchant_set_status(2, "I")
    clock.tick(5)
    feed = connector.iter_orders(cursor, lookback_seconds=0)
    seen: list[str] = []
    for change in feed:
        seen.append(change.id)
        clock.tick(1)
        if len(seen) == 1:
            sim.merchant_set_status(1, "I")  # changed after the read began
    assert seen == ["2"]
    assert feed.cursor is not None
    clock.tick(5)
    assert _ids(connector, feed.cursor, lookback_seconds=0)[0] == ["1"]


def test_a_deletion_while_paging_does_not_skip_orders(sim: Simulator, connect: Connect) -> None:
    connector = connect(sim, updated_at_filter="true")
    feed = connector.iter_orders(None)
    seen: list[str] = []
    for change in feed:
        seen.append(change.id)
        if len(seen) == 3:
            del sim.orders[1]  # shifts every later row one place back
    assert set(seen) >= {str(i) for i in sim.orders}


def test_old_store_falls_back_to_creation_windows_and_rereads_open_orders(make_sim: Callable[..., Simulator],
                                                                          connect: Connect, clock: Clock) -> None:
    sim = make_sim(orders=12, seed=3, version="4.3")
    connector = connect(sim)
    assert connector.supports_updated_filter() is False
    ids, cursor = _ids(connector)
    assert sorted(ids, key=int) == sorted((str(i) for i in sim.orders), key=int)
    assert cursor["mode"] == "created"
    open_ids = {str(i) for i, o in sim.orders.items() if o.columns["status"] not in ("C", "I", "F", "D")}
    assert set(cursor["watch"]) == open_ids
    clock.tick(600)
    assert _ids(connector, cursor)[0] == []
    watched = sorted(open_ids, key=int)[0]
    sim.merchant_set_status(watched, "C")
    done = next(str(i) for i, o in sim.orders.items() if o.columns["status"] == "C" and str(i) != watched)
    sim.merchant_set_status(done, "P")  # a final order reopened: not watched, CS-Cart < 4.13 cannot tell
    pending = _source_order(connector, watched).model_copy(update={"status": "pending", "payment_status": "unpaid"})
    new = connector.create_order(*_create(connector, pending))
    clock.tick(60)
    ids, cursor2 = _ids(connector, cursor)
    assert ids == [new.id, watched]
    assert watched not in cursor2["watch"]
    assert new.id in cursor2["watch"]


def test_each_list_filter(sim: Simulator, connector: CsCartConnector, clock: Clock) -> None:
    def ids(**params: Any) -> list[str]:
        data = connector.http.get_json("/orders", params={"items_per_page": 100, **params})
        assert isinstance(data["params"]["total_items"], str)
        return [row["order_id"] for row in data["orders"]]

    orders = sim.orders
    status = orders[1].columns["status"]
    assert set(ids(status=status)) == {str(i) for i, o in orders.items() if o.columns["status"] == status}
    both = connector.http._client.get("/orders", params=[("status[]", "C"), ("status[]", "I"),
                                                         ("items_per_page", 100)]).json()
    assert {row["status"] for row in both["orders"]} <= {"C", "I"}
    email = orders[5].columns["email"]
    assert ids(email=email.split("@")[0]) == ["5"]  # a substring match, like CS-Cart's LIKE
    assert sorted(ids(order_id="3,9,11"), key=int) == ["3", "9", "11"]
    assert ids(user_id="3") == []
    assert len(ids(company_id="1")) == 23
    assert ids(company_id="2") == []
    total = Decimal(orders[6].columns["total"])
    assert "6" in ids(total_from=str(total), total_to=str(total))
    assert all(Decimal(orders[int(i)].columns["total"]) >= 100 for i in ids(total_from="100"))
    created = int(orders[8].columns["timestamp"])
    assert ids(period="C", time_from=created, time_to=created) == ["8"]
    updated = int(orders[8].columns["updated_at"])
    assert "8" in ids(updated_at_from=updated, updated_at_to=updated)
    assert ids(updated_at_from=int(clock.now) + 1) == []
    rows = connector.http.get_json("/orders", params={"get_orders_data": 1, "items_per_page": 2})["orders"]
    assert "products" in rows[0]
    assert "taxes" in rows[0]
    by_total = ids(sort_by="total", sort_order="asc")
    assert [Decimal(orders[int(i)].columns["total"]) for i in by_total] == sorted(
        Decimal(o.columns["total"]) for o in orders.values())
    by_date = connector.http.get_json("/orders", params={"sort_by": "updated_at", "items_per_page": 3})
    assert by_date["params"]["sort_by"] == "date"  # cannot sort by updated_at
    last = connector.http.get_json("/orders", params={"page": 99, "items_per_page": 10})
    assert last["params"]["page"] == 3  # out-of-range pages are clamped to the last one
    sim.orders[2].columns["status"] = "N"
    sim.orders[3].columns.update(is_parent_order="Y", status="T")
    assert not {"2", "3"} & set(ids())


def test_get_order_bundle_with_shipments(sim: Simulator, connector: CsCartConnector) -> None:
    with_shipments = next(o.order_id for o in sim.orders.values()
                          if any(s["order_id"] == o.order_id for s in sim.shipments.values()))
    bundle = connector.get_order(str(with_shipments))
    assert bundle["order"]["order_id"] == str(with_shipments)
    assert bundle["shipments"]
    assert all(s["order_id"] == str(with_shipments) for s in bundle["shipments"])
    order = to_neutral(bundle, currency="USD")
    assert order.shipments
    assert order.fulfillment_status in ("shipped", "partially_shipped")
    without = next(o.order_id for o in sim.orders.values()
                   if not any(s["order_id"] == o.order_id for s in sim.shipments.values()))
    before = sim.stats.by_route.get("GET /shipments", 0)
    assert connector.get_order(str(without))["shipments"] == []
    assert sim.stats.by_route.get("GET /shipments", 0) == before  # no shipment_ids: no extra call
    results = dict(connector.get_orders(["1", "2", "999"]))
    assert results["1"]["order"]["order_id"] == "1"  # type: ignore[index]
    assert isinstance(results["999"], NotFound)
    configured = connector.__class__(connector.settings.model_copy(update={"options": {"currency": "eur"}}),
                                     transport=connector.http._client._transport)
    assert configured.get_order("1")["currency"] == "EUR"


# -- writing ------------------------------------------------------------------------------------


def test_create_then_total_correction_then_status(sim: Simulator, connector: CsCartConnector) -> None:
    source = _source_order(connector, "1").model_copy(update={"status": "processing", "payment_status": "paid"})
    source = source.model_copy(update={"totals": source.totals.model_copy(update={"grand_total": Decimal("123.45")})})
    payload, ref = _create(connector, source)
    progress: list[dict[str, Any]] = []
    created = connector.create_order(payload, ref, on_progress=progress.append)
    assert progress == [{"order_id": created.id}]
    assert created.adopted is False
    assert created.raw["total_corrected"]["to"] == "123.45"
    order = sim.orders[int(created.id)]
    assert order.columns["total"] == "123.45"
    assert order.columns["status"] == "P"
    assert "[ordersync:src:1]" in order.columns["details"]
    writes = [(m, p.replace("/api", ""), b) for m, p, b in sim.requests_log if m in ("POST", "PUT")]
    assert writes[-3:] == [("POST", "/orders", payload.body()),
                           ("PUT", f"/orders/{created.id}", {"total": "123.45"}),
                           ("PUT", f"/orders/{created.id}", {"status": "P"})]
    mirrored = to_neutral(connector.get_order(created.id), currency="USD")
    assert mirrored.mirror_of == "ordersync:src:1"
    assert mirrored.totals.grand_total == Decimal("123.45")
    assert [line.sku for line in mirrored.lines] == [line.sku for line in source.lines]


def test_create_repriced_to_the_same_total_skips_the_correction(sim: Simulator, connector: CsCartConnector) -> None:
    source = _source_order(connector, "2").model_copy(update={"status": "pending", "payment_status": "unpaid"})
    payload, ref = _create(connector, source)
    created = connector.create_order(payload.model_copy(update={"total_override": None}), ref)
    total = Decimal(sim.orders[int(created.id)].columns["total"])
    payload2, ref2 = _create(connector, source.model_copy(update={"totals": source.totals.model_copy(
        update={"grand_total": total})}), key="ordersync:src:2b")
    before = len(sim.requests_log)
    created2 = connector.create_order(payload2, ref2)
    assert "total_corrected" not in created2.raw
    assert [m for m, _, _ in sim.requests_log[before:]] == ["POST"]  # no PUT total, status stays O


def test_create_through_the_stores_path_and_api_2_0(sim: Simulator, connect: Connect) -> None:
    connector = connect(sim, company_id=1, api_prefix="/api/2.0")
    payload, ref = _create(connector, _source_order(connector, "1"))
    created = connector.create_order(payload, ref)
    post = next(p for m, p, _ in sim.requests_log if m == "POST")
    assert post == "/api/2.0/stores/1/orders"
    assert created.id in {str(i) for i in sim.orders}


def test_offline_payload_keyed_by_sku_is_resolved_by_the_connector(sim: Simulator,
                                                                  connector: CsCartConnector) -> None:
    source = _source_order(connector, "3")
    ctx = TargetContext(reference=OrderReference(key="ordersync:src:3"),
                        options={"payment_id": "2", "shipping_id": "1"})
    payload = MAPPING.create_payload(source, ctx)
    assert all(line.product_id is None for line in payload.products.values())
    created = connector.create_order(payload, ctx.reference)  # type: ignore[arg-type]
    skus = sorted(line.sku or "" for line in to_neutral(connector.get_order(created.id), currency="USD").lines)
    assert skus == sorted(line.sku or "" for line in source.lines)


def test_ghost_write_on_create_is_adopted_by_reference(sim: Simulator, connector: CsCartConnector) -> None:
    source = _source_order(connector, "5")
    payload, ref = _create(connector, source, key="ordersync:src:ghost")
    before = len(sim.orders)
    sim.faults.inject("ghost", method="POST", path_prefix="/api/orders")
    created = connector.create_order(payload, ref)
    assert created.adopted is True
    assert len(sim.orders) == before + 1
    marked = [o for o in sim.orders.values() if "[ordersync:src:ghost]" in o.columns["details"]]
    assert [str(o.order_id) for o in marked] == [created.id]
    assert connector.find_by_reference(ref) == created.id
    assert marked[0].columns["total"] == format(source.totals.grand_total, "f")  # follow-ups still applied


def test_lost_create_answer_then_engine_lookup_finds_exactly_one(make_sim: Callable[..., Simulator],
                                                                 connect: Connect) -> None:
    from simulators import FaultConfig

    sim = make_sim(orders=6, seed=2, faults=FaultConfig(ghost_mode="timeout", timeout_seconds=0.6))
    connector = connect(sim, timeout=0.3)
    source = _source_order(connector, "1")
    payload, ref = _create(connector, source, key="ordersync:src:slow")
    sim.faults.inject("ghost", method="POST", path_prefix="/api/orders")
    orders_before = len(sim.orders)
    try:
        created = connector.create_order(payload, ref)
    except OutcomeUnknown:
        found = connector.find_by_reference(ref)
    else:
        found = created.id
    assert found is not None
    assert len(sim.orders) == orders_before + 1
    assert sum("[ordersync:src:slow]" in o.columns["details"] for o in sim.orders.values()) == 1


def test_find_by_reference_misses_cleanly(connector: CsCartConnector) -> None:
    assert connector.find_by_reference(OrderReference(key="ordersync:nope:1", email="nobody@example.com")) is None
    assert connector.find_by_reference(OrderReference(key="ordersync:nope:1")) is None


def test_set_status_cancel_and_delete(sim: Simulator, connector: CsCartConnector) -> None:
    connector.set_status("1", CsCartStatusUpdate(status="B"))
    assert sim.orders[1].columns["status"] == "B"
    stock = sim.products[sim.orders[1].lines[next(iter(sim.orders[1].lines))]["product_id"]].amount
    connector.cancel_order("1")
    assert sim.orders[1].columns["status"] == "I"
    puts = sum(1 for m, _, _ in sim.requests_log if m == "PUT")
    connector.cancel_order("1")  # already cancelled: read, no second PUT, no second restock
    assert sum(1 for m, _, _ in sim.requests_log if m == "PUT") == puts
    assert sim.products[sim.orders[1].lines[next(iter(sim.orders[1].lines))]["product_id"]].amount > stock
    connector.delete_order("1")
    assert 1 not in sim.orders
    connector.delete_order("1")  # gone already: fine
    with pytest.raises(NotFound):
        connector.get_order("1")


def test_status_only_put_does_not_recalculate_but_other_fields_do(sim: Simulator,
                                                                  connector: CsCartConnector) -> None:
    order = sim.orders[2]
    connector.http.request("PUT", "/orders/2", json={"total": "1.00"})
    assert order.columns["total"] == "1.00"
    connector.set_status("2", CsCartStatusUpdate(status="P"))
    assert order.columns["total"] == "1.00"  # fast path: the forced total survives
    connector.set_status("2", CsCartStatusUpdate(status="C", notify_user="Y"))  # 4.13: still the fast path
    assert order.columns["total"] == "1.00"
    connector.http.request("PUT", "/orders/2", json={"details": "re-checked"})
    assert order.columns["total"] != "1.00"  # anything else recalculates from the catalog


def test_notify_flags_leave_the_fast_path_on_4_14(make_sim: Callable[..., Simulator], connect: Connect) -> None:
    sim = make_sim(orders=2, seed=1, version="4.14.1")
    connector = connect(sim)
    connector.http.request("PUT", "/orders/1", json={"total": "2.00"})
    connector.set_status("1", CsCartStatusUpdate(status="P", notify_user="Y"))
    assert sim.orders[1].columns["total"] != "2.00"


def test_shipments_create_update_and_read_back(sim: Simulator, connector: CsCartConnector) -> None:
    source = _source_order(connector, "7")
    payload, ref = _create(connector, source, key="ordersync:src:7")
    created = connector.create_order(payload, ref)
    target = to_neutral(connector.get_order(created.id), currency="USD")
    first = source.lines[0]
    shipment = Shipment(carrier="UPS", tracking_number="1ZTEST", lines=[
        ShipmentLine(source_line_id=first.source_line_id, sku=first.sku, quantity=first.quantity + 5)])
    create = MAPPING.shipment_payload(shipment, source, TargetContext(current=target))
    shipment_id = connector.create_shipment(created.id, create)
    stored = sim.shipments[int(shipment_id)]
    assert stored["products"] == {target.lines[0].source_line_id: first.quantity}  # capped at what is left
    assert stored["carrier"] == "ups"
    again = to_neutral(connector.get_order(created.id), currency="USD")
    assert again.shipments[0].tracking_number == "1ZTEST"
    assert again.shipments[0].tracking_url
    assert "1ZTEST" in again.shipments[0].tracking_url
    assert again.lines[0].quantity_shipped == first.quantity
    if len(source.lines) == 1:
        connector.update_shipment(created.id, shipment_id, CsCartShipmentUpdate(tracking_number="1ZNEW"))
        assert sim.shipments[int(shipment_id)]["tracking_number"] == "1ZNEW"
    else:
        with pytest.raises(Rejected, match="every product"):
            connector.update_shipment(created.id, shipment_id, CsCartShipmentUpdate(tracking_number="1ZNEW"))
    with pytest.raises(Rejected):
        connector.http.request("POST", "/shipments", json={"order_id": created.id, "shipping_id": "1"})
    full = connector.create_shipment(str(created.id), {"shipping_id": "1", "carrier": "usps", "order_status": "C"})
    assert sim.orders[int(created.id)].columns["status"] == "C"
    assert sum(sim.shipments[int(full)]["products"].values()) == sum(
        line.quantity for line in source.lines) - first.quantity


def test_ghost_write_on_a_shipment_is_found_by_tracking(sim: Simulator, connector: CsCartConnector) -> None:
    order_id = next(str(o.order_id) for o in sim.orders.values()
                    if not any(s["order_id"] == o.order_id for s in sim.shipments.values()))
    sim.faults.inject("ghost", method="POST", path_prefix="/api/shipments")
    shipment_id = connector.create_shipment(order_id, {"shipping_id": "1", "tracking_number": "TRK1",
                                                       "carrier": "dhl"})
    assert sim.shipments[int(shipment_id)]["tracking_number"] == "TRK1"
    assert len([s for s in sim.shipments.values() if s["order_id"] == int(order_id)]) == 1


def test_resolve_sku(sim: Simulator, connector: CsCartConnector) -> None:
    mug = connector.resolve_sku("MUG-BLK")
    assert mug.options == {}
    assert mug.price == Decimal("12.50")
    tee = connector.resolve_sku("TEE-M")
    assert tee.product_id == sim.product_by_code("TEE-M")[0].product_id  # type: ignore[index]
    assert tee.options == {"3": "12"}
    assert connector.resolve_sku("BTL-750").price == Decimal("31.50")  # this store's own price
    calls = sim.stats.by_route["GET /products"]
    connector.resolve_sku("MUG-BLK")
    assert sim.stats.by_route["GET /products"] == calls  # cached
    with pytest.raises(UnknownSku):
        connector.resolve_sku("NOPE-1")
    with pytest.raises(UnknownSku):
        connector.resolve_sku("MUG")  # pcode is a substring search; only exact codes count


def test_same_product_and_options_collapse_into_one_line(sim: Simulator, connector: CsCartConnector) -> None:
    tee = connector.resolve_sku("TEE-S")
    body = {"user_id": "3", "payment_id": "2", "shipping_id": "1", "products": {
        "1": {"product_id": tee.product_id, "amount": "1", "product_options": tee.options},
        "2": {"product_id": tee.product_id, "amount": "2", "product_options": tee.options},
        "3": {"product_id": tee.product_id, "amount": "", "product_options": {"3": "13"}},
    }}
    answer = connector.http.request("POST", "/orders", json=body).json()
    order = answer["order_data"]
    [(item_id, line)] = order["products"].items()
    assert line["amount"] == "3"
    assert line["product_code"] == "TEE-S"
    assert item_id == line["item_id"]
    assert order["status"] == "O"


def test_statuses(connector: CsCartConnector) -> None:
    statuses = connector.load_statuses()
    assert "Z" in [s.status for s in statuses]
    table = status_table_from_statuses(statuses)
    assert str(table.inbound_for("order", "Z")) == "on_hold/paid/unfulfilled"
    assert table.label("order", "Z") == "Awaiting pickup"


# -- errors -------------------------------------------------------------------------------------


def test_error_classes(sim: Simulator, connector: CsCartConnector) -> None:
    with pytest.raises(Rejected) as missing:
        connector.http.request("POST", "/orders", json={"user_id": "3", "shipping_id": "1",
                                                        "products": {"1": {"product_id": "101", "amount": 1}}})
    assert missing.value.field_errors == {"payment_id": "required"}
    assert "The payment_id field is required" in str(missing.value)
    source = _source_order(connector, "1")
    assert source.shipping_address is not None
    abroad = source.model_copy(update={"shipping_address": source.shipping_address.model_copy(
        update={"country_code": "FR", "region_code": None, "region": None})})
    payload, ref = _create(connector, abroad)
    with pytest.raises(Rejected, match="No shipping methods are available") as refused:
        connector.create_order(payload, ref)
    assert refused.value.status == 403
    with pytest.raises(NotFound):
        connector.get_order("12345")
    plain = connector.http._client.put("/orders/1", content=b'{"status": "P"}', headers={"Content-Type": "text/plain"})
    unsupported = classify(plain)
    assert isinstance(unsupported, Rejected)
    assert unsupported.status == 415
    assert "Content-Type: application/json" in str(unsupported)
    sim.faults.inject("error", method="GET", path_prefix="/api/orders/2", count=4)
    with pytest.raises(Transient) as failed:
        connector.get_order("2")
    assert failed.value.status == 500
    sim.faults.inject("error", method="GET", path_prefix="/api/orders/2", count=1)
    assert connector.get_order("2")["order"]["order_id"] == "2"  # retried


def test_a_429_is_waited_out_and_retried(sim: Simulator, connector: CsCartConnector) -> None:
    sim.faults.inject("rate_limit", method="GET", path_prefix="/api/orders/3")
    bundle = connector.get_order("3")
    assert bundle["order"]["order_id"] == "3"
    assert sim.stats.by_status[429] == 1


def test_a_waf_rate_window(make_sim: Callable[..., Simulator], connect: Connect) -> None:
    sim = make_sim(orders=2, rate_limit=(1, 30.0))
    connector = connect(sim)
    connector.get_order("1")
    with pytest.raises(RateLimited) as limited:
        connector.get_order("2")
    assert limited.value.retry_after > 10


def test_auth_failures(sim: Simulator, connect: Connect) -> None:
    wrong = connect(sim, credentials={"email": "admin@example.com", "api_key": "wrong-key"})
    with pytest.raises(AuthFailed) as failed:
        wrong.get_order("1")
    assert failed.value.status == 401
    assert 'Basic realm="User email/API key"' in str(failed.value)
    assert "wrong-key" not in str(failed.value)
    viewer = connect(sim, credentials={"email": "viewer@example.com", "api_key": "sim-viewer-key"})
    assert viewer.get_order("1")["order"]["order_id"] == "1"
    with pytest.raises(AuthFailed) as forbidden:
        viewer.set_status("1", CsCartStatusUpdate(status="C"))
    assert forbidden.value.status == 403


def test_classify_edge_cases() -> None:
    def answer(status: int, body: Any = None, headers: dict[str, str] | None = None,
               text: str | None = None) -> httpx.Response:
        request = httpx.Request("GET", "http://shop.test/api/orders")
        if text is not None:
            return httpx.Response(status, text=text, headers=headers, request=request)
        return httpx.Response(status, json=body, headers=headers, request=request)

    limited = classify(answer(503, text="<html>busy</html>", headers={"Retry-After": "7"}))
    assert isinstance(limited, RateLimited)
    assert limited.retry_after == 7
    assert isinstance(classify(answer(503, text="<html>maintenance</html>")), Transient)
    assert isinstance(classify(answer(509, {"message": "Bandwidth Limit Exceeded"})), RateLimited)
    rule = classify(answer(403, {"message": "Forbidden: Minimum order amount is $50",
                                 "messages": ["Minimum order amount is $50"], "status": 403}))
    assert isinstance(rule, Rejected)
    assert not isinstance(rule, AuthFailed)
    denied = classify(answer(403, {"message": "Forbidden: Access denied", "errors": ["Access denied"],
                                   "status": 403}))
    assert isinstance(denied, AuthFailed)
    assert isinstance(classify(answer(403, {"message": "Forbidden", "status": 403})), AuthFailed)
    bad = classify(answer(400, {"message": "Bad Request", "status": 400}))
    assert isinstance(bad, Rejected)
    assert bad.message == "Bad Request"


def test_over_a_real_loopback_socket(sim: Simulator, connect: Connect) -> None:
    from connectors.base import ConnectionSettings
    from connectors.cscart.client import open_connector

    with serve_in_thread(sim.app) as server:
        settings = ConnectionSettings(store="cs", platform="cscart", base_url=server.url + "/api",
                                      credentials={"email": "admin@example.com", "api_key": "sim-api-key"})
        with open_connector(settings) as connector:
            assert connector.get_order("1")["order"]["order_id"] == "1"

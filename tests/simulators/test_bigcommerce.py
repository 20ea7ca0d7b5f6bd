"""The BigCommerce simulator answers like BigCommerce: shapes and types of the real samples, status
codes, error bodies, filters, 204s, writes and their side effects, rate headers and webhooks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors.parsing import parse_timestamp
from connectors.testing import ASGITransport
from simulators.bigcommerce import STATUS_NAMES, Simulator
from tests.connectors.bigcommerce.samples import sample

TOKEN = {"X-Auth-Token": "sim-token"}
V2 = "/stores/simstore/v2"


@pytest.fixture
def sim() -> Simulator:
    return Simulator(orders=40, seed=11, rate_limit=False)


@pytest.fixture
def api(sim: Simulator) -> Iterator[httpx.Client]:
    transport = ASGITransport(sim.app)
    with httpx.Client(transport=transport, base_url="http://sim", headers=TOKEN) as client:
        yield client
    transport.close()


def create_body(sim: Simulator, **changes: Any) -> dict[str, Any]:
    mug = sim.variants_by_sku["MUG-BLK"]
    body: dict[str, Any] = {
        "billing_address": {"first_name": "Test", "last_name": "User", "street_1": "123 Main St", "city": "Austin",
                            "state": "TX", "zip": "78701", "country": "United States", "country_iso2": "US",
                            "email": "test@example.com"},
        "products": [{"product_id": mug.product_id, "quantity": 2}],
    }
    body.update(changes)
    return body


def type_names(value: dict[str, Any]) -> dict[str, str]:
    return {k: type(v).__name__ for k, v in value.items() if v is not None}


# -- shapes against the real samples ---------------------------------------------------------------------


def test_order_products_addresses_look_like_the_samples(shared: Path, sim: Simulator, api: httpx.Client) -> None:
    real_order = sample(shared, "09_nango_order_100_guest_awaiting_fulfillment_KES.json")
    real_product = sample(shared, "10_nango_order_100_products_catalog_variant.json")[0]
    real_address = sample(shared, "11_nango_order_100_shipping_addresses_autocreated.json")[0]
    order = api.get(f"{V2}/orders/100").json()
    assert list(order) == list(real_order)  # same fields, same order
    ours, theirs = type_names(order), type_names(real_order)
    assert {k: ours[k] for k in theirs if k in ours} == theirs
    assert order["products"]["resource"] == "/orders/100/products"
    assert order["products"]["url"] == "http://sim/stores/simstore/v2/orders/100/products"  # the serving host
    product = api.get(f"{V2}/orders/100/products").json()[0]
    assert set(product) == set(real_product)
    assert {k: type_names(product)[k] for k in type_names(real_product)} == type_names(real_product)
    address = api.get(f"{V2}/orders/100/shipping_addresses").json()[0]
    assert set(address) == set(real_address)
    for money in ("subtotal_ex_tax", "total_inc_tax", "shipping_cost_ex_tax"):
        assert len(order[money].split(".")[1]) == 4
    assert parse_timestamp(order["date_created"]).tzinfo is not None
    assert order["date_created"].endswith("+0000")


def test_shipments_coupons_statuses_look_like_the_samples(shared: Path, sim: Simulator, api: httpx.Client) -> None:
    real = sample(shared, "from_official_spec/spec_GET_shipments_collection.json")[0]
    shipped = next(o for o in sim.orders.values() if o.shipments)
    shipment = api.get(f"{V2}/orders/{shipped.id}/shipments").json()[0]
    assert set(shipment) == set(real)
    assert type_names(shipment) == type_names(real)
    assert set(shipment["items"][0]) == set(real["items"][0])
    coupons = next(o for o in sim.orders.values() if o.coupons)
    coupon = api.get(f"{V2}/orders/{coupons.id}/coupons").json()[0]
    assert set(coupon) == set(sample(shared, "from_official_spec/spec_GET_coupons_collection.json")[0])
    statuses = api.get(f"{V2}/order_statuses").json()
    real_statuses = sample(shared, "14_nango_order_statuses_real_store.json")
    assert [(s["id"], s["name"], s["order"]) for s in statuses] == [
        (s["id"], s["name"], s["order"]) for s in real_statuses]
    assert set(statuses[0]) == set(real_statuses[0])
    assert api.get(f"{V2}/order_statuses/11").json()["name"] == "Awaiting Fulfillment"


def test_minimal_create_request_gets_a_201_like_the_recording(shared: Path, sim: Simulator,
                                                              api: httpx.Client) -> None:
    request = sample(shared, "12a_nango_POST_v2_orders_request_minimal_catalog_product.json")
    request["products"][0]["product_id"] = sim.variants_by_sku["CAP-01"].product_id
    answer = api.post(f"{V2}/orders", json=request)
    assert answer.status_code == 201
    real = sample(shared, "12b_nango_POST_v2_orders_response_201_pending.json")
    created = answer.json()
    assert list(created) == list(real)
    assert (created["status_id"], created["status"], created["order_source"]) == (1, "Pending", "external")
    assert created["subtotal_ex_tax"] == "18.9000"
    assert created["payment_status"] == ""
    [address] = api.get(f"{V2}/orders/{created['id']}/shipping_addresses").json()
    assert (address["street_1"], address["zip"], address["shipping_method"]) == ("123 Main St", "78701", "None")


def test_webhook_payloads_look_like_the_samples(shared: Path, sim: Simulator, api: httpx.Client) -> None:
    sent: list[dict[str, Any]] = []
    sim.webhooks.url = "http://127.0.0.1:9/hook"
    sim.webhooks.emit = lambda event, payload: sent.append(dict(payload))  # type: ignore[method-assign]
    order = api.post(f"{V2}/orders", json=create_body(sim)).json()
    api.put(f"{V2}/orders/{order['id']}", json={"status_id": 11})
    product = api.get(f"{V2}/orders/{order['id']}/products").json()[0]
    address = api.get(f"{V2}/orders/{order['id']}/shipping_addresses").json()[0]
    api.post(f"{V2}/orders/{order['id']}/shipments", json={
        "order_address_id": address["id"], "items": [{"order_product_id": product["id"], "quantity": 2}]})
    api.delete(f"{V2}/orders/{order['id']}")
    scopes = [p["scope"] for p in sent]
    assert scopes == ["store/order/created", "store/order/statusUpdated", "store/order/updated",
                      "store/shipment/created", "store/order/statusUpdated", "store/order/updated",
                      "store/order/archived"]
    real = {p["scope"]: p for _, p in __import__("tests.connectors.bigcommerce.samples", fromlist=["x"]).samples_of(
        shared, "webhook")}
    for payload in sent:
        template = real[payload["scope"]]
        assert set(payload) == set(template)
        assert type_names(payload) == type_names(template)
        assert set(payload["data"]) == set(template["data"])
    assert sent[1]["data"]["status"] == {"previous_status_id": 1, "new_status_id": 11}
    assert sent[3]["data"]["orderId"] == order["id"]


# -- list filters ------------------------------------------------------------------------------------------


def ids(api: httpx.Client, **params: Any) -> list[int]:
    answer = api.get(f"{V2}/orders", params={"limit": 250, **params})
    if answer.status_code == 204:
        assert answer.content == b""
        return []
    assert answer.status_code == 200
    return [row["id"] for row in answer.json()]


def test_every_list_filter(sim: Simulator, api: httpx.Client) -> None:
    orders = list(sim.orders.values())
    pick = orders[7]
    created = datetime.fromtimestamp(pick.created_ts, UTC)
    modified = datetime.fromtimestamp(pick.modified_ts, UTC)
    assert ids(api) == sorted(sim.orders)  # default sort: id ascending
    assert ids(api, min_id=110, max_id=115) == list(range(110, 116))
    assert ids(api, status_id=11) == [o.id for o in orders if o.data["status_id"] == 11]
    assert ids(api, customer_id=0) == [o.id for o in orders if o.data["customer_id"] == 0]
    assert ids(api, email=pick.data["billing_address"]["email"].upper()) == [
        o.id for o in orders if o.data["billing_address"]["email"] == pick.data["billing_address"]["email"]]
    assert ids(api, cart_id=pick.data["cart_id"]) == [pick.id]
    assert ids(api, channel_id=1) == sorted(sim.orders)
    assert ids(api, channel_id=2) == []
    assert ids(api, payment_method="Manual") == [o.id for o in orders if o.data["payment_method"] == "Manual"]
    assert ids(api, min_total="100", max_total="150") == [
        o.id for o in orders if 100 <= Decimal(o.data["total_inc_tax"]) <= 150]
    assert ids(api, min_date_created=created.isoformat(), max_date_created=created.isoformat()) == [pick.id]
    rfc = pick.data["date_modified"]
    assert ids(api, min_date_modified=rfc, max_date_modified=modified.isoformat()) == [pick.id]
    later = ids(api, min_date_modified=modified.isoformat(), sort="date_modified:asc")
    by_modified = sorted(orders, key=lambda o: (o.modified_ts, o.id))
    assert later == [o.id for o in by_modified if o.modified_ts >= pick.modified_ts]
    assert ids(api, sort="id:desc") == sorted(sim.orders, reverse=True)
    assert ids(api, sort="date_created:asc") == [o.id for o in sorted(orders, key=lambda o: (o.created_ts, o.id))]
    assert ids(api, sort="status_id") == [o.id for o in sorted(orders, key=lambda o: (o.data["status_id"], o.id))]
    assert ids(api, external_order_id="nothing") == []


def test_paging_limits_and_errors(api: httpx.Client) -> None:
    assert len(api.get(f"{V2}/orders").json()) == 40  # 50 by default
    assert [len(ids(api, limit=15, page=p)) for p in (1, 2, 3, 4)] == [15, 15, 10, 0]
    assert api.get(f"{V2}/orders", params={"page": 4, "limit": 15}).status_code == 204
    too_many = api.get(f"{V2}/orders", params={"limit": 251})
    assert too_many.status_code == 413
    assert too_many.json()[0]["status"] == 413
    unknown = api.get(f"{V2}/orders", params={"id": 5})
    assert unknown.status_code == 400
    assert unknown.json() == [{"status": 400, "message": "The field 'id' is not supported by this resource."}]
    assert api.get(f"{V2}/orders", params={"min_date_modified": "last tuesday"}).status_code == 400
    assert api.get(f"{V2}/orders", params={"sort": "total:asc"}).status_code == 400
    missing = api.get(f"{V2}/orders/999999")
    assert missing.status_code == 404
    assert missing.json() == [{"status": 404, "message": "The requested resource was not found."}]
    assert api.get(f"{V2}/orders/100/products", params={"page": 9}).status_code == 204
    count = api.get(f"{V2}/orders/count").json()
    assert count["count"] == 40
    assert sum(s["count"] for s in count["statuses"]) == 40


# -- writes -------------------------------------------------------------------------------------------------


def test_create_rules(sim: Simulator, api: httpx.Client) -> None:
    read_only = api.post(f"{V2}/orders", json=create_body(sim, status="Pending"))
    assert read_only.status_code == 400
    assert read_only.json()[0]["message"] == ("The field 'status' cannot be written to. Please remove it from your "
                                              "request before trying again.")
    assert api.post(f"{V2}/orders", json=create_body(sim, flavour="x")).json()[0]["message"] == (
        "The field 'flavour' is not supported by this resource.")
    assert api.post(f"{V2}/orders", json={"products": []}).status_code == 400
    half_price = create_body(sim, products=[{"name": "Poster", "quantity": 1, "price_ex_tax": 10}])
    assert api.post(f"{V2}/orders", json=half_price).status_code == 400
    no_name = create_body(sim, products=[{"quantity": 1, "price_ex_tax": 10, "price_inc_tax": 11}])
    assert api.post(f"{V2}/orders", json=no_name).status_code == 400
    bad_zip = create_body(sim)
    bad_zip["billing_address"]["zip"] = "7"
    assert api.post(f"{V2}/orders", json=bad_zip).json()[0]["message"] == "The field 'zip' is invalid."
    tee = sim.variants_by_sku["TEE-L"]
    no_variant = create_body(sim, products=[{"product_id": tee.product_id, "quantity": 1}])
    assert api.post(f"{V2}/orders", json=no_variant).json()[0]["message"] == (
        "The options of one or more products are invalid.")
    assert api.post(f"{V2}/orders", json=create_body(sim, customer_id=9999)).status_code == 400
    assert api.post(f"{V2}/orders", json=create_body(sim, status_id=15)).status_code == 400
    stock = sim.variants_by_sku["MUG-BLK"].stock
    sold_out = create_body(sim, products=[{"product_id": sim.variants_by_sku["MUG-BLK"].product_id,
                                           "quantity": stock + 1}])
    assert "out of stock" in api.post(f"{V2}/orders", json=sold_out).json()[0]["message"]
    assert sim.variants_by_sku["MUG-BLK"].stock == stock  # nothing taken by a refused order


def test_create_prices_stock_reference_and_defaults(sim: Simulator, api: httpx.Client) -> None:
    tee = sim.variants_by_sku["TEE-L"]
    stock = tee.stock
    body = create_body(sim, products=[
        {"product_id": tee.product_id, "variant_id": tee.id, "quantity": 2},
        {"product_id": sim.variants_by_sku["PEN-3"].product_id, "quantity": 1, "price_ex_tax": "4.00",
         "price_inc_tax": "4.40"},
        {"name": "Gift wrap", "sku": "WRAP", "quantity": 1, "price_ex_tax": 2, "price_inc_tax": 2.2},
    ], external_order_id="ordersync:src:77", external_source="ordersync", status_id=11,
        shipping_cost_ex_tax="5.00", shipping_cost_inc_tax="5.00", discount_amount="1.00",
        date_created="Tue, 20 Nov 2012 00:00:00 +0000", staff_notes="from ordersync")
    created = api.post(f"{V2}/orders", json=body).json()
    assert (created["status_id"], created["external_order_id"], created["external_source"]) == (
        11, "ordersync:src:77", "ordersync")
    assert created["date_created"] == "Tue, 20 Nov 2012 00:00:00 +0000"
    products = api.get(f"{V2}/orders/{created['id']}/products").json()
    assert [(p["sku"], p["price_ex_tax"], p["price_inc_tax"]) for p in products] == [
        ("TEE-L", "24.0000", "24.0000"), ("PEN-3", "4.0000", "4.4000"), ("WRAP", "2.0000", "2.2000")]
    assert products[0]["product_options"][0]["display_value"] == "L"
    assert products[2]["product_id"] == 0
    assert sim.variants_by_sku["TEE-L"].stock == stock - 2
    assert created["subtotal_ex_tax"] == "54.0000"
    assert created["subtotal_inc_tax"] == "54.6000"
    assert created["total_inc_tax"] == "58.6000"
    assert created["total_tax"] == "0.6000"
    assert ids(api, external_order_id="ordersync:src:77") == [created["id"]]
    overridden = api.post(f"{V2}/orders", json=create_body(sim, total_ex_tax="99.00", total_inc_tax="108.00",
                                                          subtotal_ex_tax="90", subtotal_inc_tax="99")).json()
    assert (overridden["total_inc_tax"], overridden["total_tax"], overridden["subtotal_ex_tax"]) == (
        "108.0000", "9.0000", "90.0000")
    assert api.post(f"{V2}/orders", json=create_body(sim, total_ex_tax="99.00")).status_code == 400


def test_update_rules(sim: Simulator, api: httpx.Client) -> None:
    order = api.post(f"{V2}/orders", json=create_body(sim)).json()
    path = f"{V2}/orders/{order['id']}"
    assert api.put(path, json={"custom_status": "Mine"}).json() == [
        {"status": 400, "message": "The field 'custom_status' is not supported by this resource."}]
    assert "cannot be written to" in api.put(path, json={"external_id": "AMZ-1"}).json()[0]["message"]
    assert api.put(path, json={"status_id": 99}).status_code == 400
    updated = api.put(path, json={"status_id": 2, "staff_notes": "shipped by hand"}).json()
    assert (updated["status_id"], updated["status"], updated["custom_status"]) == (2, "Shipped", "Shipped")
    assert updated["date_shipped"] != ""
    assert updated["items_shipped"] == 0
    assert updated["staff_notes"] == "shipped by hand"
    moved = api.put(path, json={"external_order_id": "ordersync:src:moved"}).json()
    assert moved["external_order_id"] == "ordersync:src:moved"
    assert ids(api, external_order_id="ordersync:src:moved") == [order["id"]]
    assert parse_timestamp(moved["date_modified"]) >= parse_timestamp(order["date_modified"])


def test_archive_hides_from_the_list(sim: Simulator, api: httpx.Client) -> None:
    assert api.delete(f"{V2}/orders/101").status_code == 204
    assert 101 not in ids(api)
    assert ids(api, is_deleted="true") == [101]
    assert api.get(f"{V2}/orders/101").json()["is_deleted"] is True
    assert api.get(f"{V2}/orders/count").json()["count"] == 39
    assert api.delete(f"{V2}/orders/101").status_code == 204
    assert api.delete(f"{V2}/orders/999999").status_code == 404


def test_shipments(sim: Simulator, api: httpx.Client) -> None:
    body = create_body(sim, products=[{"product_id": sim.variants_by_sku["MUG-BLK"].product_id, "quantity": 2},
                                      {"product_id": sim.variants_by_sku["NB-A5"].product_id, "quantity": 1}])
    order = api.post(f"{V2}/orders", json=body).json()
    path = f"{V2}/orders/{order['id']}/shipments"
    assert api.get(path).status_code == 204
    mug, notebook = api.get(f"{V2}/orders/{order['id']}/products").json()
    address = api.get(f"{V2}/orders/{order['id']}/shipping_addresses").json()[0]["id"]
    assert api.post(path, json={"items": [{"order_product_id": mug["id"], "quantity": 1}]}).json()[0]["message"] == (
        "The required field 'order_address_id' was not supplied.")
    assert api.post(path, json={"order_address_id": address, "items": []}).status_code == 400
    assert api.post(path, json={"order_address_id": address + 999, "items": [
        {"order_product_id": mug["id"], "quantity": 1}]}).status_code == 400
    assert api.post(path, json={"order_address_id": address, "items": [
        {"order_product_id": 424242, "quantity": 1}]}).status_code == 400
    assert api.post(path, json={"order_address_id": address, "tracking_number": "X" * 51, "items": [
        {"order_product_id": mug["id"], "quantity": 1}]}).status_code == 400
    assert api.post(path, json={"order_address_id": address, "shipping_provider": "pigeon", "items": [
        {"order_product_id": mug["id"], "quantity": 1}]}).status_code == 400
    first = api.post(path, json={"order_address_id": address, "tracking_number": "1Z999", "shipping_provider": "ups",
                                 "items": [{"order_product_id": mug["id"], "quantity": 2}]})
    assert first.status_code == 201
    shipment = first.json()
    assert shipment["shipping_provider_display_name"] == "UPS"
    assert "1Z999" in shipment["generated_tracking_link"]
    state = api.get(f"{V2}/orders/{order['id']}").json()
    assert (state["status_id"], state["items_shipped"], state["date_shipped"]) == (3, 2, "")
    over = api.post(path, json={"order_address_id": address, "items": [{"order_product_id": mug["id"], "quantity": 1}]})
    assert over.status_code == 400
    assert "greater than the quantity" in over.json()[0]["message"]
    api.post(path, json={"order_address_id": address, "tracking_number": "CUSTOM1", "shipping_provider": "",
                         "tracking_link": "https://t.example/CUSTOM1",
                         "items": [{"order_product_id": notebook["id"], "quantity": 1}]})
    state = api.get(f"{V2}/orders/{order['id']}").json()
    assert state["status_id"] == 2
    assert state["date_shipped"] != ""
    assert state["items_shipped"] == 3
    assert api.get(f"{path}/count").json() == {"count": 2}
    one = f"{path}/{shipment['id']}"
    assert api.put(one, json={"items": []}).status_code == 400
    changed = api.put(one, json={"tracking_number": "1Z000", "shipping_provider": "fedex", "comments": "re-labelled"})
    assert changed.json()["shipping_provider_display_name"] == "FedEx"
    assert changed.json()["comments"] == "re-labelled"
    assert api.delete(one).status_code == 204
    assert api.get(one).status_code == 404
    state = api.get(f"{V2}/orders/{order['id']}").json()
    assert state["status_id"] == 2
    assert state["items_shipped"] == 1
    assert api.get(f"{V2}/orders/{order['id']}/products").json()[0]["quantity_shipped"] == 0


# -- auth, budget, catalog, seeding ------------------------------------------------------------------------


def test_auth(sim: Simulator) -> None:
    transport = ASGITransport(sim.app)
    with httpx.Client(transport=transport, base_url="http://sim") as client:
        missing = client.get(f"{V2}/orders")
        assert missing.status_code == 401
        assert missing.json() == [{"status": 401, "message": "No credentials were supplied in the request."}]
        wrong = client.get("/stores/simstore/v3/catalog/variants", headers={"X-Auth-Token": "nope"})
        assert wrong.status_code == 401
        assert set(wrong.json()) == {"status", "title", "type", "errors"}
        assert client.get("/stores/otherstore/v2/orders", headers=TOKEN).status_code == 404
    transport.close()
    custom = Simulator(credentials={"token": "t0k"}, store_hash="abc123")
    transport = ASGITransport(custom.app)
    with httpx.Client(transport=transport, base_url="http://sim", headers={"X-Auth-Token": "t0k"}) as client:
        assert client.get("/stores/abc123/v2/orders").status_code == 204  # no orders yet
    transport.close()


def test_rate_window_headers_and_429() -> None:
    sim = Simulator(orders=1, rate_limit=(3, 30.0))
    transport = ASGITransport(sim.app)
    with httpx.Client(transport=transport, base_url="http://sim", headers=TOKEN) as client:
        answers = [client.get(f"{V2}/orders/100") for _ in range(4)]
    transport.close()
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a.headers["x-rate-limit-requests-left"] for a in answers] == ["2", "1", "0", "0"]
    assert all(a.headers["x-rate-limit-requests-quota"] == "3" for a in answers)
    assert all(a.headers["x-rate-limit-time-window-ms"] == "30000" for a in answers)
    assert 0 < int(answers[3].headers["x-rate-limit-time-reset-ms"]) <= 30000
    assert int(answers[3].headers["x-retry-after"]) >= 1
    assert answers[3].json()[0]["status"] == 429
    window = Simulator().window
    assert window is not None
    assert (window.quota, window.window) == (150, 30.0)  # BigCommerce's Standard/Plus budget by default


def test_catalog_v3(sim: Simulator, api: httpx.Client) -> None:
    variants = api.get("/stores/simstore/v3/catalog/variants", params={"sku": "tee-s"}).json()
    [tee] = variants["data"]
    assert tee["sku"] == "TEE-S"
    assert tee["price"] == 24.0
    assert tee["option_values"][0]["label"] == "S"
    assert variants["meta"]["pagination"]["total"] == 1
    assert api.get("/stores/simstore/v3/catalog/variants", params={"sku": "NOPE"}).json()["data"] == []
    products = api.get("/stores/simstore/v3/catalog/products", params={"include": "variants"}).json()["data"]
    assert len(products) == 8
    assert sum(len(p["variants"]) for p in products) == 10
    assert {p["sku"] for p in products} >= {"TEE", "MUG-BLK", "PEN-3"}


def test_seeding_is_deterministic_and_realistic() -> None:
    one, two = Simulator(orders=60, seed=5), Simulator(orders=60, seed=5)
    assert [o.data for o in one.orders.values()] == [o.data for o in two.orders.values()]
    assert [o.products for o in one.orders.values()] == [o.products for o in two.orders.values()]
    statuses = {o.data["status_id"] for o in one.orders.values()}
    assert {1, 2, 10, 11} <= statuses
    assert {o.data["customer_id"] == 0 for o in one.orders.values()} == {True, False}
    assert any(len(o.products) > 2 for o in one.orders.values())
    assert any(o.shipments for o in one.orders.values())
    assert any(o.coupons for o in one.orders.values())
    for order in one.orders.values():
        shipped = sum(p["quantity_shipped"] for p in order.products)
        assert shipped == order.data["items_shipped"] == sum(i["quantity"] for s in order.shipments.values()
                                                              for i in s["items"])
        if order.data["status_id"] in (2, 10):
            assert shipped == order.data["items_total"]
            assert order.data["date_shipped"]
        if order.data["status_id"] == 3:
            assert 0 < shipped < order.data["items_total"]
    assert set(STATUS_NAMES) == set(range(15))


def test_simulated_orders_map_cleanly(sim: Simulator, api: httpx.Client) -> None:
    from mappings.bigcommerce import to_neutral

    for order_id in list(sim.orders)[:40]:
        bundle = {"order": api.get(f"{V2}/orders/{order_id}").json()}
        for name in ("products", "shipping_addresses", "shipments", "coupons"):
            answer = api.get(f"{V2}/orders/{order_id}/{name}")
            bundle[name] = answer.json() if answer.status_code == 200 else []
        n = to_neutral(bundle)
        assert n.warnings == [], (order_id, n.warnings)
        assert json.loads(n.to_json())["currency"] == "USD"


def test_standard_webhook_signature_is_what_the_connector_verifies(sim: Simulator) -> None:
    """The simulator signs callbacks on its own; the connector's independent check must accept them and
    refuse a changed body (two implementations of BigCommerce §6 agreeing)."""
    from connectors.bigcommerce.webhooks import verify

    sim.configure_webhooks("http://127.0.0.1:9/hook", "s3cret", client_secret="whsec_" + "c2VjcmV0LWtleQ==")
    assert sim.webhooks.sign is not None
    raw = b'{"scope":"store/order/created","data":{"type":"order","id":100}}'
    headers = {**sim.webhooks.extra_headers, **sim.webhooks.sign(raw)}
    assert verify(headers, raw, "s3cret", client_secret="whsec_c2VjcmV0LWtleQ==")
    assert not verify(headers, raw.replace(b"100", b"101"), "s3cret", client_secret="whsec_c2VjcmV0LWtleQ==")

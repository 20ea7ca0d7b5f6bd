"""The simulator's JSON looks like the recorded CS-Cart payloads (names, types-as-strings, envelopes, errors)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors.cscart import webhooks
from connectors.cscart.wire import CsCartOrder, CsCartOrderList, CsCartShipmentList, parse_cscart, parse_statuses
from connectors.errors import InvalidPayload
from connectors.testing import ASGITransport
from simulators.cscart import Simulator
from tests.connectors.cscart.conftest import Clock

AUTH = ("admin@example.com", "sim-api-key")
# user-profile columns that old stores merged into the order detail; 4.13 does not send them
_PROFILE_LEFTOVERS = {"is_root", "birthday", "purchase_timestamp_from", "purchase_timestamp_to", "responsible_email",
                      "last_passwords", "password_change_timestamp", "api_key"}


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_sim(clock: Clock) -> Callable[..., Simulator]:
    def make(**kwargs: Any) -> Simulator:
        return Simulator(clock=clock, **kwargs)

    return make


@pytest.fixture
def sim(make_sim: Callable[..., Simulator]) -> Simulator:
    return make_sim(orders=23, seed=7)


@pytest.fixture
def client(sim: Simulator) -> Any:
    transport = ASGITransport(sim.app, timeout=5)
    with httpx.Client(transport=transport, base_url="http://shop.test", auth=AUTH) as http:
        yield http
    transport.close()


def _shape(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if value is None:
        return "null"
    return type(value).__name__


def test_order_detail_matches_the_recorded_shape(shared: Path, client: httpx.Client) -> None:
    recorded = json.loads((shared / "platforms/samples/cscart/04_order_detail_GET_orders_96.ru-docs.json").read_text())
    detail = client.get("/api/orders/1").json()
    assert set(recorded) - _PROFILE_LEFTOVERS <= set(detail)
    for key in ("order_id", "total", "timestamp", "status", "user_id", "shipping_cost", "discount", "b_state",
                "payment_id", "subtotal", "tax_subtotal", "need_shipping", "shipment_ids", "promotions"):
        if key == "promotions":
            assert _shape(detail[key]) in ("list", "dict")
            continue
        assert _shape(detail[key]) == _shape(recorded[key]), key
    recorded_line = next(iter(recorded["products"].values()))
    line = next(iter(detail["products"].values()))
    assert set(recorded_line) - {"shared_product"} <= set(line)
    for key in ("price", "amount", "product_id", "subtotal", "base_price", "deleted_product", "shipped_amount"):
        assert _shape(line[key]) == _shape(recorded_line[key]), key
    tax = next(iter(detail["taxes"].values()))
    assert set(tax) == set(next(iter(recorded["taxes"].values())))
    assert set(tax["applies"]) == {"P", "S", "items"}
    CsCartOrder.model_validate(detail)


def test_order_list_matches_the_recorded_shape(shared: Path, client: httpx.Client) -> None:
    recorded = json.loads((shared / "platforms/samples/cscart/01_orders_list_response.docs.json").read_text())
    listing = client.get("/api/orders", params={"items_per_page": 2}).json()
    assert set(listing) == {"orders", "params"}
    assert set(recorded["orders"][0]) - {"points"} <= set(listing["orders"][0])
    assert set(recorded["params"]) <= set(listing["params"])
    assert listing["params"]["total_items"] == "23"
    assert listing["params"]["items_per_page"] == "2"
    assert listing["params"]["sort_by"] == "date"
    assert listing["params"]["sort_order"] == "desc"
    assert "updated_at" not in listing["orders"][0]
    CsCartOrderList.model_validate(listing)


def test_statuses_shipments_products_and_api_2_0(sim: Simulator, client: httpx.Client) -> None:
    statuses = client.get("/api/2.0/statuses").json()
    assert {s.status for s in parse_statuses(statuses)} >= {"P", "C", "O", "Z"}
    assert isinstance(statuses["params"]["total_items"], str)
    assert [s["status"] for s in client.get("/api/statuses", params={"type": "S"}).json()["statuses"]] == [
        "P", "A", "S"]
    shipments = client.get("/api/shipments", params={"items_per_page": 100}).json()
    CsCartShipmentList.model_validate(shipments)
    row = shipments["shipments"][0]
    assert set(row) >= {"shipment_id", "shipment_timestamp", "comments", "status", "order_id", "tracking_number",
                        "carrier", "products", "carrier_info", "one_full", "shipping_id"}
    assert all(isinstance(qty, int) for qty in row["products"].values())
    products = client.get("/api/products", params={"pcode": "TEE"}).json()["products"]
    assert {p.get("combination") for p in products} == {None, "3_11", "3_12", "3_13"}
    assert client.get(f"/api/products/{products[0]['product_id']}").json()["product_code"] == "TEE"


def test_error_bodies(sim: Simulator, client: httpx.Client) -> None:
    missing = client.get("/api/orders/999")
    assert missing.status_code == 404
    assert missing.json() == {"message": "Not Found", "status": 404}
    bad = client.post("/api/orders", json={"user_id": "3"})
    assert bad.status_code == 400
    assert bad.json() == {"message": "Bad Request: The payment_id field is required",
                          "messages": ["The payment_id field is required"], "status": 400}
    no_auth = httpx.Client(transport=client._transport, base_url="http://shop.test").get("/api/orders")
    assert no_auth.status_code == 401
    assert no_auth.headers["www-authenticate"] == 'Basic realm="User email/API key"'
    assert no_auth.json() == {"message": "Unauthorized", "status": 401}
    shipment = client.post("/api/shipments", json={"order_id": "1", "shipping_id": "1"})
    assert shipment.status_code == 400
    assert shipment.json() == {"message": "Bad Request", "status": 400}
    assert client.delete("/api/orders/999").status_code == 404
    assert client.delete("/api/orders/1").status_code == 204


def test_create_reprices_and_always_opens(sim: Simulator, client: httpx.Client) -> None:
    bottle = next(p for p in sim.products.values() if p.product_code == "BTL-750")
    answer = client.post("/api/orders", json={
        "user_id": "3", "payment_id": "4", "shipping_id": "3", "status": "C",
        "products": {"1": {"product_id": bottle.product_id, "amount": "8", "price": "1.00"}},
        "notes": "hi", "details": "[ordersync:x:1]"})
    assert answer.status_code == 201
    body = answer.json()
    order = body["order_data"]
    assert body["order_id"] == order["order_id"]
    assert order["status"] == "O"
    [line] = order["products"].values()
    assert line["price"] == "31.50"  # the catalog price, not the one sent (nor the demo catalog's 29.95)
    assert order["subtotal"] == 252
    assert order["subtotal_discount"] == "12.60"  # the store's own promotion applies
    assert order["promotions"]["15"]["name"]
    assert order["payment_surcharge"] == "2.00"
    assert order["total"] == "276.34"  # 252 - 12.60 + 9.74 + 25.20 tax + 2.00
    assert order["details"] == "[ordersync:x:1]"
    old = Simulator(version="4.3")
    with httpx.Client(transport=ASGITransport(old.app), base_url="http://shop.test", auth=AUTH) as http:
        created = http.post("/api/orders", json={"user_id": "3", "payment_id": "2", "shipping_id": "1",
                                                 "products": {"1": {"product_id": "101", "amount": 1}}})
        assert created.json() == {"order_id": "1"}
        assert http.get("/api/orders", params={"updated_at_from": 9_999_999_999}).json()["orders"]


def test_tax_inclusive_store(make_sim: Callable[..., Simulator]) -> None:
    from mappings.cscart import to_neutral

    sim = make_sim(orders=3, seed=4, prices_include_tax=True)
    with httpx.Client(transport=ASGITransport(sim.app), base_url="http://shop.test", auth=AUTH) as http:
        detail = http.get("/api/orders/1").json()
    assert detail["tax_subtotal"] == 0
    order = to_neutral(detail, currency="USD")
    assert order.prices_include_tax is True
    assert not [w for w in order.warnings if w.startswith("totals")]
    for line in order.lines:
        assert line.total == line.unit_price_incl_tax * line.quantity  # type: ignore[operator]


def test_webhooks_module_refuses_clearly() -> None:
    assert webhooks.verify({}, b"{}", "secret") is False
    with pytest.raises(InvalidPayload, match="no outgoing webhooks"):
        webhooks.parse(b'{"order_id": 1}', {})
    with pytest.raises(NotImplementedError, match="no outgoing webhooks"):
        webhooks.sign(b"{}", "secret")


def test_parse_cscart_reports_plain_paths() -> None:
    with pytest.raises(InvalidPayload) as error:
        parse_cscart(CsCartOrder, {"order_id": "1", "status": "P", "timestamp": "1", "total": "1",
                                   "taxes": {"6": {"rate_value": "ten"}}}, what="order")
    assert error.value.field == "taxes.6.rate_value"


def test_payments_and_shippings_list_what_a_new_order_needs(sim: Simulator, client: httpx.Client) -> None:
    payments = client.get("/api/payments").json()
    shippings = client.get("/api/2.0/shippings").json()
    assert [p["payment_id"] for p in payments["payments"]] == ["2", "4", "6"]
    assert payments["params"]["total_items"] == "3"
    assert {s["shipping_id"]: s["shipping"] for s in shippings["shippings"]} == {
        "1": "Custom shipping method", "3": "FedEx Home Delivery"}
    assert client.get("/api/payments/4").json()["payment"] == "Cash on delivery"
    assert client.get("/api/shippings/3").json()["delivery_time"] == "2 days"
    assert client.get("/api/payments/99").json() == {"message": "Not Found", "status": 404}
    assert client.get("/api/shippings/99").status_code == 404
    detail = client.get("/api/orders/1").json()
    listed = next(p for p in payments["payments"] if p["payment_id"] == detail["payment_id"])
    assert {k: listed[k] for k in ("payment", "a_surcharge", "surcharge_title")} == {
        k: detail["payment_method"][k] for k in ("payment", "a_surcharge", "surcharge_title")}
    one_page = client.get("/api/payments", params={"items_per_page": 2, "page": 2}).json()
    assert [p["payment_id"] for p in one_page["payments"]] == ["6"]
    anonymous = httpx.Client(transport=client._transport, base_url="http://shop.test")
    assert anonymous.get("/api/payments").status_code == 401


def test_unknown_paths_answer_cscarts_own_404(client: httpx.Client) -> None:
    for path in ("/api/refunds", "/api/2.0/orders/1/nothing", "/api/vendors/3/anything"):
        answer = client.get(path)
        assert answer.status_code == 404
        assert answer.json() == {"message": "Not Found", "status": 404}
    assert client.post("/api/nothing", json={}).json() == {"message": "Not Found", "status": 404}
    page = client.get("/index.php/nowhere")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    anonymous = httpx.Client(transport=client._transport, base_url="http://shop.test")
    assert anonymous.get("/api/refunds").status_code == 401  # API auth comes before routing

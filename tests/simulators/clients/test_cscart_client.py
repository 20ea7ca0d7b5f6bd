"""``cscart-api-client`` (PyPI), written for the real CS-Cart REST API, pointed at the CS-Cart simulator as a
contract test: it lists and gets orders, and finds the payment and shipping methods a new order needs. Its
quirks are in docs/platforms/cscart.md."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

cscart = pytest.importorskip("cscart", reason="dev dependency cscart-api-client is not installed")

from simulators import serve_in_thread  # noqa: E402
from simulators.cscart import Simulator  # noqa: E402


@pytest.fixture
def shop() -> Iterator[tuple[Simulator, Any]]:
    sim = Simulator(orders=23, seed=7, rate_limit=False)
    server = serve_in_thread(sim.app)
    # Quirk: url_base must end with "/" (the client appends "orders", "payments" … to it).
    yield sim, cscart.Client(f"{server.url}/api/", "admin@example.com", "sim-api-key")
    server.stop()


def test_lists_orders_page_by_page(shop: tuple[Simulator, Any]) -> None:
    sim, client = shop
    seen: list[str] = []
    page = 1
    while True:
        answer = client.get_orders(params={"page": page, "items_per_page": 10})
        assert answer.status_code == 200
        body = answer.json()
        seen += [row["order_id"] for row in body["orders"]]
        if page * 10 >= int(body["params"]["total_items"]):
            break
        page += 1
    assert sorted(seen, key=int) == sorted((str(o) for o in sim.orders), key=int)
    past = client.get_orders(params={"page": 9, "items_per_page": 10}).json()
    assert past["params"]["page"] == 3  # CS-Cart clamps a page past the end to the last one (db_get_valid_page)


def test_gets_one_order_and_its_shipments(shop: tuple[Simulator, Any]) -> None:
    sim, client = shop
    shipped = next(o for o in sim.orders.values() if any(s["order_id"] == o.order_id for s in sim.shipments.values()))
    detail = client.get_orders(shipped.order_id).json()
    assert detail["order_id"] == str(shipped.order_id)
    assert detail["products"]
    shipments = client.get_shipments(params={"order_id": shipped.order_id}).json()["shipments"]
    assert {str(s["order_id"]) for s in shipments} == {str(shipped.order_id)}
    assert client.get_orders(999999).status_code == 404
    # quirk: params are joined without URL encoding, so a value with "&" or " " would break the query
    assert client.get_orders(params={"status": "P"}).status_code == 200


def test_finds_the_payment_and_shipping_ids_a_new_order_needs(shop: tuple[Simulator, Any]) -> None:
    _, client = shop
    payments = client.get_payment_methods().json()["payments"]
    shippings = client.get_shipping_methods().json()["shippings"]
    assert {p["payment_id"] for p in payments} == {"2", "4", "6"}
    assert {s["shipping_id"] for s in shippings} == {"1", "3"}
    assert client.get_payment_methods(4).json()["payment"] == "Cash on delivery"
    statuses = client.get_statuses().json()["statuses"]
    assert "P" in {s["status"] for s in statuses}


def test_wrong_credentials_get_401(shop: tuple[Simulator, Any]) -> None:
    _, client = shop
    stranger = cscart.Client(client.url_base, "admin@example.com", "wrong")
    assert stranger.get_orders().status_code == 401

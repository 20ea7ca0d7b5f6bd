"""Each simulated store takes its currency (``ordersync simulate … --currency``), seeded orders and new
ones alike, so a rehearsal can match source and target."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from connectors.testing import ASGITransport
from simulators import simulator_class
from simulators.app import store_currency


@pytest.fixture
def http() -> Iterator[Any]:
    opened: list[tuple[httpx.Client, ASGITransport]] = []

    def make(sim: Any, **options: Any) -> httpx.Client:
        transport = ASGITransport(sim.app, timeout=5.0)
        client = httpx.Client(transport=transport, base_url="http://sim", **options)
        opened.append((client, transport))
        return client

    yield make
    for client, transport in opened:
        client.close()
        transport.close()


def test_bigcommerce_orders_and_store_are_in_the_chosen_currency(http: Any) -> None:
    sim = simulator_class("bigcommerce")(orders=3, seed=1, rate_limit=False, currency="eur")
    api = http(sim, headers={"X-Auth-Token": "sim-token"})
    orders = api.get("/stores/simstore/v2/orders").json()
    assert {o["currency_code"] for o in orders} == {"EUR"}
    assert {o["default_currency_code"] for o in orders} == {"EUR"}
    assert api.get("/stores/simstore/v2/store").json()["currency"] == "EUR"


def test_merchantpro_seeds_one_currency_when_asked(http: Any) -> None:
    mixed = simulator_class("merchantpro")(orders=30, seed=2, rate_limit=False)
    assert {o["currency"] for o in mixed.orders.values()} == {"RON", "EUR"}
    chosen = simulator_class("merchantpro")(orders=30, seed=2, rate_limit=False, currency="HUF")
    assert {o["currency"] for o in chosen.orders.values()} == {"HUF"}
    assert [o["id"] for o in chosen.orders.values()] == [o["id"] for o in mixed.orders.values()]  # same shop


def test_evershop_carts_and_orders_use_the_store_currency(http: Any) -> None:
    sim = simulator_class("evershop")(orders=2, seed=3, rate_limit=False, currency="GBP")
    assert {o.row["currency"] for o in sim.orders.values()} == {"GBP"}
    client = http(sim)
    cart = client.post("/api/carts", json={"items": [{"sku": "MUG-BLK", "qty": 1}]}).json()["data"]["cartId"]
    query = "query C($id: String!) { cart(id: $id) { grandTotal { currency } } }"
    answer = client.post("/api/graphql", json={"query": query, "variables": {"id": cart}}).json()
    assert answer["data"]["cart"]["grandTotal"]["currency"] == "GBP"


def test_cscart_secondary_currency(http: Any) -> None:
    sim = simulator_class("cscart")(orders=1, seed=4, rate_limit=False, currency="EUR")
    detail = http(sim, auth=("admin@example.com", "sim-api-key")).get("/api/orders/1").json()
    assert detail["secondary_currency"] == "EUR"


@pytest.mark.parametrize("bad", ["EURO", "E1R", "", "€€€"])
def test_a_currency_that_is_not_an_iso_code_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="ISO 4217"):
        store_currency(bad, "USD")
    for platform in ("bigcommerce", "merchantpro", "evershop", "cscart"):
        with pytest.raises(ValueError, match="ISO 4217"):
            simulator_class(platform)(rate_limit=False, currency=bad or " ")

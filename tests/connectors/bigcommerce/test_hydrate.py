"""The change feed carries each order's embedded row; hydrate builds get_order's bundle from it (issue #10)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from connectors.bigcommerce.client import BigCommerceConnector
from connectors.errors import InvalidPayload
from connectors.testing import ASGITransport
from connectors.testing import RecordingTransport as Recording
from mappings.bigcommerce import to_neutral
from simulators.bigcommerce import Simulator
from tests.simulators.test_bigcommerce import TOKEN, create_body

Make = Callable[..., BigCommerceConnector]
V2 = "/stores/simstore/v2"



@pytest.fixture
def store() -> Simulator:
    """60 seeded orders: shipped, partly shipped, with coupons, with two shipping addresses."""
    return Simulator(orders=60, seed=7, rate_limit=False)


def _expected_calls(row: dict[str, Any]) -> int:
    return int(int(row["items_shipped"]) > 0) + int(Decimal(row["coupon_discount"]) > 0)


def test_hydrate_equals_get_order_for_every_seeded_order(store: Simulator, make_connector: Make) -> None:
    connector = make_connector(store)
    moment = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
    connector._now = lambda: moment
    changes = list(connector.iter_orders(None))
    assert {int(c.id) for c in changes} == set(store.orders)
    assert store.stats.by_route["GET /v2/orders"] == 2  # one page of live orders, one of archived (204)
    assert any(len(o.addresses) > 1 for o in store.orders.values())  # the seed covers two addresses
    assert any(o.coupons for o in store.orders.values())
    assert any(o.shipments for o in store.orders.values())
    for change in changes:
        assert change.snapshot is not None
        assert change.read_at == moment
        before = store.stats.total
        bundle = connector.hydrate(change.snapshot)
        assert store.stats.total - before == _expected_calls(change.snapshot), change.id
        whole = connector.get_order(change.id)
        assert bundle == whole
        assert to_neutral(bundle) == to_neutral(whole)
        assert len(bundle["products"]) == len(store.orders[int(change.id)].products)


def test_get_order_reads_the_order_once_plus_what_it_needs(store: Simulator, make_connector: Make) -> None:
    connector = make_connector(store, embed_sub_resources=False)
    plain = {oid: connector.get_order(str(oid)) for oid in store.orders}
    embedding = make_connector(store)
    for oid, order in store.orders.items():
        before = store.stats.total
        bundle = embedding.get_order(str(oid))
        assert store.stats.total - before == 1 + _expected_calls(order.data)
        expected = plain[oid]
        assert {key: bundle[key] for key in expected if key != "order"} == \
            {key: value for key, value in expected.items() if key != "order"}
        assert bundle["order"] == expected["order"]  # links for consignments and fees, as a plain GET shows
        assert bundle["fees"] == []
        assert to_neutral(bundle) == to_neutral(expected)


def test_an_unshipped_order_without_coupon_costs_no_call(store: Simulator, make_connector: Make) -> None:
    connector = make_connector(store)
    quiet = next(o for o in store.orders.values() if not o.shipments and not o.coupons)
    change = next(c for c in connector.iter_orders(None) if c.id == str(quiet.id))
    before = store.stats.total
    assert change.snapshot is not None
    bundle = connector.hydrate(change.snapshot)
    assert store.stats.total == before
    assert (bundle["shipments"], bundle["coupons"]) == ([], [])
    assert bundle["shipping_addresses"][0]["order_id"] == quiet.id
    assert bundle["shipping_addresses"][0]["cost_ex_tax"] == quiet.addresses[0]["cost_ex_tax"]  # "7.9500"


def _post(store: Simulator, **changes: Any) -> int:
    transport = ASGITransport(store.app)
    try:
        with httpx.Client(transport=transport, base_url="http://sim.local", headers=TOKEN) as api:
            answer = api.post(f"{V2}/orders", json=create_body(store, **changes))
    finally:
        transport.close()
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


def test_more_than_50_lines_read_the_products(make_connector: Make) -> None:
    store = Simulator(orders=0, seed=1, rate_limit=False)
    lines = [{"name": f"Line {n}", "quantity": 1, "price_ex_tax": "1.00", "price_inc_tax": "1.00"} for n in range(53)]
    fees = [{"type": "custom_fee", "display_name_customer": "Packaging", "cost_ex_tax": "2.50", "cost_inc_tax": "3.00"}]
    big = _post(store, products=lines, fees=fees)
    connector = make_connector(store)
    [change] = list(connector.iter_orders(None))
    assert change.snapshot is not None
    assert "__warning__" in change.snapshot["consignments"]["shipping"][0]
    before = dict(store.stats.by_route)
    bundle = connector.hydrate(change.snapshot)
    assert store.stats.by_route["GET /v2/orders/{id}/products"] - before.get("GET /v2/orders/{id}/products", 0) == 1
    assert store.stats.total - sum(before.values()) == 1
    assert [row["id"] for row in bundle["products"]] == [row["id"] for row in store.orders[big].products]
    assert bundle == connector.get_order(str(big))
    assert bundle["fees"][0]["display_name_customer"] == "Packaging"
    neutral = to_neutral(bundle)
    assert len(neutral.lines) == 53
    assert [fee.name for fee in neutral.fees] == ["Packaging"]


def test_a_row_without_include_is_read_whole(store: Simulator, make_connector: Make) -> None:
    recording: list[Recording] = []

    def wrap(inner: httpx.BaseTransport) -> Recording:
        recording.append(Recording(inner))
        return recording[0]

    connector = make_connector(store, transport=wrap)
    references = list(connector.iter_references(None))
    assert references == []  # seeded orders carry no reference
    listed = [url for url in recording[0].urls if url.path.endswith("/v2/orders")]
    assert listed
    assert all("include" not in url.params for url in listed)
    row = store.orders[100].data
    before = store.stats.by_route["GET /v2/orders/{id}"]
    bundle = connector.hydrate(dict(row))  # a plain row: links, no consignments
    assert store.stats.by_route["GET /v2/orders/{id}"] == before + 1
    assert bundle == connector.get_order("100")
    feed = [url for url in recording[0].urls if url.path.endswith("/v2/orders")]
    connector_changes = list(connector.iter_orders(None))
    asked = [url for url in recording[0].urls if url.path.endswith("/v2/orders")][len(feed):]
    assert asked
    assert all(url.params["include"] == "consignments.line_items,fees" and
                         url.params["consignment_structure"] == "object" for url in asked)
    assert all(change.snapshot is not None for change in connector_changes)


def test_a_row_without_an_id_is_refused(connector: BigCommerceConnector) -> None:
    with pytest.raises(InvalidPayload) as caught:
        connector.hydrate({"consignments": {"shipping": []}})
    assert "id" in str(caught.value)


def test_without_embedding_hydrate_reads_the_order_plain(store: Simulator, make_connector: Make) -> None:
    embedded = next(c for c in make_connector(store).iter_orders(None) if c.id == "100")
    assert embedded.snapshot is not None
    plain = make_connector(store, embed_sub_resources=False)
    assert all(change.snapshot is None for change in plain.iter_orders(None))
    before = store.stats.total
    bundle = plain.hydrate(embedded.snapshot)
    assert store.stats.total - before == 5  # the order and its four sub-resources
    assert "consignments" not in bundle["order"] or "resource" in bundle["order"]["consignments"]

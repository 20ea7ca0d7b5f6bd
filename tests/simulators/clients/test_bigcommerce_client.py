"""The official ``bigcommerce`` Python client (bigcommerce-api-python), written for the real API, pointed at
the BigCommerce simulator as a contract test: list with paging past the end, get an order with its
sub-resources, create, update the status, ship, delete. Its quirks are in docs/platforms/bigcommerce.md."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

bigcommerce = pytest.importorskip("bigcommerce", reason="dev dependency bigcommerce is not installed")

from bigcommerce.api import BigcommerceApi  # noqa: E402
from bigcommerce.exception import ClientRequestException  # noqa: E402

from simulators import serve_in_thread  # noqa: E402
from simulators.bigcommerce import Simulator  # noqa: E402

BILLING = {"first_name": "Ada", "last_name": "Client", "street_1": "1 Main St", "city": "Austin", "state": "Texas",
           "zip": "78701", "country": "United States", "country_iso2": "US", "email": "ada@example.com"}


def _empty(value: Any) -> bool:
    """How the client answers a 204: one resource object with no fields (not an empty list)."""
    return isinstance(value, dict) and not [key for key in value if not str(key).startswith("_")]


@pytest.fixture
def store() -> Iterator[tuple[Simulator, Any]]:
    sim = Simulator(orders=260, seed=21, rate_limit=False)
    server = serve_in_thread(sim.app)
    api = BigcommerceApi(client_id="sim-client", store_hash="simstore", access_token="sim-token")
    # Quirk: the client always builds "https://" + host; the simulator serves plain HTTP on loopback.
    api.connection.full_path = lambda url: f"{server.url}/stores/simstore/v2/{url}"
    yield sim, api
    server.stop()


def test_lists_every_order_paging_past_the_end(store: tuple[Simulator, Any]) -> None:
    sim, api = store
    orders = list(api.Orders.iterall())  # pages of 250 until the 204 past the last page
    assert len(orders) == 260
    assert [o.id for o in orders] == sorted(sim.orders)
    assert len(api.Orders.all(limit=50, page=6)) == 10
    assert _empty(api.Orders.all(limit=50, page=7))  # quirk: a 204 page is an empty object, not []
    assert api.Orders.count() == 260  # the client unwraps {"count": N}
    with pytest.raises(ClientRequestException, match="413"):
        api.Orders.all(limit=251)
    assert api.connection.rate_limit == {}  # no window on this store: no X-Rate-Limit-* headers


def test_gets_an_order_with_its_sub_resources(store: tuple[Simulator, Any]) -> None:
    sim, api = store
    shipped = next(o for o in sim.orders.values() if o.shipments and o.coupons)
    order = api.Orders.get(shipped.id)
    assert order.status_id == shipped.data["status_id"]
    assert "products" not in order  # quirk: keys named like the client's methods are dropped from the dict
    products = order.products()
    assert [p.sku for p in products] == [p["sku"] for p in shipped.products]
    assert order.products(products[0].id).id == products[0].id
    assert [a.id for a in order.shipping_addresses()] == [a["id"] for a in shipped.addresses]
    assert [c.code for c in order.coupons()] == [c["code"] for c in shipped.coupons]
    assert [s.id for s in order.shipments()] == list(shipped.shipments)
    assert _empty(order.messages())  # 204: no messages
    plain = next(o for o in sim.orders.values() if not o.coupons)
    assert _empty(api.Orders.get(plain.id).coupons())  # an empty sub-resource too


def test_creates_updates_ships_and_deletes(store: tuple[Simulator, Any]) -> None:
    sim, api = store
    mug = sim.variants_by_sku["MUG-BLK"]
    created = api.Orders.create(billing_address=BILLING, products=[{"product_id": mug.product_id, "quantity": 2}],
                                external_order_id="ext-42")
    assert (created.status_id, created.external_order_id) == (1, "ext-42")
    updated = created.update(status_id=11)
    assert updated.status == "Awaiting Fulfillment"
    [line] = created.products()
    [address] = created.shipping_addresses()
    shipment = api.OrderShipments.create(created.id, order_address_id=address.id, tracking_number="1Z999",
                                         shipping_provider="ups",
                                         items=[{"order_product_id": line.id, "quantity": 2}])
    assert shipment.generated_tracking_link.endswith("1Z999")
    assert api.Orders.get(created.id).status_id == 2  # shipping every unit moved it to Shipped
    changed = shipment.update(tracking_number="1Z000")
    assert changed.tracking_number == "1Z000"
    assert api.Orders.all(external_order_id="ext-42")[0].id == created.id
    created.delete()
    assert api.Orders.get(created.id).is_deleted is True  # DELETE archives
    assert _empty(api.Orders.all(external_order_id="ext-42"))
    with pytest.raises(ClientRequestException, match="400"):
        api.Orders.create(billing_address=BILLING, products=[{"product_id": mug.product_id, "quantity": 1}],
                          status="Pending")  # read-only field, as the real API refuses it


def test_reads_the_rate_limit_headers_and_raises_on_429() -> None:
    from bigcommerce.exception import RateLimitingException

    sim = Simulator(orders=3, seed=2, rate_limit=(3, 30.0))
    server = serve_in_thread(sim.app)
    try:
        api = BigcommerceApi(client_id="sim-client", store_hash="simstore", access_token="sim-token")
        api.connection.full_path = lambda url: f"{server.url}/stores/simstore/v2/{url}"
        api.Orders.all()
        limits = api.connection.rate_limit
        assert (limits["requests_quota"], limits["requests_remaining"], limits["window_size_ms"]) == (3, 2, 30000)
        api.Orders.all()
        api.Orders.all()
        with pytest.raises(RateLimitingException) as raised:
            api.Orders.all()
        assert int(raised.value.retry_after) > 0  # the client reads X-Rate-Limit-Time-Reset-Ms
    finally:
        server.stop()

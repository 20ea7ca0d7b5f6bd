"""The MerchantPro change feed carries whole orders (``include=line_items``) and ``hydrate`` reads none.

For every seeded order the bundle built from the feed's row equals ``get_order`` (and so does the
neutral order the mapping reads from it), with no request; a row missing a field the mapping reads
costs exactly one ``GET``; a row without ``id`` is refused naming ``id``.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connectors.errors import InvalidPayload
from connectors.merchantpro.client import ROW_FIELDS, MerchantProConnector, holds_order, open_connector
from connectors.merchantpro.wire import MerchantProShipmentUpdate
from connectors.testing import ASGITransport
from connectors.testing import RecordingTransport as Recording
from mappings.merchantpro import to_neutral
from tests.connectors.merchantpro.conftest import Shop, settings


def fast(shop: Shop) -> MerchantProConnector:
    """A connector to the simulator without the shop's 78/min pacing (the simulator's limit is off too)."""
    transport = ASGITransport(shop.sim, timeout=5.0)
    return open_connector(settings().model_copy(update={"options": {"rate_limit": {"requests": 10_000}}}),
                          transport=transport)


@pytest.mark.parametrize("shop", [{"orders": 40}], indirect=True)
def test_every_seeded_order_hydrates_from_its_row_with_no_request(shop: Shop) -> None:
    connector = fast(shop)
    before = datetime.now(UTC)
    changes = list(connector.iter_orders(None))
    assert len(changes) == 40
    assert shop.sim.stats.total == 1  # one list page of 100 carries all 40 orders
    for change in changes:
        assert change.snapshot is not None
        assert change.read_at is not None
        assert change.read_at >= before
        sent = shop.sim.stats.total
        bundle = connector.hydrate(change.snapshot)
        assert shop.sim.stats.total == sent, "hydrate made a request"
        direct = connector.get_order(change.id)
        assert bundle == direct
        assert to_neutral(bundle, store="mp") == to_neutral(direct, store="mp")
    connector.close()


def test_rechecked_open_orders_carry_their_row_too(shop: Shop, connector: MerchantProConnector) -> None:
    feed = connector.iter_orders(None)
    list(feed)
    cursor = feed.cursor
    assert cursor is not None
    assert cursor["open"]
    order_id = next(iter(cursor["open"]))
    connector.update_shipment(order_id, "awb:x", MerchantProShipmentUpdate(shipping_awb="AWB-1"))
    changed = [c for c in connector.iter_orders(cursor) if c.id == order_id]
    assert len(changed) == 1
    assert changed[0].snapshot is not None
    sent = shop.sim.stats.total
    assert connector.hydrate(changed[0].snapshot)["shipping_awb"] == "AWB-1"
    assert shop.sim.stats.total == sent



@pytest.mark.parametrize("shop", [{"orders": 230}], indirect=True)
def test_the_feed_asks_for_whole_rows_at_the_page_cap(shop: Shop) -> None:
    transport = Recording(ASGITransport(shop.sim, timeout=5.0))
    connector = open_connector(settings(), transport=transport)
    try:
        changes = list(connector.iter_orders(None))
    finally:
        connector.close()
    assert len(changes) == 230
    assert all(c.snapshot is not None for c in changes)
    lists = [url for url in transport.urls if url.path == "/api/v2/orders"]
    assert len(lists) == 3  # 100 + 100 + 30
    for url in lists:
        assert url.params["include"] == "line_items"
        assert url.params["limit"] == "100"
        assert "fields" not in url.params


def test_a_row_missing_a_field_the_mapping_reads_costs_one_get(shop: Shop, connector: MerchantProConnector) -> None:
    change = next(iter(connector.iter_orders(None)))
    assert change.snapshot is not None
    for field in ("shipping_awb", "line_items"):
        row = {k: v for k, v in change.snapshot.items() if k != field}
        assert not holds_order(row)
        sent = shop.sim.stats.total
        assert connector.hydrate(row) == connector.get_order(change.id)
        assert shop.sim.stats.total == sent + 2  # hydrate's one GET, then get_order's
    assert "line_items" in ROW_FIELDS


@pytest.mark.parametrize("row", [{}, {"id": None}, {"id": ""}, {"payment_status": "paid", "line_items": []}])
def test_a_row_without_id_is_refused_naming_the_field(connector: MerchantProConnector, row: dict[str, object]) -> None:
    with pytest.raises(InvalidPayload) as caught:
        connector.hydrate(row)
    assert caught.value.field == "id"
    assert "id" in str(caught.value)

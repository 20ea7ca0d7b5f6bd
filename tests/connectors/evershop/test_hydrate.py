"""The EverShop change feed carries whole orders and ``hydrate`` reads none; SKUs resolve in batches.

Against the simulator (which executes our documents with graphql-core on EverShop's schema): for every
seeded order, the order object on the feed's page equals ``order(uuid)`` (and the neutral order the
mapping reads from both), with no request; a changed open order is re-read whole in one aliased
batch; a light row costs one read; a row without ``uuid`` is refused naming ``uuid``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from graphql import parse

from connectors.errors import InvalidPayload, UnknownSku
from connectors.evershop import queries
from connectors.evershop.client import holds_order
from mappings.evershop import to_neutral
from simulators.evershop import Simulator
from tests.connectors.evershop.test_client_simulator import connect, plan, ref


@pytest.fixture(scope="module")
def seeded() -> Simulator:
    return Simulator(orders=24, seed=11, rate_limit=False)


def test_order_keys_are_the_fields_the_single_order_query_selects() -> None:
    document = parse(queries.ORDER)
    order = document.definitions[0].selection_set.selections[0]  # type: ignore[attr-defined]
    assert {field.name.value for field in order.selection_set.selections} == queries.ORDER_KEYS
    page = parse(queries.ORDERS_PAGE)
    items = next(f for f in page.definitions[0].selection_set.selections[0].selection_set.selections  # type: ignore[attr-defined]
                 if f.name.value == "items")
    assert {field.name.value for field in items.selection_set.selections} == queries.ORDER_KEYS
    assert "currentPage" not in queries.ORDERS_PAGE


@pytest.mark.parametrize("bridge", [True, False])
def test_every_seeded_order_hydrates_from_its_page_with_no_request(seeded: Simulator, bridge: bool) -> None:
    connector = connect(seeded, bridge=bridge)
    try:
        before = datetime.now(UTC)
        sent = seeded.stats.total
        changes = list(connector.iter_orders(None))
        assert len(changes) == 24
        assert seeded.stats.total - sent <= 2  # a token and one page of 50 (no per-order read)
        for change in changes:
            assert change.snapshot is not None
            assert change.read_at is not None
            assert change.read_at >= before
            sent = seeded.stats.total
            bundle = connector.hydrate(change.snapshot)
            assert seeded.stats.total == sent, "hydrate made a request"
            direct = connector.get_order(change.id)
            assert bundle == direct
            assert to_neutral(bundle, store="es") == to_neutral(direct, store="es")
    finally:
        connector.close()


def test_changed_open_orders_are_read_whole_in_one_batch() -> None:
    sim = Simulator(orders=3, seed=3, rate_limit=False)
    connector = connect(sim, bridge=True)
    try:
        targets = [connector.create_order(plan(("MUG-BLK", 1)), ref(n)).id for n in (1, 2)]
        feed = connector.iter_orders(None)
        list(feed)
        cursor = feed.cursor
        assert cursor is not None
        assert set(targets) <= set(cursor["open"])
        for uuid in targets:
            connector.cancel_order(uuid)
        sent = sim.stats.total
        changes = list(connector.iter_orders(cursor))
        assert {c.id for c in changes} == set(targets)
        # the bridge page (nothing new), the light states of the open orders, the two changed ones whole
        assert sim.stats.total - sent == 3
        for change in changes:
            assert change.snapshot is not None
            assert _code(change.snapshot, "status") == "canceled"
            assert connector.hydrate(change.snapshot) == connector.get_order(change.id)
    finally:
        connector.close()


def test_a_light_row_costs_one_read(seeded: Simulator) -> None:
    connector = connect(seeded, bridge=True)
    try:
        light = connector._orders_page([{"key": "limit", "operation": "eq", "value": "1"}], light=True)["items"][0]
        assert not holds_order(light)
        sent = seeded.stats.total
        assert connector.hydrate(light) == connector.get_order(light["uuid"])
        assert seeded.stats.total == sent + 2  # hydrate's read, then get_order's
    finally:
        connector.close()


@pytest.mark.parametrize("row", [{}, {"uuid": None}, {"uuid": ""}, {"orderId": 3, "items": []}])
def test_a_row_without_uuid_is_refused_naming_the_field(seeded: Simulator, row: dict[str, Any]) -> None:
    connector = connect(seeded)
    try:
        with pytest.raises(InvalidPayload) as caught:
            connector.hydrate(row)
        assert caught.value.field == "uuid"
    finally:
        connector.close()


def test_resolve_skus_reads_many_skus_in_one_request(seeded: Simulator) -> None:
    connector = connect(seeded, sku_batch=2)
    try:
        skus = sorted(seeded.products)[:3]
        queries_sent = seeded.stats.by_route["POST /api/admin/graphql"]
        found = connector.resolve_skus([*skus, "NO-SUCH-SKU", skus[0], "A,B"])
        assert set(found) == set(skus)
        # 4 listable SKUs, 2 a request
        assert seeded.stats.by_route["POST /api/admin/graphql"] - queries_sent == 2
        sent = seeded.stats.total
        assert connector.resolve_sku(skus[1]) == found[skus[1]]
        with pytest.raises(UnknownSku):
            connector.resolve_sku("NO-SUCH-SKU")
        assert seeded.stats.total == sent  # answered from the cache, unknown remembered
        assert connector.resolve_skus(skus) == {sku: found[sku] for sku in skus}
        assert seeded.stats.total == sent
        one = connect(seeded)
        try:
            assert one.resolve_sku(skus[2]) == found[skus[2]]
        finally:
            one.close()
    finally:
        connector.close()


def _code(item: dict[str, Any], key: str) -> str | None:
    value = item.get(key)
    return value.get("code") if isinstance(value, dict) else None

"""The CS-Cart change feed lists whole orders (``get_orders_data=1``); ``hydrate`` adds only shipments.

For every seeded order the bundle built from the feed's row equals ``get_order`` (and so does the
neutral order), and hydrate's requests are exactly the shipments the row lists (one call, or none);
each change carries the row's ``updated_at``. Short rows (``full_rows`` off, or a store that ignores
``get_orders_data``) carry no snapshot; hydrate then reads by ``order_id``; a row without it is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from connectors.cscart.client import CsCartConnector, holds_order
from connectors.cscart.wire import parse_id_list
from connectors.errors import InvalidPayload
from mappings.cscart import to_neutral
from simulators.cscart import Simulator


@pytest.mark.parametrize("version", ["4.13.2", "4.3"])
def test_every_seeded_order_hydrates_from_its_row(make_sim: Callable[..., Simulator],
                                                  connect: Callable[..., CsCartConnector], version: str) -> None:
    sim = make_sim(orders=30, seed=5, version=version)
    connector = connect(sim, page_size=100)
    before = datetime.now(UTC)
    changes = list(connector.iter_orders(None))
    assert len(changes) == len([o for o in sim.orders.values() if o.columns["status"] not in ("N", "T")
                                and o.columns.get("is_parent_order") != "Y"])
    shipped = 0
    for change in changes:
        assert change.snapshot is not None
        assert holds_order(change.snapshot)
        assert change.read_at is not None
        assert change.read_at >= before
        assert change.updated_at == datetime.fromtimestamp(int(change.snapshot["updated_at"]), UTC)
        sent = sim.stats.total
        bundle = connector.hydrate(change.snapshot)
        listed = bool(parse_id_list(change.snapshot.get("shipment_ids")))
        assert sim.stats.total - sent == (1 if listed else 0)
        shipped += listed
        direct = connector.get_order(change.id)
        assert bundle == direct
        assert to_neutral(bundle, store="cs") == to_neutral(direct, store="cs")
    assert 0 < shipped < len(changes)  # both paths were taken


def test_the_feed_reads_a_page_of_whole_orders_per_call(sim: Simulator, connect: Callable[..., CsCartConnector]
                                                        ) -> None:
    connector = connect(sim, page_size=10, updated_at_filter="true")
    changes = list(connector.iter_orders(None))
    assert all(c.snapshot is not None for c in changes)
    assert sim.stats.total == -(-len(changes) // 10)  # list pages only, no per-order read


def test_short_rows_carry_no_snapshot_and_hydrate_reads_by_id(sim: Simulator,
                                                              connect: Callable[..., CsCartConnector]) -> None:
    connector = connect(sim, full_rows=False, updated_at_filter="true")
    changes = list(connector.iter_orders(None))
    assert changes
    assert all(c.snapshot is None and c.read_at is None for c in changes)
    row: dict[str, Any] = {"order_id": changes[0].id, "status": "O", "timestamp": "1700000000"}
    assert not holds_order(row)
    sent = sim.stats.total
    assert connector.hydrate(row) == connector.get_order(changes[0].id)
    assert sim.stats.total - sent >= 2  # hydrate read the order itself, like get_order


@pytest.mark.parametrize("row", [{}, {"order_id": None}, {"order_id": ""}, {"order_id": 0}, {"products": {}}])
def test_a_row_without_order_id_is_refused_naming_the_field(connector: CsCartConnector, row: dict[str, Any]) -> None:
    with pytest.raises(InvalidPayload) as caught:
        connector.hydrate(row)
    assert caught.value.field == "order_id"

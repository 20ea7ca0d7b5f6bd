"""Convergence: every mirrored order ends in its source's state (issue #9), in one process.

BigCommerce and EverShop simulators, the real engine: an order completed before its first mirror
ends Completed on BigCommerce (shipments before the final status); a target status changed behind
ordersync's back is repaired by the next deep sweep; a state EverShop cannot show is an attention
item with both states, and its warnings reach ``ordersync status --json``; a reverse route never
mirrors back a create of ours, linked or still pending; both directions of a store pair take one lock.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fakeredis
import httpx
import orjson
import pytest
from typer.testing import CliRunner

from simulators import serve_in_thread
from simulators.bigcommerce import Simulator as BigCommerce
from simulators.evershop import Simulator as EverShop
from simulators.runner import RunningServer
from sync.config import load_config
from sync.engine import MirrorPending, pair_lock_name
from tests.workers.shoppers import bigcommerce_order, evershop_order
from workers import context
from workers.cli import app
from workers.locks import LockBusy, Locks

ROUTES = """
[[routes]]
source = "es"
target = "us"
source_statuses = ["new", "processing", "completed", "closed"]

[[routes]]
source = "us"
target = "es"
source_statuses = ["1", "2", "7", "9", "10", "11"]
"""


class Pair:
    """A BigCommerce store ``us`` and an EverShop store ``es``, routed both ways."""

    def __init__(self, tmp: Path, *, es_orders: int = 0) -> None:
        self.bc = BigCommerce(rate_limit=False)
        self.es = EverShop(orders=es_orders, seed=7, rate_limit=False)
        self.servers: list[RunningServer] = [serve_in_thread(s.app) for s in (self.bc, self.es)]
        self.bc_url = f"{self.servers[0].url}/stores/simstore"
        self.es_url = self.servers[1].url
        os.environ.update({"CV_BC": "sim-token", "CV_ESE": "admin@example.com", "CV_ESP": "Admin12345"})
        self.path = tmp / "ordersync.toml"
        self.path.write_text(f"""
[settings]
database_url = "sqlite:///{tmp / 'state.db'}"
broker_url = "memory://"
log_level = "WARNING"

[stores.us]
platform = "bigcommerce"
base_url = "{self.bc_url}"
credentials = {{ token = "${{CV_BC}}" }}
options = {{ rate_limit = {{ requests = 100000, per_seconds = 1 }} }}  # the simulator's window is lifted too

[stores.es]
platform = "evershop"
base_url = "{self.es_url}"
credentials = {{ email = "${{CV_ESE}}", password = "${{CV_ESP}}" }}
{ROUTES}""")
        self.config = load_config(self.path)
        self.ctx = context.Context.build(self.config)
        context.install(self.ctx)

    @property
    def engine(self) -> Any:
        return self.ctx.engine

    def neutral(self, store: str, order_id: str) -> Any:
        runtime = self.ctx.runtime
        return runtime.to_neutral(store, runtime.connector(store).get_order(order_id))

    def bc_status(self, order_id: str) -> int:
        response = httpx.get(f"{self.bc_url}/v2/orders/{order_id}", headers={"X-Auth-Token": "sim-token"}, timeout=10)
        return int(response.json()["status_id"])

    def set_bc_status(self, order_id: str, status_id: int) -> None:
        response = httpx.put(f"{self.bc_url}/v2/orders/{order_id}", json={"status_id": status_id},
                             headers={"X-Auth-Token": "sim-token"}, timeout=10)
        assert response.status_code == 200, response.text

    def close(self) -> None:
        context.install(None)
        self.ctx.close()
        for server in self.servers:
            server.stop()


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Pair]:
    p = Pair(tmp_path, es_orders=30)
    yield p
    p.close()


def _completed_evershop_order(pair: Pair) -> str:
    """A seeded EverShop order that is shipped, paid and delivered (status ``completed``)."""
    for order in pair.es.orders.values():
        row = order.row
        if row["status"] == "completed" and row["shipment_status"] == "delivered":
            return str(row["uuid"])
    pytest.skip("the seed has no completed EverShop order")


def test_an_order_completed_before_its_first_mirror_ends_completed_on_bigcommerce(pair: Pair) -> None:
    """Shipments go first (BigCommerce sets Shipped on a shipment), then the final status: Completed."""
    uuid = _completed_evershop_order(pair)
    result = pair.engine.reconcile("es-to-us", "es", uuid)
    assert result.outcome == "synced", result
    assert result.applied.index("shipment") < result.applied.index("status"), result.applied
    assert pair.bc_status(result.target_id) == 10
    assert pair.neutral("us", result.target_id).status == "completed"


def test_a_status_changed_behind_our_back_is_repaired_by_the_next_deep_sweep(pair: Pair) -> None:
    """The source did not change, so a shallow reconcile says unchanged; the deep one reads the
    target, sees Awaiting Fulfillment, and writes Completed again under a new key."""
    uuid = _completed_evershop_order(pair)
    mirror = pair.engine.reconcile("es-to-us", "es", uuid).target_id
    pair.set_bc_status(mirror, 11)
    assert pair.engine.reconcile("es-to-us", "es", uuid).outcome == "unchanged"
    assert pair.bc_status(mirror) == 11
    repaired = pair.engine.reconcile("es-to-us", "es", uuid, deep=True)
    assert repaired.applied == ["status"], repaired
    assert pair.bc_status(mirror) == 10
    again = pair.engine.reconcile("es-to-us", "es", uuid, deep=True)
    assert again.outcome == "unchanged"
    assert again.applied == []


def test_the_sweep_task_reconciles_linked_orders_deeply(pair: Pair) -> None:
    """``reconcile_all`` (the beat's sweep by list) finds the drifted status from BigCommerce's list and repairs
    it. The drift is made past the sweep's slack after our last write (a mirror stamped within it is taken
    for that write, see sync/sweep.py)."""
    from sync.sweep import STAMP_SLACK
    from workers.tasks import reconcile_all

    uuid = _completed_evershop_order(pair)
    mirror = pair.engine.reconcile("es-to-us", "es", uuid).target_id
    time.sleep(STAMP_SLACK.total_seconds() + 1.1)  # the slack, and BigCommerce's whole-second stamps
    pair.set_bc_status(mirror, 9)
    reconcile_all.apply()
    assert pair.bc_status(mirror) == 10


def test_completed_without_shipment_on_evershop_is_an_attention_item_with_both_states(pair: Pair) -> None:
    """EverShop cannot be Completed without a shipment: not "unchanged", an inexpressible_state item,
    and the mapping's warning is stored and shown by ``ordersync status --json``."""
    order_id = bigcommerce_order(pair.bc_url, "nodelivery@example.com", status_id=10)
    result = pair.engine.reconcile("us-to-es", "us", order_id)
    assert result.outcome == "diverged", result
    items = pair.ctx.store.attention(kinds=["inexpressible_state"])
    assert len(items) == 1
    detail = items[0].detail or {}
    assert detail["source_state"]["raw_status"] == "10"
    assert detail["source_state"]["status"] == "completed"
    assert detail["target_state"]["status"] != "completed"
    assert detail["target_store"] == "es"
    assert detail["target_id"] == result.target_id
    # A second look keeps one open item (counted), never "both sides already agree".
    assert pair.engine.reconcile("us-to-es", "us", order_id).outcome == "diverged"
    assert len(pair.ctx.store.attention(kinds=["inexpressible_state"])) == 1

    out = CliRunner().invoke(app, ["status", "--json", "--config", str(pair.path)])
    assert out.exit_code == 0, out.output
    data = orjson.loads(out.stdout)
    mine = [w for w in data["warnings"] if w["order_id"] == order_id]
    assert any(w["operation"] == "create" and "completed/paid/" in w["message"] for w in mine), mine
    assert any(w["operation"] == "status" and "no open shipment" in w["message"] for w in mine), mine
    assert all(w["binding_id"] for w in mine)
    assert data["attention"].get("inexpressible_state") == 1
    table = CliRunner().invoke(app, ["status", "--config", str(pair.path)])
    assert "Mapping warnings" in table.output


def test_repriced_lines_are_reported_per_line(pair: Pair) -> None:
    """EverShop prices MUG-BLK from its catalog (12.50): a source line at 9.00 is named in the drift."""
    order_id = bigcommerce_order(pair.bc_url, "cheap@example.com", sku="MUG-BLK", qty=2, price="9.00")
    pair.engine.reconcile("us-to-es", "us", order_id)
    items = [i for i in pair.ctx.store.attention(kinds=["price_drift"]) if i.order_id == order_id]
    assert len(items) == 1, items
    lines = (items[0].detail or {})["lines"]
    assert lines == [{"sku": "MUG-BLK", "source_quantity": 2, "target_quantity": 2, "source_unit_price": "9.00",
                      "target_unit_price": lines[0]["target_unit_price"]}]
    assert lines[0]["target_unit_price"] != "9.00"
    assert "MUG-BLK" in items[0].reason


def test_a_mirror_read_on_the_reverse_route_is_never_mirrored_back(pair: Pair, monkeypatch: pytest.MonkeyPatch) -> None:
    """Even when EverShop's reference metafield never got stamped, the reverse route recognises the
    mirror by its target id (any route) and refuses it."""
    connector = pair.ctx.runtime.connector("es")
    monkeypatch.setattr(connector, "_stamp_quietly", lambda order_id, key: None)
    monkeypatch.setattr(connector, "stamp_reference", lambda order_id, key: None)
    order_id = bigcommerce_order(pair.bc_url, "twoway@example.com")
    mirror = pair.engine.reconcile("us-to-es", "us", order_id).target_id
    assert pair.neutral("es", mirror).mirror_of is None  # the window the issue describes
    before = len(pair.bc.orders)
    back = pair.engine.reconcile("es-to-us", "es", mirror)
    assert back.outcome == "filtered", back
    assert f"mirror of us:{order_id}" in (back.reason or "")
    assert len(pair.bc.orders) == before
    assert pair.ctx.store.binding("es-to-us", "es", mirror) is None


def test_an_order_matching_a_pending_create_waits_instead_of_being_mirrored(pair: Pair) -> None:
    """A create in flight to EverShop has committed its identity (customer e-mail) in the pending
    binding: an EverShop order with that identity is retried (MirrorPending), then refused once linked."""
    store = pair.ctx.store
    pending = store.open_binding(route="us-to-es", source_store="us", source_id="999", target_store="es",
                                 reference="ordersync:us:999")
    assert pending.id is not None
    store.update_binding(pending.id, progress={"identity": {"reference": "ordersync:us:999",
                                                            "email": "inflight@example.com"}})
    uuid = evershop_order(pair.es_url, pair.es, "InFlight@example.com")
    with pytest.raises(MirrorPending):
        pair.engine.reconcile("es-to-us", "es", uuid)
    assert store.binding("es-to-us", "es", uuid) is None
    store.update_binding(pending.id, state="linked", target_id=uuid, pending_since=None)
    assert pair.engine.reconcile("es-to-us", "es", uuid).outcome == "filtered"
    # Another customer's order is not held up by it.
    other = evershop_order(pair.es_url, pair.es, "someone.else@example.com")
    assert pair.engine.reconcile("es-to-us", "es", other).outcome == "synced"


def test_the_pending_binding_carries_the_create_identity(pair: Pair) -> None:
    """Reference, e-mail, notes marker and tag are committed before the create call."""
    order_id = bigcommerce_order(pair.bc_url, "Identity@Example.com")
    pair.engine.reconcile("us-to-es", "us", order_id)
    binding = pair.ctx.store.binding("us-to-es", "us", order_id)
    assert binding is not None
    identity = (binding.progress or {})["identity"]
    assert identity["reference"] == f"ordersync:us:{order_id}"
    assert identity["email"] == "identity@example.com"
    assert identity["marker"] == f"[ordersync:us:{order_id}]"
    assert (binding.progress or {}).get("cart_id")  # EverShop's cart, persisted before the checkout


def test_both_directions_take_one_lock_per_order_pair(pair: Pair) -> None:
    """``us-to-es`` and ``es-to-us`` lock the same name for the same order, so a reverse read of the
    mirror waits for the forward work on its original."""
    forward, reverse = pair.config.route("us-to-es"), pair.config.route("es-to-us")
    assert pair_lock_name(forward, "us", "5") == pair_lock_name(reverse, "us", "5")
    assert pair_lock_name(forward, "us", "5") != pair_lock_name(forward, "us", "6")
    order_id = bigcommerce_order(pair.bc_url, "locked@example.com")
    mirror = pair.engine.reconcile("us-to-es", "us", order_id).target_id
    locks = Locks(fakeredis.FakeRedis(server=fakeredis.FakeServer(version=(7,))), prefix="t:")
    pair.engine.locker = locks
    with locks.hold(pair_lock_name(forward, "us", order_id), 30), pytest.raises(LockBusy):
        pair.engine.reconcile("es-to-us", "es", mirror)

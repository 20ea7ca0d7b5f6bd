"""The reconcile engine in one process, against simulated shops: bad input is parked with its reason
and its input, shows in `ordersync status`, and is released by `ordersync replay`.

Covers the four kinds of bad input the product promises to keep: an unknown SKU, a target that
rejects a write, an order the mapping cannot read, and (in tests/workers/test_api.py) a malformed
webhook. Also: unchanged orders are skipped, creates are recorded before the call, and
abandoned checkouts are never mirrored.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from typer.testing import CliRunner

from simulators import serve_in_thread
from simulators.bigcommerce import Simulator as BigCommerce
from simulators.cscart import Simulator as CsCart
from simulators.merchantpro import Simulator as MerchantPro
from simulators.runner import RunningServer
from sync.config import OrderSyncConfig, load_config
from workers import context
from workers.cli import app

FAST = {"rate_limit": {"requests": 10_000, "per_seconds": 1, "burst": 1000}}


class Shops:
    """Three simulated shops and a configuration with two routes from BigCommerce."""

    def __init__(self, tmp: Path) -> None:
        self.bc, self.mp = BigCommerce(rate_limit=False), MerchantPro(rate_limit=False)
        self.cs = CsCart(rate_limit=False)
        self.servers: list[RunningServer] = [serve_in_thread(s.app) for s in (self.bc, self.mp, self.cs)]
        bc, mp, cs = (s.url for s in self.servers)
        env = {"T_BC": "sim-token", "T_MPK": "sim-key", "T_MPS": "sim-secret", "T_CSE": "admin@example.com",
               "T_CSK": "sim-api-key"}
        os.environ.update(env)
        self.path = tmp / "ordersync.toml"
        self.path.write_text(f"""
[settings]
database_url = "sqlite:///{tmp / 'state.db'}"
broker_url = "memory://"
log_level = "WARNING"

[stores.us]
platform = "bigcommerce"
base_url = "{bc}/stores/simstore"
credentials = {{ token = "${{T_BC}}" }}
options = {{ rate_limit = {{ requests = 10000, per_seconds = 1, burst = 1000 }} }}

[stores.ro]
platform = "merchantpro"
base_url = "{mp}"
credentials = {{ api_key = "${{T_MPK}}", api_secret = "${{T_MPS}}" }}
options = {{ rate_limit = {{ requests = 10000, per_seconds = 1, burst = 1000 }} }}

[stores.eu]
platform = "cscart"
base_url = "{cs}"
credentials = {{ email = "${{T_CSE}}", api_key = "${{T_CSK}}" }}
options = {{ payment_id = 2, shipping_id = 1, currency = "USD" }}

[[routes]]
source = "us"
target = "ro"

[[routes]]
source = "us"
target = "eu"
operations = ["create", "status"]
""")
        self.config: OrderSyncConfig = load_config(self.path)
        self.ctx = context.Context.build(self.config)
        context.install(self.ctx)

    def order(self, *, sku: str = "MUG-BLK", country: str = "US", status_id: int = 11, zip_code: str = "02134") -> str:
        """The merchant creates an order on BigCommerce (a custom product line with this SKU)."""
        address = {"first_name": "Ada", "last_name": "Test", "street_1": "1 Main St", "city": "Boston",
                   "state": "Massachusetts", "zip": zip_code, "country_iso2": country, "email": "ada@example.com"}
        body = {"billing_address": address, "shipping_addresses": [address], "status_id": status_id,
                "products": [{"name": "Thing", "sku": sku, "quantity": 1, "price_ex_tax": "10.00",
                              "price_inc_tax": "10.00"}]}
        response = httpx.post(f"{self.servers[0].url}/stores/simstore/v2/orders", json=body,
                              headers={"X-Auth-Token": "sim-token"}, timeout=10)
        assert response.status_code in (200, 201), response.text
        return str(response.json()["id"])

    def reconcile(self, route: str, order_id: str) -> Any:
        return self.ctx.engine.reconcile(route, "us", order_id)

    def close(self) -> None:
        context.install(None)
        self.ctx.close()
        for server in self.servers:
            server.stop()


@pytest.fixture
def shops(tmp_path: Path) -> Iterator[Shops]:
    s = Shops(tmp_path)
    yield s
    s.close()


def _cli(shops: Shops, *args: str) -> Any:
    result = CliRunner().invoke(app, [*args, "--config", str(shops.path)])
    assert result.exit_code == 0, result.output
    return result


def test_unknown_sku_is_parked_and_released_by_replay_once_the_sku_exists(shops: Shops) -> None:
    """The order waits in the attention queue, named by its SKU, until the target knows the product."""
    order_id = shops.order(sku="NEW-SKU-1")
    result = shops.reconcile("us-to-ro", order_id)
    assert result.outcome == "parked"
    assert "NEW-SKU-1" in (result.reason or "")
    assert not shops.mp.orders, "nothing was created on the target"
    status = orjson.loads(_cli(shops, "status", "--json").stdout)
    [item] = [i for i in status["attention_items"] if i["kind"] == "unknown_sku"]
    assert item["order_id"] == order_id
    assert "NEW-SKU-1" in item["reason"]
    stored = shops.ctx.store.attention_item(item["id"])
    assert stored is not None
    assert stored.payload is not None
    assert "NEW-SKU-1" in stored.payload, "the input is kept with the reason"

    # Replaying too early changes nothing; the item stays open.
    _cli(shops, "replay", str(item["id"]))
    assert shops.ctx.store.attention_item(item["id"]).status == "open"  # type: ignore[union-attr]
    # The SKU appears on the target; replay releases the order.
    template = shops.mp.products[0]
    shops.mp.products.append({**template, "id": 999, "sku": "NEW-SKU-1", "name": "New thing", "variants": None})
    replayed = _cli(shops, "replay", "--all")
    assert "reconciled: synced" in replayed.stdout
    assert len(shops.mp.orders) == 1
    assert not [i for i in shops.ctx.store.attention() if i.kind == "unknown_sku"]


def test_rejected_write_is_parked_with_the_platforms_reason_and_replayed_after_a_fix(shops: Shops) -> None:
    """CS-Cart refuses a destination it cannot ship to; the order is parked, not retried forever."""
    order_id = shops.order(country="JP")
    result = shops.reconcile("us-to-eu", order_id)
    assert result.outcome == "parked"
    assert "shipping" in (result.reason or "").lower()
    [item] = shops.ctx.store.attention(kinds=["rejected"])
    assert item.detail is not None
    assert item.replay == {"task": "reconcile", "route": "us-to-eu", "store": "us", "order_id": order_id}
    assert not shops.cs.orders
    # The merchant fixes the address on the source; replay mirrors it.
    for address in shops.bc.orders[int(order_id)].addresses:
        address["country_iso2"], address["country"] = "US", "United States"
    shops.bc.orders[int(order_id)].data["billing_address"]["country_iso2"] = "US"
    assert "synced" in _cli(shops, "replay", str(item.id)).stdout
    assert len(shops.cs.orders) == 1


def test_order_the_mapping_cannot_read_is_parked_with_its_raw_payload(shops: Shops) -> None:
    """An amount that is not a number: the reason names the field; the raw order is kept for replay."""
    order_id = shops.order()
    shops.bc.orders[int(order_id)].data["total_inc_tax"] = "lots"
    result = shops.reconcile("us-to-ro", order_id)
    assert result.outcome == "parked"
    [item] = shops.ctx.store.attention(kinds=["invalid_payload"])
    assert "total_inc_tax" in item.reason
    assert item.payload is not None
    assert '"lots"' in item.payload
    assert not shops.mp.orders


def test_unchanged_orders_are_skipped_and_abandoned_checkouts_never_mirrored(shops: Shops) -> None:
    """A second reconcile of the same state writes nothing; an Incomplete (0) order is filtered."""
    order_id = shops.order()
    first = shops.reconcile("us-to-ro", order_id)
    assert first.outcome == "synced"
    assert "create" in first.applied
    ledger = shops.ctx.store.operations_for("us-to-ro", "us", order_id)
    assert [op.status for op in ledger if op.operation == "create"] == ["succeeded"]
    again = shops.reconcile("us-to-ro", order_id)
    assert again.outcome == "unchanged"
    assert again.applied == []
    incomplete = shops.order(status_id=0)
    assert shops.reconcile("us-to-ro", incomplete).outcome == "filtered"
    assert len(shops.mp.orders) == 1


def test_a_target_store_in_another_currency_is_reported_once_and_acknowledged_by_replay(shops: Shops) -> None:
    """CS-Cart orders carry no currency (the store's is USD here): an EUR order is mirrored, its
    forced total kept, and the mismatch waits in the attention queue as its own kind."""
    shops.bc.currency = "EUR"
    order_id = shops.order()
    result = shops.reconcile("us-to-eu", order_id)
    assert result.outcome == "synced"
    assert len(shops.cs.orders) == 1
    [item] = shops.ctx.store.attention(kinds=["currency_mismatch"])
    assert item.order_id == order_id
    assert "source EUR, target USD" in item.reason
    assert item.replay == {"task": "acknowledge"}
    assert not shops.ctx.store.attention(kinds=["price_drift"]), "the forced total matches: no drift"
    assert shops.reconcile("us-to-eu", order_id).outcome == "unchanged"
    assert len(shops.ctx.store.attention(kinds=["currency_mismatch"])) == 1
    assert "nothing to replay" in _cli(shops, "replay", str(item.id)).stdout  # replay only replays
    assert len(shops.ctx.store.attention(kinds=["currency_mismatch"])) == 1
    _cli(shops, "attention", "dismiss", str(item.id), "--note", "EUR orders are fine on this store")
    assert not shops.ctx.store.attention(kinds=["currency_mismatch"])

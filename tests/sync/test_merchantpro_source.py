"""A route from MerchantPro to BigCommerce, against the simulators: an abandoned checkout
(``payment_status: temporary``) is filtered with a reason naming that field and advice that works,
and a payment that goes from failed to paid moves the BigCommerce mirror out of Pending."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from simulators import serve_in_thread
from simulators.bigcommerce import Simulator as BigCommerce
from simulators.merchantpro import Simulator as MerchantPro
from simulators.runner import RunningServer
from sync.config import load_config
from workers import context


class Shops:
    """A MerchantPro shop mirrored to a BigCommerce shop (route ``ro-to-us``)."""

    def __init__(self, tmp: Path, route_extra: str = "") -> None:
        self.bc, self.mp = BigCommerce(rate_limit=False), MerchantPro(rate_limit=False, seed=12)
        self.servers: list[RunningServer] = [serve_in_thread(s.app) for s in (self.bc, self.mp)]
        bc, mp = (s.url for s in self.servers)
        os.environ.update({"T12_BC": "sim-token", "T12_MPK": "sim-key", "T12_MPS": "sim-secret"})
        self.path = tmp / "ordersync.toml"
        self.path.write_text(f"""
[settings]
database_url = "sqlite:///{tmp / 'state.db'}"
broker_url = "memory://"
log_level = "WARNING"

[stores.us]
platform = "bigcommerce"
base_url = "{bc}/stores/simstore"
credentials = {{ token = "${{T12_BC}}" }}
options = {{ rate_limit = {{ requests = 10000, per_seconds = 1, burst = 1000 }} }}

[stores.ro]
platform = "merchantpro"
base_url = "{mp}"
credentials = {{ api_key = "${{T12_MPK}}", api_secret = "${{T12_MPS}}" }}
options = {{ rate_limit = {{ requests = 10000, per_seconds = 1, burst = 1000 }} }}

[[routes]]
source = "ro"
target = "us"
{route_extra}
""")
        self.ctx = context.Context.build(load_config(self.path))
        context.install(self.ctx)

    def order(self, payment: str, shipping: str = "awaiting") -> str:
        """A MerchantPro order in the given payment and shipping statuses."""
        order = self.mp.add_random_order()
        self.mp.touch(str(order["id"]), payment_status=payment, shipping_status=shipping, shipping_awb=None,
                      date_shipped=None, date_delivered=None)
        return str(order["id"])

    def reconcile(self, order_id: str) -> Any:
        return self.ctx.engine.reconcile("ro-to-us", "ro", order_id)

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


def test_abandoned_checkout_is_filtered_naming_payment_status(shops: Shops) -> None:
    result = shops.reconcile(shops.order("temporary"))
    assert result.outcome == "filtered"
    assert result.reason.startswith("payment_status 'temporary' is an abandoned checkout on merchantpro")
    assert "source_statuses" in result.reason
    assert "shipping_status" not in result.reason
    assert not shops.bc.orders


def test_the_advice_works_naming_temporary_in_source_statuses_mirrors_it(tmp_path: Path) -> None:
    shops = Shops(tmp_path, 'source_statuses = ["temporary", "paid"]')
    try:
        result = shops.reconcile(shops.order("temporary"))
        assert result.outcome == "synced", result.reason
        assert len(shops.bc.orders) == 1
        assert shops.reconcile(shops.order("awaiting")).outcome == "filtered"  # the list replaces the default
    finally:
        shops.close()


def test_payment_failed_then_paid_moves_the_bigcommerce_mirror_out_of_pending(shops: Shops) -> None:
    order_id = shops.order("failed")
    first = shops.reconcile(order_id)
    assert first.outcome == "synced", first.reason
    [mirror] = shops.bc.orders.values()
    assert mirror.data["status_id"] == 1
    shops.mp.touch(order_id, payment_status="paid")
    second = shops.reconcile(order_id)
    assert second.outcome == "synced", second.reason
    assert second.applied == ["status"]
    assert mirror.data["status_id"] == 11  # Awaiting Fulfillment

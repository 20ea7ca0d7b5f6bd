"""Runtime wiring of batched SKU look-ups (issue #10): a target that can look many SKUs up at once gets them."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import pytest

from connectors.base import ProductRef
from connectors.bigcommerce.client import BigCommerceConnector
from connectors.errors import Transient
from connectors.testing import ASGITransport
from simulators.bigcommerce import Simulator
from sync.config import OrderSyncConfig, StoreConfig
from sync.runtime import Runtime

VARIANTS = "GET /v3/catalog/variants"


@pytest.fixture
def shop() -> Simulator:
    return Simulator(orders=0, seed=3, rate_limit=False)


@pytest.fixture
def runtime(shop: Simulator) -> Iterator[Runtime]:
    store = StoreConfig(platform="bigcommerce", base_url="http://sim/stores/simstore",
                        credentials={"token": "sim-token"}, options={"backoff": 0.01})
    transport = ASGITransport(shop.app, timeout=5.0)
    live = Runtime(OrderSyncConfig(stores={"bc": store}), transports={"bc": transport})
    yield live
    live.close()
    transport.close()


def test_target_context_batches_the_skus_of_an_order(shop: Simulator, runtime: Runtime) -> None:
    ctx = runtime.target_context("bc")
    assert ctx.catalog_batch is not None
    ctx.prefetch(["TEE-M", "MUG-BLK", None, "TEE-M", "NOPE-9"])
    assert shop.stats.by_route[VARIANTS] == 1
    assert ctx.resolve("TEE-M") is not None
    assert ctx.resolve("MUG-BLK") is not None
    assert shop.stats.by_route[VARIANTS] == 1  # answered from the connector's cache


def test_prefetch_skus_for_a_page(shop: Simulator, runtime: Runtime) -> None:
    runtime.prefetch_skus("bc", ["TEE-L", "TEE-S", "", None, "TEE-L"])
    assert shop.stats.by_route[VARIANTS] == 1
    runtime.prefetch_skus("bc", [None, ""])
    assert shop.stats.by_route[VARIANTS] == 1  # nothing to ask
    connector = runtime.connector("bc")
    assert isinstance(connector, BigCommerceConnector)
    assert connector.resolve_sku("TEE-S").sku == "TEE-S"
    assert shop.stats.by_route[VARIANTS] == 1


class _Failing:
    """A target whose batch look-up fails (and one without any)."""

    def __init__(self) -> None:
        self.asked: list[list[str]] = []

    def resolve_skus(self, skus: Iterable[str]) -> dict[str, ProductRef]:
        self.asked.append(list(skus))
        raise Transient("catalog down", platform="bigcommerce")


def test_a_failed_batch_is_not_fatal_and_targets_without_one_are_skipped() -> None:
    failing = _Failing()
    stores = {name: StoreConfig(platform="bigcommerce", base_url="http://x") for name in ("bc", "plain")}
    targets: dict[str, Any] = {"bc": failing, "plain": object()}
    live = Runtime(OrderSyncConfig(stores=stores), connector_factory=lambda name, _: targets[name])
    live.prefetch_skus("bc", ["A", "B"])  # logged, not raised: each SKU is looked up alone later
    assert failing.asked == [["A", "B"]]
    live.prefetch_skus("plain", ["A"])  # no batch look-up: nothing to do

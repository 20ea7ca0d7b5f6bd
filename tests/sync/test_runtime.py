"""Runtime wiring of batched SKU look-ups (issue #10): a target that can look many SKUs up at once gets them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

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

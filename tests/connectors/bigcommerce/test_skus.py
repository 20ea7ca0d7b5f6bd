"""Batched SKU look-ups (``GET /v3/catalog/variants?sku:in=``), cached for the run (issue #10)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import orjson
import pytest

from connectors.base import SkuBatchResolver
from connectors.bigcommerce.client import BigCommerceConnector, open_connector
from connectors.errors import UnknownSku
from simulators.bigcommerce import Simulator
from tests.connectors.bigcommerce.samples import settings

Make = Callable[..., BigCommerceConnector]
VARIANTS = "GET /v3/catalog/variants"


def test_one_call_for_many_skus_then_the_cache(sim: Simulator, connector: BigCommerceConnector) -> None:
    assert isinstance(connector, SkuBatchResolver)
    found = connector.resolve_skus(["TEE-M", "MUG-BLK", "NOPE-1", "TEE-M", ""])
    assert sim.stats.by_route[VARIANTS] == 1
    assert set(found) == {"TEE-M", "MUG-BLK"}
    assert found["TEE-M"].variant_id == str(sim.variants_by_sku["TEE-M"].id)
    assert connector.resolve_sku("TEE-M") == found["TEE-M"]
    with pytest.raises(UnknownSku) as caught:
        connector.resolve_sku("NOPE-1")
    assert caught.value.sku == "NOPE-1"
    assert connector.resolve_skus(["TEE-M", "NOPE-1"]) == {"TEE-M": found["TEE-M"]}
    assert sim.stats.by_route[VARIANTS] == 1  # everything above came from the cache


def test_a_missing_sku_is_asked_again_after_the_ttl(sim: Simulator, connector: BigCommerceConnector) -> None:
    clock = [1000.0]
    connector._monotonic = lambda: clock[0]
    assert connector.resolve_skus(["NOPE-2", "MUG-BLK"]).keys() == {"MUG-BLK"}
    clock[0] += 61
    with pytest.raises(UnknownSku):
        connector.resolve_sku("NOPE-2")
    assert sim.stats.by_route[VARIANTS] == 2  # the remembered miss expired: asked again, alone


def test_batches_of_50_and_commas_asked_alone(sim: Simulator, connector: BigCommerceConnector) -> None:
    skus = [f"MISSING-{n}" for n in range(110)] + ["TEE-L", "A,B"]
    found = connector.resolve_skus(skus)
    assert found.keys() == {"TEE-L"}
    assert sim.stats.by_route[VARIANTS] == 4  # 50 + 50 + 11 in lists, the SKU with a comma alone


def test_case_is_ignored_when_nothing_matches_exactly(connector: BigCommerceConnector) -> None:
    found = connector.resolve_skus(["tee-s", "mug-wht"])
    assert found["tee-s"].sku == "tee-s"
    assert found["tee-s"].product_id


def _variant(variant_id: int, sku: str) -> dict[str, Any]:
    return {"id": variant_id, "product_id": 9, "sku": sku, "price": 5.0, "calculated_price": 5.0,
            "inventory_level": 3, "option_values": []}


def test_pages_are_followed_and_a_refused_filter_falls_back() -> None:
    asked: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(request.url)
        params = request.url.params
        if "sku:in" in params and params["sku:in"].startswith("X"):
            return httpx.Response(400, json=[{"status": 400, "message": "The field 'sku:in' is not supported."}])
        page = int(params.get("page", "1"))
        if "sku" in params:
            body = [_variant(30, params["sku"])] if params["sku"] != "X-GONE" else []
            return httpx.Response(200, json={"data": body, "meta": {"pagination": {"total_pages": 1}}})
        data = [_variant(10, "A")] if page == 1 else [_variant(11, "B")]
        return httpx.Response(200, content=orjson.dumps({"data": data, "meta": {"pagination": {"total_pages": 2}}}))

    connector = open_connector(settings(backoff=0.01), transport=httpx.MockTransport(handler))
    try:
        found = connector.resolve_skus(["A", "B"])
        assert {sku: ref.variant_id for sku, ref in found.items()} == {"A": "10", "B": "11"}
        assert [url.params["page"] for url in asked] == ["1", "2"]
        assert all(url.params["limit"] == "250" for url in asked)
        asked.clear()
        assert connector.resolve_skus(["X-ONE", "X-GONE"]).keys() == {"X-ONE"}
        assert [url.params.get("sku") for url in asked] == [None, "X-ONE", "X-GONE"]
        with pytest.raises(UnknownSku):
            connector.resolve_sku("X-GONE")
        assert len(asked) == 3
    finally:
        connector.close()

"""Every real BigCommerce sample that has a request (``NNa_…_<METHOD>_v2_…_request….json`` with its
``NNb_…response….json``), replayed against the simulator: same status code, keys and JSON types. Product ids
from the real store are matched by SKU when the simulated catalog has it, else mapped to a simple product;
order ids in paths are the simulator's orders of the same number (seeded ids start at 100 as the real store's)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors.testing import ASGITransport
from simulators.bigcommerce import Simulator
from tests.simulators.replay import shape_diff

_REQUEST = re.compile(r"^(?P<step>\d+)a_.*?_(?P<method>GET|POST|PUT|DELETE)_(?P<path>v2_.+?)_request")
_PREFIX = "/stores/simstore"


def _pairs(folder: Path) -> Iterator[tuple[str, str, Any, Any, str]]:
    """(method, path, request body, recorded answer, name) for each request/response pair in the folder."""
    for request_file in sorted(folder.glob("*a_*_request*.json")):
        match = _REQUEST.match(request_file.stem)
        if match is None:
            continue
        answers = sorted(folder.glob(f"{match['step']}b_*response*.json"))
        assert answers, f"{request_file.name} has no recorded answer"
        path = "/" + "/".join(part for part in match["path"].split("_") if part)
        yield (match["method"], path, json.loads(request_file.read_text()), json.loads(answers[0].read_text()),
               request_file.stem)


def _skus(folder: Path) -> dict[int, str]:
    """Real product id → SKU, from the real order-products samples."""
    found: dict[int, str] = {}
    for path in folder.glob("*products*.json"):
        rows = json.loads(path.read_text())
        for row in rows if isinstance(rows, list) else []:
            if isinstance(row, dict) and row.get("product_id") and row.get("sku"):
                found[int(row["product_id"])] = str(row["sku"])
    return found


def _local_products(body: Any, sim: Simulator, skus: dict[int, str]) -> Any:
    if not isinstance(body, dict) or not isinstance(body.get("products"), list):
        return body
    simple = next(p for p in sim.products.values() if p.option is None)
    optioned = next(p for p in sim.products.values() if p.option is not None)
    lines = []
    for line in body["products"]:
        line = dict(line)
        if line.get("product_id"):  # the real store's catalog ids mean nothing here
            variant = sim.variants_by_sku.get(skus.get(int(line["product_id"]), "").upper())
            if variant is None and line.get("variant_id") is not None:
                variant = optioned.variants[0]
            line["product_id"] = variant.product_id if variant else simple.id
            if line.get("variant_id") is not None:
                line["variant_id"] = variant.id if variant else simple.variants[0].id
        lines.append(line)
    return {**body, "products": lines}


@pytest.fixture
def api() -> Iterator[tuple[Simulator, httpx.Client]]:
    sim = Simulator(orders=10, seed=5, rate_limit=False)
    transport = ASGITransport(sim.app, timeout=5.0)
    with httpx.Client(transport=transport, base_url="http://sim", headers={"X-Auth-Token": "sim-token"}) as client:
        yield sim, client
    transport.close()


def test_every_real_bigcommerce_request_replays(shared: Path, api: tuple[Simulator, httpx.Client]) -> None:
    sim, client = api
    folder = shared / "platforms" / "samples" / "bigcommerce"
    pairs = list(_pairs(folder))
    assert {name[:3] for *_, name in pairs} >= {"12a", "13a"}
    skus = _skus(folder)
    problems: list[str] = []
    for method, path, body, real, name in pairs:
        answer = client.request(method, _PREFIX + path, json=_local_products(body, sim, skus))
        expected = 201 if method == "POST" else 200
        if answer.status_code != expected:
            problems.append(f"{name}: status {answer.status_code}: {answer.text[:200]}")
            continue
        problems += [f"{name}: {diff}" for diff in shape_diff(answer.json(), real)]
        if isinstance(real, dict) and isinstance(body, dict):  # what was written reads back as sent
            problems += [f"{name}: {key} = {answer.json().get(key)!r}, sent {value!r}" for key, value in body.items()
                         if isinstance(value, str) and answer.json().get(key) != value]
    assert not problems, "\n".join(problems)


SPEC_EXAMPLES = ["Product with Variants", "Custom Product", "Multiple Products",
                 "Create an order with fees (include the fees object as shown with rest of the payload)"]


@pytest.mark.parametrize("example", SPEC_EXAMPLES)
def test_the_official_create_examples_are_accepted(shared: Path, api: tuple[Simulator, httpx.Client],
                                                   example: str) -> None:
    """The spec's POST /v2/orders examples (its option-modifier examples name option ids of the docs' store, so
    they cannot be mapped and are left out). The fees example is a fragment: it goes with the real request."""
    sim, client = api
    folder = shared / "platforms" / "samples" / "bigcommerce"
    body = json.loads((folder / "from_official_spec" / "spec_POST_orders_request_examples.json").read_text())[example]
    if "billing_address" not in body:
        body = {**json.loads(next(folder.glob("12a_*.json")).read_text()), **body}
    body = _local_products({**body, "customer_id": 1}, sim, _skus(folder))
    answer = client.post(f"{_PREFIX}/v2/orders", json=body)
    assert answer.status_code == 201, answer.text
    real = json.loads(next(folder.glob("12b_*.json")).read_text())
    assert shape_diff(answer.json(), real) == []
    if "status_id" in body:
        assert answer.json()["status_id"] == body["status_id"]
    fees = client.get(f"{_PREFIX}/v2/orders/{answer.json()['id']}/fees")
    if body.get("fees"):
        rows = fees.json()
        assert [r["display_name_customer"] or r["display_name_merchant"] for r in rows] == ["D Fee", "E Fee", "F Fee"]
        assert rows[2]["cost_inc_tax"] == "12.0000"  # F: cost_ex_tax 4 + cost_tax 8, no cost_inc_tax given
    else:
        assert fees.status_code == 204


def test_a_fee_with_only_one_cost_is_refused_before_anything_is_taken(api: tuple[Simulator, httpx.Client]) -> None:
    sim, client = api
    mug = sim.variants_by_sku["MUG-BLK"]
    stock, count = mug.stock, len(sim.orders)
    body = {"billing_address": {"first_name": "A", "last_name": "B", "street_1": "1 St", "city": "Austin",
                                "state": "TX", "zip": "78701", "country_iso2": "US", "email": "a@example.com"},
            "products": [{"product_id": mug.product_id, "quantity": 1}],
            "fees": [{"type": "custom_fee", "display_name_customer": "X", "cost_inc_tax": "1.00"}]}
    answer = client.post(f"{_PREFIX}/v2/orders", json=body)
    assert answer.status_code == 422
    assert "at least two" in answer.json()[0]["message"]
    assert (mug.stock, len(sim.orders)) == (stock, count)

"""The CS-Cart samples that carry a request (``*_request*.json``: the docs' guest order and status update),
replayed against the simulator: the answers the docs give (201 ``{"order_id"}``, 200 ``{"order_id"}``), and the
created order reads back shaped like the recorded order detail. Product ids are mapped to the simulated
catalog (the docs' store ids mean nothing here)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors.testing import ASGITransport
from simulators.cscart import Simulator
from tests.simulators.replay import shape_diff

AUTH = ("admin@example.com", "sim-api-key")
# user-profile columns old stores merged into the order detail (4.13 does not send them), and the recorded
# order's own add-on fields
_NOT_IN_413 = {"is_root", "birthday", "purchase_timestamp_from", "purchase_timestamp_to", "responsible_email",
               "last_passwords", "password_change_timestamp", "api_key"}


KNOWN_MISSING = {f".{key}" for key in _NOT_IN_413} | {
    # Cart internals of the recorded (older, Russian-docs) order that 4.13's API answer keeps but nothing reads;
    # docs/platforms/cscart.md "Known deviations" says why they are left out.
    ".shipping[0].rate_info", ".product_groups[0].package_info", ".product_groups[0].all_edp_free_shipping",
    ".product_groups[0].all_free_shipping", ".product_groups[0].free_shipping",
    ".product_groups[0].shipping_no_required", ".product_groups[0].shippings",
    *(f".product_groups[0].chosen_shippings[0].{key}" for key in (
        "shipping", "delivery_time", "rate_calculation", "service_params", "destination", "min_weight", "max_weight",
        "service_id", "module", "service_code", "rate_info", "rate", "group_name")),
}


@pytest.fixture
def client() -> Iterator[tuple[Simulator, httpx.Client]]:
    sim = Simulator(orders=3, seed=9, rate_limit=False)
    transport = ASGITransport(sim.app, timeout=5.0)
    with httpx.Client(transport=transport, base_url="http://shop.test", auth=AUTH) as http:
        yield sim, http
    transport.close()


def _requests(folder: Path) -> dict[str, Any]:
    return {path.name: json.loads(path.read_text()) for path in sorted(folder.glob("*_request*.json"))}


def _local(body: dict[str, Any], sim: Simulator) -> dict[str, Any]:
    simple = [p for p in sim.products.values() if not p.combinations]
    products = {}
    for index, line in enumerate(body.get("products", {}).values()):
        product = simple[index % len(simple)]
        products[product.product_id] = {**line, "product_id": product.product_id}
    return {**body, "products": products} if products else body


def test_every_cscart_request_sample_replays(shared: Path, client: tuple[Simulator, httpx.Client]) -> None:
    sim, http = client
    folder = shared / "platforms" / "samples" / "cscart"
    requests = _requests(folder)
    creates = {name: body for name, body in requests.items() if "create" in name}
    updates = {name: body for name, body in requests.items() if "update" in name}
    assert creates
    assert updates
    detail_sample = json.loads(next(folder.glob("04_order_detail*.json")).read_text())
    created_ids = []
    for name, body in creates.items():
        answer = http.post("/api/orders", json=_local(body, sim))
        assert answer.status_code == 201, (name, answer.text)
        assert isinstance(answer.json()["order_id"], str)
        created_ids.append(answer.json()["order_id"])
        detail = http.get(f"/api/orders/{answer.json()['order_id']}").json()
        missing = {d.removesuffix(": missing") for d in shape_diff(detail, detail_sample) if d.endswith(": missing")
                   and not re.search(r"\.\d", d)}  # keys that are ids (item ids, tax ids) differ by nature
        assert missing - KNOWN_MISSING == set(), name
        assert detail["email"] == body["user_data"]["email"]
        assert detail["s_city"] == body["user_data"]["s_city"]
    for name, body in updates.items():
        answer = http.put(f"/api/orders/{created_ids[0]}", json=body)
        assert answer.status_code == 200, (name, answer.text)
        assert answer.json() == {"order_id": created_ids[0]}
        if "status" in body:
            assert http.get(f"/api/orders/{created_ids[0]}").json()["status"] == body["status"]

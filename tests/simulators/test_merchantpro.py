"""The simulator answers like MerchantPro: shapes, types-as-sent, errors, limits."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from connectors.testing import ASGITransport
from mappings.merchantpro import to_neutral
from simulators.merchantpro import Simulator, TwoWindows
from tests.connectors.merchantpro.conftest import Shop


@pytest.fixture
def shop() -> Iterator[Shop]:
    """A seeded shop with no rate window, and connectors that can be attached to it."""
    instance = Shop(Simulator(orders=12, seed=7, rate_limit=False))
    yield instance
    instance.close()


ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0[23]:00$")


def _money_ok(value: Any) -> bool:
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return True
    return isinstance(value, float) and -Decimal(repr(value)).as_tuple().exponent <= 4  # type: ignore[operator]


def test_seeded_orders_look_real() -> None:
    sim = Simulator(orders=40, seed=3, rate_limit=False)
    currencies = set()
    for order in sim.orders.values():
        currencies.add(order["currency"])
        assert isinstance(order["id"], int)
        assert ISO.match(order["date_created"])
        assert ISO.match(order["date_modified"])
        assert order["channel_id"] is None
        assert order["source_type"] == "system"
        for key in ("total_amount", "shipping_amount", "shipping_tax_amount", "subtotal_excluding_tax"):
            assert _money_ok(order[key]), (key, order[key])
        for line in order["line_items"]:
            assert line["status"] == {"id": 1, "name": "Nou", "color": "#1e88e5"}
            for key in ("unit_price_net", "unit_price_gross", "unit_tax_amount", "line_subtotal_net",
                        "line_subtotal_gross", "line_tax_amount"):
                assert _money_ok(line[key]), (key, line[key])
        neutral = to_neutral(order)
        assert not [w for w in neutral.warnings if w.startswith("totals")], neutral.warnings
    assert currencies == {"RON", "EUR"}
    product = next(p for p in sim.products if p["variants"])
    assert product["variants"][0]["stock"].endswith(".000")
    assert any(p["stock"] == "-1.000" for p in sim.products)


def test_error_bodies(shop: Shop) -> None:
    connector = shop.connect()
    http = connector.http
    missing = http.request("GET", "/api/v2/orders/1", allow_statuses=(404,))
    assert missing.json() == {"error": {"name": "not_found", "message": "Order 1 not found"}}
    unknown = http.request("GET", "/api/v2/orders", params={"modified[gte]": "2026-01-01"}, allow_statuses=(400,))
    assert unknown.json() == {"error": {"name": "undefined_filter",
                                        "message": "No such filter `modified[gte]` defined"}}
    handler = http.request("PATCH", "/api/v2/orders/1/shipped", allow_statuses=(404,))
    assert handler.json()["error"]["name"] == "not_found"
    bad = shop.connect(api_key="nope").http.request("GET", "/api/v2/orders", allow_statuses=(401,))
    assert bad.status_code == 401
    assert bad.json()["error"]["name"] == "unauthorized"


def test_processing_handlers_and_delete_answer_ok(shop: Shop) -> None:
    http = shop.connect().http
    order_id = next(i for i, o in shop.sim.orders.items() if o["shipping_status"] == "awaiting")
    assert http.request("PATCH", f"/api/v2/orders/{order_id}/create_invoice").json() == {"ok": True}
    assert shop.sim.orders[order_id]["invoice"]["prefix"] == "SIM"
    assert http.request("PATCH", f"/api/v2/orders/{order_id}/delivered").json() == {"ok": True}
    assert shop.sim.orders[order_id]["date_delivered"] is not None
    assert http.request("DELETE", f"/api/v2/orders/{order_id}").json() == {"ok": True}


def test_patch_line_items_is_replace_style(shop: Shop) -> None:
    http = shop.connect().http
    order_id, order = next((i, o) for i, o in shop.sim.orders.items() if len(o["line_items"]) > 1)
    keep = order["line_items"][0]
    body = {"line_items": [{"product_id": keep["product_id"], "variant_id": keep["variant_id"], "quantity": 5}]}
    answer = http.request("PATCH", f"/api/v2/orders/{order_id}", json=body, idempotent=True).json()
    assert len(answer["line_items"]) == 1
    assert answer["line_items"][0]["quantity"] == 5
    assert answer["total_amount"] == pytest.approx(keep["unit_price_gross"] * 5 + (answer["shipping_amount"] or 0))


def test_two_windows() -> None:
    now = [0.0]
    window = TwoWindows(per_second=4, per_minute=6, clock=lambda: now[0])
    assert [window.hit().allowed for _ in range(5)] == [True] * 4 + [False]
    now[0] = 1.5
    assert [window.hit().allowed for _ in range(3)] == [True, True, False]
    assert window.hit().reset_after > 50


def test_limit_over_100_is_refused_as_the_docs_say(shop: Shop) -> None:
    http = shop.connect().http
    refused = http.request("GET", "/api/v2/orders", params={"limit": 101}, allow_statuses=(400,))
    assert refused.json() == {"error": {"name": "invalid_value", "message": "limit cannot exceed 100"}}
    page = http.request("GET", "/api/v2/orders", params={"limit": 100}).json()
    assert page["meta"]["count"]["limit"] == 100
    default = http.request("GET", "/api/v2/orders").json()
    assert default["meta"]["count"]["limit"] == 100
    products = http.request("GET", "/api/v2/products", params={"limit": 500}, allow_statuses=(400,))
    assert products.status_code == 400


def test_unknown_paths_answer_merchantpros_error_body(shop: Shop) -> None:
    http = shop.connect().http
    for method, path in (("GET", "/api/v2/customers"), ("POST", "/api/v2/refunds"), ("GET", "/api/v3/orders")):
        answer = http.request(method, path, allow_statuses=(404,))
        assert answer.json()["error"]["name"] == "not_found"
        assert set(answer.json()) == {"error"}
    bad = shop.connect(api_key="nope").http.request("GET", "/api/v2/customers", allow_statuses=(401,))
    assert bad.json()["error"]["name"] == "unauthorized"


def test_two_windows_refusal_counts_in_neither_window() -> None:
    now = [0.0]
    window = TwoWindows(per_second=2, per_minute=3, clock=lambda: now[0])
    assert [window.hit().allowed for _ in range(4)] == [True, True, False, False]  # the second's refusals
    now[0] = 1.0
    assert window.hit().allowed  # the minute counted 2, not 4: one more fits
    refused = window.hit()
    assert not refused.allowed
    assert abs(refused.reset_after - 59.0) < 1e-9  # the minute refused: wait for it, not for the second
    now[0] = 60.0
    assert [window.hit().allowed for _ in range(3)] == [True, True, False]


def test_two_windows_report_the_later_reopening_when_both_refuse() -> None:
    now = [0.0]
    window = TwoWindows(per_second=1, per_minute=1, clock=lambda: now[0])
    assert window.hit().allowed
    assert abs(window.hit().reset_after - 60.0) < 1e-9
    fresh = window.fresh(lambda: 7.0)
    assert (fresh.second.quota, fresh.quota, fresh.window) == (1, 1, 60.0)
    assert fresh.hit().allowed


def test_four_a_second_and_eighty_a_minute_answer_429_with_retry_after() -> None:
    now = [0.0]
    sim = Simulator(orders=3, seed=2)
    assert isinstance(sim.window, TwoWindows)
    assert (sim.window.second.quota, sim.window.quota) == (4, 80)  # the documented defaults
    sim.window = sim.window.fresh(lambda: now[0])
    transport = ASGITransport(sim.app)
    with httpx.Client(transport=transport, base_url="http://sim", auth=("sim-key", "sim-secret")) as client:
        burst = [client.get("/api/v2/orders").status_code for _ in range(5)]
        limited = client.get("/api/v2/orders")
        for second in range(1, 20):  # 4 a second for 19 more seconds: 80 in the minute
            now[0] = float(second)
            assert [client.get("/api/v2/orders").status_code for _ in range(4)] == [200] * 4
        now[0] = 20.0
        minute = client.get("/api/v2/orders")
        stats = client.get("/__sim/stats").json()
        client.post("/__sim/reset")
        after_reset = client.get("/api/v2/orders").status_code
    transport.close()
    assert burst == [200] * 4 + [429]
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "1"
    assert limited.json()["error"] == {"name": "too_many_requests", "message": "Too many requests, please retry later"}
    assert minute.status_code == 429
    assert minute.headers["retry-after"] == "40"
    assert stats["refused"] == 3
    assert after_reset == 200

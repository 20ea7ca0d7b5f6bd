"""The simulators' shared guard: fixed rate windows, quota refusals counted apart, resets that restart the window."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from connectors.testing import ASGITransport
from simulators.app import RateWindow
from simulators.bigcommerce import Simulator as BigCommerce

TOKEN = {"X-Auth-Token": "sim-token"}
V2 = "/stores/simstore/v2"


@contextmanager
def _client_with_quota(quota: int) -> Iterator[httpx.Client]:
    """A client of a BigCommerce simulator whose window holds ``quota`` requests and never moves on."""
    sim = BigCommerce(orders=1, seed=1)
    sim.window = RateWindow(quota, 30.0, clock=lambda: 0.0)
    transport = ASGITransport(sim.app)
    try:
        with httpx.Client(transport=transport, base_url="http://sim", headers=TOKEN) as client:
            yield client
    finally:
        transport.close()


def test_fixed_window_refuses_past_the_quota_and_reopens_where_the_last_one_ended() -> None:
    now = [100.0]
    window = RateWindow(3, 30.0, clock=lambda: now[0])
    assert [window.hit().allowed for _ in range(4)] == [True, True, True, False]
    now[0] = 129.0
    refused = window.hit()
    assert not refused.allowed
    assert abs(refused.reset_after - 1.0) < 1e-9
    now[0] = 145.0  # the second window opened at 130, not at the first request after 130
    states = [window.hit() for _ in range(4)]
    assert [s.allowed for s in states] == [True, True, True, False]
    assert abs(states[0].reset_after - 15.0) < 1e-9
    assert [s.remaining for s in states] == [2, 1, 0, 0]


def test_a_refused_request_does_not_use_the_quota() -> None:
    now = [0.0]
    window = RateWindow(2, 10.0, clock=lambda: now[0])
    window.hit()
    window.hit()
    for _ in range(5):
        assert not window.hit().allowed
    now[0] = 10.0
    assert [window.hit().allowed for _ in range(3)] == [True, True, False]


def test_fresh_window_has_the_same_shape_and_opens_on_the_given_clock() -> None:
    window = RateWindow(2, 30.0)
    window.hit()
    window.hit()
    virtual = [5.0]
    replay = window.fresh(lambda: virtual[0])
    assert (replay.quota, replay.window) == (2, 30.0)
    assert [replay.hit().allowed for _ in range(3)] == [True, True, False]
    virtual[0] = 35.0
    assert replay.hit().allowed
    assert not window.hit().allowed  # the original keeps its own count


def test_quota_refusals_are_counted_apart_from_injected_429s_and_ok_routes() -> None:
    with _client_with_quota(2) as client:
        client.post("/__sim/inject", json={"kind": "rate_limit", "count": 1})
        answers = [client.get(f"{V2}/orders/100") for _ in range(4)]
        stats = client.get("/__sim/stats").json()
    assert [a.status_code for a in answers] == [429, 200, 429, 429]  # injected, allowed, over quota x2
    assert int(answers[2].headers["x-rate-limit-time-reset-ms"]) == 30000  # frozen clock: the whole window
    assert answers[2].headers["x-rate-limit-requests-left"] == "0"
    assert stats["refused"] == 2
    assert stats["by_status"]["429"] == 3
    assert stats["by_route"] == {"GET /v2/orders/{id}": 4}
    assert stats["ok_by_route"] == {"GET /v2/orders/{id}": 1}


def test_reset_restarts_the_window_with_the_full_quota() -> None:
    with _client_with_quota(1) as client:
        assert client.get(f"{V2}/orders/100").status_code == 200
        assert client.get(f"{V2}/orders/100").status_code == 429
        client.post("/__sim/reset")
        fresh = client.get(f"{V2}/orders/100")
        stats = client.get("/__sim/stats").json()
    assert fresh.status_code == 200
    assert fresh.headers["x-rate-limit-requests-quota"] == "1"
    assert (stats["total"], stats["refused"]) == (1, 0)


def test_a_simulator_without_a_window_never_refuses() -> None:
    sim = BigCommerce(orders=1, seed=1, rate_limit=False)
    sim.restart_window()
    assert sim.window is None
    transport = ASGITransport(sim.app)
    with httpx.Client(transport=transport, base_url="http://sim", headers=TOKEN) as client:
        codes = {client.get(f"{V2}/orders/100").status_code for _ in range(5)}
    transport.close()
    assert codes == {200}

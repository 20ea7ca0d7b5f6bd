"""Rate-limit waits are waits, not failures: under ``patient()`` a tiny quota paces the requests to the end."""

from __future__ import annotations

import time

import httpx
import pytest
from rich.console import Console
from rich.progress import Progress

from connectors.bigcommerce.client import open_connector
from connectors.errors import RateLimited
from connectors.http import HttpClient
from connectors.ratelimit import BucketSpec, TokenBucket, current_patience, patient
from connectors.testing import ASGITransport
from simulators.bigcommerce import Simulator
from tests.connectors.bigcommerce.samples import settings
from workers.waiting import show_waits


def _client(transport: httpx.BaseTransport, bucket: BucketSpec, max_wait: float = 0.001) -> HttpClient:
    return HttpClient(platform="bigcommerce", store="tiny", base_url="https://api.example", bucket=bucket,
                      limiter=TokenBucket(), transport=transport, max_wait=max_wait, backoff=0.0)


def _ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"ok": True})


def test_without_patience_a_tiny_quota_raises() -> None:
    client = _client(httpx.MockTransport(_ok), BucketSpec(rate=20.0, burst=1.0))
    client.get_json("/v2/orders")  # the one token of the burst
    with pytest.raises(RateLimited, match="request budget exhausted"):
        client.get_json("/v2/orders")


def test_patient_run_at_a_tiny_quota_completes_paced() -> None:
    client = _client(httpx.MockTransport(_ok), BucketSpec(rate=40.0, burst=1.0))
    waits: list[tuple[str, str, float]] = []
    started = time.monotonic()
    with patient(on_wait=lambda platform, store, seconds: waits.append((platform, store, seconds))):
        results = [client.get_json("/v2/orders") for _ in range(20)]
    elapsed = time.monotonic() - started
    assert results == [{"ok": True}] * 20
    assert client.requests_sent == 20
    assert elapsed >= 19 / 40 * 0.9  # paced at the quota, not sent at once
    assert len(waits) >= 15
    assert all(w[:2] == ("bigcommerce", "tiny") for w in waits)
    assert all(0 < w[2] <= 0.05 for w in waits)
    assert current_patience().max_wait == 0.0  # restored after the block


def test_patient_run_waits_out_long_429s_without_using_attempts() -> None:
    calls = {"n": 0}

    def every_other_refused(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] % 2:
            return httpx.Response(429, headers={"Retry-After": "0.05"}, json={"title": "Too many requests"})
        return httpx.Response(200, json={"ok": True})

    client = _client(httpx.MockTransport(every_other_refused), BucketSpec(rate=1000.0, burst=1000.0),
                     max_wait=0.0)
    with pytest.raises(RateLimited):  # the platform's 0.05 s wait is longer than max_wait
        client.get_json("/v2/orders")
    with patient(max_wait=1.0):
        assert [client.get_json("/v2/orders") for _ in range(6)] == [{"ok": True}] * 6


def test_connector_reads_many_orders_through_a_tiny_window_without_rate_limited() -> None:
    """The simulator refuses past 8 requests / 0.2 s; the connector (max_wait 0) reads 1 + 12 x 5 requests
    (orders read plain, every sub-resource followed: the most calls a read can take)."""
    sim = Simulator(orders=12, seed=3, rate_limit=(8, 0.2))
    inner = ASGITransport(sim.app, timeout=5.0)
    connector = open_connector(settings(max_wait=0.0, rate_limit={"requests": 8, "per_seconds": 0.2, "burst": 2},
                                        read_archived=False, concurrency=4, embed_sub_resources=False),
                               transport=inner)
    console = Console(file=open("/dev/null", "w"))  # noqa: SIM115 - the display itself is not under test
    try:
        with Progress(console=console) as progress, show_waits(progress) as display:
            ids = [change.id for change in connector.iter_orders(None)]
            bundles = [bundle for _, bundle in connector.get_orders(ids)]
    finally:
        connector.close()
    assert len(bundles) == 12
    assert not [b for b in bundles if isinstance(b, Exception)]
    assert display.waits > 0
    assert display.seconds > 0
    assert any("request budget" in str(task.description) or "pacing" in str(task.description)
               for task in progress.tasks)
    assert sim.stats.total >= 61

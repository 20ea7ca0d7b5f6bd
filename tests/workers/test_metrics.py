"""/metrics: scraped and parsed with prometheus_client's own parser; a mirror run moves the counters
by exactly what it did; webhook answers are counted; worker processes' counters add up."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from connectors.http import HttpClient
from connectors.ratelimit import BucketSpec
from sync.config import load_config
from tests.sync.test_engine import Shops
from workers import context
from workers.api import create_app
from workers.oneshot import run_once

REPO = Path(__file__).resolve().parents[2]


def scrape(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics as {(name, sorted labels): value}, via prometheus_client's parser."""
    answer = client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(answer.text) for sample in family.samples}


def value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    """One sample's value (0 when absent); label values may be partial: matching samples are summed."""
    return sum(v for (n, ls), v in samples.items() if n == name and set(labels.items()) <= set(ls))


@pytest.fixture
def shops(tmp_path: Path) -> Iterator[Shops]:
    s = Shops(tmp_path)
    yield s
    s.close()


def test_a_mirror_run_moves_the_counters_by_what_it_did(shops: Shops) -> None:
    """Two orders mirrored on both routes, one parked on both: reconciles, calls, lag and gauges agree."""
    with TestClient(create_app()) as client:
        before = scrape(client)
        shops.order()
        shops.order(sku="TEE-M")
        shops.order(sku="NEW-SKU-1")
        summary = run_once(shops.config, ctx=shops.ctx)
        after = scrape(client)
    assert summary.outcomes == {"synced": 4, "parked": 2}

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    for route in ("us-to-ro", "us-to-eu"):
        assert moved("ordersync_reconciles_total", route=route, outcome="synced") == 2
        assert moved("ordersync_reconciles_total", route=route, outcome="parked") == 1
        assert moved("ordersync_reconcile_duration_seconds_count", route=route) == 3
        assert moved("ordersync_mirror_lag_seconds_count", route=route) == 2
        assert value(after, "ordersync_bindings", route=route, state="linked") == 2
        assert value(after, "ordersync_attention_open", route=route, kind="unknown_sku") == 1
    # Exactly one create call per mirrored order on each target, all answered 2xx.
    assert moved("ordersync_platform_calls_total", store="ro", method="POST") == 2
    assert moved("ordersync_platform_calls_total", store="eu", method="POST") == 2
    assert moved("ordersync_platform_calls_total", store="us", method="GET", status="200") >= 1  # its list page
    assert moved("ordersync_platform_calls_total", status="none") == 0
    assert value(after, "ordersync_poll_age_seconds", store="us") >= 0
    assert ("ordersync_poll_age_seconds", (("store", "us"),)) in after
    assert value(after, "ordersync_route_paused", route="us-to-ro") == 0


def test_429s_and_waits_are_counted(shops: Shops) -> None:
    """A platform that answers 429 once: one 429 in the counters and the wait it asked for."""
    answers = iter([httpx.Response(429, headers={"Retry-After": "0.05"}), httpx.Response(200, json=[])])
    http = HttpClient(platform="bigcommerce", store="limited", base_url="https://api.example",
                      bucket=BucketSpec(rate=1000.0, burst=1000.0),
                      transport=httpx.MockTransport(lambda request: next(answers)))
    with TestClient(create_app()) as client:
        before = scrape(client)
        http.get_json("/v2/orders")
        after = scrape(client)
    assert value(after, "ordersync_platform_rate_limited_total", store="limited") - \
        value(before, "ordersync_platform_rate_limited_total", store="limited") == 1
    assert value(after, "ordersync_platform_calls_total", store="limited", status="429") == 1
    assert value(after, "ordersync_platform_wait_seconds_total", store="limited") >= 0.05


SECRET = "metrics-secret"


@pytest.fixture
def intake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("M_KEY", "k")
    monkeypatch.setenv("M_HOOK", SECRET)
    config = load_config(data={
        "settings": {"database_url": f"sqlite:///{tmp_path / 'state.db'}", "broker_url": "memory://"},
        "stores": {"mp": {"platform": "merchantpro", "base_url": "http://127.0.0.1:9", "webhook_secret": "${M_HOOK}",
                          "credentials": {"api_key": "${M_KEY}", "api_secret": "${M_KEY}"}}},
    })
    ctx = context.Context.build(config)
    context.install(ctx)
    with TestClient(create_app()) as client:
        yield client
    context.install(None)
    ctx.close()


def test_intake_deliveries_duplicates_and_rejections(intake: TestClient) -> None:
    raw = orjson.dumps({"event": "order.updated", "id": "whd_metrics", "created_at": "2026-11-23T10:00:00+02:00",
                        "data": {"id": 7}})
    signature = base64.b64encode(hmac.new(SECRET.encode(), raw, hashlib.sha256).digest()).decode()
    before = scrape(intake)
    for _ in range(2):
        assert intake.post("/webhooks/mp", content=raw, headers={"X-Webhook-Signature": signature}).status_code == 202
    assert intake.post("/webhooks/mp", content=raw, headers={"X-Webhook-Signature": "AAAA"}).status_code == 401
    after = scrape(intake)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("ordersync_intake_events_total", store="mp", result="accepted") == 1
    assert moved("ordersync_intake_events_total", store="mp", result="duplicate") == 1
    assert moved("ordersync_intake_rejected_total", store="mp", status="401") == 1
    assert value(after, "ordersync_inbox_events") >= 1


def test_worker_processes_counters_add_up_in_multiprocess_mode(tmp_path: Path) -> None:
    """Two forked children count (as prefork children do) and exit; the parent scrapes their sum from
    PROMETHEUS_MULTIPROC_DIR."""
    shared = tmp_path / "prom"
    shared.mkdir()
    dump = tmp_path / "scrape.txt"
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(shared), "ORDERSYNC_CONFIG": str(tmp_path / "none.toml")}
    script = f"""
import os, pathlib
from workers import metrics
for n in (3, 4):
    pid = os.fork()
    if pid == 0:
        metrics.RECONCILES.labels('r', 'synced').inc(n)
        metrics.PLATFORM_CALLS.labels('s', 'bigcommerce', 'GET', '200').inc(n)
        metrics._worker_child_exit()
        os._exit(0)
    os.waitpid(pid, 0)
pathlib.Path({str(dump)!r}).write_bytes(metrics.scrape())
pathlib.Path({str(dump)!r} + '.calls').write_text(repr(metrics.calls_by_store()))
"""
    subprocess.run([sys.executable, "-c", script], env=env, cwd=REPO, check=True, timeout=120, capture_output=True)
    text, calls = dump.read_text(), Path(f"{dump}.calls").read_text()
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for f in text_string_to_metric_families(text) for s in f.samples}
    assert value(samples, "ordersync_reconciles_total", route="r", outcome="synced") == 7
    assert calls == "{'s': {'200': 7.0}}"

def test_a_dead_broker_leaves_its_gauge_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Redis at a port nobody listens on: /metrics still answers, without the queue depth."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("D_TOKEN", "t")
    config = load_config(data={
        "settings": {"database_url": f"sqlite:///{tmp_path / 'state.db'}", "broker_url": f"redis://127.0.0.1:{port}/0"},
        "stores": {"us": {"platform": "bigcommerce", "base_url": "http://127.0.0.1:9/stores/x",
                          "credentials": {"token": "${D_TOKEN}"}}},
    })
    ctx = context.Context.build(config)
    context.install(ctx)
    try:
        with TestClient(create_app()) as client:
            answer = client.get("/metrics")
    finally:
        context.install(None)
        ctx.close()
    assert answer.status_code == 200
    assert "# HELP ordersync_attention_open" in answer.text, "the state store's gauges are still there"
    assert "# HELP ordersync_reconciles_total" in answer.text
    assert "ordersync_broker_queue_depth" not in answer.text
    assert "ordersync_rate_bucket_tokens{" not in answer.text, "the shared bucket lives in the same dead Redis"


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[str]:
    """A private redis-server on a free port (never the shared one), stopped afterwards."""
    import shutil
    import socket
    import time

    import redis

    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                                "--dir", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        for _ in range(100):
            try:
                redis.Redis.from_url(url).ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(10)


def test_broker_queue_depth_is_read_at_scrape(own_redis: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import redis

    from workers.app import QUEUE

    monkeypatch.setenv("Q_TOKEN", "t")
    config = load_config(data={
        "settings": {"database_url": f"sqlite:///{tmp_path / 'state.db'}", "broker_url": own_redis},
        "stores": {"us": {"platform": "bigcommerce", "base_url": "http://127.0.0.1:9/stores/x",
                          "credentials": {"token": "${Q_TOKEN}"}}},
    })
    redis.Redis.from_url(own_redis).rpush(QUEUE, "a", "b", "c")
    ctx = context.Context.build(config)
    context.install(ctx)
    try:
        with TestClient(create_app()) as client:
            samples = scrape(client)
    finally:
        context.install(None)
        ctx.close()
    assert value(samples, "ordersync_broker_queue_depth", queue=QUEUE) == 3
    assert value(samples, "ordersync_rate_bucket_tokens", store="us") > 0, "the shared bucket in Redis is read"

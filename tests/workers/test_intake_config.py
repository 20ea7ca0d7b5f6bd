"""Intake configuration: BigCommerce Standard Webhooks reachable from ordersync.toml, and `serve`'s options."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient

from connectors.bigcommerce.webhooks import SECRET_HEADER, sign
from simulators.runner import free_port
from sync.config import ConfigError, load_config
from sync.store import Store
from workers import context
from workers.api import create_app

CLIENT_SECRET = "bc-client-secret"
HEADER_SECRET = "bc-header-secret"
REPO = Path(__file__).resolve().parents[2]


def _hook(order_id: int, digest: str = "abc") -> bytes:
    return orjson.dumps({"scope": "store/order/updated", "store_id": "1", "hash": digest,
                         "data": {"type": "order", "id": order_id}, "created_at": 1_780_000_000})


@pytest.fixture
def bigcommerce(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., TestClient]]:
    """The intake with one BigCommerce store configured with the given webhook secrets."""
    monkeypatch.setenv("BC_TOKEN", "t")
    monkeypatch.setenv("BC_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("BC_HOOK", HEADER_SECRET)
    opened: list[tuple[TestClient, context.Context]] = []

    def make(**secrets: str) -> TestClient:
        config = load_config(data={
            "settings": {"database_url": f"sqlite:///{tmp_path / f'state{len(opened)}.db'}",
                         "broker_url": "memory://", "relay_interval": 0},
            "stores": {"us": {"platform": "bigcommerce", "base_url": "http://127.0.0.1:9/stores/x",
                              "credentials": {"token": "${BC_TOKEN}"}, **secrets}},
        })
        ctx = context.Context.build(config)
        context.install(ctx)
        client = TestClient(create_app())
        opened.append((client, ctx))
        return client

    yield make
    context.install(None)
    for client, ctx in opened:
        client.close()
        ctx.close()


class TestBigCommerceSignatures:
    def test_client_secret_only_accepts_standard_webhooks_and_refuses_the_fixed_header(
            self, bigcommerce: Callable[..., TestClient]) -> None:
        """With only the app's client secret configured, a signed callback is accepted; the fixed header
        alone is not (it was not configured), and a forged signature is refused."""
        client = bigcommerce(webhook_client_secret="${BC_CLIENT_SECRET}")
        raw = _hook(1)
        signed = client.post("/webhooks/us", content=raw, headers=sign(raw, "", client_secret=CLIENT_SECRET))
        assert signed.status_code == 202, signed.text
        header_only = client.post("/webhooks/us", content=_hook(2, "d2"), headers={SECRET_HEADER: HEADER_SECRET})
        assert header_only.status_code == 401
        forged = client.post("/webhooks/us", content=_hook(3, "d3"),
                             headers=sign(_hook(3, "d3"), "", client_secret="not-the-secret"))
        assert forged.status_code == 401
        tampered = sign(raw, "", client_secret=CLIENT_SECRET)
        assert client.post("/webhooks/us", content=_hook(4, "d4"), headers=tampered).status_code == 401

    def test_both_configured_checks_both(self, bigcommerce: Callable[..., TestClient]) -> None:
        """Fixed header and client secret configured: the header must match, and a signature, when sent,
        must be valid."""
        client = bigcommerce(webhook_secret="${BC_HOOK}", webhook_client_secret="${BC_CLIENT_SECRET}")
        raw = _hook(5, "d5")
        both = sign(raw, HEADER_SECRET, client_secret=CLIENT_SECRET)
        assert client.post("/webhooks/us", content=raw, headers=both).status_code == 202
        assert client.post("/webhooks/us", content=_hook(6, "d6"),
                           headers={SECRET_HEADER: HEADER_SECRET}).status_code == 202
        bad_signature = sign(_hook(7, "d7"), HEADER_SECRET, client_secret="wrong")
        assert client.post("/webhooks/us", content=_hook(7, "d7"), headers=bad_signature).status_code == 401

    def test_client_secret_must_be_an_env_reference(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """An inline client secret is refused at load, naming the field, without echoing it."""
        monkeypatch.setenv("BC_TOKEN", "t")
        with pytest.raises(ConfigError) as caught:
            load_config(data={"stores": {"us": {"platform": "bigcommerce", "base_url": "http://127.0.0.1:9",
                                                "credentials": {"token": "${BC_TOKEN}"},
                                                "webhook_client_secret": "inline-value"}}})
        assert "stores.us.webhook_client_secret" in str(caught.value)
        assert "inline-value" not in str(caught.value)


def test_serve_prints_its_address_and_takes_server_options(tmp_path: Path) -> None:
    """`ordersync serve` says where it listens and runs with keep-alive/timeout/concurrency options."""
    port = free_port()
    config = tmp_path / "ordersync.toml"
    config.write_text(f'[settings]\ndatabase_url = "sqlite:///{tmp_path / "state.db"}"\nrelay_interval = 0\n\n'
                      '[stores.ro]\nplatform = "merchantpro"\nbase_url = "http://127.0.0.1:9"\n'
                      'credentials = { api_key = "${K}", api_secret = "${K}" }\nwebhook_secret = "${K}"\n')
    Store(f"sqlite:///{tmp_path / 'state.db'}", auto_migrate=True).dispose()  # serve needs a migrated store
    env = {**os.environ, "K": "x", "PYTHONPATH": str(REPO), "COLUMNS": "200"}
    env.pop("ORDERSYNC_CONFIG", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "workers.cli", "serve", "-c", str(config), "--port", str(port), "--keep-alive", "2",
         "--timeout", "1", "--limit-concurrency", "20"], cwd=tmp_path, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        healthy = False
        while time.monotonic() < deadline and not healthy:
            try:
                healthy = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
            except httpx.TransportError:
                time.sleep(0.2)
        assert healthy
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=20)
    text = stderr.decode()
    assert f"http://127.0.0.1:{port}" in text
    assert f"http://127.0.0.1:{port}/webhooks/<store>" in text
    assert "console: off (set [settings] console_password" in text  # where the console would be, and how
    assert "Traceback" not in text


def test_beat_runs_the_relay() -> None:
    """The relay is also a beat task, so a broker outage is healed without `serve` restarting."""
    from workers.app import beat_schedule
    from workers.tasks import relay_inbox

    config = load_config(data={"settings": {"relay_interval": "20s"}, "stores": {}})
    entry = beat_schedule(config)["relay-inbox"]
    assert entry["task"] == relay_inbox.name == "ordersync.relay"
    assert entry["schedule"].run_every.total_seconds() == 20

"""`ordersync check` against simulated shops: right and wrong credentials, a dead port, rate-limit
headers, BigCommerce webhooks; exit 1 when any check fails."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from typer.testing import CliRunner

from simulators import serve_in_thread
from simulators.bigcommerce import Simulator as BigCommerce
from simulators.cscart import Simulator as CsCart
from simulators.evershop import Simulator as EverShop
from simulators.merchantpro import Simulator as MerchantPro
from simulators.runner import RunningServer
from sync.config import OrderSyncConfig, load_config
from workers.cli import app
from workers.commands.check import check_store

ENV = {"CK_BC": "sim-token", "CK_MPK": "sim-key", "CK_MPS": "sim-secret", "CK_CSE": "admin@example.com",
       "CK_CSK": "sim-api-key", "CK_ESE": "admin@example.com", "CK_ESP": "Admin12345", "CK_BAD": "wrong",
       "CK_HOOK": "hook-secret"}


def _dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again: nothing listens there


@pytest.fixture(scope="module")
def shops() -> Iterator[dict[str, Any]]:
    sims: dict[str, Any] = {"bc": BigCommerce(), "mp": MerchantPro(), "cs": CsCart(), "es": EverShop()}
    servers: dict[str, RunningServer] = {name: serve_in_thread(sim.app) for name, sim in sims.items()}
    saved = {key: os.environ.get(key) for key in ENV}
    os.environ.update(ENV)
    try:
        yield {"sims": sims, "urls": {name: server.url for name, server in servers.items()}}
    finally:
        for server in servers.values():
            server.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _stores(urls: dict[str, str]) -> dict[str, Any]:
    bc = f"{urls['bc']}/stores/simstore"
    return {
        "bc": {"platform": "bigcommerce", "base_url": bc, "credentials": {"token": "${CK_BC}"}},
        "bc_hooks": {"platform": "bigcommerce", "base_url": bc, "credentials": {"token": "${CK_BC}"},
                     "webhook_secret": "${CK_HOOK}"},
        "bc_bad": {"platform": "bigcommerce", "base_url": bc, "credentials": {"token": "${CK_BAD}"}},
        "mp": {"platform": "merchantpro", "base_url": urls["mp"],
               "credentials": {"api_key": "${CK_MPK}", "api_secret": "${CK_MPS}"}},
        "mp_bad": {"platform": "merchantpro", "base_url": urls["mp"],
                   "credentials": {"api_key": "${CK_MPK}", "api_secret": "${CK_BAD}"}},
        "cs": {"platform": "cscart", "base_url": urls["cs"],
               "credentials": {"email": "${CK_CSE}", "api_key": "${CK_CSK}"}},
        "es": {"platform": "evershop", "base_url": urls["es"],
               "credentials": {"email": "${CK_ESE}", "password": "${CK_ESP}"}},
        "es_bad": {"platform": "evershop", "base_url": urls["es"],
                   "credentials": {"email": "${CK_ESE}", "password": "${CK_BAD}"}},
        "dead": {"platform": "merchantpro", "base_url": f"http://127.0.0.1:{_dead_port()}",
                 "credentials": {"api_key": "${CK_MPK}", "api_secret": "${CK_MPS}"}},
    }


@pytest.fixture(scope="module")
def config(shops: dict[str, Any]) -> OrderSyncConfig:
    return load_config(data={"stores": _stores(shops["urls"])})


def _statuses(config: OrderSyncConfig, name: str) -> dict[str, str]:
    return {key: f.status for key, f in check_store(name, config.stores[name]).findings.items()}


@pytest.mark.parametrize(("store", "expected"), [
    ("bc", {"reachable": "ok", "credentials": "ok", "rate_limit": "ok", "webhooks": "n/a"}),
    ("mp", {"reachable": "ok", "credentials": "ok", "rate_limit": "n/a", "webhooks": "n/a"}),
    ("cs", {"reachable": "ok", "credentials": "ok", "rate_limit": "n/a", "webhooks": "n/a"}),
    ("es", {"reachable": "ok", "credentials": "ok", "rate_limit": "ok", "webhooks": "n/a"}),
    ("bc_bad", {"reachable": "ok", "credentials": "fail", "rate_limit": "skipped", "webhooks": "skipped"}),
    ("mp_bad", {"reachable": "ok", "credentials": "fail", "rate_limit": "skipped", "webhooks": "skipped"}),
    ("es_bad", {"reachable": "ok", "credentials": "fail", "rate_limit": "skipped", "webhooks": "skipped"}),
    ("dead", {"reachable": "fail", "credentials": "skipped", "rate_limit": "skipped", "webhooks": "skipped"}),
])
def test_each_store_is_checked(config: OrderSyncConfig, store: str, expected: dict[str, str]) -> None:
    assert _statuses(config, store) == expected


def test_rate_limit_headers_missing_on_bigcommerce_fail(shops: dict[str, Any]) -> None:
    """A BigCommerce answering without X-Rate-Limit-* (a proxy stripping them): the budget cannot follow."""
    sim = BigCommerce(rate_limit=False)
    server = serve_in_thread(sim.app)
    try:
        config = load_config(data={"stores": {"bc": {"platform": "bigcommerce",
                                                     "base_url": f"{server.url}/stores/simstore",
                                                     "credentials": {"token": "${CK_BC}"}}}})
        finding = check_store("bc", config.stores["bc"]).findings["rate_limit"]
    finally:
        server.stop()
    assert finding.status == "fail"
    assert "x-rate-limit-requests-left" in finding.detail


def test_bigcommerce_webhooks_expected_when_a_secret_is_configured(shops: dict[str, Any],
                                                                   config: OrderSyncConfig) -> None:
    """With a webhook_secret, no order hook is a failure; once one is registered it is named."""
    assert _statuses(config, "bc_hooks")["webhooks"] == "fail"
    answer = httpx.post(f"{shops['urls']['bc']}/stores/simstore/v3/hooks", timeout=10,
                        headers={"X-Auth-Token": "sim-token"},
                        json={"scope": "store/order/created", "destination": "http://127.0.0.1:9/webhooks/bc",
                              "is_active": True})
    assert answer.status_code in (200, 201), answer.text
    finding = check_store("bc_hooks", config.stores["bc_hooks"]).findings["webhooks"]
    assert finding.status == "ok"
    assert "http://127.0.0.1:9/webhooks/bc" in finding.detail


def test_cli_exits_1_when_any_check_fails(shops: dict[str, Any], tmp_path: Path) -> None:
    stores = _stores(shops["urls"])
    lines = []
    for name in ("mp", "dead"):
        store = stores[name]
        creds = ", ".join(f'{k} = "{v}"' for k, v in store["credentials"].items())
        lines.append(f'[stores.{name}]\nplatform = "{store["platform"]}"\nbase_url = "{store["base_url"]}"\n'
                     f"credentials = {{ {creds} }}\n")
    path = tmp_path / "ordersync.toml"
    path.write_text(f'[settings]\ndatabase_url = "sqlite:///{tmp_path / "s.db"}"\n' + "\n".join(lines))
    runner = CliRunner()
    good = runner.invoke(app, ["check", "--config", str(path), "--store", "mp", "--json"])
    assert good.exit_code == 0, good.output
    assert orjson.loads(good.stdout)[0]["ok"] is True
    both = runner.invoke(app, ["check", "--config", str(path), "--json"])
    assert both.exit_code == 1
    report = {row["store"]: row for row in orjson.loads(both.stdout)}
    assert report["dead"]["ok"] is False
    assert report["dead"]["reachable"]["status"] == "fail"
    assert "cannot reach" in report["dead"]["reachable"]["detail"]
    table = runner.invoke(app, ["check", "--config", str(path)])
    assert table.exit_code == 1
    assert "Store checks" in table.stdout
    assert "fail" in table.stdout
    unknown = runner.invoke(app, ["check", "--config", str(path), "--store", "nope"])
    assert unknown.exit_code != 0

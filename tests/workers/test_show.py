"""`ordersync show STORE ID`: one order from a configured store, raw, neutral or as another platform's
payload (what `translate` takes as input, built by the connector instead of by hand)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from simulators import serve_in_thread
from simulators.evershop import Simulator as EverShop
from tests.sync.test_engine import Shops
from workers.cli import app

runner = CliRunner()


@pytest.fixture
def shops(tmp_path: Path) -> Iterator[Shops]:
    s = Shops(tmp_path)
    yield s
    s.close()


def _show(shops: Shops, *args: str) -> object:
    done = runner.invoke(app, ["show", "--config", str(shops.path), *args])
    assert done.exit_code == 0, done.output
    return orjson.loads(done.stdout)


def test_bigcommerce_bundle_raw_neutral_and_as_payloads(shops: Shops) -> None:
    order_id = shops.order(sku="TEE-M")
    raw = _show(shops, "us", order_id)
    assert isinstance(raw, dict)
    assert str(raw["order"]["id"]) == order_id
    assert [p["sku"] for p in raw["products"]] == ["TEE-M"]
    assert raw["shipping_addresses"]
    neutral = _show(shops, "us", order_id, "--as", "neutral")
    assert isinstance(neutral, dict)
    assert neutral["source"] == {**neutral["source"], "platform": "bigcommerce", "store": "us", "id": order_id}
    to_store = _show(shops, "us", order_id, "--to", "ro")
    assert isinstance(to_store, dict)
    assert {"name": f"ordersync:us:{order_id}"} in to_store["tags"]
    calls = _show(shops, "us", order_id, "--to", "evershop")
    assert isinstance(calls, list)
    assert calls[0]["path"] == "/api/carts"
    assert shops.mp.orders == {}  # reads only: nothing was written anywhere


@pytest.mark.parametrize(("args", "code", "needle"), [
    (["us", "999999"], 1, "order 999999 not found on store 'us'"),
    (["nope", "1"], 2, "unknown store 'nope'"),
    (["us", "1", "--to", "shopify"], 2, "--to: 'shopify' is neither a platform"),
    (["us", "1", "--as", "xml"], 2, "--as: expected raw or neutral"),
])
def test_errors_are_one_line(shops: Shops, args: list[str], code: int, needle: str,
                             capsys: pytest.CaptureFixture[str]) -> None:
    """A missing order is a failure (exit 1); naming mistakes are usage errors (exit 2); one line each."""
    from workers.cli import _guard

    assert _guard(lambda: app(["show", "--config", str(shops.path), *args], standalone_mode=False)) == code
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    assert needle in lines[0]


def test_evershop_graphql_order(tmp_path: Path) -> None:
    """EverShop: the admin GraphQL order object, the input `translate --from evershop` takes."""
    sim = EverShop(orders=1, seed=3)
    server = serve_in_thread(sim.app)
    os.environ.update({"SH_ESE": "admin@example.com", "SH_ESP": "Admin12345"})
    path = tmp_path / "ordersync.toml"
    path.write_text(f'[settings]\ndatabase_url = "sqlite:///{tmp_path / "s.db"}"\n[stores.shop]\n'
                    f'platform = "evershop"\nbase_url = "{server.url}"\n'
                    'credentials = { email = "${SH_ESE}", password = "${SH_ESP}" }\n')
    try:
        uuid = str(next(iter(sim.orders.values())).row["uuid"])
        done = runner.invoke(app, ["show", "--config", str(path), "shop", uuid])
        assert done.exit_code == 0, done.output
        raw = orjson.loads(done.stdout)
        assert raw["uuid"] == uuid
        assert raw["items"]
        neutral = runner.invoke(app, ["show", "--config", str(path), "shop", uuid, "--as", "neutral"])
        assert neutral.exit_code == 0, neutral.output
        assert orjson.loads(neutral.stdout)["source"]["platform"] == "evershop"
    finally:
        server.stop()

"""`ordersync sync`: a one-shot run in this process, through the same task code, with a summary."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from tests.sync.test_engine import Shops
from workers.cli import app


@pytest.fixture
def shops(tmp_path: Path) -> Iterator[Shops]:
    s = Shops(tmp_path)
    yield s
    s.close()


def test_sync_mirrors_new_orders_then_finds_nothing_to_do(shops: Shops) -> None:
    """First run creates the mirrors on both routes; the second run writes nothing; status shows it."""
    first, second = shops.order(), shops.order(sku="TEE-M")
    runner = CliRunner()
    done = runner.invoke(app, ["sync", "--config", str(shops.path)])
    assert done.exit_code == 0, done.output
    assert "writes: create" in done.output
    assert len(shops.mp.orders) == 2
    assert len(shops.cs.orders) == 2
    again = runner.invoke(app, ["sync", "--config", str(shops.path), "--route", "us-to-ro"])
    assert again.exit_code == 0, again.output
    assert "writes: create" not in again.output
    status = orjson.loads(runner.invoke(app, ["status", "--json", "--config", str(shops.path)]).stdout)
    linked = {(row["route"], row["state"]): row["count"] for row in status["bindings"]}
    assert linked == {("us-to-ro", "linked"): 2, ("us-to-eu", "linked"): 2}
    assert [c["store"] for c in status["cursors"]] == ["us"]
    assert {first, second} <= {b.source_id for b in shops.ctx.store.bindings()}


def test_sync_unknown_route_is_a_clear_error(shops: Shops) -> None:
    """A route that does not exist: exit 2, naming the known routes."""
    done = subprocess.run([sys.executable, "-c", "from workers.cli import main; main()", "sync", "--config",
                           str(shops.path), "--route", "nope"], capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 2
    assert "no route 'nope' (routes: us-to-ro, us-to-eu)" in done.stderr

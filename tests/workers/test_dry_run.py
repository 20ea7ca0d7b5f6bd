"""`ordersync sync --dry-run` and the backfill bounds (--since/--until/--order/--limit)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from connectors.base import OrderChange
from tests.sync.test_engine import Shops
from workers.cli import app
from workers.dryrun import ReadOnlyTransport, WriteBlocked
from workers.oneshot import Bounds

runner = CliRunner()


@pytest.fixture
def shops(tmp_path: Path) -> Iterator[Shops]:
    s = Shops(tmp_path)
    yield s
    s.close()


def _sync(shops: Shops, *args: str) -> str:
    done = runner.invoke(app, ["sync", "--config", str(shops.path), *args])
    assert done.exit_code == 0, done.output
    return done.stdout


def test_dry_run_prints_the_calls_and_changes_nothing(shops: Shops) -> None:
    first, second = shops.order(), shops.order(sku="TEE-M")
    text = _sync(shops, "--dry-run")
    for order_id in (first, second):
        assert f"us-to-ro order us:{order_id} would make:" in text
        assert f"us-to-eu order us:{order_id} would make:" in text
    assert text.count("ro: POST /api/v2/orders") == 2
    assert text.count("eu: POST /api/orders") == 2
    assert "stamp_reference" not in text  # MerchantPro and CS-Cart stamp within the create
    assert "nothing was written" in text
    assert shops.mp.orders == {}
    assert shops.cs.orders == {}
    assert shops.ctx.store.bindings() == []
    assert shops.ctx.store.cursor("us") is None
    assert shops.ctx.store.counts()["operations"] == []
    real = _sync(shops)  # the real run afterwards still has everything to do
    assert "writes: create" in real
    assert len(shops.mp.orders) == 2


def test_dry_run_after_a_change_shows_only_that_write(shops: Shops) -> None:
    order_id = shops.order()
    _sync(shops)
    answer = httpx.put(f"{shops.servers[0].url}/stores/simstore/v2/orders/{order_id}", json={"status_id": 5},
                       headers={"X-Auth-Token": "sim-token"}, timeout=10)
    assert answer.status_code == 200, answer.text
    before = dict(shops.mp.orders)
    text = _sync(shops, "--dry-run", "--route", "us-to-ro")
    assert f"us-to-ro order us:{order_id} would make:" in text
    assert "POST /api/v2/orders" not in text
    assert "ro: " in text
    assert shops.mp.orders == before


def test_the_transport_refuses_writes() -> None:
    """Under the recorder, a write that would slip through never leaves the process."""
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.method)
        return httpx.Response(200, json={})

    inner = httpx.MockTransport(answer)
    client = httpx.Client(transport=ReadOnlyTransport(inner), base_url="http://shop")
    assert client.get("/api/orders").status_code == 200
    assert client.post("/api/graphql", json={"query": "{x}"}).status_code == 200
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        with pytest.raises(WriteBlocked, match=f"refused {method} /api/orders"):
            client.request(method, "/api/orders", json={})
    assert seen == ["GET", "POST"]


def test_bounds_select_by_time_and_limit() -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    feed = [OrderChange(id="1", updated_at=t0), OrderChange(id="2", updated_at=t0 + timedelta(days=1)),
            OrderChange(id="3", updated_at=t0 + timedelta(days=2)), OrderChange(id="4"),
            OrderChange(id="2", updated_at=t0 + timedelta(days=1))]
    assert Bounds(since=t0 + timedelta(days=1)).select(feed) == ["2", "3", "4"]
    assert Bounds(until=t0 + timedelta(days=2)).select(feed) == ["1", "2", "4"]
    assert Bounds(since=t0, until=t0 + timedelta(days=1)).select(feed) == ["1", "4"]
    assert Bounds(limit=2).select(feed) == ["1", "2"]
    assert not Bounds().active
    assert Bounds(limit=1).active


def test_bounded_runs_leave_the_cursor(shops: Shops) -> None:
    first, second, third = shops.order(), shops.order(), shops.order()
    _sync(shops, "--route", "us-to-ro", "--order", second)
    assert {b.source_id for b in shops.ctx.store.bindings("us-to-ro")} == {second}
    _sync(shops, "--route", "us-to-ro", "--limit", "1")
    assert len(shops.ctx.store.bindings("us-to-ro")) == 2
    assert shops.ctx.store.cursor("us") is None
    future = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S")
    _sync(shops, "--route", "us-to-ro", "--since", future)
    assert len(shops.ctx.store.bindings("us-to-ro")) == 2
    assert shops.ctx.store.cursor("us") is None
    _sync(shops, "--route", "us-to-ro")
    assert {b.source_id for b in shops.ctx.store.bindings("us-to-ro")} == {first, second, third}
    assert shops.ctx.store.cursor("us") is not None


@pytest.mark.parametrize(("args", "needle"), [
    (["--order", "1"], "--order: name the route with --route"),
    (["--since", "2026-02-01", "--until", "2026-01-01"], "--since must be before --until"),
    (["--limit", "0"], "Invalid value for '--limit'"),
    (["--since", "yesterday"], "Invalid value for '--since'"),
])
def test_bound_usage_errors(shops: Shops, args: list[str], needle: str, capsys: pytest.CaptureFixture[str]) -> None:
    from workers.cli import _guard

    assert _guard(lambda: app(["sync", "--config", str(shops.path), *args], standalone_mode=False)) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    assert needle in lines[0]

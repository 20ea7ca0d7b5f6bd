"""`ordersync attention list|show|dismiss` and `replay` that only replays."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from sync.store import Store
from workers.cli import _guard, app

runner = CliRunner()


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Store]:
    db = f"sqlite:///{tmp_path / 'state.db'}"
    path = tmp_path / "ordersync.toml"
    path.write_text(f'[settings]\ndatabase_url = "{db}"\nlog_level = "WARNING"\n'
                    '[stores.a]\nplatform = "bigcommerce"\nbase_url = "http://127.0.0.1:9/stores/x"\n'
                    '[stores.b]\nplatform = "merchantpro"\nbase_url = "http://127.0.0.1:9"\n'
                    '[[routes]]\nsource = "a"\ntarget = "b"\n')
    store = Store(db, auto_migrate=True)
    store.park(kind="unknown_sku", reason="SKU [X] unknown", route="a-to-b", store="a", order_id="1",
               payload='{"id": 1}', replay={"task": "reconcile", "route": "a-to-b", "store": "a", "order_id": "1"})
    store.park(kind="price_drift", reason="total differs by 0.01", route="a-to-b", store="a", order_id="2",
               replay={"task": "acknowledge"})
    store.park(kind="invalid_webhook", reason="bad body", store="b", payload="not json")
    return path, store


def _json(path: Path, *args: str) -> Any:
    done = runner.invoke(app, [*args, "--config", str(path)])
    assert done.exit_code == 0, done.output
    return orjson.loads(done.stdout)


def test_list_filters(setup: tuple[Path, Store]) -> None:
    path, _ = setup
    every = _json(path, "attention", "list", "--json")
    assert isinstance(every, list)
    assert [row["kind"] for row in every] == ["invalid_webhook", "price_drift", "unknown_sku"]
    by_route = _json(path, "attention", "list", "--json", "--route", "a-to-b", "--kind", "unknown_sku")
    assert [row["order_id"] for row in by_route] == ["1"]
    by_store = _json(path, "attention", "list", "--json", "--store", "b")
    assert [row["kind"] for row in by_store] == ["invalid_webhook"]
    table = runner.invoke(app, ["attention", "list", "--config", str(path)])
    assert table.exit_code == 0, table.output
    assert "[X]" in table.stdout  # reasons are shown literally, not as Rich markup


def test_show_prints_the_whole_item(setup: tuple[Path, Store]) -> None:
    path, store = setup
    [item] = store.attention(kinds=["unknown_sku"])
    data = _json(path, "attention", "show", str(item.id), "--json")
    assert isinstance(data, dict)
    assert data["payload"] == '{"id": 1}'
    assert data["replay"]["task"] == "reconcile"
    text = runner.invoke(app, ["attention", "show", str(item.id), "--config", str(path)])
    assert text.exit_code == 0, text.output
    assert '"id": 1' in text.stdout


def test_replay_only_replays_and_dismiss_closes_with_a_note(setup: tuple[Path, Store]) -> None:
    path, store = setup
    [drift] = store.attention(kinds=["price_drift"])
    replayed = runner.invoke(app, ["replay", str(drift.id), "--config", str(path)])
    assert replayed.exit_code == 0, replayed.output
    assert "nothing to replay" in replayed.stdout
    assert [i.id for i in store.attention(kinds=["price_drift"])] == [drift.id]  # still open
    done = runner.invoke(app, ["attention", "dismiss", str(drift.id), "--note", "rounding, fine",
                               "--config", str(path)])
    assert done.exit_code == 0, done.output
    assert store.attention(kinds=["price_drift"]) == []
    closed = store.attention_item(drift.id or 0)
    assert closed is not None
    assert closed.status == "dismissed"
    assert (closed.detail or {})["dismissed"]["note"] == "rounding, fine"


@pytest.mark.parametrize(("args", "needle"), [
    (["attention", "dismiss", "1"], "Missing option '--note'"),
    (["attention", "dismiss", "999", "--note", "x"], "no attention item 999"),
    (["attention", "list", "--store", "zz"], "--store: unknown store 'zz'"),
    (["attention", "list", "--route", "zz"], "--route: no route 'zz'"),
    (["attention", "list", "--status", "gone"], "--status: expected one of"),
    (["attention", "show", "abc"], "Invalid value for 'item_id'"),
])
def test_usage_errors(setup: tuple[Path, Store], args: list[str], needle: str,
                      capsys: pytest.CaptureFixture[str]) -> None:
    path, _ = setup
    assert _guard(lambda: app([*args, "--config", str(path)], standalone_mode=False)) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    assert needle in lines[0]
    assert "unexpected" not in lines[0]


def test_dismissing_twice_is_a_usage_error(setup: tuple[Path, Store], capsys: pytest.CaptureFixture[str]) -> None:
    path, store = setup
    [item] = store.attention(kinds=["invalid_webhook"])
    args = ["attention", "dismiss", str(item.id), "--note", "spam", "--config", str(path)]
    assert _guard(lambda: app(args, standalone_mode=False)) == 0
    assert _guard(lambda: app(args, standalone_mode=False)) == 2
    assert "is dismissed, not open" in capsys.readouterr().err

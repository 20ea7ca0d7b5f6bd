"""The pause switch of a route: workers, the deep sweep and `ordersync sync` leave a paused route
alone, keep its work, and do it after the resume."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.sync.test_engine import Shops
from workers import pause
from workers.cli import app
from workers.tasks import poll, reconcile, reconcile_all


@pytest.fixture
def shops(tmp_path: Path) -> Iterator[Shops]:
    s = Shops(tmp_path)
    yield s
    s.close()


def test_sync_skips_a_paused_route_and_the_resume_catches_up(shops: Shops) -> None:
    """`sync` mirrors the other route, keeps the paused route's orders as deferred work; resume does them."""
    first, second = shops.order(), shops.order()
    store = shops.ctx.store
    pause.pause(shops.ctx, "us-to-ro", "stock count")
    done = CliRunner().invoke(app, ["sync", "--config", str(shops.path)])
    assert done.exit_code == 0, done.output
    assert "route us-to-ro is paused" in done.output
    assert len(shops.cs.orders) == 2
    assert shops.mp.orders == {}
    assert {w.order_id for w in store.deferred_work("us-to-ro")} == {first, second}
    assert pause.resume(shops.ctx, "us-to-ro") == 2
    assert len(shops.mp.orders) == 2
    assert store.deferred_work() == []


def test_a_reconcile_task_for_a_paused_route_defers_instead_of_writing(shops: Shops) -> None:
    """Webhooks, polls and replays all end in the reconcile task: it records the order and returns."""
    order_id = shops.order()
    pause.pause(shops.ctx, "us-to-ro")
    outcome = reconcile.apply(args=("us-to-ro", "us", order_id)).get()
    assert outcome["outcome"] == "paused"
    assert shops.mp.orders == {}
    assert [w.order_id for w in shops.ctx.store.deferred_work("us-to-ro")] == [order_id]
    assert shops.ctx.store.binding("us-to-ro", "us", order_id) is None


def test_poll_leaves_the_cursor_alone_when_every_reader_is_paused(shops: Shops) -> None:
    """Beat's polls of a store whose routes are all paused read nothing, so nothing is skipped later."""
    shops.order()
    pause.pause(shops.ctx, "us-to-ro")
    pause.pause(shops.ctx, "us-to-eu")
    result = poll.apply(args=("us",)).get()
    assert "paused" in result["reason"]
    assert shops.ctx.store.cursor("us") is None
    assert shops.mp.orders == {}
    assert shops.cs.orders == {}
    assert reconcile_all.apply().get()["stores"] == ["us"]
    assert shops.mp.orders == {}, "the deep sweep does not poll a paused store"
    assert shops.cs.orders == {}


def test_the_deep_sweep_drains_work_a_crashed_resume_left(shops: Shops) -> None:
    """Deferred work of a route that is no longer paused is queued by reconcile_all."""
    order_id = shops.order()
    shops.ctx.store.defer_work("us-to-ro", "us", order_id)
    pause.pause(shops.ctx, "us-to-eu")
    reconcile_all.apply().get()
    assert len(shops.mp.orders) == 1
    assert shops.cs.orders == {}
    assert shops.ctx.store.deferred_work("us-to-ro") == []
    assert [w.order_id for w in shops.ctx.store.deferred_work("us-to-eu")] == [order_id]


def test_work_deferred_again_during_a_resume_is_kept(shops: Shops, monkeypatch: pytest.MonkeyPatch) -> None:
    """Paused again while the resume drains: the order's reconcile defers anew, and that entry survives."""
    order_id = shops.order()
    pause.pause(shops.ctx, "us-to-ro")
    shops.ctx.store.defer_work("us-to-ro", "us", order_id)
    import workers.tasks

    def paused_meanwhile(route: str, store: str, order: str) -> None:
        shops.ctx.store.pause_route(route, "paused again")
        reconcile.apply(args=(route, store, order)).get()

    monkeypatch.setattr(workers.tasks, "enqueue_reconcile", paused_meanwhile)
    pause.resume(shops.ctx, "us-to-ro")
    assert shops.mp.orders == {}
    assert [w.order_id for w in shops.ctx.store.deferred_work("us-to-ro")] == [order_id]


def test_pausing_an_unknown_route_is_an_error(shops: Shops) -> None:
    with pytest.raises(KeyError, match="no route"):
        pause.pause(shops.ctx, "nope")

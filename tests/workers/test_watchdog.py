"""Work that cannot be lost between poll and worker: due work, the watchdog, unpublishable retries.

The shops are simulators served in-process; the broker is the embedded one (tasks run inline)
except where a test makes publishing fail or vanish, as a dead or restarted Redis would.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from celery.exceptions import Reject
from kombu.exceptions import OperationalError
from sqlalchemy.exc import OperationalError as DatabaseDown

from sync.models import utcnow
from sync.store import Store
from tests.sync.conftest import pg_url, store  # noqa: F401 - fixtures: the store on SQLite and PostgreSQL
from tests.sync.test_engine import Shops
from workers import context, tasks, watchdog
from workers.app import app as celery_app
from workers.app import configure


@pytest.fixture
def shops(tmp_path: Path, store: Store) -> Iterator[Shops]:  # noqa: F811
    """The engine test shops, their state in ``store`` (SQLite or PostgreSQL), tasks run inline."""
    s = Shops(tmp_path)
    s.ctx.close()
    s.ctx = context.Context.build(s.config, store=store)
    context.install(s.ctx)
    configure(s.config.settings, s.config)
    celery_app.conf.task_always_eager = True
    yield s
    s.close()


def _lose_publishes(monkeypatch: pytest.MonkeyPatch, sent: list[Any]) -> None:
    """The broker accepts every message and then forgets it (a Redis without persistence restarted)."""
    monkeypatch.setattr(tasks.reconcile, "apply_async", lambda args, **kw: sent.append(args))


def test_a_task_lost_with_the_broker_is_redriven_by_the_watchdog(shops: Shops, monkeypatch: pytest.MonkeyPatch) -> None:
    """The poll records its orders, advances the cursor, publishes; the messages vanish; the watchdog
    publishes them again once they are overdue, and the finished reconciles close the rows."""
    first, second = shops.order(), shops.order()
    sent: list[Any] = []
    with monkeypatch.context() as patch:
        _lose_publishes(patch, sent)
        result = tasks.poll.apply(args=("us",)).get()
    assert result["changes"] == 2
    assert len(sent) == 4  # two orders on two routes
    assert shops.ctx.store.cursor("us") is not None
    assert shops.ctx.store.due_counts() == {"due": 4}
    assert not shops.mp.orders
    assert not shops.cs.orders
    assert watchdog.run(shops.ctx).due == 0  # published a moment ago: not overdue yet
    later = utcnow() + timedelta(seconds=tasks.REDRIVE_AFTER + 1)
    assert watchdog.run(shops.ctx, now=later).due == 4
    assert len(shops.mp.orders) == 2
    assert len(shops.cs.orders) == 2
    assert shops.ctx.store.due_counts() == {"done": 4}
    assert {b.source_id for b in shops.ctx.store.bindings("us-to-ro")} == {first, second}
    assert watchdog.run(shops.ctx, now=later + timedelta(hours=1)).due == 0


def test_the_cursor_does_not_advance_when_the_work_cannot_be_recorded(shops: Shops,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The state store refuses the due rows: no cursor saved, nothing published; the next poll re-reads."""
    shops.order()
    sent: list[Any] = []
    _lose_publishes(monkeypatch, sent)

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise DatabaseDown("INSERT INTO due_work", {}, Exception("the database is gone"))

    with monkeypatch.context() as patch:
        patch.setattr(shops.ctx.store, "record_due", refuse)
        with pytest.raises(DatabaseDown):
            tasks.poll.apply(args=("us",)).get()
    assert shops.ctx.store.cursor("us") is None
    assert sent == []
    assert tasks.poll.apply(args=("us",)).get()["changes"] == 1
    assert len(sent) == 2


def test_a_failed_publish_leaves_the_work_due_for_the_watchdog(shops: Shops, monkeypatch: pytest.MonkeyPatch) -> None:
    """Redis refuses the publish after the rows were recorded: the poll still finishes, the rows wait
    unpublished, and the watchdog publishes them after the publish grace."""
    order = shops.order()

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("Error 111 connecting to 127.0.0.1:1. Connection refused.")

    with monkeypatch.context() as patch:
        patch.setattr(tasks.reconcile, "apply_async", refuse)
        celery_app.conf.task_always_eager = False
        try:
            assert tasks.poll.apply(args=("us",)).get()["changes"] == 1
        finally:
            celery_app.conf.task_always_eager = True
    rows = shops.ctx.store.due_rows([("us-to-ro", "us", order), ("us-to-eu", "us", order)])
    assert [r.published_at for r in rows] == [None, None]
    assert shops.ctx.store.cursor("us") is not None
    assert watchdog.run(shops.ctx).due == 0
    assert watchdog.run(shops.ctx, now=utcnow() + timedelta(seconds=tasks.PUBLISH_GRACE + 1)).due == 2
    assert len(shops.mp.orders) == 1
    assert shops.ctx.store.due_counts() == {"done": 2}


def test_a_retry_the_broker_refuses_is_recorded_as_due_work(shops: Shops) -> None:
    """Celery turns a failed retry publish into ``Reject``; the order becomes due work instead."""
    order = shops.order()

    class BrokerDown:
        request = SimpleNamespace(is_eager=False)

        def retry(self, **kwargs: Any) -> Any:
            raise Reject(OperationalError("Connection refused"), requeue=False)

    outcome = tasks._retry(BrokerDown(), 5.0, route="us-to-ro", store="us", order_id=order, attempt=2)
    assert outcome["outcome"] == "deferred"
    (row,) = shops.ctx.store.due_rows([("us-to-ro", "us", order)])
    assert row.status == "due"
    assert row.reason == "retry"
    assert "retry could not be published" in (row.last_error or "")
    assert watchdog.run(shops.ctx).due == 0  # it waits out its countdown
    assert watchdog.run(shops.ctx, now=utcnow() + timedelta(seconds=6)).due == 1
    assert len(shops.mp.orders) == 1
    assert shops.ctx.store.due_rows([("us-to-ro", "us", order)])[0].status == "done"


def test_a_retry_that_cannot_be_recorded_either_is_not_acknowledged_away(shops: Shops,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Broker and database both down: the task re-raises the Reject rather than reporting success."""

    class BrokerDown:
        request = SimpleNamespace(is_eager=False)

        def retry(self, **kwargs: Any) -> Any:
            raise Reject(OperationalError("Connection refused"), requeue=False)

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise DatabaseDown("UPDATE due_work", {}, Exception("gone"))

    monkeypatch.setattr(shops.ctx.store, "record_due", refuse)
    monkeypatch.setattr(shops.ctx.store, "defer_due", lambda *a, **k: None)
    with pytest.raises(Reject):
        tasks._retry(BrokerDown(), 5.0, route="us-to-ro", store="us", order_id="1", attempt=2)


def test_a_pending_create_with_a_lost_answer_is_reconciled_again(shops: Shops) -> None:
    """A binding left ``pending`` (the worker died during the create) is re-driven after the grace."""
    order = shops.order()
    binding = shops.ctx.store.open_binding(route="us-to-ro", source_store="us", source_id=order, target_store="ro",
                                           reference=f"ordersync:us:{order}")
    assert binding.id is not None
    shops.ctx.store.update_binding(binding.id, pending_since=utcnow() - timedelta(minutes=10))
    result = watchdog.run(shops.ctx)
    assert (result.pending, result.due) == (1, 1)
    assert len(shops.mp.orders) == 1
    linked = shops.ctx.store.binding("us-to-ro", "us", order)
    assert linked is not None
    assert linked.state == "linked"
    assert watchdog.run(shops.ctx).pending == 0


def test_an_inbox_event_never_handled_is_published_again(shops: Shops) -> None:
    """A webhook stored but never handled (its publish was lost) is handled by the watchdog."""
    order = shops.order()
    row, new = shops.ctx.store.add_inbox(store="us", event_key="evt-1", topic="store/order/created",
                                         order_id=order, payload="{}")
    assert new
    assert row.id is not None
    shops.ctx.store.mark_inbox(row.id, "enqueued")
    assert watchdog.run(shops.ctx).inbox == 0
    result = watchdog.run(shops.ctx, now=utcnow() + timedelta(seconds=2 * shops.ctx.config.settings.relay_grace + 1))
    assert result.inbox == 1
    assert len(shops.mp.orders) == 1
    handled = shops.ctx.store.inbox_event(row.id)
    assert handled is not None
    assert handled.status == "processed"


def test_a_busy_backfill_queue_holds_back_only_its_own_published_rows(shops: Shops,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """While the backfill queue holds messages its published rows wait their turn (no doubled backlog),
    but a realtime task lost meanwhile is re-driven at once."""
    fast, slow = shops.order(), shops.order()
    state = shops.ctx.store
    realtime = state.record_due([("us-to-ro", "us", fast)], lane="realtime")
    backfill = state.record_due([("us-to-ro", "us", slow)], lane="backfill")
    state.mark_due_published([r.id for r in [*realtime, *backfill] if r.id is not None], redrive_after=0)
    monkeypatch.setattr(watchdog, "broker_backlog", lambda ctx: {"realtime": 0, "backfill": 1500})
    later = utcnow() + timedelta(seconds=1)
    result = watchdog.run(shops.ctx, now=later)
    assert (result.due, result.backlog) == (1, 1500)
    assert [b.source_id for b in state.bindings("us-to-ro")] == [fast]
    monkeypatch.setattr(watchdog, "broker_backlog", lambda ctx: {"realtime": 0, "backfill": 0})
    assert watchdog.run(shops.ctx, now=later).due == 1
    assert {b.source_id for b in state.bindings("us-to-ro")} == {fast, slow}

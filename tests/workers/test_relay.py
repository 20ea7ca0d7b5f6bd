"""The relay, the one re-drive path of the webhook inbox: once per grace period, whoever runs it.

The relay runs in three places — a thread in ``ordersync serve``, the ``ordersync.relay`` beat task
and inside every watchdog run — and all three go through :func:`workers.relay.relay_once`, which
claims rows before publishing them. These tests record what reaches the "broker" (the publisher's
``publish``) and check that an event is published once per grace period, never twice, whichever of
them runs, also when they race on PostgreSQL.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from datetime import timedelta

import pytest
from sqlmodel import Session

from sync.models import InboxEvent, utcnow
from sync.store import Store
from tests.sync.conftest import pg_url, store  # noqa: F401 - fixtures: the store on SQLite and PostgreSQL
from tests.sync.test_engine import Shops
from tests.workers.test_watchdog import shops  # noqa: F401 - fixture: the engine shops on that store
from workers import tasks, watchdog
from workers.relay import BUSY_FACTOR, REDRIVE_FACTOR, Publisher, Relay, publisher_for, relay_once

GRACE = 30.0
LATER = timedelta(seconds=REDRIVE_FACTOR * GRACE + 1)


class Broker:
    """Records every inbox id published; ``accept`` limits how many of a batch get through."""

    def __init__(self) -> None:
        self.sent: list[int] = []
        self.accept: int | None = None
        self.lock = threading.Lock()

    def publish(self, inbox_ids: Sequence[int]) -> list[int]:
        taken = list(inbox_ids)[: self.accept] if self.accept is not None else list(inbox_ids)
        time.sleep(0.002)  # a publish takes a moment: room for a concurrent relay to race
        with self.lock:
            self.sent += taken
        return taken


@pytest.fixture
def broker(monkeypatch: pytest.MonkeyPatch) -> Broker:
    """Every publisher of this process publishes into one recording broker (nothing is handled)."""
    recording = Broker()
    monkeypatch.setattr(Publisher, "publish", lambda self, ids: recording.publish(ids))
    monkeypatch.setattr(Publisher, "realtime_backlog", lambda self: 0)
    return recording


def _events(store: Store, count: int, *, status: str = "received") -> list[int]:  # noqa: F811
    ids = []
    for index in range(count):
        row, _ = store.add_inbox(store="us", event_key=f"evt-{index}", topic="store/order/updated",
                                 order_id=str(500 + index), payload="{}")
        assert row.id is not None
        if status != "received":
            store.mark_inbox(row.id, status)
        ids.append(row.id)
    return ids


def _status(store: Store, inbox_id: int) -> str:  # noqa: F811
    row = store.inbox_event(inbox_id)
    assert row is not None
    return row.status


def test_an_event_is_redriven_once_per_grace_period_whichever_beat_task_runs(
        shops: Shops, broker: Broker, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    """The relay beat task, the watchdog and the serve thread all run; the event goes out once per period."""
    monkeypatch.setattr(shops.ctx.config.settings, "relay_grace", GRACE)
    [event] = _events(shops.ctx.store, 1)
    _age(shops.ctx.store, event, GRACE + 1)  # its own publish was lost before it was marked
    publisher = publisher_for(shops.ctx.config.settings)
    assert tasks.relay_inbox.apply().get() == {"published": 1}
    assert watchdog.run(shops.ctx).inbox == 0
    thread = Relay(shops.ctx.store, publisher, grace=GRACE, interval=0.02)
    thread.start()
    time.sleep(0.3)
    thread.stop()
    thread.join(5)
    assert tasks.relay_inbox.apply().get() == {"published": 0}
    assert broker.sent == [event]
    assert _status(shops.ctx.store, event) == "enqueued"
    later = utcnow() + LATER  # published, never handled: its message was lost with the broker
    assert watchdog.run(shops.ctx, now=later).inbox == 1
    assert relay_once(shops.ctx.store, publisher, grace=GRACE, now=later) == 0
    assert watchdog.run(shops.ctx, now=later + timedelta(seconds=5)).inbox == 0
    assert broker.sent == [event, event]
    again = later + LATER
    assert relay_once(shops.ctx.store, publisher, grace=GRACE, now=again) == 1
    assert watchdog.run(shops.ctx, now=again).inbox == 0
    assert broker.sent == [event, event, event]
    shops.ctx.store.mark_inbox(event, "processed")
    assert watchdog.run(shops.ctx, now=again + LATER + LATER).inbox == 0
    assert broker.sent == [event, event, event]


def _age(store: Store, inbox_id: int, seconds: float) -> None:  # noqa: F811
    """Move an event's arrival ``seconds`` into the past."""
    with Session(store.engine) as s:
        row = s.get(InboxEvent, inbox_id)
        assert row is not None
        row.received_at = utcnow() - timedelta(seconds=seconds)
        s.add(row)
        s.commit()


def test_an_event_within_its_grace_period_is_left_to_its_own_publisher(store: Store, broker: Broker) -> None:  # noqa: F811
    """A fresh event is the intake's to publish; the relay takes it only once `relay_grace` has passed."""
    [event] = _events(store, 1)
    publisher = Publisher.__new__(Publisher)
    assert relay_once(store, publisher, grace=30, busy=False) == 0
    assert relay_once(store, publisher, grace=30, busy=False, now=utcnow() + timedelta(seconds=31)) == 1
    assert broker.sent == [event]


def test_what_the_broker_did_not_take_is_released_for_the_next_round(store: Store, broker: Broker) -> None:  # noqa: F811
    """A publish that fails half-way leaves the rest `received`, overdue at once, not a grace period later."""
    ids = _events(store, 4)
    publisher = Publisher.__new__(Publisher)
    broker.accept = 1
    assert relay_once(store, publisher, grace=0, redrive_after=60, busy=False) == 1
    assert [_status(store, i) for i in ids] == ["enqueued", "received", "received", "received"]
    assert [e.id for e in store.unpublished_inbox(utcnow())] == ids[1:]
    broker.accept = None
    assert relay_once(store, publisher, grace=0, redrive_after=60, busy=False) == 3
    assert sorted(broker.sent) == ids
    assert relay_once(store, publisher, grace=0, redrive_after=60, busy=False) == 0


def test_a_publish_that_raises_releases_its_claims(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    """An unexpected error while publishing does not leave rows claimed for a whole grace period."""
    ids = _events(store, 2)

    def broken(self: Publisher, inbox_ids: Sequence[int]) -> list[int]:
        raise RuntimeError("broker client bug")

    monkeypatch.setattr(Publisher, "publish", broken)
    with pytest.raises(RuntimeError):
        relay_once(store, Publisher.__new__(Publisher), grace=0, redrive_after=60, busy=False)
    assert {_status(store, i) for i in ids} == {"received"}


def test_a_busy_realtime_queue_delays_only_the_redrive_of_published_events(store: Store, broker: Broker) -> None:  # noqa: F811
    """While the realtime queue holds messages, published events are probably waiting their turn."""
    [published] = _events(store, 1, status="enqueued")
    publisher = Publisher.__new__(Publisher)
    later = utcnow() + LATER
    unpublished, _ = store.add_inbox(store="us", event_key="evt-new", topic="t", order_id="9", payload="{}")
    assert relay_once(store, publisher, grace=GRACE, busy=True, now=later) == 1
    assert broker.sent == [unpublished.id]
    assert relay_once(store, publisher, grace=GRACE, busy=False, now=later) == 1
    assert broker.sent == [unpublished.id, published]
    busy_wait = timedelta(seconds=BUSY_FACTOR * REDRIVE_FACTOR * GRACE + 1)  # both were published at `later`
    assert relay_once(store, publisher, grace=GRACE, busy=True, now=later + busy_wait - LATER) == 0
    assert relay_once(store, publisher, grace=GRACE, busy=True, now=later + busy_wait) == 2


@pytest.mark.postgres
def test_relays_racing_on_postgresql_publish_each_event_once(pg_url: str, broker: Broker) -> None:  # noqa: F811
    """Four relays (serve processes, beat, the watchdog) at once: every event reaches the broker once."""
    state = Store(pg_url, auto_migrate=True)
    try:
        ids = _events(state, 300)
        publisher = Publisher.__new__(Publisher)
        counts: list[int] = []
        start = threading.Barrier(4)

        def relay() -> None:
            start.wait()
            counts.append(relay_once(state, publisher, grace=0, redrive_after=60, busy=False, limit=20))

        threads = [threading.Thread(target=relay) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert sorted(broker.sent) == ids
        assert sum(counts) == len(ids)
    finally:
        state.dispose()

"""Stored webhooks handed to the workers in shared messages: ``handle_webhooks`` handles a list of inbox
events at once, and the publisher puts up to :data:`~workers.relay.EVENTS_PER_MESSAGE` in a message.

Both run on the store's two backends (SQLite and PostgreSQL) and, for the publisher, on a real
redis-server of the test's own.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
import redis

from sync.store import Store
from tests.sync.conftest import pg_url, store  # noqa: F401 - fixtures: the store on SQLite and PostgreSQL
from tests.sync.test_engine import Shops
from tests.workers.private_redis import RedisServer, redis_server_binary
from tests.workers.test_intake_outbox import intake  # noqa: F401 - fixture: context and Celery app on a broker
from tests.workers.test_watchdog import shops  # noqa: F401 - fixture: the engine shops on that store
from workers import context, tasks
from workers.app import QUEUE
from workers.relay import EVENTS_PER_MESSAGE, publisher_for


def _inbox(store: Store, key: str, order_id: str | None, *, shop: str = "us") -> int:  # noqa: F811
    row, _ = store.add_inbox(store=shop, event_key=key, topic="store/order/updated", order_id=order_id,
                             payload="{}")
    assert row.id is not None
    return row.id


def test_a_list_of_events_is_handled_at_once_with_one_reconcile_per_order_and_route(shops: Shops) -> None:  # noqa: F811
    """Two events of one order, one about no order, one of a store no route reads and one id that
    does not exist: the order is reconciled once per route, every row is marked, nothing fails."""
    state = shops.ctx.store
    order = shops.order()
    first, again = _inbox(state, "e-1", order), _inbox(state, "e-2", order)
    no_order = _inbox(state, "e-3", None)
    unread = _inbox(state, "e-4", "77", shop="ro")
    outcome = tasks.handle_webhooks.apply(args=([first, again, no_order, unread, 999_999],)).get()
    assert outcome == {"events": 4, "missing": 1, "ignored": 2, "reconciles": 2}
    assert len(shops.mp.orders) == 1, "mirrored once to MerchantPro, although two events named it"
    assert len(shops.cs.orders) == 1
    statuses = {row.id: row.status for row in state.inbox_rows([first, again, no_order, unread])}
    assert statuses == {first: "processed", again: "processed", no_order: "ignored", unread: "ignored"}
    assert all(row.processed_at is not None for row in state.inbox_rows([first, no_order]))
    assert state.due_counts() == {"done": 2}


def test_handling_the_same_list_twice_mirrors_nothing_twice(shops: Shops) -> None:  # noqa: F811
    """At-least-once delivery of a message: the second run only re-arms the orders' reconciles."""
    state = shops.ctx.store
    ids = [_inbox(state, f"e-{n}", shops.order()) for n in range(3)]
    for _ in range(2):
        tasks.handle_webhooks.apply(args=(ids,)).get()
    assert len(shops.mp.orders) == 3
    assert len(shops.cs.orders) == 3


def test_a_message_queued_by_an_older_ordersync_is_still_handled(shops: Shops) -> None:  # noqa: F811
    """``handle_webhook`` (one id) messages left in Redis across an upgrade go the same way."""
    inbox_id = _inbox(shops.ctx.store, "e-1", shops.order())
    assert tasks.handle_webhook.apply(args=(inbox_id,)).get()["reconciles"] == 2
    assert len(shops.mp.orders) == 1


def test_the_publisher_puts_many_events_in_each_message(
        tmp_path: Path, intake: Callable[..., context.Context]) -> None:  # noqa: F811
    """120 events reach a real Redis in three messages (50, 50, 20), each id exactly once."""
    if redis_server_binary() is None:
        pytest.skip("redis-server is not installed")
    broker = RedisServer(tmp_path / "redis")
    broker.start()
    ctx = intake(f"sqlite:///{tmp_path / 'state.db'}", broker.url)
    publisher = publisher_for(ctx.config.settings)
    client = redis.Redis.from_url(broker.url, socket_timeout=2)
    try:
        ids = list(range(1, 121))
        assert publisher.publish(ids) == ids
        messages = [orjson.loads(raw) for raw in client.lrange(QUEUE, 0, -1)]
        assert {m["headers"]["task"] for m in messages} == {"ordersync.handle_webhooks"}
        carried = [orjson.loads(base64.b64decode(m["body"]))[0][0] for m in messages]
        assert sorted(len(batch) for batch in carried) == [20, EVENTS_PER_MESSAGE, EVENTS_PER_MESSAGE]
        assert sorted(i for batch in carried for i in batch) == ids
    finally:
        publisher.close()
        client.close()
        broker.stop()

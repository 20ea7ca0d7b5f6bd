"""``ordersync replay`` of a parked webhook: stored like a delivery, published and marked like the intake's.

A replayed webhook goes through :func:`workers.relay.publish_and_mark`, so its inbox row says
``enqueued`` once the broker has it (the relay leaves it alone), and stays ``received`` for the relay
when the broker does not take it.
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson
import pytest

from sync.models import AttentionItem, utcnow
from tests.sync.conftest import pg_url, store  # noqa: F401 - fixtures: the store on SQLite and PostgreSQL
from tests.sync.test_engine import Shops
from tests.workers.test_watchdog import shops  # noqa: F401 - fixture: the engine shops on that store
from workers.relay import Publisher, publisher_for, relay_once
from workers.replay import replay_item


def _parked(shops: Shops, body: object) -> AttentionItem:  # noqa: F811
    """A MerchantPro delivery parked as invalid (as the intake does), whose body parses now."""
    return shops.ctx.store.park(kind="invalid_webhook", reason="order id too long", store="ro",
                                payload=orjson.dumps(body).decode(), replay={"task": "webhook", "store": "ro"})


def _body(event_id: str, order: int) -> dict[str, object]:
    return {"event": "order.updated", "id": event_id, "created_at": "2026-12-04T10:00:00+00:00",
            "data": {"id": order}}


def _inbox(shops: Shops) -> list[tuple[str, str]]:  # noqa: F811
    rows = shops.ctx.store.unpublished_inbox(utcnow(), utcnow())
    return sorted((row.event_key, row.status) for row in rows)


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The broker: records what is published (nothing is handled, as with a real worker still busy)."""
    published: list[int] = []

    def publish(self: Publisher, inbox_ids: Sequence[int]) -> list[int]:
        published.extend(inbox_ids)
        return list(inbox_ids)

    monkeypatch.setattr(Publisher, "publish", publish)
    monkeypatch.setattr(Publisher, "realtime_backlog", lambda self: 0)
    return published


def test_a_replayed_webhook_is_published_and_marked_published(shops: Shops, sent: list[int]) -> None:  # noqa: F811
    """The event enters the inbox, reaches the broker once and is `enqueued`: the relay does not publish it again."""
    item = _parked(shops, _body("r-1", 4101))
    assert item.id is not None
    assert replay_item(shops.ctx, item) == "accepted 1 event(s), 0 duplicate(s)"
    [row] = shops.ctx.store.unpublished_inbox(utcnow(), utcnow())
    assert (row.event_key, row.status, row.order_id) == ("merchantpro:r-1", "enqueued", "4101")
    assert row.published_at is not None
    assert sent == [row.id]
    assert relay_once(shops.ctx.store, publisher_for(shops.ctx.config.settings), grace=30) == 0
    assert sent == [row.id]
    resolved = shops.ctx.store.attention_item(item.id)
    assert resolved is not None
    assert resolved.status == "resolved"


def test_replaying_an_event_already_published_is_a_duplicate(shops: Shops, sent: list[int]) -> None:  # noqa: F811
    """The same delivery parked twice: the second replay stores and publishes nothing."""
    replay_item(shops.ctx, _parked(shops, _body("r-2", 4102)))
    again = shops.ctx.store.park(kind="invalid_webhook", reason="again", store="ro", route="other",
                                 payload=orjson.dumps(_body("r-2", 4102)).decode(),
                                 replay={"task": "webhook", "store": "ro"})
    assert replay_item(shops.ctx, again) == "accepted 0 event(s), 1 duplicate(s)"
    assert len(sent) == 1


def test_a_replay_the_broker_refuses_is_left_to_the_relay(shops: Shops, sent: list[int],  # noqa: F811
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The event stays `received` and the outcome says so; the relay publishes it afterwards."""
    monkeypatch.setattr(Publisher, "publish", lambda self, ids: [])
    outcome = replay_item(shops.ctx, _parked(shops, _body("r-3", 4103)))
    assert outcome == "accepted 1 event(s), 0 duplicate(s); 1 left to the relay (broker unavailable)"
    assert _inbox(shops) == [("merchantpro:r-3", "received")]
    monkeypatch.setattr(Publisher, "publish", lambda self, ids: list(ids))
    publisher = publisher_for(shops.ctx.config.settings)
    assert relay_once(shops.ctx.store, publisher, grace=0, redrive_after=60, busy=False) == 1
    assert _inbox(shops) == [("merchantpro:r-3", "enqueued")]


def test_a_replay_still_invalid_stores_nothing(shops: Shops, sent: list[int]) -> None:  # noqa: F811
    """A body that still does not parse keeps its item open and enters no inbox."""
    item = _parked(shops, {"data": {"id": 1}})
    assert replay_item(shops.ctx, item).startswith("still invalid: ")
    assert sent == []
    assert item.id is not None
    found = shops.ctx.store.attention_item(item.id)
    assert found is not None
    assert found.status == "open"


def test_on_the_embedded_broker_a_replayed_webhook_is_handled_inline(shops: Shops) -> None:  # noqa: F811
    """No broker: `handle_webhooks` runs at once (no route reads this store, so the event is `ignored`)."""
    assert replay_item(shops.ctx, _parked(shops, _body("r-4", 4104))) == "accepted 1 event(s), 0 duplicate(s)"
    assert _inbox(shops) == []
    [row] = shops.ctx.store.inbox_events(store="ro")
    assert (row.event_key, row.status) == ("merchantpro:r-4", "ignored")
    assert row.processed_at is not None

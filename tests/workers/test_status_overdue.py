"""``ordersync status`` shows overdue work and stuck items with their age."""

from __future__ import annotations

from datetime import timedelta

import orjson
from sqlmodel import Session

from sync.models import InboxEvent, utcnow
from sync.store import Store
from tests.sync.conftest import pg_url, store  # noqa: F401 - fixtures: the store on SQLite and PostgreSQL
from tests.sync.test_engine import Shops
from tests.workers.test_sweep import _cli
from tests.workers.test_watchdog import shops  # noqa: F401 - fixture: the engine shops on that store
from workers.watchdog import format_age, overdue_report


def _stuck(store: Store) -> None:  # noqa: F811
    """One overdue due row, one create with an unknown answer, one webhook never handled — all minutes old."""
    store.record_due([("us-to-ro", "us", "501")], reason="poll")
    binding = store.open_binding(route="us-to-ro", source_store="us", source_id="502", target_store="ro",
                                 reference="ordersync:us:502")
    assert binding.id is not None
    store.update_binding(binding.id, pending_since=utcnow() - timedelta(minutes=7))
    store.begin_operation(key="k-502", route="us-to-ro", source_store="us", source_id="502", operation="create")
    store.finish_operation("k-502", "unknown", error="read timeout")
    row, _ = store.add_inbox(store="us", event_key="evt-9", topic="store/order/updated", order_id="503",
                             payload="{}")
    store.mark_inbox(row.id or 0, "enqueued")
    with Session(store.engine) as s:
        event = s.get(InboxEvent, row.id)
        assert event is not None
        event.received_at = utcnow() - timedelta(minutes=12)
        s.add(event)
        s.commit()


def test_status_lists_overdue_work_and_stuck_items_with_their_age(shops: Shops, store: Store) -> None:  # noqa: F811
    """Text and JSON both name each stuck item, with its age; nothing stuck means an empty report."""
    assert overdue_report(store)["due_work"]["count"] == 0
    _stuck(store)
    data = orjson.loads(_cli(shops, store, "status", "--json"))
    overdue = data["overdue"]
    assert [i["order_id"] for i in overdue["due_work"]["items"]] == ["501"]
    (pending,) = overdue["pending_creates"]["items"]
    assert (pending["order_id"], pending["ledger"]) == ("502", "unknown")
    assert 7 * 60 <= pending["age_seconds"] < 8 * 60
    (webhook,) = overdue["unpublished_webhooks"]["items"]
    assert (webhook["order_id"], webhook["status"]) == ("503", "enqueued")
    assert webhook["age_seconds"] >= 12 * 60
    text = _cli(shops, store, "status")
    assert "Overdue and stuck (3)" in text
    assert "ledger unknown" in text
    assert "12m0" in text
    assert "evt-9" in text


def test_ages_read_at_a_glance() -> None:
    """Seconds, minutes, hours, days."""
    assert [format_age(s) for s in (5, 95, 7300, 90000)] == ["5s", "1m35s", "2h01m", "1d01h"]

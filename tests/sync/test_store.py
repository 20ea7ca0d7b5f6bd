"""The state store: bindings, ledger, cursors, inbox and attention queue on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest

from sync.models import utcnow
from sync.store import InboxEntry, NewDelivery, SchemaOutdated, Store


class TestBindings:
    def test_open_binding_is_unique_per_route_and_source(self, store: Store) -> None:
        """Opening twice returns the same pending row; a different route gets its own."""
        a = store.open_binding(route="r", source_store="s", source_id="1", target_store="t", reference="ref")
        b = store.open_binding(route="r", source_store="s", source_id="1", target_store="t", reference="ref")
        c = store.open_binding(route="r2", source_store="s", source_id="1", target_store="t", reference="ref")
        assert a.id == b.id != c.id
        assert b.state == "pending"
        assert b.pending_since is not None

    def test_concurrent_open_yields_one_row(self, store: Store) -> None:
        """Eight threads racing to open the same binding end with a single row."""
        ids: list[int | None] = []

        def open_it() -> None:
            ids.append(store.open_binding(route="r", source_store="s", source_id="9", target_store="t",
                                          reference="ref").id)

        threads = [threading.Thread(target=open_it) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(set(ids)) == 1
        assert len(store.bindings("r")) == 1

    def test_link_and_lookup_by_target(self, store: Store) -> None:
        """After linking, the binding is found from either side; datetimes come back aware UTC."""
        row = store.open_binding(route="r", source_store="s", source_id="1", target_store="t", reference="ref")
        assert row.id is not None
        store.update_binding(row.id, target_id="T-7", state="linked", pending_since=None,
                             source_updated_at=utcnow())
        found = store.binding_by_target("r", "t", "T-7")
        assert found is not None
        assert found.id == row.id
        assert found.state == "linked"
        assert found.source_updated_at is not None
        assert found.source_updated_at.tzinfo is not None


class TestLedger:
    def test_begin_reports_previous_status(self, store: Store) -> None:
        """First begin has no previous; a crash leaves 'started'; success makes later begins no-ops."""
        kwargs: dict[str, Any] = {"key": "k", "route": "r", "source_store": "s", "source_id": "1",
                                  "operation": "create"}
        row, previous = store.begin_operation(**kwargs)
        assert previous is None
        assert row.status == "started"
        assert row.attempts == 1
        row, previous = store.begin_operation(**kwargs)
        assert previous == "started"
        assert row.attempts == 2
        store.finish_operation("k", "succeeded", result={"id": "T1"})
        row, previous = store.begin_operation(**kwargs)
        assert previous == "succeeded"
        assert row.status == "succeeded"
        assert row.result == {"id": "T1"}

    def test_finish_unknown_key_is_an_error(self, store: Store) -> None:
        """Finishing something never begun is a programming error, reported clearly."""
        with pytest.raises(KeyError, match="never begun"):
            store.finish_operation("nope", "succeeded")


class TestInboxAndAttention:
    def test_inbox_dedupes_per_store(self, store: Store) -> None:
        """The same event key is stored once per store."""
        _, first = store.add_inbox(store="a", event_key="e", topic="t", order_id="1", payload="{}")
        _, again = store.add_inbox(store="a", event_key="e", topic="t", order_id="1", payload="{}")
        _, other = store.add_inbox(store="b", event_key="e", topic="t", order_id="1", payload="{}")
        assert (first, again, other) == (True, False, True)

    def test_park_updates_the_open_item_and_resolve_closes_it(self, store: Store) -> None:
        """One open item per subject; it counts occurrences and closes on resolve."""
        store.park(kind="unknown_sku", reason="SKU X", route="r", store="s", order_id="1", payload="{}")
        item = store.park(kind="unknown_sku", reason="SKU Y", route="r", store="s", order_id="1")
        assert item.occurrences == 2
        assert item.reason == "SKU Y"
        assert item.payload == "{}"
        assert store.counts()["attention"] == {"unknown_sku": 1}
        assert store.resolve_attention(route="r", store="s", order_id="1") == 1
        assert store.attention() == []

    def test_stale_pending(self, store: Store) -> None:
        """Pending bindings older than a bound are found for the sweep."""
        store.open_binding(route="r", source_store="s", source_id="1", target_store="t", reference="ref")
        assert store.stale_pending(utcnow() + timedelta(seconds=1))
        assert not store.stale_pending(utcnow() - timedelta(hours=1))


def test_cursor_roundtrip(store: Store) -> None:
    """Cursors store JSON and remember the last error."""
    store.save_cursor("s", {"modified": "2026-01-01T00:00:00Z", "open": [1, 2]})
    store.save_cursor("s", None, error="boom")
    assert store.cursor("s") == {"modified": "2026-01-01T00:00:00Z", "open": [1, 2]}
    assert store.cursors()[0].last_error == "boom"


def test_unmigrated_postgres_is_refused(pg_url: str) -> None:
    """Without `ordersync db upgrade`, a server database is refused with that instruction."""
    with pytest.raises(SchemaOutdated, match="ordersync db upgrade"):
        Store(pg_url)


class TestDeliveries:
    """The intake's outbox writes: one payload row per delivery, duplicates by key, what to publish."""

    def test_a_batch_stores_each_payload_once_and_deduplicates_across_deliveries(self, store: Store) -> None:
        """Two deliveries in one batch sharing a key: the first stores it, the second counts a duplicate."""
        first = NewDelivery("a", "body-1", (InboxEntry("k1", "t", "1"), InboxEntry("k2", "t", "2")))
        second = NewDelivery("a", "body-2", (InboxEntry("k2", "t", "2"), InboxEntry("k3", "t", None)))
        other_store = NewDelivery("b", "body-3", (InboxEntry("k1", "t", "9"),))
        one, two, three = store.add_deliveries([first, second, other_store])
        assert (len(one.accepted), one.duplicates) == (2, 0)
        assert (len(two.accepted), two.duplicates) == (1, 1)
        assert (len(three.accepted), three.duplicates) == (1, 0)
        assert one.unpublished == one.accepted
        assert two.unpublished == two.accepted
        assert store.delivery_payload(one.accepted[0]) == "body-1"
        assert store.delivery_payload(two.accepted[0]) == "body-2"
        assert store.delivery_payload(three.accepted[0]) == "body-3"
        assert len({one.delivery_id, two.delivery_id, three.delivery_id}) == 3

    def test_a_redelivery_republishes_only_what_never_reached_the_broker(self, store: Store) -> None:
        """A duplicate of a `received` event is handed out again; one already `enqueued` is not."""
        stored = store.add_delivery(store="a", payload="p", events=[InboxEntry("e1", "t", "1"),
                                                                    InboxEntry("e2", "t", "2")])
        assert store.mark_published(stored.accepted[:1]) == 1
        again = store.add_delivery(store="a", payload="p", events=[InboxEntry("e1", "t", "1"),
                                                                   InboxEntry("e2", "t", "2")])
        assert again.accepted == []
        assert again.duplicates == 2
        assert again.delivery_id is None  # nothing new: no second payload row
        assert again.unpublished == stored.accepted[1:]
        assert store.counts()["inbox"] == {"enqueued": 1, "received": 1}

    def test_claims_take_overdue_rows_once_and_release_puts_them_back(self, store: Store) -> None:
        """Rows past the grace period are claimed (``enqueued`` at once, so no second relay takes them);
        those the publisher could not send are released to their former state."""
        store.add_delivery(store="a", payload="p", events=[InboxEntry(f"r{i}", "t", str(i)) for i in range(3)])
        soon, now = utcnow() + timedelta(seconds=1), utcnow()
        claims = store.claim_overdue_inbox(soon, None, 10, now=now)
        assert [c.status for c in claims] == ["received"] * 3
        assert store.claim_overdue_inbox(soon, now - timedelta(seconds=1), 10, now=now) == []  # published just now
        assert store.release_claims(claims[2:], now) == 1
        assert store.counts()["inbox"] == {"enqueued": 2, "received": 1}
        assert store.claim_overdue_inbox(utcnow() - timedelta(seconds=60), None, 10) == []
        later = now + timedelta(seconds=5)
        again = store.claim_overdue_inbox(soon, later, 10, now=later)  # the published two, never handled, too
        assert sorted((c.id, c.status) for c in again) == [(c.id, "enqueued" if i < 2 else "received")
                                                            for i, c in enumerate(claims)]
        assert store.release_claims(again, now) == 0  # released only by the claim that made them
        assert store.counts()["inbox_unpublished_since"] is None
        assert store.release_claims(again, later) == 3
        assert store.counts()["inbox"] == {"enqueued": 2, "received": 1}
        assert store.counts()["inbox_unpublished_since"] is not None

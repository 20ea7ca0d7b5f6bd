"""The state store: bindings, ledger, cursors, inbox and attention queue on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest

from sync.models import utcnow
from sync.store import SchemaOutdated, Store


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

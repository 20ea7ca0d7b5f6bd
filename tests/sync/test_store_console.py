"""State store methods behind the console: search, filters, dismissal with a note, the pause switch."""

from __future__ import annotations

import pytest

from sync.store import NOTE_MAX, Store


def _bind(store: Store, source_id: str, number: str, target_id: str) -> int:
    row = store.open_binding(route="a-to-b", source_store="a", source_id=source_id, target_store="b",
                             reference=f"ordersync:a:{source_id}", source_number=number)
    assert row.id is not None
    store.update_binding(row.id, state="linked", target_id=target_id, target_number=f"T{target_id}")
    return row.id


def test_find_bindings_by_either_side_id_or_number(store: Store) -> None:
    """One search box finds an order by its source id, target id, or either order number."""
    first = _bind(store, "100", "N-100", "900")
    second = _bind(store, "101", "N-101", "901")
    assert [b.id for b in store.find_bindings("100")] == [first]
    assert [b.id for b in store.find_bindings("901")] == [second]
    assert [b.id for b in store.find_bindings("N-101")] == [second]
    assert [b.id for b in store.find_bindings("T900")] == [first]
    assert store.find_bindings("nothing-like-it") == []
    assert [b.id for b in store.find_bindings("")] == [second, first]


def test_dismiss_keeps_the_note_and_needs_one(store: Store) -> None:
    """A dismissed item leaves the open list with its note; an empty note is refused, naming the field."""
    item = store.park(kind="rejected", reason="no", route="a-to-b", store="a", order_id="1")
    other = store.park(kind="unknown_sku", reason="sku", route="a-to-b", store="a", order_id="2")
    assert item.id is not None
    assert other.id is not None
    with pytest.raises(ValueError, match="note"):
        store.dismiss_attention(item.id, "  \x00 ")
    done = store.dismiss_attention(item.id, "handled by phone\x00" + "x" * 3000)
    assert done.status == "dismissed"
    assert done.note is not None
    assert done.note.startswith("handled by phone")
    assert len(done.note) == NOTE_MAX
    assert "\x00" not in done.note
    assert [i.id for i in store.find_attention()] == [other.id]
    assert [i.id for i in store.find_attention(status="dismissed")] == [item.id]
    assert [i.id for i in store.find_attention(kind="unknown_sku", store="a", route="a-to-b")] == [other.id]
    assert store.find_attention(route="elsewhere") == []
    with pytest.raises(KeyError):
        store.dismiss_attention(10_000, "gone")


def test_pause_defers_work_once_per_order_until_resume(store: Store) -> None:
    """Pausing is idempotent, deferred work is kept once per order, resuming clears the switch only."""
    assert not store.is_paused("a-to-b")
    store.pause_route("a-to-b", "supplier holiday")
    store.pause_route("a-to-b", "again")
    assert store.is_paused("a-to-b")
    assert store.paused_routes()["a-to-b"].note == "supplier holiday"
    store.defer_work("a-to-b", "a", "7")
    store.defer_work("a-to-b", "a", "7")
    store.defer_work("a-to-b", "a", "8")
    assert [(w.store, w.order_id) for w in store.deferred_work("a-to-b")] == [("a", "7"), ("a", "8")]
    assert store.resume_route("a-to-b") is True
    assert store.resume_route("a-to-b") is False
    assert len(store.deferred_work()) == 2, "resuming alone never drops work"
    seven, eight = store.deferred_work()
    store.defer_work("a-to-b", "a", "7")  # deferred again while a resume drains the old row
    assert store.drop_deferred(seven) is False
    assert store.drop_deferred(eight) is True
    assert store.drop_deferred(eight) is False
    [again] = store.deferred_work()
    assert store.drop_deferred(again) is True
    assert store.deferred_work() == []


def test_inbox_listing_filters_by_store_and_status(store: Store) -> None:
    """The webhooks page lists deliveries newest first, by store and by status."""
    first, _ = store.add_inbox(store="a", event_key="e1", topic="order.updated", order_id="1", payload="{}")
    second, _ = store.add_inbox(store="b", event_key="e2", topic="order.updated", order_id="2", payload="{}")
    assert first.id is not None
    assert second.id is not None
    store.mark_inbox(first.id, "processed")
    assert [e.event_key for e in store.inbox_events()] == ["e2", "e1"]
    assert [e.event_key for e in store.inbox_events(store="a")] == ["e1"]
    assert [e.event_key for e in store.inbox_events(status="received")] == ["e2"]

"""The attention queue's filters and dismissal, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from sync.store import Store


def _fill(store: Store) -> None:
    store.park(kind="unknown_sku", reason="SKU X", route="a-to-b", store="a", order_id="1")
    store.park(kind="rejected", reason="no", route="a-to-b", store="a", order_id="2")
    store.park(kind="unknown_sku", reason="SKU Y", route="c-to-b", store="c", order_id="3")
    store.park(kind="invalid_webhook", reason="bad body", store="b")


def test_filters_by_route_store_and_kind(store: Store) -> None:
    _fill(store)
    assert [i.order_id for i in store.attention(route="a-to-b")] == ["2", "1"]
    assert [i.order_id for i in store.attention(store="c")] == ["3"]
    assert [i.order_id for i in store.attention(kinds=["unknown_sku"], route="c-to-b")] == ["3"]
    assert [i.kind for i in store.attention(store="b")] == ["invalid_webhook"]
    assert store.attention(route="a-to-b", store="c") == []


def test_dismiss_keeps_the_note_and_closes_only_open_items(store: Store) -> None:
    _fill(store)
    [item] = store.attention(store="c")
    assert item.id is not None
    dismissed = store.dismiss_attention(item.id, "discontinued product, sold elsewhere")
    assert dismissed.status == "dismissed"
    assert dismissed.resolved_at is not None
    again = store.attention_item(item.id)
    assert again is not None
    assert again.detail is not None
    assert again.detail["dismissed"]["note"] == "discontinued product, sold elsewhere"
    assert store.attention(store="c") == []
    assert [i.id for i in store.attention(status="dismissed")] == [item.id]
    with pytest.raises(ValueError, match="is dismissed, not open"):
        store.dismiss_attention(item.id, "twice")
    with pytest.raises(KeyError, match="no attention item 999"):
        store.dismiss_attention(999, "nothing")

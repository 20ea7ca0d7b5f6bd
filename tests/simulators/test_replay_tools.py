"""The replay helpers themselves: a shape comparison that can fail, and id learning by SKU."""

from __future__ import annotations

from tests.simulators.replay import IdMap, shape_diff


def test_shape_diff_reports_missing_extra_and_type_changes() -> None:
    real = {"a": 1, "b": "x", "c": [{"d": True}], "e": None, "f": 5}
    assert shape_diff({"a": 2, "b": "y", "c": [{"d": False}], "e": 3, "f": 7}, real) == []
    assert shape_diff({"b": "y", "c": [{"d": 1}], "g": 0, "f": 5.0}, real) == [
        ".a: missing", ".e: missing", ".g: extra", ".c[0].d: int vs bool", ".f: 5.0 vs 5"]
    assert shape_diff([], {"a": 1}) == [".: list vs object"]


def test_id_map_learns_uuids_and_item_ids_by_sku() -> None:
    ids = IdMap()
    real = {"uuid": "e84ac459-fa6f-4013-b848-d5b583f70bf1", "items": [
        {"order_item_id": 1, "product_sku": "B"}, {"order_item_id": 2, "product_sku": "A"}]}
    ours = {"uuid": "11111111-2222-3333-4444-555555555555", "items": [
        {"order_item_id": 7, "product_sku": "A"}, {"order_item_id": 8, "product_sku": "B"}]}
    ids.learn(real, ours)
    assert ids.path("/api/orders/e84ac459-fa6f-4013-b848-d5b583f70bf1/x") == (
        "/api/orders/11111111-2222-3333-4444-555555555555/x")
    assert ids.path("/cart/e84ac459fa6f4013b848d5b583f70bf1") == "/cart/11111111222233334444555555555555"
    assert ids.apply({"items": [{"order_item_id": 1, "qty": 1}]}) == {"items": [{"order_item_id": 8, "qty": 1}]}

"""TargetContext: batched SKU look-ups ahead of the per-line ones (issue #10)."""

from __future__ import annotations

from connectors.base import ProductRef
from mappings.base import TargetContext


def _catalog(sku: str) -> ProductRef:
    return ProductRef(sku=sku, product_id="1")


def test_prefetch_asks_the_batch_once_with_distinct_skus() -> None:
    asked: list[list[str]] = []
    ctx = TargetContext(catalog=_catalog, catalog_batch=asked.append)
    ctx.prefetch(["A", None, "B", "A", ""])
    assert asked == [["A", "B"]]
    ctx.prefetch(["C"])  # one SKU: the plain look-up costs the same
    ctx.prefetch([])
    assert asked == [["A", "B"]]


def test_prefetch_is_a_no_op_offline_or_without_a_batch() -> None:
    asked: list[list[str]] = []
    TargetContext(catalog_batch=asked.append).prefetch(["A", "B"])  # offline: no catalog at all
    assert asked == []
    TargetContext(catalog=_catalog).prefetch(["A", "B"])  # nothing to call, nothing raised

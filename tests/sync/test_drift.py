"""Per-line price drift: line differences that cancel out in the totals are still reported."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from mappings.neutral import Line, NeutralOrder
from sync.drift import LineDrift, line_drift


def _order(*lines: tuple[str, int, str]) -> NeutralOrder:
    built = [Line(sku=sku, quantity=qty, unit_price=Decimal(price)) for sku, qty, price in lines]
    total = sum((line.unit_price * line.quantity for line in built), Decimal(0))
    return NeutralOrder.model_validate({
        "source": {"platform": "neutral", "store": "s", "id": "1"},
        "created_at": datetime(2026, 1, 1, tzinfo=UTC), "currency": "USD", "status": "processing",
        "payment_status": "paid", "fulfillment_status": "unfulfilled", "raw_status": {"platform": "neutral"},
        "customer": {"email": "a@example.com"}, "lines": [line.model_dump() for line in built],
        "totals": {"subtotal": total, "grand_total": total},
    })


def test_prices_that_cancel_out_in_the_total_are_reported_per_line() -> None:
    source = _order(("MUG-BLK", 1, "10.00"), ("TEE-S", 1, "20.00"))
    target = _order(("mug-blk", 1, "12.00"), ("TEE-S", 1, "18.00"))
    assert source.totals.grand_total == target.totals.grand_total
    drift = line_drift(source, target)
    assert drift == [LineDrift("MUG-BLK", 1, 1, Decimal("10.00"), Decimal("12.00")),
                     LineDrift("TEE-S", 1, 1, Decimal("20.00"), Decimal("18.00"))]
    assert "unit price 10.00 → 12.00 USD" in drift[0].describe("USD")


def test_quantity_missing_and_extra_lines() -> None:
    source = _order(("A", 2, "5.00"), ("B", 1, "1.00"))
    target = _order(("A", 3, "5.00"), ("C", 1, "1.00"))
    drift = {d.sku: d for d in line_drift(source, target)}
    assert drift["A"].target_quantity == 3
    assert drift["B"].target_quantity is None
    assert drift["C"].source_quantity is None
    assert "missing on the target" in drift["B"].describe("USD")
    assert drift["C"].as_dict()["target_unit_price"] == "1.00"


def test_equal_lines_within_the_currency_precision_are_no_drift() -> None:
    assert line_drift(_order(("A", 1, "5.00")), _order(("A", 1, "5.004"))) == []

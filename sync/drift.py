"""Price drift per line: which lines of a created mirror differ from the source (SKU, quantity, price).

Platforms that reprice from their own catalog (EverShop, CS-Cart) can change line prices while the
grand total still matches (one line dearer, another cheaper), so totals alone hide a difference the
merchant must see. Lines are paired by SKU (case-insensitive); bundle children are left out, as the
bundle parent carries the price.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from mappings.money import within_precision
from mappings.neutral import Line, NeutralOrder

__all__ = ["LineDrift", "line_drift"]


@dataclass(frozen=True)
class LineDrift:
    """One SKU whose quantity or unit price differs between source and target (``None``: absent there)."""

    sku: str
    source_quantity: int | None
    target_quantity: int | None
    source_unit_price: Decimal | None
    target_unit_price: Decimal | None

    def describe(self, currency: str) -> str:
        """A line for the operator, e.g. ``MUG-BLK: qty 2 → 2, unit price 10.00 → 12.50 USD``."""
        if self.target_quantity is None:
            return f"{self.sku}: missing on the target (source qty {self.source_quantity})"
        if self.source_quantity is None:
            return f"{self.sku}: only on the target (qty {self.target_quantity})"
        return (f"{self.sku}: qty {self.source_quantity} → {self.target_quantity}, unit price "
                f"{self.source_unit_price} → {self.target_unit_price} {currency}")

    def as_dict(self) -> dict[str, str | int | None]:
        """JSON-able form for the attention item's detail."""
        return {"sku": self.sku, "source_quantity": self.source_quantity, "target_quantity": self.target_quantity,
                "source_unit_price": None if self.source_unit_price is None else str(self.source_unit_price),
                "target_unit_price": None if self.target_unit_price is None else str(self.target_unit_price)}


def _by_sku(order: NeutralOrder) -> dict[str, tuple[int, Decimal]]:
    """SKU → (total quantity, unit price) of the priced lines (the last price wins for repeated SKUs)."""
    lines: dict[str, tuple[int, Decimal]] = {}
    for line in order.lines:
        if line.parent_line_id or line.quantity <= 0:
            continue
        key = _sku(line)
        quantity = lines.get(key, (0, line.unit_price))[0] + line.quantity
        lines[key] = (quantity, line.unit_price)
    return lines


def _sku(line: Line) -> str:
    return (line.sku or f"#{line.name or line.source_line_id or '?'}").strip().upper()


def line_drift(source: NeutralOrder, target: NeutralOrder) -> list[LineDrift]:
    """The lines whose quantity or unit price (beyond the currency's precision) differ."""
    mine, theirs = _by_sku(source), _by_sku(target)
    drift: list[LineDrift] = []
    for sku, (quantity, price) in mine.items():
        other = theirs.get(sku)
        if other is None:
            drift.append(LineDrift(sku, quantity, None, price, None))
        elif other[0] != quantity or not within_precision(price, other[1], source.currency):
            drift.append(LineDrift(sku, quantity, other[0], price, other[1]))
    for sku, (quantity, price) in theirs.items():
        if sku not in mine:
            drift.append(LineDrift(sku, None, quantity, None, price))
    return drift

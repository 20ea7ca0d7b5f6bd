"""Money in the neutral order: ``Decimal`` amounts in the order's ISO 4217 currency.

Amounts are kept as the platform declared them. The only normalisation is :func:`canonical`,
which drops trailing zeros beyond the currency's minor unit when that loses nothing
(``"109.0000"`` in USD → ``109.00``; ``13749.1667`` stays as is), so equal amounts hash equally.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

from connectors.parsing import format_decimal, parse_decimal

__all__ = ["Amount", "MaybeAmount", "canonical", "minor_units", "quantum", "within_precision"]

# ISO 4217 currencies whose minor unit is not 2 (the default).
_MINOR_UNITS: dict[str, int] = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
    "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
    "CLF": 4, "UYW": 4,
}
_QUANTA = {n: Decimal(1).scaleb(-n) for n in range(5)}


def minor_units(currency: str | None) -> int:
    """Digits after the decimal point for a currency (2 when unknown)."""
    return _MINOR_UNITS.get((currency or "").upper(), 2)


def quantum(currency: str | None) -> Decimal:
    """The smallest unit of a currency, e.g. ``Decimal("0.01")`` for USD."""
    return _QUANTA[minor_units(currency)]


def canonical(value: Decimal, currency: str | None) -> Decimal:
    """``value`` at the currency's precision when that is exact, else unchanged."""
    q = quantum(currency)
    rounded = value.quantize(q)
    return rounded if rounded == value else value


def within_precision(a: Decimal, b: Decimal, currency: str | None, units: int = 1) -> bool:
    """Whether two amounts differ by no more than ``units`` of the currency's smallest unit."""
    return abs(a - b) <= quantum(currency) * units


def _serialize(value: Decimal) -> str:
    return format_decimal(value)


def _validate(value: Any) -> Decimal:
    return parse_decimal(value)


Amount = Annotated[Decimal, BeforeValidator(_validate), PlainSerializer(_serialize, return_type=str, when_used="json")]
"""A money amount: any numeric spelling in, ``Decimal`` inside, a decimal string in JSON."""

MaybeAmount = Annotated[
    Decimal | None,
    BeforeValidator(lambda v: None if v is None else _validate(v)),
    PlainSerializer(lambda v: None if v is None else _serialize(v), return_type=str | None, when_used="json"),
]
"""An optional money amount."""

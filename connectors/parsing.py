"""Edge parsing: turn each platform's loose JSON scalars into strict Python values.

Every platform writes numbers and times its own way: BigCommerce sends ``"109.0000"`` and RFC 2822
dates, MerchantPro 4-decimal floats and ISO 8601, CS-Cart unix seconds as strings, EverShop
``"2026-11-22T07:58:47.033Z"`` rows and GraphQL ``{value, text}`` objects with epoch milliseconds.
The wire models use the annotated types below so that this normalisation happens once, at the edge,
and everything past the wire model sees ``Decimal`` and timezone-aware UTC ``datetime`` only.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from email.utils import parsedate_to_datetime
from typing import Annotated, Any

from pydantic import BeforeValidator

__all__ = [
    "Blankable",
    "LenientBool",
    "LenientInt",
    "MaybeDecimal",
    "MaybeTimestamp",
    "Timestamp",
    "blank_to_none",
    "format_decimal",
    "parse_bool",
    "parse_decimal",
    "parse_timestamp",
]

_DIGITS = re.compile(r"^-?\d+$")
_SQL_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$")


def parse_decimal(value: Any) -> Decimal:
    """Parse a money or quantity value written as a string, int, float or Decimal.

    ``"109.0000"``, ``109``, ``109.0`` and ``"924.47"`` all parse. Floats go through ``repr`` so that
    ``924.47`` becomes ``Decimal("924.47")`` and never the binary expansion. Booleans, blanks, NaN and
    infinities are rejected with ``ValueError``.
    """
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, bool):
        raise ValueError("expected a number, got a boolean")
    elif isinstance(value, int):
        return Decimal(value)
    elif isinstance(value, float):
        result = Decimal(repr(value))
    elif isinstance(value, str):
        text = value.strip().replace(",", "") if "," in value else value.strip()
        if not text:
            raise ValueError("expected a number, got an empty string")
        try:
            result = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"{value!r} is not a number") from None
    else:
        raise ValueError(f"expected a number, got {type(value).__name__}")
    if not result.is_finite():
        raise ValueError(f"{value!r} is not a finite number")
    return result


def format_decimal(value: Decimal) -> str:
    """Write a Decimal as plain positional text (never ``1E+2``), as platforms expect it."""
    text = format(value, "f")
    return "0" if text in ("-0", "-0.0") else text


def blank_to_none(value: Any) -> Any:
    """Map the many spellings of "nothing" (``""``, ``[]``, ``{}``, ``None``) to ``None``.

    CS-Cart serialises an empty PHP array as ``[]`` where the filled form is an object, BigCommerce
    mixes ``null`` and ``""`` for the same field, and MerchantPro sends ``null`` for unset strings.
    """
    if value is None:
        return None
    if isinstance(value, str) and not value.strip():
        return None
    if isinstance(value, list | dict) and not value:
        return None
    return value


def parse_timestamp(value: Any) -> datetime:
    """Parse any platform timestamp into a timezone-aware UTC ``datetime``.

    Accepted forms:
    - RFC 2822 (``"Tue, 05 Mar 2019 21:40:11 +0000"``, BigCommerce);
    - ISO 8601 with or without offset (``"2019-12-05T16:11:23+02:00"``, ``"...Z"``);
    - ``"YYYY-MM-DD HH:MM:SS"`` (read as UTC: the platforms that use it store UTC);
    - unix seconds as int or digit string (CS-Cart ``"1448517775"``);
    - epoch milliseconds as int or digit string (EverShop GraphQL ``"1795334327033"``);
    - a GraphQL date object ``{"value": ..., "text": ...}`` (EverShop).
    A naive result is taken as UTC. Anything else raises ``ValueError``.
    """
    if isinstance(value, dict):
        if "value" not in value:
            raise ValueError("date object has no 'value'")
        return parse_timestamp(value["value"])
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, bool):
        raise ValueError("expected a timestamp, got a boolean")
    elif isinstance(value, int | float):
        parsed = _from_epoch(float(value))
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            raise ValueError("expected a timestamp, got an empty string")
        if _DIGITS.match(text):
            parsed = _from_epoch(float(text))
        elif text[:1].isalpha():
            try:
                parsed = parsedate_to_datetime(text)
            except (TypeError, ValueError, IndexError):
                raise ValueError(f"{value!r} is not an RFC 2822 date") from None
        else:
            if _SQL_DATETIME.match(text):
                text = text.replace(" ", "T", 1)
            try:
                parsed = datetime.fromisoformat(text)
            except ValueError:
                raise ValueError(f"{value!r} is not a recognised timestamp") from None
    else:
        raise ValueError(f"expected a timestamp, got {type(value).__name__}")
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _from_epoch(number: float) -> datetime:
    """Epoch seconds, or milliseconds when the number is too large to be seconds (after year 5138)."""
    if abs(number) >= 1e11:
        number /= 1000.0
    try:
        return datetime.fromtimestamp(number, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise ValueError(f"{number!r} is out of range for a timestamp") from None


def _maybe(parser: Any) -> Any:
    def parse(value: Any) -> Any:
        if blank_to_none(value) is None:
            return None
        return parser(value)

    parse.__doc__ = f"{parser.__name__}, with blanks read as None."
    return parse


def parse_bool(value: Any) -> bool:
    """Read the platforms' booleans: ``true``, ``1``, ``"1"``, ``"Y"``/``"N"`` (CS-Cart), ``"true"``."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("1", "y", "yes", "true", "t"):
            return True
        if text in ("0", "n", "no", "false", "f", ""):
            return False
    raise ValueError(f"{value!r} is not a boolean")


def _parse_int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("expected an integer, got a boolean")
    if isinstance(value, int):
        return value
    number = parse_decimal(value)
    if number != number.to_integral_value():
        raise ValueError(f"{value!r} is not a whole number")
    return int(number)


Timestamp = Annotated[datetime, BeforeValidator(parse_timestamp)]
"""A required timestamp in any platform format, stored as aware UTC."""

MaybeTimestamp = Annotated[datetime | None, BeforeValidator(_maybe(parse_timestamp))]
"""An optional timestamp: ``""``, ``null`` and ``[]`` read as ``None``."""

MaybeDecimal = Annotated[Decimal | None, BeforeValidator(_maybe(parse_decimal))]
"""An optional amount: ``""``, ``null`` and ``[]`` read as ``None``; numbers in any spelling."""

Blankable = Annotated[str | None, BeforeValidator(blank_to_none)]
"""An optional string where ``""`` and ``null`` both mean "not set"."""

LenientBool = Annotated[bool, BeforeValidator(parse_bool)]
"""A boolean written as ``true``, ``1``, ``"Y"`` or ``"true"``."""

LenientInt = Annotated[int, BeforeValidator(_parse_int)]
"""An integer that may arrive as ``"3"``, ``3.0`` or ``"3.000"`` (but never ``3.5``)."""

"""Read the JSON examples out of the MerchantPro seed page, leniently (it has trailing commas)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

__all__ = ["lenient_json", "seed_examples", "seed_orders"]

_TRAILING_COMMA = re.compile(r",(\s*[}\]])")


def lenient_json(text: str) -> Any:
    """``json.loads`` after removing trailing commas (as MerchantPro's own examples have)."""
    return json.loads(_TRAILING_COMMA.sub(r"\1", text))


def _balanced(text: str, start: int) -> int | None:
    depth = 0
    in_string = False
    escaped = False
    for index in range(start, len(text)):
        char = text[index]
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return index + 1
    return None


def seed_examples(page: Path) -> list[Any]:
    """Every top-level JSON object on the page, in order."""
    text = page.read_text(encoding="utf-8")
    found: list[Any] = []
    index = 0
    while True:
        start = text.find("{", index)
        if start < 0:
            return found
        end = _balanced(text, start)
        if end is None:
            return found
        try:
            found.append(lenient_json(text[start:end]))
            index = end
        except ValueError:
            index = start + 1


def seed_orders(page: Path) -> list[dict[str, Any]]:
    """The full order objects on the page: detail answers and rows of list answers with dates."""
    orders: list[dict[str, Any]] = []
    for example in seed_examples(page):
        rows = example.get("data") if isinstance(example.get("data"), list) else [example]
        for row in rows:
            if isinstance(row, dict) and "id" in row and "date_created" in row:
                orders.append(row)
    return orders

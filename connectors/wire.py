"""Base classes for the platforms' wire models, and the one door into them.

A *read* wire model mirrors what a platform returns. It declares the fields ordersync uses, with
lenient types from :mod:`connectors.parsing`, and keeps every other field verbatim in
``model_extra`` (``extra="allow"``), so nothing the platform sends is dropped.

A *write* wire model mirrors a request body. It forbids unknown fields (``extra="forbid"``) so a
typo never reaches a platform, and :meth:`WriteModel.body` drops unset optional fields, because
platforms such as BigCommerce answer 400 to read-only or null fields.

:func:`parse_wire` is the only way raw JSON enters a wire model: it turns pydantic's
``ValidationError`` into :class:`~connectors.errors.InvalidPayload` naming the field path.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from connectors.errors import InvalidPayload

__all__ = ["ReadModel", "WriteModel", "format_location", "invalid_payload_from", "parse_wire"]

M = TypeVar("M", bound=BaseModel)


class ReadModel(BaseModel):
    """A platform's JSON as read. Unknown fields are kept in ``model_extra``."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, frozen=False)


class WriteModel(BaseModel):
    """A request body for a platform. Unknown fields are an error; unset fields are not sent."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    def body(self) -> dict[str, Any]:
        """The JSON body to send: aliases applied, fields that were never set left out."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True, exclude_none=True)


def format_location(loc: Sequence[int | str]) -> str:
    """``("products", 0, "quantity")`` → ``"products[0].quantity"``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.startswith("function-") or part in ("function-before[]", "function-after[]"):
            continue
        else:
            out += f".{part}" if out else str(part)
    return out


def invalid_payload_from(what: str, error: ValidationError, prefix: str = "") -> InvalidPayload:
    """Turn a pydantic error into our :class:`InvalidPayload`, one ``(path, reason)`` per problem."""
    problems = []
    for item in error.errors(include_url=False, include_input=False):
        path = format_location(item["loc"])
        if prefix:
            path = f"{prefix}{path}" if path.startswith("[") else (f"{prefix}.{path}" if path else prefix)
        message = str(item["msg"])
        if message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        problems.append((path, message))
    return InvalidPayload(what, problems)


def parse_wire(model: type[M], data: Any, *, what: str, prefix: str = "") -> M:
    """Validate ``data`` into ``model``; raise :class:`InvalidPayload` naming the bad field."""
    if not isinstance(data, dict):
        got = "a list" if isinstance(data, list) else type(data).__name__
        raise InvalidPayload(what, [(prefix, f"expected a JSON object, got {got}")])
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise invalid_payload_from(what, error, prefix) from None

"""CS-Cart webhooks: there are none.

Core CS-Cart / Multi-Vendor has no outgoing webhooks (no webhook add-on among the bundled
add-ons of 4.13.2; order events exist only as PHP hooks and e-mail notifications). ordersync
therefore polls CS-Cart stores (``updated_at_from``, see :mod:`connectors.cscart.client`).

The functions below exist so every platform offers the same module; they refuse clearly:
:func:`verify` never accepts a request (nothing CS-Cart sends can be verified), :func:`parse`
raises :class:`~connectors.errors.InvalidPayload`, and :func:`sign` raises ``NotImplementedError``
(the simulator sends nothing). A store that pushes through a custom add-on should point it at a
bridge that emits ordersync's own signed events instead.
"""

from __future__ import annotations

from collections.abc import Mapping

from connectors.base import WebhookEvent
from connectors.errors import InvalidPayload

__all__ = ["NO_WEBHOOKS", "SIGNATURE_HEADERS", "parse", "sign", "verify"]

NO_WEBHOOKS = (
    "CS-Cart has no outgoing webhooks; ordersync polls CS-Cart stores with updated_at_from "
    "(creation windows on stores older than 4.13)"
)


SIGNATURE_HEADERS: tuple[str, ...] = ()
"""Headers one of which every genuine delivery carries: without any, the body is not even read."""


def verify(headers: Mapping[str, str], raw: bytes, secret: str | None) -> bool:
    """Always ``False``: CS-Cart sends no webhooks, so no request can be a genuine one."""
    return False


def parse(raw: bytes, headers: Mapping[str, str] | None = None) -> list[WebhookEvent]:
    """Always raises :class:`InvalidPayload`: there is no CS-Cart webhook format to parse."""
    raise InvalidPayload("CS-Cart webhook", [("", NO_WEBHOOKS)])


def sign(raw: bytes, secret: str | None) -> dict[str, str]:
    """Always raises ``NotImplementedError``: CS-Cart signs nothing because it sends nothing."""
    raise NotImplementedError(NO_WEBHOOKS)

"""Fitting a delivery's events to the inbox columns, so storing them can never fail half-way.

PostgreSQL refuses text containing NUL and values longer than a ``VARCHAR(n)``; SQLite accepts
both, which is why the old intake only broke in production. Every event of a delivery is fitted
here *before* the transaction starts, so the delivery is stored whole or refused whole:

- ``event_key``: a key with NUL or longer than its column becomes a fixed-length prefix plus the
  SHA-256 of the full key: still unique, still the same on a redelivery (deduplication holds);
- ``topic``: NUL removed, cut to its column (the full value stays in the delivery's payload);
- ``order_id``: NUL removed; one longer than its column cannot be any platform's order id, and a
  cut one would name another order, so the delivery is refused (parked with that reason);
- more than :data:`MAX_EVENTS` events in one delivery is refused as a whole.

The raw body is stored as text with NUL bytes replaced by U+FFFD (PostgreSQL ``TEXT`` cannot hold
them) and undecodable bytes likewise.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from connectors.base import WebhookEvent
from connectors.errors import InvalidPayload
from sync.models import InboxEvent
from sync.store import InboxEntry

__all__ = ["KEY_LENGTH", "MAX_EVENTS", "ORDER_ID_LENGTH", "TOPIC_LENGTH", "TooManyEvents", "fit", "payload_text"]

MAX_EVENTS = 100
"""Events accepted in one delivery (platforms send one; MerchantPro may batch a few)."""

_COLUMNS = InboxEvent.__table__.c  # type: ignore[attr-defined]
KEY_LENGTH: int = _COLUMNS.event_key.type.length
TOPIC_LENGTH: int = _COLUMNS.topic.type.length
ORDER_ID_LENGTH: int = _COLUMNS.order_id.type.length
_DIGEST = 64


class TooManyEvents(ValueError):
    """A delivery carries more events than :data:`MAX_EVENTS`."""

    def __init__(self, count: int) -> None:
        self.count = count
        super().__init__(f"the delivery carries {count} events; at most {MAX_EVENTS} are accepted per delivery "
                         "(MAX_EVENTS): send them in smaller batches")


def payload_text(raw: bytes) -> str:
    """The raw body as storable text (invalid UTF-8 and NUL become U+FFFD)."""
    return raw.decode("utf-8", errors="replace").replace("\x00", "\ufffd")


def _key(value: str) -> str:
    if "\x00" not in value and len(value) <= KEY_LENGTH:
        return value
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()
    return value.replace("\x00", "")[: KEY_LENGTH - _DIGEST - 1] + "#" + digest


def _order_id(value: str | None, where: str) -> str | None:
    if value is None:
        return None
    clean = value.replace("\x00", "").strip()
    if len(clean) > ORDER_ID_LENGTH:
        raise InvalidPayload("webhook", [(f"{where}order_id", f"{len(clean)} characters; an order id has at most "
                                          f"{ORDER_ID_LENGTH}")])
    return clean or None


def fit(events: Sequence[WebhookEvent]) -> list[InboxEntry]:
    """The delivery's events as inbox entries; raises :class:`TooManyEvents` or :class:`InvalidPayload`."""
    if len(events) > MAX_EVENTS:
        raise TooManyEvents(len(events))
    entries = []
    for index, event in enumerate(events):
        where = f"[{index}]." if len(events) > 1 else ""
        topic = event.topic.replace("\x00", "")[:TOPIC_LENGTH]
        entries.append(InboxEntry(event_key=_key(event.event_key), topic=topic,
                                  order_id=_order_id(event.order_id, where)))
    return entries

"""EverShop webhooks, as sent by ordersync's bridge extension (EverShop core sends none).

The bridge (``connectors/evershop/extension/ordersync-bridge``) subscribes to EverShop's order and
shipment events and POSTs each one as JSON::

    {"event": "shipment_created", "event_id": "<sha256 hex>", "data": {...EverShop payload...},
     "order": {"order_id": 1, "uuid": "...", "order_number": "10001", "cart_id": 1,
               "status": "processing", "payment_status": "pending", "shipment_status": "shipped"},
     "sent_at": "2026-11-22T07:58:47.562Z"}

with the headers ``X-Ordersync-Event: <event>`` and
``X-Ordersync-Signature: sha256=<hex HMAC-SHA256(raw body, shared secret)>``. The simulator sends
exactly the same. EverShop's own payloads carry integer ids only, so the bridge adds the order's
uuid (the id the connector uses) under ``order``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import orjson

from connectors.base import WebhookEvent
from connectors.errors import InvalidPayload
from connectors.parsing import parse_timestamp

__all__ = [
    "EVENTS",
    "EVENT_HEADER",
    "SIGNATURE_HEADER",
    "SIGNATURE_HEADERS",
    "SIGNATURE_PREFIX",
    "parse",
    "sign",
    "verify",
]

EVENT_HEADER = "X-Ordersync-Event"
SIGNATURE_HEADER = "X-Ordersync-Signature"
SIGNATURE_PREFIX = "sha256="
SIGNATURE_HEADERS: tuple[str, ...] = (SIGNATURE_HEADER,)
"""Headers one of which every genuine delivery carries: without any, the body is not even read."""

EVENTS: frozenset[str] = frozenset({
    "order_created",
    "order_placed",
    "order_status_updated",
    "shipment_created",
    "shipment_status_changed",
    "shipment_delivered",
})
"""The EverShop events the bridge forwards (the ones that change an order we mirror)."""

_WHAT = "EverShop webhook"


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """A header value, case-insensitively (plain dicts as well as ``httpx.Headers``)."""
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    for key, item in headers.items():
        if key.lower() == lowered:
            return item
    return None


def _digest(raw: bytes, secret: str) -> str:
    return hmac.new(secret.encode("utf-8"), raw, hashlib.sha256).hexdigest()


def sign(raw: bytes, secret: str) -> dict[str, str]:
    """The signature header a sender adds for ``raw`` (used by the simulator and tests)."""
    return {SIGNATURE_HEADER: SIGNATURE_PREFIX + _digest(raw, secret)}


def verify(headers: Mapping[str, str], raw: bytes, secret: str | None) -> bool:
    """True when ``X-Ordersync-Signature`` is the HMAC-SHA256 of ``raw`` under ``secret``.

    The comparison is constant-time. Without a configured secret nothing can be verified, so the
    answer is False (fail closed): configure the same secret in the store and in the shop
    (``SYNC_WEBHOOK_SECRET``).
    """
    if not secret:
        return False
    given = _header(headers, SIGNATURE_HEADER)
    if not given:
        return False
    given = given.strip()
    if given[: len(SIGNATURE_PREFIX)].lower() == SIGNATURE_PREFIX:
        given = given[len(SIGNATURE_PREFIX):]
    expected = _digest(raw, secret)
    return hmac.compare_digest(given.lower().encode("ascii", "replace"), expected.encode("ascii"))


def parse(raw: bytes, headers: Mapping[str, str] | None = None) -> list[WebhookEvent]:
    """The one event in a bridge delivery, reduced to what the engine needs.

    ``event_key`` is the bridge's ``event_id`` (stable across its retries), or the SHA-256 of the
    raw body for senders without one (e.g. recordings from the research bridge). ``order_id`` is
    the order's uuid (``order.uuid``; for ``order_created``/``order_placed`` also ``data.uuid``).
    Raises :class:`InvalidPayload` naming the offending field.
    """
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise InvalidPayload(_WHAT, [("", f"body is not JSON: {error}")]) from None
    if not isinstance(body, dict):
        raise InvalidPayload(_WHAT, [("", "expected a JSON object")])
    topic = body.get("event")
    if topic is None and headers is not None:
        topic = _header(headers, EVENT_HEADER)
    if not isinstance(topic, str) or not topic.strip():
        raise InvalidPayload(_WHAT, [("event", "missing event name")])
    topic = topic.strip()
    event_id = body.get("event_id")
    if event_id is not None and not isinstance(event_id, str | int):
        raise InvalidPayload(_WHAT, [("event_id", "expected a string")])
    event_key = str(event_id) if event_id not in (None, "") else hashlib.sha256(raw).hexdigest()
    order_id = _order_uuid(body, topic)
    occurred_at = _sent_at(body)
    return [WebhookEvent(event_key=event_key, topic=topic, order_id=order_id, occurred_at=occurred_at)]


def _order_uuid(body: dict[str, Any], topic: str) -> str | None:
    order = body.get("order")
    if order is not None:
        if not isinstance(order, dict):
            raise InvalidPayload(_WHAT, [("order", "expected an object")])
        uuid = order.get("uuid")
        if uuid is not None:
            if not isinstance(uuid, str) or not uuid.strip():
                raise InvalidPayload(_WHAT, [("order.uuid", "expected a non-empty string")])
            return uuid.strip()
    data = body.get("data")
    if data is not None and not isinstance(data, dict):
        raise InvalidPayload(_WHAT, [("data", "expected an object")])
    if isinstance(data, dict) and isinstance(data.get("uuid"), str) and topic.startswith("order_"):
        return str(data["uuid"])
    if topic in EVENTS:
        # Every event the bridge forwards is about an order: without its uuid the engine cannot act.
        raise InvalidPayload(_WHAT, [("order.uuid", "missing; the bridge sends the order's uuid")])
    return None


def _sent_at(body: dict[str, Any]) -> datetime | None:
    value = body.get("sent_at")
    if value in (None, ""):
        return None
    try:
        return parse_timestamp(value)
    except ValueError as error:
        raise InvalidPayload(_WHAT, [("sent_at", str(error))]) from None

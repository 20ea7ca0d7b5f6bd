"""MerchantPro webhooks: signature check and a lenient reading of the (undocumented) order envelope.

The signature is known: ``X-Webhook-Signature`` = base64(HMAC-SHA256(raw body, webhook secret)),
as MerchantPro's own demo apps verify it. The order topics and envelope are *not* documented where
we could read them, so ordersync assumes (and its simulator sends)::

    {"event": "order.created" | "order.updated" | "order.status_changed" | "order.deleted",
     "id": "<delivery id>", "created_at": "2026-11-23T10:00:00+02:00",
     "data": {"id": 12345001, ...}}

and reads any envelope leniently: the topic from ``event``/``topic``/``type``, the order id from
``data.id``, ``data.order_id``, ``order_id`` or (for an order topic) a top-level ``id`` when there is no
``data``. The event key is the delivery id when there is one, else the sha256 of the raw body.
Payloads are light: the engine re-reads the order.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

import orjson

from connectors.base import WebhookEvent
from connectors.errors import InvalidPayload
from connectors.parsing import parse_timestamp

__all__ = ["SIGNATURE_HEADER", "SIGNATURE_HEADERS", "parse", "sign", "signature", "verify"]

SIGNATURE_HEADER = "X-Webhook-Signature"
SIGNATURE_HEADERS: tuple[str, ...] = (SIGNATURE_HEADER,)
"""Headers one of which every genuine delivery carries: without any, the body is not even read."""
_WHAT = "MerchantPro webhook"


def signature(raw: bytes, secret: str) -> str:
    """base64(HMAC-SHA256(raw, secret)) — the value of ``X-Webhook-Signature``."""
    digest = hmac.new(secret.encode("utf-8"), raw, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def sign(raw: bytes, secret: str) -> dict[str, str]:
    """The headers MerchantPro adds to a delivery of ``raw`` (used by the simulator)."""
    return {SIGNATURE_HEADER: signature(raw, secret)}


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def verify(headers: Mapping[str, str], raw: bytes, secret: str | None) -> bool:
    """Whether ``raw`` carries a valid signature for ``secret`` (constant-time compare on raw bytes).

    ``False`` when there is no secret configured or no signature header: unsigned pushes are refused.
    """
    if not secret:
        return False
    given = _header(headers, SIGNATURE_HEADER)
    if not given:
        return False
    expected = signature(raw, secret)
    return hmac.compare_digest(expected.encode("ascii"), given.strip().encode("utf-8", "replace"))


def _order_id(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def parse(raw: bytes, headers: Mapping[str, str] | None = None) -> list[WebhookEvent]:
    """The event(s) in one delivery (a JSON object, or a list of them); raises :class:`InvalidPayload`."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise InvalidPayload(_WHAT, [("", "body is not JSON")]) from None
    if isinstance(body, list):
        if not body:
            raise InvalidPayload(_WHAT, [("", "empty event list")])
        events: list[WebhookEvent] = []
        for index, item in enumerate(body):
            events.append(_event(item, orjson.dumps(item), f"[{index}]"))
        return events
    return [_event(body, raw, "")]


def _event(body: Any, raw: bytes, where: str) -> WebhookEvent:
    if not isinstance(body, dict):
        raise InvalidPayload(_WHAT, [(where, "expected a JSON object")])
    topic = next((body[k] for k in ("event", "topic", "type") if isinstance(body.get(k), str) and body[k]), None)
    if topic is None:
        raise InvalidPayload(_WHAT, [(f"{where}.event" if where else "event", "missing event name")])
    data = body.get("data")
    order_id: str | None = None
    is_order = topic.lower().startswith("order")
    if isinstance(data, dict):
        order_id = _order_id(data.get("order_id")) if "order_id" in data else None
        if order_id is None and is_order:
            order_id = _order_id(data.get("id"))
    if order_id is None:
        order_id = _order_id(body.get("order_id"))
    if order_id is None and is_order and not isinstance(data, dict):
        order_id = _order_id(body.get("id"))
        delivery = None
    else:
        delivery = _order_id(body.get("id")) or _order_id(body.get("delivery_id"))
    if delivery is None:
        delivery = _order_id(body.get("delivery_id")) or _order_id(body.get("event_id"))
    key = f"merchantpro:{delivery}" if delivery else "sha256:" + hashlib.sha256(raw).hexdigest()
    occurred = None
    for name in ("created_at", "date", "timestamp"):
        value = body.get(name)
        if value is not None:
            try:
                occurred = parse_timestamp(value)
            except ValueError:
                occurred = None
            break
    return WebhookEvent(event_key=key, topic=topic, order_id=order_id if is_order or order_id else None,
                        occurred_at=occurred)

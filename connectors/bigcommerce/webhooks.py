"""BigCommerce V3 webhooks: verify, parse and sign callbacks.

A callback body looks like ``{"scope": "store/order/statusUpdated", "store_id": "1025646",
"data": {"type": "order", "id": 250, "status": {...}}, "hash": "7ee6…", "created_at": 1561479335,
"producer": "stores/{store_hash}"}``; shipment scopes carry ``data: {"type": "shipment", "id": 12,
"orderId": 251}`` (camelCase). ``hash`` is the same when BigCommerce re-fires an event, so
``scope:hash`` deduplicates redeliveries. Payloads are light: the engine always re-reads the order.

Authenticity: BigCommerce historically did not sign callbacks, so at hook creation we register a
random secret in the hook's ``headers`` and BigCommerce sends it back on every callback as
:data:`SECRET_HEADER`; :func:`verify` compares it in constant time. Newer stores also send
Standard Webhooks headers (``webhook-id``, ``webhook-timestamp``, ``webhook-signature: v1,<base64
HMAC-SHA256 of "id.timestamp.body">``) keyed by the app's client secret; when those headers are
present and a client secret is configured, they are verified too (with a timestamp tolerance).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

from connectors.base import WebhookEvent
from connectors.bigcommerce.wire import BCWebhook
from connectors.errors import InvalidPayload
from connectors.wire import parse_wire

__all__ = [
    "ORDER_SCOPES",
    "SECRET_HEADER",
    "SIGNATURE_HEADERS",
    "SIGNATURE_TOLERANCE_SECONDS",
    "parse",
    "sign",
    "verify",
]

SECRET_HEADER = "X-Ordersync-Secret"
"""The custom header we register at hook creation (``POST /v3/hooks`` ``headers``)."""

SIGNATURE_HEADERS: tuple[str, ...] = (SECRET_HEADER, "webhook-signature")
"""Headers one of which every genuine delivery carries: without any, the body is not even read."""

SIGNATURE_TOLERANCE_SECONDS = 300
"""How far a Standard Webhooks timestamp may be from now."""

ORDER_SCOPES: tuple[str, ...] = (
    "store/order/created",
    "store/order/updated",
    "store/order/archived",
    "store/order/statusUpdated",
    "store/order/refund/created",
    "store/shipment/created",
    "store/shipment/updated",
    "store/shipment/deleted",
)
"""The scopes ordersync subscribes to."""

_WHAT = "bigcommerce webhook"


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by case-insensitive name (plain dicts are not case-insensitive like httpx's)."""
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    for key, candidate in headers.items():
        if key.lower() == lowered:
            return candidate
    return None


def _hmac_key(client_secret: str) -> bytes:
    """The Standard Webhooks key: ``whsec_<base64>`` decodes; a plain client secret is used as is."""
    if client_secret.startswith("whsec_"):
        try:
            return base64.b64decode(client_secret[len("whsec_"):], validate=True)
        except (binascii.Error, ValueError):
            pass
    return client_secret.encode()


def _signature(key: bytes, msg_id: str, timestamp: str, raw: bytes) -> str:
    digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + raw, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _verify_standard(headers: Mapping[str, str], raw: bytes, client_secret: str, now: float) -> bool:
    msg_id = _header(headers, "webhook-id")
    timestamp = _header(headers, "webhook-timestamp")
    signatures = _header(headers, "webhook-signature")
    if not msg_id or not timestamp or not signatures:
        return False
    try:
        sent_at = int(timestamp)
    except ValueError:
        return False
    if abs(now - sent_at) > SIGNATURE_TOLERANCE_SECONDS:
        return False
    expected = _signature(_hmac_key(client_secret), msg_id, timestamp, raw)
    matched = False
    for item in signatures.split():
        version, _, value = item.partition(",")
        if version == "v1" and hmac.compare_digest(value.encode(), expected.encode()):
            matched = True
    return matched


def verify(headers: Mapping[str, str], raw: bytes, secret: str | None, *, client_secret: str | None = None,
           now: float | None = None) -> bool:
    """Whether a callback is authentic.

    - ``secret``: our custom header secret; when set, :data:`SECRET_HEADER` must match it.
    - ``client_secret``: the app's client secret; when set *and* Standard Webhooks headers are
      present, their signature and timestamp must be valid too.
    Returns ``False`` when nothing could be verified (no secret configured, or only a client
    secret and no signature headers): an unverifiable callback is never accepted.
    """
    checked = False
    if secret:
        sent = _header(headers, SECRET_HEADER)
        if sent is None or not hmac.compare_digest(sent.encode(), secret.encode()):
            return False
        checked = True
    if client_secret and _header(headers, "webhook-signature") is not None:
        if not _verify_standard(headers, raw, client_secret, time.time() if now is None else now):
            return False
        checked = True
    return checked


def sign(raw: bytes, secret: str, *, client_secret: str | None = None, msg_id: str | None = None,
         timestamp: int | None = None) -> dict[str, str]:
    """The headers a sender adds: our secret header, plus Standard Webhooks headers when a client
    secret is given (used by the simulator and tests)."""
    headers = {SECRET_HEADER: secret} if secret else {}
    if client_secret:
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        ident = msg_id or "msg_" + hashlib.sha1(raw, usedforsecurity=False).hexdigest()[:24]
        headers["webhook-id"] = ident
        headers["webhook-timestamp"] = stamp
        headers["webhook-signature"] = "v1," + _signature(_hmac_key(client_secret), ident, stamp, raw)
    return headers


def parse(raw: bytes, headers: Mapping[str, str] | None = None) -> list[WebhookEvent]:
    """One :class:`WebhookEvent` from a callback body; raises :class:`InvalidPayload` otherwise.

    ``event_key`` is ``"<scope>:<hash>"`` (a SHA-1 of the body when ``hash`` is missing);
    ``order_id`` is ``data.id`` for order scopes and ``data.orderId`` for shipment scopes
    (``None`` for scopes that are not about an order).
    """
    try:
        data: Any = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise InvalidPayload(_WHAT, [("", f"not JSON: {error}")]) from None
    hook = parse_wire(BCWebhook, data, what=_WHAT)
    scope = hook.scope
    digest = hook.hash or hashlib.sha1(raw, usedforsecurity=False).hexdigest()
    if scope.startswith("store/order/") or hook.data.type == "order":
        order_id: str | None = hook.data.id
    elif scope.startswith("store/shipment/") or hook.data.type == "shipment":
        order_id = hook.data.orderId
        if order_id is None:
            raise InvalidPayload(_WHAT, [("data.orderId", "a shipment event must name its order")])
    else:
        order_id = None
    occurred = None
    if hook.created_at is not None:
        try:
            occurred = datetime.fromtimestamp(hook.created_at, tz=UTC)
        except (OverflowError, OSError, ValueError):
            raise InvalidPayload(_WHAT, [("created_at", f"{hook.created_at} is not a unix time")]) from None
    return [WebhookEvent(event_key=f"{scope}:{digest}", topic=scope, order_id=order_id, occurred_at=occurred)]

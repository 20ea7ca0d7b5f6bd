"""MerchantPro webhooks: HMAC on the raw body, lenient envelope, and the simulator's signed deliveries."""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
from typing import Any

import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from connectors.errors import InvalidPayload
from connectors.merchantpro import webhooks
from connectors.merchantpro.client import MerchantProConnector
from connectors.merchantpro.wire import MerchantProStatusUpdate
from simulators.runner import serve_in_thread
from tests.connectors.merchantpro.conftest import Shop

SECRET = "whsec-test"


def test_signature_is_base64_hmac_sha256_of_the_raw_body() -> None:
    raw = b'{"event":"order.created","data":{"id":1}}'
    expected = base64.b64encode(hmac.new(SECRET.encode(), raw, hashlib.sha256).digest()).decode()
    headers = webhooks.sign(raw, SECRET)
    assert headers == {"X-Webhook-Signature": expected}
    assert webhooks.verify(headers, raw, SECRET)
    assert webhooks.verify({"x-webhook-signature": expected}, raw, SECRET)  # header names are case-insensitive
    assert not webhooks.verify(headers, raw + b" ", SECRET)  # raw bytes, not re-serialised JSON
    assert not webhooks.verify(headers, raw, "other")
    assert not webhooks.verify({}, raw, SECRET)
    assert not webhooks.verify(headers, raw, None)
    hex_signature = hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    assert not webhooks.verify({"X-Webhook-Signature": hex_signature}, raw, SECRET)


@pytest.mark.parametrize(("body", "order_id", "key"), [
    ({"event": "order.created", "id": "d-1", "data": {"id": 12345001}}, "12345001", "merchantpro:d-1"),
    ({"event": "order.updated", "data": {"order_id": "77"}}, "77", None),
    ({"topic": "order.status_changed", "order_id": 5}, "5", None),
    ({"event": "order.deleted", "id": 9}, "9", None),
    ({"event": "product.created", "id": "d-2", "data": {"id": 501}}, None, "merchantpro:d-2"),
])
def test_parse_is_lenient(body: dict[str, Any], order_id: str | None, key: str | None) -> None:
    raw = orjson.dumps(body)
    [event] = webhooks.parse(raw, {})
    assert event.order_id == order_id
    assert event.topic == body.get("event", body.get("topic"))
    assert event.event_key == (key or "sha256:" + hashlib.sha256(raw).hexdigest())


def test_parse_reads_dates_and_lists() -> None:
    raw = orjson.dumps([{"event": "order.created", "id": "a", "created_at": "2026-11-23T10:00:00+02:00",
                         "data": {"id": 1}}, {"event": "order.updated", "id": "b", "data": {"id": 2}}])
    events = webhooks.parse(raw)
    assert [e.order_id for e in events] == ["1", "2"]
    assert events[0].occurred_at is not None
    assert events[0].occurred_at.hour == 8


@pytest.mark.parametrize("raw", [b"not json", b"[]", b"42", b'{"data": {"id": 1}}', b'[{"event": "x"}, 3]'])
def test_parse_refuses_garbage(raw: bytes) -> None:
    with pytest.raises(InvalidPayload):
        webhooks.parse(raw)


def test_simulator_sends_signed_order_webhooks(shop: Shop, connector: MerchantProConnector) -> None:
    received: list[tuple[bytes, dict[str, str]]] = []
    done = threading.Event()

    async def hook(request: Request) -> Response:
        received.append((await request.body(), dict(request.headers)))
        done.set()
        return Response(status_code=204)

    server = serve_in_thread(Starlette(routes=[Route("/hook", hook, methods=["POST"])]))
    try:
        shop.sim.configure_webhooks(f"{server.url}/hook", SECRET)
        order_id = next(i for i, o in shop.sim.orders.items() if o["shipping_status"] == "awaiting")
        connector.set_status(order_id, MerchantProStatusUpdate(transition="in_process"))
        assert shop.sim.webhooks.wait_idle(5.0)
        assert done.wait(5.0)
    finally:
        server.stop()
        shop.sim.webhooks.close()
    raw, headers = received[0]
    assert webhooks.verify(headers, raw, SECRET)
    [event] = webhooks.parse(raw, headers)
    assert event.topic == "order.status_changed"
    assert event.order_id == order_id
    assert event.event_key.startswith("merchantpro:whd_")

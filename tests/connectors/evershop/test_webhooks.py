"""The bridge's webhooks: signing, constant-time verification, parsing (and the recorded deliveries)."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from connectors.errors import InvalidPayload
from connectors.evershop import webhooks

SECRET = "s3cret-for-tests"
ORDER_UUID = "e84ac459-fa6f-4013-b848-d5b583f70bf1"


def delivery(**overrides: object) -> bytes:
    body: dict[str, object] = {
        "event": "shipment_created",
        "event_id": "5b1f0c",
        "data": {"shipmentId": 1, "orderId": 1, "notifyCustomer": False},
        "order": {"order_id": 1, "uuid": ORDER_UUID, "order_number": "10001", "cart_id": 1,
                  "status": "processing", "payment_status": "pending", "shipment_status": "partially_shipped"},
        "sent_at": "2026-11-22T07:58:47.562Z",
    }
    body.update(overrides)
    return orjson.dumps({k: v for k, v in body.items() if v is not None})


def test_sign_then_verify() -> None:
    raw = delivery()
    headers = webhooks.sign(raw, SECRET)
    expected = hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    assert headers == {"X-Ordersync-Signature": f"sha256={expected}"}
    assert webhooks.verify(headers, raw, SECRET)
    assert webhooks.verify({"x-ordersync-signature": headers["X-Ordersync-Signature"].upper()}, raw, SECRET)
    assert webhooks.verify({"X-Ordersync-Signature": expected}, raw, SECRET)  # bare hex


@pytest.mark.parametrize("case", ["tampered", "other secret", "no header", "no secret", "garbage"])
def test_verify_refuses(case: str) -> None:
    raw = delivery()
    headers = webhooks.sign(raw, SECRET)
    if case == "tampered":
        assert not webhooks.verify(headers, raw.replace(b"10001", b"10002"), SECRET)
    elif case == "other secret":
        assert not webhooks.verify(headers, raw, "another")
    elif case == "no header":
        assert not webhooks.verify({}, raw, SECRET)
    elif case == "no secret":
        assert not webhooks.verify(headers, raw, None)
        assert not webhooks.verify(headers, raw, "")
    else:
        assert not webhooks.verify({"X-Ordersync-Signature": "sha256=zz\u00e9"}, raw, SECRET)


def test_parse_one_event() -> None:
    (event,) = webhooks.parse(delivery(), {"X-Ordersync-Event": "shipment_created"})
    assert event.event_key == "5b1f0c"
    assert event.topic == "shipment_created"
    assert event.order_id == ORDER_UUID
    assert event.occurred_at == datetime(2026, 11, 22, 7, 58, 47, 562000, tzinfo=UTC)


def test_parse_without_event_id_keys_on_the_body_hash() -> None:
    raw = delivery(event_id=None)
    (event,) = webhooks.parse(raw)
    assert event.event_key == hashlib.sha256(raw).hexdigest()


def test_parse_takes_the_topic_from_the_header_when_missing() -> None:
    (event,) = webhooks.parse(delivery(event=None), {"x-ordersync-event": "order_placed"})
    assert event.topic == "order_placed"


def test_parse_order_row_events_use_data_uuid() -> None:
    raw = delivery(event="order_created", order=None, data={"order_id": 1, "uuid": ORDER_UUID})
    (event,) = webhooks.parse(raw)
    assert event.order_id == ORDER_UUID


@pytest.mark.parametrize(("raw", "field"), [
    (b"not json", ""),
    (b"[]", ""),
    (delivery(event=None), "event"),
    (delivery(event_id=["x"]), "event_id"),
    (delivery(order="nope"), "order"),
    (delivery(order={"uuid": ""}), "order.uuid"),
    (delivery(order={"order_id": 1}, data={"shipmentId": 1}), "order.uuid"),
    (delivery(data="nope", order=None), "data"),
    (delivery(sent_at="yesterday"), "sent_at"),
])
def test_parse_names_the_bad_field(raw: bytes, field: str) -> None:
    with pytest.raises(InvalidPayload) as caught:
        webhooks.parse(raw)
    assert caught.value.field == field


def test_unknown_events_without_an_order_are_accepted() -> None:
    (event,) = webhooks.parse(orjson.dumps({"event": "product_updated", "data": {"productId": 3}}))
    assert event.order_id is None


def test_recorded_bridge_deliveries_parse(shared: Path) -> None:
    lines = (shared / "platforms/samples/evershop/webhooks.jsonl").read_text().splitlines()
    keys = set()
    for line in lines:
        record = json.loads(line)
        raw = orjson.dumps(record["body"])
        (event,) = webhooks.parse(raw, {"X-Ordersync-Event": record["event_header"]})
        assert event.topic == record["event_header"] == record["body"]["event"]
        assert event.order_id == record["body"]["order"]["uuid"]
        keys.add(event.event_key)
    assert len(keys) == len(lines) == 13

"""BigCommerce V3 callbacks: parsing the real payloads, our secret header, Standard Webhooks signatures."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.bigcommerce.webhooks import SECRET_HEADER, parse, sign, verify
from connectors.errors import InvalidPayload
from tests.connectors.bigcommerce.samples import samples_of

BODY = b'{"scope":"store/order/created","store_id":"1025646","data":{"type":"order","id":250},' \
       b'"hash":"dd70c0976e06b67aaf671e73f49dcb79230ebf9d","created_at":1561479335,"producer":"stores/abc"}'


def test_every_webhook_sample_parses(shared: Path) -> None:
    keys = set()
    samples = list(samples_of(shared, "webhook"))
    assert len(samples) >= 8
    for path, payload in samples:
        [event] = parse(json.dumps(payload).encode(), {})
        assert event.topic == payload["scope"], path.name
        assert event.event_key == f"{payload['scope']}:{payload['hash']}"
        data = payload["data"]
        expected = data["orderId"] if payload["scope"].startswith("store/shipment/") else data["id"]
        assert event.order_id == str(expected)
        assert event.occurred_at == datetime.fromtimestamp(payload["created_at"], UTC)
        keys.add(event.event_key)
    assert len(keys) == len(samples)  # the same hash under two scopes is two events


def test_redelivery_has_the_same_key() -> None:
    assert parse(BODY)[0].event_key == parse(BODY)[0].event_key == (
        "store/order/created:dd70c0976e06b67aaf671e73f49dcb79230ebf9d")
    no_hash = json.loads(BODY)
    del no_hash["hash"]
    raw = json.dumps(no_hash).encode()
    assert parse(raw)[0].event_key.startswith("store/order/created:")
    assert parse(raw)[0].event_key == parse(raw)[0].event_key


def test_other_scopes_have_no_order() -> None:
    raw = json.dumps({"scope": "store/product/updated", "store_id": "1", "data": {"type": "product", "id": 7},
                      "hash": "abc", "created_at": 1, "producer": "stores/x"}).encode()
    assert parse(raw)[0].order_id is None


@pytest.mark.parametrize("raw", [
    b"not json", b"[]", b'{"scope": "store/order/created"}', b'{"scope": "", "data": {"id": 1}}',
    b'{"scope": "store/shipment/created", "data": {"type": "shipment", "id": 3}}',
    b'{"scope": "store/order/created", "data": {"id": 1}, "created_at": 1e300}',
    b'{"scope": "store/order/created", "data": {"id": {"x": 1}}}',
])
def test_invalid_callbacks(raw: bytes) -> None:
    with pytest.raises(InvalidPayload):
        parse(raw)


def test_secret_header_in_constant_time_any_case() -> None:
    assert verify({SECRET_HEADER: "s3cret"}, BODY, "s3cret")
    assert verify({"x-ordersync-secret": "s3cret"}, BODY, "s3cret")
    assert not verify({SECRET_HEADER: "s3cre"}, BODY, "s3cret")
    assert not verify({}, BODY, "s3cret")
    assert not verify({SECRET_HEADER: "s3cret"}, BODY, None)  # nothing configured: never accepted
    assert sign(BODY, "s3cret") == {SECRET_HEADER: "s3cret"}


def test_standard_webhooks_signature() -> None:
    now = int(time.time())
    headers = sign(BODY, "s3cret", client_secret="client-secret", msg_id="msg_1", timestamp=now)
    assert headers["webhook-signature"].startswith("v1,")
    assert verify(headers, BODY, "s3cret", client_secret="client-secret")
    assert verify(headers, BODY, None, client_secret="client-secret")
    assert not verify(headers, BODY + b" ", "s3cret", client_secret="client-secret")  # body changed
    assert not verify(headers, BODY, "s3cret", client_secret="other")
    assert not verify(headers, BODY, "s3cret", client_secret="client-secret", now=now + 3600)  # replayed later
    tampered = dict(headers, **{"webhook-id": "msg_2"})
    assert not verify(tampered, BODY, "s3cret", client_secret="client-secret")
    several = dict(headers, **{"webhook-signature": "v1,AAAA " + headers["webhook-signature"]})
    assert verify(several, BODY, None, client_secret="client-secret")  # key rotation: any signature may match
    no_signature = {SECRET_HEADER: "s3cret"}
    assert verify(no_signature, BODY, "s3cret", client_secret="client-secret")  # older stores do not sign
    assert not verify({}, BODY, None, client_secret="client-secret")


def test_whsec_secret_is_base64_decoded() -> None:
    key = base64.b64encode(b"raw-key-bytes").decode()
    headers = sign(BODY, "", client_secret=f"whsec_{key}", msg_id="m", timestamp=int(time.time()))
    assert SECRET_HEADER not in headers
    assert verify(headers, BODY, None, client_secret=f"whsec_{key}")
    assert not verify(headers, BODY, None, client_secret="raw-key-bytes-but-not-encoded")

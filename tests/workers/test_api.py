"""Webhook intake: verify → store → dedupe → 202; bad signatures 401; malformed bodies 400 and kept."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from fastapi.testclient import TestClient

from sync.config import load_config
from workers import context
from workers.api import create_app

SECRET = "intake-secret"


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The intake with a MerchantPro store, a BigCommerce store and a CS-Cart store (no routes)."""
    for name, value in {"A_KEY": "k", "A_SECRET": "s", "A_HOOK": SECRET, "B_TOKEN": "t", "C_MAIL": "m",
                        "C_KEY": "k"}.items():
        monkeypatch.setenv(name, value)
    config = load_config(data={
        "settings": {"database_url": f"sqlite:///{tmp_path / 'state.db'}", "broker_url": "memory://"},
        "stores": {
            "ro": {"platform": "merchantpro", "base_url": "http://127.0.0.1:9", "webhook_secret": "${A_HOOK}",
                   "credentials": {"api_key": "${A_KEY}", "api_secret": "${A_SECRET}"}},
            "us": {"platform": "bigcommerce", "base_url": "http://127.0.0.1:9/stores/x", "webhook_secret": "${A_HOOK}",
                   "credentials": {"token": "${B_TOKEN}"}},
            "eu": {"platform": "cscart", "base_url": "http://127.0.0.1:9",
                   "credentials": {"email": "${C_MAIL}", "api_key": "${C_KEY}"}},
        },
    })
    ctx = context.Context.build(config)
    context.install(ctx)
    with TestClient(create_app()) as test_client:
        yield test_client
    context.install(None)
    ctx.close()


def _mp_signature(raw: bytes) -> str:
    return base64.b64encode(hmac.new(SECRET.encode(), raw, hashlib.sha256).digest()).decode()


def _mp_event(order_id: int, delivery: str = "whd_1") -> bytes:
    return orjson.dumps({"event": "order.updated", "id": delivery, "created_at": "2026-11-23T10:00:00+02:00",
                         "data": {"id": order_id}})


class TestIntake:
    def test_signed_webhook_is_stored_once_and_answered_202(self, client: TestClient) -> None:
        """A valid delivery is accepted; the same delivery again is a duplicate, not new work."""
        raw = _mp_event(42)
        headers = {"X-Webhook-Signature": _mp_signature(raw), "Content-Type": "application/json"}
        first = client.post("/webhooks/ro", content=raw, headers=headers)
        again = client.post("/webhooks/ro", content=raw, headers=headers)
        assert first.status_code == 202
        assert first.json()["accepted"] == 1
        assert again.status_code == 202
        assert again.json() == {"accepted": 0, "duplicates": 1, "events": first.json()["events"]}
        inbox = context.current().store.counts()["inbox"]
        assert sum(inbox.values()) == 1

    def test_bad_or_missing_signature_is_401_and_nothing_is_stored(self, client: TestClient) -> None:
        """Forged deliveries never reach the inbox."""
        raw = _mp_event(42)
        assert client.post("/webhooks/ro", content=raw, headers={"X-Webhook-Signature": "AAAA"}).status_code == 401
        assert client.post("/webhooks/ro", content=raw).status_code == 401
        assert client.post("/webhooks/us", content=b"{}", headers={"X-Ordersync-Secret": "wrong"}).status_code == 401
        assert context.current().store.counts()["inbox"] == {}

    def test_malformed_body_is_400_with_the_reason_and_kept_for_replay(self, client: TestClient) -> None:
        """A signed body that is not a webhook: 400 naming the problem; the raw body waits in the queue."""
        raw = b'{"scope": "store/order/updated", "data": "not an object"}'
        response = client.post("/webhooks/us", content=raw, headers={"X-Ordersync-Secret": SECRET})
        assert response.status_code == 400
        assert "data" in response.json()["detail"]
        [item] = context.current().store.attention(kinds=["invalid_webhook"])
        assert item.payload == raw.decode()
        assert item.replay == {"task": "webhook", "store": "us"}

    def test_unknown_store_and_store_without_webhooks(self, client: TestClient) -> None:
        """404 for a store that is not configured; 401 for one with no webhook secret (CS-Cart)."""
        assert client.post("/webhooks/nowhere", content=b"{}").status_code == 404
        assert client.post("/webhooks/eu", content=b"{}").status_code == 401

    def test_health_readiness_and_docs(self, client: TestClient) -> None:
        """Probes answer; the OpenAPI document describes the intake."""
        assert client.get("/healthz").json() == {"status": "ok"}
        ready = client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["checks"] == {"database": True, "broker": True}
        assert "/webhooks/{store}" in client.get("/openapi.json").json()["paths"]

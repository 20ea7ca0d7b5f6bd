"""The intake as an outbox, on real PostgreSQL and with a broker that refuses, hangs or comes back.

- column limits and NUL bytes in event ids, topics and order ids: a delivery is stored whole or
  parked whole, never answered 500, never half a list;
- a broker that refuses connections: 202, the event stays ``received``, and it is published once a
  broker is there (by the relay, or by the platform's redelivery);
- a broker that accepts and never answers: ``/healthz`` and the webhook answer at once;
- oversize bodies are refused without being read; a client that disconnects costs one log line.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import redis
from sqlalchemy import create_engine, func, select
from sqlalchemy import text as sql_text
from sqlmodel import Session, col

from connectors.logging import configure_logging
from simulators.runner import RunningServer, free_port, serve_in_thread
from sync.config import OrderSyncConfig, ProcessSettings, load_config
from sync.models import Delivery, InboxEvent
from sync.store import Store
from tests.sync import conftest as sync_fixtures
from tests.workers.private_redis import RedisServer, redis_server_binary
from workers import context
from workers.api import MAX_BODY, create_app
from workers.app import QUEUE, configure
from workers.inbox import KEY_LENGTH, MAX_EVENTS, ORDER_ID_LENGTH, TOPIC_LENGTH
from workers.relay import Publisher, publisher_for, relay_once

SECRET = "outbox-secret"
pg_url = sync_fixtures.pg_url  # the fresh-PostgreSQL-database fixture of the store tests


def _config(database_url: str, broker_url: str, monkeypatch: pytest.MonkeyPatch) -> OrderSyncConfig:
    for name, value in {"A_KEY": "k", "A_SECRET": "s", "A_HOOK": SECRET}.items():
        monkeypatch.setenv(name, value)
    return load_config(data={
        "settings": {"database_url": database_url, "broker_url": broker_url, "publish_timeout": 0.5,
                     "relay_interval": 0},
        "stores": {"ro": {"platform": "merchantpro", "base_url": "http://127.0.0.1:9", "webhook_secret": "${A_HOOK}",
                          "credentials": {"api_key": "${A_KEY}", "api_secret": "${A_SECRET}"}}},
    })


@pytest.fixture
def intake(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., context.Context]]:
    """Installs a context (and configures the Celery app) for a database and broker; undone afterwards."""
    built: list[context.Context] = []

    def make(database_url: str, broker_url: str = "memory://") -> context.Context:
        config = _config(database_url, broker_url, monkeypatch)
        configure(config.settings, config)
        ctx = context.Context.build(config, store=Store(database_url, auto_migrate=True))
        context.install(ctx)
        built.append(ctx)
        return ctx

    yield make
    context.install(None)
    for ctx in built:
        ctx.close()
    configure(ProcessSettings(broker_url="memory://"))


@pytest.fixture
def server() -> Iterator[Callable[[], RunningServer]]:
    """Serves the intake over real HTTP in a thread (after the context is installed)."""
    running: list[RunningServer] = []

    def start() -> RunningServer:
        running.append(serve_in_thread(create_app()))
        return running[-1]

    yield start
    for item in running:
        item.stop()


def _signed(body: Any) -> tuple[bytes, dict[str, str]]:
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    signature = base64.b64encode(hmac.new(SECRET.encode(), raw, hashlib.sha256).digest()).decode()
    return raw, {"X-Webhook-Signature": signature, "Content-Type": "application/json"}


def _event(delivery: str, order_id: Any, topic: str = "order.updated") -> dict[str, Any]:
    return {"event": topic, "id": delivery, "data": {"id": order_id}}


def _rows(ctx: context.Context) -> list[InboxEvent]:
    with Session(ctx.store.engine) as session:
        return list(session.exec(select(InboxEvent).order_by(col(InboxEvent.id))).scalars())  # type: ignore[call-overload]


def _deliveries(ctx: context.Context) -> int:
    with Session(ctx.store.engine) as session:
        return int(session.exec(select(func.count()).select_from(Delivery)).scalar_one())  # type: ignore[call-overload]


def _settle(ctx: context.Context) -> None:
    assert publisher_for(ctx.config.settings).drain(10)


# -- column limits and NUL on PostgreSQL ------------------------------------------------------------
@pytest.mark.postgres
class TestColumnLimitsOnPostgres:
    def test_long_and_nul_values_in_a_list_are_all_stored_and_deduplicated(
            self, pg_url: str, intake: Callable[..., context.Context], server: Callable[[], RunningServer]) -> None:
        """Over-long ids and topics and NUL bytes are fitted: every event of the list is stored, once."""
        ctx = intake(pg_url)
        base = server().url
        events = [_event("d-1", 101), _event("d\x00-2-" + "x" * 300, 102), _event("d-3", "10\x003",
                  topic="order." + "u\x00" * 200), _event("d-4-" + "y" * 300, 104)]
        raw, headers = _signed(events)
        first = httpx.post(f"{base}/webhooks/ro", content=raw, headers=headers)
        again = httpx.post(f"{base}/webhooks/ro", content=raw, headers=headers)
        _settle(ctx)
        assert first.status_code == 202, first.text
        assert first.json()["accepted"] == 4
        assert again.status_code == 202
        assert again.json()["duplicates"] == 4
        rows = _rows(ctx)
        assert [row.order_id for row in rows] == ["101", "102", "103", "104"]
        assert all(len(row.event_key) <= KEY_LENGTH and "\x00" not in row.event_key for row in rows)
        assert all(len(row.topic) <= TOPIC_LENGTH and "\x00" not in row.topic for row in rows)
        assert len({row.event_key for row in rows}) == 4
        assert {row.delivery_id for row in rows} == {rows[0].delivery_id}
        assert _deliveries(ctx) == 1  # the payload is stored once, not once per event
        assert ctx.store.delivery_payload(rows[2].id or 0) == raw.decode()

    def test_an_unusable_order_id_parks_the_whole_delivery(
            self, pg_url: str, intake: Callable[..., context.Context], server: Callable[[], RunningServer]) -> None:
        """An order id longer than any platform's: 400 naming the field; no event of the list is stored."""
        ctx = intake(pg_url)
        base = server().url
        raw, headers = _signed([_event("p-1", 201), _event("p-2", "9" * (ORDER_ID_LENGTH + 1)), _event("p-3", 203)])
        response = httpx.post(f"{base}/webhooks/ro", content=raw, headers=headers)
        assert response.status_code == 400
        assert "[1].order_id" in response.json()["detail"]
        assert _rows(ctx) == []
        [item] = ctx.store.attention(kinds=["invalid_webhook"])
        assert item.payload == raw.decode()
        assert item.replay == {"task": "webhook", "store": "ro"}

    def test_nul_bytes_in_the_raw_body_are_parked_not_500(
            self, pg_url: str, intake: Callable[..., context.Context], server: Callable[[], RunningServer]) -> None:
        """A signed body with a raw NUL byte is not JSON: 400 and kept (NUL shown as U+FFFD)."""
        ctx = intake(pg_url)
        base = server().url
        raw, headers = _signed(b'{"event": "order.updated", "id": "n\x00-1", "data": {"id": 5}}')
        response = httpx.post(f"{base}/webhooks/ro", content=raw, headers=headers)
        assert response.status_code == 400
        [item] = ctx.store.attention(kinds=["invalid_webhook"])
        assert item.payload is not None
        assert "\ufffd" in item.payload
        assert _rows(ctx) == []

    def test_too_many_events_is_refused_whole_naming_the_cap(
            self, pg_url: str, intake: Callable[..., context.Context], server: Callable[[], RunningServer]) -> None:
        """More than MAX_EVENTS events: 413 naming the cap, the delivery parked, nothing half-stored."""
        ctx = intake(pg_url)
        base = server().url
        raw, headers = _signed([_event(f"m-{i}", i) for i in range(MAX_EVENTS + 1)])
        response = httpx.post(f"{base}/webhooks/ro", content=raw, headers=headers)
        assert response.status_code == 413
        assert f"at most {MAX_EVENTS}" in response.json()["detail"]
        assert _rows(ctx) == []
        assert len(ctx.store.attention(kinds=["invalid_webhook"])) == 1


# -- a broker that refuses, then comes back ---------------------------------------------------------
def _queued_inbox_ids(client: redis.Redis) -> list[int]:
    ids = []
    for message in client.lrange(QUEUE, 0, -1):
        body = orjson.loads(base64.b64decode(orjson.loads(message)["body"]))
        ids += [int(i) for i in body[0][0]]  # handle_webhooks: a list of inbox ids per message
    return ids


def test_refused_broker_202_then_relay_and_redelivery_publish_once_it_is_back(
        tmp_path: Path, intake: Callable[..., context.Context], server: Callable[[], RunningServer]) -> None:
    """Broker down: 202, rows stay `received`; once a broker listens, a redelivery publishes its event
    and the relay publishes the rest; nothing is published twice."""
    port = free_port()
    ctx = intake(f"sqlite:///{tmp_path / 'state.db'}", f"redis://127.0.0.1:{port}/0")
    base = server().url
    first, headers_1 = _signed(_event("r-1", 301))
    second, headers_2 = _signed(_event("r-2", 302))
    answers = [httpx.post(f"{base}/webhooks/ro", content=raw, headers=h, timeout=10)
               for raw, h in ((first, headers_1), (second, headers_2))]
    _settle(ctx)
    assert [a.status_code for a in answers] == [202, 202]
    assert [row.status for row in _rows(ctx)] == ["received", "received"]
    if redis_server_binary() is None:
        pytest.skip("redis-server is not installed")
    broker = RedisServer(tmp_path / "redis", port=port)
    broker.start()
    client = redis.Redis(port=port, socket_timeout=2)
    try:
        publisher = publisher_for(ctx.config.settings)
        deadline = time.monotonic() + 5
        while publisher.broker_down and time.monotonic() < deadline:
            time.sleep(0.05)
        again = httpx.post(f"{base}/webhooks/ro", content=first, headers=headers_1)
        _settle(ctx)
        assert again.json()["duplicates"] == 1
        rows = _rows(ctx)
        assert [row.status for row in rows] == ["enqueued", "received"]
        assert relay_once(ctx.store, publisher, grace=0, redrive_after=60) == 1
        assert relay_once(ctx.store, publisher, grace=0, redrive_after=60) == 0
        assert [row.status for row in _rows(ctx)] == ["enqueued", "enqueued"]
        assert sorted(_queued_inbox_ids(client)) == sorted(row.id or 0 for row in rows)
    finally:
        client.close()
        broker.stop()


# -- a broker that accepts and never answers ---------------------------------------------------------
class _SilentSocket:
    """Accepts connections and never answers (a hung Redis)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(connection)

    def close(self) -> None:
        self.sock.close()
        for connection in self.held:
            connection.close()


def test_hung_broker_never_stalls_health_or_webhooks(
        tmp_path: Path, intake: Callable[..., context.Context], server: Callable[[], RunningServer]) -> None:
    """With a broker that never answers, /healthz and the webhook answer at once; the relay gives up
    within its timeout; the events wait as `received`."""
    silent = _SilentSocket()
    try:
        ctx = intake(f"sqlite:///{tmp_path / 'state.db'}", f"redis://127.0.0.1:{silent.port}/0")
        base = server().url
        with httpx.Client(base_url=base, timeout=10) as client:
            for index in range(5):
                raw, headers = _signed(_event(f"h-{index}", 400 + index))
                started = time.monotonic()
                assert client.post("/webhooks/ro", content=raw, headers=headers).status_code == 202
                assert time.monotonic() - started < 0.5
                started = time.monotonic()
                assert client.get("/healthz").status_code == 200
                assert time.monotonic() - started < 0.5
        started = time.monotonic()
        assert relay_once(ctx.store, Publisher(ctx.config.settings), grace=0) == 0
        assert time.monotonic() - started < 3 * ctx.config.settings.publish_timeout + 1
        _settle(ctx)
        assert {row.status for row in _rows(ctx)} == {"received"}
    finally:
        silent.close()


# -- oversize bodies and disconnects -------------------------------------------------------------------
def _raw_request(port: int, head: bytes, body: bytes = b"", *, close_after: bool = False) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(head + body)
        if close_after:
            return b""
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
        return answer


def test_oversize_bodies_are_refused_without_reading_them(
        tmp_path: Path, intake: Callable[..., context.Context], server: Callable[[], RunningServer]) -> None:
    """A 100 MB Content-Length gets 413 after the headers alone; an unsigned body 401 before it is read;
    a chunked body is cut off once it passes the cap."""
    intake(f"sqlite:///{tmp_path / 'state.db'}")
    running = server()
    huge = (b"POST /webhooks/ro HTTP/1.1\r\nHost: x\r\nX-Webhook-Signature: AAAA\r\n"
            b"Content-Length: 104857600\r\n\r\n")
    assert _raw_request(running.port, huge).startswith(b"HTTP/1.1 413")
    unsigned = b"POST /webhooks/ro HTTP/1.1\r\nHost: x\r\nContent-Length: 104857600\r\n\r\n"
    assert _raw_request(running.port, unsigned).startswith(b"HTTP/1.1 401")

    def chunks() -> Iterator[bytes]:
        for _ in range(200):  # 200 x 64 KiB = 12.5 MiB offered, far past the cap
            yield b" " * 65536

    with httpx.Client(timeout=10) as client:
        try:
            response = client.post(f"{running.url}/webhooks/ro", content=chunks(),
                                   headers={"X-Webhook-Signature": "AAAA"})
            assert response.status_code == 413
            assert str(MAX_BODY) in response.json()["detail"]
        except httpx.WriteError:
            pass  # the server closed the connection while the client was still sending: refused early


def test_client_disconnect_mid_upload_is_one_log_line(
        tmp_path: Path, intake: Callable[..., context.Context], server: Callable[[], RunningServer],
        capfd: pytest.CaptureFixture[str]) -> None:
    """A client that sends half a body and hangs up leaves one line, no traceback, nothing stored."""
    configure_logging("INFO", json=True)  # other tests in this process may have left a quieter level
    ctx = intake(f"sqlite:///{tmp_path / 'state.db'}")
    running = server()
    head = (b"POST /webhooks/ro HTTP/1.1\r\nHost: x\r\nX-Webhook-Signature: AAAA\r\n"
            b"Content-Length: 5000\r\n\r\n")
    _raw_request(running.port, head, b"{" * 100, close_after=True)
    deadline = time.monotonic() + 20
    output = ""
    while "client_disconnected" not in output and time.monotonic() < deadline:
        time.sleep(0.05)
        output += "".join(capfd.readouterr())
    assert output.count("client_disconnected") == 1
    assert "Traceback" not in output
    assert _rows(ctx) == []


@pytest.mark.postgres
def test_state_store_gone_is_503_not_500(
        pg_url: str, intake: Callable[..., context.Context], server: Callable[[], RunningServer]) -> None:
    """With the database dropped under it, the intake answers 503 (the platform retries), and /healthz
    still answers."""
    ctx = intake(pg_url)
    base = server().url
    raw, headers = _signed(_event("g-1", 501))
    assert httpx.post(f"{base}/webhooks/ro", content=raw, headers=headers).status_code == 202
    _settle(ctx)
    ctx.store.dispose()
    admin = create_engine(sync_fixtures.PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sql_text(f'DROP DATABASE "{pg_url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    admin.dispose()
    raw, headers = _signed(_event("g-2", 502))
    response = httpx.post(f"{base}/webhooks/ro", content=raw, headers=headers, timeout=30)
    assert response.status_code == 503
    assert "state store" in response.json()["detail"]
    assert httpx.get(f"{base}/healthz").status_code == 200

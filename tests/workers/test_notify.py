"""`[settings] notify_url`: Slack-compatible JSON notices, at most one a minute per kind, to a local
HTTP server; a dead or refusing endpoint never fails the work."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import redis

from sync.config import load_config
from sync.store import Store
from workers import notify
from workers.notify import Notifier


class Receiver:
    """A chat webhook on 127.0.0.1 that keeps what it is sent and answers ``status``."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                receiver.bodies.append({"content_type": self.headers.get("Content-Type"),
                                        **json.loads(self.rfile.read(length))})
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def notifier(receiver: Receiver, fake_redis: redis.Redis) -> Iterator[Notifier]:
    n = Notifier(receiver.url, fake_redis, prefix="t")
    yield n
    n.close()


def _minute_passes(client: redis.Redis, kind: str) -> None:
    client.delete(f"t:notify:{kind}:gate")  # what the gate's 60 s expiry does


def test_one_notice_a_minute_per_kind(notifier: Notifier, receiver: Receiver, fake_redis: redis.Redis) -> None:
    assert notifier.notify("parked", "first") is True
    assert notifier.notify("parked", "second") is False
    assert notifier.notify("parked", "third") is False
    assert notifier.notify("store_failing", "bc down") is True
    assert [(b["kind"], b["text"]) for b in receiver.bodies] == [("parked", "first"), ("store_failing", "bc down")]
    assert receiver.bodies[0]["content_type"] == "application/json"
    assert fake_redis.ttl("t:notify:parked:gate") <= 60
    _minute_passes(fake_redis, "parked")
    assert notifier.notify("parked", "fourth") is True
    assert receiver.bodies[-1]["suppressed"] == 2
    assert "+2 more" in receiver.bodies[-1]["text"]


def test_a_refusing_or_dead_endpoint_is_logged_not_raised(notifier: Notifier, receiver: Receiver,
                                                          fake_redis: redis.Redis) -> None:
    receiver.status = 500
    assert notifier.notify("parked", "x") is False
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}/hook"
    gone = Notifier(dead, fake_redis, prefix="t2", timeout=1)
    try:
        assert gone.notify("parked", "x") is False
    finally:
        gone.close()


def test_parked_items_and_a_failing_store_are_announced(tmp_path: Path, receiver: Receiver,
                                                        fake_redis: redis.Redis) -> None:
    store = Store(f"sqlite:///{tmp_path / 'state.db'}", auto_migrate=True)
    notify.install(receiver.url, fake_redis, prefix="t", send=lambda n, kind, text: n.notify(kind, text))
    try:
        store.park(kind="unknown_sku", reason="SKU X is not in the catalog", route="a-to-b", store="a",
                   order_id="7")
        store.park(kind="unknown_sku", reason="SKU X is not in the catalog", route="a-to-b", store="a",
                   order_id="7")  # the same item seen again: no new notice
        assert [b["kind"] for b in receiver.bodies] == ["parked"]
        assert "unknown_sku parked (route a-to-b order a:7): SKU X" in receiver.bodies[0]["text"]
        store.save_cursor("a", {"page": 1})
        store.save_cursor("a", None, error="cannot reach bigcommerce: ConnectError")
        store.save_cursor("a", None, error="cannot reach bigcommerce: ConnectError")  # still failing: quiet
        assert [b["kind"] for b in receiver.bodies] == ["parked", "store_failing"]
        assert "store a is failing: cannot reach bigcommerce" in receiver.bodies[1]["text"]
        store.save_cursor("a", {"page": 2})
        _minute_passes(fake_redis, "store_failing")
        store.save_cursor("a", None, error="HTTP 401")
        assert [b["kind"] for b in receiver.bodies][-1] == "store_failing"
        assert len(receiver.bodies) == 3
    finally:
        notify.uninstall()
        store.dispose()
    store.park(kind="rejected", reason="no", store="a", order_id="8")
    assert len(receiver.bodies) == 3  # uninstalled: silent


def test_notify_url_is_a_setting_kept_secret(tmp_path: Path) -> None:
    config = load_config(data={"settings": {"notify_url": "https://hooks.example.com/services/T0/B0/s3cr3t"},
                               "stores": {}})
    assert config.settings.notify_url is not None
    assert "s3cr3t" not in repr(config.settings)
    assert config.settings.notify_url.get_secret_value().endswith("/s3cr3t")


def test_a_sync_that_parks_an_order_notifies(tmp_path: Path, receiver: Receiver) -> None:
    """End to end: `notify_url` in ordersync.toml; `ordersync sync` parks an unknown SKU; one notice."""
    from typer.testing import CliRunner

    from tests.sync.test_engine import Shops
    from workers.cli import app

    shops = Shops(tmp_path)
    try:
        shops.path.write_text(shops.path.read_text().replace("[settings]\n",
                                                             f'[settings]\nnotify_url = "{receiver.url}"\n', 1))
        shops.order(sku="NEW-SKU-9")
        dry = CliRunner().invoke(app, ["sync", "--dry-run", "--config", str(shops.path), "--route", "us-to-ro"])
        assert dry.exit_code == 1, dry.output  # it would park the order: cron hears about it
        notify.wait_idle()
        assert receiver.bodies == []  # a dry run tells no one
        done = CliRunner().invoke(app, ["sync", "--config", str(shops.path), "--route", "us-to-ro"])
        assert done.exit_code == 1, done.output  # an order was parked
        notify.wait_idle()
        parked = [b for b in receiver.bodies if b["kind"] == "parked"]
        assert len(parked) == 1, receiver.bodies
        assert "NEW-SKU-9" in parked[0]["text"]
    finally:
        notify.uninstall()
        shops.close()

"""Operator notifications: a JSON POST to ``[settings] notify_url`` when something needs a person.

Two events, each at most once a minute per kind (across processes, through Redis):

- ``parked``: a new attention item (an order or webhook that could not be handled);
- ``store_failing``: a store's poll fails after it last succeeded (the cursor's ``last_error`` goes
  from empty to set).

The body is Slack-compatible (``{"text": ...}``; Mattermost, Teams workflows and most chat
webhooks accept it) and also carries ``kind`` and ``suppressed`` (notices held back by the rate
limit since the last one sent). Sending happens on a background thread, so the database
transaction that parked the item never waits on it; a notification that fails is logged and
dropped: it never fails the work that triggered it. The URL is a secret (chat webhook URLs embed
a token) and never logged.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import orjson
import redis
import structlog
from sqlalchemy import event, inspect

from sync.models import AttentionItem, SyncCursor

__all__ = ["KINDS", "Notifier", "install", "uninstall", "wait_idle"]

log = structlog.get_logger("ordersync.notify")

KINDS = ("parked", "store_failing")
INTERVAL_SECONDS = 60


class Notifier:
    """Posts ``{"text": ...}`` to one URL, at most once per ``interval`` per kind."""

    def __init__(self, url: str, client: redis.Redis, *, interval: int = INTERVAL_SECONDS, prefix: str = "ordersync",
                 timeout: float = 5.0, transport: httpx.BaseTransport | None = None) -> None:
        self._url = url
        self._redis = client
        self.interval = interval
        self.prefix = prefix
        self._http = httpx.Client(timeout=timeout, transport=transport)
        self._lock = threading.Lock()

    def notify(self, kind: str, text: str) -> bool:
        """Send now unless a notice of ``kind`` went out within the interval; returns whether it sent."""
        gate = f"{self.prefix}:notify:{kind}:gate"
        held = f"{self.prefix}:notify:{kind}:suppressed"
        try:
            if not self._redis.set(gate, b"1", nx=True, ex=self.interval):
                self._redis.incr(held)
                self._redis.expire(held, self.interval * 60)
                return False
            suppressed = int(self._redis.getdel(held) or 0)
        except redis.RedisError as error:
            log.warning("notify.rate_gate_unavailable", kind=kind, error=type(error).__name__)
            return False
        if suppressed:
            text += f" (+{suppressed} more notice(s) of this kind in the last minute(s) held back)"
        body = {"text": text, "kind": kind, "suppressed": suppressed}
        try:
            with self._lock:
                response = self._http.post(self._url, content=orjson.dumps(body),
                                           headers={"Content-Type": "application/json"})
            if response.status_code >= 300:
                log.warning("notify.refused", kind=kind, status=response.status_code)
                return False
        except httpx.HTTPError as error:
            log.warning("notify.failed", kind=kind, error=type(error).__name__)
            return False
        return True

    def close(self) -> None:
        """Close the HTTP client."""
        self._http.close()


_installed: dict[str, Any] = {}


def _in_background(notifier: Notifier, kind: str, text: str) -> None:
    threading.Thread(target=notifier.notify, args=(kind, text), name="ordersync-notify", daemon=True).start()


def _parked_text(item: AttentionItem) -> str:
    where = " ".join(part for part in (f"route {item.route}" if item.route else "",
                                       f"order {item.store}:{item.order_id}" if item.order_id else
                                       (f"store {item.store}" if item.store else "")) if part)
    return f"ordersync: {item.kind} parked ({where}): {item.reason[:300]}. See `ordersync attention list`."


def install(url: str, client: redis.Redis, *, send: Callable[[Notifier, str, str], Any] = _in_background,
            **kwargs: Any) -> Notifier:
    """Watch the state store's models in this process and notify ``url`` (replaces an earlier install)."""
    uninstall()
    notifier = Notifier(url, client, **kwargs)

    def parked(_: Any, __: Any, item: AttentionItem) -> None:
        send(notifier, "parked", _parked_text(item))

    def cursor_saved(_: Any, __: Any, cursor: SyncCursor) -> None:
        history = inspect(cursor).attrs.last_error.history
        before = history.deleted[0] if history.deleted else None
        if cursor.last_error and not before:
            send(notifier, "store_failing",
                 f"ordersync: store {cursor.store} is failing: {cursor.last_error[:300]}. See `ordersync status`.")

    listeners: list[tuple[type, str, Callable[..., None]]] = [
        (AttentionItem, "after_insert", parked), (SyncCursor, "after_insert", cursor_saved),
        (SyncCursor, "after_update", cursor_saved)]
    for target, name, listener in listeners:
        event.listen(target, name, listener)
    _installed.update(notifier=notifier, listeners=listeners)
    return notifier


def uninstall() -> None:
    """Stop notifying (tests; a new configuration)."""
    for target, name, listener in _installed.pop("listeners", []):
        event.remove(target, name, listener)
    notifier = _installed.pop("notifier", None)
    if notifier is not None:
        notifier.close()


def wait_idle(timeout: float = 5.0) -> None:
    """Wait for background notices to be sent (the CLI before exiting; tests)."""
    if not _installed:
        return
    deadline = time.monotonic() + timeout
    for thread in threading.enumerate():
        if thread.name == "ordersync-notify":
            thread.join(max(0.0, deadline - time.monotonic()))

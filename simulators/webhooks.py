"""Outgoing webhooks from a simulator, delivered by a background thread with retries.

Platforms deliver at least once and in no guaranteed order; the sender reproduces that on demand
(duplicate, delayed and dropped deliveries come from the simulator's :class:`FaultPlan`).
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from simulators.faults import FaultPlan

__all__ = ["Delivery", "WebhookSender"]

Signer = Callable[[bytes], Mapping[str, str]]


@dataclass
class Delivery:
    """One attempt log entry: what was sent, where, and what came back."""

    event: str
    url: str
    status: int | None
    attempt: int
    at: float
    body: dict[str, Any] = field(repr=False)


class WebhookSender:
    """Sends JSON events to ``url``, signed by ``sign``, retrying 3 times on failure."""

    def __init__(self, faults: FaultPlan, *, retries: int = 3, backoff: float = 0.2) -> None:
        self.url: str | None = None
        self.sign: Signer | None = None
        self.extra_headers: dict[str, str] = {}
        self.faults = faults
        self.retries = retries
        self.backoff = backoff
        self.deliveries: list[Delivery] = []
        self._heap: list[tuple[float, int, str, bytes, int]] = []
        self._counter = itertools.count()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopped = False
        self._client = httpx.Client(timeout=5.0)

    def configure(self, url: str | None, *, sign: Signer | None = None,
                  headers: Mapping[str, str] | None = None) -> None:
        """Point the sender at a receiver (``None`` turns webhooks off)."""
        self.url = url
        if sign is not None:
            self.sign = sign
        self.extra_headers = dict(headers or {})

    def emit(self, event: str, payload: Mapping[str, Any]) -> None:
        """Queue one event (maybe dropped, duplicated or delayed, as the fault plan says)."""
        if not self.url:
            return
        c = self.faults.config
        if self.faults.roll(c.drop_webhook_rate):
            return
        body = orjson.dumps(dict(payload))
        copies = 2 if self.faults.roll(c.duplicate_webhook_rate) else 1
        for _ in range(copies):
            delay = self.faults.uniform(c.webhook_jitter_ms) / 1000.0
            self._push(time.monotonic() + delay, event, body, 1)

    def _push(self, due: float, event: str, body: bytes, attempt: int) -> None:
        with self._cond:
            heapq.heappush(self._heap, (due, next(self._counter), event, body, attempt))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="sim-webhooks", daemon=True)
                self._thread.start()
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopped and (not self._heap or self._heap[0][0] > time.monotonic()):
                    timeout = self._heap[0][0] - time.monotonic() if self._heap else None
                    self._cond.wait(timeout)
                if self._stopped:
                    return
                _, _, event, body, attempt = heapq.heappop(self._heap)
            self._deliver(event, body, attempt)

    def _deliver(self, event: str, body: bytes, attempt: int) -> None:
        url = self.url
        if not url:
            return
        headers = {"Content-Type": "application/json", **self.extra_headers}
        if self.sign is not None:
            headers.update(self.sign(body))
        status: int | None
        try:
            status = self._client.post(url, content=body, headers=headers).status_code
        except httpx.HTTPError:
            status = None
        self.deliveries.append(Delivery(event, url, status, attempt, time.time(), orjson.loads(body)))
        if (status is None or status >= 300) and attempt < self.retries:
            self._push(time.monotonic() + self.backoff * 2 ** (attempt - 1), event, body, attempt + 1)

    def pending(self) -> int:
        """Deliveries still queued."""
        with self._cond:
            return len(self._heap)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until the queue is empty (tests); ``False`` on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.pending():
                return True
            time.sleep(0.01)
        return False

    def close(self) -> None:
        """Stop the thread and close the client."""
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        self._client.close()

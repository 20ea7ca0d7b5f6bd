"""Handing stored webhook events to the broker: right after the commit, and again by the relay.

The intake is an outbox (:meth:`sync.store.Store.add_delivery`): an event is first committed as
``received``; only then is a ``handle_webhooks`` message published for it (one message carries
the events of a publish round, up to :data:`EVENTS_PER_MESSAGE`), and the row becomes
``enqueued``. Publishing never runs on the event loop and never for long:

- :class:`Publisher` publishes on its own connection with short connect and read timeouts
  (kombu's Redis ``socket_connect_timeout`` / ``socket_timeout``, no connection retries), in a
  small thread pool with a bounded backlog. After a failure it stops trying for a few seconds
  (the broker is down or hung) instead of piling up threads that wait on it.
- :func:`relay_once` is the **one** re-drive path of the inbox. It runs as a thread in
  ``ordersync serve`` (:class:`Relay`), as the ``ordersync.relay`` beat task and inside every
  watchdog run, with one grace setting, ``relay_grace``: it publishes every event still
  ``received`` ``relay_grace`` after it was stored, and every event published but never handled
  :data:`REDRIVE_FACTOR` grace periods after its last publish (its message was lost with the
  broker or its worker; :data:`BUSY_FACTOR` times later while the realtime queue holds messages:
  they are probably waiting their turn). Rows are claimed before they are published
  (:meth:`sync.store.Store.claim_overdue_inbox`), so whichever of them runs first re-drives an
  event, once per grace period. A failed, hung or restarted broker therefore delays events but
  loses none. Publishing twice is harmless anyway: ``handle_webhooks`` is state-based.
- :func:`publish_and_mark` publishes fresh events and marks them published: the intake (through
  :meth:`Publisher.submit`) and ``ordersync replay`` use it.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import redis
import structlog

from sync.config import ProcessSettings
from sync.models import utcnow
from sync.store import Store
from workers.redis_client import redact_url

__all__ = ["BUSY_FACTOR", "REDRIVE_FACTOR", "Publisher", "Relay", "publish_and_mark", "publisher_for", "relay_once"]

log = structlog.get_logger("ordersync.relay")
RELAY_BATCH = 500
PIPELINE = 100
"""Events written to the broker per round trip."""
EVENTS_PER_MESSAGE = 50
"""Events per ``handle_webhooks`` message: Celery builds and serialises a message in about 50 µs of
the intake's one interpreter, as much as the rest of a request, so events share messages."""
REDRIVE_FACTOR = 2
"""Grace periods after its last publish before an event never handled is published again."""
BUSY_FACTOR = 5
"""While the realtime queue holds messages, that re-drive waits this many times longer."""


class Publisher:
    """Publishes inbox events as ``handle_webhooks`` messages, with bounded time per attempt.

    :meth:`publish` is synchronous (the relay calls it); :meth:`submit` hands the work to the
    publisher's threads and returns at once (the intake calls it after its commit).
    """

    def __init__(self, settings: ProcessSettings, *, threads: int = 1, backlog: int = 20000,
                 cooldown: float | None = None, max_batch: int = 500) -> None:
        self.broker_url = settings.broker_url
        self.eager = self.broker_url.startswith("memory")
        self.timeout = settings.publish_timeout
        self.cooldown = cooldown if cooldown is not None else max(1.0, 2 * self.timeout)
        self.backlog = backlog
        self.max_batch = max_batch
        self.batch_seconds = max(5.0, 5 * self.timeout)
        """Longest time one batch may take to publish, whatever the broker does."""
        self._local = threading.local()
        self._lock = threading.Lock()
        self._waiting: dict[Store, list[int]] = {}
        self._wake = threading.Condition(self._lock)
        self._pending = 0
        self._down_until = 0.0
        self._closed = False
        self._threads = [threading.Thread(target=self._loop, name=f"ordersync-publish-{n}", daemon=True)
                         for n in range(threads)]
        for thread in self._threads:
            thread.start()

    # -- state --------------------------------------------------------------------------------
    @property
    def broker_down(self) -> bool:
        """True for a few seconds after a publish failed: callers leave the events to the relay."""
        return time.monotonic() < self._down_until

    @property
    def pending(self) -> int:
        """Submitted events not tried yet."""
        return self._pending

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until every submitted event was tried (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        while self._pending and time.monotonic() < deadline:
            time.sleep(0.01)
        return self._pending == 0

    def close(self) -> None:
        """Stop the threads (what they did not publish stays ``received`` for the relay)."""
        with self._wake:
            self._closed = True
            self._wake.notify_all()

    # -- publishing ---------------------------------------------------------------------------
    def submit(self, store: Store, inbox_ids: Sequence[int]) -> bool:
        """Publish in the background; ``False`` when left to the relay (broker down, backlog full).

        Events submitted together from many requests are published in one round of the
        publisher's threads and marked ``enqueued`` with one statement.
        """
        if not inbox_ids:
            return True
        with self._wake:
            if self._closed or self.broker_down or self._pending + len(inbox_ids) > self.backlog:
                return False
            self._waiting.setdefault(store, []).extend(inbox_ids)
            self._pending += len(inbox_ids)
            self._wake.notify()
        return True

    def _take(self) -> tuple[Store, list[int]] | None:
        with self._wake:
            while not self._waiting and not self._closed:
                self._wake.wait()
            if self._closed:
                return None
            store, ids = next(iter(self._waiting.items()))
            taken, rest = ids[: self.max_batch], ids[self.max_batch:]
            if rest:
                self._waiting[store] = rest
            else:
                del self._waiting[store]
            return store, taken

    def _loop(self) -> None:
        while (work := self._take()) is not None:
            store, inbox_ids = work
            try:
                if not self.broker_down:
                    publish_and_mark(store, self, inbox_ids)
            except Exception as error:  # noqa: BLE001 - the rows stay `received`; the relay retries them
                log.warning("publish.not_recorded", error=f"{type(error).__name__}: {error}",
                            events=len(inbox_ids))
            finally:
                with self._lock:
                    self._pending -= len(inbox_ids)

    def publish(self, inbox_ids: Sequence[int]) -> list[int]:
        """Publish the events (:data:`EVENTS_PER_MESSAGE` per message); returns the ids that reached the broker.

        The messages are Celery's own (``handle_webhooks.apply_async``), :data:`PIPELINE` events'
        worth in one Redis round trip (kombu's ``Producer.batch``): a round trip per message cost
        more than everything else the intake does. Stops at the first failure (a chunk that failed
        counts as not published; any of its messages that did arrive are only published twice
        later, which ``handle_webhooks`` tolerates) and after :attr:`batch_seconds`: each round trip
        is bounded by the connect/read timeouts, the batch by this deadline.
        """
        if self.eager:
            return self._run_inline(inbox_ids)
        done: list[int] = []
        deadline = time.monotonic() + self.batch_seconds
        for start in range(0, len(inbox_ids), PIPELINE):
            if time.monotonic() > deadline:  # a slow broker: the relay publishes the rest later
                log.warning("publish.slow", published=len(done), left=len(inbox_ids) - len(done))
                break
            chunk = list(inbox_ids[start:start + PIPELINE])
            try:
                self._send(chunk)
            except Exception as error:  # noqa: BLE001 - any broker failure: leave the rest to the relay
                self._failed(error)
                break
            done += chunk
        return done

    def _send(self, inbox_ids: list[int]) -> None:
        """``handle_webhooks`` messages for the ids, written to the broker in one pipelined round trip."""
        from workers.tasks import handle_webhooks

        producer = self._producer()
        messages = _per_message(inbox_ids)
        with producer.batch(max_size=len(messages)):
            for ids in messages:
                # declare=[]: the queue was declared once with the producer, not again per message
                handle_webhooks.apply_async(args=(ids,), producer=producer, retry=False, declare=[])

    def _run_inline(self, inbox_ids: Sequence[int]) -> list[int]:
        """Embedded broker: ``handle_webhooks`` runs here (it marks the rows handled itself)."""
        from workers.tasks import handle_webhooks

        for ids in _per_message(inbox_ids):
            try:
                handle_webhooks.delay(ids)
            except Exception:  # an ordersync bug: log it, do not loop on it
                log.exception("publish.inline_failed", inbox_ids=ids)
        return list(inbox_ids)

    def realtime_backlog(self) -> int:
        """Messages waiting in the realtime queue (0 for the embedded broker, or when it cannot be read)."""
        if self.eager:
            return 0
        from workers.app import queue_for

        try:
            with redis.Redis.from_url(self.broker_url, socket_timeout=self.timeout,
                                      socket_connect_timeout=self.timeout) as client:
                return int(client.llen(queue_for("realtime")))
        except Exception:  # noqa: BLE001 - unreadable: treat as idle, so lost events are re-driven
            return 0

    def _producer(self) -> Any:
        """This thread's producer on its own broker connection (short timeouts, no retries)."""
        producer = getattr(self._local, "producer", None)
        if producer is None:
            from workers.app import app, queue_for

            options = {"socket_connect_timeout": self.timeout, "socket_timeout": self.timeout,
                       "retry_on_timeout": False, "max_retries": 0}
            connection = app.connection_for_write(self.broker_url, connect_timeout=self.timeout,
                                                  transport_options=options)
            self._local.connection = connection
            producer = app.amqp.Producer(connection, auto_declare=False)
            producer.maybe_declare(app.amqp.queues[queue_for("realtime")])
            self._local.producer = producer
        return producer

    def _failed(self, error: Exception) -> None:
        connection = getattr(self._local, "connection", None)
        self._local.connection = self._local.producer = None
        if connection is not None:
            with contextlib.suppress(Exception):  # the connection is broken already
                connection.release()
        self._down_until = time.monotonic() + self.cooldown
        log.warning("publish.failed", broker=redact_url(self.broker_url), error=f"{type(error).__name__}: {error}")


def _per_message(inbox_ids: Sequence[int]) -> list[list[int]]:
    """The ids split into the lists that go in one message each."""
    return [list(inbox_ids[start:start + EVENTS_PER_MESSAGE])
            for start in range(0, len(inbox_ids), EVENTS_PER_MESSAGE)]


_publishers: dict[str, Publisher] = {}
_publishers_lock = threading.Lock()


def publisher_for(settings: ProcessSettings) -> Publisher:
    """This process's publisher for ``settings``' broker (one per broker URL)."""
    with _publishers_lock:
        found = _publishers.get(settings.broker_url)
        if found is None:
            found = _publishers[settings.broker_url] = Publisher(settings)
        return found


def publish_and_mark(store: Store, publisher: Publisher, inbox_ids: Sequence[int]) -> list[int]:
    """Publish fresh inbox events and mark those that reached the broker ``enqueued``; returns them.

    What is not published stays ``received``: :func:`relay_once` takes it after the grace period.
    """
    published = publisher.publish(inbox_ids)
    store.mark_published(published)
    return published


def relay_once(store: Store, publisher: Publisher, *, grace: float, redrive_after: float | None = None,
               busy: bool | None = None, now: datetime | None = None, limit: int = RELAY_BATCH) -> int:
    """Publish every overdue inbox event once; returns how many were published.

    Overdue: still ``received`` ``grace`` seconds after it was stored, or published and never
    handled ``redrive_after`` seconds (default: :data:`REDRIVE_FACTOR` grace periods) after its last
    publish — :data:`BUSY_FACTOR` times that while the realtime queue holds messages (``busy``;
    ``None``: ask the broker). Each batch is claimed first, so a concurrent relay (another process,
    the beat task, the watchdog) skips it; what fails to publish is released for the next round.
    """
    if redrive_after is None:
        redrive_after = REDRIVE_FACTOR * grace
    now = now or utcnow()
    if busy is None:
        busy = publisher.realtime_backlog() > 0
    received_before = now - timedelta(seconds=grace)
    published_before = now - timedelta(seconds=redrive_after * (BUSY_FACTOR if busy else 1))
    total = 0
    while True:
        claims = store.claim_overdue_inbox(received_before, published_before, limit, now=now)
        published: set[int] = set()
        try:
            if claims:
                published = set(publisher.publish([claim.id for claim in claims]))
        finally:  # what did not reach the broker is overdue again at once (not a grace period later)
            store.release_claims([claim for claim in claims if claim.id not in published], now)
        total += len(published)
        if len(claims) < limit or len(published) < len(claims):
            break
    if total:
        log.info("relay.published", events=total)
    return total


class Relay(threading.Thread):
    """The relay loop of ``ordersync serve``: :func:`relay_once` every ``interval`` seconds."""

    def __init__(self, store: Store, publisher: Publisher, *, grace: float, interval: float) -> None:
        super().__init__(name="ordersync-relay", daemon=True)
        self.store = store
        self.publisher = publisher
        self.grace = grace
        self.interval = interval
        self.stopped = threading.Event()

    def run(self) -> None:
        """Relay until :meth:`stop`; a failing database or broker costs one log line per round."""
        while not self.stopped.wait(self.interval):
            try:
                relay_once(self.store, self.publisher, grace=self.grace)
            except Exception as error:  # noqa: BLE001 - keep relaying; the next round retries
                log.warning("relay.failed", error=f"{type(error).__name__}: {error}")

    def stop(self) -> None:
        """End the loop (at server shutdown)."""
        self.stopped.set()

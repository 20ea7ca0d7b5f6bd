"""Grouping concurrent webhook deliveries into one transaction, off the event loop.

Every delivery must be committed before its ``202``; committing each one alone costs a
transaction (and a WAL flush) per request and a thread-pool hop per request. The
:class:`DeliveryWriter` collects the deliveries of one event-loop iteration on the loop itself and
hands them to its threads in one go; a thread takes every delivery waiting at that moment and
stores them with :meth:`sync.store.Store.add_deliveries` in one transaction: under load a batch
holds many deliveries, when idle it holds one, so latency stays one transaction. After the commit
the thread hands the batch's events to ``after_commit`` (the publisher) in one call, then answers
the requests. If a batch fails, each of its deliveries is retried in a transaction of its own, so
one bad delivery fails only its own request.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable, Sequence
from typing import Any

import structlog

from sync.store import DeliveryOutcome, NewDelivery, Store

__all__ = ["DeliveryWriter"]

log = structlog.get_logger("ordersync.writer")
_Item = tuple[NewDelivery, asyncio.AbstractEventLoop, "asyncio.Future[DeliveryOutcome]"]


class DeliveryWriter:
    """Stores deliveries for the intake, batching those that arrive together.

    ``after_commit`` gets the ids of every event of a committed batch still to publish (new
    events, and redelivered ones that never reached the broker); it must not block. It returns
    ``False`` when it left them to the relay.
    """

    def __init__(self, store: Store, *, threads: int = 4, max_batch: int = 100,
                 after_commit: Callable[[Sequence[int]], bool] | None = None) -> None:
        self.store = store
        self.max_batch = max_batch
        self.after_commit = after_commit
        self._queue: queue.Queue[list[_Item] | None] = queue.Queue()
        self._collected: dict[asyncio.AbstractEventLoop, list[_Item]] = {}
        self._threads = [threading.Thread(target=self._loop, name=f"ordersync-writer-{n}", daemon=True)
                         for n in range(threads)]
        for thread in self._threads:
            thread.start()

    async def write(self, delivery: NewDelivery) -> DeliveryOutcome:
        """Store ``delivery``; returns once it is committed (raises what storing it raised)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[DeliveryOutcome] = loop.create_future()
        collected = self._collected.get(loop)
        if collected is None:  # the first of this loop iteration: hand them all over once it ends
            collected = self._collected[loop] = []
            loop.call_soon(self._hand_over, loop)
        collected.append((delivery, loop, future))
        return await future

    def _hand_over(self, loop: asyncio.AbstractEventLoop) -> None:
        self._queue.put(self._collected.pop(loop))

    def close(self) -> None:
        """Let the threads finish what is queued, then end."""
        for _ in self._threads:
            self._queue.put(None)

    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = first
            while len(batch) < self.max_batch:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._queue.put(None)  # leave the stop marker for this thread's next round
                    break
                batch += more
            self._store(batch)

    def _store(self, batch: list[_Item]) -> None:
        try:
            outcomes = self.store.add_deliveries([delivery for delivery, _, _ in batch])
        except Exception as error:  # noqa: BLE001 - retried one by one below
            if len(batch) > 1:
                log.info("writer.batch_failed", deliveries=len(batch), error=type(error).__name__)
                for item in batch:
                    self._store([item])
                return
            _settle(batch, [error])
            return
        self._publish([event for outcome in outcomes for event in outcome.unpublished])
        _settle(batch, outcomes)

    def _publish(self, inbox_ids: list[int]) -> None:
        if not inbox_ids or self.after_commit is None:
            return
        try:
            handed = self.after_commit(inbox_ids)
        except Exception as error:  # noqa: BLE001 - the events are stored: the relay publishes them
            log.warning("webhook.publish_failed", events=len(inbox_ids), error=f"{type(error).__name__}: {error}")
            return
        if not handed:
            log.info("webhook.publish_deferred", events=len(inbox_ids))


def _settle(batch: list[_Item], results: Sequence[DeliveryOutcome | BaseException]) -> None:
    """Answer a batch's requests: one wake-up of each event loop for the whole batch."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[DeliveryOutcome], Any]]] = {}
    for (_, loop, future), result in zip(batch, results, strict=True):
        by_loop.setdefault(loop, []).append((future, result))
    for loop, answers in by_loop.items():
        with contextlib.suppress(RuntimeError):  # a closed loop (shutdown): nobody waits for the answer
            loop.call_soon_threadsafe(_apply, answers)


def _apply(answers: list[tuple[asyncio.Future[DeliveryOutcome], Any]]) -> None:
    for future, result in answers:
        if future.done():  # the client went away meanwhile; the delivery is stored all the same
            continue
        if isinstance(result, BaseException):
            future.set_exception(result)
        else:
            future.set_result(result)

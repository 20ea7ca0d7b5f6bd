"""The intake's delivery writer: deliveries that arrive together share one transaction and one publish.

A real SQLite store underneath, wrapped to count the transactions; the publisher is a recording
``after_commit``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from sync.models import utcnow
from sync.store import DeliveryOutcome, InboxEntry, NewDelivery, Store
from workers.writer import DeliveryWriter


class CountingStore(Store):
    """Records the size of every batch; refuses batches that hold a delivery of store ``bad``."""

    def __init__(self, url: str) -> None:
        super().__init__(url, auto_migrate=True)
        self.batches: list[int] = []

    def add_deliveries(self, deliveries: Sequence[NewDelivery]) -> list[DeliveryOutcome]:
        self.batches.append(len(deliveries))
        if any(d.store == "bad" for d in deliveries):
            raise ValueError("store bad is refused")
        return super().add_deliveries(deliveries)


def _delivery(key: str, store: str = "ro") -> NewDelivery:
    return NewDelivery(store, "{}", (InboxEntry(key, "order.updated", "1"),))


def _recorder(handed: list[list[int]]) -> Callable[[Sequence[int]], bool]:
    def publish(ids: Sequence[int]) -> bool:
        handed.append(list(ids))
        return True

    return publish


@pytest.fixture
def state(tmp_path: Path) -> CountingStore:
    return CountingStore(f"sqlite:///{tmp_path / 'state.db'}")


async def _write_all(writer: DeliveryWriter, deliveries: list[NewDelivery]) -> list[DeliveryOutcome | BaseException]:
    return await asyncio.gather(*(writer.write(d) for d in deliveries), return_exceptions=True)


def test_deliveries_of_one_loop_iteration_share_a_transaction_and_a_publish(state: CountingStore) -> None:
    """Twenty concurrent requests: one transaction, one hand-over to the publisher, every answer its own."""
    handed: list[list[int]] = []
    writer = DeliveryWriter(state, threads=1, after_commit=_recorder(handed))
    try:
        outcomes = asyncio.run(_write_all(writer, [_delivery(f"k{i}") for i in range(20)]))
    finally:
        writer.close()
    assert state.batches == [20]
    assert all(isinstance(o, DeliveryOutcome) and len(o.accepted) == 1 for o in outcomes)
    assert len(handed) == 1
    assert sorted(handed[0]) == sorted(o.accepted[0] for o in outcomes if isinstance(o, DeliveryOutcome))


def test_a_bad_delivery_fails_only_its_own_request(state: CountingStore) -> None:
    """The batch fails; each delivery is retried alone: only the bad one's request gets the error."""
    handed: list[list[int]] = []
    writer = DeliveryWriter(state, threads=1, after_commit=_recorder(handed))
    try:
        outcomes = asyncio.run(_write_all(writer, [_delivery("a"), _delivery("b", store="bad"), _delivery("c")]))
    finally:
        writer.close()
    assert state.batches == [3, 1, 1, 1]
    assert isinstance(outcomes[1], ValueError)
    assert [len(o.accepted) for o in (outcomes[0], outcomes[2]) if isinstance(o, DeliveryOutcome)] == [1, 1]
    assert len(handed) == 2  # each good delivery, published after its own commit


def test_a_publisher_that_fails_or_declines_never_fails_the_request(state: CountingStore) -> None:
    """The events are committed: what the publisher does not take, the relay publishes later."""

    def broken(ids: Sequence[int]) -> bool:
        raise RuntimeError("publisher gone")

    for after_commit in (broken, lambda ids: False):
        writer = DeliveryWriter(state, threads=1, after_commit=after_commit)
        try:
            [outcome] = asyncio.run(_write_all(writer, [_delivery(f"p-{id(after_commit)}")]))
        finally:
            writer.close()
        assert isinstance(outcome, DeliveryOutcome)
        assert outcome.unpublished == outcome.accepted
    assert len(state.unpublished_inbox(utcnow())) == 2

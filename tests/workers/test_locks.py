"""Per-order locks: exclusive, released only by their owner, extendable, expiring when the owner dies."""

from __future__ import annotations

import multiprocessing
import os
import socket
import threading
import time
from typing import Any

import fakeredis
import pytest
import redis
import structlog

from connectors.errors import OrderSyncError, Transient
from tests.workers.conftest import FakeClock
from workers import locks as locks_module
from workers.locks import LockBusy, LockInfo, LockLost, Locks
from workers.redis_client import redis_from_url

ORDER = "order:us:ordersync:ro:1001"
HERE = f"{socket.gethostname()}:{os.getpid()}"


@pytest.fixture
def locks(fake_redis: redis.Redis, fake_clock: FakeClock) -> Locks:
    return Locks(fake_redis, clock=fake_clock.monotonic, sleep=fake_clock.sleep)


def test_a_held_lock_is_exclusive_and_busy_says_when_to_retry(locks: Locks, fake_redis: redis.Redis) -> None:
    held = locks.acquire(ORDER, 30.0)
    assert fake_redis.get(f"ordersync:lock:{ORDER}") == held.token.encode()
    assert fake_redis.pttl(f"ordersync:lock:{ORDER}") == 30_000
    with pytest.raises(LockBusy) as caught:
        locks.acquire(ORDER, 30.0)
    busy = caught.value
    assert (busy.name, busy.retry_after, busy.expires_in, busy.holder) == (ORDER, 1.0, 30.0, HERE)
    assert busy.disposition == "retriable"
    assert isinstance(busy, OrderSyncError)
    assert ORDER in str(busy)
    assert held.token.rsplit(":", 1)[1] not in str(busy)  # the proof of ownership is not shown


def test_busy_retry_is_never_later_than_the_holders_expiry(locks: Locks, fake_clock: FakeClock) -> None:
    locks.acquire(ORDER, 0.5)
    with pytest.raises(LockBusy) as caught:
        locks.acquire(ORDER, 10.0)
    assert caught.value.retry_after == 0.5
    fake_clock.advance(0.49)
    with pytest.raises(LockBusy) as caught:
        locks.acquire(ORDER, 10.0)
    assert caught.value.retry_after == 0.05  # floor: never a zero countdown


def test_tokens_are_unique_per_holding(locks: Locks) -> None:
    first = locks.acquire(ORDER, 1.0)
    first.release()
    second = locks.acquire(ORDER, 1.0)
    assert first.token != second.token
    assert first.token.startswith(f"{HERE}:")


def test_only_the_owner_releases(locks: Locks, fake_clock: FakeClock) -> None:
    first = locks.acquire(ORDER, 1.0)
    fake_clock.advance(1.5)  # first holder stalled past its TTL
    second = locks.acquire(ORDER, 10.0)
    assert first.release() is False  # would have freed the second holder's lock with a plain DEL
    assert second.owned()
    info = locks.holder(ORDER)
    assert info == LockInfo(name=ORDER, holder=HERE, expires_in=10.0)
    assert second.release() is True
    assert locks.holder(ORDER) is None
    assert second.release() is False  # releasing twice is harmless


def test_extend_keeps_a_long_reconcile_covered(locks: Locks, fake_clock: FakeClock, fake_redis: redis.Redis) -> None:
    held = locks.acquire(ORDER, 1.0)
    fake_clock.advance(0.8)
    held.extend()
    assert fake_redis.pttl(held.key) == 1000
    fake_clock.advance(0.8)
    held.extend(5.0)
    assert fake_redis.pttl(held.key) == 5000
    fake_clock.advance(4.9)
    assert held.owned()


def test_extend_after_expiry_raises_and_never_touches_the_new_holder(
    locks: Locks, fake_clock: FakeClock, fake_redis: redis.Redis
) -> None:
    first = locks.acquire(ORDER, 1.0)
    fake_clock.advance(1.01)
    with pytest.raises(LockLost):
        first.extend()  # expired, nobody holds it: still lost, we do not silently re-take it
    second = locks.acquire(ORDER, 2.0)
    with pytest.raises(LockLost) as caught:
        first.extend(60.0)
    assert caught.value.disposition == "retriable"
    assert fake_redis.pttl(second.key) == 2000
    second.release()
    with pytest.raises(LockLost):
        second.extend()


def test_a_dead_holders_lock_expires_after_its_ttl(locks: Locks, fake_clock: FakeClock) -> None:
    locks.acquire(ORDER, 5.0)  # the worker dies without releasing
    fake_clock.advance(4.99)
    with pytest.raises(LockBusy):
        locks.acquire(ORDER, 5.0)
    fake_clock.advance(0.02)
    assert locks.acquire(ORDER, 5.0).owned()


def test_wait_polls_until_the_lock_frees(locks: Locks, fake_clock: FakeClock) -> None:
    locks.acquire(ORDER, 1.0)
    started = fake_clock.now
    held = locks.acquire(ORDER, 5.0, wait=3.0)
    assert held.owned()
    assert 1.0 <= fake_clock.now - started <= 1.3
    assert max(fake_clock.sleeps) <= 0.25


def test_wait_ends_with_busy(locks: Locks, fake_clock: FakeClock) -> None:
    locks.acquire(ORDER, 60.0)
    started = fake_clock.now
    with pytest.raises(LockBusy):
        locks.acquire(ORDER, 5.0, wait=2.0)
    assert fake_clock.now - started == pytest.approx(2.0)


def test_a_release_by_another_worker_is_noticed_while_waiting(
    fake_redis: redis.Redis, fake_clock: FakeClock
) -> None:
    holder = Locks(fake_redis).acquire(ORDER, 60.0)

    def sleep(seconds: float) -> None:
        fake_clock.sleep(seconds)
        if len(fake_clock.sleeps) == 3:
            holder.release()

    waiter = Locks(fake_redis, clock=fake_clock.monotonic, sleep=sleep)
    assert waiter.acquire(ORDER, 5.0, wait=10.0).owned()
    assert len(fake_clock.sleeps) == 3


def test_hold_releases_on_success_and_on_error(locks: Locks) -> None:
    with locks.hold(ORDER, 10.0) as held:
        assert held.owned()
    assert locks.holder(ORDER) is None
    with pytest.raises(RuntimeError, match="boom"), locks.hold(ORDER, 10.0):
        raise RuntimeError("boom")
    assert locks.holder(ORDER) is None


def test_hold_raises_busy_without_running_the_block(locks: Locks) -> None:
    ran = []
    with locks.hold(ORDER, 10.0), pytest.raises(LockBusy), locks.hold(ORDER, 10.0):
        ran.append(True)
    assert ran == []


def test_hold_warns_when_the_lock_expired_during_the_block(locks: Locks, fake_clock: FakeClock) -> None:
    with structlog.testing.capture_logs() as logs, locks.hold(ORDER, 1.0):
        fake_clock.advance(2.0)
        other = locks.acquire(ORDER, 10.0)
    assert [entry["event"] for entry in logs] == ["lock_expired_while_held"]
    assert other.owned()  # the expired holder did not free it


def test_hold_survives_redis_going_away_at_release() -> None:
    server = fakeredis.FakeServer()
    locks = Locks(fakeredis.FakeRedis(server=server))

    def guarded_work() -> None:
        with locks.hold(ORDER, 1.0):
            server.connected = False
            raise ValueError("body")

    with structlog.testing.capture_logs() as logs, pytest.raises(ValueError, match="body"):
        guarded_work()  # the body's own error is what surfaces, not the failed release
    assert [entry["event"] for entry in logs] == ["lock_release_failed"]


def test_redis_down_is_transient() -> None:
    server = fakeredis.FakeServer()
    server.connected = False
    with pytest.raises(Transient):
        Locks(fakeredis.FakeRedis(server=server)).acquire(ORDER, 1.0)


@pytest.mark.parametrize("ttl", [0.0, -1.0, float("inf"), float("nan")])
def test_impossible_ttls_are_refused(locks: Locks, ttl: float) -> None:
    with pytest.raises(ValueError, match="ttl"):
        locks.acquire(ORDER, ttl)


def test_lock_busy_without_a_ttl_on_the_key(locks: Locks, fake_redis: redis.Redis) -> None:
    fake_redis.set(f"ordersync:lock:{ORDER}", "someone")  # a foreign writer, no TTL
    with pytest.raises(LockBusy) as caught:
        locks.acquire(ORDER, 1.0)
    assert (caught.value.expires_in, caught.value.retry_after, caught.value.holder) == (None, 1.0, "someone")
    assert locks.holder(ORDER) == LockInfo(name=ORDER, holder="someone", expires_in=None)


def test_threads_on_the_embedded_store_are_exclusive() -> None:
    locks = Locks(redis_from_url(None), prefix=f"ordersync-test:{os.getpid()}:{id(object())}:lock:")
    inside = 0
    overlaps = 0
    entered = 0

    def work() -> None:
        nonlocal inside, overlaps, entered
        for _ in range(20):
            with locks.hold(ORDER, 5.0, wait=5.0):
                inside += 1
                overlaps += inside > 1
                entered += 1
                time.sleep(0.0005)
                inside -= 1

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert (entered, overlaps) == (80, 0)


def test_public_names_are_exported() -> None:
    assert all(hasattr(locks_module, name) for name in locks_module.__all__)


# --- the real Redis -------------------------------------------------------------------------------


def _contend(url: str, prefix: str, rounds: int, barrier: Any, results: Any) -> None:
    """A worker process: enter the lock ``rounds`` times, doing a racy read-modify-write inside."""
    client = redis.Redis.from_url(url)
    locks = Locks(client, prefix=prefix + "lock:")
    counter = prefix + "counter"
    inside = prefix + "inside"
    overlaps = busy = 0
    barrier.wait()
    done = 0
    while done < rounds:
        try:
            with locks.hold(ORDER, 5.0, wait=0.05):
                overlaps += int(client.incr(inside)) > 1
                value = int(client.get(counter) or 0)
                time.sleep(0.001)
                client.set(counter, value + 1)  # lost updates would show without exclusivity
                client.decr(inside)
                done += 1
        except LockBusy:
            busy += 1
    results.put((overlaps, busy))
    client.close()


@pytest.mark.redis
def test_processes_take_turns(redis_url: str, real_redis: redis.Redis, redis_prefix: str) -> None:
    processes, rounds = 4, 25
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(processes)
    results = ctx.Queue()
    workers = [ctx.Process(target=_contend, args=(redis_url, redis_prefix, rounds, barrier, results))
               for _ in range(processes)]
    started = time.monotonic()
    for worker in workers:
        worker.start()
    out = [results.get(timeout=30) for _ in workers]
    for worker in workers:
        worker.join(timeout=10)
        assert worker.exitcode == 0
    print(f"\n{processes} processes x {rounds} turns in {time.monotonic() - started:.2f} s, "
          f"{sum(b for _, b in out)} LockBusy retries, {sum(o for o, _ in out)} overlaps")
    assert sum(o for o, _ in out) == 0
    assert int(real_redis.get(redis_prefix + "counter") or 0) == processes * rounds
    assert real_redis.get(redis_prefix + "lock:" + ORDER) is None  # all released


@pytest.mark.redis
def test_real_redis_expiry_and_owner_only_release(real_redis: redis.Redis, redis_prefix: str) -> None:
    locks = Locks(real_redis, prefix=redis_prefix + "lock:")
    first = locks.acquire(ORDER, 0.05)
    with pytest.raises(LockBusy) as caught:
        locks.acquire(ORDER, 5.0)
    assert 0 < (caught.value.expires_in or 0) <= 0.05
    time.sleep(0.08)
    second = locks.acquire(ORDER, 5.0)
    assert not first.release()
    with pytest.raises(LockLost):
        first.extend()
    assert second.owned()
    second.extend(10.0)
    assert 9_000 < real_redis.pttl(second.key) <= 10_000
    assert second.release()

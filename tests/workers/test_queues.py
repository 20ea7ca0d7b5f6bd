"""Webhooks and small polls ride a realtime queue that workers always read before the backfill queue."""

from __future__ import annotations

import pytest
from kombu.connection import Connection
from kombu.entity import Exchange, Queue
from kombu.message import Message
from kombu.messaging import Consumer, Producer

from sync.config import ProcessSettings
from workers.app import BACKFILL_QUEUE, QUEUE, QUEUES, VISIBILITY_TIMEOUT, beat_schedule, celery_conf, queue_for


def _drain(redis_url: str, prefix: str, strategy: str | None) -> list[str]:
    """Publish 5 backfill then 5 realtime messages; consume them as a worker does (queues in QUEUES order)."""
    options = dict(celery_conf(ProcessSettings(broker_url=redis_url))["broker_transport_options"])
    if strategy is not None:
        options["queue_order_strategy"] = strategy
    exchange = Exchange(f"{prefix}x", type="direct")
    queues = [Queue(f"{prefix}{name}", exchange, routing_key=f"{prefix}{name}") for name in QUEUES]
    received: list[str] = []
    with Connection(redis_url, transport_options=options) as conn:
        channel = conn.default_channel
        bound = [queue(channel) for queue in queues]
        for queue in bound:
            queue.declare()
        producer = Producer(channel, exchange=exchange)
        for name, lane in ((BACKFILL_QUEUE, "backfill"), (QUEUE, "realtime")):
            for i in range(5):
                producer.publish({"lane": lane, "i": i}, routing_key=f"{prefix}{name}")

        def take(body: dict[str, object], message: Message) -> None:
            received.append(str(body["lane"]))
            message.ack()

        try:
            with Consumer(channel, queues=bound, callbacks=[take], prefetch_count=1):
                while len(received) < 10:
                    conn.drain_events(timeout=5)
        finally:
            for queue in bound:
                queue.delete()
    return received


@pytest.mark.redis
def test_the_realtime_queue_is_consumed_before_the_backfill(redis_url: str, redis_prefix: str) -> None:
    """With the app's transport options every realtime message is taken before any backfill one."""
    assert _drain(redis_url, redis_prefix, None) == ["realtime"] * 5 + ["backfill"] * 5


@pytest.mark.redis
def test_without_priority_order_the_backfill_would_interleave(redis_url: str, redis_prefix: str) -> None:
    """Control: kombu's default round-robin mixes the queues, which is what the setting prevents."""
    assert _drain(redis_url, redis_prefix, "round_robin") != ["realtime"] * 5 + ["backfill"] * 5


def test_lanes_timeouts_and_the_watchdog_schedule() -> None:
    """Lanes map to queues, the visibility timeout is minutes, the watchdog is on beat's schedule."""
    assert QUEUES == (QUEUE, BACKFILL_QUEUE)
    assert (queue_for("realtime"), queue_for("backfill")) == (QUEUE, BACKFILL_QUEUE)
    assert 60 <= VISIBILITY_TIMEOUT <= 900
    conf = celery_conf(ProcessSettings(broker_url="redis://127.0.0.1:1/0"))
    assert conf["broker_transport_options"]["queue_order_strategy"] == "priority"
    assert conf["task_routes"]["ordersync.reconcile_all"] == {"queue": BACKFILL_QUEUE}
    from sync.config import OrderSyncConfig

    config = OrderSyncConfig.model_validate({"stores": {}, "routes": []})
    assert beat_schedule(config)["watchdog"]["task"] == "ordersync.watchdog"

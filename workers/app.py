"""The Celery application: broker, redelivery safety and the beat schedule.

Run a worker with ``ordersync worker`` (or ``celery -A workers.app worker``) and the scheduler
with ``ordersync beat``. Settings come from ``ordersync.toml`` ``[settings]`` and ``ORDERSYNC_*``.

Redelivery safety (see ``../shared/docs/anchors.md`` §4.1):

- ``task_acks_late``: a task is acknowledged after it ran, so a crash mid-task redelivers it;
  every task is idempotent by construction (state-based reconcile + idempotency keys).
- ``task_reject_on_worker_lost``: a killed worker child requeues its task at once; a poison
  message that keeps killing workers is cut off by a per-task delivery counter in Redis.
- The Redis ``visibility_timeout`` (default 5 min) is how long a SIGKILLed worker's unacknowledged
  task waits before it is redelivered; it stays above any countdown we use (:data:`MAX_COUNTDOWN`
  = 2 min) and every task is short (a backfill is split into one task per order), so nothing is
  redelivered "again and again in a loop". Later re-checks are the beat schedule's job, and work a
  broker lost is re-driven from the state store by the watchdog (:mod:`workers.watchdog`).
- Two queues: :data:`QUEUE` (webhooks, incremental polls and their reconciles, the watchdog) ahead
  of :data:`BACKFILL_QUEUE` (full polls, sweeps, large batches). A worker consumes both, in that
  order (``queue_order_strategy = "priority"``: the realtime queue is always read first).
- ``worker_prefetch_multiplier = 1``: a worker holds one unacknowledged task at a time.
- Memory broker (``memory://``, the embedded default): tasks run in-process, eagerly — the same
  task code, no Redis needed.
"""

from __future__ import annotations

import os
from typing import Any

from celery import Celery
from celery.schedules import schedule
from celery.signals import worker_process_init

from sync.config import ConfigError, OrderSyncConfig, ProcessSettings, load_config

__all__ = ["BACKFILL_QUEUE", "MAX_COUNTDOWN", "QUEUE", "QUEUES", "WATCHDOG_INTERVAL", "app", "beat_schedule",
           "celery_conf", "configure", "queue_for"]

QUEUE = "ordersync"
BACKFILL_QUEUE = "ordersync.backfill"
QUEUES = (QUEUE, BACKFILL_QUEUE)
MAX_COUNTDOWN = 120.0
VISIBILITY_TIMEOUT = float(os.environ.get("ORDERSYNC_VISIBILITY_TIMEOUT", "300"))
WATCHDOG_INTERVAL = float(os.environ.get("ORDERSYNC_WATCHDOG_INTERVAL", "20"))


def queue_for(lane: str) -> str:
    """The broker queue of a lane: ``realtime`` (webhooks, small polls) or ``backfill``."""
    return BACKFILL_QUEUE if lane == "backfill" else QUEUE


def beat_schedule(config: OrderSyncConfig | None) -> dict[str, dict[str, Any]]:
    """One ``poll`` per store that routes read from (at its fastest route's interval), plus the sweep."""
    if config is None:
        return {}
    intervals: dict[str, float] = {}
    for route in config.routes:
        stores = [route.source, route.target] if route.two_way else [route.source]
        for store in stores:
            intervals[store] = min(intervals.get(store, route.poll_interval), route.poll_interval)
    entries: dict[str, dict[str, Any]] = {
        f"poll-{store}": {"task": "ordersync.poll", "schedule": schedule(max(1.0, seconds)), "args": (store,)}
        for store, seconds in sorted(intervals.items())
    }
    entries["reconcile-all"] = {"task": "ordersync.reconcile_all",
                                "schedule": schedule(config.settings.reconcile_all_interval)}
    # The outbox relay: webhook events the intake could not publish (broker down or hung) go out here.
    entries["relay-inbox"] = {"task": "ordersync.relay",
                              "schedule": schedule(max(5.0, config.settings.relay_interval or 30.0))}
    entries["watchdog"] = {"task": "ordersync.watchdog", "schedule": schedule(WATCHDOG_INTERVAL)}
    return entries


def celery_conf(settings: ProcessSettings, config: OrderSyncConfig | None = None) -> dict[str, Any]:
    """Celery settings for a process."""
    eager = settings.broker_url.startswith("memory")
    transport: dict[str, Any] = {"visibility_timeout": VISIBILITY_TIMEOUT, "queue_order_strategy": "priority"}
    if VISIBILITY_TIMEOUT < 600:  # a short timeout is only useful if abandoned messages are swept as often
        transport.update(unacked_restore_interval=max(1, int(VISIBILITY_TIMEOUT // 2)), unacked_restore_throttle=1)
    return {
        "broker_url": "memory://localhost/" if eager else settings.broker_url,
        "task_always_eager": eager,
        "task_eager_propagates": True,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_default_queue": QUEUE,
        "task_routes": {"ordersync.reconcile_all": {"queue": BACKFILL_QUEUE},
                        "ordersync.sweep_route": {"queue": BACKFILL_QUEUE}},
        "task_ignore_result": True,
        "result_backend": None,
        "broker_transport_options": transport,
        "result_backend_transport_options": transport,
        "visibility_timeout": VISIBILITY_TIMEOUT,
        "task_serializer": "json",
        "accept_content": ["json"],
        "timezone": "UTC",
        "enable_utc": True,
        "broker_connection_retry_on_startup": True,
        "worker_hijack_root_logger": False,
        "worker_send_task_events": False,
        "beat_schedule": beat_schedule(config),
    }


def _initial() -> tuple[ProcessSettings, OrderSyncConfig | None]:
    try:
        config = load_config()
        return config.settings, config
    except ConfigError:
        return ProcessSettings(), None


app = Celery("ordersync", include=["workers.tasks", "workers.watchdog"])


def configure(settings: ProcessSettings, config: OrderSyncConfig | None = None) -> Celery:
    """(Re)configure the shared Celery app, e.g. for the embedded demo or a test worker."""
    app.conf.update(celery_conf(settings, config))
    return app


configure(*_initial())


@worker_process_init.connect
def _after_fork(**_: Any) -> None:
    """Each worker child opens its own database and Redis connections."""
    from workers import context

    context.reset()

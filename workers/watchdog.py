"""The watchdog: re-drives work that is overdue, so nothing waits for the daily sweep.

A broker can lose what it held (a Redis without persistence restarted, a publish that failed, a
worker SIGKILLed mid-task); the state store cannot. Every minute (beat task ``ordersync.watchdog``,
or :func:`run` in-process) the watchdog looks at the store and publishes again:

- **due work** not done after its grace period (:data:`workers.tasks.REDRIVE_AFTER` after it was
  published, :data:`workers.tasks.PUBLISH_GRACE` when it never was);
- **pending creates** older than :data:`PENDING_GRACE` (the create's answer was lost or its worker
  died: the engine looks the order up by its reference before any new create);
- **webhook events** stored in the inbox and never published or never handled: the watchdog runs
  the intake's relay (:func:`workers.relay.relay_once`), the one re-drive path of the inbox, with its
  one grace setting (``relay_grace``) — the same pass the ``serve`` thread and the
  ``ordersync.relay`` beat task run, so an event is re-driven once whichever of them comes first.

While a lane's queue holds messages, work already handed to it is probably waiting its turn:
only that lane's rows that never reached the broker are published then, so a backlog is not
doubled — while a realtime task lost behind a long backfill is still re-driven at once.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from celery import Task

from sync.models import DueWork, utcnow
from sync.store import DueKey, Store
from workers import context
from workers.app import app, queue_for
from workers.locks import LockBusy
from workers.redis_client import redis_from_url

__all__ = ["BATCH", "PENDING_GRACE", "Redriven", "broker_backlog", "format_age", "overdue_report", "redrive_inbox",
           "run", "watchdog"]

log = structlog.get_logger("ordersync.watchdog")
PENDING_GRACE = float(os.environ.get("ORDERSYNC_PENDING_GRACE", "120"))
"""Seconds a binding may stay ``pending`` (create in flight) before the watchdog re-drives it."""
BATCH = 2000
"""Most rows of each kind re-driven per run (the next run takes the rest)."""
LANES = ("realtime", "backfill")


@dataclass
class Redriven:
    """What one watchdog run published again."""

    due: int = 0
    pending: int = 0
    inbox: int = 0
    backlog: int = 0

    def as_dict(self) -> dict[str, Any]:
        """The counts, for logs and the task result."""
        return asdict(self)


def broker_backlog(ctx: context.Context) -> dict[str, int]:
    """Messages waiting per lane (``realtime``, ``backfill``); 0 for the in-process broker or when unreadable."""
    url = ctx.config.settings.broker_url
    empty = dict.fromkeys(LANES, 0)
    if not url.startswith(("redis://", "rediss://", "unix://")):
        return empty
    try:
        client = redis_from_url(url)
        return {lane: int(client.llen(queue_for(lane))) for lane in LANES}
    except Exception:  # noqa: BLE001 - a broker that cannot be read is treated as empty: re-drive
        return empty


def run(ctx: context.Context | None = None, *, now: datetime | None = None) -> Redriven:
    """One watchdog pass over the state store; returns what it published again."""
    from workers.tasks import publish_due

    ctx = ctx or context.current()
    now = now or utcnow()
    backlog = broker_backlog(ctx)
    result = Redriven(backlog=sum(backlog.values()))
    stuck = _arm_stuck_creates(ctx, now)
    result.pending = len(stuck)
    result.inbox = redrive_inbox(ctx, now, busy=backlog["realtime"] > 0)
    rows = [row for lane in LANES
            for row in ctx.store.overdue_work(now, limit=BATCH, unpublished_only=backlog[lane] > 0, lane=lane)]
    result.due = publish_due([*stuck, *rows])
    if result.due or result.pending or result.inbox:
        log.warning("watchdog.redriven", **result.as_dict())
    return result


def _arm_stuck_creates(ctx: context.Context, now: datetime) -> list[DueWork]:
    """Record pending bindings older than the grace as due work (unless they already are); returns the new rows."""
    stuck: list[DueKey] = [(b.route, b.source_store, b.source_id)
                           for b in ctx.store.stale_pending(now - timedelta(seconds=PENDING_GRACE))]
    already = {(r.route, r.store, r.order_id) for r in ctx.store.due_rows(stuck) if r.status == "due"}
    fresh = [key for key in stuck if key not in already]
    return ctx.store.record_due(fresh, reason="pending", lane="realtime") if fresh else []


def redrive_inbox(ctx: context.Context, now: datetime, *, busy: bool = False) -> int:
    """Run the inbox relay (:func:`workers.relay.relay_once`) as of ``now``; returns how many events it published.

    The watchdog owns no inbox logic of its own: the relay decides what is overdue and claims it,
    so a watchdog and a relay running side by side never publish an event twice.
    """
    from workers.relay import publisher_for, relay_once

    settings = ctx.config.settings
    return relay_once(ctx.store, publisher_for(settings), grace=settings.relay_grace, busy=busy, now=now)


@app.task(bind=True, name="ordersync.watchdog", acks_late=True, max_retries=None)
def watchdog(self: Task) -> dict[str, Any]:
    """Beat task (every minute): one :func:`run`, unless another watchdog is running."""
    ctx = context.current()
    try:
        with ctx.engine.locker.hold("watchdog", 300.0):
            return run(ctx).as_dict()
    except LockBusy:
        return {"reason": "another watchdog is running"}


def overdue_report(store: Store, *, now: datetime | None = None, limit: int = 20,
                   relay_grace: float = 30.0) -> dict[str, Any]:
    """Overdue work and stuck items with their age in seconds, for ``ordersync status``.

    ``due_work``: due rows past their re-drive time; ``pending_creates``: bindings ``pending`` past
    :data:`PENDING_GRACE` with their create ledger status (``unknown``/``started``/none);
    ``unpublished_webhooks``: inbox events the relay would publish (again) now — never published
    after ``relay_grace``, or never handled two grace periods after their last publish. Each has a
    ``count`` and its ``items`` (oldest first, at most ``limit``).
    """
    from workers.relay import REDRIVE_FACTOR

    now = now or utcnow()

    def age(since: datetime | None) -> float:
        return round((now - since).total_seconds(), 1) if since else 0.0

    due = store.overdue_work(now, limit=BATCH)
    stuck = store.stuck_creates(now - timedelta(seconds=PENDING_GRACE))
    inbox = store.unpublished_inbox(now - timedelta(seconds=relay_grace),
                                    now - timedelta(seconds=REDRIVE_FACTOR * relay_grace), limit=BATCH)
    return {
        "due_work": {"count": len(due), "items": [
            {"route": r.route, "store": r.store, "order_id": r.order_id, "reason": r.reason, "attempts": r.attempts,
             "age_seconds": age(r.armed_at), "last_error": r.last_error} for r in due[:limit]]},
        "pending_creates": {"count": len(stuck), "items": [
            {"route": b.route, "store": b.source_store, "order_id": b.source_id, "age_seconds": age(b.pending_since),
             "ledger": op.status if op else None} for b, op in stuck[:limit]]},
        "unpublished_webhooks": {"count": len(inbox), "items": [
            {"id": e.id, "store": e.store, "event_key": e.event_key, "topic": e.topic, "order_id": e.order_id,
             "status": e.status, "age_seconds": age(e.received_at)} for e in inbox[:limit]]},
    }


def format_age(seconds: float) -> str:
    """``95`` → ``1m35s``; ``7300`` → ``2h01m``: ages a person reads at a glance."""
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    if whole < 86400:
        return f"{whole // 3600}h{whole % 3600 // 60:02d}m"
    return f"{whole // 86400}d{whole % 86400 // 3600:02d}h"

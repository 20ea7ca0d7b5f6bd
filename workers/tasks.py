"""Celery tasks: ``poll``, ``reconcile``, ``handle_webhooks`` and the ``reconcile_all`` sweep (by list, per route).

Tasks carry identifiers; a ``reconcile`` published from a feed may also carry the order's list row
and when it was read (``snapshot``, ``read_at``), used instead of a read while it is younger than
``snapshot_max_age`` (a retry drops it and reads). Each ``reconcile`` diffs the order's state with
its mirror's (state-based), so a duplicated, late or reordered task is harmless.

Retry policy of ``reconcile``:

- ``RateLimited`` → retry after the platform's wait; does **not** use up an attempt.
- lock held by another worker → retry in ~1 s; does not use up an attempt.
- ``Transient`` / ``OutcomeUnknown`` → exponential backoff with full jitter (capped at
  :data:`~workers.app.MAX_COUNTDOWN`); after ``max_attempts`` the order is parked in the
  attention queue (``retries_exhausted``) — never dropped.
- anything else is parked by the engine (skippable/fatal), or — an unexpected bug — parked as
  ``error`` here, so no task ever loops on it.
- a retry the broker refuses to take (``Reject(OperationalError…)``) is recorded as due work, so
  the watchdog re-drives it: never dropped.

Due work: a poll or a webhook records the orders it found as due-work rows (with the poll cursor,
in one transaction) *before* publishing their reconciles; a reconcile that finished (synced,
unchanged, parked…) marks its row done. A task lost with the broker leaves its row due, and
:mod:`workers.watchdog` publishes it again.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import structlog
from celery import Task
from celery.exceptions import Reject

from connectors.base import OrderChange
from connectors.errors import OrderSyncError, RateLimited, Transient, Unreachable
from connectors.logging import bound
from sync.models import DueWork, utcnow
from sync.store import DueKey
from workers import context
from workers import metrics as _metrics  # noqa: F401 - counts reconciles (task signals) and platform calls
from workers.app import MAX_COUNTDOWN, app, queue_for
from workers.locks import LockBusy, LockLost
from workers.pause import drain_deferred, store_is_paused

__all__ = ["PUBLISH_GRACE", "REDRIVE_AFTER", "SMALL_POLL", "backoff", "drive", "handle_webhook", "handle_webhooks",
           "poll", "publish_due", "reconcile", "reconcile_all", "relay_inbox", "sweep_route"]

log = structlog.get_logger("ordersync.tasks")
MAX_DELIVERIES = 5
SMALL_POLL = 50
"""A poll that found more orders than this sends their reconciles to the backfill queue."""
PUBLISH_GRACE = float(os.environ.get("ORDERSYNC_PUBLISH_GRACE", "30"))
"""Seconds a freshly recorded due row waits for its own publisher before the watchdog takes it."""
REDRIVE_AFTER = float(os.environ.get("ORDERSYNC_REDRIVE_AFTER", "60"))
"""Seconds after a due row's reconcile was published before the watchdog publishes it again."""


def backoff(attempt: int, base: float = 2.0, cap: float = MAX_COUNTDOWN) -> float:
    """Exponential backoff with full jitter: uniform(0.5, 1) * min(cap, base * 2^(attempt-1))."""
    ceiling = min(cap, base * (2 ** max(0, attempt - 1)))
    return float(round(ceiling * random.uniform(0.5, 1.0), 3))


def _retry(task: Task, countdown: float, **kwargs: Any) -> Any:
    """Retry later: a new broker message with a countdown, or — in-process — wait and run again."""
    countdown = min(MAX_COUNTDOWN, max(0.0, countdown))
    if task.request.is_eager:
        time.sleep(min(countdown, 30.0))
        return task.run(**kwargs)
    key = _due_key(kwargs)
    ctx = context.current()
    if key is not None:  # keep the watchdog off this order while its retry waits out the countdown
        ctx.store.defer_due(key, utcnow() + timedelta(seconds=countdown + REDRIVE_AFTER))
    try:
        return task.retry(countdown=countdown, kwargs=kwargs, max_retries=None)
    except Reject as rejected:
        if key is None:
            raise
        return _record_unpublished_retry(ctx, key, countdown, rejected)


def _due_key(kwargs: dict[str, Any]) -> DueKey | None:
    """The due-work key of a reconcile's arguments (``None`` for other tasks)."""
    if {"route", "store", "order_id"} <= kwargs.keys():
        return (str(kwargs["route"]), str(kwargs["store"]), str(kwargs["order_id"]))
    return None


def _record_unpublished_retry(ctx: context.Context, key: DueKey, countdown: float,
                              rejected: Reject) -> dict[str, Any]:
    """The broker refused the retry message: record the order as due work instead of dropping it."""
    reason = f"retry could not be published: {rejected.reason!r}"
    try:
        ctx.store.record_due([key], reason="retry", delay=countdown)
        ctx.store.defer_due(key, utcnow() + timedelta(seconds=countdown), error=reason)
    except Exception:
        log.exception("reconcile.retry_lost", reason=reason)
        raise rejected from None
    log.warning("reconcile.retry_recorded", reason=reason)
    return {"outcome": "deferred", "reason": reason}


def _poisoned(task: Task) -> bool:
    """True when this exact delivery keeps coming back (a task that kills its worker)."""
    if task.request.is_eager or not task.request.id:
        return False
    key = f"ordersync:deliveries:{task.request.id}:{task.request.retries}"
    client = context.current().redis
    count = int(client.incr(key))
    client.expire(key, 86400)
    return count > MAX_DELIVERIES


@app.task(bind=True, name="ordersync.reconcile", acks_late=True, max_retries=None)
def reconcile(self: Task, route: str, store: str, order_id: str, attempt: int = 1,
              deep: bool = False, snapshot: dict[str, Any] | None = None,
              read_at: str | None = None) -> dict[str, Any]:
    """Reconcile one order on one route (see :class:`sync.engine.Engine`); a finished one closes its due work.

    ``deep`` checks the target even when the source is unchanged (the sweep repairs a target changed
    behind our back). ``snapshot``/``read_at`` (ISO 8601) are the order's list row and when it was
    read: the engine uses it instead of reading the order while it is fresh. A retry never carries
    it (after a failure, or an unknown outcome, the order is read again)."""
    started = utcnow()
    outcome = _reconcile(self, route, store, order_id, attempt, deep, _snapshot(snapshot, read_at))
    if outcome.get("outcome") != "deferred":
        context.current().store.finish_due((route, store, order_id), started)
    return outcome


def _snapshot(snapshot: dict[str, Any] | None, read_at: str | None) -> tuple[dict[str, Any] | None, datetime | None]:
    """The task's snapshot arguments, parsed; an unreadable time drops the snapshot (the order is read)."""
    if snapshot is None or not read_at:
        return None, None
    try:
        when = datetime.fromisoformat(read_at)
    except ValueError:
        return None, None
    return (snapshot, when) if when.tzinfo is not None else (None, None)


def _reconcile(self: Task, route: str, store: str, order_id: str, attempt: int, deep: bool,
               snapshot: tuple[dict[str, Any] | None, datetime | None] = (None, None)) -> dict[str, Any]:
    """The body of :func:`reconcile`: returns its outcome, or raises ``Retry``."""
    ctx = context.current()
    with bound(route=route, store=store, order_id=order_id, attempt=attempt, task_id=self.request.id):
        if ctx.store.is_paused(route):  # the route's pause switch: keep the work for the resume
            ctx.store.defer_work(route, store, order_id)
            return {"outcome": "paused", "reason": f"route {route} is paused"}
        if _poisoned(self):
            ctx.engine.park_exhausted(route, store, order_id, RuntimeError("the task kept crashing its worker"),
                                      attempt)
            return {"outcome": "parked", "reason": "poison message"}
        try:
            result = ctx.engine.reconcile(route, store, order_id, deep=deep, snapshot=snapshot[0],
                                          read_at=snapshot[1])
        except RateLimited as error:
            log.info("reconcile.rate_limited", retry_after=error.retry_after)
            return _retry(self, error.retry_after + random.uniform(0, 1), route=route, store=store,  # type: ignore[no-any-return]
                          order_id=order_id, attempt=attempt, deep=deep)
        except LockBusy as error:
            return _retry(self, min(error.retry_after, 2.0) + random.uniform(0, 0.5), route=route,  # type: ignore[no-any-return]
                          store=store, order_id=order_id, attempt=attempt, deep=deep)
        except LockLost:
            return _retry(self, random.uniform(0.5, 1.5), route=route, store=store,  # type: ignore[no-any-return]
                          order_id=order_id, attempt=attempt, deep=deep)
        except Transient as error:
            if isinstance(error, Unreachable) and self.request.is_eager:
                raise  # `ordersync sync` stops that store at once (its circuit breaker) instead of retrying
            if attempt >= ctx.config.settings.max_attempts:
                ctx.engine.park_exhausted(route, store, order_id, error, attempt)
                return {"outcome": "parked", "reason": str(error)}
            log.warning("reconcile.retry", reason=str(error), error=type(error).__name__)
            return _retry(self, backoff(attempt), route=route, store=store, order_id=order_id,  # type: ignore[no-any-return]
                          attempt=attempt + 1, deep=deep)
        except OrderSyncError as error:  # the engine parks these itself; this is a safety net
            ctx.store.park(kind="error", reason=str(error), route=route, store=store, order_id=order_id,
                           replay={"task": "reconcile", "route": route, "store": store, "order_id": order_id})
            return {"outcome": "parked", "reason": str(error)}
        except Exception as error:  # an ordersync bug: park it visibly instead of looping
            if type(error).__name__ == "Retry":
                raise
            log.exception("reconcile.bug")
            ctx.store.park(kind="error", reason=f"internal error: {type(error).__name__}: {error}", route=route,
                           store=store, order_id=order_id,
                           replay={"task": "reconcile", "route": route, "store": store, "order_id": order_id})
            return {"outcome": "parked", "reason": f"internal error: {type(error).__name__}"}
        return {"outcome": result.outcome, "applied": result.applied, "reason": result.reason,
                "target_id": result.target_id}


def enqueue_reconcile(route: str, store: str, order_id: str, lane: str = "realtime", *, deep: bool = False,
                      change: OrderChange | None = None) -> None:
    """Queue a reconcile (runs inline on the embedded broker); ``deep`` for the sweep's target check;
    ``change`` is the feed's row for the order, passed along when it holds the whole order."""
    reconcile.apply_async((route, store, order_id), kwargs=reconcile_kwargs(deep, change) or None,
                          queue=queue_for(lane))


def reconcile_kwargs(deep: bool, change: OrderChange | None) -> dict[str, Any]:
    """The reconcile task's keyword arguments: ``deep``, and the feed's row when it holds the whole order."""
    kwargs: dict[str, Any] = {"deep": True} if deep else {}
    if change is not None and change.snapshot is not None and change.read_at is not None:
        kwargs.update(snapshot=change.snapshot, read_at=change.read_at.isoformat())
    return kwargs


def publish_due(rows: Sequence[DueWork], changes: Mapping[str, OrderChange] | None = None) -> int:
    """Publish the reconciles of due rows; returns how many reached the broker.

    A publish that fails stops the batch (the broker is down): the rows left stay due and the
    watchdog publishes them later. Published rows are re-driven only after :data:`REDRIVE_AFTER`.
    ``changes`` (by order id) carry the poll's list rows on this first publish; a re-drive publishes
    without them (the order is read).
    """
    published: list[int] = []
    try:
        for row in rows:
            enqueue_reconcile(row.route, row.store, row.order_id, row.lane, deep=row.reason == "sweep",
                              change=(changes or {}).get(row.order_id))
            if row.id is not None:
                published.append(row.id)
    except Exception as error:  # kombu/redis errors of every kind: the rows stay due
        if app.conf.task_always_eager:  # in-process: the reconcile itself raised, not a broker
            raise
        log.warning("publish.failed", published=len(published), left=len(rows) - len(published),
                    reason=f"{type(error).__name__}: {error}")
    finally:
        if published:
            context.current().store.mark_due_published(published, redrive_after=REDRIVE_AFTER)
    return len(published)


def drive(keys: Sequence[DueKey], *, reason: str, lane: str = "realtime",
          cursor: tuple[str, Any] | None = None, changes: Mapping[str, OrderChange] | None = None) -> int:
    """Record ``keys`` as due work (with ``cursor``, in one transaction), then publish their reconciles
    (with the feed's ``changes`` of one store, by order id, when given)."""
    rows = context.current().store.record_due(keys, reason=reason, lane=lane, delay=PUBLISH_GRACE, cursor=cursor)
    return publish_due(rows, changes)


@app.task(bind=True, name="ordersync.poll", acks_late=True, max_retries=None)
def poll(self: Task, store: str, full: bool = False) -> dict[str, Any]:
    """Read the store's changes since its cursor and queue a reconcile per changed order and route.

    The changes are recorded as due work together with the new cursor (one transaction) before any
    reconcile is published: a crash re-reads, a lost task is re-driven, nothing is skipped.
    """
    ctx = context.current()
    routes = ctx.config.routes_from(store)
    if not routes:
        return {"store": store, "changes": 0, "reason": "no route reads this store"}
    if store_is_paused(ctx, store):  # the cursor stays put: the changes are read after the resume
        return {"store": store, "changes": 0, "reason": "every route reading this store is paused"}
    lookback = max(route.lookback for route, _ in routes)
    connector = ctx.runtime.connector(store)
    since = None if full else ctx.store.cursor(store)
    try:
        with ctx.engine.locker.hold(f"poll:{store}", 600.0):
            feed = connector.iter_orders(since, lookback_seconds=lookback)
            changes = {change.id: change for change in feed}  # the last row of an order read twice wins
            seen = list(changes)
            lane = "backfill" if full or len(seen) > SMALL_POLL else "realtime"
            drive([(route.name, store, order_id) for order_id in seen for route, _ in routes], reason="poll",
                  lane=lane, cursor=(store, feed.cursor), changes=changes)
    except RateLimited as error:
        return _retry(self, error.retry_after, store=store, full=full)  # type: ignore[no-any-return]
    except LockBusy:
        return {"store": store, "changes": 0, "reason": "another poll of this store is running"}
    except OrderSyncError as error:
        ctx.store.save_cursor(store, None, error=str(error))
        log.error("poll.failed", store=store, reason=str(error))
        return {"store": store, "changes": 0, "error": str(error)}
    log.info("poll.done", store=store, changes=len(seen))
    return {"store": store, "changes": len(seen)}


@app.task(bind=True, name="ordersync.handle_webhooks", acks_late=True, max_retries=None)
def handle_webhooks(self: Task, inbox_ids: list[int]) -> dict[str, Any]:
    """Turn stored webhooks into reconciles of their orders on every route that reads their store.

    One message carries the events the intake published together: they are read in one query,
    their reconciles recorded as due work in one transaction (an order named by several events
    once) and their rows marked handled in another. State-based: handling an event twice only
    re-arms its order's reconcile.
    """
    ctx = context.current()
    events = ctx.store.inbox_rows(inbox_ids)
    keys: list[DueKey] = []
    statuses: dict[int, str] = {}
    for event in events:
        routes = ctx.config.routes_from(event.store) if event.order_id else []
        keys += [(route.name, event.store, event.order_id or "") for route, _ in routes]
        if event.id is not None:
            statuses[event.id] = "processed" if routes else "ignored"
    keys = list(dict.fromkeys(keys))
    if keys:
        drive(keys, reason="webhook")
    ctx.store.mark_inbox_many(statuses)
    return {"events": len(events), "missing": len(set(inbox_ids)) - len(events),
            "ignored": sum(1 for status in statuses.values() if status == "ignored"), "reconciles": len(keys)}


@app.task(bind=True, name="ordersync.handle_webhook", acks_late=True, max_retries=None)
def handle_webhook(self: Task, inbox_id: int) -> dict[str, Any]:
    """One stored webhook (messages queued by an ordersync older than :func:`handle_webhooks`)."""
    return handle_webhooks([inbox_id])  # type: ignore[no-any-return]


@app.task(bind=True, name="ordersync.reconcile_all", acks_late=True, max_retries=None)
def reconcile_all(self: Task) -> dict[str, Any]:
    """The daily sweep: one sweep by list per route (each a task of its own, so workers share them), and
    a retry of what is parked or stuck."""
    ctx = context.current()
    stores = sorted({store for route in ctx.config.routes
                     for store in ([route.source, route.target] if route.two_way else [route.source])})
    # A paused route is swept while another route reads its source (its differing orders are kept for
    # the resume, as a poll keeps them); a store that only paused routes read is left alone.
    routes = [route.name for route in ctx.config.routes if not store_is_paused(ctx, route.source)]
    for name in routes:
        sweep_route.apply_async((name,), queue=queue_for("backfill"))
    drained = drain_deferred(ctx)
    keys: list[DueKey] = []
    for item in ctx.store.attention(kinds=("unknown_sku", "retries_exhausted", "error")):
        replay = item.replay or {}
        if replay.get("task") == "reconcile":
            keys.append((replay["route"], replay["store"], replay["order_id"]))
    keys += [(b.route, b.source_store, b.source_id)
             for b in ctx.store.stale_pending(ctx.engine.clock() - timedelta(minutes=5))]
    drive(keys, reason="sweep", lane="backfill")
    return {"stores": stores, "retried": len(keys) + drained, "swept": routes}


@app.task(bind=True, name="ordersync.sweep_route", acks_late=True, max_retries=None)
def sweep_route(self: Task, route: str) -> dict[str, Any]:
    """Sweep one route by list (see :mod:`workers.sweep`): read both stores' lists, compare them with the
    bindings, and record and publish a reconcile for each order that differs, with its list row (a paused
    route keeps them as deferred work instead)."""
    from workers.sweep import Lists, drive_plan, plan_route, sweep_keys

    ctx = context.current()
    try:
        plan = plan_route(ctx, ctx.config.route(route), Lists(ctx))
    except RateLimited as error:
        return _retry(self, error.retry_after, route=route)  # type: ignore[no-any-return]
    except OrderSyncError as error:
        log.error("sweep.failed", route=route, reason=str(error))
        return {"route": route, "error": str(error)}
    keys = sweep_keys(plan)
    if ctx.store.is_paused(route):  # keep the work for the resume
        for _, store, order_id in keys:
            ctx.store.defer_work(route, store, order_id)
        return {"route": route, "compared": plan.compared, "unchanged": plan.unchanged, "deferred": len(keys)}
    published = drive_plan(plan)
    return {"route": route, "compared": plan.compared, "unchanged": plan.unchanged, "reconciles": len(keys),
            "published": published}


@app.task(bind=True, name="ordersync.relay", acks_late=True, max_retries=None)
def relay_inbox(self: Task) -> dict[str, Any]:
    """Publish webhook events still unpublished after the grace period (the outbox relay, see workers.relay)."""
    from workers.relay import publisher_for, relay_once

    ctx = context.current()
    published = relay_once(ctx.store, publisher_for(ctx.config.settings), grace=ctx.config.settings.relay_grace)
    return {"published": published}

"""Celery tasks: ``poll``, ``reconcile``, ``handle_webhook`` and the deep ``reconcile_all`` sweep.

Tasks carry only identifiers, never order data: each ``reconcile`` reloads the order and diffs
it (state-based), so a duplicated, late or reordered task is harmless.

Retry policy of ``reconcile``:

- ``RateLimited`` → retry after the platform's wait; does **not** use up an attempt.
- lock held by another worker → retry in ~1 s; does not use up an attempt.
- ``Transient`` / ``OutcomeUnknown`` → exponential backoff with full jitter (capped at
  :data:`~workers.app.MAX_COUNTDOWN`); after ``max_attempts`` the order is parked in the
  attention queue (``retries_exhausted``) — never dropped.
- anything else is parked by the engine (skippable/fatal), or — an unexpected bug — parked as
  ``error`` here, so no task ever loops on it.
"""

from __future__ import annotations

import random
import time
from datetime import timedelta
from typing import Any

import structlog
from celery import Task

from connectors.errors import OrderSyncError, RateLimited, Transient
from workers import context
from workers import metrics as _metrics  # noqa: F401 - counts reconciles (task signals) and platform calls
from workers.app import MAX_COUNTDOWN, app
from workers.locks import LockBusy, LockLost
from workers.pause import drain_deferred, store_is_paused

__all__ = ["backoff", "handle_webhook", "poll", "reconcile", "reconcile_all"]

log = structlog.get_logger("ordersync.tasks")
MAX_DELIVERIES = 5
SWEEP_DAYS = 30


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
    return task.retry(countdown=countdown, kwargs=kwargs, max_retries=None)


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
def reconcile(self: Task, route: str, store: str, order_id: str, attempt: int = 1) -> dict[str, Any]:
    """Reconcile one order on one route (see :class:`sync.engine.Engine`)."""
    ctx = context.current()
    with structlog.contextvars.bound_contextvars(route=route, store=store, order_id=order_id, attempt=attempt,
                                                 task_id=self.request.id):
        if ctx.store.is_paused(route):  # the route's pause switch: keep the work for the resume
            ctx.store.defer_work(route, store, order_id)
            return {"outcome": "paused", "reason": f"route {route} is paused"}
        if _poisoned(self):
            ctx.engine.park_exhausted(route, store, order_id, RuntimeError("the task kept crashing its worker"),
                                      attempt)
            return {"outcome": "parked", "reason": "poison message"}
        try:
            result = ctx.engine.reconcile(route, store, order_id)
        except RateLimited as error:
            log.info("reconcile.rate_limited", retry_after=error.retry_after)
            return _retry(self, error.retry_after + random.uniform(0, 1), route=route, store=store,  # type: ignore[no-any-return]
                          order_id=order_id, attempt=attempt)
        except LockBusy as error:
            return _retry(self, min(error.retry_after, 2.0) + random.uniform(0, 0.5), route=route,  # type: ignore[no-any-return]
                          store=store, order_id=order_id, attempt=attempt)
        except LockLost:
            return _retry(self, random.uniform(0.5, 1.5), route=route, store=store,  # type: ignore[no-any-return]
                          order_id=order_id, attempt=attempt)
        except Transient as error:
            if attempt >= ctx.config.settings.max_attempts:
                ctx.engine.park_exhausted(route, store, order_id, error, attempt)
                return {"outcome": "parked", "reason": str(error)}
            log.warning("reconcile.retry", reason=str(error), error=type(error).__name__)
            return _retry(self, backoff(attempt), route=route, store=store, order_id=order_id,  # type: ignore[no-any-return]
                          attempt=attempt + 1)
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


def enqueue_reconcile(route: str, store: str, order_id: str) -> None:
    """Queue a reconcile (runs inline on the embedded broker)."""
    reconcile.delay(route, store, order_id)


@app.task(bind=True, name="ordersync.poll", acks_late=True, max_retries=None)
def poll(self: Task, store: str, full: bool = False) -> dict[str, Any]:
    """Read the store's changes since its cursor and queue a reconcile per changed order and route.

    The cursor is saved only after every change was queued, so a crash re-reads (never skips).
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
            seen: set[str] = set()
            for change in feed:
                if change.id in seen:
                    continue
                seen.add(change.id)
                for route, _reverse in routes:
                    enqueue_reconcile(route.name, store, change.id)
            ctx.store.save_cursor(store, feed.cursor)
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


@app.task(bind=True, name="ordersync.handle_webhook", acks_late=True, max_retries=None)
def handle_webhook(self: Task, inbox_id: int) -> dict[str, Any]:
    """Turn one stored webhook into reconciles of its order on every route that reads the store."""
    ctx = context.current()
    event = ctx.store.inbox_event(inbox_id)
    if event is None:
        return {"inbox_id": inbox_id, "reason": "no such inbox event"}
    if not event.order_id:
        ctx.store.mark_inbox(inbox_id, "ignored")
        return {"inbox_id": inbox_id, "reason": "event is not about an order"}
    routes = ctx.config.routes_from(event.store)
    for route, _reverse in routes:
        enqueue_reconcile(route.name, event.store, event.order_id)
    ctx.store.mark_inbox(inbox_id, "processed" if routes else "ignored")
    return {"inbox_id": inbox_id, "routes": [route.name for route, _ in routes]}


@app.task(bind=True, name="ordersync.reconcile_all", acks_late=True, max_retries=None)
def reconcile_all(self: Task) -> dict[str, Any]:
    """The deep sweep: re-read every store from the beginning, and retry what is parked or stuck."""
    ctx = context.current()
    stores = sorted({store for route in ctx.config.routes
                     for store in ([route.source, route.target] if route.two_way else [route.source])})
    for store in stores:
        if not store_is_paused(ctx, store):
            poll.delay(store, full=True)
    retried = drain_deferred(ctx)
    for item in ctx.store.attention(kinds=("unknown_sku", "retries_exhausted", "error")):
        replay = item.replay or {}
        if replay.get("task") == "reconcile":
            enqueue_reconcile(replay["route"], replay["store"], replay["order_id"])
            retried += 1
    for binding in ctx.store.stale_pending(ctx.engine.clock() - timedelta(minutes=5)):
        enqueue_reconcile(binding.route, binding.source_store, binding.source_id)
        retried += 1
    # Deletions leave no trace in a change feed (CS-Cart has no webhooks): re-check recent mirrors.
    swept = 0
    for binding in ctx.store.recent_links(ctx.engine.clock() - timedelta(days=SWEEP_DAYS)):
        enqueue_reconcile(binding.route, binding.source_store, binding.source_id)
        swept += 1
    return {"stores": stores, "retried": retried, "swept": swept}

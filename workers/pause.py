"""The pause switch of a route: deferring its work while paused and queueing it again on resume.

A paused route does nothing on either store; every reconcile asked of it (poll, webhook, replay,
sweep) is recorded as deferred work in the state store instead, so nothing is lost. Resuming
queues each deferred order once more (state-based: the latest state decides). The deep sweep
(``reconcile_all``) also drains whatever a crashed resume left behind.
"""

from __future__ import annotations

import structlog

from workers import context

__all__ = ["drain_deferred", "pause", "resume", "store_is_paused"]

log = structlog.get_logger("ordersync.pause")


def pause(ctx: context.Context, route: str, note: str | None = None) -> None:
    """Pause ``route`` (``KeyError`` for a route the configuration does not have)."""
    ctx.config.route(route)
    ctx.store.pause_route(route, note)
    log.info("route.paused", route=route)


def resume(ctx: context.Context, route: str) -> int:
    """Resume ``route`` and queue its deferred work; returns how many orders were queued."""
    ctx.config.route(route)
    ctx.store.resume_route(route)
    queued = drain_deferred(ctx, route)
    log.info("route.resumed", route=route, queued=queued)
    return queued


def drain_deferred(ctx: context.Context, route: str | None = None) -> int:
    """Queue the deferred work of resumed routes (all of them, or ``route``); each entry is dropped
    only after its reconcile was queued, so a crash in between re-queues (harmless) rather than loses."""
    from workers.tasks import enqueue_reconcile

    paused = ctx.store.paused_routes()
    known = {r.name for r in ctx.config.routes}
    queued = 0
    for work in ctx.store.deferred_work(route):
        if work.route in paused or work.route not in known or work.id is None:
            continue
        enqueue_reconcile(work.route, work.store, work.order_id)
        ctx.store.drop_deferred(work)
        queued += 1
    return queued


def store_is_paused(ctx: context.Context, store: str) -> bool:
    """True when every route that reads ``store`` is paused: polling it now would only defer work."""
    readers = ctx.config.routes_from(store)
    paused = ctx.store.paused_routes()
    return bool(readers) and all(route.name in paused for route, _ in readers)

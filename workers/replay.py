"""Replaying attention items: what ``ordersync replay`` runs for each kind of parked work."""

from __future__ import annotations

from importlib import import_module

from connectors.errors import InvalidPayload
from sync.models import AttentionItem
from workers.context import Context
from workers.inbox import TooManyEvents, fit
from workers.relay import publish_and_mark, publisher_for

__all__ = ["replay_item"]


def replay_item(ctx: Context, item: AttentionItem) -> str:
    """Re-run an item's replay action; returns a one-line outcome.

    - ``reconcile``: reconcile the order again (the same task code; inline on the embedded broker).
      A successful sync closes the order's open items by itself.
    - ``webhook``: parse the stored raw body again (its signature was checked on receipt); when it
      parses now, it is stored like a fresh delivery and published through the intake's
      :func:`workers.relay.publish_and_mark` (what the broker does not take, the relay publishes later).
    - ``acknowledge``: informational items (price drift): nothing to re-run, the item stays open;
      ``ordersync attention dismiss`` closes it with a note (replay only replays).
    """
    from workers.tasks import reconcile

    assert item.id is not None
    action = (item.replay or {}).get("task")
    eager = ctx.config.settings.broker_url.startswith("memory")
    if action == "reconcile":
        replay = item.replay or {}
        args = (replay["route"], replay["store"], replay["order_id"])
        if eager:
            outcome = reconcile.apply(args=args).get(disable_sync_subtasks=False)
            if outcome.get("outcome") != "parked":
                ctx.store.set_attention_status(item.id, "resolved")
            reason = f" ({outcome['reason']})" if outcome.get("reason") else ""
            return f"reconciled: {outcome.get('outcome')}{reason}"
        reconcile.delay(*args)
        ctx.store.set_attention_status(item.id, "replayed")
        return "queued for reconcile"
    if action == "webhook":
        return _replay_webhook(ctx, item)
    if action == "acknowledge":  # informational (price drift): nothing to re-run; a person dismisses it
        return f"nothing to replay: close it with `ordersync attention dismiss {item.id} --note TEXT`"
    return f"nothing to replay for kind {item.kind!r}"


def _replay_webhook(ctx: Context, item: AttentionItem) -> str:
    """Parse a parked delivery again; store it as the intake does and publish what is new."""
    assert item.id is not None
    store = item.store or ""
    platform = ctx.config.stores[store].platform
    try:
        events = import_module(f"connectors.{platform}.webhooks").parse((item.payload or "").encode(), {})
        entries = fit(events)
    except (InvalidPayload, TooManyEvents) as error:
        return f"still invalid: {error}"
    outcome = ctx.store.add_delivery(store=store, payload=item.payload or "", events=entries)
    published = publish_and_mark(ctx.store, publisher_for(ctx.config.settings), outcome.unpublished)
    ctx.store.set_attention_status(item.id, "resolved")
    waiting = len(outcome.unpublished) - len(published)
    later = f"; {waiting} left to the relay (broker unavailable)" if waiting else ""
    return f"accepted {len(outcome.accepted)} event(s), {outcome.duplicates} duplicate(s){later}"

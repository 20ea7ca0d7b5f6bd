"""Replaying attention items: what ``ordersync replay`` runs for each kind of parked work."""

from __future__ import annotations

from importlib import import_module

from connectors.errors import InvalidPayload
from sync.models import AttentionItem
from workers.context import Context

__all__ = ["replay_item"]


def replay_item(ctx: Context, item: AttentionItem) -> str:
    """Re-run an item's replay action; returns a one-line outcome.

    - ``reconcile``: reconcile the order again (the same task code; inline on the embedded broker).
      A successful sync closes the order's open items by itself.
    - ``webhook``: parse the stored raw body again (its signature was checked on receipt); when it
      parses now, it enters the inbox and is handled like a fresh delivery.
    - ``acknowledge``: informational items (price drift): nothing to re-run, the item stays open;
      ``ordersync attention dismiss`` closes it with a note (replay only replays).
    """
    from workers.tasks import handle_webhook, reconcile

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
        store = item.store or ""
        platform = ctx.config.stores[store].platform
        try:
            events = import_module(f"connectors.{platform}.webhooks").parse((item.payload or "").encode(), {})
        except InvalidPayload as error:
            return f"still invalid: {error}"
        for event in events:
            row, new = ctx.store.add_inbox(store=store, event_key=event.event_key, topic=event.topic,
                                           order_id=event.order_id, payload=item.payload or "")
            if new and row.id is not None:
                (handle_webhook.apply(args=(row.id,)) if eager else handle_webhook.delay(row.id))
        ctx.store.set_attention_status(item.id, "resolved")
        return f"accepted {len(events)} event(s)"
    if action == "acknowledge":  # informational (price drift): nothing to re-run; a person dismisses it
        return f"nothing to replay: close it with `ordersync attention dismiss {item.id} --note TEXT`"
    return f"nothing to replay for kind {item.kind!r}"

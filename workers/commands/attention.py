"""``ordersync attention list|show|dismiss``: the attention queue, for people and scripts.

``list`` filters by kind, store, route and status; ``show`` prints one item whole (reason, detail,
stored payload, replay action); ``dismiss`` closes items by hand with a note, re-running nothing
(``ordersync replay`` is the command that re-runs).
"""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Annotated, Any

import orjson
import typer
from rich.markup import escape
from rich.table import Table

from sync.models import AttentionItem, utcnow
from sync.store import Store
from workers.commands.common import ConfigOption, UsageProblem, load, out

__all__ = ["app", "as_dict", "dismiss", "list_items", "show"]

app = typer.Typer(help="The attention queue: list, show and dismiss items.", no_args_is_help=True)

STATUSES = ("open", "resolved", "replayed", "dismissed", "all")


def as_dict(item: AttentionItem, *, full: bool = False) -> dict[str, Any]:
    """An item as JSON-ready data; ``full`` adds detail, payload and replay action."""
    data: dict[str, Any] = {"id": item.id, "kind": item.kind, "status": item.status, "route": item.route,
                            "store": item.store, "order_id": item.order_id, "reason": item.reason,
                            "occurrences": item.occurrences, "created_at": item.created_at,
                            "updated_at": item.updated_at, "resolved_at": item.resolved_at}
    if full:
        data.update(detail=item.detail, payload=item.payload, replay=item.replay)
    return data


def _dump(data: Any) -> None:
    sys.stdout.buffer.write(orjson.dumps(data, option=orjson.OPT_INDENT_2, default=str) + b"\n")


def _age(moment: datetime) -> str:
    seconds = max(0, int((utcnow() - moment).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


@app.command("list")
def list_items(
    kind: Annotated[list[str] | None, typer.Option("--kind", "-k", help="Only this kind (repeatable), e.g. "
                                                   "unknown_sku, rejected, invalid_webhook.")] = None,
    store: Annotated[str | None, typer.Option("--store", "-s", help="Only items of this store.")] = None,
    route: Annotated[str | None, typer.Option("--route", "-r", help="Only items of this route.")] = None,
    status: Annotated[str, typer.Option("--status", help=f"One of {', '.join(STATUSES)}.")] = "open",
    limit: Annotated[int, typer.Option(min=1, help="At most this many (newest first).")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    config: ConfigOption = None,
) -> None:
    """Attention items, newest first, filtered by kind, store, route and status."""
    if status not in STATUSES:
        raise UsageProblem(f"--status: expected one of {', '.join(STATUSES)}, got {status!r}")
    cfg = load(config)
    if store is not None and store not in cfg.stores:
        raise UsageProblem(f"--store: unknown store {store!r} (stores: {', '.join(sorted(cfg.stores))})")
    if route is not None and route not in {r.name for r in cfg.routes}:
        raise UsageProblem(f"--route: no route {route!r} (routes: {', '.join(r.name for r in cfg.routes)})")
    items = Store(cfg.settings.database_url).attention(status=None if status == "all" else status, kinds=kind,
                                                       limit=limit, route=route, store=store)
    if as_json:
        _dump([as_dict(item) for item in items])
        return
    table = Table(title=f"Attention items ({len(items)} {status})", title_justify="left")
    for column in ("id", "kind", "status", "route", "order", "reason", "seen", "age"):
        table.add_column(column, overflow="fold")
    for item in items:
        table.add_row(str(item.id), item.kind, item.status, item.route or "-",
                      escape(f"{item.store or ''}:{item.order_id or ''}"), escape(item.reason),
                      f"{item.occurrences}x", _age(item.created_at))
    out.print(table)
    if items and status == "open":
        out.print("Re-run with [bold]ordersync replay ID[/]; close by hand with "
                  "[bold]ordersync attention dismiss ID --note TEXT[/].")


def _item(store: Store, item_id: int) -> AttentionItem:
    item = store.attention_item(item_id)
    if item is None:
        raise UsageProblem(f"no attention item {item_id}")
    return item


@app.command("show")
def show(item_id: Annotated[int, typer.Argument(help="Attention item id.")],
         as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
         config: ConfigOption = None) -> None:
    """One item whole: reason, detail, the stored payload and what `replay` would re-run."""
    cfg = load(config)
    item = _item(Store(cfg.settings.database_url), item_id)
    data = as_dict(item, full=True)
    if as_json:
        _dump(data)
        return
    for key in ("id", "kind", "status", "route", "store", "order_id", "reason", "occurrences", "created_at",
                "updated_at", "resolved_at"):
        if data[key] is not None:
            out.print(f"[bold]{key}:[/] {escape(str(data[key]))}", soft_wrap=True)
    for key in ("detail", "replay"):
        if data[key]:
            out.print(f"[bold]{key}:[/] {escape(orjson.dumps(data[key], default=str).decode())}", soft_wrap=True)
    if item.payload:
        try:
            payload = orjson.dumps(orjson.loads(item.payload), option=orjson.OPT_INDENT_2).decode()
        except orjson.JSONDecodeError:
            payload = item.payload
        out.print("[bold]payload:[/]")
        out.print(escape(payload), soft_wrap=True)


@app.command("dismiss")
def dismiss(item_ids: Annotated[list[int], typer.Argument(help="Attention item id(s).")],
            note: Annotated[str, typer.Option("--note", "-m", help="Why it needs no replay (kept with the item).")],
            config: ConfigOption = None) -> None:
    """Close items by hand, with a note; nothing is re-run."""
    if not note.strip():
        raise UsageProblem("--note: say why the item needs no replay")
    cfg = load(config)
    store = Store(cfg.settings.database_url)
    for item_id in item_ids:
        _item(store, item_id)
        try:
            store.dismiss_attention(item_id, note.strip())
        except ValueError as error:
            raise UsageProblem(str(error)) from None
        out.print(f"#{item_id} dismissed")

"""``ordersync sync``: one pass over the routes in this process, with a progress bar.

It runs the very same Celery task code as the workers, eagerly, so a one-shot run and a
production worker behave identically.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from connectors.errors import OrderSyncError
from sync.config import OrderSyncConfig
from workers import context
from workers.app import app as celery_app

__all__ = ["Summary", "run_once"]


@dataclass
class Summary:
    """What a one-shot run did, per outcome."""

    outcomes: Counter[str] = field(default_factory=Counter)
    applied: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)

    @property
    def parked(self) -> int:
        """Orders that went to the attention queue."""
        return self.outcomes.get("parked", 0)

    def table(self) -> Table:
        """A Rich summary table."""
        table = Table(title="Sync summary", title_justify="left")
        table.add_column("what")
        table.add_column("count", justify="right")
        for outcome, count in sorted(self.outcomes.items()):
            table.add_row(f"orders {outcome}", str(count))
        for op, count in sorted(self.applied.items()):
            table.add_row(f"writes: {op}", str(count))
        for error in self.errors:
            table.add_row(f"[red]{error}[/]", "")
        return table


def run_once(config: OrderSyncConfig, *, route: str | None = None, full: bool = False,
             console: Console | None = None, ctx: context.Context | None = None) -> Summary:
    """Read every source store's changes and reconcile them now, in this process."""
    from workers.tasks import reconcile

    celery_app.conf.task_always_eager = True
    ctx = ctx or context.Context.build(config)
    context.install(ctx)
    summary = Summary()
    routes = [config.route(route)] if route else list(config.routes)
    stores = sorted({s for r in routes for s in ([r.source, r.target] if r.two_way else [r.source])})
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console or Console(stderr=True), transient=False) as progress:
        for store in stores:
            reading = progress.add_task(f"reading {store}", total=None)
            readers = [r for r, _ in config.routes_from(store) if r in routes]
            lookback = max(r.lookback for r in readers)
            try:
                feed = ctx.runtime.connector(store).iter_orders(None if full else ctx.store.cursor(store),
                                                                lookback_seconds=lookback)
                changes = list(dict.fromkeys(change.id for change in feed))
            except OrderSyncError as error:
                summary.errors.append(f"{store}: {error}")
                ctx.store.save_cursor(store, None, error=str(error))
                progress.remove_task(reading)
                continue
            progress.update(reading, total=len(changes) * len(readers), description=f"mirroring {store}")
            for order_id in changes:
                for r in readers:
                    result = reconcile.apply(args=(r.name, store, order_id),  # --full: compare the targets too
                                             kwargs={"deep": True} if full else None).get(disable_sync_subtasks=False)
                    summary.outcomes[str(result.get("outcome"))] += 1
                    for op in result.get("applied") or []:
                        summary.applied[op] += 1
                    progress.advance(reading)
            ctx.store.save_cursor(store, feed.cursor)
    return summary

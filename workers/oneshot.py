"""``ordersync sync``: one pass over the routes in this process, with a progress bar.

It runs the very same Celery task code as the workers, eagerly, so a one-shot run and a
production worker behave identically.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from connectors.base import OrderChange
from connectors.errors import OrderSyncError
from sync.config import OrderSyncConfig
from workers import context
from workers.app import app as celery_app

__all__ = ["Bounds", "Summary", "run_once"]


@dataclass(frozen=True)
class Bounds:
    """Which orders a run handles: changed within ``[since, until)``, only ``orders``, at most ``limit``
    per store. A bounded run does not move the cursors (it skipped orders on purpose)."""

    since: datetime | None = None
    until: datetime | None = None
    orders: tuple[str, ...] = ()
    limit: int | None = None

    @property
    def active(self) -> bool:
        """Whether any bound is set."""
        return bool(self.since or self.until or self.orders or self.limit)

    def select(self, feed: Iterable[OrderChange]) -> list[str]:
        """The order ids of ``feed`` within the bounds (an order whose change time is unknown is kept)."""
        chosen: list[str] = []
        for change in feed:
            when = change.updated_at
            if when is not None and ((self.since and when < self.since) or (self.until and when >= self.until)):
                continue
            if change.id not in chosen:
                chosen.append(change.id)
        return chosen[: self.limit] if self.limit else chosen


@dataclass
class Summary:
    """What a one-shot run did, per outcome."""

    outcomes: Counter[str] = field(default_factory=Counter)
    applied: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    planned: list[Any] = field(default_factory=list)  # dry run: the writes it would have made

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
             console: Console | None = None, ctx: context.Context | None = None,
             bounds: Bounds | None = None, dry_run: bool = False) -> Summary:
    """Read every source store's changes and reconcile them now, in this process.

    ``dry_run``: reads only; writes are recorded in ``Summary.planned`` and the state store is a
    throwaway copy (see :mod:`workers.dryrun`).
    """
    if dry_run:
        from workers.dryrun import dry_run_context

        dry_ctx, recorder, cleanup = dry_run_context(config)
        try:
            summary = run_once(config, route=route, full=full, console=console, ctx=dry_ctx, bounds=bounds)
            summary.planned = list(recorder.planned)
            summary.applied = Counter({f"{op} (dry run, not sent)": n for op, n in summary.applied.items()})
            return summary
        finally:
            context.install(None)
            cleanup()
    from workers.tasks import reconcile

    bounds = bounds or Bounds()
    celery_app.conf.task_always_eager = True
    ctx = ctx or context.Context.build(config)
    context.install(ctx)
    summary = Summary()
    routes = [config.route(route)] if route else list(config.routes)
    stores = sorted({s for r in routes for s in ([r.source, r.target] if r.two_way else [r.source])})
    if bounds.orders:  # ids given by the user are the routes' source orders
        stores = sorted({r.source for r in routes})
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console or Console(stderr=True), transient=False) as progress:
        for store in stores:
            reading = progress.add_task(f"reading {store}", total=None)
            readers = [r for r, _ in config.routes_from(store) if r in routes]
            lookback = max(r.lookback for r in readers)
            try:
                feed = ctx.runtime.connector(store).iter_orders(None if full else ctx.store.cursor(store),
                                                                lookback_seconds=lookback)
                changes = list(bounds.orders) if bounds.orders else bounds.select(feed)
            except OrderSyncError as error:
                summary.errors.append(f"{store}: {error}")
                ctx.store.save_cursor(store, None, error=str(error))
                progress.remove_task(reading)
                continue
            progress.update(reading, total=len(changes) * len(readers), description=f"mirroring {store}")
            for order_id in changes:
                for r in readers:
                    result = reconcile.apply(args=(r.name, store, order_id)).get(disable_sync_subtasks=False)
                    summary.outcomes[str(result.get("outcome"))] += 1
                    for op in result.get("applied") or []:
                        summary.applied[op] += 1
                    progress.advance(reading)
            if not bounds.active:
                ctx.store.save_cursor(store, feed.cursor)
    return summary

"""``ordersync sync``: one pass over the routes in this process, with a progress bar.

It runs the very same Celery task code as the workers, eagerly, so a one-shot run and a
production worker behave identically — except for failures of a whole store. A per-store
**circuit breaker** stops a store's work at once when it cannot be reached (connection refused,
DNS failure) or refuses our credentials (401/403): one line names the store, its URL and the
reason, its orders are skipped (not parked) and the source cursor is not advanced, so the next run
picks them up. The summary says what failed, and :attr:`Summary.ok` decides the exit code.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from connectors.base import OrderChange, ReferenceLister
from connectors.errors import AuthFailed, OrderSyncError, Unreachable
from sync.adoption import REFRESH_SECONDS
from sync.config import OrderSyncConfig, Route
from workers import context
from workers.app import app as celery_app
from workers.sweep import Lists, plan_route
from workers.waiting import show_waits

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
        return list(self.changes(feed))

    def changes(self, feed: Iterable[OrderChange]) -> dict[str, OrderChange]:
        """The changes of ``feed`` within the bounds by order id, in feed order (an order read twice keeps
        its last row)."""
        chosen: dict[str, OrderChange] = {}
        for change in feed:
            when = change.updated_at
            if when is not None and ((self.since and when < self.since) or (self.until and when >= self.until)):
                continue
            if change.id in chosen or not self.limit or len(chosen) < self.limit:
                chosen[change.id] = change
        return chosen

StoreDown = (Unreachable, AuthFailed)
"""Failures that stop a whole store's work in a one-shot run."""


@dataclass
class Summary:
    """What a one-shot run did, per outcome, and which stores failed."""

    outcomes: Counter[str] = field(default_factory=Counter)
    applied: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    failed_stores: dict[str, str] = field(default_factory=dict)
    skipped: int = 0
    compared: int = 0  # --full: list rows compared with the bindings
    paused: list[str] = field(default_factory=list)
    planned: list[Any] = field(default_factory=list)  # dry run: the writes it would have made

    @property
    def parked(self) -> int:
        """Orders that went to the attention queue."""
        return self.outcomes.get("parked", 0)

    @property
    def ok(self) -> bool:
        """Nothing failed and nothing was parked in this run (``ordersync sync`` exits 0)."""
        return not (self.errors or self.failed_stores or self.parked)

    def table(self) -> Table:
        """A Rich summary table."""
        table = Table(title="Sync summary", title_justify="left")
        table.add_column("what")
        table.add_column("count", justify="right")
        if self.compared:
            table.add_row("list rows compared (--full)", str(self.compared))
        for outcome, count in sorted(self.outcomes.items()):
            table.add_row(f"orders {outcome}", str(count))
        for op, count in sorted(self.applied.items()):
            table.add_row(f"writes: {op}", str(count))
        if self.skipped:
            table.add_row("[red]orders skipped (store failed; next run retries them)[/]", str(self.skipped))
        for store, line in self.failed_stores.items():
            table.add_row(f"[red]store {escape(store)} failed: {escape(line)}[/]", "")
        for name in self.paused:
            table.add_row(f"[yellow]route {name} is paused: skipped[/]", "")
        for error in self.errors:
            table.add_row(f"[red]{escape(error)}[/]", "")
        return table


class _Breaker:
    """Per-store circuit breaker for one run: the first store-wide failure opens it for good."""

    def __init__(self, config: OrderSyncConfig, summary: Summary, console: Console) -> None:
        self.config = config
        self.summary = summary
        self.console = console

    def trip(self, store: str, error: OrderSyncError) -> None:
        if store in self.summary.failed_stores:
            return
        url = getattr(error, "url", "") or self.config.stores[store].base_url
        kind = "credentials refused" if isinstance(error, AuthFailed) else "unreachable"
        line = f"{url}: {kind}: {error}"
        self.summary.failed_stores[store] = line
        self.console.print(f"[bold red]store {escape(store)} stopped:[/] {escape(line)}", soft_wrap=True)

    def down(self, store: str) -> bool:
        return store in self.summary.failed_stores


def _other(route: Route, store: str) -> str:
    return route.target if store == route.source else route.source


def _probe(ctx: context.Context, store: str, breaker: _Breaker) -> bool:
    """Check a target before sending it work: its reference index refresh is the probe (a list read
    the creates need anyway). Returns whether the store is usable."""
    if breaker.down(store):
        return False
    connector = ctx.runtime.connector(store)
    if isinstance(connector, ReferenceLister):
        try:
            ctx.engine.references.refresh(store, connector, max_age=REFRESH_SECONDS)
        except StoreDown as error:
            breaker.trip(store, error)
            return False
    return True


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
    bounds = bounds or Bounds()
    celery_app.conf.task_always_eager = True
    ctx = ctx or context.Context.build(config)
    context.install(ctx)
    summary = Summary()
    shown = console or Console(stderr=True)
    breaker = _Breaker(config, summary, shown)
    routes = [config.route(route)] if route else list(config.routes)
    paused = ctx.store.paused_routes()  # the console's pause switch: a paused route is left alone
    summary.paused = [r.name for r in routes if r.name in paused]
    routes = [r for r in routes if r.name not in paused]
    stores = sorted({s for r in routes for s in ([r.source, r.target] if r.two_way else [r.source])})
    if bounds.orders:  # ids given by the user are the routes' source orders
        stores = sorted({r.source for r in routes})
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=shown, transient=False) as progress, show_waits(progress):  # quota waits, shown
        if full and not bounds.active:  # --full: the sweep by list (only what differs is reconciled)
            _sweep_routes(ctx, routes, stores, summary, breaker, progress, paused)
        else:
            for store in stores:
                _mirror_store(ctx, store, [r for r, _ in config.routes_from(store) if r in routes], full, summary,
                              breaker, progress, paused, bounds)
    return summary


def _sweep_routes(ctx: context.Context, routes: list[Route], stores: list[str], summary: Summary,
                  breaker: _Breaker, progress: Progress, paused: Collection[str]) -> None:
    """``sync --full``: sweep each route by list (:mod:`workers.sweep`) and reconcile what differs, deeply.

    Each store's list is read once for every route on it; reading it is the store's probe. A source
    store whose routes all finished gets the list's cursor (and its paused routes the listed orders).
    """
    reading = progress.add_task("reading the order lists", total=None)
    lists = Lists(ctx, on_row=lambda count: progress.update(reading, completed=count))
    incomplete: set[str] = set()
    for r in routes:
        if not _sweep_route(ctx, r, lists, summary, breaker, progress):
            incomplete |= {r.source, r.target}
    progress.remove_task(reading)
    for store in stores:
        listed = lists.read(store)
        if listed is None or store in incomplete:
            ctx.store.save_cursor(store, None, error="not advanced: " + ("; ".join(
                f"{name} failed" for name in summary.failed_stores) or "its sweep did not finish"))
            continue
        for r, _ in ctx.config.routes_from(store):
            if r.name in paused:  # the cursor moves on: keep these orders for the paused route
                for order_id in listed.rows:
                    ctx.store.defer_work(r.name, store, order_id)
        ctx.store.save_cursor(store, listed.cursor)


def _sweep_route(ctx: context.Context, r: Route, lists: Lists, summary: Summary, breaker: _Breaker,
                 progress: Progress) -> bool:
    """Plan one route's sweep and run its reconciles in this process; returns whether all of it ran."""
    from workers.tasks import reconcile, reconcile_kwargs

    if breaker.down(r.source) or breaker.down(r.target):
        return False
    try:
        plan = plan_route(ctx, r, lists)
    except StoreDown as error:
        breaker.trip(error.store if isinstance(error, Unreachable) and error.store in (r.source, r.target)
                     else r.target if lists.read(r.source) else r.source, error)
        return False
    except OrderSyncError as error:
        summary.errors.append(f"{r.name}: {error}")
        return False
    summary.compared += plan.compared
    summary.outcomes["unchanged"] += plan.unchanged
    task = progress.add_task(f"reconciling what differs on {r.name}", total=len(plan.items))
    for item in plan.items:
        progress.advance(task)
        if breaker.down(r.source) or breaker.down(r.target):
            summary.skipped += 1
            continue
        try:
            result = reconcile.apply(args=(r.name, item.store, item.order_id),
                                     kwargs=reconcile_kwargs(item.deep, item.change)).get(disable_sync_subtasks=False)
        except Unreachable as error:
            breaker.trip(error.store if error.store in (r.source, r.target) else _other(r, item.store), error)
            summary.skipped += 1
            continue
        summary.outcomes[str(result.get("outcome"))] += 1
        for op in result.get("applied") or []:
            summary.applied[op] += 1
    return not (breaker.down(r.source) or breaker.down(r.target))


def _mirror_store(ctx: context.Context, store: str, readers: list[Route], full: bool, summary: Summary,
                  breaker: _Breaker, progress: Progress, paused: Collection[str] = (),
                  bounds: Bounds | None = None) -> None:
    """Read one source store's changes and reconcile them on every route that reads it."""
    from workers.tasks import reconcile, reconcile_kwargs

    if breaker.down(store):
        return
    reading = progress.add_task(f"reading {store}", total=None)
    lookback = max(r.lookback for r in readers)
    try:
        feed = ctx.runtime.connector(store).iter_orders(None if full else ctx.store.cursor(store),
                                                        lookback_seconds=lookback)
        bounds = bounds or Bounds()
        rows = {} if bounds.orders else bounds.changes(feed)
        changes = list(bounds.orders) if bounds.orders else list(rows)
    except StoreDown as error:
        breaker.trip(store, error)
        ctx.store.save_cursor(store, None, error=str(error))
        progress.remove_task(reading)
        return
    except OrderSyncError as error:
        summary.errors.append(f"{store}: {error}")
        ctx.store.save_cursor(store, None, error=str(error))
        progress.remove_task(reading)
        return
    for r, _ in ctx.config.routes_from(store):
        if r.name in paused:  # the cursor moves on: keep these changes for the paused route
            for order_id in changes:
                ctx.store.defer_work(r.name, store, order_id)
    live = [r for r in readers if _probe(ctx, _other(r, store), breaker)]
    complete = len(live) == len(readers)
    summary.skipped += len(changes) * (len(readers) - len(live))
    progress.update(reading, total=len(changes) * len(readers), description=f"mirroring {store}")
    for order_id in changes:
        for r in readers:
            progress.advance(reading)
            if r not in live or breaker.down(_other(r, store)) or breaker.down(store):
                if r in live:
                    summary.skipped += 1
                complete = False
                continue
            try:
                result = reconcile.apply(args=(r.name, store, order_id),  # --full: compare the targets too
                                         kwargs=reconcile_kwargs(full, rows.get(order_id))
                                         ).get(disable_sync_subtasks=False)
            except Unreachable as error:
                breaker.trip(error.store if error.store in (store, _other(r, store)) else _other(r, store), error)
                summary.skipped += 1
                complete = False
                continue
            summary.outcomes[str(result.get("outcome"))] += 1
            for op in result.get("applied") or []:
                summary.applied[op] += 1
    if bounds.active:  # a bounded run skipped orders on purpose: the cursor stays where it was
        return
    if complete:
        ctx.store.save_cursor(store, feed.cursor)
    else:
        ctx.store.save_cursor(store, None, error="not advanced: " + "; ".join(
            f"{name} failed" for name in summary.failed_stores))

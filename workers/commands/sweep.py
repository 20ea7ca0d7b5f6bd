"""``ordersync sweep [--route R]``: the deep sweep on demand, deletions included, with a progress bar.

On the embedded broker the reconciles run in this process; with a real broker they are recorded
as due work and published to the backfill queue, so every running worker takes a share, and the
bar follows the due-work rows until they are done (``--no-wait`` returns once they are queued).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from sync.config import OrderSyncConfig, Route
from sync.store import DueKey
from workers import context
from workers.commands.common import ConfigOption, UsageProblem, err, load, out

__all__ = ["sweep"]


def sweep(route: Annotated[str | None, typer.Option(help="Only this route.")] = None,
          wait: Annotated[bool, typer.Option("--wait/--no-wait", help="With workers: wait until every order "
                                             "was reconciled.")] = True,
          config: ConfigOption = None) -> None:
    """Reconcile every order of the route(s) now, and delete the mirrors of orders gone from the source."""
    from workers.sweep import sweep_keys

    cfg = load(config)
    routes = _routes(cfg, route)
    ctx = context.Context.build(cfg)
    context.install(ctx)
    keys: list[DueKey] = []
    with _progress() as progress:
        for r in routes:
            reading = progress.add_task(f"reading {r.source}" + (f" and {r.target}" if r.two_way else ""), total=None)
            keys += sweep_keys(ctx, r, on_page=_counter(progress, reading))
            progress.remove_task(reading)
        if cfg.settings.broker_url.startswith("memory"):
            outcomes = _inline(keys, progress)
        else:
            outcomes = _across_workers(ctx, keys, progress, wait)
    table = Table(title="Sweep summary", title_justify="left")
    table.add_column("what")
    table.add_column("orders", justify="right")
    for outcome, count in sorted(outcomes.items()):
        table.add_row(outcome, str(count))
    out.print(table)
    if outcomes.get("parked"):
        out.print(f"[yellow]{outcomes['parked']} order(s) need attention:[/] see `ordersync status`.")


def _routes(cfg: OrderSyncConfig, route: str | None) -> list[Route]:
    if route is None:
        return list(cfg.routes)
    try:
        return [cfg.route(route)]
    except KeyError as error:
        raise UsageProblem(str(error).strip("'\"")) from None


def _counter(progress: Progress, task: TaskID) -> Callable[[int], None]:
    def update(count: int) -> None:
        progress.update(task, completed=count)
    return update


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=err, transient=False)


def _inline(keys: list[DueKey], progress: Progress) -> Counter[str]:
    """Reconcile every key in this process (embedded broker)."""
    from workers.app import app as celery_app
    from workers.tasks import reconcile

    celery_app.conf.task_always_eager = True
    outcomes: Counter[str] = Counter()
    bar = progress.add_task("sweeping", total=len(keys))
    for route, store, order_id in keys:
        result = reconcile.apply(args=(route, store, order_id)).get(disable_sync_subtasks=False)
        outcomes[str(result.get("outcome"))] += 1
        progress.advance(bar)
    return outcomes


def _across_workers(ctx: context.Context, keys: list[DueKey], progress: Progress, wait: bool) -> Counter[str]:
    """Record the keys as due work, publish them to the backfill queue, follow them until done."""
    from workers.tasks import drive

    published = drive(keys, reason="sweep", lane="backfill")
    if published < len(keys):
        err.print(f"[yellow]{len(keys) - published} reconcile(s) could not be queued now;[/] the watchdog "
                  "publishes them when the broker answers.")
    outcomes: Counter[str] = Counter({"queued": published})
    if not wait:
        return outcomes
    bar = progress.add_task("sweeping (workers)", total=len(keys))
    while True:
        done = sum(row.status == "done" for row in ctx.store.due_rows(keys))
        progress.update(bar, completed=done)
        if done >= len(keys):
            return Counter({"reconciled": done})
        time.sleep(1.0)

"""``ordersync sweep [--route R]``: the sweep by list on demand, deletions included, with a progress bar.

Both stores' lists are read and compared with the bindings (:mod:`workers.sweep`); only the orders
that differ are reconciled (deeply). The summary says how many list rows were compared, how many
bound orders were unchanged and what the reconciles did. On the embedded broker the reconciles run
in this process; with a real broker they are recorded as due work and published to the backfill
queue, so every running worker takes a share, and the bar follows the due-work rows until they are
done (``--no-wait`` returns once they are queued).
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
from sync.sweep import SweepItem, SweepPlan
from workers import context
from workers.commands.common import ConfigOption, UsageProblem, err, load, out

__all__ = ["sweep"]


def sweep(route: Annotated[str | None, typer.Option(help="Only this route.")] = None,
          wait: Annotated[bool, typer.Option("--wait/--no-wait", help="With workers: wait until every order "
                                             "was reconciled.")] = True,
          config: ConfigOption = None) -> None:
    """Compare the route(s)' lists with the bindings; reconcile what differs, delete mirrors of deleted orders."""
    from workers.sweep import Lists, plan_route

    cfg = load(config)
    routes = _routes(cfg, route)
    ctx = context.Context.build(cfg)
    context.install(ctx)
    plans: list[SweepPlan] = []
    with _progress() as progress:
        reading = progress.add_task("reading the order lists", total=None)
        lists = Lists(ctx, on_row=_counter(progress, reading))
        for r in routes:
            progress.update(reading, description=f"reading {r.source} and {r.target}")
            plans.append(plan_route(ctx, r, lists))
        progress.remove_task(reading)
        items = [(plan.route, item) for plan in plans for item in plan.items]
        if cfg.settings.broker_url.startswith("memory"):
            outcomes = _inline(items, progress)
        else:
            outcomes = _across_workers(ctx, plans, progress, wait)
    table = Table(title="Sweep summary", title_justify="left")
    table.add_column("what")
    table.add_column("orders", justify="right")
    table.add_row("list rows compared", str(sum(p.compared for p in plans)))
    table.add_row("bound orders unchanged (not read)", str(sum(p.unchanged for p in plans)))
    table.add_row("reconciled", str(len(items)))
    for outcome, count in sorted(outcomes.items()):
        table.add_row(f"  {outcome}", str(count))
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


def _inline(items: list[tuple[str, SweepItem]], progress: Progress) -> Counter[str]:
    """Reconcile every planned order in this process (embedded broker), with its list row."""
    from workers.app import app as celery_app
    from workers.tasks import reconcile, reconcile_kwargs

    celery_app.conf.task_always_eager = True
    outcomes: Counter[str] = Counter()
    bar = progress.add_task("reconciling what differs", total=len(items))
    for route, item in items:
        result = reconcile.apply(args=(route, item.store, item.order_id),
                                 kwargs=reconcile_kwargs(item.deep, item.change)).get(disable_sync_subtasks=False)
        outcomes[str(result.get("outcome"))] += 1
        progress.advance(bar)
    return outcomes


def _across_workers(ctx: context.Context, plans: list[SweepPlan], progress: Progress, wait: bool) -> Counter[str]:
    """Record the planned orders as due work, publish them to the backfill queue, follow them until done."""
    from workers.sweep import drive_plan, sweep_keys

    keys: list[DueKey] = [key for plan in plans for key in sweep_keys(plan)]
    published = sum(drive_plan(plan) for plan in plans)
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

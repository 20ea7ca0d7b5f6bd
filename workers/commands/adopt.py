"""``ordersync adopt [--route R]``: rebuild a route's bindings from our references on the platforms.

For a lost or restored state store, or a move from SQLite to PostgreSQL: the target's orders carry
our reference (``ordersync:<store>:<id>``), so reading the target's list pages (the reference index
of :mod:`sync.adoption`, rebuilt in full here) is enough to bind every mirror again, without a
single create. The next ``sync`` (or worker) reconciles each adopted pair as usual.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from connectors.base import ReferenceLister
from sync.adoption import AdoptSummary, bind_from_references
from sync.config import Route
from workers.commands.common import ConfigOption, UsageProblem, err, load, out

__all__ = ["adopt"]


def adopt(route: Annotated[str | None, typer.Option(help="Only this route.")] = None,
          config: ConfigOption = None) -> None:
    """Rebind every mirrored order of a route from our references on its target (no create is made)."""
    from workers import context

    cfg = load(config)
    try:
        routes = [cfg.route(route)] if route else list(cfg.routes)
    except KeyError as error:
        raise UsageProblem(str(error).strip("'\"")) from None
    ctx = context.Context.build(cfg)
    context.install(ctx)
    summaries: list[AdoptSummary] = []
    refreshed: set[str] = set()
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, transient=False) as progress:
        for r in routes:
            for store in _mirror_stores(r):
                if store in refreshed:
                    continue
                connector = ctx.runtime.connector(store)
                if not isinstance(connector, ReferenceLister):
                    raise UsageProblem(f"store {store!r} cannot list our references; its orders are adopted one "
                                       "by one on the next `ordersync sync`")
                reading = progress.add_task(f"reading references on {store}", total=None)
                found = ctx.engine.references.refresh(store, connector, full=True,
                                                      on_page=partial(progress.advance, reading))
                progress.update(reading, total=found.seen, completed=found.seen)
                refreshed.add(store)
            binding = progress.add_task(f"binding {r.name}", total=None)
            summaries.append(bind_from_references(ctx.store, ctx.engine.references, r,
                                                  on_entry=partial(progress.advance, binding, 1)))
            progress.update(binding, total=summaries[-1].found)
    out.print(_table(summaries))
    conflicts = [c for s in summaries for c in s.conflicts]
    for line in conflicts:
        out.print(f"[yellow]conflict:[/] {line}", soft_wrap=True)
    if conflicts:
        raise typer.Exit(1)


def _mirror_stores(route: Route) -> list[str]:
    return [route.target, route.source] if route.two_way else [route.target]


def _table(summaries: list[AdoptSummary]) -> Table:
    table = Table(title="Adopted from the platforms' references", title_justify="left")
    for column in ("route", "mirrors found", "bound now", "already bound", "conflicts"):
        table.add_column(column, justify="left" if column == "route" else "right")
    for s in summaries:
        table.add_row(s.route, str(s.found), str(s.bound), str(s.already), str(len(s.conflicts)))
    return table

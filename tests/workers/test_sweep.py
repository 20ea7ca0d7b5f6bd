"""``ordersync sweep``: the deep sweep on demand, deletions included."""

from __future__ import annotations

import io

from typer.testing import CliRunner

from sync.store import Store
from tests.sync.conftest import pg_url, store  # noqa: F401 - fixtures: the store on SQLite and PostgreSQL
from tests.sync.test_engine import Shops
from tests.workers.test_watchdog import shops  # noqa: F401 - fixture: the engine shops on that store
from workers.cli import app


def _cli(shops: Shops, store: Store, *args: str) -> str:  # noqa: F811
    result = CliRunner().invoke(app, [*args, "--config", str(shops.path)], env={"ORDERSYNC_DATABASE_URL": store.url})
    assert result.exit_code == 0, result.output
    return result.output


def test_sweep_deletes_the_mirrors_of_orders_deleted_on_the_source(shops: Shops, store: Store) -> None:  # noqa: F811
    """An order hard-deleted on the source leaves no trace in a change feed; the sweep finds its binding
    without a source order and deletes the mirror, and re-checks every other order."""
    kept, gone = shops.order(), shops.order()
    _cli(shops, store, "sync")
    assert len(shops.mp.orders) == 2
    mirror = store.binding("us-to-ro", "us", gone)
    assert mirror is not None
    assert mirror.target_id in shops.mp.orders
    del shops.bc.orders[int(gone)]  # hard deletion on the source (as CS-Cart and MerchantPro do)
    shops.bc._version += 1  # the simulator's listing cache
    assert "orders synced" not in _cli(shops, store, "sync")  # the change feed sees nothing
    assert mirror.target_id in shops.mp.orders
    output = _cli(shops, store, "sweep", "--route", "us-to-ro")
    assert "deleted" in output
    assert mirror.target_id not in shops.mp.orders
    assert len(shops.mp.orders) == 1
    after = store.binding("us-to-ro", "us", gone)
    assert after is not None
    assert after.deleted
    again = _cli(shops, store, "sweep")  # both routes; nothing left to delete, the kept order is unchanged
    assert "deleted" not in again
    assert "unchanged" in again
    kept_binding = store.binding("us-to-eu", "us", kept)
    assert kept_binding is not None
    assert kept_binding.state == "linked"


def test_sweep_of_an_unknown_route_is_a_usage_error(shops: Shops, store: Store) -> None:  # noqa: F811
    """One line naming the known routes, exit 2."""
    result = CliRunner().invoke(app, ["sweep", "--route", "nope", "--config", str(shops.path)])
    assert result.exit_code != 0


def test_sweep_across_workers_follows_the_due_rows_until_done(shops: Shops, store: Store) -> None:  # noqa: F811
    """With a real broker the sweep records due work on the backfill lane and waits for every row."""
    from rich.console import Console
    from rich.progress import Progress

    from sync.sweep import SweepItem, SweepPlan
    from workers.commands.sweep import _across_workers

    orders = [shops.order(), shops.order()]
    keys = [("us-to-ro", "us", order_id) for order_id in orders]
    plan = SweepPlan("us-to-ro", tuple(SweepItem("us", order_id, False, "new") for order_id in orders), 2, 0)
    with Progress(console=Console(file=io.StringIO())) as progress:
        outcome = _across_workers(shops.ctx, [plan], progress, wait=True)  # the test broker runs them inline
    assert outcome == {"reconciled": 2}
    assert {r.lane for r in store.due_rows(keys)} == {"backfill"}
    assert {r.status for r in store.due_rows(keys)} == {"done"}
    assert len(shops.mp.orders) == 2

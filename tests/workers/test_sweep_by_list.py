"""The sweep by list against two simulators (MerchantPro → BigCommerce): with nothing changed it makes
only list requests and reconciles nothing; a source change, a mirror changed behind our back and a
deleted source order are each found from the lists and handled.

The engine records ``target_synced_at`` after its writes; the fixture waits past the sweep's one-second
slack after the mirror, so that a change made afterwards is told apart from our own writes.
"""

from __future__ import annotations

import io
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from simulators.app import RequestStats
from sync.sweep import STAMP_SLACK
from tests.workers.cluster import Cluster
from workers import context
from workers.cli import app
from workers.oneshot import Summary, run_once
from workers.tasks import sweep_route

ROUTE = "ro-to-us"
UNLIMITED: dict[str, Any] = {"rate_limit": {"requests": 100000, "per_seconds": 1}}
MP_LIST = "GET GET /orders"  # the simulators count "METHOD <its route name>"
MP_ORDER = "GET GET /orders/{id}"
LINKED = 11
BC_LISTS = {"GET /v2/orders"}


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    """12 MerchantPro orders mirrored to an empty BigCommerce store."""
    cluster = Cluster(tmp=tmp_path, redis_url="memory://", database_url=f"sqlite:///{tmp_path / 'state.db'}")
    try:
        cluster.add_shop("ro", "merchantpro", orders=12, seed=3, rate_limit=False)
        bc = cluster.add_shop("us", "bigcommerce", orders=0, seed=4, rate_limit=False)
        bc.simulator.currency = "RON"
        cluster.write_config([{"name": ROUTE, "source": "ro", "target": "us"}],
                             options={"ro": UNLIMITED, "us": UNLIMITED})
        _sync(cluster)
        assert sum(b.state == "linked" for b in cluster.bindings(ROUTE)) == LINKED  # one seed is abandoned
        _past_the_slack(cluster)
        yield cluster
    finally:
        cluster.close()


def _sync(cluster: Cluster, *, full: bool = False) -> Summary:
    assert cluster.config is not None
    return run_once(cluster.config, full=full, console=Console(file=io.StringIO()), ctx=context.current())


def _past_the_slack(cluster: Cluster) -> None:
    """Every mirror was written and marked synced by the engine; wait until a change made now can no longer
    be taken for one of our writes."""
    assert all(b.target_synced_at is not None for b in cluster.bindings(ROUTE) if b.state == "linked")
    time.sleep(STAMP_SLACK.total_seconds() + 1.1)  # the slack, and BigCommerce's whole-second stamps


def _reset(cluster: Cluster) -> None:
    """Count requests from now on."""
    for shop in cluster.shops.values():
        shop.simulator.stats = RequestStats()


def _routes(cluster: Cluster, shop: str) -> dict[str, int]:
    return dict(cluster.shops[shop].stats()["by_route"])


def _open_order(cluster: Cluster) -> tuple[str, str]:
    """A mirrored order that is neither cancelled nor finished on the source: (source id, mirror id)."""
    for binding in cluster.bindings(ROUTE):
        if cluster.neutral("ro", binding.source_id).status in ("pending", "processing", "on_hold"):
            return binding.source_id, binding.target_id or ""
    raise AssertionError("no open order among the seeds")


def test_a_sweep_with_nothing_changed_reconciles_nothing_and_only_lists(cluster: Cluster) -> None:
    """Every mirrored order is judged from the two lists. The one seed the route does not mirror (an
    abandoned checkout) has no binding, so it is looked at again (filtered): one read until the engine
    takes the list row instead (issue #10), never a read of a mirrored order or of the target."""
    _reset(cluster)
    summary = _sync(cluster, full=True)
    assert dict(summary.outcomes) == {"unchanged": LINKED, "filtered": 1}, summary.outcomes
    assert summary.compared == 12 + LINKED
    assert summary.applied == {}
    reads = _routes(cluster, "ro")
    assert reads[MP_LIST] == 1
    assert set(reads) <= {MP_LIST, MP_ORDER}, reads
    assert reads.get(MP_ORDER, 0) <= 1, reads  # 0 once MerchantPro's rows are carried whole (filtered from the row)
    assert set(_routes(cluster, "us")) <= BC_LISTS, _routes(cluster, "us")
    assert sum(_routes(cluster, "us").values()) == 2, "the live list and the archived list, one page each"


def test_a_status_changed_on_the_source_is_found_and_mirrored(cluster: Cluster) -> None:
    source_id, mirror_id = _open_order(cluster)
    cluster.merchant("ro", "PATCH", f"/api/v2/orders/{source_id}/cancelled")
    _reset(cluster)
    summary = _sync(cluster, full=True)
    assert summary.outcomes["unchanged"] == LINKED - 1
    assert summary.outcomes["synced"] == 1, summary.outcomes
    assert cluster.neutral("us", mirror_id).status == "cancelled"
    assert _routes(cluster, "ro").get(MP_ORDER, 0) <= 2, "the changed order (and the unmirrored one) at most"


def test_a_mirror_changed_behind_our_back_is_found_and_repaired(cluster: Cluster) -> None:
    source_id, mirror_id = _open_order(cluster)
    before = cluster.neutral("us", mirror_id).status
    cluster.merchant("us", "PUT", f"/v2/orders/{mirror_id}", {"status_id": 5})  # cancelled behind our back
    assert cluster.neutral("us", mirror_id).status == "cancelled"
    result = sweep_route.apply(args=(ROUTE,)).get()  # the beat's per-route task plans the same
    assert (result["reconciles"], result["unchanged"]) == (2, LINKED - 1), result  # and the unmirrored one
    assert cluster.neutral("us", mirror_id).status == before, "repaired to the source's state"
    binding = next(b for b in cluster.bindings(ROUTE) if b.source_id == source_id)
    assert binding.target_id == mirror_id


def test_the_mirror_of_a_deleted_source_order_is_deleted(cluster: Cluster) -> None:
    gone = cluster.bindings(ROUTE)[0]
    cluster.merchant("ro", "DELETE", f"/api/v2/orders/{gone.source_id}")
    assert cluster.config_path is not None
    result = CliRunner().invoke(app, ["sweep", "--config", str(cluster.config_path)])
    assert result.exit_code == 0, result.output
    assert "deleted" in result.output
    assert re.search(rf"unchanged \(not read\)\s*│\s*{LINKED - 1} ", result.output), result.output
    after = next(b for b in cluster.bindings(ROUTE) if b.id == gone.id)
    assert after.deleted
    assert cluster.neutral("us", gone.target_id or "").status == "archived"

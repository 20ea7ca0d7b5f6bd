"""The engine's API economy: list rows instead of per-order reads while fresh, no read-back after a
write whose effect is known, and the reads that stay (stale rows, unknown outcomes, shipments).

A MerchantPro source mirrored to a BigCommerce target, both simulated; requests are counted by the
simulators. A deep sweep after the mirror must find nothing to write: that proves the state kept
from the writes is what BigCommerce really holds.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from connectors.base import OrderReference
from simulators.app import RequestStats
from sync.models import utcnow
from tests.workers.cluster import Cluster
from workers import context
from workers.oneshot import run_once
from workers.tasks import reconcile

UNLIMITED = {"rate_limit": {"requests": 100000, "per_seconds": 1}}
QUIET = Console(file=open("/dev/null", "w"))  # noqa: SIM115 - progress bars are not wanted in tests


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Cluster]:
    """MerchantPro (30 seeded orders) → an empty BigCommerce, SQLite store, in-process broker."""
    cluster = Cluster(tmp=tmp_path, redis_url="memory://", database_url=f"sqlite:///{tmp_path / 'state.db'}")
    try:
        cluster.add_shop("src", "merchantpro", orders=30, seed=11, rate_limit=False)
        cluster.add_shop("dst", "bigcommerce", orders=0, seed=12, rate_limit=False)
        cluster.write_config([{"name": "r", "source": "src", "target": "dst"}],
                             options={"src": UNLIMITED, "dst": UNLIMITED})
        context.install(context.Context.build(cluster.config))  # type: ignore[arg-type]
        yield cluster
    finally:
        cluster.close()


def _requests(cluster: Cluster, shop: str) -> Counter[str]:
    return Counter(cluster.shops[shop].stats()["by_route"])


def _reset(cluster: Cluster) -> None:
    for shop in cluster.shops.values():
        shop.simulator.stats = RequestStats()


def _mirror_then_sweep(cluster: Cluster) -> list[Any]:
    """Mirror every source order, check the sweep (which reads every mirror) finds nothing to write."""
    assert cluster.config is not None
    _reset(cluster)
    summary = run_once(cluster.config, console=QUIET)
    assert summary.ok, summary.errors
    linked = [b for b in cluster.bindings("r") if b.state == "linked"]
    assert linked
    assert all(b.target_state and b.target_synced_at for b in linked)
    stats = _requests(cluster, "dst")
    swept = run_once(cluster.config, full=True, console=QUIET)
    assert not swept.applied, f"the kept state differed from the target's: {dict(swept.applied)}"
    return [linked, stats]


def test_a_mirror_reads_bigcommerce_only_before_shipments_and_keeps_what_it_wrote(pair: Cluster) -> None:
    linked, stats = _mirror_then_sweep(pair)
    shipped = sum(1 for b in linked if b.shipments)
    reads = stats["GET /v2/orders/{id}"]
    assert reads == shipped, f"{reads} target reads for {shipped} orders with shipments (one read each, before them)"


@contextmanager
def _route(tmp_path: Path, source: str, target: str, options: dict[str, Any] | None = None) -> Iterator[Cluster]:
    cluster = Cluster(tmp=tmp_path, redis_url="memory://", database_url=f"sqlite:///{tmp_path / 'state.db'}")
    try:
        cluster.add_shop("src", source, orders=30, seed=21, rate_limit=False)
        cluster.add_shop("dst", target, orders=0, seed=22, rate_limit=False)
        cluster.write_config([{"name": "r", "source": "src", "target": "dst"}],
                             options={"src": UNLIMITED, "dst": {**UNLIMITED, **(options or {})}})
        context.install(context.Context.build(cluster.config))  # type: ignore[arg-type]
        yield cluster
    finally:
        cluster.close()


def test_a_merchantpro_mirror_is_known_from_the_create_answer(tmp_path: Path) -> None:
    with _route(tmp_path, "bigcommerce", "merchantpro") as cluster:
        linked, stats = _mirror_then_sweep(cluster)
        updated = sum(1 for b in linked if b.shipments) + stats["PATCH PATCH /orders/{id}"]
        assert stats["GET GET /orders/{id}"] <= updated, "a created order was read back"


def test_a_cscart_mirror_is_read_once_for_its_prices_and_then_kept(tmp_path: Path) -> None:
    with _route(tmp_path, "merchantpro", "cscart", {"payment_id": 2, "shipping_id": 1}) as cluster:
        linked, stats = _mirror_then_sweep(cluster)
        assert stats["GET /orders/{order_id}"] == len(linked), "one read per new order (CS-Cart reprices), no more"


def test_an_unchanged_order_costs_no_target_call(pair: Cluster) -> None:
    assert pair.config is not None
    run_once(pair.config, console=QUIET)
    binding = next(b for b in pair.bindings("r") if b.state == "linked")
    _reset(pair)
    result = context.current().engine.reconcile("r", "src", binding.source_id)
    assert result.outcome == "unchanged"
    assert pair.shops["dst"].stats()["total"] == 0


class _Spy:
    """Counts the source connector's reads (``get_order`` vs ``hydrate``)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, connector: Any) -> None:
        self.calls: Counter[str] = Counter()
        get_order = connector.get_order

        def counted_get(order_id: str) -> Any:
            self.calls["get_order"] += 1
            return get_order(order_id)

        def counted_hydrate(snapshot: dict[str, Any]) -> Any:
            self.calls["hydrate"] += 1
            return get_order(str(snapshot["id"]))

        monkeypatch.setattr(connector, "get_order", counted_get)
        monkeypatch.setattr(connector, "hydrate", counted_hydrate)


def _row(pair: Cluster) -> dict[str, Any]:
    """A source order's list row as the change feed served it (its snapshot, or the bare row)."""
    change = next(iter(context.current().runtime.connector("src").iter_orders(None)))
    return change.snapshot or {"id": change.id}


def test_a_fresh_list_row_replaces_the_read_and_a_stale_one_is_read_again(
        pair: Cluster, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = context.current().engine
    spy = _Spy(monkeypatch, context.current().runtime.connector("src"))
    row = _row(pair)
    engine.reconcile("r", "src", str(row["id"]), snapshot=row, read_at=utcnow())
    assert spy.calls == {"hydrate": 1}

    bound = timedelta(seconds=pair.config.settings.snapshot_max_age)  # type: ignore[union-attr]
    spy.calls.clear()
    engine.reconcile("r", "src", str(row["id"]), snapshot=row, read_at=utcnow() - bound - timedelta(seconds=1))
    assert spy.calls == {"get_order": 1}


def test_an_unknown_create_outcome_reads_the_order_again_and_adopts_by_reference(
        pair: Cluster, monkeypatch: pytest.MonkeyPatch) -> None:
    spy = _Spy(monkeypatch, context.current().runtime.connector("src"))
    row = _row(pair)
    order_id = str(row["id"])
    pair.shops["dst"].simulator.faults.inject("ghost", method="POST", path_prefix="/stores/simstore/v2/orders")
    monkeypatch.setattr("workers.tasks.backoff", lambda attempt: 0.0)
    outcome = reconcile.apply(args=("r", "src", order_id),
                              kwargs={"snapshot": row, "read_at": utcnow().isoformat()}).get()
    assert outcome["outcome"] == "synced", outcome
    assert spy.calls == {"hydrate": 1, "get_order": 1}, "the retry after the lost answer must read the order"
    key = OrderReference.for_source("src", order_id)
    found = pair.merchant("dst", "GET", "/v2/orders", params={"external_order_id": key}).json()
    assert len(found) == 1, f"{len(found)} BigCommerce orders carry {key}"
    binding = next(b for b in pair.bindings("r") if b.source_id == order_id)
    assert binding.target_id == str(found[0]["id"])

"""Two-way mirroring under load: customers order on both shops while both intakes and real Celery
workers mirror each way. Shared by tests/workers/test_e2e_two_way.py and benchmarks/two_way.py.

Routes ``a-to-b`` and ``b-to-a`` (the two directions the issue reproduced the duplicate with), webhooks
from both shops into our intake, no polls: every order must end with exactly one mirror, no mirror is
mirrored back, and each binding is one-to-one.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from simulators import FaultConfig
from sync.models import Binding
from tests.workers.cluster import WEBHOOK_SECRET, Cluster
from tests.workers.shoppers import place

__all__ = ["TwoWayFigures", "measure", "run_two_way", "settle_and_measure", "setup_two_way"]

CURRENCY = {"merchantpro": "RON"}
SKUS = ("MUG-BLK", "MUG-WHT")


@dataclass
class TwoWayFigures:
    """What a two-way run produced: orders created per side, mirrors, duplicates, mismatches."""

    created_a: int
    created_b: int
    mirrors: int
    duplicates: int
    mismatched: int
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        """The benchmark's summary line."""
        return (f"two_way: created {self.created_a}+{self.created_b}  mirrors {self.mirrors}  "
                f"duplicates {self.duplicates}  mismatched {self.mismatched}")


def setup_two_way(cluster: Cluster, platform_a: str, platform_b: str, *, faults: FaultConfig | None = None,
                  concurrency: int = 2, workers: int = 1, unstamped: int = 40) -> None:
    """Two shops ``a`` and ``b``, routes both ways, both shops' webhooks into a live intake, workers."""
    currency = CURRENCY.get(platform_a) or CURRENCY.get(platform_b) or "USD"
    for name, platform in (("a", platform_a), ("b", platform_b)):
        shop = cluster.add_shop(name, platform, faults=faults, rate_limit=False)
        shop.simulator.currency = currency
    fast = {"rate_limit": {"requests": 100_000, "per_seconds": 1, "burst": 10_000}}
    cluster.write_config([{"source": "a", "target": "b"}, {"source": "b", "target": "a"}],
                         options={"a": fast, "b": fast}, settings={"max_attempts": 12})
    for shop in cluster.shops.values():
        if shop.platform == "evershop":
            for sku in SKUS:  # customers and mirrors both draw on EverShop's managed stock
                shop.simulator.set_stock(sku, 1_000_000)
            # EverShop stamps our reference in a call after the create: make that call fail for a
            # while, so mirrors stay unstamped when their order_created webhooks arrive (the window
            # the issue reproduced the duplicate in).
            shop.simulator.faults.inject("error", method="PATCH", path_prefix="/api/orders/", count=unstamped)
    api = cluster.serve_api()
    for name in ("a", "b"):
        cluster.shops[name].simulator.configure_webhooks(f"{api}/webhooks/{name}", WEBHOOK_SECRET)
    for _ in range(workers):
        cluster.start_worker(concurrency=concurrency)


def _place_all(cluster: Cluster, per_side: int, threads: int, seed: int) -> dict[str, list[str]]:
    """Customers order on both shops at once (interleaved, a few at a time); the ids per shop."""
    plan = [(side, n) for n in range(per_side) for side in ("a", "b")]
    random.Random(seed).shuffle(plan)
    skus = SKUS

    def order(item: tuple[str, int]) -> tuple[str, str]:
        side, n = item
        shop = cluster.shops[side]
        return side, place(shop.platform, shop.base_url, shop.simulator, f"buyer{n}.{side}@example.com",
                           skus[n % 2], 1 + n % 2)

    placed: dict[str, list[str]] = {"a": [], "b": []}
    with ThreadPoolExecutor(threads) as pool:
        for side, order_id in pool.map(order, plan):
            placed[side].append(order_id)
    return placed


def _order_ids(cluster: Cluster, name: str) -> set[str]:
    """Every order id on a shop, as ordersync names it."""
    simulator: Any = cluster.shops[name].simulator
    if cluster.shops[name].platform == "evershop":
        return {str(order.row["uuid"]) for order in simulator.orders.values()}
    return {str(key) for key in simulator.orders}


def measure(cluster: Cluster, placed: dict[str, list[str]], *,
            order_ids: Callable[[str], set[str]] | None = None,
            foreign: Callable[[Binding], bool] | None = None) -> TwoWayFigures:
    """Count mirrors, duplicates and mismatches from the shops themselves and the bindings.

    ``placed`` names the two stores (routes ``x-to-y`` both ways) and the customer orders on each.
    ``order_ids`` lists a store's orders that count (default: every order on its simulator; a real
    shop holds others); ``foreign`` drops bindings of orders that are none of this run's business
    (a real shop's other customers).
    """
    first, second = placed
    list_ids = order_ids or (lambda name: _order_ids(cluster, name))
    problems: list[str] = []
    bindings = [b for b in cluster.bindings() if not b.deleted and not (foreign and foreign(b))]
    linked = [b for b in bindings if b.state == "linked" and b.target_id]
    mirrors = 0
    mismatched = 0
    targets: dict[tuple[str, str], int] = {}
    for side, other in ((first, second), (second, first)):
        mine = {b.source_id: b for b in linked if b.route == f"{side}-to-{other}"}
        for order_id in placed[side]:
            binding = mine.get(order_id)
            if binding is None:
                mismatched += 1
                problems.append(f"{side}:{order_id} has no mirror")
                continue
            mirrors += 1
            target = cluster.neutral(other, binding.target_id or "")
            if target.mirror_of != binding.reference:
                mismatched += 1
                problems.append(f"{side}:{order_id} mirror {binding.target_id} carries {target.mirror_of!r}")
        strays = [b for b in bindings if b.route == f"{side}-to-{other}" and b.source_id not in placed[side]]
        for stray in strays:
            problems.append(f"route {stray.route} mirrored {stray.source_id}, which is not a customer order")
    for binding in linked:
        key = (binding.target_store, binding.target_id or "")
        targets[key] = targets.get(key, 0) + 1
    shared = sum(n - 1 for n in targets.values() if n > 1)
    if shared:
        problems.append(f"{shared} target orders are bound more than once")
    duplicates = shared
    for side in (first, second):
        extra = len(list_ids(side)) - len(placed[first]) - len(placed[second])
        if extra:
            problems.append(f"shop {side} holds {extra} orders more than customers + mirrors")
        duplicates += max(0, extra)
    return TwoWayFigures(len(placed[first]), len(placed[second]), mirrors, duplicates, mismatched, problems)


def run_two_way(cluster: Cluster, per_side: int, *, threads: int = 4, seed: int = 9,
                timeout: float = 300.0) -> TwoWayFigures:
    """Place ``per_side`` orders on each shop, wait until the cluster is idle, and measure."""
    placed = _place_all(cluster, per_side, threads, seed)
    return settle_and_measure(cluster, placed, timeout=timeout)


def settle_and_measure(cluster: Cluster, placed: dict[str, list[str]], *, timeout: float = 300.0,
                       **counting: Any) -> TwoWayFigures:
    """Wait until every placed order is linked and the cluster is idle, then :func:`measure`."""
    first, second = placed
    routes = {f"{first}-to-{second}": set(placed[first]), f"{second}-to-{first}": set(placed[second])}
    wanted = len(placed[first]) + len(placed[second])

    def all_linked() -> bool:
        linked = [b for b in cluster.bindings()
                  if b.state == "linked" and b.source_id in routes.get(b.route, set())]
        return len(linked) >= wanted

    cluster.wait(all_linked, timeout, f"{wanted} mirrors")
    cluster.settle(timeout=timeout, quiet=3.0)
    return measure(cluster, placed, **counting)

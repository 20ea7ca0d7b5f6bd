"""Mirroring MerchantPro orders to BigCommerce at the platforms' real quotas: wall time against the minimal plan.

A simulated MerchantPro shop with ``--orders`` seeded orders is mirrored to an empty simulated
BigCommerce store by ``ordersync sync`` run in this process (:func:`workers.oneshot.run_once`),
with both simulators enforcing their default quotas and answering every request after
``--latency-ms`` (20 ms) of simulated latency:

- **BigCommerce**: one fixed window of 150 requests per 30 s (Standard/Plus plans);
- **MerchantPro**: two fixed windows at once, 4 requests per second and 80 per minute.

The connectors run with their own default pacing (no option overrides): they must never be
refused. Both simulators' windows are restarted (full quota) the moment the run starts, so the run
and the plan below start from the same budget. Requests, the writes that took effect (2xx
POST/PUT/PATCH/DELETE) and the quota refusals (429 for exceeding a window; ``refused`` in the
simulators' ``/__sim/stats``) are counted by the simulators.

**The minimal plan** is the fewest requests a client could make (as in ``benchmarks/api_calls.py``):

- MerchantPro (source): its order list at the largest page (100): ``ceil(orders / 100)`` pages;
- BigCommerce (target): the writes that reached it in this run (counted by its simulator, so a
  write the run needed is never discounted, and a redundant one is not either), its order lists
  (live and archived: the reference index that guards exactly-once reads them), one SKU look-up per
  50 mirrored orders, and one read per order shipped there (BigCommerce's create answer has no
  ``order_product_id``, which a shipment must name) — the same minimum as ``api_calls.py``.

**The time of the minimal plan** (a lower bound): each platform's requests are sent as early as its
windows allow — replayed on a virtual clock through the very window classes the simulator enforces
(``window.fresh(clock)``), starting when the windows open. A fixed window of Q requests per W
seconds lets request *n* (from 1) go at ``floor((n - 1) / Q) * W``: N requests need
``(ceil(N / Q) - 1) * W`` seconds before the last can be sent (BigCommerce: 496 requests → 3
windows waited → 90 s). MerchantPro's two windows give request *n* the time
``60 * floor((n - 1) / 80) + floor(((n - 1) % 80) / 4)``. A platform's time is when its last request
can be sent plus one latency (its answer; the requests of a window's burst may all be in flight at
once). The platforms run in parallel, so the plan's time is the larger of the two. Dependencies
between requests (source read before target write, a shipment after its order) are ignored, which
keeps the plan a lower bound: ``ratio`` = ordersync's wall time / the plan's time (issue #10 asks
for ≤ 1.2 with 0 refusals).

The last line reads exactly::

    real_quota: ordersync S s  minimal plan M s  ratio R

and the line before it gives ``refused N`` (all quota refusals, both simulators). The exit status
is 1 when a request was refused or the run failed or parked an order (``ordersync sync`` would
exit 1). Orders the route's filter leaves out show as ``filtered``. A run of 300 orders takes
minutes; use ``--orders 20`` to try it (the plan is then a fraction of a second: the ratio only
means something once the quotas bind).
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rich.console import Console  # noqa: E402

from connectors.logging import configure_logging  # noqa: E402
from simulators import FaultConfig  # noqa: E402
from simulators.app import RateWindow, RequestStats  # noqa: E402
from tests.workers.cluster import Cluster  # noqa: E402
from workers.oneshot import run_once  # noqa: E402

sys.path.insert(0, str(REPO / "benchmarks"))
from api_calls import list_pages, needed_reads  # noqa: E402 - the same minimum as benchmarks/api_calls.py

SOURCE, TARGET = "merchantpro", "bigcommerce"
SOURCE_PAGE = 100  # MerchantPro's largest order-list page (../shared/platforms/merchantpro.md B3)
SKU_BATCH = 50  # one SKU look-up per 50 orders (the minimum of benchmarks/api_calls.py)
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


@dataclass(frozen=True)
class PlatformFigures:
    """What one simulator counted, and what the minimal plan needs there."""

    platform: str
    requests: int
    writes: int
    refused: int
    minimal: int
    plan_seconds: float


def quota_seconds(window: RateWindow | None, requests: int) -> float:
    """When the last of ``requests`` can be sent if each goes as soon as ``window`` allows, the
    windows opening at 0: replayed on a virtual clock through the simulator's own window class."""
    if window is None or requests <= 0:
        return 0.0
    now = [0.0]
    replay = window.fresh(lambda: now[0])
    for _ in range(requests):
        state = replay.hit()
        while not state.allowed:
            now[0] += state.reset_after + 1e-9  # just past the reopening
            state = replay.hit()
    return now[0]


def _writes(stats: dict[str, Any]) -> int:
    """The writes a simulator answered with 2xx."""
    return sum(n for route, n in stats["ok_by_route"].items() if route.split(" ", 1)[0] in WRITE_METHODS)


def _figures(cluster: Cluster, store: str, minimal: int, latency: float) -> PlatformFigures:
    shop = cluster.shops[store]
    stats = shop.stats()
    plan = quota_seconds(shop.simulator.window, minimal) + latency
    return PlatformFigures(shop.platform, int(stats["total"]), _writes(stats), int(stats["refused"]), minimal, plan)


@dataclass(frozen=True)
class RunFigures:
    """One mirror run: its wall time, what became of the orders, and each platform's figures."""

    seconds: float
    mirrored: int
    outcomes: dict[str, int]
    ok: bool
    """``ordersync sync`` would exit 0: no store failed, no error, nothing parked."""
    source: PlatformFigures
    target: PlatformFigures


def measure(orders: int, seed: int, latency_ms: float) -> RunFigures:
    """Mirror ``orders`` at the default quotas and count what the simulators saw."""
    quiet = Console(file=open("/dev/null", "w"))  # noqa: SIM115 - the run's progress bar is not wanted
    faults = FaultConfig(latency_ms=latency_ms)
    with tempfile.TemporaryDirectory(prefix="ordersync-real-quota-") as folder:
        tmp = Path(folder)
        cluster = Cluster(tmp=tmp, redis_url="memory://", database_url=f"sqlite:///{tmp / 'state.db'}")
        try:
            cluster.add_shop("src", SOURCE, orders=orders, seed=seed, faults=faults, rate_limit=True)
            cluster.add_shop("dst", TARGET, orders=0, seed=seed + 1, faults=faults, rate_limit=True)
            config = cluster.write_config([{"name": "bench", "source": "src", "target": "dst"}])
            configure_logging("ERROR")  # the per-order warnings (currency, guest customer) are not the point here
            for shop in cluster.shops.values():
                shop.simulator.stats = RequestStats()
                shop.simulator.restart_window()
            started = time.perf_counter()
            summary = run_once(config, console=quiet)
            elapsed = time.perf_counter() - started
            linked = [b for b in cluster.bindings("bench") if b.state == "linked"]
            mirrored, shipped = len(linked), sum(1 for b in linked if b.shipments)
            latency = latency_ms / 1000
            source = _figures(cluster, "src", max(1, math.ceil(orders / SOURCE_PAGE)), latency)
            target_writes = _writes(cluster.shops["dst"].stats())
            target = _figures(cluster, "dst", target_writes + list_pages(TARGET, 0) + math.ceil(mirrored / SKU_BATCH)
                              + needed_reads(TARGET, mirrored, shipped), latency)
        finally:
            cluster.close()
    return RunFigures(elapsed, mirrored, dict(summary.outcomes), summary.ok, source, target)


def main() -> None:
    """Run the mirror at the real quotas and print the figures and the last line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--latency-ms", type=float, default=20.0, help="Simulated latency per request.")
    args = parser.parse_args()
    run = measure(args.orders, args.seed, args.latency_ms)
    source, target, elapsed = run.source, run.target, run.seconds
    plan = max(source.plan_seconds, target.plan_seconds)
    outcomes = ", ".join(f"{name} {n}" for name, n in sorted(run.outcomes.items()))
    print(f"{args.orders} orders, {run.mirrored} mirrored ({outcomes}), {args.latency_ms:g} ms latency per request")
    print(f"{'platform':<14}{'requests':>9}{'writes':>7}{'refused':>8}{'minimal':>8}{'plan s':>8}")
    for f in (source, target):
        print(f"{f.platform:<14}{f.requests:>9}{f.writes:>7}{f.refused:>8}{f.minimal:>8}{f.plan_seconds:>8.1f}")
    requests = source.requests + target.requests
    minimal = source.minimal + target.minimal
    print(f"requests {requests} vs minimal {minimal} ({requests / max(minimal, 1):.2f}x)")
    refused = source.refused + target.refused
    print(f"refused {refused}")
    print(f"real_quota: ordersync {elapsed:.1f} s  minimal plan {plan:.1f} s  ratio {elapsed / plan:.2f}")
    if refused or not run.ok:
        print(f"real_quota: {refused} requests refused; the run {'succeeded' if run.ok else 'failed or parked'}",
              file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    main()

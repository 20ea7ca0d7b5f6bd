"""Platform calls per mirrored order, for each ordered pair of the four platforms.

For every route (12 ordered pairs) a simulated source shop with ``--orders`` seeded orders (the
seeds include shipped, cancelled and completed orders) is mirrored to an empty simulated target
with ``ordersync sync`` run in this process (rate limits lifted: calls are counted, not timed);
then ``ordersync sync --full`` runs again with nothing changed (the deep sweep). Requests are
counted by each simulator (``/__sim/stats``).

The minimum a client could do is:

- **mirror**: the source's list pages at the platform's largest page size, plus the sub-resources
  a list row cannot carry, one call each where the row says they exist (BigCommerce shipments when
  ``items_shipped > 0`` and coupons when ``coupon_discount > 0``; CS-Cart shipments when
  ``shipment_ids`` lists some); the target's list pages (the
  reference index that guards exactly-once reads them; BigCommerce's archived list too); the
  writes that reached the target (every POST/PUT/PATCH/DELETE it answered with 2xx: redundant
  writes are not discounted here, they show in the table's ``writes`` column); one SKU look-up per
  50 orders; and the reads a write or check cannot do without: one per created order on a target
  that reprices (CS-Cart, EverShop: the price-drift check needs its prices), one more per EverShop
  create (the checkout must ask the cart which shipping and payment methods it offers), one per
  order shipped on BigCommerce (its create answer has no ``order_product_id``, which a shipment
  must name);
- **sweep**: the list pages of both sides: the sweep compares both lists with the bindings (an
  unchanged order needs no sub-resource).

The last line reads::

    api_calls: mirror worst R1x min (PAIR)  sweep worst R2x min (PAIR)

The targets (issue #10) are mirror <= 1.25x everywhere (1.1x for MerchantPro -> BigCommerce) and
sweep <= 2x.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import permutations
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rich.console import Console  # noqa: E402

from connectors.cscart.wire import parse_id_list  # noqa: E402
from mappings import mapping_for  # noqa: E402
from simulators.app import RequestStats  # noqa: E402
from tests.workers.cluster import Cluster  # noqa: E402
from workers import context  # noqa: E402
from workers.oneshot import run_once  # noqa: E402

PLATFORMS = ("merchantpro", "bigcommerce", "cscart", "evershop")
# The largest order-list page each platform serves (../shared/platforms/*.md).
LIST_PAGE = {"bigcommerce": 250, "merchantpro": 100, "cscart": 100, "evershop": 100}
# Platforms that list archived orders separately (a second list read).
ARCHIVED_LIST = {"bigcommerce"}
# Targets whose create answer lacks the line ids a shipment needs: one read per shipped order.
CREATE_LACKS_LINE_IDS = {"bigcommerce"}
TARGET_OPTIONS: dict[str, dict[str, Any]] = {"cscart": {"payment_id": 2, "shipping_id": 1}}
# Calls are counted, not timed: the clients' own pacing is lifted too.
UNLIMITED: dict[str, Any] = {"rate_limit": {"requests": 100000, "per_seconds": 1}}
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


@dataclass
class PairFigures:
    """Requests counted for one route."""

    pair: str
    orders: int
    mirrored: int
    mirror_requests: int
    writes: int
    mirror_min: int
    sweep_requests: int
    sweep_min: int

    @property
    def mirror_ratio(self) -> float:
        """Mirror requests over the minimum."""
        return self.mirror_requests / max(self.mirror_min, 1)

    @property
    def sweep_ratio(self) -> float:
        """Sweep requests over the minimum."""
        return self.sweep_requests / max(self.sweep_min, 1)


def _count(stats: dict[str, Any]) -> tuple[int, int]:
    """(all requests, successful writes) from a simulator's stats."""
    total = int(stats["total"])
    writes = sum(n for route, n in stats["by_route"].items()
                 if route.split(" ", 1)[0] in WRITE_METHODS and not route.endswith("graphql"))  # GraphQL: reads
    return total, writes


def list_pages(platform: str, orders: int) -> int:
    """Order-list reads of a whole store at the largest page size (archived orders included)."""
    pages = max(1, math.ceil(orders / LIST_PAGE[platform]))
    return pages * (2 if platform in ARCHIVED_LIST else 1)


def _sub_resources(platform: str, row: dict[str, Any]) -> int:
    """Calls an order's list row says it needs beside the row (see the module docstring)."""
    if platform == "bigcommerce":
        return int(int(row.get("items_shipped") or 0) > 0) + int(float(row.get("coupon_discount") or 0) > 0)
    if platform == "cscart":
        return int(bool(parse_id_list(row.get("shipment_ids"))))
    return 0


def _source_reads(cluster: Cluster, platform: str) -> int:
    """The source's list pages plus the sub-resources its rows need (read before counting starts)."""
    changes = list(context.current().runtime.connector("src").iter_orders(None))
    return list_pages(platform, len(changes)) + sum(_sub_resources(platform, c.snapshot or {}) for c in changes)


def needed_reads(target: str, created: int, shipped: int) -> int:
    """Reads of the new mirrors a write or check needs (see the module docstring)."""
    if target == "evershop":
        return 2 * created  # the cart's methods, then the new order's prices
    if mapping_for(target).capabilities.reprices_from_catalog:
        return created
    return shipped if target in CREATE_LACKS_LINE_IDS else 0


def _reset_counts(cluster: Cluster) -> None:
    for shop in cluster.shops.values():
        shop.simulator.stats = RequestStats()


@contextmanager
def _pair(tmp: Path, source: str, target: str, orders: int, seed: int) -> Iterator[Cluster]:
    """Two simulators (limits lifted), a SQLite store and a one-route config."""
    cluster = Cluster(tmp=tmp, redis_url="memory://", database_url=f"sqlite:///{tmp / 'state.db'}")
    try:
        cluster.add_shop("src", source, orders=orders, seed=seed, rate_limit=False)
        cluster.add_shop("dst", target, orders=0, seed=seed + 1, rate_limit=False)
        options = {"src": dict(UNLIMITED), "dst": {**UNLIMITED, **TARGET_OPTIONS.get(target, {})}}
        cluster.write_config([{"name": "bench", "source": "src", "target": "dst"}], options=options)
        yield cluster
    finally:
        cluster.close()


def measure(source: str, target: str, orders: int, seed: int, console: Console) -> PairFigures:
    """Mirror, then sweep, one pair; count requests on both simulators."""
    with tempfile.TemporaryDirectory(prefix="ordersync-api-calls-") as folder, \
            _pair(Path(folder), source, target, orders, seed) as cluster:
        config = cluster.config
        assert config is not None
        context.install(context.Context.build(config))
        source_reads = _source_reads(cluster, source)
        _reset_counts(cluster)
        run_once(config, console=console)
        src_total, _ = _count(cluster.shops["src"].stats())
        dst_total, writes = _count(cluster.shops["dst"].stats())
        linked = [b for b in cluster.bindings("bench") if b.state == "linked"]
        mirrored, shipped = len(linked), sum(1 for b in linked if b.shipments)
        mirror_min = (source_reads + list_pages(target, 0) + writes + math.ceil(mirrored / 50)
                      + needed_reads(target, mirrored, shipped))
        _reset_counts(cluster)
        run_once(config, full=True, console=console)
        sweep_src, _ = _count(cluster.shops["src"].stats())
        sweep_dst, _ = _count(cluster.shops["dst"].stats())
    return PairFigures(f"{source}->{target}", orders, mirrored, src_total + dst_total, writes, mirror_min,
                       sweep_src + sweep_dst, list_pages(source, orders) + list_pages(target, mirrored))


def main() -> None:
    """Measure every ordered pair and print the table and the last line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--pair", action="append", help="SOURCE:TARGET (repeatable); default: all 12.")
    args = parser.parse_args()
    pairs = [tuple(p.split(":", 1)) for p in args.pair] if args.pair else list(permutations(PLATFORMS, 2))
    quiet = Console(file=open("/dev/null", "w"))  # noqa: SIM115 - the progress bars of the runs are not wanted
    rows = [measure(s, t, args.orders, args.seed, quiet) for s, t in pairs]
    print(f"{'pair':<26}{'orders':>7}{'mirrored':>9}{'mirror req':>11}{'writes':>7}{'min':>6}{'ratio':>7}"
          f"{'sweep req':>10}{'min':>6}{'ratio':>7}")
    for r in rows:
        print(f"{r.pair:<26}{r.orders:>7}{r.mirrored:>9}{r.mirror_requests:>11}{r.writes:>7}{r.mirror_min:>6}"
              f"{r.mirror_ratio:>7.2f}{r.sweep_requests:>10}{r.sweep_min:>6}{r.sweep_ratio:>7.2f}")
    worst_mirror = max(rows, key=lambda r: r.mirror_ratio)
    worst_sweep = max(rows, key=lambda r: r.sweep_ratio)
    print(f"api_calls: mirror worst {worst_mirror.mirror_ratio:.2f}x min ({worst_mirror.pair})  "
          f"sweep worst {worst_sweep.sweep_ratio:.2f}x min ({worst_sweep.pair})")


if __name__ == "__main__":
    main()

"""Two-way mirroring at volume: 1,000 customer orders on each shop, mirrored both ways at once.

Two simulated shops (EverShop and BigCommerce by default; ``--pair`` picks another pair with
webhooks both ways) with routes ``a-to-b`` and ``b-to-a``; customers order on both shops while real
Celery worker processes mirror them, driven only by both shops' webhooks into our intake, every
webhook sent twice in shuffled order. EverShop's reference stamp (the call after its create) fails
for a while, so mirrors are announced before they carry our reference. Counts come from the shops
themselves and the bindings. The last line reads::

    two_way: created A+B  mirrors M  duplicates D  mismatched X

The only acceptable result is M == A + B, D == 0 and X == 0.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import redis

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from scratch_db import create_database, drop_database  # noqa: E402 - benchmarks/scratch_db.py, beside this script

from simulators import FaultConfig  # noqa: E402
from tests.workers.cluster import Cluster  # noqa: E402
from tests.workers.two_way import run_two_way, setup_two_way  # noqa: E402

PAIRS = {"evershop-bigcommerce": ("evershop", "bigcommerce"), "evershop-merchantpro": ("evershop", "merchantpro"),
         "merchantpro-bigcommerce": ("merchantpro", "bigcommerce")}


def main() -> None:
    """Run the two-way mirror and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1000, help="Customer orders per shop.")
    parser.add_argument("--pair", choices=sorted(PAIRS), default="evershop-bigcommerce")
    parser.add_argument("--workers", type=int, default=2, help="Worker processes.")
    parser.add_argument("--concurrency", type=int, default=2, help="Children per worker process.")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/11")
    parser.add_argument("--timeout", type=float, default=3600.0)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="ordersync-bench-"))
    database, pg_name = create_database(tmp)
    if pg_name:
        from sync.store import Store

        Store(database, auto_migrate=True).dispose()
    redis.Redis.from_url(args.redis).flushdb()
    cluster = Cluster(tmp=tmp, redis_url=args.redis, database_url=database)
    started = time.monotonic()
    try:
        faults = FaultConfig(duplicate_webhook_rate=1.0, webhook_jitter_ms=500, seed=1)
        setup_two_way(cluster, *PAIRS[args.pair], faults=faults, concurrency=args.concurrency,
                      workers=args.workers, unstamped=max(10, args.orders // 10))
        figures = run_two_way(cluster, args.orders, timeout=args.timeout)
        deliveries = sum(len(shop.simulator.webhooks.deliveries) for shop in cluster.shops.values())
        print(f"pair {args.pair}, webhooks delivered {deliveries}, elapsed {time.monotonic() - started:.0f} s, "
              f"database {'postgresql' if pg_name else 'sqlite'}")
        for problem in figures.problems[:20]:
            print(f"  problem: {problem}")
        print(figures.line())
    finally:
        cluster.close()
        redis.Redis.from_url(args.redis).flushdb()
        drop_database(pg_name)


if __name__ == "__main__":
    main()

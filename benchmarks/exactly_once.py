"""Exactly once under chaos: 500 source orders, ghost writes and duplicated, shuffled webhooks.

A simulated MerchantPro shop with 500 orders is mirrored to a simulated BigCommerce shop by real
Celery worker processes over the real Redis and PostgreSQL (SQLite when PostgreSQL is not
reachable). BigCommerce applies a share of the creates but loses their answers (ghost writes);
MerchantPro sends every webhook twice, in shuffled order, while the poller reads the same orders.

The last line reads::

    exactly_once: source N orders  target M orders  duplicates D  ghost writes G  webhooks W

The only acceptable result is M == N and D == 0.

``--chaos`` runs the full scenario of ``benchmarks/chaos.py`` (serve, two workers, beat, target
faults, source changes, worker SIGKILLs, a Redis stop) and ends with::

    exactly_once: source N orders  target M orders  duplicates D  mismatched X  lost L  ghost writes G  webhooks W
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import redis

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from scratch_db import create_database, drop_database  # noqa: E402 - benchmarks/scratch_db.py, beside this script

from simulators import FaultConfig  # noqa: E402
from tests.workers.cluster import Cluster  # noqa: E402


def main() -> None:
    """Run the chaos mirror and print the counts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=500)
    parser.add_argument("--ghost-rate", type=float, default=0.2)
    parser.add_argument("--workers", type=int, default=2, help="Worker processes (3 children each).")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/12")
    parser.add_argument("--chaos", action="store_true", help="serve + two workers + beat under faults, worker "
                        "SIGKILLs and a Redis stop (its own redis-server on a free port); see benchmarks/chaos.py")
    parser.add_argument("--chaos-seconds", type=float, default=120.0, help="Length of the fault window.")
    parser.add_argument("--max-wait", type=float, default=900.0, help="How long to wait for convergence after "
                        "the last fault.")
    parser.add_argument("--poll-interval", type=float, default=30.0)
    parser.add_argument("--concurrency", type=int, default=3, help="Children per worker process.")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="ordersync-bench-"))
    database, pg_name = create_database(tmp)
    if pg_name:
        from sync.store import Store

        Store(database, auto_migrate=True).dispose()
    if args.chaos:
        from chaos import run_chaos  # benchmarks/chaos.py, beside this script

        try:
            run_chaos(args, tmp, database, lambda line: print(line, flush=True))
        finally:
            drop_database(pg_name)
        return
    redis.Redis.from_url(args.redis).flushdb()
    cluster = Cluster(tmp=tmp, redis_url=args.redis, database_url=database)
    started = time.monotonic()
    try:
        mp = cluster.add_shop("ro", "merchantpro", orders=args.orders, seed=2026, rate_limit=False,
                              faults=FaultConfig(duplicate_webhook_rate=1.0, webhook_jitter_ms=500, seed=1))
        bc = cluster.add_shop("us", "bigcommerce", rate_limit=False,
                              faults=FaultConfig(ghost_write_rate=args.ghost_rate, ghost_mode="gateway", seed=2))
        bc.simulator.currency = "RON"
        every_status = ["pending", "processing", "on_hold", "completed", "cancelled", "archived"]
        fast = {"rate_limit": {"requests": 100_000, "per_seconds": 60, "burst": 200}}
        cluster.write_config([{"source": "ro", "target": "us", "source_statuses": every_status}],
                             options={"ro": fast, "us": fast})
        api = cluster.serve_api()
        mp.simulator.configure_webhooks(f"{api}/webhooks/ro", "e2e-webhook-secret")
        for _ in range(args.workers):
            cluster.start_worker(concurrency=3)
        for order_id in list(mp.simulator.orders):  # every order announced by (doubled, shuffled) webhooks
            cluster.merchant("ro", "PATCH", f"/api/v2/orders/{order_id}", {"customer_note": "announced"})
        cluster.poll("ro")  # ... and read by the poller at the same time
        mp.simulator.webhooks.wait_idle(300)
        cluster.settle(timeout=1800, quiet=3.0)
        references = Counter(o.data.get("external_order_id") for o in bc.simulator.orders.values())
        duplicates = sum(n - 1 for n in references.values() if n > 1)
        ghosts = bc.stats()["injected"].get("ghost", 0)
        deliveries = len(mp.simulator.webhooks.deliveries)
        linked = sum(b.state == "linked" for b in cluster.bindings("ro-to-us"))
        print(f"linked bindings {linked}, elapsed {time.monotonic() - started:.0f} s, database "
              f"{'postgresql' if pg_name else 'sqlite'}")
        print(f"exactly_once: source {len(mp.simulator.orders)} orders  target {len(bc.simulator.orders)} orders  "
              f"duplicates {duplicates}  ghost writes {ghosts}  webhooks {deliveries}")
    finally:
        cluster.close()
        redis.Redis.from_url(args.redis).flushdb()
        drop_database(pg_name)


if __name__ == "__main__":
    main()

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
import uuid
from collections import Counter
from pathlib import Path

import redis
from sqlalchemy import create_engine, text

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from simulators import FaultConfig  # noqa: E402
from tests.workers.cluster import Cluster  # noqa: E402

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def _database(tmp: Path) -> tuple[str, str | None]:
    try:
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 2})
        name = f"ordersync_bench_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", name
    except Exception:  # noqa: BLE001 - PostgreSQL is optional
        return f"sqlite:///{tmp / 'state.db'}", None


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
    database, pg_name = _database(tmp)
    if pg_name:
        from sync.store import Store

        Store(database, auto_migrate=True).dispose()
    if args.chaos:
        from chaos import run_chaos  # benchmarks/chaos.py, beside this script

        try:
            run_chaos(args, tmp, database, lambda line: print(line, flush=True))
        finally:
            _drop(pg_name)
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
        _drop(pg_name)


def _drop(pg_name: str | None) -> None:
    if pg_name:
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()

"""State loss: the target's references, not the local store, decide what was already mirrored.

500 MerchantPro orders are mirrored to BigCommerce with ``ordersync sync`` (SQLite store). Then,
twice, the state store is lost:

1. **wiped**: the SQLite file is deleted and created again empty (``ordersync db upgrade``);
2. **moved**: the configuration points at a new, empty PostgreSQL database.

Each time the merchant's shop goes on as before: every order changes once (so MerchantPro sends
every webhook twice, shuffled, to ``ordersync serve`` and a Celery worker), BigCommerce loses the
answer to 20 % of writes (ghost writes), and cron runs ``ordersync sync``. The target must still
hold exactly 500 orders, no create may reach it, and every binding must be back.

Runs on its own Redis (a ``redis-server`` started on a free port and stopped at the end). Last line::

    state_loss: orders N  wiped: target M1 creates C1 bindings B1  moved: target M2 creates C2 bindings B2
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import redis
from sqlalchemy import create_engine, text

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from simulators import FaultConfig  # noqa: E402
from simulators.faults import FaultPlan  # noqa: E402
from tests.workers.cluster import Cluster, Shop  # noqa: E402

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_redis(tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    process = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no", "--dir", str(tmp)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    for _ in range(100):
        with contextlib.suppress(redis.RedisError):
            if redis.Redis.from_url(url).ping():
                return process, url
        time.sleep(0.05)
    raise RuntimeError("redis-server did not start")


def _cli(cluster: Cluster, *args: str, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    assert cluster.config_path is not None
    env = {**os.environ, **cluster.env, "PYTHONPATH": str(REPO)}
    env.pop("ORDERSYNC_DATABASE_URL", None)
    return subprocess.run([sys.executable, "-c", "from workers.cli import main; main()", *args,
                           "--config", str(cluster.config_path)], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=timeout)


def _creates(shop: Shop) -> int:
    return int(shop.stats()["by_route"].get("POST /v2/orders", 0))


def _list_reads(shop: Shop) -> int:
    """``GET /v2/orders`` calls: reference-index pages and filtered lookups by reference."""
    return int(shop.stats()["by_route"].get("GET /v2/orders", 0))


def _resync(cluster: Cluster, mp: Shop, bc: Shop, label: str) -> tuple[int, int, int]:
    """The shop goes on after the loss: doubled webhooks to serve + a worker, then cron's `sync`."""
    upgrade = _cli(cluster, "db", "upgrade")
    assert upgrade.returncode == 0, upgrade.stderr
    worker = cluster.start_worker(concurrency=2)
    creates_before, lists_before = _creates(bc), _list_reads(bc)
    started = time.monotonic()
    for order_id in list(mp.simulator.orders):  # every order changes: two shuffled webhooks each
        cluster.merchant("ro", "PATCH", f"/api/v2/orders/{order_id}", {"customer_note": f"after {label}"})
    mp.simulator.webhooks.wait_idle(600)
    cluster.settle(timeout=1800, quiet=3.0)
    done = _cli(cluster, "sync")
    cluster.settle(timeout=600, quiet=2.0)
    cluster.kill_worker(worker)
    linked = sum(b.state == "linked" and bool(b.target_id) for b in cluster.bindings("ro-to-us"))
    created = _creates(bc) - creates_before
    print(f"{label}: sync exit {done.returncode}, {time.monotonic() - started:.0f} s, target "
          f"{len(bc.simulator.orders)} orders, creates {created}, linked bindings {linked}, "
          f"order-list reads on the target {_list_reads(bc) - lists_before}, ghost writes "
          f"{bc.stats()['injected'].get('ghost', 0)}, webhooks {len(mp.simulator.webhooks.deliveries)}", flush=True)
    return len(bc.simulator.orders), created, linked


def main() -> None:
    """Mirror, lose the store twice, sync again; print the counts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=500)
    parser.add_argument("--ghost-rate", type=float, default=0.2)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="ordersync-state-loss-"))
    redis_process, redis_url = _start_redis(tmp)
    pg_name = f"ordersync_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 2})
    sqlite_url = f"sqlite:///{tmp / 'state.db'}"
    cluster = Cluster(tmp=tmp, redis_url=redis_url, database_url=sqlite_url)
    try:
        mp = cluster.add_shop("ro", "merchantpro", orders=args.orders, seed=2026, rate_limit=False,
                              faults=FaultConfig(duplicate_webhook_rate=1.0, webhook_jitter_ms=300, seed=1))
        bc = cluster.add_shop("us", "bigcommerce", rate_limit=False)
        bc.simulator.currency = "RON"
        every_status = ["pending", "processing", "on_hold", "completed", "cancelled", "archived"]
        fast = {"rate_limit": {"requests": 100_000, "per_seconds": 60, "burst": 200}}
        routes = [{"source": "ro", "target": "us", "source_statuses": every_status}]
        cluster.write_config(routes, options={"ro": fast, "us": fast})
        assert _cli(cluster, "db", "upgrade").returncode == 0
        started = time.monotonic()
        first = _cli(cluster, "sync")
        mirrored = len(bc.simulator.orders)
        print(f"mirrored: sync exit {first.returncode}, {time.monotonic() - started:.0f} s, target {mirrored} "
              f"orders, creates {_creates(bc)}", flush=True)
        # From now on BigCommerce loses answers, and MerchantPro announces changes by webhook.
        bc.simulator.faults = FaultPlan(FaultConfig(ghost_write_rate=args.ghost_rate, ghost_mode="gateway", seed=2))
        api = cluster.serve_api()
        mp.simulator.configure_webhooks(f"{api}/webhooks/ro", "e2e-webhook-secret")

        (tmp / "state.db").unlink()  # 1. the store is wiped
        for suffix in ("-wal", "-shm"):
            (tmp / f"state.db{suffix}").unlink(missing_ok=True)
        cluster.write_config(routes, options={"ro": fast, "us": fast})
        wiped = _resync(cluster, mp, bc, "wiped")

        with admin.connect() as conn:  # 2. moved to a new PostgreSQL database
            conn.execute(text(f'CREATE DATABASE "{pg_name}"'))
        cluster.database_url = PG_ADMIN.rsplit("/", 1)[0] + f"/{pg_name}"
        assert _cli_upgrade_pg(cluster) == 0
        cluster.write_config(routes, options={"ro": fast, "us": fast})
        moved = _resync(cluster, mp, bc, "moved")
        print(f"state_loss: orders {mirrored}  wiped: target {wiped[0]} creates {wiped[1]} bindings {wiped[2]}  "
              f"moved: target {moved[0]} creates {moved[1]} bindings {moved[2]}")
    finally:
        cluster.close()
        redis_process.terminate()
        redis_process.wait(10)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)'))
        admin.dispose()


def _cli_upgrade_pg(cluster: Cluster) -> int:
    """``ordersync db upgrade --url`` on the new database (before the config points at it)."""
    env = {**os.environ, **cluster.env, "PYTHONPATH": str(REPO)}
    env.pop("ORDERSYNC_DATABASE_URL", None)
    done = subprocess.run([sys.executable, "-c", "from workers.cli import main; main()", "db", "upgrade", "--url",
                           cluster.database_url], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    return done.returncode


if __name__ == "__main__":
    main()

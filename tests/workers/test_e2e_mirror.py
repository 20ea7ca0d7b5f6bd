"""End to end with a real Celery worker process, real Redis and a real database.

Each test starts simulated shops, writes an ordersync.toml, starts `celery -A workers.app worker`,
drives it the way production does (polls and webhooks), and checks the target shops.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.workers.cluster import Cluster
from tests.workers.private_redis import private_redis, redis_server_binary

pytestmark = [pytest.mark.redis, pytest.mark.celery_worker, pytest.mark.slow]

PG_ADMIN = os.environ.get("ORDERSYNC_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """A fresh PostgreSQL database when reachable, else a SQLite file shared by the processes."""
    try:
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 2})
        name = f"ordersync_e2e_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception:  # noqa: BLE001 - PostgreSQL is optional: fall back to SQLite
        yield f"sqlite:///{tmp_path / 'state.db'}"
        return
    url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    from sync.store import Store

    Store(url, auto_migrate=True).dispose()
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def cluster(tmp_path: Path, database_url: str) -> Iterator[Cluster]:
    """A cluster on its own private redis-server (so parallel tests never share a broker)."""
    if redis_server_binary() is None:
        pytest.skip("redis-server is not installed: the worker end-to-end tests need one to start")
    with private_redis(tmp_path / "redis") as server:
        c = Cluster(tmp=tmp_path, redis_url=server.url, database_url=database_url)
        try:
            yield c
        finally:
            c.close()


def test_merchantpro_to_bigcommerce_lifecycle_by_poll_and_webhook(cluster: Cluster) -> None:
    """Creates, a status change, a shipment with tracking, a cancellation and a deletion all arrive,
    via polls and via MerchantPro's signed webhooks, each exactly once."""
    mp = cluster.add_shop("ro", "merchantpro", orders=6, seed=3)
    bc = cluster.add_shop("us", "bigcommerce", rate_limit=(450, 30.0))
    bc.simulator.currency = "RON"
    cluster.write_config([{"source": "ro", "target": "us", "poll_interval": 60, "lookback": 300}],
                         options={"us": {"rate_limit": {"requests": 450, "per_seconds": 30}}})
    api = cluster.serve_api()
    mp.simulator.configure_webhooks(f"{api}/webhooks/ro", "e2e-webhook-secret")
    cluster.start_worker()

    cluster.poll("ro")
    cluster.wait(lambda: sum(b.state == "linked" for b in cluster.bindings()) == 6, 90, "6 linked bindings")
    assert len(bc.simulator.orders) == 6

    a, b, c, d = (x.source_id for x in cluster.bindings()[:4])
    cluster.merchant("ro", "PATCH", f"/api/v2/orders/{a}", {"payment_status": "paid"})
    cluster.merchant("ro", "PATCH", f"/api/v2/orders/{a}/in_process")
    cluster.merchant("ro", "PATCH", f"/api/v2/orders/{b}", {"shipping_awb": "AWB-E2E-1"})
    cluster.merchant("ro", "PATCH", f"/api/v2/orders/{b}/shipped")
    cluster.merchant("ro", "PATCH", f"/api/v2/orders/{c}/cancelled")
    cluster.merchant("ro", "DELETE", f"/api/v2/orders/{d}")

    route = "ro-to-us"

    def arrived() -> bool:
        try:
            first, shipped, cancelled = (cluster.neutral("us", cluster.mirror_of(route, x)) for x in (a, b, c))
            gone = cluster.neutral("us", cluster.mirror_of(route, d))
        except Exception:  # noqa: BLE001 - not there yet
            return False
        return (first.payment_status == "paid" and first.status == "processing"
                and any(s.tracking_number == "AWB-E2E-1" for s in shipped.shipments)
                and cancelled.status == "cancelled" and gone.status == "archived")

    cluster.wait(arrived, 90, "webhook-driven changes on BigCommerce")
    assert cluster.api is not None
    cluster.poll("ro")  # the safety net finds nothing more to do
    cluster.wait(lambda: cluster.queue_length() == 0, 30, "an empty queue")
    assert len(bc.simulator.orders) == 6, "no duplicate orders"
    shipped = cluster.neutral("us", cluster.mirror_of(route, b))
    assert [s.tracking_number for s in shipped.shipments].count("AWB-E2E-1") == 1, "no duplicate shipment"

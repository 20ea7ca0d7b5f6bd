"""Faults end to end (real worker processes, real Redis, real database): every source order ends up
exactly once on the target, in the right state, whatever the platforms and the workers do.

- ghost writes on create (the target applies the create but the answer is lost) together with
  duplicated and reordered webhooks;
- a worker killed (SIGKILL) in the middle of reconciles, then a new worker;
- 429 storms against a small shared quota, with several worker processes;
- a two-way route, where our own writes must not echo back.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from sqlmodel import select

from simulators import FaultConfig
from sync.models import Operation
from tests.workers.cluster import Cluster
from tests.workers.test_e2e_mirror import cluster, database_url  # noqa: F401 - shared fixtures
from workers import context

pytestmark = [pytest.mark.redis, pytest.mark.celery_worker, pytest.mark.slow]

FAST_BC = {"rate_limit": {"requests": 3000, "per_seconds": 30, "burst": 100}}
FAST_MP = {"rate_limit": {"requests": 3000, "per_seconds": 60, "burst": 50}}


def _operations() -> list[Operation]:
    with context.current().store.session() as s:
        return list(s.exec(select(Operation)).all())


def _linked(c: Cluster, route: str) -> int:
    return sum(b.state == "linked" for b in c.bindings(route))


def test_ghost_writes_and_duplicate_out_of_order_webhooks_create_each_order_once(cluster: Cluster) -> None:  # noqa: F811
    """40 orders; a third of the creates on BigCommerce lose their answer; every MerchantPro webhook is
    sent twice, shuffled. Exactly 40 BigCommerce orders exist at the end, all linked."""
    n = 40
    mp = cluster.add_shop("ro", "merchantpro", orders=n, seed=21, rate_limit=False,
                          faults=FaultConfig(duplicate_webhook_rate=1.0, webhook_jitter_ms=400, seed=3))
    bc = cluster.add_shop("us", "bigcommerce", rate_limit=False,
                          faults=FaultConfig(ghost_write_rate=0.35, ghost_mode="gateway", seed=4))
    bc.simulator.currency = "RON"
    cluster.write_config([{"source": "ro", "target": "us"}], options={"ro": FAST_MP, "us": FAST_BC})
    api = cluster.serve_api()
    mp.simulator.configure_webhooks(f"{api}/webhooks/ro", "e2e-webhook-secret")
    cluster.start_worker(concurrency=3)
    ids = list(mp.simulator.orders)
    for order_id in ids:  # the merchant touches every order: webhooks (doubled, shuffled) announce them
        cluster.merchant("ro", "PATCH", f"/api/v2/orders/{order_id}", {"customer_note": "touched"})
    mp.simulator.webhooks.wait_idle(60)
    cluster.poll("ro")  # and the poller overlaps with the webhooks on purpose
    cluster.settle(timeout=180)
    ghosts = bc.stats()["injected"].get("ghost", 0)
    assert ghosts > 0, "the test must actually lose some create answers"
    deliveries = [d for d in mp.simulator.webhooks.deliveries if d.status == 202]
    assert len(deliveries) >= 2 * n, "every webhook was delivered twice"
    # Abandoned checkouts (MerchantPro payment "temporary") are never mirrored by default.
    expected = sum(o.get("payment_status") != "temporary" for o in mp.simulator.orders.values())
    assert expected >= n - 8
    assert _linked(cluster, "ro-to-us") == expected
    assert len(bc.simulator.orders) == expected, f"{len(bc.simulator.orders)} BigCommerce orders for {expected}"
    references = [o.data.get("external_order_id") for o in bc.simulator.orders.values()]
    assert len(set(references)) == expected
    adopted = [op for op in _operations() if op.operation == "create" and (op.result or {}).get("adopted")]
    assert adopted, "some ghost writes were recovered by lookup instead of created again"


def test_worker_killed_mid_reconcile_and_restarted(cluster: Cluster) -> None:  # noqa: F811
    """A worker is SIGKILLed while creates are in flight; its unacknowledged tasks come back to a new
    worker (short visibility timeout), which finishes them without duplicates."""
    n = 8
    cluster.add_shop("ro", "merchantpro", orders=n, seed=8, rate_limit=False)
    bc = cluster.add_shop("us", "bigcommerce", rate_limit=False, faults=FaultConfig(latency_ms=600))
    bc.simulator.currency = "RON"
    cluster.write_config([{"source": "ro", "target": "us"}], options={"ro": FAST_MP, "us": FAST_BC})
    quick = {"ORDERSYNC_VISIBILITY_TIMEOUT": "4", "ORDERSYNC_LOCK_TTL": "5"}
    first = cluster.start_worker(concurrency=2, extra_env=quick)
    cluster.poll("ro")
    cluster.wait(lambda: any(op.operation == "create" and op.status == "started" for op in _operations()), 60,
                 "a create in flight")
    time.sleep(0.5)
    cluster.kill_worker(first)
    in_flight = [op for op in _operations() if op.status == "started"]
    assert cluster.unacked() > 0 or cluster.queue_length() > 0, "work was left behind by the killed worker"
    httpx.post(f"{bc.server.url}/__sim/faults", json={"latency_ms": 0}, timeout=5)
    cluster.start_worker(concurrency=2, extra_env=quick)
    cluster.wait(lambda: _linked(cluster, "ro-to-us") == n, 120, "every order linked after the restart")
    cluster.settle()
    assert len(bc.simulator.orders) == n, "no duplicate after the crash"
    assert in_flight, "the kill really happened mid-reconcile"


def test_429_storm_stays_within_the_shared_bucket_and_loses_nothing(cluster: Cluster) -> None:  # noqa: F811
    """Two worker processes (6 children) against a 60-per-10 s window with spurious 429s: the shared
    Redis bucket keeps every process under the quota, and every order still arrives."""
    n = 10
    cluster.add_shop("ro", "merchantpro", orders=n, seed=9, rate_limit=False)
    bc = cluster.add_shop("us", "bigcommerce", rate_limit=(60, 10.0),
                          faults=FaultConfig(rate_limit_rate=0.15, seed=5))
    bc.simulator.currency = "RON"
    bucket = {"requests": 50, "per_seconds": 10, "burst": 8}
    cluster.write_config([{"source": "ro", "target": "us"}], options={"ro": FAST_MP, "us": {"rate_limit": bucket}})
    cluster.start_worker(concurrency=3)
    cluster.start_worker(concurrency=3)
    cluster.poll("ro")
    cluster.wait(lambda: _linked(cluster, "ro-to-us") == n, 240, "every order linked through the storm")
    cluster.settle(timeout=120)
    stats = bc.stats()
    spurious = stats["injected"].get("rate_limit", 0)
    over_quota = stats["by_status"].get("429", 0) - spurious
    assert spurious > 0, "the storm really happened"
    assert over_quota == 0, f"{over_quota} requests went above the window: the bucket leaked"
    peak = max(bc.simulator.stats.per_second.values())
    assert peak <= bucket["burst"] + 5, f"peak {peak} req/s above burst + rate"
    assert len(bc.simulator.orders) == n


def _writes(direction: str) -> list[Operation]:
    return [op for op in _operations() if op.idempotency_key.startswith(f"os1:{direction}:")]


def test_two_way_route_mirrors_both_ways_without_echo_writes(cluster: Cluster) -> None:  # noqa: F811
    """MerchantPro ⇄ BigCommerce: a change made on either side reaches the other once, and our own
    writes coming back are recognised, so re-polling both sides writes nothing."""
    cluster.add_shop("ro", "merchantpro", orders=3, seed=12, rate_limit=False)
    bc = cluster.add_shop("us", "bigcommerce", rate_limit=False)
    bc.simulator.currency = "RON"
    cluster.write_config([{"source": "ro", "target": "us", "two_way": True}], options={"ro": FAST_MP, "us": FAST_BC})
    cluster.start_worker()
    route = "ro-to-us"
    cluster.poll("ro")
    cluster.settle()
    assert _linked(cluster, route) == 3

    # Our creates on BigCommerce come back on its feed: they are mirrors, nothing is written.
    before = len(_operations())
    cluster.poll("us")
    cluster.settle()
    assert len(_operations()) == before, "polling our own mirrors wrote something"

    binding = cluster.bindings(route)[0]
    target_id = binding.target_id or ""
    source_before = cluster.neutral("ro", binding.source_id)
    cluster.merchant("us", "PUT", f"/v2/orders/{target_id}", {"status_id": 5})  # cancelled on BigCommerce
    cluster.poll("us")
    cluster.wait(lambda: cluster.neutral("ro", binding.source_id).status == "cancelled", 60,
                 "the BigCommerce cancellation on MerchantPro")
    cluster.settle()
    reverse: list[Any] = [op for op in _writes("rev") if op.source_id == binding.source_id]
    assert reverse, "the change travelled back"
    forward_before = len(_writes("fwd"))
    # MerchantPro now shows our write: polling it must not bounce the change back to BigCommerce.
    cluster.poll("ro")
    cluster.poll("us")
    cluster.settle()
    assert len(_writes("fwd")) == forward_before, "echo: our MerchantPro write was written back to BigCommerce"
    assert source_before.status != "cancelled"
    assert len(bc.simulator.orders) == 3

"""Worker processes' metrics: a real Celery prefork worker counts into PROMETHEUS_MULTIPROC_DIR, and
the sum over its children is what a scrape sees."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector

from tests.workers.cluster import Cluster
from tests.workers.test_e2e_mirror import cluster, database_url  # noqa: F401 - the e2e fixtures

pytestmark = [pytest.mark.redis, pytest.mark.celery_worker, pytest.mark.slow]


def _samples(directory: Path) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(directory))
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for f in registry.collect() for s in f.samples}


def _sum(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return sum(v for (n, ls), v in samples.items() if n == name and set(labels.items()) <= set(ls))


def test_prefork_children_export_their_counters(cluster: Cluster, tmp_path: Path) -> None:  # noqa: F811
    directory = tmp_path / "prometheus"
    directory.mkdir()
    cluster.add_shop("ro", "merchantpro", orders=4, seed=5)
    bc = cluster.add_shop("us", "bigcommerce", rate_limit=(450, 30.0))
    bc.simulator.currency = "RON"
    cluster.write_config([{"source": "ro", "target": "us", "poll_interval": 60, "lookback": 300}],
                         options={"us": {"rate_limit": {"requests": 450, "per_seconds": 30}}})
    cluster.start_worker(concurrency=2, extra_env={"PROMETHEUS_MULTIPROC_DIR": str(directory)})
    cluster.poll("ro")
    cluster.wait(lambda: sum(b.state == "linked" for b in cluster.bindings()) == 4, 90, "4 linked bindings")
    cluster.wait(lambda: _sum(_samples(directory), "ordersync_reconciles_total", route="ro-to-us",
                              outcome="synced") == 4, 30, "4 synced reconciles in the worker's metrics")
    samples = _samples(directory)
    # Every write the ledger recorded as done went out as one POST/PUT from a worker child (creates, shipments).
    from workers import context

    done = sum(row["count"] for row in context.current().store.counts()["operations"] if row["status"] == "succeeded")
    writes = sum(_sum(samples, "ordersync_platform_calls_total", store="us", method=m) for m in ("POST", "PUT"))
    assert writes == done >= 4
    assert _sum(samples, "ordersync_reconcile_duration_seconds_count", route="ro-to-us") == 4
    assert len(list(directory.glob("counter_*.db"))) >= 1

"""Two-way routes under concurrency (issue #9): orders created on both shops while both intakes are
live and real Celery workers (concurrency 2) mirror them both ways: exactly one mirror per order,
none mirrored back, every binding one-to-one. One test per pair with webhooks both ways."""

from __future__ import annotations

import pytest

from simulators import FaultConfig
from tests.workers.cluster import Cluster
from tests.workers.test_e2e_mirror import cluster, database_url  # noqa: F401 - shared fixtures
from tests.workers.two_way import run_two_way, setup_two_way

pytestmark = [pytest.mark.redis, pytest.mark.celery_worker, pytest.mark.slow]

PER_SIDE = 20


@pytest.mark.parametrize(("platform_a", "platform_b"), [
    ("evershop", "bigcommerce"), ("evershop", "merchantpro"), ("merchantpro", "bigcommerce"),
])
def test_two_way_mirrors_each_order_exactly_once(cluster: Cluster, platform_a: str,  # noqa: F811
                                                 platform_b: str) -> None:
    """Duplicated and reordered webhooks from both sides; the figures must be exact."""
    faults = FaultConfig(duplicate_webhook_rate=0.3, webhook_jitter_ms=300, seed=4)
    setup_two_way(cluster, platform_a, platform_b, faults=faults, concurrency=2)
    figures = run_two_way(cluster, PER_SIDE, timeout=240)
    assert figures.problems == [], f"{figures.line()}\n{figures.problems}\n{cluster.diagnostics()}"
    assert (figures.created_a, figures.created_b) == (PER_SIDE, PER_SIDE)
    assert figures.mirrors == 2 * PER_SIDE
    assert figures.duplicates == 0
    assert figures.mismatched == 0

"""Fixtures for the BigCommerce connector tests: a seeded simulator served in-process."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from connectors.bigcommerce.client import BigCommerceConnector, open_connector
from connectors.testing import ASGITransport
from simulators.bigcommerce import Simulator
from tests.connectors.bigcommerce.samples import settings

FAST = {"backoff": 0.01, "rate_limit": {"requests": 10_000, "per_seconds": 1, "burst": 1000}}


@pytest.fixture
def sim() -> Simulator:
    """A store with 20 seeded orders and no rate window (tests that need one build their own)."""
    return Simulator(orders=20, seed=7, rate_limit=False)


@pytest.fixture
def make_connector() -> Iterator[Callable[..., BigCommerceConnector]]:
    """Build connectors over in-process transports; everything is closed after the test."""
    opened: list[tuple[BigCommerceConnector, ASGITransport]] = []

    def make(simulator: Simulator, *, token: str = "sim-token", timeout: float | None = 5.0,
             transport: Any = None, **options: Any) -> BigCommerceConnector:
        inner = ASGITransport(simulator.app, timeout=timeout)
        connector = open_connector(settings(token=token, **{**FAST, **options}), transport=transport(inner)
                                   if transport else inner)
        opened.append((connector, inner))
        return connector

    yield make
    for connector, inner in opened:
        connector.close()
        inner.close()


@pytest.fixture
def connector(sim: Simulator, make_connector: Callable[..., BigCommerceConnector]) -> BigCommerceConnector:
    """A connector on :func:`sim`."""
    return make_connector(sim)

"""A simulated MerchantPro shop and a connector wired to it in-process."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from connectors.base import ConnectionSettings
from connectors.merchantpro.client import MerchantProConnector, open_connector
from connectors.ratelimit import RateLimiter
from connectors.testing import ASGITransport
from simulators.merchantpro import Simulator


def settings(**credentials: str) -> ConnectionSettings:
    creds = {"api_key": "sim-key", "api_secret": "sim-secret", **credentials}
    return ConnectionSettings(store="mp-test", platform="merchantpro", base_url="http://127.0.0.1",
                              credentials=creds, timeout=5.0)


class Shop:
    """A simulator with connectors attached; closes every transport it opened."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self._transports: list[ASGITransport] = []

    def connect(self, *, limiter: RateLimiter | None = None, **credentials: str) -> MerchantProConnector:
        transport = ASGITransport(self.sim, timeout=2.0)
        self._transports.append(transport)
        return open_connector(settings(**credentials), transport=transport, limiter=limiter)

    def close(self) -> None:
        for transport in self._transports:
            transport.close()


@pytest.fixture
def shop(request: pytest.FixtureRequest) -> Iterator[Shop]:
    params: dict[str, Any] = getattr(request, "param", {})
    sim = Simulator(orders=params.get("orders", 12), seed=7, rate_limit=params.get("rate_limit", False))
    shop = Shop(sim)
    yield shop
    shop.close()


@pytest.fixture
def connector(shop: Shop) -> MerchantProConnector:
    return shop.connect()

"""Fixtures for the CS-Cart connector tests: a simulator and a connector talking to it in-process."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from connectors.base import ConnectionSettings
from connectors.cscart.client import CsCartConnector, open_connector
from connectors.testing import ASGITransport
from simulators.cscart import Simulator

CREDENTIALS = {"email": "admin@example.com", "api_key": "sim-api-key"}


class Clock:
    """A settable clock shared by the simulator and the connector."""

    def __init__(self, now: float = 1_795_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def tick(self, seconds: float = 1.0) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_sim(clock: Clock) -> Callable[..., Simulator]:
    def make(**kwargs: Any) -> Simulator:
        return Simulator(clock=clock, **kwargs)

    return make


@pytest.fixture
def sim(make_sim: Callable[..., Simulator]) -> Simulator:
    return make_sim(orders=23, seed=7)


@pytest.fixture
def connect(clock: Clock) -> Iterator[Callable[..., CsCartConnector]]:
    opened: list[tuple[CsCartConnector, ASGITransport]] = []

    def make(simulator: Simulator, *, credentials: dict[str, str] | None = None, timeout: float = 5.0,
             **options: Any) -> CsCartConnector:
        transport = ASGITransport(simulator.app, timeout=timeout)
        settings = ConnectionSettings(store="cs", platform="cscart", base_url="http://shop.test",
                                      credentials=credentials or CREDENTIALS,
                                      options={"page_size": 5, **options}, timeout=timeout)
        connector = open_connector(settings, transport=transport)
        connector._clock = clock
        connector.http.backoff = 0.01  # retries without the production back-off pauses
        opened.append((connector, transport))
        return connector

    yield make
    for connector, transport in opened:
        connector.close()
        transport.close()


@pytest.fixture
def connector(sim: Simulator, connect: Callable[..., CsCartConnector]) -> CsCartConnector:
    return connect(sim)

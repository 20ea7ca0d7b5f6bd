"""Connectors: ordersync's hands on each shop platform (lowest layer; imports nothing of ours above).

Each platform lives in ``connectors/<platform>/``:

- ``wire.py``: pydantic models of the platform's own JSON (read and write shapes);
- ``client.py``: the :class:`~connectors.base.Connector` implementation over httpx;

The simulated shops live in the top-level ``simulators`` package, which imports nothing of ours.
"""

from __future__ import annotations

from importlib import import_module

import httpx

from connectors.base import PLATFORMS, ConnectionSettings, Connector
from connectors.ratelimit import RateLimiter

__all__ = ["PLATFORMS", "open_connector"]


def open_connector(
    settings: ConnectionSettings,
    *,
    transport: httpx.BaseTransport | None = None,
    limiter: RateLimiter | None = None,
) -> Connector:
    """Open the connector for ``settings.platform`` (its ``client.open_connector``)."""
    module = import_module(f"connectors.{settings.platform}.client")
    connector: Connector = module.open_connector(settings, transport=transport, limiter=limiter)
    return connector


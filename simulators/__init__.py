"""Shared machinery of the platform simulators: faults, rate windows, webhooks, serving.

Each platform's ``simulators/<platform>.py`` builds a stateful in-memory shop on
:class:`~simulators.app.SimulatorBase`, which gives it, uniformly:

- fault injection (latency, 5xx, 429, timeouts, ghost writes, duplicate/out-of-order webhooks);
- a per-store request window with the platform's own rate-limit headers and 429 body;
- request statistics (per-second peak) for the benchmarks;
- a webhook sender with retries;
- control endpoints under ``/__sim/`` (outside auth and limits) for tests and the demo.
"""

from importlib import import_module
from typing import Any

from simulators.app import SimulatorBase, json_response
from simulators.faults import FaultConfig, FaultPlan
from simulators.runner import RunningServer, serve, serve_in_thread
from simulators.webhooks import WebhookSender

__all__ = [
    "PLATFORMS",
    "FaultConfig",
    "FaultPlan",
    "RunningServer",
    "SimulatorBase",
    "WebhookSender",
    "json_response",
    "serve",
    "serve_in_thread",
    "simulator_class",
]

PLATFORMS = ("bigcommerce", "cscart", "evershop", "merchantpro")


def simulator_class(platform: str) -> Any:
    """The simulator class of a platform (``simulators.<platform>.Simulator``)."""
    if platform not in PLATFORMS:
        raise KeyError(f"unknown platform {platform!r} (one of {', '.join(PLATFORMS)})")
    return import_module(f"simulators.{platform}").Simulator

"""Shared machinery of the platform simulators: faults, rate windows, webhooks, serving.

Each platform's ``connectors/<platform>/simulator.py`` builds a stateful in-memory shop on
:class:`~connectors.simulation.app.SimulatorBase`, which gives it, uniformly:

- fault injection (latency, 5xx, 429, timeouts, ghost writes, duplicate/out-of-order webhooks);
- a per-store request window with the platform's own rate-limit headers and 429 body;
- request statistics (per-second peak) for the benchmarks;
- a webhook sender with retries;
- control endpoints under ``/__sim/`` (outside auth and limits) for tests and the demo.
"""

from connectors.simulation.app import SimulatorBase, json_response
from connectors.simulation.faults import FaultConfig, FaultPlan
from connectors.simulation.runner import RunningServer, serve, serve_in_thread
from connectors.simulation.webhooks import WebhookSender

__all__ = [
    "FaultConfig",
    "FaultPlan",
    "RunningServer",
    "SimulatorBase",
    "WebhookSender",
    "json_response",
    "serve",
    "serve_in_thread",
]

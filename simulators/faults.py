"""Fault injection for simulators: random rates plus one-shot, targeted injections.

Kinds:

- ``error``: answer 500 with the platform's error body (nothing applied).
- ``rate_limit``: answer 429 with the platform's headers (nothing applied).
- ``timeout``: hold the request for ``timeout_seconds`` and answer 504 (nothing applied).
- ``ghost``: apply a write, then lose the answer — hold it past the client's timeout
  (``ghost_mode="timeout"``) or answer 502 from a "proxy" (``ghost_mode="gateway"``).

Rates are drawn from a seeded RNG so a run is repeatable. :meth:`FaultPlan.inject` queues faults
for the next matching requests, which is how tests stage "the create's answer is lost once".
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, Field

__all__ = ["FaultConfig", "FaultKind", "FaultPlan"]

FaultKind = Literal["error", "rate_limit", "timeout", "ghost"]


class FaultConfig(BaseModel):
    """The random fault knobs of a simulator. All rates are probabilities per request (0..1)."""

    latency_ms: float = Field(default=0.0, ge=0, description="Added to every request.")
    latency_jitter_ms: float = Field(default=0.0, ge=0, description="Uniform extra latency on top.")
    error_rate: float = Field(default=0.0, ge=0, le=1)
    rate_limit_rate: float = Field(default=0.0, ge=0, le=1, description="Spurious 429s.")
    timeout_rate: float = Field(default=0.0, ge=0, le=1)
    ghost_write_rate: float = Field(default=0.0, ge=0, le=1, description="Writes applied, answer lost.")
    ghost_mode: Literal["timeout", "gateway"] = "gateway"
    timeout_seconds: float = Field(default=35.0, ge=0, description="How long a timeout holds a request.")
    duplicate_webhook_rate: float = Field(default=0.0, ge=0, le=1)
    webhook_jitter_ms: float = Field(default=0.0, ge=0, description="Random delay, reorders webhooks.")
    drop_webhook_rate: float = Field(default=0.0, ge=0, le=1, description="Webhooks never sent.")
    seed: int = 0


@dataclass
class _Injection:
    kind: FaultKind
    method: str | None
    path_prefix: str | None
    remaining: int


@dataclass
class FaultPlan:
    """Decides, per request, whether a fault happens."""

    config: FaultConfig = field(default_factory=FaultConfig)
    _rng: random.Random = field(init=False)
    _queue: list[_Injection] = field(default_factory=list, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    injected: dict[str, int] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.config.seed)

    def configure(self, config: FaultConfig) -> None:
        """Replace the random knobs (and reseed)."""
        with self._lock:
            self.config = config
            self._rng = random.Random(config.seed)

    def inject(self, kind: FaultKind, *, method: str | None = None, path_prefix: str | None = None,
               count: int = 1) -> None:
        """Make the next ``count`` requests matching ``method``/``path_prefix`` fail with ``kind``."""
        with self._lock:
            self._queue.append(_Injection(kind, method.upper() if method else None, path_prefix, count))

    def clear(self) -> None:
        """Drop queued injections and reset counters."""
        with self._lock:
            self._queue.clear()
            self.injected.clear()

    def draw(self, method: str, path: str, *, write: bool) -> FaultKind | None:
        """The fault for this request, if any (queued injections first, then random rates)."""
        with self._lock:
            for injection in self._queue:
                if injection.method and injection.method != method.upper():
                    continue
                if injection.path_prefix and not path.startswith(injection.path_prefix):
                    continue
                if injection.kind == "ghost" and not write:
                    continue
                injection.remaining -= 1
                if injection.remaining <= 0:
                    self._queue.remove(injection)
                return self._count(injection.kind)
            c = self.config
            roll = self._rng.random
            if c.error_rate and roll() < c.error_rate:
                return self._count("error")
            if c.rate_limit_rate and roll() < c.rate_limit_rate:
                return self._count("rate_limit")
            if c.timeout_rate and roll() < c.timeout_rate:
                return self._count("timeout")
            if write and c.ghost_write_rate and roll() < c.ghost_write_rate:
                return self._count("ghost")
            return None

    def _count(self, kind: FaultKind) -> FaultKind:
        self.injected[kind] = self.injected.get(kind, 0) + 1
        return kind

    def latency(self) -> float:
        """Seconds to delay this request."""
        c = self.config
        if not c.latency_ms and not c.latency_jitter_ms:
            return 0.0
        with self._lock:
            jitter = self._rng.uniform(0, c.latency_jitter_ms) if c.latency_jitter_ms else 0.0
        return (c.latency_ms + jitter) / 1000.0

    def roll(self, rate: float) -> bool:
        """A seeded coin flip with probability ``rate`` (used by webhook faults)."""
        if rate <= 0:
            return False
        with self._lock:
            return self._rng.random() < rate

    def uniform(self, upper: float) -> float:
        """A seeded uniform draw in [0, upper)."""
        with self._lock:
            return self._rng.uniform(0, upper) if upper > 0 else 0.0

"""Celery keeps its hands off logging: our structlog setup renders its lines like ours.

Without a ``setup_logging`` receiver Celery adds its own plain-text handler to the root logger, so a
worker's log mixes Celery text and our JSON. With one, Celery configures nothing and its records
(worker start, task received/succeeded, errors) reach the root handler :mod:`connectors.logging`
installed; forked pool processes inherit it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from celery.signals import setup_logging

__all__ = ["use_our_logging"]


def use_our_logging(configure: Callable[[], None]) -> None:
    """Have Celery call ``configure`` instead of setting up its own logging."""

    def _receiver(**_: Any) -> None:
        configure()

    setup_logging.connect(_receiver, weak=False)

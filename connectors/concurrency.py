"""Bounded fan-out for connectors: fetch many things at once, within the rate limit.

Connectors are synchronous (Celery tasks are), so concurrency comes from a small thread pool over
one pooled ``httpx.Client``; every request still passes the shared rate limiter first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

__all__ = ["fan_out"]

T = TypeVar("T")
R = TypeVar("R")


def fan_out(func: Callable[[T], R], items: Iterable[T], *, workers: int = 8,
            window: int | None = None) -> Iterator[tuple[T, R | Exception]]:
    """Apply ``func`` to ``items`` on ``workers`` threads; yield ``(item, result or error)`` in order.

    At most ``window`` (default ``4 * workers``) calls are in flight, so a long iterable streams
    instead of being submitted all at once. Exceptions are returned, not raised, so one failed item
    never hides the others.
    """
    window = window or workers * 4
    pending: list[tuple[T, Future[R]]] = []
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fan-out") as pool:
        for item in items:
            pending.append((item, pool.submit(func, item)))
            if len(pending) >= window:
                first, future = pending.pop(0)
                yield first, _result(future)
        for item, future in pending:
            yield item, _result(future)


def _result(future: Future[Any]) -> Any:
    error = future.exception()
    if error is None:
        return future.result()
    if isinstance(error, Exception):
        return error
    raise error

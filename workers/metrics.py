"""Prometheus metrics: what ordersync does (counters, histograms) and where it stands (read at scrape).

Counted as it happens, in whichever process does the work:

- ``ordersync_reconciles_total{route,outcome}`` and ``ordersync_reconcile_duration_seconds{route}``
  (Celery task signals, so workers and ``ordersync sync`` alike);
- ``ordersync_mirror_lag_seconds{route}``: from the source order's last change to its mirror being synced;
- ``ordersync_platform_calls_total{store,platform,method,status}`` (``status="none"``: no answer),
  ``ordersync_platform_rate_limited_total{store}`` (429s) and ``ordersync_platform_wait_seconds_total{store}``
  (waiting for the request budget plus the platforms' 429 waits), from the one HTTP path
  (:func:`connectors.http.add_call_observer`);
- ``ordersync_intake_events_total{store,result}`` (``accepted``/``duplicate``) and
  ``ordersync_intake_rejected_total{store,status}`` (the webhook routes' answers).

Read at scrape time by the server (``/metrics``), from the state store, Redis and the broker:
open attention items, bindings per state, deferred work, paused routes, age of each store's last
poll, token bucket level per store, broker queue depth, inbox rows per status.

**Worker processes** (Celery prefork) export through prometheus-client's multiprocess mode: start
``ordersync worker`` and ``ordersync serve`` with the same ``PROMETHEUS_MULTIPROC_DIR`` (an empty
directory, wiped before each start); ``/metrics`` then sums every process, and a worker child's
files are marked dead when it exits. Without the variable each process exports only its own.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator
from typing import Any

import structlog
from celery.signals import task_postrun, task_prerun, worker_process_shutdown
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from connectors.errors import OrderSyncError
from connectors.http import CallRecord, HttpClient, add_call_observer
from sync.models import utcnow
from workers.ratelimit import BucketStats, RedisTokenBucket

__all__ = [
    "CONTENT_TYPE",
    "INTAKE_EVENTS",
    "INTAKE_REJECTED",
    "MIRROR_LAG",
    "PLATFORM_CALLS",
    "RATE_LIMITED",
    "RECONCILES",
    "RECONCILE_SECONDS",
    "WAIT_SECONDS",
    "StateCollector",
    "bucket_stats",
    "calls_by_store",
    "multiprocess_dir",
    "observe_call",
    "record_intake",
    "scrape",
]

log = structlog.get_logger("ordersync.metrics")
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_SLOW = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
_LAG = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 86400)

RECONCILES = Counter("ordersync_reconciles", "Reconciles of one order on one route, by outcome "
                     "(synced, unchanged, parked, paused, retry, ...).", ["route", "outcome"])
RECONCILE_SECONDS = Histogram("ordersync_reconcile_duration_seconds", "Time one reconcile task took.", ["route"],
                              buckets=_SLOW)
MIRROR_LAG = Histogram("ordersync_mirror_lag_seconds", "From the source order's last change to its mirror "
                       "being synced (source -> target lag).", ["route"], buckets=_LAG)
PLATFORM_CALLS = Counter("ordersync_platform_calls", "HTTP attempts to the platforms, by answer status "
                         "('none' when no answer came).", ["store", "platform", "method", "status"])
RATE_LIMITED = Counter("ordersync_platform_rate_limited", "429 answers from the platforms.", ["store"])
WAIT_SECONDS = Counter("ordersync_platform_wait_seconds", "Seconds spent waiting for a store's request budget "
                       "and the waits its 429 answers asked for.", ["store"])
INTAKE_EVENTS = Counter("ordersync_intake_events", "Webhook events received, new or duplicate.",
                        ["store", "result"])
INTAKE_REJECTED = Counter("ordersync_intake_rejected", "Webhook deliveries refused, by HTTP status.",
                          ["store", "status"])


def multiprocess_dir() -> str | None:
    """``PROMETHEUS_MULTIPROC_DIR`` when the processes share their metrics through files."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


# -- counted as it happens ---------------------------------------------------------------------
def observe_call(record: CallRecord) -> None:
    """The HTTP path's observer: one attempt to a platform."""
    status = str(record.status) if record.status is not None else "none"
    PLATFORM_CALLS.labels(record.store, record.platform, record.method, status).inc()
    waited = record.waited + (record.retry_after or 0.0 if record.status == 429 else 0.0)
    if record.status == 429:
        RATE_LIMITED.labels(record.store).inc()
    if waited > 0:
        WAIT_SECONDS.labels(record.store).inc(waited)


def record_intake(store: str, status: int, accepted: int = 0, duplicates: int = 0) -> None:
    """What the webhook intake answered one delivery."""
    if status == 202:
        if accepted:
            INTAKE_EVENTS.labels(store, "accepted").inc(accepted)
        if duplicates:
            INTAKE_EVENTS.labels(store, "duplicate").inc(duplicates)
    else:
        INTAKE_REJECTED.labels(store, str(status)).inc()


_started: dict[str, float] = {}


def _task_started(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    if task_id and getattr(task, "name", "") == "ordersync.reconcile":
        _started[task_id] = time.perf_counter()


def _task_finished(task_id: str | None = None, task: Any = None, args: Any = None, kwargs: Any = None,
                   retval: Any = None, **_: Any) -> None:
    if not task_id or getattr(task, "name", "") != "ordersync.reconcile":
        return
    started = _started.pop(task_id, None)
    arguments = dict(kwargs or {})
    route = str(arguments.get("route") or (args[0] if args else "?"))
    outcome = str(retval.get("outcome")) if isinstance(retval, dict) else "retry"
    RECONCILES.labels(route, outcome).inc()
    if started is not None:
        RECONCILE_SECONDS.labels(route).observe(time.perf_counter() - started)
    if outcome == "synced":
        _observe_lag(route, str(arguments.get("store") or (args[1] if args and len(args) > 1 else "")),
                     str(arguments.get("order_id") or (args[2] if args and len(args) > 2 else "")))


def _observe_lag(route: str, store: str, order_id: str) -> None:
    from workers import context

    try:
        binding = context.current().store.binding(route, store, order_id)
    except Exception:  # noqa: BLE001 - a metric must never fail a task
        return
    if binding is not None and binding.source_updated_at is not None:
        MIRROR_LAG.labels(route).observe(max(0.0, (utcnow() - binding.source_updated_at).total_seconds()))


def _worker_child_exit(**_: Any) -> None:
    if multiprocess_dir():
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


add_call_observer(observe_call)
task_prerun.connect(_task_started, weak=False)
task_postrun.connect(_task_finished, weak=False)
worker_process_shutdown.connect(_worker_child_exit, weak=False)


# -- read at scrape time ----------------------------------------------------------------------
class StateCollector(Collector):
    """Gauges read from the state store, Redis and the broker when Prometheus scrapes."""

    def collect(self) -> Iterable[Metric]:
        """One family per gauge; a dependency that is down leaves its gauges out (logged)."""
        from workers import context

        try:
            ctx = context.current()
        except Exception as error:  # noqa: BLE001 - no configuration: only the counters are served
            log.warning("metrics.no_context", error=f"{type(error).__name__}: {error}")
            return []
        families: list[Metric] = []
        for part in (_store_gauges, _bucket_gauges, _broker_gauges):
            try:
                families.extend(part(ctx))
            except Exception as error:  # noqa: BLE001 - one dependency down must not hide the others
                log.warning("metrics.collect_failed", part=part.__name__, error=f"{type(error).__name__}: {error}")
        return families


def _store_gauges(ctx: Any) -> Iterator[Metric]:
    store, now = ctx.store, utcnow()
    attention = GaugeMetricFamily("ordersync_attention_open", "Open attention items (parked work).",
                                  labels=["kind", "route"])
    for item_kind, route, count in _open_attention(store):
        attention.add_metric([item_kind, route or ""], count)
    yield attention
    bindings = GaugeMetricFamily("ordersync_bindings", "Orders per route and binding state.",
                                 labels=["route", "state"])
    for row in store.counts()["bindings"]:
        bindings.add_metric([row["route"], row["state"]], row["count"])
    yield bindings
    inbox = GaugeMetricFamily("ordersync_inbox_events", "Webhook inbox rows per status.", labels=["status"])
    for status, count in store.counts()["inbox"].items():
        inbox.add_metric([status], count)
    yield inbox
    paused = store.paused_routes()
    pause = GaugeMetricFamily("ordersync_route_paused", "1 while a route is paused.", labels=["route"])
    deferred = GaugeMetricFamily("ordersync_deferred_work", "Orders waiting for a paused route.", labels=["route"])
    waiting: dict[str, int] = {}
    for work in store.deferred_work():
        waiting[work.route] = waiting.get(work.route, 0) + 1
    for route in ctx.config.routes:
        pause.add_metric([route.name], 1.0 if route.name in paused else 0.0)
        deferred.add_metric([route.name], waiting.get(route.name, 0))
    yield pause
    yield deferred
    age = GaugeMetricFamily("ordersync_poll_age_seconds", "Seconds since a store's changes were last read.",
                            labels=["store"])
    for cursor in store.cursors():
        if cursor.last_poll_at is not None:
            age.add_metric([cursor.store], (now - cursor.last_poll_at).total_seconds())
    yield age


def _open_attention(store: Any) -> list[tuple[str, str | None, int]]:
    counted: dict[tuple[str, str | None], int] = {}
    for item in store.find_attention(limit=100_000):
        counted[(item.kind, item.route)] = counted.get((item.kind, item.route), 0) + 1
    return [(kind, route, count) for (kind, route), count in sorted(counted.items(), key=str)]


def bucket_stats(ctx: Any, name: str) -> BucketStats | None:
    """A store's shared request budget now (``None`` without a shared Redis bucket)."""
    limiter = ctx.runtime.limiter
    if not isinstance(limiter, RedisTokenBucket):
        return None
    try:
        connector = ctx.runtime.connector(name)
    except (OrderSyncError, KeyError, ValueError):
        return None
    http = getattr(connector, "http", None) or getattr(connector, "_http", None)
    if not isinstance(http, HttpClient):
        return None
    return limiter.peek(f"{ctx.config.stores[name].platform}:{name}", http.bucket)


def _bucket_gauges(ctx: Any) -> Iterator[Metric]:
    tokens = GaugeMetricFamily("ordersync_rate_bucket_tokens", "Requests a store's shared budget allows now.",
                               labels=["store"])
    for name in sorted(ctx.config.stores):
        stats = bucket_stats(ctx, name)
        if stats is not None:
            tokens.add_metric([name], stats.tokens)
    yield tokens


def _broker_gauges(ctx: Any) -> Iterator[Metric]:
    url = ctx.config.settings.broker_url
    if url.startswith("memory"):
        return
    from workers.app import QUEUE
    from workers.redis_client import redis_from_url

    depth = GaugeMetricFamily("ordersync_broker_queue_depth", "Messages waiting in the broker queue.",
                              labels=["queue"])
    depth.add_metric([QUEUE], float(redis_from_url(url).llen(QUEUE)))
    yield depth


class _Combined:
    """Several collectors read as one registry (generate_latest only calls ``collect``)."""

    def __init__(self, *sources: Any) -> None:
        self.sources = sources

    def collect(self) -> Iterator[Metric]:
        for source in self.sources:
            yield from source.collect()


def _counters() -> Any:
    if multiprocess_dir():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return registry
    return REGISTRY


def scrape() -> bytes:
    """The text exposition ``/metrics`` serves: every process's counters plus the state gauges."""
    return generate_latest(_Combined(_counters(), StateCollector()))


def calls_by_store() -> dict[str, dict[str, float]]:
    """Platform calls so far per store and answer status (all processes in multiprocess mode)."""
    found: dict[str, dict[str, float]] = {}
    for family in _counters().collect():
        if family.name != "ordersync_platform_calls":
            continue
        for sample in family.samples:
            if sample.name.endswith("_total"):
                per = found.setdefault(sample.labels["store"], {})
                per[sample.labels["status"]] = per.get(sample.labels["status"], 0.0) + sample.value
    return found

"""Webhook intake (``ordersync serve``): an outbox that never loses, stalls or falls over.

``POST /webhooks/{store}``, in this order:

1. **refuse cheaply**: an unknown store is ``404``; a store without a webhook secret, or a request
   without any of its platform's signature headers, is ``401``; a ``Content-Length`` above
   :data:`MAX_BODY` is ``413`` — all before a byte of the body is read;
2. **read** the body as a stream, capped at :data:`MAX_BODY` (``413`` past it: memory stays flat
   whatever is sent); a client that disconnects mid-upload costs one log line;
3. **verify** the signature (constant-time; BigCommerce: our fixed header and/or Standard Webhooks
   signed with the app's client secret) — ``401`` and nothing stored when it does not match;
4. **parse** and **fit** the events to the inbox columns (:mod:`workers.inbox`); a malformed body,
   an unusable order id or more than :data:`~workers.inbox.MAX_EVENTS` events are parked whole in
   the attention queue (``invalid_webhook``, replayable) and answered ``400`` / ``413``;
5. **store** the delivery and its new events in one transaction, off the event loop (status
   ``received``; duplicates by event key are not stored again); deliveries that arrive together
   share that transaction (:mod:`workers.writer`);
6. answer ``202``; the writer hands the committed events to the publisher, which **publishes**
   them in its own threads with broker timeouts (:mod:`workers.relay`). A failed or hung broker
   never fails the request: the relay publishes whatever is still ``received`` after a grace period.

A state store that cannot be reached is ``503`` (the platform retries), never ``500``.
Also ``GET /healthz`` (the process and its event loop are up), ``GET /readyz`` (database and
broker reachable) and the OpenAPI docs at ``/docs``.
"""

from __future__ import annotations

import functools
import gc
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from importlib import import_module
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from connectors.errors import InvalidPayload
from connectors.logging import bound
from sync.config import StoreConfig
from sync.store import NewDelivery
from workers import context
from workers.console import install as install_console
from workers.inbox import TooManyEvents, fit, payload_text
from workers.redis_client import redis_from_url
from workers.relay import Publisher, Relay, publisher_for
from workers.writer import DeliveryWriter

__all__ = ["MAX_BODY", "create_app"]

log = structlog.get_logger("ordersync.api")
MAX_BODY = 2 * 1024 * 1024
"""Largest webhook body read (bytes); platforms send a few kilobytes."""

_CLOSE = {"Connection": "close"}  # refused before the body was read: do not wait for the rest of it


class Accepted(BaseModel):
    """What the intake did with a delivery."""

    accepted: int
    duplicates: int
    events: list[str]


class Problem(BaseModel):
    """Why a delivery was refused."""

    detail: str


class _Refused(Exception):
    """A request answered with an error before anything was stored."""

    def __init__(self, status: int, detail: str, *, close: bool = False) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.close = close

    def response(self) -> JSONResponse:
        return JSONResponse({"detail": self.detail}, status_code=self.status, headers=_CLOSE if self.close else None)


def _webhooks_module(platform: str) -> Any:
    return import_module(f"connectors.{platform}.webhooks")


def _secrets(config: StoreConfig) -> tuple[str | None, dict[str, str]]:
    """The store's webhook secret and, for BigCommerce, the client secret as ``verify`` keyword."""
    secret = config.webhook_secret.get_secret_value() if config.webhook_secret else None
    extra: dict[str, str] = {}
    if config.platform == "bigcommerce" and config.webhook_client_secret is not None:
        extra["client_secret"] = config.webhook_client_secret.get_secret_value()
    return secret or None, extra


def _check_headers(request: Request, config: StoreConfig, module: Any) -> None:
    """Everything that can be refused before reading the body."""
    secret, extra = _secrets(config)
    if not secret and not any(extra.values()):
        log.warning("webhook.no_secret")
        raise _Refused(401, f"store has no webhook_secret configured ({config.platform})", close=True)
    names = [name.lower() for name in getattr(module, "SIGNATURE_HEADERS", ())]
    if not any(name in request.headers for name in names):
        log.warning("webhook.unsigned")
        raise _Refused(401, "signature or shared secret does not match", close=True)
    length = request.headers.get("content-length")
    if length is not None:
        if not length.isdigit():
            raise _Refused(400, f"Content-Length {length[:40]!r} is not a number", close=True)
        if int(length) > MAX_BODY:
            raise _Refused(413, f"body of {int(length)} bytes; at most {MAX_BODY} are accepted", close=True)


async def _read_capped(request: Request) -> bytes:
    """The body, read as a stream and abandoned as soon as it passes :data:`MAX_BODY`."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise _Refused(413, f"body larger than {MAX_BODY} bytes", close=True)
    return bytes(body)


def _verified(module: Any, config: StoreConfig, headers: Mapping[str, str], raw: bytes) -> bool:
    secret, extra = _secrets(config)
    try:
        return bool(module.verify(headers, raw, secret, **extra))
    except InvalidPayload:
        return False


def _safe_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k.startswith(("x-", "webhook-", "content-type"))
            and "signature" not in k and "secret" not in k}


def _park(store: str, raw: bytes, headers: Mapping[str, str], reason: str,
          problems: list[tuple[str, str]]) -> int | None:
    """Keep a signed delivery that cannot enter the inbox, whole, with its reason (replayable)."""
    item = context.current().store.park(
        kind="invalid_webhook", reason=reason.replace("\x00", ""), store=store, payload=payload_text(raw),
        detail={"problems": [{"field": f.replace("\x00", ""), "reason": r.replace("\x00", "")} for f, r in problems],
                "headers": _safe_headers(headers)},
        replay={"task": "webhook", "store": store})
    return item.id


def _writer(api: FastAPI, ctx: context.Context) -> DeliveryWriter:
    found: DeliveryWriter | None = getattr(api.state, "writer", None)
    publisher = _publisher(api, ctx)
    if found is None or found.store is not ctx.store or api.state.writer_publisher is not publisher:
        if found is not None:
            found.close()
        store = ctx.store
        found = api.state.writer = DeliveryWriter(store, after_commit=lambda ids: publisher.submit(store, ids))
        api.state.writer_publisher = publisher
    return found


def _publisher(api: FastAPI, ctx: context.Context) -> Publisher:
    found: Publisher | None = getattr(api.state, "publisher", None)
    if found is None or found.broker_url != ctx.config.settings.broker_url:
        found = api.state.publisher = publisher_for(ctx.config.settings)
    return found


async def _intake(store: str, request: Request) -> Response:
    ctx = context.current()
    config = ctx.config.stores.get(store)
    if config is None:
        raise _Refused(404, f"unknown store {store!r}", close=True)
    module = _webhooks_module(config.platform)
    with bound(store=store, platform=config.platform):
        _check_headers(request, config, module)
        raw = await _read_capped(request)
        headers = {k.lower(): v for k, v in request.headers.items()}
        if not _verified(module, config, headers, raw):
            log.warning("webhook.bad_signature")
            raise _Refused(401, "signature or shared secret does not match")
        try:
            entries = fit(module.parse(raw, headers))
        except InvalidPayload as error:
            item = await run_in_threadpool(_park, store, raw, headers, str(error), error.problems)
            log.warning("webhook.invalid", reason=str(error), attention_id=item)
            raise _Refused(400, str(error).replace("\x00", "")) from None
        except TooManyEvents as error:
            item = await run_in_threadpool(_park, store, raw, headers, str(error), [("", str(error))])
            log.warning("webhook.too_many_events", events=error.count, attention_id=item)
            raise _Refused(413, str(error)) from None
        outcome = await _writer(request.app, ctx).write(NewDelivery(store, payload_text(raw), tuple(entries)))
        request.state.intake_counts = (len(outcome.accepted), outcome.duplicates)  # for IntakeMetrics
        log.info("webhook.accepted", accepted=len(outcome.accepted), duplicates=outcome.duplicates)
        return JSONResponse({"accepted": len(outcome.accepted), "duplicates": outcome.duplicates,
                             "events": [entry.event_key for entry in entries]}, status_code=202)


@functools.cache
def _freeze_startup_heap() -> None:
    """Keep what is loaded at start (FastAPI, pydantic, SQLAlchemy, Celery: a few hundred thousand
    objects that live as long as the server) out of the garbage collector's full passes, which would
    otherwise walk all of it and stall every request in flight: the intake's p99 went from ~140 ms
    to ~40 ms. Once per process, after a collection (garbage frozen would never be freed)."""
    gc.collect()
    gc.freeze()


@asynccontextmanager
async def _lifespan(api: FastAPI) -> AsyncIterator[None]:
    """Run the relay beside the intake while the server is up."""
    # The event loop shares the interpreter with the writer and publisher threads: have them hand
    # the GIL back after 1 ms instead of 5 ms, so a busy publisher does not hold up requests.
    sys.setswitchinterval(0.001)
    relay: Relay | None = None
    try:
        ctx = context.current()
        settings = ctx.config.settings
        if settings.relay_interval > 0:
            relay = Relay(ctx.store, _publisher(api, ctx), grace=settings.relay_grace,
                          interval=settings.relay_interval)
            relay.start()
    except Exception as error:  # noqa: BLE001 - no configuration yet: requests will say so
        log.warning("relay.not_started", error=f"{type(error).__name__}: {error}")
    _freeze_startup_heap()
    yield
    if relay is not None:
        relay.stop()


def create_app() -> FastAPI:
    """The ASGI app for webhooks and health checks (the relay runs while it is served)."""
    api = FastAPI(
        title="ordersync",
        version="0.1.0",
        summary="Webhook intake for ordersync: verified, stored, deduplicated, queued.",
        lifespan=_lifespan,
        # ordersync reports through /metrics (Prometheus) and its logs. FastAPI's OpenTelemetry hooks
        # would look for providers on every request: a tenth of the intake's event loop, for nothing.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )

    @api.get("/healthz", summary="The process is up")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @api.get("/readyz", summary="Database and broker are reachable",
             responses={503: {"description": "A dependency is down"}})
    def readyz() -> JSONResponse:
        ctx = context.current()
        checks = {"database": ctx.store.ping(), "broker": _broker_ok(ctx)}
        ok = all(checks.values())
        return JSONResponse({"status": "ready" if ok else "unavailable", "checks": checks},
                            status_code=200 if ok else 503)

    @api.post(
        "/webhooks/{store}",
        status_code=202,
        response_model=Accepted,
        summary="Receive a platform webhook",
        responses={400: {"model": Problem}, 401: {"model": Problem}, 404: {"model": Problem},
                   413: {"model": Problem}, 503: {"model": Problem}},
    )
    async def receive(store: str, request: Request) -> Response:
        try:
            return await _intake(store, request)
        except _Refused as refused:
            return refused.response()
        except ClientDisconnect:
            log.info("webhook.client_disconnected", store=store)
            return Response(status_code=400)
        except (DBAPIError, SQLAlchemyError) as error:
            log.error("webhook.store_unavailable", store=store, error=type(error).__name__)
            return JSONResponse({"detail": "the state store is unavailable; retry later"}, status_code=503)

    install_console(api)  # the web console, /metrics and a CDN-free /docs (workers/console)
    return api


def _broker_ok(ctx: context.Context) -> bool:
    url = ctx.config.settings.broker_url
    if url.startswith("memory"):
        return True
    try:
        return bool(redis_from_url(url).ping())
    except Exception:  # noqa: BLE001 - readiness probe: any failure means "not ready"
        return False

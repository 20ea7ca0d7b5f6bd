"""Webhook intake (``ordersync serve``): verify, store, enqueue, answer 202 — in that order.

``POST /webhooks/{store}``:

1. **verify** the request with the store's secret (BigCommerce: our custom header; MerchantPro:
   ``X-Webhook-Signature``, base64 HMAC-SHA256 of the raw body; EverShop: our bridge's HMAC) —
   constant-time; a bad or missing signature is ``401`` and nothing is stored;
2. **parse** it; a malformed body is ``400`` with the reason, and the raw body is kept in the
   attention queue (``invalid_webhook``) so it can be inspected and replayed;
3. **store** each event in the inbox, deduplicated by its event key (BigCommerce ``hash``);
4. **enqueue** ``handle_webhook`` for new events and answer ``202`` at once.

Also ``GET /healthz`` (the process is up), ``GET /readyz`` (database and broker reachable) and the
OpenAPI docs at ``/docs``.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

import structlog
from fastapi import BackgroundTasks, FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from connectors.errors import InvalidPayload
from workers import context
from workers.console import install as install_console
from workers.redis_client import redis_from_url

__all__ = ["create_app"]

log = structlog.get_logger("ordersync.api")
MAX_BODY = 2 * 1024 * 1024


class Accepted(BaseModel):
    """What the intake did with a delivery."""

    accepted: int
    duplicates: int
    events: list[str]


class Problem(BaseModel):
    """Why a delivery was refused."""

    detail: str


def _webhooks_module(platform: str) -> Any:
    return import_module(f"connectors.{platform}.webhooks")


def create_app() -> FastAPI:
    """The ASGI app for webhooks and health checks."""
    api = FastAPI(
        title="ordersync",
        version="0.1.0",
        summary="Webhook intake for ordersync: verified, stored, deduplicated, queued.",
    )

    @api.get("/healthz", summary="The process is up")
    def healthz() -> dict[str, str]:
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
                   413: {"model": Problem}},
    )
    async def receive(store: str, request: Request, background: BackgroundTasks) -> Any:
        ctx = context.current()
        config = ctx.config.stores.get(store)
        if config is None:
            return JSONResponse({"detail": f"unknown store {store!r}"}, status_code=404)
        raw = await request.body()
        if len(raw) > MAX_BODY:
            return JSONResponse({"detail": "body too large"}, status_code=413)
        module = _webhooks_module(config.platform)
        headers = {k.lower(): v for k, v in request.headers.items()}
        secret = config.webhook_secret.get_secret_value() if config.webhook_secret else None
        with structlog.contextvars.bound_contextvars(store=store, platform=config.platform):
            if not secret:
                log.warning("webhook.no_secret")
                return JSONResponse({"detail": f"store {store!r} has no webhook_secret configured"},
                                    status_code=401)
            try:
                verified = bool(module.verify(headers, raw, secret))
            except InvalidPayload:
                verified = False
            if not verified:
                log.warning("webhook.bad_signature")
                return JSONResponse({"detail": "signature or shared secret does not match"}, status_code=401)
            try:
                events = module.parse(raw, headers)
            except InvalidPayload as error:
                text = raw.decode("utf-8", errors="replace")
                item = ctx.store.park(kind="invalid_webhook", reason=str(error), store=store, payload=text,
                                      detail={"problems": [{"field": f, "reason": r} for f, r in error.problems],
                                              "headers": {k: v for k, v in headers.items()
                                                          if k.startswith(("x-", "webhook-", "content-type"))
                                                          and "signature" not in k and "secret" not in k}},
                                      replay={"task": "webhook", "store": store})
                log.warning("webhook.invalid", reason=str(error), attention_id=item.id)
                return JSONResponse({"detail": str(error)}, status_code=400)
            accepted, duplicates, keys = 0, 0, []
            text = raw.decode("utf-8", errors="replace")
            for event in events:
                row, new = ctx.store.add_inbox(store=store, event_key=event.event_key, topic=event.topic,
                                               order_id=event.order_id, payload=text)
                keys.append(event.event_key)
                if not new:
                    duplicates += 1
                    continue
                accepted += 1
                assert row.id is not None
                _enqueue(ctx, row.id, background)
            log.info("webhook.accepted", accepted=accepted, duplicates=duplicates)
            return Accepted(accepted=accepted, duplicates=duplicates, events=keys)

    install_console(api)  # the web console, /metrics and a CDN-free /docs (workers/console)
    return api


def _enqueue(ctx: context.Context, inbox_id: int, background: BackgroundTasks) -> None:
    from workers.tasks import handle_webhook

    ctx.store.mark_inbox(inbox_id, "enqueued")
    if ctx.config.settings.broker_url.startswith("memory"):
        # Embedded broker: the work runs in this process, after the 202 has been sent.
        background.add_task(handle_webhook.delay, inbox_id)
    else:
        handle_webhook.delay(inbox_id)


def _broker_ok(ctx: context.Context) -> bool:
    url = ctx.config.settings.broker_url
    if url.startswith("memory"):
        return True
    try:
        return bool(redis_from_url(url).ping())
    except Exception:  # noqa: BLE001 - readiness probe: any failure means "not ready"
        return False

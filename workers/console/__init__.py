"""The web console, ``/metrics`` and a CDN-free ``/docs``, added to the intake app by :func:`install`.

The console (``/``: overview, orders, attention, webhooks, the pause switch per route) exists only
when ``[settings] console_password`` is configured; see :mod:`workers.console.views` and
:mod:`workers.console.security`. ``/metrics`` is always served (see :mod:`workers.metrics`), and
so is ``/docs``: the API reference rendered on the server, with no script from anywhere.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from workers import metrics
from workers.console.views import HEADERS, router, templates

__all__ = ["IntakeMetrics", "install"]

_CDN_DOCS = ("/docs", "/docs/oauth2-redirect", "/redoc")


def install(api: FastAPI, *, webhook_prefix: str = "/webhooks/") -> None:
    """Add the console, ``/metrics``, the server-rendered ``/docs`` and the intake counters to ``api``."""
    api.router.routes[:] = [r for r in api.router.routes if getattr(r, "path", None) not in _CDN_DOCS]
    api.docs_url = api.redoc_url = None

    @api.get("/docs", include_in_schema=False)
    def docs(request: Request) -> Response:
        """The API reference from the OpenAPI schema, as plain HTML (Swagger UI would come from a CDN)."""
        schema = api.openapi()
        operations = [(path, method.upper(), spec) for path, methods in schema.get("paths", {}).items()
                      for method, spec in methods.items()]
        response = templates.TemplateResponse(request, "apidocs.html", {"schema": schema, "operations": operations})
        response.headers.update(HEADERS)
        return response

    @api.get("/metrics", include_in_schema=False)
    def prometheus() -> Response:
        """Prometheus text exposition: every process's counters and the state gauges."""
        return Response(metrics.scrape(), media_type=metrics.CONTENT_TYPE)

    api.include_router(router)
    api.add_middleware(IntakeMetrics, prefix=webhook_prefix)


class IntakeMetrics:
    """Counts the webhook intake's answers: events accepted and duplicated (the intake leaves them in the
    request state), refusals."""

    def __init__(self, app: ASGIApp, prefix: str = "/webhooks/") -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request through, watching the answer of ``POST {prefix}{store}``."""
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if scope.get("method") != "POST" or not path.startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        store = path[len(self.prefix):].split("/", 1)[0][:120]
        status = 0

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        await self.app(scope, receive, watch)
        # the intake leaves its counts in the request state (workers/api.py) for this middleware
        accepted, duplicates = scope.get("state", {}).get("intake_counts", (1, 0) if status == 202 else (0, 0))
        metrics.record_intake(store, status, accepted, duplicates)

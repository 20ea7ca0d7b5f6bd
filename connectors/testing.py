"""Testing helpers shipped with the library (as structlog ships ``structlog.testing``).

:class:`ASGITransport` lets a synchronous connector talk to a simulator in the same process,
through the same single transport seam the network uses — no sockets, but real HTTP semantics
(status codes, headers, bodies) and real client timeouts. :class:`RecordingTransport` wraps any
transport and keeps the URL of every request, to check what a connector asked for.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

import anyio
import anyio.from_thread
import httpx

__all__ = ["ASGITransport", "RecordingTransport"]


class ASGITransport(httpx.BaseTransport):
    """A synchronous httpx transport that runs an ASGI app on a background event loop.

    ``timeout`` (seconds) bounds each request like a socket read timeout would: a simulator holding
    a request longer (an injected timeout or ghost write) makes the client see ``httpx.ReadTimeout``.
    """

    def __init__(self, app: Any, *, timeout: float | None = None, client: tuple[str, int] = ("127.0.0.1", 50000)):
        self.app = app
        self.timeout = timeout
        self._inner = httpx.ASGITransport(app=app, client=client)
        self._portal_cm: AbstractContextManager[anyio.from_thread.BlockingPortal] = (
            anyio.from_thread.start_blocking_portal()
        )
        self._portal = self._portal_cm.__enter__()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Run the request through the app and return a fully read response."""
        return self._portal.call(self._handle, request)

    async def _handle(self, request: httpx.Request) -> httpx.Response:
        content = request.read()
        inner_request = httpx.Request(request.method, request.url, headers=request.headers, content=content)
        try:
            with anyio.fail_after(self.timeout) if self.timeout else _null():
                response = await self._inner.handle_async_request(inner_request)
                body = await response.aread()
        except TimeoutError:
            raise httpx.ReadTimeout("simulated read timeout", request=request) from None
        return httpx.Response(response.status_code, headers=response.headers, content=body, request=request)

    def close(self) -> None:
        """Stop the background event loop."""
        self._portal_cm.__exit__(None, None, None)


class RecordingTransport(httpx.BaseTransport):
    """Passes requests on to ``inner`` and keeps their URLs (``urls``), in order."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.urls: list[httpx.URL] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Record the request's URL, then hand it on."""
        self.urls.append(request.url)
        return self.inner.handle_request(request)

    def close(self) -> None:
        """Close the wrapped transport."""
        self.inner.close()


class _null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None

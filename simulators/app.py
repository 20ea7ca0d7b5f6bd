"""The simulator base class: per-request guard (faults, rate window, auth, stats) and ``/__sim`` control.

A platform simulator subclasses :class:`SimulatorBase`, implements :meth:`routes` (its API, with
handlers wrapped by :meth:`endpoint`) and the response hooks that give errors and rate-limit
answers their platform's exact shape.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from typing import Any, ClassVar

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from simulators.faults import FaultConfig, FaultPlan
from simulators.webhooks import WebhookSender

__all__ = ["Handler", "RateWindow", "RequestStats", "SimulatorBase", "WindowState", "json_response", "read_json",
           "store_currency"]

Handler = Callable[[Request], Awaitable[Response]]


def store_currency(value: str | None, default: str) -> str:
    """The simulated store's currency: an ISO 4217 code (three letters, upper-cased), else ``ValueError``."""
    if value is None:
        return default
    code = value.strip().upper()
    if len(code) != 3 or not code.isascii() or not code.isalpha():
        raise ValueError(f"currency {value!r}: expected a three-letter ISO 4217 code such as EUR")
    return code


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response serialised with orjson (``None`` → empty body, e.g. for 204)."""
    if data is None:
        return Response(status_code=status, headers=headers)
    return Response(orjson.dumps(data, default=str), status_code=status, headers=headers,
                    media_type="application/json")


async def read_json(request: Request) -> Any:
    """The request's JSON body; ``ValueError`` when it is not JSON."""
    raw = await request.body()
    if not raw.strip():
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise ValueError(f"body is not JSON: {error}") from None


@dataclass(frozen=True)
class WindowState:
    """The rate window after counting a request."""

    allowed: bool
    quota: int
    remaining: int
    window: float
    reset_after: float


class RateWindow:
    """A fixed request window (``quota`` requests per ``window`` seconds), as BigCommerce runs it.

    The first window opens when the object is made; each later one opens where the last one ended
    (windows are back to back, whether or not requests came). A refused request does not count.
    """

    def __init__(self, quota: int, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.quota = quota
        self.window = window
        self._clock = clock
        self._start = clock()
        self._used = 0
        self._lock = threading.Lock()

    def hit(self) -> WindowState:
        """Count one request; ``allowed`` is False once the quota is used up."""
        with self._lock:
            state = self.peek()
            if state.allowed:
                self.take()
                return WindowState(True, self.quota, state.remaining - 1, self.window, state.reset_after)
            return state

    def peek(self) -> WindowState:
        """The window now, without counting a request (``allowed``: one more would be); callers
        that combine windows hold :attr:`lock` around :meth:`peek` and :meth:`take`."""
        now = self._clock()
        if now - self._start >= self.window:
            self._start = now - ((now - self._start) % self.window)
            self._used = 0
        reset = self.window - (now - self._start)
        return WindowState(self._used < self.quota, self.quota, self.quota - self._used, self.window, reset)

    def take(self) -> None:
        """Count one request in the current window (after :meth:`peek` said it is allowed)."""
        self._used += 1

    @property
    def lock(self) -> threading.Lock:
        """The lock that makes peek-then-take atomic."""
        return self._lock

    def fresh(self, clock: Callable[[], float] | None = None) -> RateWindow:
        """A window of the same shape whose first window opens now (on ``clock``, else this one's):
        for restarting the count, and for benchmarks that replay a schedule on a virtual clock."""
        return RateWindow(self.quota, self.window, clock or self._clock)


@dataclass
class RequestStats:
    """Counts requests per second, per status and per route, for tests and benchmarks."""

    total: int = 0
    refused: int = 0
    """Requests answered 429 because they exceeded the rate window (injected 429 faults not included)."""
    by_status: Counter[int] = field(default_factory=Counter)
    by_route: Counter[str] = field(default_factory=Counter)
    ok_by_route: Counter[str] = field(default_factory=Counter)
    """Like ``by_route``, counting only the 2xx answers (e.g. the writes that took effect)."""
    per_second: Counter[int] = field(default_factory=Counter)
    started: float = field(default_factory=time.time)

    def record(self, method: str, route: str, status: int) -> None:
        """Count one answered request."""
        self.total += 1
        self.by_status[status] += 1
        self.by_route[f"{method} {route}"] += 1
        if 200 <= status < 300:
            self.ok_by_route[f"{method} {route}"] += 1
        self.per_second[int(time.time())] += 1

    def peak_rps(self) -> int:
        """The most requests answered within one wall-clock second."""
        return max(self.per_second.values(), default=0)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "total": self.total,
            "refused": self.refused,
            "peak_rps": self.peak_rps(),
            "by_status": {str(k): v for k, v in sorted(self.by_status.items())},
            "by_route": dict(self.by_route.most_common()),
            "ok_by_route": dict(self.ok_by_route.most_common()),
        }


class SimulatorBase:
    """A stateful in-memory shop served as an ASGI app. Subclasses add the platform's API."""

    platform: ClassVar[str] = ""
    default_rate_limit: ClassVar[tuple[int, float] | None] = None

    def __init__(self, *, faults: FaultConfig | None = None,
                 rate_limit: tuple[int, float] | bool | None = True) -> None:
        self.faults = FaultPlan(faults or FaultConfig())
        self.webhooks = WebhookSender(self.faults)
        if rate_limit is True:
            rate_limit = self.default_rate_limit
        self.window: RateWindow | None = RateWindow(*rate_limit) if rate_limit else None
        self.stats = RequestStats()
        self._app: Starlette | None = None

    # -- hooks a platform overrides -------------------------------------------------------------
    def routes(self) -> list[BaseRoute]:
        """The platform API's routes, handlers wrapped with :meth:`endpoint`."""
        raise NotImplementedError

    def authenticate(self, request: Request) -> Response | None:
        """``None`` when the request's credentials are good, else the platform's 401/403 answer."""
        return None

    def access(self, *, hidden: Collection[str] = ()) -> tuple[str, str]:
        """``(API root path, how a client authenticates)``, so any API client can be pointed at the
        simulator (``ordersync simulate`` prints it). Credentials named in ``hidden`` (the ones the
        user gave, rather than the built-in ones) show as ``<NAME given>``."""
        raise NotImplementedError

    @staticmethod
    def shown(name: str, value: str, hidden: Collection[str]) -> str:
        """A credential's value for :meth:`access`: the value, or ``<name given>`` when hidden."""
        return f"<{name} given>" if name in hidden else value

    def error_response(self, status: int, message: str) -> Response:
        """The platform's error body for ``status``."""
        return json_response({"message": message}, status)

    def rate_headers(self, state: WindowState) -> dict[str, str]:
        """The platform's rate-limit headers for a window state (none by default)."""
        return {}

    def rate_limited_response(self, state: WindowState) -> Response:
        """The platform's 429 answer."""
        return self.error_response(429, "Too many requests")

    def fallback_routes(self) -> list[BaseRoute]:
        """Routes tried after the API's own (e.g. a catch-all answering the platform's own 404)."""
        return []

    def control_routes(self) -> list[BaseRoute]:
        """Extra ``/__sim`` routes a platform wants (e.g. merchant actions for the demo)."""
        return []

    # -- the guard ------------------------------------------------------------------------------
    def endpoint(self, handler: Handler, *, write: bool = False, route: str | None = None) -> Handler:
        """Wrap a handler: latency, rate window, auth, injected faults, ghost writes, stats."""
        label: str = route or str(getattr(handler, "__name__", "handler"))

        async def guarded(request: Request) -> Response:
            response = await self._guarded(handler, request, write)
            self.stats.record(request.method, label, response.status_code)
            return response

        return guarded

    async def _guarded(self, handler: Handler, request: Request, write: bool) -> Response:
        delay = self.faults.latency()
        if delay:
            await asyncio.sleep(delay)
        state = self.window.hit() if self.window else None
        if state is not None and not state.allowed:
            self.stats.refused += 1
            return self._with_headers(self.rate_limited_response(state), state)
        denied = self.authenticate(request)
        if denied is not None:
            return self._with_headers(denied, state)
        fault = self.faults.draw(request.method, request.url.path, write=write)
        if fault == "rate_limit":
            limited = state or WindowState(False, 1, 0, 1.0, 1.0)
            forced = WindowState(False, limited.quota, 0, limited.window, min(limited.reset_after, 1.0))
            return self._with_headers(self.rate_limited_response(forced), forced)
        if fault == "error":
            return self._with_headers(self.error_response(500, "Internal Server Error"), state)
        if fault == "timeout":
            await asyncio.sleep(self.faults.config.timeout_seconds)
            return self._with_headers(self.error_response(504, "Gateway Timeout"), state)
        try:
            response = await handler(request)
        except ValueError as error:  # malformed body: the platform's 400
            response = self.error_response(400, str(error))
        if fault == "ghost" and response.status_code < 300:
            if self.faults.config.ghost_mode == "timeout":
                await asyncio.sleep(self.faults.config.timeout_seconds)
            else:
                return Response("<html><body><h1>502 Bad Gateway</h1></body></html>", status_code=502,
                                media_type="text/html")
        return self._with_headers(response, state)

    def _with_headers(self, response: Response, state: WindowState | None) -> Response:
        if state is not None:
            for name, value in self.rate_headers(state).items():
                response.headers[name] = value
        return response

    # -- control --------------------------------------------------------------------------------
    def _control(self) -> list[BaseRoute]:
        async def stats(request: Request) -> Response:
            window = {"quota": self.window.quota, "window": self.window.window} if self.window else None
            return json_response({**self.stats.as_dict(), "injected": self.faults.injected, "limit": window})

        async def faults(request: Request) -> Response:
            body = await read_json(request) or {}
            config = self.faults.config.model_copy(update=body)
            self.faults.configure(FaultConfig.model_validate(config.model_dump()))
            return json_response(self.faults.config.model_dump())

        async def inject(request: Request) -> Response:
            body = await read_json(request) or {}
            self.faults.inject(body["kind"], method=body.get("method"), path_prefix=body.get("path_prefix"),
                               count=int(body.get("count", 1)))
            return json_response({"ok": True})

        async def rate_limit(request: Request) -> Response:
            body = await read_json(request)
            self.window = RateWindow(int(body["quota"]), float(body["window"])) if body else None
            return json_response({"ok": True})

        async def webhooks(request: Request) -> Response:
            if request.method == "POST":
                body = await read_json(request) or {}
                self.configure_webhooks(body.get("url"), body.get("secret"))
                return json_response({"ok": True})
            return json_response([
                {"event": d.event, "url": d.url, "status": d.status, "attempt": d.attempt, "body": d.body}
                for d in self.webhooks.deliveries
            ])

        async def reset(request: Request) -> Response:
            self.stats = RequestStats()
            self.faults.clear()
            self.restart_window()
            return json_response({"ok": True})

        return [
            Route("/__sim/stats", stats, methods=["GET"]),
            Route("/__sim/faults", faults, methods=["POST"]),
            Route("/__sim/inject", inject, methods=["POST"]),
            Route("/__sim/rate_limit", rate_limit, methods=["POST"]),
            Route("/__sim/webhooks", webhooks, methods=["GET", "POST"]),
            Route("/__sim/reset", reset, methods=["POST"]),
            *self.control_routes(),
        ]

    def restart_window(self) -> None:
        """Start the rate window(s) afresh, full quota, as of now: ``/__sim/reset`` does it so a
        measurement starts with the budget a quiet store would have, whatever ran before."""
        if self.window is not None:
            self.window = self.window.fresh()

    def configure_webhooks(self, url: str | None, secret: str | None = None) -> None:
        """Point webhooks at ``url``; platforms override to install their signing with ``secret``."""
        self.webhooks.configure(url)

    @property
    def app(self) -> Starlette:
        """The ASGI app (built once)."""
        if self._app is None:
            self._app = Starlette(routes=[*self._control(), *self.routes(), *self.fallback_routes()])
        return self._app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Make the simulator itself an ASGI app."""
        await self.app(scope, receive, send)


def ceil_seconds(value: float) -> int:
    """Whole seconds, rounded up, for ``Retry-After`` style headers."""
    return max(1, math.ceil(value))

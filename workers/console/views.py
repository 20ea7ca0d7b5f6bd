"""The console's pages and actions (server-rendered with Jinja2; the little JavaScript is vendored).

Every page needs a logged-in session; every POST needs the session's CSRF token, checked before
anything else. Without a configured ``console_password`` every path here answers 404, exactly as
a path that does not exist.
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import orjson
import structlog
from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError
from starlette.datastructures import FormData

from sync.config import ConfigError
from sync.models import utcnow
from sync.store import StoreUnavailable
from workers import context, pause
from workers.console.pages import order_view, overview
from workers.console.security import COOKIE, LoginLimiter, Session, Signer, password_matches
from workers.replay import replay_item

__all__ = ["HERE", "STATIC_PATH", "router", "templates"]

log = structlog.get_logger("ordersync.console")
HERE = Path(__file__).resolve().parent
STATIC_PATH = "/console-static"
FLASH = "ordersync_flash"
BULK_MAX = 200
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

class _ConsoleRoute(APIRoute):
    """Console routes answer 503 with a readable page when the state store or Redis is down, never a 500."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except (SQLAlchemyError, RedisError, StoreUnavailable) as error:
                log.error("console.dependency_down", path=request.url.path, error=type(error).__name__)
                return _secured(templates.TemplateResponse(request, "refused.html", {
                    "static": STATIC_PATH, "title": "Unavailable",
                    "message": "The state store or Redis cannot be reached right now "
                               f"({type(error).__name__}); the page will work again once it is back."},
                    status_code=503))

        return guarded


router = APIRouter(include_in_schema=False, route_class=_ConsoleRoute)
templates = Jinja2Templates(directory=str(HERE / "templates"))
signer = Signer()
limiter = LoginLimiter()


def _ago(value: Any) -> str:
    if value is None:
        return "never"
    seconds = (utcnow() - value).total_seconds() if not isinstance(value, int | float) else float(value)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit} ago"
    return f"{max(0.0, seconds):.0f}s ago"


def _pretty(value: Any) -> str:
    if isinstance(value, str):
        text: str = value
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError:
            return text
    return orjson.dumps(value, option=orjson.OPT_INDENT_2, default=str).decode()


templates.env.filters["ago"] = _ago
templates.env.filters["pretty"] = _pretty


# -- gates --------------------------------------------------------------------------------------
def _context() -> context.Context:
    """This process's context, or 404 when the console is not configured (nothing of it exists)."""
    try:
        ctx = context.current()
    except ConfigError:
        raise HTTPException(404) from None
    if ctx.config.settings.console_password is None or not ctx.config.settings.console_password.get_secret_value():
        raise HTTPException(404)
    return ctx


def _session(request: Request) -> Session | None:
    return signer.load(request.cookies.get(COOKIE))


def _login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


def _guard(request: Request) -> tuple[context.Context, Session] | Response:
    ctx = _context()
    session = _session(request)
    if session is None or not session.authenticated:
        return _login_redirect(request)
    return ctx, session


async def _guard_post(request: Request) -> tuple[context.Context, Session, FormData] | Response:
    """A POST: console configured, CSRF token right (first), then logged in."""
    ctx = _context()
    form = await request.form()
    session = _session(request)
    token = form.get("csrf")
    if not signer.csrf_ok(session, token if isinstance(token, str) else None):
        log.warning("console.csrf_refused", path=request.url.path)
        return _refused(request, "CSRF token missing or wrong: reload the page and try again.")
    if session is None or not session.authenticated:
        return _login_redirect(request)
    return ctx, session, form


def _refused(request: Request, message: str) -> Response:
    return _secured(templates.TemplateResponse(request, "refused.html", {"message": message, "static": STATIC_PATH},
                                               status_code=403))


def _secured(response: Response) -> Response:
    response.headers.update(HEADERS)
    return response


def _render(request: Request, name: str, session: Session, *, status_code: int = 200, **data: Any) -> Response:
    flash = _read_flash(request)
    response = templates.TemplateResponse(request, name, {
        "csrf": signer.csrf(session), "flash": flash, "static": STATIC_PATH, "authenticated": session.authenticated,
        "page": name.removesuffix(".html"), **data}, status_code=status_code)
    if flash is not None:
        response.delete_cookie(FLASH, path="/")
    return _secured(response)


def _back(request: Request, url: str, message: str) -> Response:
    response = RedirectResponse(url, status_code=303)
    encoded = base64.urlsafe_b64encode(message[:500].encode()).decode()
    response.set_cookie(FLASH, f"{encoded}.{signer.mac('flash', encoded)}", max_age=60, httponly=True,
                        samesite="strict", path="/")
    return _secured(response)


def _read_flash(request: Request) -> str | None:
    value = request.cookies.get(FLASH, "")
    encoded, _, mac = value.partition(".")
    if not encoded or not hmac.compare_digest(mac, signer.mac("flash", encoded)):
        return None
    return base64.urlsafe_b64decode(encoded.encode()).decode(errors="replace")


def _not_found(request: Request, session: Session, what: str) -> Response:
    return _render(request, "missing.html", session, status_code=404, what=what)


# -- static files and login ---------------------------------------------------------------------
@router.get(STATIC_PATH + "/{name}")
def static(name: str) -> Response:
    """The console's vendored CSS and JavaScript (only files that exist in static/, by exact name)."""
    _context()
    files = {path.name: path for path in (HERE / "static").iterdir() if path.is_file()}
    if name not in files:
        raise HTTPException(404)
    return _secured(FileResponse(files[name], headers={"Cache-Control": "no-cache"}))


@router.get("/login")
def login_form(request: Request, next: str = "/") -> Response:
    """The login form (an anonymous session carries its CSRF token)."""
    _context()
    session = _session(request)
    if session is not None and session.authenticated:
        return RedirectResponse(_local(next), status_code=303)
    session = session or signer.new(authenticated=False)
    response = _render(request, "login.html", session, next=_local(next))
    signer.set_cookie(response, request, session)
    return response


def _local(url: str) -> str:
    """Only redirect within the console (no ``//host`` or absolute URLs)."""
    return url if url.startswith("/") and not url.startswith(("//", "/\\")) else "/"


@router.post("/login")
async def login(request: Request) -> Response:
    """Check the password; rate-limited per client address and overall."""
    ctx = _context()
    form = await request.form()
    session = _session(request)
    token = form.get("csrf")
    if not signer.csrf_ok(session, token if isinstance(token, str) else None):
        return _refused(request, "CSRF token missing or wrong: reload the login page.")
    assert session is not None
    client = request.client.host if request.client else "?"
    wait = limiter.retry_after(client)
    next_url = _local(str(form.get("next") or "/"))
    if wait > 0:
        log.warning("console.login_throttled", client=client)
        response = _render(request, "login.html", session, status_code=429, next=next_url,
                           error=f"Too many attempts: try again in {int(wait) + 1} s.")
        response.headers["Retry-After"] = str(int(wait) + 1)
        return response
    expected = ctx.config.settings.console_password
    given = form.get("password")
    if expected is None or not isinstance(given, str) or not password_matches(given, expected.get_secret_value()):
        limiter.failed(client)
        log.warning("console.login_failed", client=client)
        return _render(request, "login.html", session, status_code=401, next=next_url, error="Wrong password.")
    limiter.succeeded(client)
    fresh = signer.new(authenticated=True)
    response = RedirectResponse(next_url, status_code=303)
    signer.set_cookie(response, request, fresh)
    log.info("console.login", client=client)
    return _secured(response)


@router.post("/logout")
async def logout(request: Request) -> Response:
    """End the session."""
    gate = await _guard_post(request)
    if isinstance(gate, Response):
        return gate
    response = RedirectResponse("/login", status_code=303)
    signer.set_cookie(response, request, signer.new(authenticated=False))
    return _secured(response)


# -- pages --------------------------------------------------------------------------------------
@router.get("/")
def overview_page(request: Request) -> Response:
    """Routes with their progress and pause switch; stores with their request budget."""
    gate = _guard(request)
    if isinstance(gate, Response):
        return gate
    ctx, session = gate
    routes, stores = overview(ctx)
    return _render(request, "overview.html", session, routes=routes, stores=stores,
                   open_total=sum(r.open_attention for r in routes))


@router.get("/orders")
def orders_page(request: Request, q: str = "") -> Response:
    """Search orders by source or target id or number (recent ones without a query)."""
    gate = _guard(request)
    if isinstance(gate, Response):
        return gate
    ctx, session = gate
    return _render(request, "orders.html", session, q=q, bindings=ctx.store.find_bindings(q[:120], limit=100))


@router.get("/orders/{binding_id}")
def order_page(request: Request, binding_id: int, only: str = "") -> Response:
    """One order's story: both sides now, their differences, the ledger, the attention items."""
    gate = _guard(request)
    if isinstance(gate, Response):
        return gate
    ctx, session = gate
    binding = ctx.store.binding_by_id(binding_id)
    if binding is None:
        return _not_found(request, session, f"order binding {binding_id}")
    view = order_view(ctx, binding)
    differences = sum(1 for row in view.diff if row[3])
    rows = [row for row in view.diff if row[3]] if only == "differences" else view.diff
    return _render(request, "order.html", session, view=view, rows=rows, differences=differences,
                   only=only == "differences")


@router.get("/attention")
def attention_page(request: Request, kind: str = "", store: str = "", route: str = "",
                   status: str = "open") -> Response:
    """The attention queue, filtered by kind, store, route and status."""
    gate = _guard(request)
    if isinstance(gate, Response):
        return gate
    ctx, session = gate
    items = ctx.store.find_attention(status=status or None, kind=kind or None, store=store or None,
                                     route=route or None, limit=500)
    kinds = sorted({i.kind for i in ctx.store.find_attention(status=None, limit=5000)})
    return _render(request, "attention.html", session, items=items, kinds=kinds,
                   stores=sorted(ctx.config.stores), routes=[r.name for r in ctx.config.routes],
                   filters={"kind": kind, "store": store, "route": route, "status": status},
                   statuses=["open", "replayed", "resolved", "dismissed", ""],
                   query=urlencode({"kind": kind, "store": store, "route": route, "status": status}))


@router.get("/attention/{item_id}")
def attention_item_page(request: Request, item_id: int) -> Response:
    """One item: its reason, detail and payload, with replay and dismiss."""
    gate = _guard(request)
    if isinstance(gate, Response):
        return gate
    ctx, session = gate
    item = ctx.store.attention_item(item_id)
    if item is None:
        return _not_found(request, session, f"attention item {item_id}")
    binding = None
    if item.route and item.store and item.order_id:
        binding = ctx.store.binding(item.route, item.store, item.order_id) or \
            ctx.store.binding_by_target(item.route, item.store, item.order_id)
    return _render(request, "attention_item.html", session, item=item, binding=binding)


@router.get("/webhooks")
def webhooks_page(request: Request, store: str = "", status: str = "") -> Response:
    """The webhook inbox: each delivery with its status."""
    gate = _guard(request)
    if isinstance(gate, Response):
        return gate
    ctx, session = gate
    events = ctx.store.inbox_events(store=store or None, status=status or None, limit=300)
    return _render(request, "webhooks.html", session, events=events, stores=sorted(ctx.config.stores),
                   filters={"store": store, "status": status},
                   counts=ctx.store.counts()["inbox"])


# -- actions ------------------------------------------------------------------------------------
def _replay(ctx: context.Context, item_id: int) -> str:
    item = ctx.store.attention_item(item_id)
    if item is None:
        return f"#{item_id}: no such item"
    if item.status == "dismissed":
        return f"#{item_id}: dismissed, not replayed"
    try:
        return f"#{item_id} {item.kind}: {replay_item(ctx, item)}"
    except Exception as error:
        log.exception("console.replay_failed", attention_id=item_id)
        return f"#{item_id}: replay failed ({type(error).__name__}: {error})"


def _dismiss(ctx: context.Context, item_id: int, note: str) -> str:
    try:
        ctx.store.dismiss_attention(item_id, note)
    except KeyError:
        return f"#{item_id}: no such item"
    except ValueError as error:
        return f"#{item_id}: {error}"
    return f"#{item_id} dismissed"


@router.post("/attention/{item_id}/replay")
async def replay_action(request: Request, item_id: int) -> Response:
    """Replay one item now."""
    gate = await _guard_post(request)
    if isinstance(gate, Response):
        return gate
    ctx, _, _ = gate
    message = await run_in_threadpool(_replay, ctx, item_id)
    return _back(request, f"/attention/{item_id}", message)


@router.post("/attention/{item_id}/dismiss")
async def dismiss_action(request: Request, item_id: int) -> Response:
    """Dismiss one item with a note saying why."""
    gate = await _guard_post(request)
    if isinstance(gate, Response):
        return gate
    ctx, _, form = gate
    note = str(form.get("note") or "")
    if not note.strip():
        return _back(request, f"/attention/{item_id}", "A note is needed to dismiss an item: say why.")
    message = await run_in_threadpool(_dismiss, ctx, item_id, note)
    return _back(request, f"/attention/{item_id}", message)


@router.post("/attention/bulk")
async def bulk_action(request: Request) -> Response:
    """Replay or dismiss the selected items (at most :data:`BULK_MAX` at once)."""
    gate = await _guard_post(request)
    if isinstance(gate, Response):
        return gate
    ctx, _, form = gate
    back = "/attention" + (f"?{form.get('query')}" if form.get("query") else "")
    ids = [int(v) for v in form.getlist("ids") if isinstance(v, str) and v.isdigit()][:BULK_MAX]
    action, note = str(form.get("action") or ""), str(form.get("note") or "")
    if not ids:
        return _back(request, back, "Select at least one item.")
    if action == "dismiss":
        if not note.strip():
            return _back(request, back, "A note is needed to dismiss items: say why.")
        outcomes = [await run_in_threadpool(_dismiss, ctx, i, note) for i in ids]
    elif action == "replay":
        outcomes = [await run_in_threadpool(_replay, ctx, i) for i in ids]
    else:
        return _back(request, back, f"Unknown action {action[:40]!r}.")
    return _back(request, back, "; ".join(outcomes))


@router.post("/routes/{name}/{action}")
async def route_switch(request: Request, name: str, action: str) -> Response:
    """Pause or resume a route (resuming queues the work it deferred)."""
    gate = await _guard_post(request)
    if isinstance(gate, Response):
        return gate
    ctx, _, form = gate
    if name not in {r.name for r in ctx.config.routes} or action not in ("pause", "resume"):
        raise HTTPException(404)
    if action == "pause":
        await run_in_threadpool(pause.pause, ctx, name, str(form.get("note") or "") or None)
        return _back(request, "/", f"Route {name} paused: its work waits until you resume it.")
    queued = await run_in_threadpool(pause.resume, ctx, name)
    return _back(request, "/", f"Route {name} resumed; {queued} deferred order(s) queued.")

"""The EverShop connector: orders read through GraphQL, written through the storefront cart flow.

EverShop 2.x (verified against 2.2.1, see ``docs/platforms/evershop.md``) is an unusual target:

- **Auth** is an admin user's email and password exchanged for JWTs (``POST /api/user/tokens``): an
  access token (900 s) and a refresh token (54 000 s) that only mints new access tokens.
  :class:`TokenManager` keeps one pair per connector, thread-safe, refreshes before expiry and logs
  in again when the refresh token is refused; a private call answered 401 is retried once with a
  fresh token.
- **Reads** are GraphQL only (:mod:`connectors.evershop.queries`). ``updated_at`` never changes and
  cannot be filtered, so the change feed finds new orders by ``order_id`` (the bridge extension's
  filter, or paging the default ``order_id DESC`` collection) and re-reads the *open* orders it
  tracks in its cursor, batched, reporting those whose state changed. Every change carries the whole
  order as its ``snapshot`` (the page selects what ``order(uuid)`` selects; changed open orders are
  read whole in one aliased batch), so :meth:`EverShopConnector.hydrate` costs no call.
- **Creates** go through the guest cart flow; ``POST /api/orders`` is the point of no return and is
  never retried blindly: a lost answer or "Cart not found" is resolved by looking the order up by
  its cart (bridge ``cart_id`` filter). Our reference is stamped as the order metafield
  ``ordersync.ref``.
- **Errors** come as ``{"error": {"status", "message"}}`` and business-rule failures often as HTTP
  500, so :func:`classify` reads the message before the status (a 500 "Unknown carrier" is a
  :class:`Rejected`, not a retriable fault).
- **Statuses** are derived: the connector captures COD payments, marks shipments delivered and
  cancels — each only after reading the order, because EverShop restocks on *every* cancel.
"""

from __future__ import annotations

import base64
import hashlib
import re
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import orjson
import structlog

from connectors.base import (
    Capabilities,
    ChangeFeed,
    ConnectionSettings,
    CreatedOrder,
    CursorState,
    OrderChange,
    OrderReference,
    ProductRef,
    ProgressCallback,
    merge_options,
    only_referenced,
)
from connectors.concurrency import fan_out
from connectors.errors import (
    AuthFailed,
    Conflict,
    ConnectorError,
    InvalidPayload,
    NotFound,
    OutcomeUnknown,
    RateLimited,
    Rejected,
    Transient,
    UnknownSku,
)
from connectors.evershop import CAPABILITIES, METAFIELD_KEY, METAFIELD_NAMESPACE, queries
from connectors.evershop.write import (
    EverShopAddress,
    EverShopCancel,
    EverShopCreatePlan,
    EverShopLegacyShipmentCreate,
    EverShopShipmentCreate,
    EverShopShipmentUpdate,
    EverShopStatusPlan,
)
from connectors.http import HttpClient, read_retry_after
from connectors.parsing import format_decimal, parse_decimal, parse_timestamp
from connectors.ratelimit import BucketSpec, RateLimiter, RateSignal, TokenBucket, bucket_from_options

__all__ = [
    "DEFAULT_OPTIONS",
    "PLATFORM",
    "EverShopConnector",
    "SetupProduct",
    "StoreSetup",
    "TokenManager",
    "classify",
    "classify_message",
    "ensure_store_setup",
    "open_connector",
    "read_rate_signal",
]

PLATFORM = "evershop"
log = structlog.get_logger("ordersync.evershop")

DEFAULT_OPTIONS: dict[str, Any] = {
    # EverShop 2.2.1 hard-codes 120 /api requests per 60 s per client IP (modules/base/services/
    # rateLimit.js, express-rate-limit) and reports RateLimit-* headers, which the bucket follows.
    # EverShop 2.2.1 hard-codes 120 /api requests per 60 s per client IP; burst 20 as observed.
    "max_wait": 10.0,  # seconds a call may wait for the budget before raising RateLimited
    "metafield_namespace": METAFIELD_NAMESPACE,
    "metafield_key": METAFIELD_KEY,
    "legacy_shipments": None,  # None: detect (2.x answers GraphQL `version`); True/False to force
    "bridge": None,  # None: detect the ordersync bridge's order_id/cart_id filters; True/False to force
    "page_size": 100,
    "state_batch": 25,  # open orders re-read per GraphQL request (aliases)
    "workers": 8,
    "sku_batch": 50,  # SKUs per ProductsBySku request in resolve_skus (filter sku in a,b,c)
    "unknown_sku_ttl": 300.0,  # seconds a SKU resolve_skus did not find is not asked again
    "recovery_attempts": 4,  # lookups by cart after a lost POST /api/orders answer
    "recovery_delay": 0.5,
    "reference_scan_pages": 10,  # pages scanned by the no-bridge reference fallback
    "refresh_margin": 60.0,  # renew tokens this many seconds before they expire
    "bridge_cache_seconds": 300.0,
    "cancel_reason": "Cancelled on the source store (ordersync)",
}
"""Connector options (``[stores.x] options = {...}`` in ``ordersync.toml``) and their defaults."""

CLOSED_STATUSES = frozenset({"completed", "canceled", "closed"})
"""Order statuses after which nothing we mirror changes any more (the feed stops re-reading them)."""


# ---------------------------------------------------------------------------------------------
# Error classification
# ---------------------------------------------------------------------------------------------

_ErrorFactory = Callable[[str, int | None, "re.Match[str]"], ConnectorError]


def _rejected(field_name: str | None = None) -> _ErrorFactory:
    def make(message: str, status: int | None, match: re.Match[str]) -> ConnectorError:
        name = field_name if field_name is not None else (match.group(1) if match.groups() else "")
        return Rejected(message, platform=PLATFORM, status=status, field_errors={name or "": message})

    return make


def _as(cls: type[ConnectorError]) -> _ErrorFactory:
    def make(message: str, status: int | None, match: re.Match[str]) -> ConnectorError:
        return cls(message, platform=PLATFORM, status=status)

    return make


_MESSAGE_RULES: tuple[tuple[re.Pattern[str], _ErrorFactory], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), factory)
    for pattern, factory in (
        (r"invalid email or password", _as(AuthFailed)),
        (r"^(?:cart not found|invalid cart)", _as(NotFound)),
        (r"unknown carrier", _rejected("carrier")),
        (r"not cancelable", _as(Conflict)),
        (r"requested order does not exist or is not in pending payment status", _as(Conflict)),
        (r"(?:already fully shipped|only \d+ unshipped|cannot transition shipment|can ?not revert|"
         r"no shipments to mark delivered|already in terminal phase|already exists)", _as(Conflict)),
        (r"(?:do not have enough stock|not enough stock|out of stock|some products are not available)",
         _rejected("items")),
        (r"must have required property '([^']+)'", _rejected()),
        (r"cannot return null for non-nullable field (\w+(?:\.\w+)*)", _rejected()),
        (r"^(?:cannot query field|unknown argument|unknown type|variable \"|argument \"|syntax error|"
         r"expected type|field \"|expected value of type)", _rejected("query")),
        (r"invalid input syntax for type uuid", _as(NotFound)),
        (r"^(?:order|shipment|item) not found|^invalid (?:order|shipment) id|^order \S+ not found", _as(NotFound)),
        (r"(?:not found on order|invalid qty|invalid quantity|does not require shipping|nothing to update|"
         r"order validation failed|requires at least one item|too many items|is required|"
         r"failed to set shipping method|payment method|must be |must not |must match)", _rejected()),
    )
)


def _body_message(response: httpx.Response) -> tuple[str, bool]:
    """EverShop's error message and whether the answer was an HTML page (its storefront 404)."""
    content_type = response.headers.get("content-type", "")
    text = response.text.strip() if response.content else ""
    if "html" in content_type or text.startswith("<"):
        match = re.search(r"<title>([^<]*)</title>", text, re.IGNORECASE)
        return (match.group(1).strip() if match else response.reason_phrase or "HTML page"), True
    try:
        data = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return text[:300] or response.reason_phrase or "", False
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return error["message"], False
        if isinstance(error, str):
            return error, False
        if isinstance(data.get("message"), str):
            return str(data["message"]), False
        errors = data.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            return str(errors[0].get("message", "")), False
    return str(data)[:300], False


def classify_message(message: str, status: int | None) -> ConnectorError | None:
    """The error a known EverShop message means, whatever the status it came with; else ``None``."""
    text = message.strip()
    for pattern, factory in _MESSAGE_RULES:
        match = pattern.search(text)
        if match:
            return factory(text, status, match)
    return None


def _header_number(response: httpx.Response, name: str) -> float | None:
    value = response.headers.get(name)
    if value is None:
        return None
    try:
        return float(value.strip())
    except ValueError:
        return None


def read_rate_signal(response: httpx.Response) -> RateSignal | None:
    """EverShop's ``RateLimit-Limit/Remaining/Reset`` and ``RateLimit-Policy: 120;w=60`` headers.

    The budget is per client IP and shared by everything calling the shop from that address, so
    the local bucket follows what the shop reports (like BigCommerce's shared quota).
    """
    remaining = _header_number(response, "ratelimit-remaining")
    reset = _header_number(response, "ratelimit-reset")
    if remaining is None and reset is None:
        return None
    limit = _header_number(response, "ratelimit-limit")
    window: float | None = None
    policy = response.headers.get("ratelimit-policy", "")
    match = re.search(r"w=(\d+(?:\.\d+)?)", policy)
    if match:
        window = float(match.group(1))
    return RateSignal(remaining=int(remaining) if remaining is not None else None, reset_after=reset,
                      limit=int(limit) if limit is not None else None, window=window)


def classify(response: httpx.Response) -> ConnectorError:
    """Turn a failed EverShop answer into the error taxonomy, by message first, then by status.

    EverShop reports business-rule failures as HTTP 500 with a message ("Unknown carrier 'ups'",
    "Order is not cancelable at this status", "We do not have enough stock", "Cart not found"), so
    only a 5xx whose message is not a known rule is a :class:`Transient` fault. Unknown routes
    answer with the storefront's HTML 404 page (:class:`NotFound`).
    """
    status = response.status_code
    message, html = _body_message(response)
    if status == 429:
        # Retry-After is the whole window (60 s); RateLimit-Reset is the time actually left in it.
        signal = read_rate_signal(response)
        wait = signal.reset_after if signal is not None and signal.reset_after is not None else None
        if wait is None:
            wait = read_retry_after(response)
        return RateLimited(message or "too many requests", retry_after=wait if wait is not None else 1.0,
                           platform=PLATFORM, status=status)
    if html and status == 404:
        return NotFound(f"no such resource or route ({message})", platform=PLATFORM, status=status)
    if status in (401, 403):
        return AuthFailed(message or "unauthorized", platform=PLATFORM, status=status)
    if not html:
        known = classify_message(message, status)
        if known is not None:
            return known
    if status == 404:
        return NotFound(message or "not found", platform=PLATFORM, status=status)
    if status == 409:
        return Conflict(message or "conflict", platform=PLATFORM, status=status)
    if status >= 500:
        return Transient(message or "server error", platform=PLATFORM, status=status)
    return Rejected(message or "request rejected", platform=PLATFORM, status=status,
                    field_errors={"": message} if message else None)


# ---------------------------------------------------------------------------------------------
# Authentication
# ---------------------------------------------------------------------------------------------

ACCESS_LIFETIME = 900.0
REFRESH_LIFETIME = 54_000.0


def _jwt_expiry(token: str) -> float | None:
    """The ``exp`` claim of a JWT (seconds since the epoch), without verifying it."""
    try:
        payload = token.split(".")[1]
        payload += "=" * (-len(payload) % 4)
        claims = orjson.loads(base64.urlsafe_b64decode(payload.encode("ascii")))
        exp = claims.get("exp") if isinstance(claims, dict) else None
        return float(exp) if isinstance(exp, int | float) else None
    except (IndexError, ValueError, orjson.JSONDecodeError):
        return None


class TokenManager:
    """The admin JWT pair of one connector: login, refresh before expiry, re-login, thread-safe.

    ``token()`` always returns a usable access token: the cached one while it has more than
    ``margin`` seconds left, else one minted with the refresh token (EverShop issues no new refresh
    token), else a fresh login. ``invalidate()`` drops a token the shop refused (401), so the next
    ``token()`` renews it. One lock serialises renewals: a pool of threads triggers one login.
    """

    def __init__(self, http: HttpClient, email: str, password: str, *, margin: float = 60.0,
                 clock: Callable[[], float] = time.time) -> None:
        self._http = http
        self._email = email
        self._password = password
        self._margin = margin
        self._clock = clock
        self._lock = threading.Lock()
        self._access: str | None = None
        self._access_expires = 0.0
        self._refresh: str | None = None
        self._refresh_expires = 0.0
        self.logins = 0
        self.refreshes = 0

    def token(self) -> str:
        """A valid access token, renewed as needed."""
        with self._lock:
            now = self._clock()
            if self._access is not None and now < self._access_expires - self._margin:
                return self._access
            if self._refresh is not None and now < self._refresh_expires - self._margin:
                try:
                    return self._do_refresh(now)
                except AuthFailed:
                    self._refresh = None  # refused (expired, secret rotated, user disabled): log in again
            return self._do_login(now)

    def invalidate(self, token: str | None = None) -> None:
        """Forget the access token (only if it is still ``token``, so concurrent renewals are kept)."""
        with self._lock:
            if token is None or token == self._access:
                self._access = None
                self._access_expires = 0.0

    def reset(self) -> None:
        """Forget both tokens: the next call logs in."""
        with self._lock:
            self._access = self._refresh = None
            self._access_expires = self._refresh_expires = 0.0

    def _do_login(self, now: float) -> str:
        response = self._post("/api/user/tokens", {"email": self._email, "password": self._password})
        data = response.get("data") if isinstance(response, dict) else None
        access = data.get("accessToken") if isinstance(data, dict) else None
        refresh = data.get("refreshToken") if isinstance(data, dict) else None
        if not isinstance(access, str) or not access:
            raise AuthFailed("login answered without an access token", platform=PLATFORM)
        self.logins += 1
        self._access = access
        self._access_expires = _jwt_expiry(access) or now + ACCESS_LIFETIME
        if isinstance(refresh, str) and refresh:
            self._refresh = refresh
            self._refresh_expires = _jwt_expiry(refresh) or now + REFRESH_LIFETIME
        else:
            self._refresh = None
        return access

    def _do_refresh(self, now: float) -> str:
        response = self._post("/api/user/token/refresh", {"refreshToken": self._refresh})
        data = response.get("data") if isinstance(response, dict) else None
        access = data.get("accessToken") if isinstance(data, dict) else None
        if not isinstance(access, str) or not access:
            raise AuthFailed("token refresh answered without an access token", platform=PLATFORM)
        self.refreshes += 1
        self._access = access
        self._access_expires = _jwt_expiry(access) or now + ACCESS_LIFETIME
        return access

    def _post(self, path: str, body: dict[str, Any]) -> Any:
        try:
            # Token calls change nothing on the shop: safe to retry on lost answers.
            return self._http.send_json("POST", path, body, idempotent=True)
        except (Rejected, NotFound, Conflict) as error:
            # 400 "Invalid email or password" and friends: the credentials are wrong, not the request.
            raise AuthFailed(error.message, platform=PLATFORM, status=error.status) from None


# ---------------------------------------------------------------------------------------------
# Change-feed cursor
# ---------------------------------------------------------------------------------------------


@dataclass
class _Cursor:
    """The change feed's JSON cursor (see :meth:`EverShopConnector.iter_orders`)."""

    watermark: int = 0
    recent: dict[str, int] = field(default_factory=dict)  # order_id -> created_at (epoch ms)
    open: dict[str, list[Any]] = field(default_factory=dict)  # uuid -> [order_id, fingerprint]

    @classmethod
    def load(cls, state: CursorState | None) -> _Cursor:
        if not state:
            return cls()
        try:
            watermark = int(state.get("watermark", 0))
            recent = {str(k): int(v) for k, v in dict(state.get("recent") or {}).items()}
            opened = {str(k): [int(v[0]), str(v[1])] for k, v in dict(state.get("open") or {}).items()}
        except (TypeError, ValueError, IndexError, AttributeError):
            log.warning("evershop_cursor_unreadable", cursor=str(state)[:200])
            return cls()
        return cls(watermark=watermark, recent=recent, open=opened)

    def dump(self) -> CursorState:
        return {"v": 1, "watermark": self.watermark, "recent": dict(self.recent), "open": dict(self.open)}


def _created_ms(item: Mapping[str, Any]) -> int:
    created = item.get("createdAt")
    try:
        return int(parse_timestamp(created).timestamp() * 1000) if created else 0
    except ValueError:
        return 0


def _code(item: Mapping[str, Any], key: str) -> str | None:
    value = item.get(key)
    if isinstance(value, dict):
        code = value.get("code")
        return str(code) if code is not None else None
    return None


def _fingerprint(item: Mapping[str, Any]) -> str:
    """A short hash of everything that can change on an EverShop order after it is placed."""
    shipments = sorted(
        (str(s.get("uuid")), _code(s, "status"), s.get("trackingNumber"), s.get("carrier"))
        for s in item.get("shipments") or []
        if isinstance(s, dict)
    )
    state = [_code(item, "status"), _code(item, "paymentStatus"), _code(item, "shipmentStatus"), shipments]
    return hashlib.sha1(orjson.dumps(state), usedforsecurity=False).hexdigest()[:16]


def holds_order(item: Mapping[str, Any]) -> bool:
    """Whether an order object carries every field ``get_order`` selects (a whole order, not a light row)."""
    return item.keys() >= queries.ORDER_KEYS


def _change(item: dict[str, Any], read_at: datetime, updated_at: datetime | None) -> OrderChange:
    """A feed change for an order object; a whole one rides along as the snapshot."""
    whole = holds_order(item)
    return OrderChange(id=str(item["uuid"]), number=item.get("orderNumber"), updated_at=updated_at,
                       snapshot=item if whole else None, read_at=read_at if whole else None)


def _product_ref(sku: str, product: Mapping[str, Any]) -> ProductRef:
    """A ``ProductsBySku`` item as a :class:`ProductRef` (price from ``price.regular``, stock from inventory)."""
    price = product.get("price") or {}
    regular = price.get("regular") if isinstance(price, dict) else None
    inventory: dict[str, Any] = product["inventory"] if isinstance(product.get("inventory"), dict) else {}
    return ProductRef(
        sku=sku,
        product_id=str(product.get("productId")),
        name=product.get("name"),
        price=parse_decimal(regular["value"]) if isinstance(regular, dict) and regular.get("value") is not None
        else None,
        stock=int(inventory["qty"]) if inventory.get("qty") is not None else None,
    )


def _is_open(item: Mapping[str, Any]) -> bool:
    return _code(item, "status") not in CLOSED_STATUSES


def _filters(*pairs: tuple[str, str, Any]) -> list[dict[str, str]]:
    return [{"key": key, "operation": operation, "value": str(value)} for key, operation, value in pairs]


def _address(address: EverShopAddress) -> dict[str, Any]:
    """The cart address body: every field that has a value (defaults included, None left out)."""
    return address.model_dump(mode="json", by_alias=True, exclude_none=True)


def _cart_key(cart_id: str) -> str:
    """A cart uuid as POST /api/carts hands it out (32 lowercase hex digits); numeric ids unchanged."""
    text = cart_id.strip()
    hexed = text.replace("-", "").lower()
    return hexed if re.fullmatch(r"[0-9a-f]{32}", hexed) else text


def _chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


# ---------------------------------------------------------------------------------------------
# The connector
# ---------------------------------------------------------------------------------------------


class EverShopConnector:
    """ordersync's :class:`~connectors.base.Connector` for EverShop 2.x (and 1.x shipment bodies).

    ``settings.base_url`` is the shop root (``http://127.0.0.1:3000``; a trailing ``/api`` is
    accepted). Credentials: ``email`` and ``password`` of an admin user. Options: see
    :data:`DEFAULT_OPTIONS`.
    """

    platform = "evershop"

    def __init__(self, settings: ConnectionSettings, *, transport: httpx.BaseTransport | None = None,
                 limiter: RateLimiter | None = None, clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        self.options = merge_options(DEFAULT_OPTIONS, settings.options)
        self.capabilities: Capabilities = CAPABILITIES
        base_url = settings.base_url.rstrip("/")
        if base_url.endswith("/api"):
            base_url = base_url[: -len("/api")]
        self._http = HttpClient(
            platform=PLATFORM,
            store=settings.store,
            base_url=base_url,
            bucket=bucket_from_options(self.options, BucketSpec(rate=2.0, burst=20.0)),
            limiter=limiter or TokenBucket(),
            timeout=settings.timeout,
            transport=transport,
            classify=classify,
            read_signal=read_rate_signal,
            max_wait=float(self.options["max_wait"]),
        )
        self._tokens = TokenManager(
            self._http, settings.secret("email"), settings.secret("password"),
            margin=float(self.options["refresh_margin"]), clock=clock,
        )
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._sku_cache: dict[str, ProductRef] = {}
        self._sku_status: dict[str, str] = {}
        self._sku_unknown: dict[str, float] = {}  # SKU -> when resolve_skus did not find it
        self._bridge: tuple[bool, float] | None = None
        self._legacy: bool | None = self.options.get("legacy_shipments")
        self._carriers: frozenset[str] | None = None
        self._definition_ready = False
        self._namespace = str(self.options["metafield_namespace"])
        self._key = str(self.options["metafield_key"])

    # -- plumbing -------------------------------------------------------------------------------
    @property
    def http(self) -> HttpClient:
        """The underlying HTTP client (request counts, base URL)."""
        return self._http

    @property
    def tokens(self) -> TokenManager:
        """The connector's token manager (login/refresh counters, for tests and diagnostics)."""
        return self._tokens

    def close(self) -> None:
        """Release pooled connections."""
        self._http.close()

    def __enter__(self) -> EverShopConnector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _admin(self, method: str, path: str, body: Any = None, *, idempotent: bool | None = None,
               params: Mapping[str, Any] | None = None) -> Any:
        """A private (admin) call with the Bearer token; one retry with a renewed token after a 401."""
        for attempt in (1, 2):
            token = self._tokens.token()
            try:
                return self._http.send_json(method, path, body, headers={"Authorization": f"Bearer {token}"},
                                            idempotent=idempotent, params=params)
            except AuthFailed as error:
                # A 401 is answered by the auth middleware before the handler runs: nothing was
                # written, so even a POST may be sent again with a fresh token.
                if attempt == 1 and error.status == 401:
                    log.info("evershop_token_refused", store=self.settings.store, reason=error.message)
                    self._tokens.invalidate(token)
                    continue
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _public(self, method: str, path: str, body: Any = None, *, idempotent: bool | None = None) -> Any:
        """A storefront call (cart flow, public GraphQL): no credentials are sent."""
        return self._http.send_json(method, path, body, idempotent=idempotent)

    def graphql(self, query: str, variables: Mapping[str, Any] | None = None, *, admin: bool = True) -> dict[str, Any]:
        """Run a GraphQL document (admin endpoint by default) and return its ``data``.

        GraphQL reads are POSTs but change nothing, so they are retried like GETs. EverShop answers
        execution errors with HTTP 500 ``{"error": {...}}`` (classified by message); a 200 with an
        ``errors`` list (other servers, the simulator) is classified the same way.
        """
        body = {"query": query, "variables": dict(variables or {})}
        if admin:
            answer = self._admin("POST", "/api/admin/graphql", body, idempotent=True)
        else:
            answer = self._public("POST", "/api/graphql", body, idempotent=True)
        if not isinstance(answer, dict):
            raise Transient("GraphQL answer is not a JSON object", platform=PLATFORM)
        errors = answer.get("errors")
        if isinstance(errors, list) and errors:
            first = errors[0] if isinstance(errors[0], dict) else {"message": str(errors[0])}
            message = str(first.get("message", "GraphQL error"))
            raise classify_message(message, None) or Transient(message, platform=PLATFORM)
        data = answer.get("data")
        if not isinstance(data, dict):
            raise Transient("GraphQL answer has no data", platform=PLATFORM)
        return data

    # -- capabilities of this shop ----------------------------------------------------------------
    def bridge_available(self) -> bool:
        """Whether the ordersync bridge's ``order_id``/``cart_id`` order filters are installed.

        Unknown filters are ignored silently by EverShop, so this asks for ``order_id eq 0`` and
        checks whether the filter shows up in ``currentFilters``. Cached for a few minutes.
        """
        forced = self.options.get("bridge")
        if forced is not None:
            return bool(forced)
        now = self._clock()
        with self._lock:
            if self._bridge is not None and now < self._bridge[1]:
                return self._bridge[0]
        page = self._orders_page(_filters(("order_id", "eq", 0), ("limit", "eq", 1)), light=True)
        applied = any(f.get("key") == "order_id" for f in page.get("currentFilters") or [] if isinstance(f, dict))
        with self._lock:
            self._bridge = (applied, now + float(self.options["bridge_cache_seconds"]))
        if not applied:
            log.info("evershop_bridge_absent", store=self.settings.store)
        return applied

    def legacy_shipments(self) -> bool:
        """Whether the shop takes the old shipment body ``{carrier_name, tracking_number}`` (1.x).

        Set by the ``legacy_shipments`` option, else detected: EverShop 2.x answers the GraphQL
        ``version`` field (and requires ``items`` + a registered ``carrier``); older shops do not.
        """
        if self._legacy is not None:
            return self._legacy
        try:
            version = str(self.graphql(queries.SHOP_VERSION).get("version") or "")
        except Rejected:
            version = ""
        legacy = not version or version.split(".")[0] in ("0", "1")
        with self._lock:
            self._legacy = legacy
        return legacy

    def _carrier_codes(self) -> frozenset[str]:
        if self._carriers is None:
            try:
                data = self.graphql("query Carriers { carriers { code } }")
                codes = frozenset(str(c["code"]) for c in data.get("carriers") or [] if isinstance(c, dict))
            except Rejected:
                codes = frozenset({"custom"})
            self._carriers = codes or frozenset({"custom"})
        return self._carriers

    # -- reads ----------------------------------------------------------------------------------
    def get_order(self, order_id: str) -> dict[str, Any]:
        """The admin GraphQL ``order(uuid)`` object with every field the mapping reads."""
        data = self.graphql(queries.ORDER, {"uuid": order_id})
        order = data.get("order")
        if not isinstance(order, dict):
            raise NotFound(f"order {order_id} not found", platform=PLATFORM)
        return order

    def hydrate(self, snapshot: dict[str, Any]) -> dict[str, Any]:
        """What :meth:`get_order` answers, from a change's snapshot: the order object itself, no call.

        Feed snapshots select exactly :data:`~connectors.evershop.queries.ORDER_FIELDS` (EverShop has no
        order sub-resources to fetch). A light object (a reference row) is read whole with one call; an
        object without ``uuid`` is an :class:`InvalidPayload` naming ``uuid``.
        """
        uuid = snapshot.get("uuid") if isinstance(snapshot, dict) else None
        if not isinstance(uuid, str) or not uuid:
            raise InvalidPayload("EverShop order row", [("uuid", "missing: the row has no order uuid")])
        if not holds_order(snapshot):
            return self.get_order(uuid)
        return dict(snapshot)

    def get_orders(self, order_ids: Sequence[str]) -> Iterator[tuple[str, dict[str, Any] | Exception]]:
        """Many orders, fetched on a few threads (every request still passes the rate limiter)."""
        return fan_out(self.get_order, order_ids, workers=int(self.options["workers"]))

    def _orders_page(self, filters: list[dict[str, str]], *, light: bool = False) -> dict[str, Any]:
        """One page of the admin order collection: whole orders, or ``light`` ones (lookups, probes)."""
        document = queries.ORDERS_LIGHT_PAGE if light else queries.ORDERS_PAGE
        data = self.graphql(document, {"filters": filters})
        page = data.get("orders")
        if not isinstance(page, dict):
            raise Transient("orders collection missing from the answer", platform=PLATFORM)
        return page

    def _order_state(self, order_id: str) -> dict[str, Any]:
        order = self.graphql(queries.ORDER_STATE, {"uuid": order_id}).get("order")
        if not isinstance(order, dict):
            raise NotFound(f"order {order_id} not found", platform=PLATFORM)
        return order

    def _order_states(self, uuids: Sequence[str], *, whole: bool = False) -> dict[str, dict[str, Any] | None]:
        """Many orders in one aliased request: light state, or ``whole`` orders; a missing one is ``None``."""
        document = queries.order_states_document(len(uuids), whole=whole)
        data = self.graphql(document, {f"u{i}": uuid for i, uuid in enumerate(uuids)})
        out: dict[str, dict[str, Any] | None] = {}
        for i, uuid in enumerate(uuids):
            item = data.get(f"o{i}")
            out[uuid] = item if isinstance(item, dict) else None
        return out

    def iter_orders(self, since: CursorState | None, *, lookback_seconds: float = 300.0) -> ChangeFeed:
        """Orders created or changed since the cursor ``since`` (every order when ``None``).

        EverShop never updates ``order.updated_at`` and cannot filter on it, so the feed has two
        parts, and its JSON cursor two halves:

        1. *New orders*, by ``order_id``: with the bridge, ``order_id gt <watermark>`` sorted
           ascending; without it, the default collection (``order_id DESC``) paged back to the
           watermark. Ids seen within ``lookback_seconds`` of the newest order stay in the cursor
           (``recent``) and the watermark only passes them after that window, so an order whose
           insert committed late (a lower id appearing after a higher one) is still found.
        2. *Open orders* (status not completed/canceled/closed) tracked in the cursor (``open``),
           re-read in batches; one whose statuses or shipments changed is reported again. Closed
           orders leave the cursor after their last change is reported.
        """
        return ChangeFeed(self._changes(since, lookback_seconds), since)

    def _changes(self, since: CursorState | None, lookback_seconds: float
                 ) -> Generator[OrderChange, None, CursorState | None]:
        cursor = _Cursor.load(since)
        fresh = self._new_orders(cursor)
        reported: set[str] = set()
        for item, read_at in fresh:
            uuid = str(item["uuid"])
            order_id = int(item["orderId"])
            created = _created_ms(item)
            cursor.recent[str(order_id)] = created
            reported.add(uuid)
            if _is_open(item):
                cursor.open[uuid] = [order_id, _fingerprint(item)]
            else:
                cursor.open.pop(uuid, None)
            yield _change(item, read_at,
                          datetime.fromtimestamp(created / 1000, tz=UTC) if created else None)
        pending = [uuid for uuid in cursor.open if uuid not in reported]
        batch = max(1, int(self.options["state_batch"]))
        changed: list[str] = []
        for chunk in _chunks(pending, batch):
            states = self._order_states(chunk)
            for uuid in chunk:
                state = states.get(uuid)
                if state is None:
                    cursor.open.pop(uuid, None)  # gone from the shop (EverShop has no delete; a DB purge)
                    continue
                fingerprint = _fingerprint(state)
                if fingerprint != cursor.open[uuid][1]:
                    changed.append(uuid)
                if _is_open(state):
                    cursor.open[uuid] = [int(state.get("orderId") or cursor.open[uuid][0]), fingerprint]
                else:
                    cursor.open.pop(uuid, None)
        for chunk in _chunks(changed, batch):
            read_at = datetime.now(UTC)
            wholes = self._order_states(chunk, whole=True)
            for uuid in chunk:
                whole = wholes.get(uuid)
                if whole is None:
                    yield OrderChange(id=uuid)  # gone between the two reads: the engine's read sees the 404
                else:
                    yield _change(whole, read_at, None)
        self._settle(cursor, lookback_seconds)
        return cursor.dump()

    @staticmethod
    def _settle(cursor: _Cursor, lookback_seconds: float) -> None:
        """Move the watermark past ids older than the lookback window (relative to the newest order)."""
        if not cursor.recent:
            return
        newest = max(cursor.recent.values())
        cutoff = newest - int(lookback_seconds * 1000)
        for key, created in list(cursor.recent.items()):
            if created < cutoff:
                cursor.watermark = max(cursor.watermark, int(key))
        cursor.recent = {k: v for k, v in cursor.recent.items() if int(k) > cursor.watermark}

    def _new_orders(self, cursor: _Cursor, *, light: bool = False) -> list[tuple[dict[str, Any], datetime]]:
        """Orders placed after the cursor's watermark (not in its ``recent`` window), ``order_id``
        ascending, each with the time its page was read; whole orders unless ``light``."""
        size = max(1, int(self.options["page_size"]))
        out: list[tuple[dict[str, Any], datetime]] = []
        if self.bridge_available():
            after = cursor.watermark
            while True:
                read_at = datetime.now(UTC)
                page = self._orders_page(_filters(("order_id", "gt", after), ("od", "eq", "asc"),
                                                  ("limit", "eq", size), ("page", "eq", 1)), light=light)
                items = [i for i in page.get("items") or [] if isinstance(i, dict)]
                out.extend((i, read_at) for i in items if str(i.get("orderId")) not in cursor.recent)
                if len(items) < size or len(items) >= _total(page, default=len(items) + 1):
                    break  # the last page (its total says so when it is full)
                after = max(int(i["orderId"]) for i in items)
        else:
            number = 1
            while True:
                read_at = datetime.now(UTC)
                page = self._orders_page(_filters(("limit", "eq", size), ("page", "eq", number)), light=light)
                items = [i for i in page.get("items") or [] if isinstance(i, dict)]
                done = False
                for item in items:
                    if int(item["orderId"]) <= cursor.watermark:
                        done = True
                        break
                    if str(item.get("orderId")) not in cursor.recent:
                        out.append((item, read_at))
                if done or len(items) < size or number * size >= _total(page, default=number * size + 1):
                    break
                number += 1
        unique = {int(i["orderId"]): (i, at) for i, at in out}
        return [unique[k] for k in sorted(unique)]

    # -- references -----------------------------------------------------------------------------
    def _ref_of(self, item: Mapping[str, Any]) -> str | None:
        meta = item.get("metaData")
        if isinstance(meta, str):
            try:
                meta = orjson.loads(meta)
            except orjson.JSONDecodeError:
                return None
        if not isinstance(meta, dict):
            return None
        space = meta.get(self._namespace)
        value = space.get(self._key) if isinstance(space, dict) else None
        return str(value) if value not in (None, "") else None

    def iter_references(self, since: CursorState | None) -> ChangeFeed:
        """Orders stamped with our metafield, placed after the cursor's order id (all when ``None``).

        The admin order list carries ``metaData``, so the store is read a page at a time. Our stamp
        follows the checkout by a call, so the watermark stops before the first unstamped order
        younger than ``reference_settle_seconds``: it is read again next time.
        """
        return ChangeFeed(only_referenced(self._reference_feed(since)), since)

    def _reference_feed(self, since: CursorState | None) -> Generator[OrderChange, None, CursorState | None]:
        try:
            watermark = int((since or {}).get("watermark", 0))
        except (TypeError, ValueError):
            watermark = 0
        settle_ms = int((time.time() - float(self.options.get("reference_settle_seconds", 600))) * 1000)
        settled = True
        for item, _read_at in self._new_orders(_Cursor(watermark=watermark), light=True):
            reference = self._ref_of(item)
            if settled and (reference is not None or _created_ms(item) < settle_ms):
                watermark = max(watermark, int(item["orderId"]))
            else:
                settled = False
            yield OrderChange(id=str(item["uuid"]), number=item.get("orderNumber"), reference=reference)
        return {"watermark": watermark}

    def _orders_by_cart(self, cart_id: str) -> list[dict[str, Any]]:
        page = self._orders_page(_filters(("cart_id", "eq", _cart_key(cart_id)), ("limit", "eq", 5)), light=True)
        if not any(f.get("key") == "cart_id" for f in page.get("currentFilters") or [] if isinstance(f, dict)):
            raise Transient("the bridge's cart_id filter was not applied", platform=PLATFORM)
        return [i for i in page.get("items") or [] if isinstance(i, dict)]

    def _match_cart(self, cart_id: str, key: str) -> dict[str, Any] | None:
        """The order placed from ``cart_id`` if it is ours (stamped ``key``, or not stamped yet)."""
        for item in self._orders_by_cart(cart_id):
            found = self._ref_of(item)
            if found is None or found == key:
                return item
            log.warning("evershop_cart_order_foreign_ref", cart_id=cart_id, uuid=item.get("uuid"), found=found)
        return None

    def find_by_reference(self, ref: OrderReference) -> str | None:
        """The uuid of the order we created for ``ref``, or ``None``.

        With the bridge and ``ref.cart_id``: the order placed from that cart (our carts are never
        shared), accepted when its ``ordersync.ref`` metafield is ``ref.key`` or still missing (the
        process died between placing and stamping; the stamp is added now). Otherwise: orders of
        ``ref.email`` (or the newest orders) placed after ``ref.placed_after``, matched on the
        metafield.
        """
        if ref.cart_id and self.bridge_available():
            item = self._match_cart(ref.cart_id, ref.key)
            if item is not None:
                uuid = str(item["uuid"])
                if self._ref_of(item) is None:
                    self._stamp_quietly(uuid, ref.key)
                return uuid
            return None
        item = self._scan_for_reference(ref)
        return str(item["uuid"]) if item is not None else None

    def _scan_for_reference(self, ref: OrderReference) -> dict[str, Any] | None:
        size = max(1, int(self.options["page_size"]))
        after_ms = int((ref.placed_after - timedelta(minutes=5)).timestamp() * 1000) if ref.placed_after else None
        for number in range(1, int(self.options["reference_scan_pages"]) + 1):
            pairs: list[tuple[str, str, Any]] = [("limit", "eq", size), ("page", "eq", number)]
            if ref.email:
                pairs.insert(0, ("email", "eq", ref.email))
            page = self._orders_page(_filters(*pairs), light=True)
            items = [i for i in page.get("items") or [] if isinstance(i, dict)]
            for item in items:
                if self._ref_of(item) == ref.key:
                    return item
            if len(items) < size:
                return None
            if after_ms is not None and min(_created_ms(i) for i in items) < after_ms:
                return None
        return None

    # -- metafields -----------------------------------------------------------------------------
    def metafield_definition_exists(self) -> bool:
        """Whether the order metafield definition ``<namespace>.<key>`` exists.

        Read over REST: the GraphQL ``metafieldDefinitions`` resolver answers ``[]`` to JWT clients.
        """
        answer = self._admin("GET", "/api/metafield-definitions", params={"ownerType": "order"})
        definitions = answer.get("data") if isinstance(answer, dict) else None
        return any(
            isinstance(d, dict) and d.get("namespace") == self._namespace and d.get("key") == self._key
            for d in definitions or []
        )

    def ensure_metafield_definition(self) -> bool:
        """Create the order metafield definition once per connector (values need it); True if created."""
        if self._definition_ready:
            return False
        created = False
        if not self.metafield_definition_exists():
            try:
                self._admin("POST", "/api/metafield-definitions", {
                    "ownerType": "order", "namespace": self._namespace, "fieldKey": self._key,
                    "name": "ordersync reference", "fieldType": "short_text", "visibleToCustomer": False,
                }, idempotent=True)
                created = True
            except Conflict:
                pass  # created meanwhile by another worker
        self._definition_ready = True
        return created

    def forget_metafield_definition(self) -> None:
        """Check the definition again on next use (e.g. after someone deleted it)."""
        self._definition_ready = False

    def stamp_reference(self, order_id: str, key: str) -> None:
        """Write our reference into the order metafield (idempotent PATCH); verify it persisted."""
        for attempt in (1, 2):
            self.ensure_metafield_definition()
            answer = self._admin("PATCH", f"/api/orders/{order_id}/metafields",
                                 {"metafields": {self._namespace: {self._key: key}}}, idempotent=True)
            data = answer.get("data") if isinstance(answer, dict) else None
            if isinstance(data, dict) and self._ref_of(data) == key:
                return
            if attempt == 1:
                self._definition_ready = False  # the definition was deleted: recreate it and retry
        raise Rejected(f"the {self._namespace}.{self._key} metafield did not persist on order {order_id}",
                       platform=PLATFORM, field_errors={"metafields": "not persisted"})

    def _stamp_quietly(self, order_id: str, key: str) -> str | None:
        try:
            self.stamp_reference(order_id, key)
        except ConnectorError as error:
            log.warning("evershop_stamp_failed", order_id=order_id, error=str(error))
            return str(error)
        return None

    # -- create -----------------------------------------------------------------------------------
    def create_order(self, payload: Any, ref: OrderReference, *,
                     on_progress: ProgressCallback | None = None) -> CreatedOrder:
        """Place an order through the guest cart flow and stamp our reference on it.

        Steps: ``POST /api/carts`` → ``on_progress({"cart_id"})`` (the engine persists it before
        anything irreversible) → contacts → shipping and billing addresses → shipping method (the
        plan's, or the first the cart offers) → payment method → shipping note →
        ``POST /api/orders`` → metafield. With ``ref.cart_id`` (an earlier attempt got that far)
        the same cart is reused, after checking whether it was already placed. A lost answer to
        ``POST /api/orders``, or "Cart not found", is resolved by finding the order by its cart —
        never by placing again. The result's ``raw["_ordersync"]`` reports the grand-total drift
        against ``expected_grand_total`` (EverShop reprices from its catalog).
        """
        if not isinstance(payload, EverShopCreatePlan):
            raise TypeError(f"EverShop create_order takes an EverShopCreatePlan, not {type(payload).__name__}")
        plan = payload
        key = ref.key
        started = self._clock()
        cart_id = ref.cart_id
        if cart_id:
            adopted = self._recover(cart_id, key, plan, started=None, attempts=1)
            if adopted is not None:
                return adopted
            try:
                self._prepare_cart(cart_id, plan)
            except NotFound:
                # The cart is gone or already checked out, yet no order was found for it.
                adopted = self._recover(cart_id, key, plan, started=None)
                if adopted is not None:
                    return adopted
                if not self.bridge_available():
                    raise Conflict(f"cart {cart_id} was already checked out and its order cannot be found "
                                   "without the ordersync bridge; look for it by hand", platform=PLATFORM) from None
                cart_id = None  # never placed: start again with a new cart
        if not cart_id:
            cart_id = self._create_cart(plan)
            if on_progress is not None:
                on_progress({"cart_id": cart_id})
            self._prepare_cart(cart_id, plan)
        try:
            answer = self._public("POST", "/api/orders", {"cart_id": cart_id}, idempotent=False)
        except (OutcomeUnknown, NotFound) as error:
            log.warning("evershop_place_order_unclear", cart_id=cart_id, error=str(error))
            adopted = self._recover(cart_id, key, plan, started=started)
            if adopted is not None:
                return adopted
            if isinstance(error, NotFound):
                raise Conflict(f"cart {cart_id} is no longer active and no order was found for it: {error.message}",
                               platform=PLATFORM) from None
            raise
        order = answer.get("data") if isinstance(answer, dict) else None
        if not isinstance(order, dict) or not order.get("uuid"):
            raise Transient("POST /api/orders answered without an order", platform=PLATFORM)
        uuid = str(order["uuid"])
        warning = self._stamp_quietly(uuid, key)
        return self._created(order, plan, cart_id, warnings=[warning] if warning else [], adopted=False)

    def _created(self, order: dict[str, Any], plan: EverShopCreatePlan, cart_id: str, *, warnings: list[str],
                 adopted: bool) -> CreatedOrder:
        grand_total = order.get("grand_total", order.get("grandTotal"))
        if isinstance(grand_total, dict):
            grand_total = grand_total.get("value")
        total: Decimal | None = None
        if grand_total is not None:
            try:
                total = parse_decimal(grand_total)
            except ValueError:
                total = None
        drift: Decimal | None = None
        if total is not None and plan.expected_grand_total is not None:
            drift = total - plan.expected_grand_total
        if drift:
            log.info("evershop_total_drift", uuid=order.get("uuid"), expected=str(plan.expected_grand_total),
                     actual=str(total))
        report = {
            "cart_id": cart_id,
            "grand_total": format_decimal(total) if total is not None else None,
            "expected_grand_total": (format_decimal(plan.expected_grand_total)
                                     if plan.expected_grand_total is not None else None),
            "total_drift": format_decimal(drift) if drift is not None else None,
            "warnings": warnings,
        }
        number = order.get("order_number", order.get("orderNumber"))
        return CreatedOrder(id=str(order.get("uuid")), number=str(number) if number is not None else None,
                            raw={**order, "_ordersync": report}, adopted=adopted)

    def _recover(self, cart_id: str, key: str, plan: EverShopCreatePlan, *, started: float | None,
                 attempts: int | None = None) -> CreatedOrder | None:
        """Find the order placed from ``cart_id`` (a lost or refused ``POST /api/orders``), stamp it."""
        tries = attempts if attempts is not None else int(self.options["recovery_attempts"])
        for attempt in range(max(1, tries)):
            if attempt:
                self._sleep(float(self.options["recovery_delay"]) * attempt)
            item: dict[str, Any] | None
            if self.bridge_available():
                item = self._match_cart(cart_id, key)
            else:
                item = self._match_recent_unstamped(plan, key, started)
            if item is not None:
                uuid = str(item["uuid"])
                warnings: list[str] = []
                if self._ref_of(item) != key:
                    warning = self._stamp_quietly(uuid, key)
                    if warning:
                        warnings.append(warning)
                try:
                    order = self.get_order(uuid)
                except ConnectorError:
                    order = dict(item)
                log.info("evershop_order_recovered", cart_id=cart_id, uuid=uuid)
                return self._created(order, plan, cart_id, warnings=warnings, adopted=True)
        return None

    def _match_recent_unstamped(self, plan: EverShopCreatePlan, key: str, started: float | None
                                ) -> dict[str, Any] | None:
        """Without the bridge: our order among the customer's newest orders (stamp or same lines)."""
        page = self._orders_page(_filters(("email", "eq", plan.customer_email), ("limit", "eq", 20)), light=True)
        wanted: dict[str, int] = {}
        for line in plan.items:
            wanted[line.sku] = wanted.get(line.sku, 0) + line.qty
        since_ms = int((started - 30) * 1000) if started is not None else None
        for item in page.get("items") or []:
            if not isinstance(item, dict):
                continue
            found = self._ref_of(item)
            if found == key:
                return item
            if found is not None or since_ms is None or _created_ms(item) < since_ms:
                continue
            order = self.get_order(str(item["uuid"]))
            lines: dict[str, int] = {}
            for line in order.get("items") or []:
                sku = str(line.get("productSku"))
                lines[sku] = lines.get(sku, 0) + int(line.get("qty") or 0)
            if lines == wanted:
                return item
        return None

    def _create_cart(self, plan: EverShopCreatePlan) -> str:
        body: dict[str, Any] = {"items": [{"sku": line.sku, "qty": line.qty} for line in plan.items],
                                "customer_email": plan.customer_email}
        if plan.customer_full_name:
            body["customer_full_name"] = plan.customer_full_name
        try:
            # A duplicate cart is harmless (carts are not orders): safe to retry on a lost answer.
            answer = self._public("POST", "/api/carts", body, idempotent=True)
        except Rejected as error:
            raise self._explain_cart_error(plan, error) from None
        data = answer.get("data") if isinstance(answer, dict) else None
        cart_id = data.get("cartId") if isinstance(data, dict) else None
        if not isinstance(cart_id, str) or not cart_id:
            raise Transient("POST /api/carts answered without a cartId", platform=PLATFORM)
        return cart_id

    def _explain_cart_error(self, plan: EverShopCreatePlan, error: Rejected) -> Rejected:
        """Name the SKU behind "Some products are not available" / "not enough stock"."""
        text = error.message.lower()
        if "not available" not in text and "stock" not in text:
            return error
        field_errors: dict[str, str] = {}
        for index, line in enumerate(plan.items):
            try:
                product = self.resolve_sku(line.sku)
            except UnknownSku as unknown:
                return unknown
            if "not available" in text and self._sku_status.get(line.sku) not in (None, "1"):
                field_errors[f"items[{index}].sku"] = f"product {line.sku} is disabled"
            if product.stock is not None and product.stock < line.qty:
                field_errors[f"items[{index}].qty"] = f"{line.sku}: {product.stock} in stock, {line.qty} wanted"
        return Rejected(error.message, platform=PLATFORM, status=error.status,
                        field_errors=field_errors or error.field_errors)

    def _prepare_cart(self, cart_id: str, plan: EverShopCreatePlan) -> None:
        """Contacts, addresses, shipping and payment methods, note: all idempotent cart setters."""
        base = f"/api/carts/{cart_id}"
        self._public("POST", f"{base}/contacts", {"email": plan.customer_email}, idempotent=True)
        self._public("POST", f"{base}/addresses", {"type": "shipping", "address": _address(plan.shipping_address)},
                     idempotent=True)
        self._public("POST", f"{base}/addresses", {"type": "billing", "address": _address(plan.billing_address)},
                     idempotent=True)
        methods = self.graphql(queries.CART_METHODS, {"id": cart_id}, admin=False).get("cart")
        if not isinstance(methods, dict):
            raise NotFound(f"cart {cart_id} not found", platform=PLATFORM)
        provider = plan.shipping_provider
        method = plan.shipping_method_code
        if not method:
            available = [m for m in methods.get("availableShippingMethods") or [] if isinstance(m, dict)]
            chosen = next((m for m in available if m.get("providerCode") == provider), None)
            chosen = chosen or (available[0] if available else None)
            if chosen is None:
                raise Rejected(f"no shipping method is available for {plan.shipping_address.country}/"
                               f"{plan.shipping_address.province} (set up a shipping zone and rate)",
                               platform=PLATFORM, field_errors={"shipping_method_code": "none available"})
            method = str(chosen["code"])
            provider = str(chosen.get("providerCode") or provider)
        payments = {str(m.get("code")) for m in methods.get("availablePaymentMethods") or [] if isinstance(m, dict)}
        if payments and plan.payment_method_code not in payments:
            raise Rejected(f"payment method {plan.payment_method_code!r} is not available on this shop "
                           f"(available: {', '.join(sorted(payments))})", platform=PLATFORM,
                           field_errors={"payment_method_code": "not available"})
        self._public("POST", f"{base}/shippingMethods", {"provider_code": provider, "method_code": method},
                     idempotent=True)
        payment: dict[str, Any] = {"method_code": plan.payment_method_code}
        if plan.payment_method_name:
            payment["method_name"] = plan.payment_method_name
        self._public("POST", f"{base}/paymentMethods", payment, idempotent=True)
        if plan.shipping_note:
            self._public("POST", f"{base}/shippingNotes", {"note": plan.shipping_note}, idempotent=True)

    # -- status -----------------------------------------------------------------------------------
    def set_status(self, order_id: str, payload: Any) -> None:
        """Apply an :class:`EverShopStatusPlan`, each step only if the order still needs it.

        Order of steps: COD capture (only when the payment is pending and the method is ``cod``),
        then mark the listed shipments delivered (only those still ``shipped``), then cancel (only
        when not already canceled: EverShop restocks on every cancel).
        """
        if not isinstance(payload, EverShopStatusPlan):
            raise TypeError(f"EverShop set_status takes an EverShopStatusPlan, not {type(payload).__name__}")
        state = self._order_state(order_id)
        if payload.capture_payment:
            self._capture(order_id, state)
        if payload.deliver_shipments:
            self._deliver(order_id, state, payload.deliver_shipments)
        if payload.cancel:
            self._cancel(order_id, payload.cancel_reason or str(self.options["cancel_reason"]),
                         state=self._order_state(order_id) if (payload.capture_payment or payload.deliver_shipments)
                         else state)

    def _capture(self, order_id: str, state: Mapping[str, Any]) -> None:
        payment = _code(state, "paymentStatus")
        if payment != "pending":
            log.info("evershop_capture_skipped", order_id=order_id, payment_status=payment)
            return
        method = state.get("paymentMethod")
        if method != "cod":
            raise Conflict(f"cannot capture a {method!r} payment from ordersync (only Cash on Delivery)",
                           platform=PLATFORM)
        try:
            self._admin("POST", "/api/cod/captures", {"order_id": order_id}, idempotent=False)
        except (OutcomeUnknown, Conflict):
            if _code(self._order_state(order_id), "paymentStatus") != "paid":
                raise

    def _deliver(self, order_id: str, state: Mapping[str, Any], shipment_ids: Iterable[str]) -> None:
        shipments = {str(s.get("uuid")): s for s in state.get("shipments") or [] if isinstance(s, dict)}
        for shipment_id in shipment_ids:
            shipment = shipments.get(shipment_id)
            if shipment is None:
                raise NotFound(f"shipment {shipment_id} is not on order {order_id}", platform=PLATFORM)
            status = _code(shipment, "status")
            if status != "shipped":
                log.info("evershop_deliver_skipped", shipment_id=shipment_id, status=status)
                continue
            try:
                self._admin("POST", f"/api/shipments/{shipment_id}/markDelivered", {}, idempotent=True)
            except Conflict:
                if self._shipment_status(order_id, shipment_id) != "delivered":
                    raise

    def _shipment_status(self, order_id: str, shipment_id: str) -> str | None:
        for shipment in self._order_state(order_id).get("shipments") or []:
            if isinstance(shipment, dict) and str(shipment.get("uuid")) == shipment_id:
                return _code(shipment, "status")
        return None

    def _cancel(self, order_id: str, reason: str, *, state: Mapping[str, Any] | None = None) -> None:
        current = state if state is not None else self._order_state(order_id)
        if _code(current, "status") == "canceled":
            log.info("evershop_cancel_skipped", order_id=order_id)
            return
        try:
            self._admin("POST", f"/api/orders/{order_id}/cancel", {"reason": reason}, idempotent=False)
        except OutcomeUnknown:
            # Never send it again blindly: a second cancel restocks a second time.
            if _code(self._order_state(order_id), "status") != "canceled":
                raise

    def cancel_order(self, order_id: str, payload: Any = None) -> None:
        """Cancel once: read the order first and skip when it is already canceled."""
        reason = payload.reason if isinstance(payload, EverShopCancel) else str(self.options["cancel_reason"])
        self._cancel(order_id, reason)

    def delete_order(self, order_id: str) -> None:
        """EverShop cannot delete orders (capability ``cancel_only``): a checked cancel."""
        self.cancel_order(order_id)

    # -- shipments ------------------------------------------------------------------------------
    def create_shipment(self, order_id: str, payload: Any) -> str:
        """Create a shipment (2.x ``{items, carrier, tracking_number}``, or the 1.x body); its uuid.

        An existing, not canceled shipment with the same tracking number counts as done (a retried
        job). A lost answer is resolved by re-reading the order's shipments.
        """
        if not isinstance(payload, EverShopShipmentCreate | EverShopLegacyShipmentCreate):
            raise TypeError(f"EverShop create_shipment takes a shipment create model, not {type(payload).__name__}")
        legacy = self.legacy_shipments()
        before = self._order_state(order_id) if not legacy else {"shipments": []}
        existing = [s for s in before.get("shipments") or [] if isinstance(s, dict)]
        tracking = payload.tracking_number
        if tracking:
            for shipment in existing:
                if shipment.get("trackingNumber") == tracking and _code(shipment, "status") != "canceled":
                    log.info("evershop_shipment_exists", order_id=order_id, shipment_id=shipment.get("uuid"))
                    return str(shipment["uuid"])
        body = self._shipment_body(order_id, payload, legacy)
        try:
            answer = self._admin("POST", f"/api/orders/{order_id}/shipments", body, idempotent=False)
        except OutcomeUnknown:
            if legacy:
                raise
            known = {str(s.get("uuid")) for s in existing}
            after = [s for s in self._order_state(order_id).get("shipments") or []
                     if isinstance(s, dict) and str(s.get("uuid")) not in known]
            if len(after) == 1:
                return str(after[0]["uuid"])
            raise
        data: Any = answer.get("data") if isinstance(answer, dict) else None
        created: Any = data.get("shipment") if isinstance(data, dict) and isinstance(data.get("shipment"), dict) \
            else data
        uuid = created.get("uuid") if isinstance(created, dict) else None
        if not uuid:
            raise Transient("shipment create answered without a shipment uuid", platform=PLATFORM)
        return str(uuid)

    def _shipment_body(self, order_id: str, payload: EverShopShipmentCreate | EverShopLegacyShipmentCreate,
                       legacy: bool) -> dict[str, Any]:
        if legacy:
            if isinstance(payload, EverShopLegacyShipmentCreate):
                return payload.model_dump(mode="json", by_alias=True, exclude_none=True)
            body: dict[str, Any] = {"carrier_name": payload.carrier}
            if payload.tracking_number:
                body["tracking_number"] = payload.tracking_number
            return body
        if isinstance(payload, EverShopShipmentCreate):
            # Defaults count here (``carrier="custom"``): WriteModel.body() would drop them as unset.
            return payload.model_dump(mode="json", by_alias=True, exclude_none=True)
        # An old-style body on a 2.x shop: ship everything still unshipped, with a registered carrier.
        order = self.graphql(queries.ORDER_UNSHIPPED, {"uuid": order_id}).get("order")
        if not isinstance(order, dict):
            raise NotFound(f"order {order_id} not found", platform=PLATFORM)
        unshipped = [i for i in order.get("unshippedItems") or [] if isinstance(i, dict)]
        items = [{"order_item_id": int(i["orderItemId"]), "qty": int(i["qtyUnshipped"])}
                 for i in unshipped if int(i.get("qtyUnshipped", 0)) > 0]
        if not items:
            raise Conflict(f"order {order_id} has nothing left to ship", platform=PLATFORM)
        wanted = (payload.carrier_name or "").strip().lower()
        carrier = wanted if wanted in self._carrier_codes() else "custom"
        converted: dict[str, Any] = {"items": items, "carrier": carrier}
        if payload.tracking_number:
            converted["tracking_number"] = payload.tracking_number
        return converted

    def update_shipment(self, order_id: str, shipment_id: str, payload: Any) -> None:
        """Change a shipment's carrier/tracking: ``PATCH /api/shipments/:uuid``, else the older
        ``PATCH /api/orders/:order_id/shipments/:shipment_id`` (1.x body ``carrier_name``)."""
        if not isinstance(payload, EverShopShipmentUpdate):
            raise TypeError(f"EverShop update_shipment takes an EverShopShipmentUpdate, not {type(payload).__name__}")
        body = payload.body()
        if not body:
            return
        legacy_path = f"/api/orders/{order_id}/shipments/{shipment_id}"
        if self.legacy_shipments():
            legacy_body = {("carrier_name" if k == "carrier" else k): v for k, v in body.items()}
            self._admin("PATCH", legacy_path, legacy_body, idempotent=True)
            return
        try:
            self._admin("PATCH", f"/api/shipments/{shipment_id}", body, idempotent=True)
        except NotFound:
            self._admin("PATCH", legacy_path, body, idempotent=True)

    # -- catalog ----------------------------------------------------------------------------------
    def resolve_sku(self, sku: str) -> ProductRef:
        """The product with exactly this SKU (admin ``products`` filter ``sku in``); cached.

        Raises :class:`UnknownSku` when the catalog has none (also, without asking again, for a SKU
        :meth:`resolve_skus` did not find within ``unknown_sku_ttl`` seconds). ``product_id`` is
        EverShop's numeric ``productId`` (what order lines carry); the cart itself only needs the SKU.
        """
        with self._lock:
            cached = self._sku_cache.get(sku)
            unknown_at = self._sku_unknown.get(sku)
        if cached is not None:
            return cached
        if unknown_at is not None and self._clock() - unknown_at < float(self.options["unknown_sku_ttl"]):
            raise UnknownSku(sku, platform=PLATFORM)
        if not sku or "," in sku:
            raise UnknownSku(sku, platform=PLATFORM)  # the sku filter splits on commas
        found = self._products_by_sku([sku], limit=5)
        if sku not in found:
            raise UnknownSku(sku, platform=PLATFORM)
        return found[sku]

    def resolve_skus(self, skus: Iterable[str]) -> dict[str, ProductRef]:
        """The products of many SKUs, ``sku_batch`` (50) to a request: EverShop's admin ``products``
        filter ``sku`` takes ``in`` with a comma-separated list (``value.split(',')`` in
        ``registerDefaultProductCollectionFilters``).

        Cached for the run like :meth:`resolve_sku`, which then answers from the cache. SKUs not in the
        catalog are left out of the answer and remembered for ``unknown_sku_ttl`` seconds; a SKU with a
        comma cannot be listed and is left out (:meth:`resolve_sku` raises :class:`UnknownSku` for it).
        """
        wanted = list(dict.fromkeys(sku for sku in skus if sku))
        with self._lock:
            found = {sku: self._sku_cache[sku] for sku in wanted if sku in self._sku_cache}
        todo = [sku for sku in wanted if sku not in found and "," not in sku]
        size = max(1, int(self.options["sku_batch"]))
        for chunk in _chunks(todo, size):
            answer = self._products_by_sku(chunk, limit=len(chunk))
            found.update(answer)
            now = self._clock()
            with self._lock:
                self._sku_unknown.update({sku: now for sku in chunk if sku not in answer})
        return found

    def _products_by_sku(self, skus: Sequence[str], *, limit: int) -> dict[str, ProductRef]:
        """One ``ProductsBySku`` request for these SKUs (none with a comma); exact matches, cached."""
        data = self.graphql(queries.PRODUCTS_BY_SKU,
                            {"filters": _filters(("sku", "in", ",".join(skus)), ("limit", "eq", limit))})
        collection = data.get("products")
        items = collection.get("items") if isinstance(collection, dict) else None
        found: dict[str, ProductRef] = {}
        for product in items or []:
            sku = product.get("sku") if isinstance(product, dict) else None
            if not isinstance(sku, str) or sku not in skus or sku in found:
                continue
            found[sku] = _product_ref(sku, product)
            with self._lock:
                self._sku_cache[sku] = found[sku]
                self._sku_status[sku] = str(product.get("status"))
                self._sku_unknown.pop(sku, None)
        return found

    def forget_sku(self, sku: str | None = None) -> None:
        """Drop one SKU (or all) from the cache, e.g. after changing the catalog."""
        with self._lock:
            if sku is None:
                self._sku_cache.clear()
                self._sku_unknown.clear()
            else:
                self._sku_cache.pop(sku, None)
                self._sku_unknown.pop(sku, None)


def open_connector(settings: ConnectionSettings, *, transport: httpx.BaseTransport | None = None,
                   limiter: RateLimiter | None = None) -> EverShopConnector:
    """Open the EverShop connector for ``settings`` (the factory ``connectors.open_connector`` calls)."""
    return EverShopConnector(settings, transport=transport, limiter=limiter)


# ---------------------------------------------------------------------------------------------
# Store setup (tests and demo)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SetupProduct:
    """A product :func:`ensure_store_setup` makes sure exists."""

    sku: str
    name: str
    price: Decimal
    qty: int = 1000
    weight: Decimal = Decimal("0.5")


@dataclass
class StoreSetup:
    """What :func:`ensure_store_setup` found or created."""

    package_id: int
    zone_uuid: str
    method_uuid: str
    products: dict[str, ProductRef]
    created: list[str]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "product"


def ensure_store_setup(connector: EverShopConnector, products: Iterable[SetupProduct] = (), *,
                       package_name: str = "ordersync box", zone_name: str = "ordersync zone",
                       countries: Sequence[str] = ("US",), method_name: str = "ordersync standard",
                       shipping_cost: Decimal = Decimal("5")) -> StoreSetup:
    """Make a shop ready for the cart flow, idempotently (tests and the demo).

    Ensures: Cash on Delivery enabled (and guest checkout), a package, each product (SKU, price,
    stock; created only when the SKU is unknown), a shipping zone for ``countries`` with the core
    provider, a core shipping method with a rate in that zone, and the order metafield definition
    for our reference. Everything is looked up by name/SKU first, so running it twice creates
    nothing the second time. ``created`` lists what this call created.
    """
    created: list[str] = []
    state = connector.graphql(queries.STORE_SETUP)
    setting = state.get("setting") or {}
    if not setting.get("codPaymentStatus") or not setting.get("allowGuestCheckout"):
        connector._admin("POST", "/api/settings", {"codPaymentStatus": 1, "codDisplayName": "Cash on Delivery",
                                                    "allowGuestCheckout": 1}, idempotent=True)
        created.append("setting:cod")
    package = next((p for p in state.get("packages") or [] if p.get("name") == package_name), None)
    if package is None:
        answer = connector._admin("POST", "/api/packages", {"name": package_name, "length": 10, "width": 10,
                                                            "height": 10, "weight": 0.1, "is_default": False})
        package_id = int(answer["data"]["package_id"])
        created.append(f"package:{package_id}")
    else:
        package_id = int(package["packageId"])
    refs: dict[str, ProductRef] = {}
    for product in products:
        try:
            refs[product.sku] = connector.resolve_sku(product.sku)
            continue
        except UnknownSku:
            pass
        connector._admin("POST", "/api/products", {
            "name": product.name, "url_key": f"{_slug(product.sku)}-{_slug(product.name)}"[:120],
            "status": 1, "sku": product.sku, "qty": product.qty, "price": float(product.price),
            "weight": float(product.weight), "group_id": 1, "visibility": 1, "manage_stock": 1,
            "stock_availability": 1, "package_id": package_id,
        })
        created.append(f"product:{product.sku}")
        connector.forget_sku(product.sku)
        refs[product.sku] = connector.resolve_sku(product.sku)
    zone = next((z for z in state.get("shippingZones") or [] if z.get("name") == zone_name), None)
    if zone is None:
        answer = connector._admin("POST", "/api/shippingZones", {"name": zone_name, "countries": list(countries),
                                                                 "provinces": []})
        zone = {"uuid": answer["data"]["uuid"], "shippingZoneId": answer["data"]["shipping_zone_id"]}
        created.append(f"zone:{zone['uuid']}")
    method = next((m for m in state.get("coreShippingMethods") or [] if m.get("name") == method_name), None)
    if method is None:
        answer = connector._admin("POST", "/api/shippingProviders/core/methods",
                                  {"name": method_name, "is_enabled": True})
        method = {"uuid": answer["data"]["uuid"], "rates": []}
        created.append(f"method:{method['uuid']}")
    zone_id = int(zone["shippingZoneId"])
    if not any(int(r.get("zoneId", -1)) == zone_id for r in method.get("rates") or []):
        connector._admin("POST", "/api/shippingProviders/core/rates", {
            "method_id": method["uuid"], "zone_id": zone["uuid"], "is_enabled": True, "cost": float(shipping_cost),
        })
        created.append(f"rate:{zone_id}")
    connector.forget_metafield_definition()
    if connector.ensure_metafield_definition():
        created.append("metafield_definition")
    return StoreSetup(package_id=package_id, zone_uuid=str(zone["uuid"]), method_uuid=str(method["uuid"]),
                      products=refs, created=created)


def _total(page: Mapping[str, Any], *, default: int) -> int:
    """An order page's ``total`` (the orders its filters match), or ``default`` when it is missing."""
    total = page.get("total")
    return int(total) if isinstance(total, int) or (isinstance(total, str) and total.isdigit()) else default

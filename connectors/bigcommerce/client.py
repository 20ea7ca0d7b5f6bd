"""The BigCommerce connector: Orders V2 (and Catalog V3 for SKUs) over :class:`connectors.http.HttpClient`.

``settings.base_url`` is the store root, ``https://api.bigcommerce.com/stores/{store_hash}``; paths
are ``/v2/...`` and ``/v3/...``. The credential ``token`` goes in ``X-Auth-Token`` (and an optional
``client_id`` in ``X-Auth-Client``). Options (``settings.options``, all optional)::

    rate_limit = {requests = 150, per_seconds = 30, burst = 10}   # the store's shared quota
    page_size = 250            # GET /v2/orders page size (BigCommerce's maximum)
    concurrency = 8            # orders fetched at once by get_orders
    sub_resource_workers = 4   # sub-resources of one order fetched at once
    embed_sub_resources = true # read orders with include=consignments.line_items,fees (lines in the list)
    unknown_sku_ttl = 60       # seconds a SKU found missing by a batch look-up is not asked again
    clock_skew_seconds = 5     # the change feed's signpost sits this far before the poll start
    check_before_create = false  # look the reference up before every POST /v2/orders
    reference_includes_archived = true  # find_by_reference also searches archived orders

Without a shared limiter, the connector does not throttle itself but obeys what BigCommerce says:
``X-Rate-Limit-Requests-Left: 0`` or a 429 holds every request until ``X-Rate-Limit-Time-Reset-Ms``.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
from pydantic import ValidationError

from connectors.base import (
    Capabilities,
    ChangeFeed,
    ConnectionSettings,
    CreatedOrder,
    CursorState,
    OrderChange,
    OrderReference,
    Platform,
    ProductRef,
    ProgressCallback,
    merge_options,
    only_referenced,
    reference_in,
)
from connectors.bigcommerce import CAPABILITIES
from connectors.bigcommerce.embedded import EMBED_PARAMS, Embedded, split_view
from connectors.bigcommerce.webhooks import ORDER_SCOPES, SECRET_HEADER
from connectors.bigcommerce.wire import (
    BCOrderCreate,
    BCOrderSummary,
    BCOrderUpdate,
    BCShipmentCreate,
    BCShipmentUpdate,
    BCVariant,
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
from connectors.http import HttpClient, read_retry_after
from connectors.parsing import parse_timestamp
from connectors.ratelimit import BucketSpec, RateLimiter, RateSignal, TokenBucket, bucket_from_options
from connectors.wire import WriteModel, invalid_payload_from, parse_wire

__all__ = [
    "DEFAULT_OPTIONS",
    "BigCommerceConnector",
    "SignalLimiter",
    "classify",
    "open_connector",
    "parse_error_body",
    "read_rate_signal",
]

PLATFORM: Platform = "bigcommerce"

DEFAULT_OPTIONS: dict[str, Any] = {
    "rate_limit": {"requests": 150, "per_seconds": 30},
    "page_size": 250,
    "concurrency": 8,
    "sub_resource_workers": 4,
    "embed_sub_resources": True,
    "unknown_sku_ttl": 60.0,
    "clock_skew_seconds": 5.0,
    "check_before_create": False,
    "reference_includes_archived": True,
    "max_wait": 10.0,
    "max_attempts": 4,
    "backoff": 0.5,
}
"""Option defaults, overlaid by ``settings.options``."""

_FIELD = re.compile(r"[Tt]he (?:required )?field '([^']+)'")
_NO_LOAD_WAIT = 30.0  # a 429 without rate headers means platform load: back off longer


# -- error and budget answers ---------------------------------------------------------------------


def parse_error_body(response: httpx.Response) -> tuple[str, dict[str, str]]:
    """A readable message and field errors from a BigCommerce error answer.

    V2 answers ``[{"status": 400, "message": "The field 'id' cannot be written to. …"}]``; V3
    answers ``{"status": 422, "title": "…", "type": "…", "errors": {"field": "reason"}}``. Field
    names quoted in V2 messages (``The field 'X' …``) become field errors too.
    """
    field_errors: dict[str, str] = {}
    try:
        data: Any = orjson.loads(response.content) if response.content.strip() else None
    except orjson.JSONDecodeError:
        text = response.text.strip()
        if text.startswith("<") or not text:
            return response.reason_phrase or f"HTTP {response.status_code}", field_errors
        return text[:300], field_errors
    messages: list[str] = []
    if isinstance(data, list):
        for item in data:
            if isinstance(item, dict):
                message = str(item.get("message") or item.get("title") or "").strip()
                details = item.get("details")
                if isinstance(details, dict) and details.get("invalid_reason"):
                    message = f"{message} ({details['invalid_reason']})" if message else str(details["invalid_reason"])
                if message:
                    messages.append(message)
            elif isinstance(item, str):
                messages.append(item)
    elif isinstance(data, dict):
        title = data.get("title") or data.get("message") or data.get("error")
        if isinstance(title, str) and title:
            messages.append(title)
        errors = data.get("errors")
        if isinstance(errors, dict):
            for key, value in errors.items():
                reason = value if isinstance(value, str) else orjson.dumps(value).decode()
                field_errors[str(key)] = reason
                messages.append(f"{key}: {reason}")
        elif isinstance(errors, list):
            messages.extend(str(item) for item in errors)
    elif isinstance(data, str):
        messages.append(data)
    for message in messages:
        match = _FIELD.search(message)
        if match:
            field_errors.setdefault(match.group(1), message)
    message = "; ".join(messages) or response.reason_phrase or f"HTTP {response.status_code}"
    return message[:500], field_errors


def _int_header(response: httpx.Response, name: str) -> int | None:
    value = response.headers.get(name)
    if value is None:
        return None
    try:
        return int(float(value))
    except ValueError:
        return None


def read_rate_signal(response: httpx.Response) -> RateSignal | None:
    """BigCommerce's budget headers (any case): ``X-Rate-Limit-Requests-Left``, ``-Requests-Quota``,
    ``-Time-Window-Ms``, ``-Time-Reset-Ms``."""
    left = _int_header(response, "x-rate-limit-requests-left")
    quota = _int_header(response, "x-rate-limit-requests-quota")
    window = _int_header(response, "x-rate-limit-time-window-ms")
    reset = _int_header(response, "x-rate-limit-time-reset-ms")
    if left is None and quota is None and window is None and reset is None:
        return None
    return RateSignal(
        remaining=left,
        reset_after=reset / 1000.0 if reset is not None else None,
        limit=quota,
        window=window / 1000.0 if window is not None else None,
    )


def _retry_after(response: httpx.Response) -> float:
    reset = _int_header(response, "x-rate-limit-time-reset-ms")
    if reset is not None:
        return max(0.0, reset / 1000.0)
    waited = read_retry_after(response)  # X-Retry-After / Retry-After (seconds)
    return waited if waited is not None else _NO_LOAD_WAIT


def classify(response: httpx.Response) -> ConnectorError:
    """Map a BigCommerce failure answer to the error taxonomy, with BigCommerce's own words."""
    status = response.status_code
    message, field_errors = parse_error_body(response)
    if status == 429:
        return RateLimited(message or "too many requests", retry_after=_retry_after(response),
                           platform=PLATFORM, status=status)
    if status in (401, 403):
        return AuthFailed(message, platform=PLATFORM, status=status)
    if status == 404:
        return NotFound(message, platform=PLATFORM, status=status)
    if status == 409:
        return Conflict(message, platform=PLATFORM, status=status)
    if status >= 500 and status != 507:
        return Transient(message, platform=PLATFORM, status=status)
    return Rejected(message, platform=PLATFORM, status=status, field_errors=field_errors)


class SignalLimiter:
    """A limiter with no local budget that only obeys BigCommerce's signals (for tools that pace themselves).

    After a 429 or ``X-Rate-Limit-Requests-Left: 0`` every request for the store waits until the
    reported reset (raising :class:`RateLimited` when that is longer than the caller may wait).
    Production passes the shared Redis token bucket instead.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._blocked: dict[str, float] = {}

    def acquire(self, key: str, spec: BucketSpec, *, max_wait: float) -> None:
        """Wait out a platform-imposed pause, if any."""
        with self._lock:
            wait = self._blocked.get(key, 0.0) - self._clock()
        if wait <= 0:
            return
        if wait > max_wait:
            raise RateLimited("BigCommerce request quota exhausted", retry_after=wait, platform=PLATFORM)
        self._sleep(wait)

    def observe(self, key: str, spec: BucketSpec, signal: RateSignal) -> None:
        """Record a pause from a 429 or an exhausted quota."""
        pause = None
        if signal.retry_after is not None:
            pause = signal.retry_after
        elif signal.remaining is not None and signal.remaining <= 0 and signal.reset_after is not None:
            pause = signal.reset_after
        if pause is None:
            return
        with self._lock:
            until = self._clock() + pause
            if until > self._blocked.get(key, 0.0):
                self._blocked[key] = until


def _bucket(options: Mapping[str, Any]) -> BucketSpec:
    return bucket_from_options(options, BucketSpec.per_window(150, 30))


def _store_root(base_url: str) -> str:
    root = base_url.rstrip("/")
    for suffix in ("/v2", "/v3"):
        if root.endswith(suffix):
            root = root[: -len(suffix)]
    return root


_SKU_BATCH = 50  # SKUs per sku:in look-up (keeps the query string short)
_VARIANT_PAGE = 250  # Catalog V3's largest page

_LINKED = frozenset({"products", "shipping_addresses", "coupons"})
"""Sub-resources the order links to (followed by their ``resource``); the others sit at fixed paths."""


def _order_path(order_id: str) -> str:
    text = str(order_id).strip()
    if not text.isdigit():
        raise NotFound(f"{order_id!r} is not a BigCommerce order id", platform=PLATFORM)
    return f"/v2/orders/{int(text)}"


class BigCommerceConnector:
    """:class:`connectors.base.Connector` for one BigCommerce store."""

    platform: Platform = PLATFORM

    def __init__(self, settings: ConnectionSettings, *, transport: httpx.BaseTransport | None = None,
                 limiter: RateLimiter | None = None) -> None:
        self.settings = settings
        self.capabilities: Capabilities = CAPABILITIES
        self.options = merge_options(DEFAULT_OPTIONS, settings.options)
        headers = {"X-Auth-Token": settings.secret("token")}
        if "client_id" in settings.credentials:
            headers["X-Auth-Client"] = settings.secret("client_id")
        self.http = HttpClient(
            platform=PLATFORM,
            store=settings.store,
            base_url=_store_root(settings.base_url),
            bucket=_bucket(self.options),
            limiter=limiter or TokenBucket(),
            headers=headers,
            timeout=settings.timeout,
            transport=transport,
            classify=classify,
            read_signal=read_rate_signal,
            max_attempts=int(self.options["max_attempts"]),
            max_wait=float(self.options["max_wait"]),
            backoff=float(self.options["backoff"]),
            pool_size=max(20, int(self.options["concurrency"]) * (1 + int(self.options["sub_resource_workers"]))),
        )
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        self._sku_cache: dict[str, ProductRef] = {}
        self._unknown_skus: dict[str, float] = {}
        self._monotonic: Callable[[], float] = time.monotonic
        self._now: Callable[[], datetime] = lambda: datetime.now(UTC)

    # -- reads ------------------------------------------------------------------------------------

    def iter_orders(self, since: CursorState | None, *, lookback_seconds: float = 300.0) -> ChangeFeed:
        """Orders modified since the cursor (all orders when ``None``), oldest change first.

        ``GET /v2/orders?min_date_modified=<ISO 8601>&sort=date_modified:asc&page=N&limit=250``
        until a 204 (or a short page). The lower bound is the cursor minus ``lookback_seconds``
        (BigCommerce compares whole seconds, and clocks drift); ids are deduplicated within the feed.
        The new cursor is the poll's start minus ``clock_skew_seconds``, so whatever changed while
        we read is read again next time.

        Offset paging has one more hole: when an order we already read is modified mid-read it moves
        to the end, every later row shifts up one place, and the row at the next page boundary is
        never served. That order then reappears with a newer ``date_modified``; when it does, the
        pages are read once more from the same lower bound (at most twice), so nothing is skipped.
        """
        return ChangeFeed(self._feed(since, lookback_seconds), since)

    def _feed(self, since: CursorState | None, lookback: float, *,
              embed: bool = True) -> Generator[OrderChange, None, CursorState]:
        signpost = self._now() - timedelta(seconds=float(self.options["clock_skew_seconds"]))
        lower: datetime | None = None
        if since and since.get("modified_since"):
            try:
                lower = parse_timestamp(since["modified_since"]) - timedelta(seconds=max(lookback, 0.0))
            except ValueError:
                raise InvalidPayload("bigcommerce cursor", [("modified_since", "not a timestamp")]) from None
        limit = max(1, min(int(self.options["page_size"]), 250))
        seen: dict[int, datetime | None] = {}
        # Archived orders are hidden from the list unless asked for with is_deleted=true; read them too,
        # so an archive on the source reaches the mirror even when its webhook is lost.
        passes = [False, True] if self.options.get("read_archived", True) else [False]
        for archived in passes:
            try:
                yield from self._pages(lower, limit, seen, archived, embed=embed and self._embeds())
            except Rejected:
                if not archived:
                    raise  # a store that refuses is_deleted: archived orders come by webhook only
        return {"modified_since": signpost.isoformat()}

    def _pages(self, lower: datetime | None, limit: int, seen: dict[int, datetime | None],
               archived: bool, *, embed: bool) -> Generator[OrderChange, None, None]:
        """Page through one list (live or archived orders) from ``lower``, re-reading if rows shifted.

        With ``embed`` the pages are asked with :data:`EMBED_PARAMS`, and each change carries its row as
        ``snapshot`` (for :meth:`hydrate`) with the time its page was read.
        """
        for _ in range(3):
            shifted = False
            page = 1
            while True:
                params: dict[str, Any] = {"sort": "date_modified:asc", "limit": limit, "page": page}
                if lower is not None:
                    params["min_date_modified"] = lower.isoformat(timespec="seconds")
                if archived:
                    params["is_deleted"] = "true"
                if embed:
                    params.update(EMBED_PARAMS)
                rows = self.http.get_json("/v2/orders", params=params)
                read_at = self._now()
                if not rows:
                    break  # 204 past the last page (or [])
                if not isinstance(rows, list):
                    raise Transient("GET /v2/orders did not answer a list", platform=PLATFORM)
                for index, row in enumerate(rows):
                    summary = parse_wire(BCOrderSummary, row, what="bigcommerce order list", prefix=f"[{index}]")
                    modified = summary.date_modified
                    if summary.id in seen:
                        before = seen[summary.id]
                        if modified is not None and before is not None and modified > before:
                            shifted = True  # modified while we read: later rows moved up one place
                            seen[summary.id] = modified
                        continue
                    seen[summary.id] = modified
                    yield OrderChange(id=str(summary.id), updated_at=modified, number=str(summary.id),
                                      reference=reference_in([summary.external_order_id]),
                                      snapshot=row if embed and isinstance(row, dict) else None, read_at=read_at)
                if len(rows) < limit:
                    break
                page += 1
            if not shifted:
                return

    def iter_references(self, since: CursorState | None) -> ChangeFeed:
        """Orders stamped with our reference (``external_order_id``), live and archived, modified since
        ``since``: the same list pages as :meth:`iter_orders` (250 orders a call), so a store of N orders
        costs about N/250 calls once, then a page or two per refresh. The rows are read without
        ``include`` (only ``external_order_id`` is needed), so the pages stay light."""
        return ChangeFeed(only_referenced(self._feed(since, 300.0, embed=False)), since)

    def _executor(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=max(1, int(self.options["sub_resource_workers"])),
                                                thread_name_prefix="bc-sub")
            return self._pool

    def _sub_path(self, order: Mapping[str, Any], name: str, order_path: str) -> str | list[Any]:
        """Where a sub-resource lives: the link's ``resource`` (old or new spelling), or the embedded list."""
        value = order.get(name)
        if isinstance(value, list):
            return value
        if isinstance(value, dict):
            resource = value.get("resource")
            if isinstance(resource, str) and resource.startswith("/"):
                return resource if resource.startswith(("/v2/", "/v3/")) else "/v2" + resource
        return f"{order_path}/{name}"

    def _get_list(self, path: str, *, paged: bool = False) -> list[Any]:
        """A V2 list; 204 (no content) is an empty list; ``paged`` follows pages until a short one."""
        if not paged:
            data = self.http.get_json(path)
            if data is None:
                return []
            if not isinstance(data, list):
                raise Transient(f"GET {path} did not answer a list", platform=PLATFORM)
            return data
        rows: list[Any] = []
        page, limit = 1, 250
        while True:
            data = self.http.get_json(path, params={"page": page, "limit": limit})
            if not data:
                return rows
            if not isinstance(data, list):
                raise Transient(f"GET {path} did not answer a list", platform=PLATFORM)
            rows.extend(data)
            if len(data) < limit:
                return rows
            page += 1

    def _embeds(self) -> bool:
        return bool(self.options.get("embed_sub_resources", True))

    def get_order(self, order_id: str) -> dict[str, Any]:
        """``{"order", "products", "shipping_addresses", "shipments", "coupons", "fees"}`` for one order.

        One ``GET /v2/orders/{id}`` with :data:`EMBED_PARAMS` carries the lines, addresses and fees;
        then only the sub-resources the order says exist are read (see :meth:`hydrate`). With the
        option ``embed_sub_resources = false`` the order is read plain and every sub-resource follows
        its link (five calls, no ``fees``).
        """
        path = _order_path(order_id)
        embeds = self._embeds()
        order = self.http.get_json(path, params=EMBED_PARAMS if embeds else None)
        if not isinstance(order, dict):
            raise Transient(f"GET {path} did not answer an order", platform=PLATFORM)
        return self._complete(order, path, split_view(order) if embeds else None)

    def hydrate(self, snapshot: dict[str, Any]) -> dict[str, Any]:
        """The :meth:`get_order` bundle from a list row read with :data:`EMBED_PARAMS`.

        Lines, shipping addresses and fees come from the row; ``/shipments`` is read only when
        ``items_shipped > 0``, ``/coupons`` only when ``coupon_discount > 0``, ``/products`` only when a
        consignment has the 50-line ``__warning__`` (or the lines do not add up to ``items_total``). An
        order that shipped nothing and has no coupon costs no call. A row read without ``include`` is
        read again whole with :meth:`get_order`.
        """
        if not isinstance(snapshot, dict) or not str(snapshot.get("id", "")).strip().isdigit():
            raise InvalidPayload("bigcommerce order row", [("id", "missing or not an order id")])
        path = _order_path(str(snapshot["id"]))
        view = split_view(snapshot) if self._embeds() else None
        if view is None:
            return self.get_order(str(snapshot["id"]))
        return self._complete(snapshot, path, view)

    def _complete(self, order: dict[str, Any], path: str, view: Embedded | None) -> dict[str, Any]:
        """The bundle from an order row: what it embeds (``view``), plus the sub-resources it needs, read
        concurrently; every sub-resource when the row embeds nothing."""
        if view is None:
            bundle: dict[str, Any] = {"order": order}
            missing: tuple[str, ...] = ("products", "shipping_addresses", "coupons", "shipments")
        else:
            bundle, missing = dict(view.bundle), view.missing
        if not missing:
            return bundle
        jobs: dict[str, Future[list[Any]]] = {}
        pool = self._executor()
        for name in missing:
            where: str | list[Any] = f"{path}/{name}"
            if name in _LINKED:
                where = self._sub_path(order, name, path)
            if isinstance(where, list):
                bundle[name] = where
            else:
                jobs[name] = pool.submit(self._get_list, where, paged=name == "products")
        for name, job in jobs.items():
            bundle[name] = job.result()
        return bundle

    def get_orders(self, order_ids: Sequence[str]) -> Iterator[tuple[str, dict[str, Any] | Exception]]:
        """Bundles for many orders, ``concurrency`` at a time (every request passes the limiter)."""
        yield from fan_out(self.get_order, order_ids, workers=max(1, int(self.options["concurrency"])))

    def find_by_reference(self, ref: OrderReference) -> str | None:
        """The order stamped with ``ref.key`` in ``external_order_id`` (archived ones too), or ``None``.

        ``GET /v2/orders?external_order_id=<key>`` answers 204 when there is none. The match is
        checked on our side as well; with several matches the oldest wins.
        """
        found = self._orders_with_reference(ref.key, archived=False)
        if not found and self.options.get("reference_includes_archived", True):
            try:
                found = self._orders_with_reference(ref.key, archived=True)
            except Rejected:  # a store that refuses the is_deleted filter
                found = []
        return str(min(found)) if found else None

    def _orders_with_reference(self, key: str, *, archived: bool) -> list[int]:
        params: dict[str, Any] = {"external_order_id": key, "limit": 250}
        if archived:
            params["is_deleted"] = "true"
        rows = self.http.get_json("/v2/orders", params=params)
        if not rows:
            return []
        if not isinstance(rows, list):
            raise Transient("GET /v2/orders did not answer a list", platform=PLATFORM)
        return [int(row["id"]) for row in rows
                if isinstance(row, dict) and row.get("external_order_id") == key and str(row.get("id", "")).isdigit()]

    def find_shipment(self, order_id: str, tracking_number: str) -> str | None:
        """A shipment of the order with this tracking number (shipments have no reference field)."""
        for row in self._get_list(f"{_order_path(order_id)}/shipments"):
            if isinstance(row, dict) and tracking_number and row.get("tracking_number") == tracking_number:
                return str(row["id"])
        return None

    # -- writes -----------------------------------------------------------------------------------

    @staticmethod
    def _body(payload: Any, kind: type[WriteModel]) -> dict[str, Any]:
        """The JSON body of a write model (a plain mapping is validated first; refused locally as
        :class:`Rejected` when it has fields BigCommerce would refuse)."""
        if isinstance(payload, kind):
            return payload.body()
        if isinstance(payload, Mapping):
            try:
                return kind.model_validate(payload).body()
            except ValidationError as error:
                found = invalid_payload_from(kind.__name__, error)
                raise Rejected(str(found), platform=PLATFORM, field_errors=dict(found.problems)) from None
        raise TypeError(f"expected {kind.__name__}, got {type(payload).__name__}")

    def create_order(self, payload: Any, ref: OrderReference, *, on_progress: ProgressCallback | None = None,
                     check_existing: bool | None = None) -> CreatedOrder:
        """``POST /v2/orders`` (answers 201, sometimes 200) with ``external_order_id = ref.key``.

        Never retried blindly: a lost answer raises :class:`OutcomeUnknown` and the engine calls
        :meth:`find_by_reference`. With ``check_existing`` (or the ``check_before_create`` option)
        the reference is looked up first and an existing order is adopted instead of created.
        """
        body = self._body(payload, BCOrderCreate)
        if body.get("external_order_id") != ref.key:
            body["external_order_id"] = ref.key
        body.setdefault("external_source", "ordersync")
        check = self.options.get("check_before_create", False) if check_existing is None else check_existing
        if check:
            existing = self.find_by_reference(ref)
            if existing is not None:
                return CreatedOrder(id=existing, number=existing, adopted=True)
        data = self.http.send_json("POST", "/v2/orders", body)
        if not isinstance(data, dict) or not str(data.get("id", "")).isdigit():
            raise OutcomeUnknown("POST /v2/orders answered without an order id; look the reference up",
                                 platform=PLATFORM)
        return CreatedOrder(id=str(data["id"]), number=str(data["id"]), raw=data)

    def set_status(self, order_id: str, payload: Any) -> None:
        """``PUT /v2/orders/{id}`` with an allow-listed body (``status_id``, notes, reference)."""
        self.http.send_json("PUT", _order_path(order_id), self._body(payload, BCOrderUpdate))

    def create_shipment(self, order_id: str, payload: Any) -> str:
        """``POST /v2/orders/{id}/shipments`` (201); returns the shipment id.

        ``order_address_id`` missing from the payload is filled with the order's first shipping
        address; ``shipping_provider`` is always sent (``""`` unless known).
        """
        path = _order_path(order_id)
        body = self._body(payload, BCShipmentCreate)
        body.setdefault("shipping_provider", "")
        items = body.get("items") or []
        if not items:
            raise Rejected("a shipment needs at least one item", platform=PLATFORM, field_errors={"items": "empty"})
        if any(not item.get("order_product_id") for item in items):
            raise Rejected("shipment items must name the target's order_product_id", platform=PLATFORM,
                           field_errors={"items": "order_product_id missing"})
        if not body.get("order_address_id"):
            addresses = self._get_list(f"{path}/shipping_addresses")
            if not addresses or not isinstance(addresses[0], dict):
                raise Rejected("the order has no shipping address to ship to", platform=PLATFORM,
                               field_errors={"order_address_id": "no shipping address"})
            body["order_address_id"] = addresses[0]["id"]
        data = self.http.send_json("POST", f"{path}/shipments", body)
        if not isinstance(data, dict) or "id" not in data:
            raise OutcomeUnknown("POST shipments answered without a shipment id", platform=PLATFORM)
        return str(data["id"])

    def update_shipment(self, order_id: str, shipment_id: str, payload: Any) -> None:
        """``PUT /v2/orders/{id}/shipments/{shipment_id}`` (tracking, provider, comments)."""
        if not str(shipment_id).isdigit():
            raise NotFound(f"{shipment_id!r} is not a BigCommerce shipment id", platform=PLATFORM)
        self.http.send_json("PUT", f"{_order_path(order_id)}/shipments/{int(shipment_id)}",
                            self._body(payload, BCShipmentUpdate))

    def cancel_order(self, order_id: str, payload: Any = None) -> None:
        """Set status 5 (Cancelled) unless the order already is: cancelling twice is a no-op."""
        path = _order_path(order_id)
        order = self.http.get_json(path)
        if isinstance(order, dict) and order.get("status_id") == 5:
            return
        body = self._body(payload, BCOrderUpdate) if payload is not None else {"status_id": 5}
        self.http.send_json("PUT", path, body)

    def delete_order(self, order_id: str) -> None:
        """``DELETE /v2/orders/{id}`` archives the order; 404 means it is already gone."""
        self.http.request("DELETE", _order_path(order_id), allow_statuses=(404,))

    def resolve_sku(self, sku: str) -> ProductRef:
        """The catalog product and variant for a SKU (``GET /v3/catalog/variants?sku=``), cached.

        A SKU that :meth:`resolve_skus` just found missing raises :class:`UnknownSku` without a call
        for ``unknown_sku_ttl`` seconds. ``options`` (option id → value id) are filled only for real
        variants; a simple product's base variant has none, which tells the mapping to send the
        product alone.
        """
        cached = self._sku_cache.get(sku)
        if cached is not None:
            return cached
        if self._recently_unknown(sku):
            raise UnknownSku(sku, platform=PLATFORM)
        try:
            variants = self._variants({"sku": sku})
        except NotFound:
            raise UnknownSku(sku, platform=PLATFORM) from None
        ref = _match(sku, variants)
        if ref is None:
            raise UnknownSku(sku, platform=PLATFORM)
        self._sku_cache[sku] = ref
        return ref

    def resolve_skus(self, skus: Iterable[str]) -> dict[str, ProductRef]:
        """The catalog products of many SKUs, 50 a call (``GET /v3/catalog/variants?sku:in=a,b``).

        Cached for the run like :meth:`resolve_sku`, which then answers from the cache. SKUs not in
        the catalog are left out of the answer (and remembered for ``unknown_sku_ttl`` seconds, so
        :meth:`resolve_sku` raises :class:`UnknownSku` for them without asking again). A SKU with a
        comma cannot be put in the list and is asked alone.
        """
        wanted = list(dict.fromkeys(sku for sku in skus if sku and sku.strip()))
        found = {sku: self._sku_cache[sku] for sku in wanted if sku in self._sku_cache}
        todo = [sku for sku in wanted if sku not in found and not self._recently_unknown(sku)]
        listed = [sku for sku in todo if "," not in sku]
        for start in range(0, len(listed), _SKU_BATCH):
            chunk = listed[start:start + _SKU_BATCH]
            try:
                variants = self._variants({"sku:in": ",".join(chunk)})
            except NotFound:
                variants = []
            except Rejected:  # a store that refuses the list filter: one look-up per SKU
                found.update(self._one_by_one(chunk))
                continue
            for sku in chunk:
                ref = _match(sku, variants)
                if ref is None:
                    self._unknown_skus[sku] = self._monotonic()
                else:
                    self._sku_cache[sku] = found[sku] = ref
        found.update(self._one_by_one([sku for sku in todo if "," in sku]))
        return found

    def _one_by_one(self, skus: Sequence[str]) -> dict[str, ProductRef]:
        """:meth:`resolve_sku` for each SKU; the unknown ones are remembered, not raised."""
        found: dict[str, ProductRef] = {}
        for sku in skus:
            try:
                found[sku] = self.resolve_sku(sku)
            except UnknownSku:
                self._unknown_skus[sku] = self._monotonic()
        return found

    def _recently_unknown(self, sku: str) -> bool:
        since = self._unknown_skus.get(sku)
        return since is not None and self._monotonic() - since < float(self.options["unknown_sku_ttl"])

    def _variants(self, params: Mapping[str, Any]) -> list[BCVariant]:
        """Every variant ``GET /v3/catalog/variants`` answers for ``params``, page after page (250 a page)."""
        variants: list[BCVariant] = []
        page = 1
        while True:
            data = self.http.get_json("/v3/catalog/variants", params={**params, "limit": _VARIANT_PAGE, "page": page})
            rows = data.get("data") if isinstance(data, dict) else None
            if not isinstance(rows, list):
                rows = []
            variants.extend(parse_wire(BCVariant, row, what="bigcommerce variant")
                            for row in rows if isinstance(row, dict))
            meta = data.get("meta") if isinstance(data, dict) else None
            pagination = meta.get("pagination") if isinstance(meta, dict) else None
            pages = pagination.get("total_pages") if isinstance(pagination, dict) else None
            if not rows or not isinstance(pages, int) or page >= pages:
                return variants
            page += 1

    def list_webhooks(self) -> list[dict[str, Any]]:
        """``GET /v3/hooks``: the hooks this API account registered (each token sees only its own)."""
        data = self.http.get_json("/v3/hooks")
        rows = data.get("data") if isinstance(data, dict) else None
        return [row for row in rows or [] if isinstance(row, dict)]

    def register_webhooks(self, destination: str, secret: str, scopes: Sequence[str] = ORDER_SCOPES) -> list[str]:
        """``POST /v3/hooks`` for each scope, with our secret as a custom header; returns hook ids."""
        ids: list[str] = []
        for scope in scopes:
            data = self.http.send_json("POST", "/v3/hooks", {
                "scope": scope, "destination": destination, "is_active": True, "headers": {SECRET_HEADER: secret},
            }, idempotent=False)
            hook = data.get("data") if isinstance(data, dict) else None
            if isinstance(hook, dict) and "id" in hook:
                ids.append(str(hook["id"]))
        return ids

    def close(self) -> None:
        """Release connections and the sub-resource threads."""
        with self._pool_lock:
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None
        self.http.close()

    def __enter__(self) -> BigCommerceConnector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _match(sku: str, variants: Sequence[BCVariant]) -> ProductRef | None:
    """The variant with this SKU (exactly, else ignoring case) as a :class:`ProductRef`."""
    match = next((v for v in variants if v.sku == sku), None) or next(
        (v for v in variants if v.sku.lower() == sku.lower()), None)
    if match is None:
        return None
    return ProductRef(
        sku=sku,
        product_id=str(match.product_id),
        variant_id=str(match.id),
        price=match.calculated_price if match.calculated_price is not None else match.price,
        options={str(value.option_id): str(value.id) for value in match.option_values},
        stock=match.inventory_level,
    )


def open_connector(settings: ConnectionSettings, *, transport: httpx.BaseTransport | None = None,
                   limiter: RateLimiter | None = None) -> BigCommerceConnector:
    """The BigCommerce connector for ``settings`` (see the module docstring for options)."""
    return BigCommerceConnector(settings, transport=transport, limiter=limiter)

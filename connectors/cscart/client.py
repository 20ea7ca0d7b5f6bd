"""The CS-Cart connector: ordersync's hands on one CS-Cart / Multi-Vendor store.

Auth is HTTP Basic (administrator e-mail + API key). There is no documented rate limit, so the
connector paces itself (option ``rate_limit = {requests, per_seconds}``, default 10 per second)
and still honours 429/503 with ``Retry-After`` from hosts and WAFs.

Reading changes: ``updated_at_from`` (4.13+) with ``sort_by=order_id&sort_order=asc`` paging.
Stores that ignore it (older ones silently drop unknown parameters) are detected with a probe
and read by creation window (``period=C&time_from&time_to``) plus re-reads of their non-final
orders by ``order_id=1,2,3``.

The plain order list has no products (its rows are the short ``orders`` columns, not even
``updated_at``), but ``get_orders_data=1`` makes ``Api/Entities/Orders::index`` answer every row
with ``getOrderData()``, the very body ``GET /api/orders/{id}`` answers (4.13.2 and MV 4.14 core;
platform notes §A3). The feed asks for it (option ``full_rows``), so each change carries the order
as its ``snapshot`` with ``status`` and ``updated_at``, and :meth:`CsCartConnector.hydrate` only adds
the shipments, one call and only when the row lists ``shipment_ids``. A store that ignores the
parameter answers short rows: those changes carry no snapshot and cost one ``GET`` per order (plus
its shipments), the minimum there. Writing: one POST per order (never retried blindly), then the total
correction and the status as follow-up PUTs; the reference lives in the admin notes.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Generator, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import structlog

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
from connectors.concurrency import fan_out
from connectors.cscart import CAPABILITIES, PLATFORM
from connectors.cscart.wire import (
    CsCartCatalogProduct,
    CsCartOrderCreate,
    CsCartOrderLine,
    CsCartOrderList,
    CsCartOrderRow,
    CsCartOrderUpdate,
    CsCartProductList,
    CsCartShipmentCreate,
    CsCartShipmentList,
    CsCartShipmentUpdate,
    CsCartStatus,
    CsCartStatusUpdate,
    entries,
    parse_cscart,
    parse_id_list,
    parse_statuses,
)
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
from connectors.parsing import format_decimal
from connectors.ratelimit import BucketSpec, RateLimiter, bucket_from_options

__all__ = ["DEFAULT_OPTIONS", "FINAL_STATUSES", "CsCartConnector", "classify", "open_connector"]

log = structlog.get_logger("ordersync.cscart")

DEFAULT_OPTIONS: dict[str, Any] = {
    "api_prefix": "/api",
    "company_id": None,
    "page_size": 100,
    "updated_at_filter": "auto",
    "watch_days": 30,
    "reference_window_seconds": 2 * 86400,
    "workers": 4,
    "full_rows": True,  # ask the change feed's list for whole orders (get_orders_data=1)
}
"""Store options and their defaults. ``updated_at_filter``: ``auto`` (probe), ``true`` or ``false``."""

FINAL_STATUSES = frozenset({"C", "I", "F", "D"})
"""Letters after which an old store's order is no longer re-read (option ``final_statuses``)."""

_FIELD_REQUIRED = re.compile(r"The (\S+) field is required", re.IGNORECASE)
_PERMISSION_WORDS = ("access denied", "permission", "privilege", "not allowed", "forbidden: forbidden")
_SKEW = 120
"""Seconds of clock skew allowed between us and the store when windows are computed."""


_MARKER = re.compile(r"^\s*\[(ordersync:[^\]\r\n]+)\]\s*$")
_REFERENCE_OVERLAP = 300


def _body(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _message(response: httpx.Response, body: Mapping[str, Any]) -> str:
    """A readable message from CS-Cart's ``{"message", "messages", "errors", "status"}`` body."""
    details: list[str] = []
    for key in ("errors", "messages"):
        value = body.get(key)
        items = value if isinstance(value, list) else [value] if isinstance(value, str) else []
        for item in items:
            text = str(item).strip()
            if text and text not in details:
                details.append(text)
    if details:
        return "; ".join(details)
    message = body.get("message")
    if isinstance(message, str) and message.strip():
        return message.strip()
    text = response.text.strip()
    if text and not text.startswith("<"):
        return text[:300]
    return response.reason_phrase or f"HTTP {response.status_code}"


def classify(response: httpx.Response) -> ConnectorError:
    """Map a CS-Cart error answer to the taxonomy, with CS-Cart's own messages.

    403 is ambiguous on CS-Cart: it means "this API user lacks the privilege" (→ ``AuthFailed``,
    fatal) but also business refusals such as "No shipping methods are available" or a minimum
    order amount (→ ``Rejected``, park the order). A 403 whose body names a reason that is not
    about access is a rejection; a bare "Forbidden" or an access message is an auth failure.
    """
    status = response.status_code
    body = _body(response)
    message = _message(response, body)
    if status in (429, 509) or (status == 503 and read_retry_after(response) is not None):
        wait = read_retry_after(response)
        return RateLimited(message or "too many requests", retry_after=wait if wait is not None else 1.0,
                           platform=PLATFORM, status=status)
    if status == 401:
        realm = response.headers.get("www-authenticate", "")
        hint = " (check the administrator e-mail and API key, that API access is enabled for that " \
               "administrator, and that the web server passes the Authorization header to PHP)"
        return AuthFailed(f"authentication failed{': ' + realm if realm else ''}{hint}",
                          platform=PLATFORM, status=status)
    if status == 403:
        reasons = [str(x) for key in ("errors", "messages") for x in (body.get(key) or [])
                   if isinstance(body.get(key), list)]
        text = " ".join(reasons).lower()
        if reasons and not any(word in text for word in _PERMISSION_WORDS):
            return Rejected(message, platform=PLATFORM, status=status, field_errors={"": message})
        return AuthFailed(f"forbidden: {message} (the API administrator lacks the privilege for this "
                          f"operation, or the object belongs to another vendor/storefront)",
                          platform=PLATFORM, status=status)
    if status == 404:
        return NotFound(message or "not found", platform=PLATFORM, status=status)
    if status == 409:
        return Conflict(message or "conflict", platform=PLATFORM, status=status)
    if status >= 500:
        return Transient(message or "server error", platform=PLATFORM, status=status)
    field_errors: dict[str, str] = {}
    for match in _FIELD_REQUIRED.finditer(message):
        field_errors[match.group(1)] = "required"
    if status == 415:
        message = f"{message} (CS-Cart needs Content-Type: application/json)"
    return Rejected(message or "request rejected", platform=PLATFORM, status=status,
                    field_errors=field_errors or {"": message})


def _api_root(settings: ConnectionSettings, prefix: str) -> str:
    base = settings.base_url.rstrip("/")
    prefix = "/" + prefix.strip("/") if prefix.strip("/") else ""
    if prefix and base.endswith((prefix, "/api", "/api/2.0")):
        return base
    return base + prefix


def _server_time(response: httpx.Response) -> int | None:
    value = response.headers.get("date")
    if not value:
        return None
    try:
        return int(parsedate_to_datetime(value).timestamp())
    except (TypeError, ValueError, IndexError):
        return None


class CsCartConnector:
    """:class:`~connectors.base.Connector` for CS-Cart and Multi-Vendor (4.x, API 1.0 and 2.0)."""

    platform: Platform = "cscart"
    capabilities: Capabilities = CAPABILITIES

    def __init__(self, settings: ConnectionSettings, *, transport: httpx.BaseTransport | None = None,
                 limiter: RateLimiter | None = None, clock: Any = time.time) -> None:
        if settings.platform != PLATFORM:
            raise ValueError(f"settings are for {settings.platform}, not {PLATFORM}")
        self.settings = settings
        self.options = merge_options(DEFAULT_OPTIONS, settings.options)
        self._clock = clock
        self.http = HttpClient(
            platform=PLATFORM,
            store=settings.store,
            base_url=_api_root(settings, str(self.options["api_prefix"] or "")),
            bucket=bucket_from_options(self.options, BucketSpec(rate=10.0, burst=10.0)),
            limiter=limiter,
            auth=httpx.BasicAuth(settings.secret("email"), settings.secret("api_key")),
            timeout=settings.timeout,
            transport=transport,
            classify=classify,
        )
        self._skus: dict[str, ProductRef] = {}
        self._skus_lock = threading.Lock()
        self.statuses: list[CsCartStatus] | None = None

    # -- plumbing ---------------------------------------------------------------------------------
    def close(self) -> None:
        """Release pooled connections."""
        self.http.close()

    def __enter__(self) -> CsCartConnector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _get(self, path: str, params: Mapping[str, Any] | None = None) -> tuple[Any, httpx.Response]:
        response = self.http.request("GET", path, params=params)
        return self._json(response), response

    def _json(self, response: httpx.Response) -> Any:
        if response.status_code == 204 or not response.content.strip():
            return None
        try:
            return response.json()
        except ValueError:
            raise Transient(f"answer to {response.request.method} {response.request.url.path} is not JSON",
                            platform=PLATFORM, status=response.status_code) from None

    def _send(self, method: str, path: str, body: Any, **kwargs: Any) -> Any:
        response = self.http.request(method, path, json=body, headers={"Content-Type": "application/json"},
                                     **kwargs)
        return self._json(response)

    @property
    def _orders_path(self) -> str:
        company = self.options.get("company_id")
        return f"/stores/{company}/orders" if company not in (None, "", 0, "0") else "/orders"

    def _list_orders(self, params: Mapping[str, Any]) -> tuple[CsCartOrderList, httpx.Response]:
        listing, _rows, response = self._list_rows(params)
        return listing, response

    def _list_rows(self, params: Mapping[str, Any]
                   ) -> tuple[CsCartOrderList, list[dict[str, Any]], httpx.Response]:
        """One list page: parsed, the raw rows in the same order, and the response."""
        data, response = self._get("/orders", params)
        if isinstance(data, dict) and "orders" in data and isinstance(data["orders"], dict):
            data = {**data, "orders": list(data["orders"].values())}  # customised stores key rows by id
        listing = parse_cscart(CsCartOrderList, data, what="CS-Cart order list")
        raws = data.get("orders") if isinstance(data, dict) else None
        rows = [row if isinstance(row, dict) else {} for row in raws] if isinstance(raws, list) else []
        return listing, rows, response

    def _feed_params(self) -> dict[str, Any]:
        """What the change feed adds to its list calls: whole rows (``get_orders_data=1``) unless switched off."""
        return {"get_orders_data": 1} if self.options.get("full_rows", True) else {}

    # -- reading ----------------------------------------------------------------------------------
    def iter_orders(self, since: CursorState | None, *, lookback_seconds: float = 300.0) -> ChangeFeed:
        """Orders changed since ``since`` (everything when ``None``), overlapping by ``lookback_seconds``.

        The new cursor is the poll's start time (the store's ``Date`` when earlier than ours), so an
        order changed while we page is read again next time; duplicates within a read are dropped.
        """
        return ChangeFeed(self._changes(dict(since) if since else None, lookback_seconds), since)

    def _changes(self, since: dict[str, Any] | None,
                 lookback: float) -> Generator[OrderChange, None, CursorState | None]:
        started = int(self._clock())
        mode, checked_at = self._filter_mode(since)
        if mode == "updated_at":
            bound = None if since is None or since.get("updated_at") is None else \
                max(0, int(since["updated_at"]) - int(lookback))
            params: dict[str, Any] = {} if bound is None else {"updated_at_from": bound}
            server_now: list[int] = []
            seen: set[str] = set()
            yield from self._page_all(params, seen, server_now)
            signpost = min([started, *server_now])
            return {"mode": "updated_at", "updated_at": signpost, "checked_at": checked_at}
        return (yield from self._legacy_changes(since, lookback, started, checked_at))

    def _filter_mode(self, since: Mapping[str, Any] | None) -> tuple[str, int]:
        """``(mode, probed at)``: ``updated_at`` when the store honours ``updated_at_from``, else
        ``created`` (old stores). The probe's answer is kept in the cursor and renewed daily."""
        now = int(self._clock())
        setting = str(self.options.get("updated_at_filter", "auto")).lower()
        if setting in ("true", "1", "yes", "on"):
            return "updated_at", now
        if setting in ("false", "0", "no", "off"):
            return "created", now
        if since and since.get("mode") in ("updated_at", "created"):
            checked = int(since.get("checked_at") or 0)
            if now - checked < 86400:  # re-probe daily: stores get upgraded
                return str(since["mode"]), checked
        return ("updated_at" if self.supports_updated_filter() else "created"), now

    def supports_updated_filter(self) -> bool:
        """Probe: does the store honour ``updated_at_from``? (Old stores ignore unknown parameters.)

        Asks for orders updated a day in the future: a store that filters answers none; a store that
        ignores the parameter answers every order (rows older than the bound).
        """
        future = int(self._clock()) + 86400
        listing, _ = self._list_orders({"updated_at_from": future, "items_per_page": 1, "page": 1})
        honoured = listing.params.total_items == 0 and not listing.orders
        if not honoured:
            log.info("cscart.updated_at_ignored", store=self.settings.store,
                     hint="store predates 4.13: polling by creation window and re-reading open orders")
        return honoured

    def _page_all(self, params: Mapping[str, Any], seen: set[str],
                  server_now: list[int] | None = None) -> Iterator[OrderChange]:
        """Every row of a filtered list, ``order_id`` ascending, page by page.

        Rows only ever join the filtered set (a new order at the end, or an order updated while we
        page), which at worst shows a row twice; a deletion shifts later rows onto pages already read,
        so when the total shrinks between pages the list is read once more (``seen`` drops repeats).
        """
        size = int(self.options["page_size"])
        for _attempt in range(2):
            page = 1
            previous: int | None = None
            shrank = False
            while True:
                query = {**params, **self._feed_params(), "sort_by": "order_id", "sort_order": "asc", "page": page,
                         "items_per_page": size}
                read_at = datetime.now(UTC)
                listing, raws, response = self._list_rows(query)
                if server_now is not None and page == 1:
                    when = _server_time(response)
                    if when is not None:
                        server_now.append(when)
                total = listing.params.total_items
                shrank = shrank or (previous is not None and total < previous)
                previous = total
                for row, raw in zip(listing.orders, raws, strict=False):
                    if row.order_id in seen or row.is_parent_order:
                        continue
                    seen.add(row.order_id)
                    yield _change(row, raw, read_at)
                if page >= max(1, -(-total // size)) or not listing.orders:
                    break
                page += 1
            if not shrank:
                return

    def _legacy_changes(self, since: dict[str, Any] | None, lookback: float, started: int,
                        checked_at: int) -> Generator[OrderChange, None, CursorState | None]:
        """Old stores: new orders by creation window, plus re-reads of the non-final ones we know."""
        seen: set[str] = set()
        watch: dict[str, list[Any]] = dict((since or {}).get("watch") or {})
        final = frozenset(self.options.get("final_statuses") or FINAL_STATUSES)
        keep_after = started - int(self.options["watch_days"]) * 86400
        rows: dict[str, tuple[str, str, int]] = {}

        def note(change_rows: CsCartOrderList) -> None:
            for row in change_rows.orders:
                rows[row.order_id] = (row.status or "", format_decimal(row.total) if row.total is not None else "",
                                      row.timestamp or 0)

        # 1. orders created since the last poll (all orders on the first run)
        params: dict[str, Any] = {}
        if since and since.get("created_at") is not None:
            params = {"period": "C", "time_from": max(0, int(since["created_at"]) - int(lookback)),
                      "time_to": started + _SKEW}
        size = int(self.options["page_size"])
        page = 1
        while True:
            read_at = datetime.now(UTC)
            listing, raws, _ = self._list_rows({**params, **self._feed_params(), "sort_by": "order_id",
                                                "sort_order": "asc", "page": page, "items_per_page": size})
            note(listing)
            for row, raw in zip(listing.orders, raws, strict=False):
                if row.order_id not in seen and not row.is_parent_order:
                    seen.add(row.order_id)
                    yield _change(row, raw, read_at)
            if page >= max(1, -(-listing.params.total_items // size)) or not listing.orders:
                break
            page += 1
        # 2. re-read the orders still open, and report those whose status or total moved
        for chunk_start in range(0, len(watch), 100):
            ids = list(watch)[chunk_start:chunk_start + 100]
            read_at = datetime.now(UTC)
            listing, raws, _ = self._list_rows({"order_id": ",".join(ids), **self._feed_params(),
                                                "items_per_page": len(ids), "page": 1})
            note(listing)
            returned = {row.order_id for row in listing.orders}
            for order_id in ids:
                if order_id not in returned:  # deleted: report once so the engine sees the 404
                    if order_id not in seen:
                        seen.add(order_id)
                        yield OrderChange(id=order_id, number=order_id)
                    watch.pop(order_id, None)
            for row, raw in zip(listing.orders, raws, strict=False):
                previous = watch.get(row.order_id)
                current = rows[row.order_id]
                if previous is not None and list(current[:2]) != list(previous[:2]) and row.order_id not in seen:
                    seen.add(row.order_id)
                    yield _change(row, raw, read_at)
        # 3. the next watch list: every non-final order seen, created within watch_days
        for order_id, (status, total, created) in rows.items():
            if status in final or (created and created < keep_after):
                watch.pop(order_id, None)
            else:
                watch[order_id] = [status, total, created]
        return {"mode": "created", "created_at": started, "checked_at": checked_at, "watch": watch}

    def get_order(self, order_id: str) -> dict[str, Any]:
        """The bundle ``{"order": <detail>, "shipments": [...], "currency"?: ...}`` for one order."""
        order, _ = self._get(f"/orders/{order_id}")
        if not isinstance(order, dict) or not order:
            raise NotFound(f"order {order_id} not found", platform=PLATFORM, status=404)
        return self._bundle(order_id, order)

    def _bundle(self, order_id: str, order: dict[str, Any]) -> dict[str, Any]:
        """The bundle around an order detail: its shipments read only when it lists some (or does not say)."""
        bundle: dict[str, Any] = {"order": order, "shipments": []}
        if "shipment_ids" not in order or parse_id_list(order.get("shipment_ids")):
            bundle["shipments"] = self.list_shipments(order_id)
        currency = self.options.get("currency")
        if currency:
            bundle["currency"] = str(currency).upper()
        return bundle

    def list_shipments(self, order_id: str) -> list[dict[str, Any]]:
        """Every shipment of an order (raw rows, for the mapping)."""
        out: list[dict[str, Any]] = []
        page = 1
        while True:
            data, _ = self._get("/shipments", {"order_id": order_id, "page": page, "items_per_page": 100})
            listing = parse_cscart(CsCartShipmentList, data, what="CS-Cart shipment list")
            rows = data.get("shipments") if isinstance(data, dict) else None
            out.extend(row for row in (rows or []) if isinstance(row, dict)
                       and str(row.get("order_id", order_id)) == str(order_id))
            if page * 100 >= listing.params.total_items or not listing.shipments:
                return out
            page += 1

    def hydrate(self, snapshot: dict[str, Any]) -> dict[str, Any]:
        """What :meth:`get_order` answers, from a ``get_orders_data=1`` list row (a whole order detail).

        Only the shipments are fetched, and only when the row's ``shipment_ids`` lists some: no call
        for an unshipped order. A short row (a store that ignored ``get_orders_data``; the feed never
        attaches those) is read by its ``order_id`` with :meth:`get_order`; a row without
        ``order_id`` is an :class:`InvalidPayload` naming ``order_id``.
        """
        raw_id = snapshot.get("order_id") if isinstance(snapshot, dict) else None
        order_id = str(raw_id).strip() if raw_id not in (None, "", 0, "0") else ""
        if not order_id:
            raise InvalidPayload("CS-Cart order row", [("order_id", "missing: the list row has no order id")])
        if not holds_order(snapshot):
            return self.get_order(order_id)
        return self._bundle(order_id, dict(snapshot))

    def get_orders(self, order_ids: Sequence[str]) -> Iterator[tuple[str, dict[str, Any] | Exception]]:
        """Bundles for many orders, ``workers`` at a time, within the rate limit."""
        return fan_out(self.get_order, order_ids, workers=int(self.options["workers"]))

    def find_by_reference(self, ref: OrderReference) -> str | None:
        """The order we created with ``ref``: CS-Cart has no filter on our field, so list candidates
        by e-mail and creation window, then read each one's admin notes for the marker line."""
        marker = f"[{ref.key if ref.key.startswith('ordersync:') else 'ordersync:' + ref.key}]"
        params: dict[str, Any] = {"sort_by": "order_id", "sort_order": "desc"}
        if ref.email:
            params["email"] = ref.email
        if ref.placed_after is not None:
            start = int(ref.placed_after.timestamp()) - _SKEW
            params.update(period="C", time_from=max(0, start),
                          time_to=int(max(self._clock(), ref.placed_after.timestamp()
                                          + float(self.options["reference_window_seconds"]))) + _SKEW)
        limit = 500 if (ref.email or ref.placed_after) else 200
        checked = 0
        page = 1
        while checked < limit:
            listing, _ = self._list_orders({**params, "page": page, "items_per_page": 50})
            for row in listing.orders:
                if ref.email and row.email and row.email.strip().lower() != ref.email.strip().lower():
                    continue
                checked += 1
                try:
                    detail, _ = self._get(f"/orders/{row.order_id}")
                except NotFound:
                    continue
                details = detail.get("details") if isinstance(detail, dict) else None
                if isinstance(details, str) and any(line.strip() == marker for line in details.splitlines()):
                    return row.order_id
            if page * 50 >= listing.params.total_items or not listing.orders:
                return None
            page += 1
        return None

    def iter_references(self, since: CursorState | None) -> ChangeFeed:
        """Orders whose admin notes hold our marker line, changed since ``since`` (all when ``None``).

        ``GET /api/orders?get_orders_data=1`` returns each row with its ``details``, so the whole store
        is read a page at a time; later reads filter by ``updated_at_from`` (4.13+) or, on old stores,
        by creation window (the marker is written with the order).
        """
        return ChangeFeed(only_referenced(self._reference_feed(dict(since) if since else None)), since)

    def _reference_feed(self, since: dict[str, Any] | None) -> Generator[OrderChange, None, CursorState | None]:
        started = int(self._clock())
        mode, checked_at = self._filter_mode(since)
        params: dict[str, Any] = {"get_orders_data": 1}
        if since and since.get("at") is not None:
            bound = max(0, int(since["at"]) - _REFERENCE_OVERLAP)
            params.update({"updated_at_from": bound} if mode == "updated_at" else
                          {"period": "C", "time_from": bound, "time_to": started + _SKEW})
        size = int(self.options["page_size"])
        page = 1
        while True:
            listing, _ = self._list_orders({**params, "sort_by": "order_id", "sort_order": "asc", "page": page,
                                            "items_per_page": size})
            for row in listing.orders:
                details = (row.model_extra or {}).get("details")
                lines = details.splitlines() if isinstance(details, str) else []
                yield OrderChange(id=row.order_id, number=row.order_id,
                                  reference=reference_in(m.group(1) for m in map(_MARKER.match, lines) if m))
            if page >= max(1, -(-listing.params.total_items // size)) or not listing.orders:
                break
            page += 1
        return {"mode": mode, "at": started, "checked_at": checked_at}

    # -- writing ----------------------------------------------------------------------------------
    def create_order(self, payload: Any, ref: OrderReference, *,
                     on_progress: ProgressCallback | None = None) -> CreatedOrder:
        """POST the order (never retried blindly), then force the total and set the status.

        When the POST's answer is lost (:class:`OutcomeUnknown`), the order is looked up by ``ref``
        once: found → adopted; not found → the ``OutcomeUnknown`` is raised for the engine to retry
        later. Follow-up failures do not fail the create (the order exists): they are reported in
        ``CreatedOrder.raw["follow_up_errors"]`` for the engine to re-apply.
        """
        if not isinstance(payload, CsCartOrderCreate):
            payload = parse_cscart(CsCartOrderCreate, payload, what="CS-Cart order create")
        body = self._resolve_products(payload)
        try:
            answer = self._send("POST", self._orders_path, body)
        except OutcomeUnknown:
            found = self.find_by_reference(ref)
            if found is None:
                raise
            log.warning("cscart.create_adopted", store=self.settings.store, order_id=found, reference=ref.key)
            if on_progress:
                on_progress({"order_id": found})
            created = CreatedOrder(id=found, number=found, raw={"adopted_after": "lost answer"}, adopted=True)
            self._follow_up(found, payload, None, created)
            return created
        if not isinstance(answer, dict) or answer.get("order_id") in (None, "", 0, "0"):
            raise Transient("CS-Cart answered the create without an order_id", platform=PLATFORM)
        order_id = str(answer["order_id"])
        if on_progress:
            on_progress({"order_id": order_id})
        created = CreatedOrder(id=order_id, number=order_id, raw={k: v for k, v in answer.items()
                                                                if k != "order_data"})
        order_data = answer.get("order_data") if isinstance(answer.get("order_data"), dict) else None
        self._check_lines(body, order_data, created)
        self._follow_up(order_id, payload, order_data, created)
        return created

    def _resolve_products(self, payload: CsCartOrderCreate) -> dict[str, Any]:
        """The POST body; lines keyed by SKU without a product id (offline payloads) are resolved."""
        body = payload.body()
        if all(line.product_id for line in payload.products.values()):
            return body
        products: dict[str, Any] = {}
        for key, line in payload.products.items():
            if line.product_id:
                products[key] = line.body()
                continue
            ref = self.resolve_sku(key)
            resolved = CsCartOrderLine(product_id=ref.product_id, amount=line.amount,
                                       product_options=ref.options or line.product_options)
            products[str(len(products) + 1)] = resolved.body()
        body["products"] = products
        return body

    def _check_lines(self, body: Mapping[str, Any], order_data: Mapping[str, Any] | None,
                     created: CreatedOrder) -> None:
        """CS-Cart silently skips lines it cannot add; compare what was asked with what was made."""
        if not order_data:
            return
        wanted: dict[str, int] = {}
        for line in body.get("products", {}).values():
            wanted[str(line.get("product_id"))] = wanted.get(str(line.get("product_id")), 0) + int(line["amount"])
        got: dict[str, int] = {}
        for _, product in entries(order_data.get("products")):
            if isinstance(product, dict):
                try:
                    amount = int(str(product.get("amount") or 0))
                except ValueError:
                    amount = 0
                got[str(product.get("product_id"))] = got.get(str(product.get("product_id")), 0) + amount
        missing = {pid: qty for pid, qty in wanted.items() if got.get(pid, 0) < qty}
        if missing:
            created.raw["missing_lines"] = missing
            log.warning("cscart.lines_skipped", store=self.settings.store, order_id=created.id, missing=missing)

    def _follow_up(self, order_id: str, payload: CsCartOrderCreate, order_data: Mapping[str, Any] | None,
                   created: CreatedOrder) -> None:
        errors: list[str] = []
        if payload.total_override is not None:
            try:
                current = order_data.get("total") if order_data else None
                if current is None:
                    detail, _ = self._get(f"/orders/{order_id}")
                    current = detail.get("total") if isinstance(detail, dict) else None
                if current is None or Decimal(str(current)) != payload.total_override:
                    self._send("PUT", f"/orders/{order_id}",
                               CsCartOrderUpdate(total=payload.total_override).body())
                    created.raw["total_corrected"] = {"from": str(current), "to": str(payload.total_override)}
            except ConnectorError as error:
                errors.append(f"total correction: {error}")
        if payload.status_after and payload.status_after != "O":
            try:
                self.set_status(order_id, CsCartStatusUpdate(status=payload.status_after))
            except ConnectorError as error:
                errors.append(f"status {payload.status_after}: {error}")
        if errors:
            created.raw["follow_up_errors"] = errors

    def set_status(self, order_id: str, payload: Any) -> None:
        """PUT the status alone (CS-Cart's fast path: no recalculation, no e-mail unless asked)."""
        if not isinstance(payload, CsCartStatusUpdate | CsCartOrderUpdate):
            payload = parse_cscart(CsCartStatusUpdate, payload, what="CS-Cart status update")
        self._send("PUT", f"/orders/{order_id}", payload.body())

    def update_order(self, order_id: str, payload: CsCartOrderUpdate) -> None:
        """A general order PUT (recalculates the order from the catalog unless it is status-only)."""
        self._send("PUT", f"/orders/{order_id}", payload.body())

    def create_shipment(self, order_id: str, payload: Any) -> str:
        """POST a shipment; returns its id. A lost answer is resolved by looking for a shipment with
        the same tracking number and carrier on the order (never by posting again)."""
        if not isinstance(payload, CsCartShipmentCreate):
            payload = parse_cscart(CsCartShipmentCreate, payload, what="CS-Cart shipment create")
        body = payload.body()
        body["order_id"] = str(order_id)
        try:
            answer = self._send("POST", "/shipments", body)
        except OutcomeUnknown:
            for row in self.list_shipments(order_id):
                if (row.get("tracking_number") or "") == (payload.tracking_number or "") and \
                        (row.get("carrier") or "") == (payload.carrier or ""):
                    return str(row.get("shipment_id"))
            raise
        if not isinstance(answer, dict) or answer.get("shipment_id") in (None, "", 0):
            raise Transient("CS-Cart answered the shipment create without a shipment_id", platform=PLATFORM)
        return str(answer["shipment_id"])

    def update_shipment(self, order_id: str, shipment_id: str, payload: Any) -> None:
        """PUT the shipment's tracking (CS-Cart changes only tracking_number, carrier, comments, timestamp)."""
        if not isinstance(payload, CsCartShipmentUpdate):
            payload = parse_cscart(CsCartShipmentUpdate, payload, what="CS-Cart shipment update")
        self._send("PUT", f"/shipments/{shipment_id}", payload.body())

    def cancel_order(self, order_id: str, payload: Any = None) -> None:
        """Cancel safely: read the order first, and do nothing when it already has the cancel letter."""
        if payload is None:
            payload = CsCartStatusUpdate(status="I")
        elif not isinstance(payload, CsCartStatusUpdate):
            payload = parse_cscart(CsCartStatusUpdate, payload, what="CS-Cart cancel")
        detail, _ = self._get(f"/orders/{order_id}")
        current = detail.get("status") if isinstance(detail, dict) else None
        if current == payload.status:
            return
        self.set_status(order_id, payload)

    def delete_order(self, order_id: str) -> None:
        """DELETE the order (204). An order that is already gone (404) counts as deleted."""
        try:
            self.http.request("DELETE", f"/orders/{order_id}")
        except NotFound:
            return

    def resolve_sku(self, sku: str) -> ProductRef:
        """The catalog product for a SKU (cached). ``pcode`` is a substring search in CS-Cart, so the
        exact product code wins; a row matched through an option combination brings its options."""
        key = sku.strip()
        with self._skus_lock:
            cached = self._skus.get(key)
        if cached is not None:
            return cached
        data, _ = self._get("/products", {"pcode": key, "items_per_page": 50, "page": 1})
        listing = parse_cscart(CsCartProductList, data, what="CS-Cart product list")
        rows = [row for _, row in entries(listing.products)]
        exact = [row for row in rows if (row.product_code or "").strip() == key and not row.combination]
        if not exact:
            exact = [row for row in rows if (row.product_code or "").strip().lower() == key.lower()
                     and not row.combination]
        combos = [row for row in rows if row.combination]
        chosen: CsCartCatalogProduct | None = exact[0] if exact else (combos[0] if len(combos) == 1 else None)
        if chosen is None:
            raise UnknownSku(key, platform=PLATFORM)
        options: dict[str, str] = {}
        if chosen.combination:
            parts = chosen.combination.split("_")
            options = {parts[i]: parts[i + 1] for i in range(0, len(parts) - 1, 2)}
        ref = ProductRef(sku=key, product_id=chosen.product_id, name=chosen.product, price=chosen.price,
                         options=options, stock=chosen.amount)
        with self._skus_lock:
            self._skus[key] = ref
        return ref

    def load_statuses(self) -> list[CsCartStatus]:
        """The store's order statuses (``GET /api/statuses?type=O``), envelope or bare array."""
        out: list[CsCartStatus] = []
        page = 1
        while True:
            data, _ = self._get("/statuses", {"type": "O", "page": page, "items_per_page": 100})
            parsed = [s for s in parse_statuses(data) if (s.type or "O") == "O"]
            out.extend(parsed)
            total = 0
            if isinstance(data, dict) and isinstance(data.get("params"), dict):
                try:
                    total = int(str(data["params"].get("total_items") or 0))
                except ValueError:
                    total = 0
            if not isinstance(data, dict) or page * 100 >= total or not parsed:
                break
            page += 1
        self.statuses = out
        return out


def holds_order(row: Mapping[str, Any]) -> bool:
    """Whether a list row is a whole order detail (``get_orders_data=1``), not a short list row."""
    return "products" in row and "order_id" in row


def _change(row: CsCartOrderRow, raw: dict[str, Any], read_at: datetime) -> OrderChange:
    """A feed change from a list row: its modification stamp, and the row as snapshot when it is whole."""
    whole = holds_order(raw)
    return OrderChange(id=row.order_id, number=row.order_id,
                       updated_at=datetime.fromtimestamp(row.updated_at, UTC) if row.updated_at else None,
                       snapshot=raw if whole else None, read_at=read_at if whole else None)


def open_connector(settings: ConnectionSettings, *, transport: httpx.BaseTransport | None = None,
                   limiter: RateLimiter | None = None) -> CsCartConnector:
    """Open a :class:`CsCartConnector` for ``settings`` (credentials ``email`` and ``api_key``)."""
    return CsCartConnector(settings, transport=transport, limiter=limiter)


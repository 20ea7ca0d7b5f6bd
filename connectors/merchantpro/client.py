"""The MerchantPro connector: orders through REST API v2 on the shop's own domain.

``settings.base_url`` is the shop root (``https://www.shop.ro``); paths are ``/api/v2/...``. Basic
auth from ``api_key``/``api_secret``. Redirects are never followed (a 30x means a wrong base URL).
A 403 means MerchantPro locked the credential after repeated failures: the connector then refuses
to send anything until the lock should be over, instead of prolonging it.

The change feed has no modified-since filter to lean on (none is confirmed for orders), so it
reads new orders with ``created_after`` (the high-water ``date_created`` minus the lookback, sent as
a date) and re-reads every *open* order (shipping not final, or payment still awaited) by ``ids=``
batches of at most 100 (the documented page cap), comparing ``date_modified`` with the value stored
in the cursor.

Both reads ask for whole rows with ``include=line_items`` (the list's only documented side-load), so
every change carries its list row as ``snapshot`` and :meth:`MerchantProConnector.hydrate` turns it
into the ``get_order`` answer with no call. Which order fields are "list type" (served without
``include``) is not legible in our copy of the API page; a row that lacks a field the mapping reads
(see :data:`ROW_FIELDS`) is therefore read whole with one ``GET /orders/{id}`` instead of being
guessed, and the option ``list_include`` can name more fields for the list to side-load.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Generator, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

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
from connectors.http import HttpClient, decode_json, read_retry_after
from connectors.merchantpro import CAPABILITIES
from connectors.merchantpro.wire import (
    FINAL_SHIPPING_STATUSES,
    OPEN_PAYMENT_STATUSES,
    MerchantProCancel,
    MerchantProOrder,
    MerchantProOrderCreate,
    MerchantProOrderList,
    MerchantProOrderUpdate,
    MerchantProProductList,
    MerchantProShipment,
    MerchantProShipmentUpdate,
    MerchantProStatusUpdate,
    MerchantProTagWrite,
    id_text,
    parse_lenient,
)
from connectors.ratelimit import BucketSpec, RateLimiter, bucket_from_options

__all__ = ["DEFAULT_BUCKET", "DEFAULT_OPTIONS", "LockedOut", "MerchantProConnector", "classify", "open_connector"]

PLATFORM = "merchantpro"
ORDERS = "/api/v2/orders"
PRODUCTS = "/api/v2/products"
PAGE = 100  # "The maximum number of records per page cannot exceed 100." (API page, Pagination)

ROW_FIELDS = frozenset({
    "payment_status", "payment_method_code", "payment_transaction_id", "shipping_status", "shipping_method_id",
    "shipping_carrier_id", "shipping_awb", "shipping_amount", "total_amount", "currency", "coupon_code",
    "customer_email", "date_created", "date_modified", "date_shipped", "date_delivered", "tags", "internal_notes",
    "billing_name", "shipping_name", "line_items",
})
"""Documented order fields the mapping reads: a list row holds the order only when it has every one."""

# 4 req/s and 80/min, both fixed windows: a burst of 2 plus 78/min never puts more than 80 requests in any
# minute nor more than 4 in any second, so the shop never has to refuse one (a burst of 4 at 80/min could
# put 84 in one minute and 5 in one second).
DEFAULT_BUCKET = BucketSpec(rate=78 / 60.0, burst=2.0)

DEFAULT_OPTIONS: dict[str, Any] = {
    "lockout_seconds": 300.0,  # how long to stay quiet after a 403 without Retry-After
    "workers": 3,  # fan-out threads for get_orders (the budget is small)
    "created_after_precision": "date",  # the docs only show dates for created_after
    "list_include": "line_items",  # side-loads asked of the order list (fields not "list type")
    "cursor_version": 1,
}


def _error_body(response: httpx.Response) -> tuple[str, str]:
    """``(name, message)`` from ``{"error": {"name", "message"}}`` (or a flat variant)."""
    try:
        data = response.json()
    except ValueError:
        text = response.text.strip()
        return "", (response.reason_phrase or "") if text.startswith("<") else text[:300]
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict):
            return str(error.get("name") or ""), str(error.get("message") or "")
        if isinstance(error, str):
            return error, str(data.get("message") or error)
        if isinstance(data.get("message"), str):
            return "", str(data["message"])
    return "", str(data)[:300]


class LockedOut(AuthFailed):
    """A 403: MerchantPro locked the credential after repeated failures; ``retry_after`` when it said."""

    def __init__(self, message: str, *, retry_after: float | None, status: int | None = 403) -> None:
        super().__init__(message, platform=PLATFORM, status=status, locked_out=True)
        self.retry_after = retry_after


def classify(response: httpx.Response) -> ConnectorError:
    """Map a MerchantPro error answer to the taxonomy (messages from the body, never credentials)."""
    status = response.status_code
    name, message = _error_body(response)
    text = f"{name}: {message}" if name and message and name not in message else (message or name)
    if 300 <= status < 400:
        location = response.headers.get("location", "")
        return ConnectorError(
            f"redirected to {location or 'another URL'}: base_url must be the shop root over https "
            "(e.g. https://www.shop.ro), redirects are not followed", platform=PLATFORM, status=status)
    if status == 429:
        return RateLimited(text or "too many requests", retry_after=read_retry_after(response) or 1.0,
                           platform=PLATFORM, status=status)
    if status == 401:
        return AuthFailed(text or "invalid API key or secret", platform=PLATFORM, status=status)
    if status == 403:
        return LockedOut(text or "access locked after repeated failed logins",
                         retry_after=read_retry_after(response), status=status)
    if status == 404:
        return NotFound(text or "not found", platform=PLATFORM, status=status)
    if status == 409:
        return Conflict(text or "conflict", platform=PLATFORM, status=status)
    if status >= 500:
        return Transient(text or "server error", platform=PLATFORM, status=status)
    field_errors = {"filter": message} if name == "undefined_filter" or "No such filter" in message else {}
    return Rejected(text or "request rejected", platform=PLATFORM, status=status, field_errors=field_errors)


class MerchantProConnector:
    """ordersync's hands on one MerchantPro shop (see the module docstring for the feed and limits)."""

    platform: Platform = "merchantpro"

    def __init__(self, settings: ConnectionSettings, *, transport: httpx.BaseTransport | None = None,
                 limiter: RateLimiter | None = None) -> None:
        self.settings = settings
        self.capabilities: Capabilities = CAPABILITIES
        self.options = merge_options(DEFAULT_OPTIONS, settings.options)
        auth = httpx.BasicAuth(settings.secret("api_key"), settings.secret("api_secret"))
        bucket = bucket_from_options(self.options, DEFAULT_BUCKET)
        self.http = HttpClient(
            platform=PLATFORM, store=settings.store, base_url=settings.base_url, bucket=bucket, limiter=limiter,
            auth=auth, timeout=settings.timeout, transport=transport,
            classify=classify,
        )
        self._locked_until = 0.0
        self._skus: dict[str, ProductRef] = {}
        self._sku_lock = threading.Lock()

    # -- plumbing -------------------------------------------------------------------------------
    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        wait = self._locked_until - time.monotonic()
        if wait > 0:
            raise AuthFailed(f"credentials locked out by MerchantPro; not retrying for {wait:.0f} s",
                             platform=PLATFORM, status=403, locked_out=True)
        try:
            return self.http.request(method, path, **kwargs)
        except AuthFailed as error:
            if error.locked_out:
                pause = getattr(error, "retry_after", None) or float(self.options["lockout_seconds"])
                self._locked_until = time.monotonic() + pause
            raise

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return decode_json(self._call(method, path, **kwargs), PLATFORM)

    def _whole_rows(self) -> dict[str, str]:
        """List parameters for rows that hold the order: ``include=`` the side-loads (lines)."""
        include = str(self.options.get("list_include") or "line_items")
        if "line_items" not in include.split(","):
            include = f"line_items,{include}"
        return {"include": include}

    def _page(self, params: dict[str, Any]) -> Iterator[MerchantProOrder]:
        """Every row of a filtered order list, parsed (see :meth:`_rows`)."""
        for row, _raw, _read_at in self._rows(params):
            yield row

    def _rows(self, params: dict[str, Any]) -> Iterator[tuple[MerchantProOrder, dict[str, Any], datetime]]:
        """Every row of a filtered order list as ``(parsed, raw, read_at)``, following ``meta.links.next``
        and checking offsets; ``read_at`` is when the row's page was asked for (UTC).

        Offset paging skips a row when an order listed before the offset is deleted mid-read (every
        later row moves up one place). When the list's total shrinks between pages, the list is read
        once more from the start (at most twice); a row already yielded is not yielded again.
        """
        yielded: set[str] = set()
        for _attempt in range(3):
            shrank = yield from self._pages_once(params, yielded)
            if not shrank:
                return

    def _pages_once(self, params: dict[str, Any], yielded: set[str]
                    ) -> Generator[tuple[MerchantProOrder, dict[str, Any], datetime], None, bool]:
        """One pass over the list's pages, skipping the ids in ``yielded`` (and adding those it yields);
        returns whether the list's total shrank while it was read."""
        query: dict[str, Any] = {**params, "start": 0, "limit": PAGE}
        totals: list[int] = []
        while True:
            read_at = datetime.now(UTC)
            data = self._json("GET", ORDERS, params=query)
            page = parse_lenient(MerchantProOrderList, data, what="MerchantPro order list")
            if page.meta.count.start != int(query["start"]):
                raise Transient(f"order list answered offset {page.meta.count.start} for start={query['start']}",
                                platform=PLATFORM)
            totals.append(page.meta.count.total)
            raws = data.get("data") if isinstance(data, dict) else None
            for index, row in enumerate(page.data):
                order_id = id_text(row.id)
                if order_id in yielded:
                    continue
                if order_id is not None:
                    yielded.add(order_id)
                raw = raws[index] if isinstance(raws, list) and isinstance(raws[index], dict) else {}
                yield row, raw, read_at
            next_link = page.meta.links.next
            if not next_link or not page.data:
                break
            query = dict(parse_qsl(urlsplit(next_link).query, keep_blank_values=True))
            if "start" not in query:
                break
        return any(later < earlier for earlier, later in itertools.pairwise(totals))

    # -- reads ----------------------------------------------------------------------------------
    def iter_orders(self, since: CursorState | None, *, lookback_seconds: float = 300.0) -> ChangeFeed:
        """New orders by ``created_after`` plus open orders re-read by ``ids=``; see the module docstring."""
        return ChangeFeed(self._feed(since, lookback_seconds), since)

    def _feed(self, since: CursorState | None, lookback: float) -> Generator[OrderChange, None, CursorState]:
        open_before: dict[str, str | None] = dict((since or {}).get("open") or {})
        high = (since or {}).get("created_high")
        try:
            high_at = datetime.fromisoformat(high) if isinstance(high, str) else None
        except ValueError:
            raise InvalidPayload("MerchantPro cursor", [("created_high", f"{high!r} is not a timestamp")]) from None
        seen: set[str] = set()
        open_now: dict[str, str | None] = {}
        new_high = high_at

        def remember(row: MerchantProOrder) -> None:
            if row.shipping_status not in FINAL_SHIPPING_STATUSES or row.payment_status in OPEN_PAYMENT_STATUSES:
                open_now[_rid(row)] = _stamp(row.date_modified)

        params: dict[str, Any] = {"sort": "date_created", **self._whole_rows()}
        floor: datetime | None = None
        if high_at is not None:
            floor = high_at - timedelta(seconds=lookback)
            if self.options["created_after_precision"] == "date":
                params["created_after"] = floor.date().isoformat()
            else:
                params["created_after"] = floor.isoformat()
        for row, raw, read_at in self._rows(params):
            order_id = _rid(row)
            if order_id in seen:
                continue
            seen.add(order_id)
            created = _utc(row.date_created)
            if created is not None and (new_high is None or created > new_high):
                new_high = created
            remember(row)
            modified = _stamp(row.date_modified)
            if order_id in open_before and open_before[order_id] == modified and modified is not None:
                continue  # an open order we already saw, unchanged
            if floor is not None and created is not None and created < floor and order_id not in open_before:
                continue  # before the window (date-granular filter) and not one we track
            yield _change(order_id, row, raw, read_at)
        recheck = [order_id for order_id in open_before if order_id not in seen]
        for start in range(0, len(recheck), PAGE):
            batch = recheck[start:start + PAGE]
            found: set[str] = set()
            for row, raw, read_at in self._rows({"ids": ",".join(batch), **self._whole_rows()}):
                order_id = _rid(row)
                if order_id in seen or order_id not in open_before:
                    continue
                seen.add(order_id)
                found.add(order_id)
                remember(row)
                modified = _stamp(row.date_modified)
                if modified is None or modified != open_before[order_id]:
                    yield _change(order_id, row, raw, read_at)
            for gone in batch:
                if gone not in found:
                    yield OrderChange(id=gone, updated_at=None, number=gone)  # deleted: let the engine see it
        cursor: CursorState = {
            "v": int(self.options["cursor_version"]),
            "created_high": new_high.astimezone(UTC).isoformat() if new_high else None,
            "open": open_now,
        }
        return cursor

    def get_order(self, order_id: str) -> dict[str, Any]:
        """``GET /api/v2/orders/{id}`` (the detail includes ``line_items``)."""
        data = self._json("GET", f"{ORDERS}/{order_id}")
        if not isinstance(data, dict):
            raise Transient(f"order {order_id}: answer is not an object", platform=PLATFORM)
        return data

    def hydrate(self, snapshot: dict[str, Any]) -> dict[str, Any]:
        """What :meth:`get_order` answers, from a list row read with ``include=line_items``: the row itself.

        MerchantPro has no order sub-resources (one AWB slot on the order, lines side-loaded), so a row
        holding every field in :data:`ROW_FIELDS` costs no call. A row lacking one (a shop whose list
        leaves that field out) is read whole with one ``GET``; a row without an ``id`` is an
        :class:`InvalidPayload` naming ``id``.
        """
        order_id = id_text(snapshot.get("id")) if isinstance(snapshot, dict) else None
        if order_id is None:
            raise InvalidPayload("MerchantPro order row", [("id", "missing: the list row has no order id")])
        if not holds_order(snapshot):
            return self.get_order(order_id)
        return dict(snapshot)

    def get_orders(self, order_ids: Sequence[str]) -> Iterator[tuple[str, dict[str, Any] | Exception]]:
        """Many order details, a few at a time (MerchantPro's budget is 4 req/s)."""
        return fan_out(self.get_order, order_ids, workers=int(self.options["workers"]))

    def find_by_reference(self, ref: OrderReference) -> str | None:
        """The order tagged with ``ref.key`` (``tag_name=`` filter, exact name checked), or ``None``."""
        for row in self._page({"tag_name": ref.key, "fields": "id,tags,date_created"}):
            if any(tag.name == ref.key for tag in row.tags or ()):
                return _rid(row)
        return None

    def iter_references(self, since: CursorState | None) -> ChangeFeed:
        """Orders tagged with our reference, created since ``since`` (all when ``None``), 100 a call.

        Our tag is written with the order (``POST`` body), so new orders are all there is to read:
        ``created_after`` the newest creation seen (less five minutes; its date when the store compares dates).
        """
        return ChangeFeed(only_referenced(self._reference_feed(since)), since)

    def _reference_feed(self, since: CursorState | None) -> Generator[OrderChange, None, CursorState]:
        high = (since or {}).get("created_high")
        params: dict[str, Any] = {"sort": "date_created", "fields": "id,tags,date_created,date_modified"}
        newest: datetime | None = None
        if isinstance(high, str):
            try:
                newest = datetime.fromisoformat(high)
            except ValueError:
                raise InvalidPayload("MerchantPro reference cursor",
                                     [("created_high", f"{high!r} is not a timestamp")]) from None
            floor = newest - timedelta(seconds=300)
            date_only = self.options["created_after_precision"] == "date"
            params["created_after"] = floor.date().isoformat() if date_only else floor.isoformat()
        for row in self._page(params):
            created = _utc(row.date_created)
            if created is not None and (newest is None or created > newest):
                newest = created
            yield OrderChange(id=_rid(row), number=_rid(row), updated_at=_utc(row.date_modified),
                              reference=reference_in(tag.name for tag in row.tags or ()))
        return {"created_high": newest.astimezone(UTC).isoformat() if newest else None}

    # -- writes ---------------------------------------------------------------------------------
    def create_order(self, payload: Any, ref: OrderReference, *,
                     on_progress: ProgressCallback | None = None) -> CreatedOrder:
        """``POST /api/v2/orders`` with our tag. Never retried blindly: a lost answer is looked up once
        by reference; found → adopted, not found → :class:`OutcomeUnknown` for the engine."""
        if not isinstance(payload, MerchantProOrderCreate):
            raise TypeError("create_order takes a MerchantProOrderCreate")
        tags = list(payload.tags or [])
        if not any(tag.name == ref.key for tag in tags):
            tags.append(MerchantProTagWrite(name=ref.key))
        body = payload.body()
        body["tags"] = [tag.body() for tag in tags]
        try:
            data = self._json("POST", ORDERS, json=body)
        except OutcomeUnknown:
            found = self.find_by_reference(ref)
            if found is None:
                raise
            return CreatedOrder(id=found, number=found, raw={}, adopted=True)
        if not isinstance(data, dict) or data.get("id") is None:
            raise OutcomeUnknown("create answered without an order id", platform=PLATFORM)
        order_id = str(data["id"])
        return CreatedOrder(id=order_id, number=order_id, raw=data)

    def update_order(self, order_id: str, payload: MerchantProOrderUpdate) -> None:
        """``PATCH /api/v2/orders/{id}`` with a partial update (setting values: safe to retry)."""
        self._json("PATCH", f"{ORDERS}/{order_id}", json=payload.body(), idempotent=True)

    def _transition(self, order_id: str, handler: str) -> None:
        self._json("PATCH", f"{ORDERS}/{order_id}/{handler}")

    def set_status(self, order_id: str, payload: Any) -> None:
        """Apply a :class:`MerchantProStatusUpdate`: payment PATCH, then the shipping handler."""
        if not isinstance(payload, MerchantProStatusUpdate):
            raise TypeError("set_status takes a MerchantProStatusUpdate")
        if payload.payment_status:
            self._json("PATCH", f"{ORDERS}/{order_id}", json={"payment_status": payload.payment_status},
                       idempotent=True)
        if payload.transition:
            self._transition(order_id, payload.transition)

    def create_shipment(self, order_id: str, payload: Any) -> str:
        """Record the AWB/carrier on the order, then run ``shipped``; returns ``awb:<awb>``."""
        if not isinstance(payload, MerchantProShipment):
            raise TypeError("create_shipment takes a MerchantProShipment")
        body = {"shipping_awb": payload.shipping_awb}
        if payload.shipping_carrier_id:
            body["shipping_carrier_id"] = payload.shipping_carrier_id
        self._json("PATCH", f"{ORDERS}/{order_id}", json=body, idempotent=True)
        if payload.transition:
            self._transition(order_id, payload.transition)
        return f"awb:{payload.shipping_awb}"

    def update_shipment(self, order_id: str, shipment_id: str, payload: Any) -> None:
        """Change the order's AWB/carrier (MerchantPro has one shipment slot per order)."""
        if not isinstance(payload, MerchantProShipmentUpdate):
            raise TypeError("update_shipment takes a MerchantProShipmentUpdate")
        body = payload.body()
        if body:
            self._json("PATCH", f"{ORDERS}/{order_id}", json=body, idempotent=True)

    def cancel_order(self, order_id: str, payload: Any = None) -> None:
        """Cancel once: read the order first; already cancelled → nothing is sent."""
        if payload is not None and not isinstance(payload, MerchantProCancel):
            raise TypeError("cancel_order takes a MerchantProCancel or None")
        current = self._json("GET", f"{ORDERS}/{order_id}", params={"fields": "id,payment_status,shipping_status"})
        row = _row(current)
        if row.get("shipping_status") != "cancelled":
            self._transition(order_id, "cancelled")
        wanted = payload.payment_status if payload is not None else None
        if wanted and not ({wanted, row.get("payment_status")} <= {"canceled", "cancelled"}) \
                and row.get("payment_status") != wanted:
            self._json("PATCH", f"{ORDERS}/{order_id}", json={"payment_status": wanted}, idempotent=True)

    def delete_order(self, order_id: str) -> None:
        """``DELETE /api/v2/orders/{id}``; a 404 means it is already gone."""
        self._call("DELETE", f"{ORDERS}/{order_id}", allow_statuses=(404,))

    def resolve_sku(self, sku: str) -> ProductRef:
        """The product or variant with this SKU: ``GET /api/v2/products?sku=<sku>&include=variants``.

        MerchantPro variants carry their own SKUs; a variant match wins over a product match. Cached.
        """
        with self._sku_lock:
            cached = self._skus.get(sku)
        if cached is not None:
            return cached
        data = self._json("GET", PRODUCTS, params={"sku": sku, "include": "variants", "limit": PAGE})
        try:
            products = parse_lenient(MerchantProProductList, data, what="MerchantPro product list")
        except InvalidPayload as error:
            raise Transient(str(error), platform=PLATFORM) from None
        found: ProductRef | None = None
        for product in products.data:
            for variant in product.variants or ():
                if variant.sku == sku:
                    options = {str(o.id): o.value or "" for o in variant.variant_options or () if o.id}
                    found = ProductRef(sku=sku, product_id=str(product.id), variant_id=str(variant.id),
                                       name=product.name,
                                       price=variant.price_gross, options=options, stock=_stock(variant.stock))
                    break
            if found is None and product.sku == sku:
                found = ProductRef(sku=sku, product_id=str(product.id), name=product.name, price=product.price_gross,
                                   stock=_stock(product.stock))
            if found is not None:
                break
        if found is None:
            raise UnknownSku(sku, platform=PLATFORM)
        with self._sku_lock:
            self._skus[sku] = found
        return found

    def close(self) -> None:
        """Release pooled connections."""
        self.http.close()

    def __enter__(self) -> MerchantProConnector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def holds_order(row: dict[str, Any]) -> bool:
    """Whether a list row carries the whole order: its lines and every field in :data:`ROW_FIELDS`."""
    return isinstance(row.get("line_items"), list) and row.keys() >= ROW_FIELDS


def _change(order_id: str, row: MerchantProOrder, raw: dict[str, Any], read_at: datetime) -> OrderChange:
    """A feed change; the raw row rides along as ``snapshot`` when it holds the whole order."""
    whole = holds_order(raw)
    return OrderChange(id=order_id, updated_at=_utc(row.date_modified), number=order_id,
                       snapshot=raw if whole else None, read_at=read_at if whole else None)


def _rid(row: MerchantProOrder) -> str:
    order_id = id_text(row.id)
    if order_id is None:
        raise Transient("an order row has no id", platform=PLATFORM)
    return order_id


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _stamp(value: datetime | None) -> str | None:
    """``date_modified`` as stored in the cursor (UTC ISO 8601)."""
    utc = _utc(value)
    return utc.isoformat() if utc is not None else None


def _row(data: Any) -> dict[str, Any]:
    if isinstance(data, dict) and isinstance(data.get("data"), list):
        rows = data["data"]
        return rows[0] if rows and isinstance(rows[0], dict) else {}
    return data if isinstance(data, dict) else {}


def _stock(value: Any) -> int | None:
    """MerchantPro stock ``"-1.000"`` (negative = not tracked) → ``None``; else whole units."""
    if value is None or value < 0:
        return None
    return int(value)


def open_connector(settings: ConnectionSettings, *, transport: httpx.BaseTransport | None = None,
                   limiter: RateLimiter | None = None) -> MerchantProConnector:
    """A connector for one MerchantPro shop (``transport`` is the test seam, ``limiter`` the shared budget)."""
    return MerchantProConnector(settings, transport=transport, limiter=limiter)

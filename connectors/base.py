"""The connector contract: what every platform connector offers, and the values it trades in.

A connector is ordersync's hands on one store (OCA's *backend adapter*): it reads orders and
writes changes through the platform's real API, and nothing else. The mapping layer decides *what*
to write; the sync engine decides *when*. Every platform implements :class:`Connector`.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, SecretStr

__all__ = [
    "PLATFORMS",
    "Capabilities",
    "ChangeFeed",
    "ConnectionSettings",
    "Connector",
    "CreatedOrder",
    "CursorState",
    "OrderChange",
    "OrderReference",
    "Platform",
    "ProductRef",
    "ProgressCallback",
    "ReferenceLister",
    "SkuBatchResolver",
    "WebhookEvent",
    "merge_options",
    "only_referenced",
    "reference_in",
]

Platform = Literal["bigcommerce", "merchantpro", "cscart", "evershop"]
"""The platforms ordersync speaks."""

PLATFORMS: tuple[Platform, ...] = ("bigcommerce", "merchantpro", "cscart", "evershop")

CursorState = dict[str, Any]
"""A connector's incremental-read position, opaque to the engine and stored as JSON."""

ProgressCallback = Callable[[dict[str, Any]], None]
"""Called by a multi-step write with facts to persist before its point of no return (e.g. a cart id)."""


class ConnectionSettings(BaseModel):
    """How to reach one store: platform, base URL, credentials and platform options.

    ``credentials`` values are secrets and never appear in logs, errors or ``repr``. Their keys are
    per platform: ``token`` (BigCommerce ``X-Auth-Token``), ``api_key``/``api_secret``
    (MerchantPro), ``email``/``api_key`` (CS-Cart), ``email``/``password`` (EverShop admin).
    ``options`` holds platform knobs, e.g. CS-Cart ``company_id`` or EverShop ``metafield_namespace``.
    """

    model_config = ConfigDict(frozen=True)

    store: str = Field(description="The store's name in ordersync.toml, used in logs and keys.")
    platform: Platform
    base_url: str = Field(description="Root of the platform API, e.g. https://shop.example/api/v2.")
    credentials: dict[str, SecretStr] = Field(default_factory=dict)
    options: dict[str, Any] = Field(default_factory=dict)
    timeout: float = Field(default=30.0, gt=0, description="Seconds before a request times out.")

    def secret(self, name: str) -> str:
        """The plain value of credential ``name``; raises ``KeyError`` naming the missing key."""
        try:
            return self.credentials[name].get_secret_value()
        except KeyError:
            raise KeyError(f"store {self.store!r} ({self.platform}) needs credential {name!r}") from None


class Capabilities(BaseModel):
    """What a platform can and cannot do, so the engine plans only possible writes and says why.

    The same description feeds the mapping layer's warnings ("EverShop reprices from its catalog").
    """

    model_config = ConfigDict(frozen=True)

    platform: Platform
    delete: Literal["delete", "archive", "cancel_only"] = Field(
        description="What deleting an order means here: real delete, archive, or only cancel."
    )
    sets_line_prices: bool = Field(description="A created order keeps the prices we send.")
    reprices_from_catalog: bool = Field(description="The platform recomputes prices from its own catalog.")
    total_correction: bool = Field(description="Totals can be forced after create (CS-Cart PUT total).")
    sets_status_directly: bool = Field(description="The order status can be written as a value.")
    creates_via_cart: bool = Field(description="Orders are created through a cart/checkout flow.")
    custom_line_items: bool = Field(description="Lines without a catalog product can be created.")
    shipments: Literal["resource", "order_fields"] = Field(
        description="Shipments are their own resource, or only tracking fields on the order."
    )
    partial_shipments: bool
    multiple_shipping_addresses: bool
    cancel_idempotent: bool = Field(description="Cancelling twice is harmless.")
    webhooks: Literal["native", "bridge", "none"]
    modified_since_filter: bool = Field(description="The order list can be filtered by modification time.")
    modified_stamp_moves: bool = Field(
        description="The order's modification stamp (as the list serves it) moves on every change, so a sweep can "
                    "tell a changed order from its list row; where it never moves (EverShop) the sweep compares a "
                    "hash of the synced projection instead."
    )
    reference_field: str = Field(description="Where ordersync stamps its reference on created orders.")
    rate_limit: str = Field(description="The platform's documented request budget.")
    cannot_carry: tuple[str, ...] = Field(
        default=(), description="Neutral fields this platform cannot store when we create an order."
    )
    notes: tuple[str, ...] = ()


class OrderReference(BaseModel):
    """Our reference on an order we create, and the hints that help find it again after a crash.

    ``key`` is stamped on the created order (BigCommerce ``external_order_id``, a MerchantPro tag,
    CS-Cart admin notes, an EverShop metafield). ``email`` and ``placed_after`` narrow the search on
    platforms that cannot filter by our field; ``cart_id`` is the EverShop cart we checked out.
    """

    model_config = ConfigDict(frozen=True)

    key: str
    email: str | None = None
    placed_after: datetime | None = None
    cart_id: str | None = None

    @staticmethod
    def for_source(source_store: str, source_id: str) -> str:
        """The reference key for a source order: ``ordersync:<store>:<id>``."""
        return f"ordersync:{source_store}:{source_id}"


class ProductRef(BaseModel):
    """A target catalog product (and variant) found by SKU."""

    model_config = ConfigDict(frozen=True)

    sku: str
    product_id: str
    variant_id: str | None = None
    name: str | None = None
    price: Decimal | None = None
    options: dict[str, str] = Field(
        default_factory=dict, description="Option id → value id that select this variant."
    )
    stock: int | None = None


class OrderChange(BaseModel):
    """One order the change feed saw: its id and, when the platform tells, when it changed.

    Where the list page carries the whole order (BigCommerce with ``include``, MerchantPro, EverShop's
    GraphQL page), ``snapshot`` is that list row as served and ``read_at`` when it was read:
    :meth:`Connector.hydrate` turns it into the bundle :meth:`Connector.get_order` would return,
    fetching only the sub-resources the row says exist, so a fresh change costs no per-order read.
    """

    model_config = ConfigDict(frozen=True)

    id: str
    updated_at: datetime | None = None
    number: str | None = None
    reference: str | None = Field(default=None, description="Our reference on this order, when the list carries it.")
    snapshot: dict[str, Any] | None = Field(default=None, description="The list row, when it holds the order.")
    read_at: datetime | None = Field(default=None, description="When that list page was read (UTC).")


class WebhookEvent(BaseModel):
    """One verified incoming webhook, reduced to what the engine needs.

    ``event_key`` deduplicates redeliveries (BigCommerce ``hash``, our bridge's event id, a hash of
    the raw body otherwise). ``order_id`` is the order to reconcile (``None`` when the event is not
    about an order). Payloads are "light": the engine always re-reads the order.
    """

    model_config = ConfigDict(frozen=True)

    event_key: str
    topic: str
    order_id: str | None = None
    occurred_at: datetime | None = None


class CreatedOrder(BaseModel):
    """The result of a create: the target id used in API paths, the visible number, the raw body."""

    id: str
    number: str | None = None
    raw: dict[str, Any] = Field(default_factory=dict)
    adopted: bool = Field(default=False, description="Found by reference instead of created now.")


class ChangeFeed(Iterable[OrderChange]):
    """The orders changed since a cursor, as an iterable; ``cursor`` is final once it is exhausted.

    Connectors build it from a generator that returns the new cursor, so the engine can store the
    cursor only after every change was handled (never skipping an order changed during the read).
    """

    def __init__(self, generator: Generator[OrderChange, None, CursorState | None], start: CursorState | None) -> None:
        self._generator = generator
        self._cursor: CursorState | None = start
        self._done = False

    def __iter__(self) -> Iterator[OrderChange]:
        self._cursor = yield from self._generator
        self._done = True

    @property
    def cursor(self) -> CursorState | None:
        """The cursor to store after every yielded change was handled; ``None`` until exhausted."""
        if not self._done:
            raise RuntimeError("the change feed was not read to the end; its cursor is not final")
        return self._cursor


@runtime_checkable
class Connector(Protocol):
    """Every operation ordersync needs from a store. Implemented per platform in ``client.py``.

    Write methods take that platform's write wire model (built by the mapping layer). Methods raise
    only :mod:`connectors.errors` exceptions.
    """

    platform: Platform
    settings: ConnectionSettings
    capabilities: Capabilities

    def iter_orders(self, since: CursorState | None, *, lookback_seconds: float = 300.0) -> ChangeFeed:
        """Orders changed since ``since`` (all orders when ``None``), with an overlap window."""
        ...

    def get_order(self, order_id: str) -> dict[str, Any]:
        """The full bundle the mapping needs for one order (sub-resources included)."""
        ...

    def get_orders(self, order_ids: Sequence[str]) -> Iterator[tuple[str, dict[str, Any] | Exception]]:
        """Bundles for many orders, fetched concurrently within the rate limit."""
        ...

    def hydrate(self, snapshot: dict[str, Any]) -> dict[str, Any]:
        """The bundle :meth:`get_order` would return, built from a change's ``snapshot`` (a list row).

        Only the sub-resources the row says exist are fetched (shipments when something shipped,
        coupons when there is a coupon discount, all products past the list's line cap); an order
        whose row holds everything costs no call.
        """
        ...

    def find_by_reference(self, ref: OrderReference) -> str | None:
        """The id of an order we created earlier with this reference, or ``None``."""
        ...

    def create_order(
        self, payload: Any, ref: OrderReference, *, on_progress: ProgressCallback | None = None
    ) -> CreatedOrder:
        """Create an order from the platform's create model, stamped with ``ref``."""
        ...

    def set_status(self, order_id: str, payload: Any) -> None:
        """Bring the order to the status described by the platform's status model."""
        ...

    def create_shipment(self, order_id: str, payload: Any) -> str:
        """Create a shipment; returns the platform's shipment id."""
        ...

    def update_shipment(self, order_id: str, shipment_id: str, payload: Any) -> None:
        """Change a shipment's tracking (number, carrier, link)."""
        ...

    def cancel_order(self, order_id: str, payload: Any = None) -> None:
        """Cancel the order, safely: a second call must not cancel (or restock) twice."""
        ...

    def delete_order(self, order_id: str) -> None:
        """Delete, archive or cancel the order, as :attr:`capabilities.delete` says."""
        ...

    def resolve_sku(self, sku: str) -> ProductRef:
        """The target product for a SKU (cached); raises :class:`~connectors.errors.UnknownSku`."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


@runtime_checkable
class ReferenceLister(Protocol):
    """A connector whose order list pages carry our reference, so a whole store's references can be
    read a page at a time (the reference index in ``sync/adoption.py``) instead of one lookup per order."""

    def iter_references(self, since: CursorState | None) -> ChangeFeed:
        """Orders carrying an ordersync reference created or changed since ``since`` (all when ``None``).

        Each change has ``reference`` set; the feed's cursor continues the read next time.
        """
        ...


@runtime_checkable
class SkuBatchResolver(Protocol):
    """A connector that resolves many SKUs in one call (BigCommerce ``sku:in``), so the runtime can look up
    every SKU of an order (or of a list page) at once; :meth:`Connector.resolve_sku` then answers from
    the connector's cache. Optional: detect it with ``isinstance(connector, SkuBatchResolver)``."""

    def resolve_skus(self, skus: Iterable[str]) -> dict[str, ProductRef]:
        """The target products of the SKUs found (unknown SKUs are left out; ``resolve_sku`` raises for
        them); every answer is cached for the run."""
        ...


REFERENCE_PREFIX = "ordersync:"


def reference_in(values: Iterable[str | None]) -> str | None:
    """The first value that is an ordersync reference (``ordersync:<store>:<id>``), else ``None``."""
    for value in values:
        if value and value.strip().startswith(REFERENCE_PREFIX):
            return value.strip()
    return None


def only_referenced(changes: Generator[OrderChange, None, CursorState | None]
                    ) -> Generator[OrderChange, None, CursorState | None]:
    """The changes of a feed that carry our reference; returns the feed's cursor unchanged."""
    while True:
        try:
            change = next(changes)
        except StopIteration as stop:
            cursor: CursorState | None = stop.value
            return cursor
        if change.reference:
            yield change


def merge_options(defaults: Mapping[str, Any], options: Mapping[str, Any]) -> dict[str, Any]:
    """Platform option defaults overlaid with a store's configured options."""
    merged = dict(defaults)
    merged.update(options)
    return merged

"""The mapping contract: one class per platform converts its orders to neutral and back.

``to_neutral`` reads what the platform's API returns for one order. The ``*_payload`` methods
build the platform's *write* wire models (defined in ``connectors/<platform>/wire.py``) for each
operation the sync engine plans: create, status, shipment create and update, cancel. What a
target cannot carry is said in ``TargetContext.warnings`` and in the platform's capabilities.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar, Protocol, runtime_checkable

from connectors.base import Capabilities, OrderReference, ProductRef
from connectors.errors import InvalidPayload, Rejected
from connectors.wire import WriteModel
from mappings.money import within_precision
from mappings.neutral import NeutralOrder, Shipment
from mappings.status import StatusTable

__all__ = [
    "Call",
    "PlatformMapping",
    "TargetContext",
    "refuse_negative",
    "refuse_negative_lines",
    "split_name",
    "totals_warning",
    "unmapped",
]


@dataclass
class TargetContext:
    """Everything a ``*_payload`` method may need besides the neutral order.

    - ``reference``: our reference to stamp on a created order.
    - ``statuses``: the target store's status table (defaults plus overrides).
    - ``catalog``: SKU → target product; raises ``UnknownSku``. ``None`` when offline
      (``ordersync translate``): payloads then carry SKUs and a warning says ids are resolved at sync.
    - ``catalog_batch``: looks many SKUs up at once and caches them for ``catalog`` (BigCommerce
      ``sku:in``); ``None`` when the target has no batch look-up. Called through :meth:`prefetch`.
    - ``options``: the store's write defaults (CS-Cart ``payment_id``/``shipping_id``, EverShop
      shipping method, carrier names, ``notify_customer``).
    - ``current``: the target order as it is now, mapped to neutral (for status and shipment diffs:
      its lines carry the *target's* line ids).
    - ``warnings``: filled by the payload methods with what the target cannot carry.
    """

    store: str | None = None
    reference: OrderReference | None = None
    statuses: StatusTable | None = None
    catalog: Callable[[str], ProductRef] | None = None
    catalog_batch: Callable[[list[str]], object] | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    current: NeutralOrder | None = None
    warnings: list[str] = field(default_factory=list)

    def resolve(self, sku: str | None) -> ProductRef | None:
        """The target product for a SKU, or ``None`` offline / without a SKU."""
        if self.catalog is None or not sku:
            return None
        return self.catalog(sku)

    def prefetch(self, skus: Iterable[str | None]) -> None:
        """Look every SKU of an order up in one call where the target can, before :meth:`resolve` asks
        one by one (a no-op offline or without ``catalog_batch``)."""
        wanted = list(dict.fromkeys(sku for sku in skus if sku))
        if self.catalog is not None and self.catalog_batch is not None and len(wanted) > 1:
            self.catalog_batch(wanted)

    def warn(self, message: str) -> None:
        """Record something the target cannot carry (once)."""
        if message not in self.warnings:
            self.warnings.append(message)


@dataclass(frozen=True)
class Call:
    """One HTTP call of a write, for ``ordersync translate --plan`` and logs.

    Paths may hold placeholders resolved at sync time: ``{order_id}``, ``{cart_id}``, ``{shipment_id}``.
    """

    method: str
    path: str
    body: Any = None
    purpose: str = ""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        out: dict[str, Any] = {"method": self.method, "path": self.path}
        if self.body is not None:
            out["body"] = self.body
        if self.purpose:
            out["purpose"] = self.purpose
        return out


@runtime_checkable
class PlatformMapping(Protocol):
    """Converts one platform's orders to the neutral order and back."""

    platform: ClassVar[str]
    capabilities: ClassVar[Capabilities]
    statuses: ClassVar[StatusTable]

    def to_neutral(
        self, payload: Any, *, store: str | None = None, statuses: StatusTable | None = None
    ) -> NeutralOrder:
        """Read the platform's order (see the issue's input shapes) into a neutral order.

        Raises only :class:`connectors.errors.InvalidPayload`, naming the field path.
        """
        ...

    def create_payload(self, order: NeutralOrder, ctx: TargetContext) -> WriteModel:
        """The platform's create model for ``order`` (stamped with ``ctx.reference``)."""
        ...

    def status_payload(self, order: NeutralOrder, ctx: TargetContext) -> WriteModel | None:
        """The write that brings ``ctx.current`` to ``order``'s statuses, or ``None`` if equal."""
        ...

    def shipment_payload(self, shipment: Shipment, order: NeutralOrder, ctx: TargetContext) -> WriteModel:
        """The platform's shipment create model for a source shipment, using target line ids."""
        ...

    def shipment_update_payload(self, shipment: Shipment, ctx: TargetContext) -> WriteModel | None:
        """The tracking update for an existing target shipment, or ``None`` if nothing differs."""
        ...

    def cancel_payload(self, order: NeutralOrder, ctx: TargetContext) -> WriteModel | None:
        """The cancel write (``None`` when the platform's cancel takes no body)."""
        ...

    def render(self, order: NeutralOrder) -> dict[str, Any]:
        """``order`` as this platform's API would return it (the ``to_neutral`` input shape)."""
        ...

    def calls(self, payload: WriteModel) -> list[Call]:
        """The HTTP calls a write model becomes, in order."""
        ...


def unmapped(raw: Mapping[str, Any], mapped: frozenset[str] | set[str]) -> dict[str, Any]:
    """The fields of ``raw`` that the mapping did not place anywhere, verbatim."""
    return {key: value for key, value in raw.items() if key not in mapped}


def split_name(full: str | None) -> tuple[str | None, str | None]:
    """Split a whole name predictably: the last word is the last name, the rest the first name.

    ``"John Smith"`` → ``("John", "Smith")``; ``"Jean Claude Van Damme"`` → ``("Jean Claude Van",
    "Damme")``; ``"Cher"`` → ``("Cher", None)``. Blank → ``(None, None)``.
    """
    if not full or not full.strip():
        return None, None
    parts = full.split()
    if len(parts) == 1:
        return parts[0], None
    return " ".join(parts[:-1]), parts[-1]


def join_name(first: str | None, last: str | None, fallback: str | None = None) -> str | None:
    """The inverse of :func:`split_name`; ``fallback`` (an original full name) wins when given."""
    if fallback:
        return fallback
    joined = " ".join(part for part in (first, last) if part)
    return joined or None


def totals_warning(
    declared: Decimal | None, parts: Iterable[Decimal | None], currency: str, what: str = "grand_total"
) -> str | None:
    """A warning when ``declared`` differs from the sum of ``parts`` by more than one minor unit."""
    if declared is None:
        return None
    computed = sum((part for part in parts if part is not None), Decimal(0))
    if within_precision(declared, computed, currency):
        return None
    return f"totals: declared {what} {declared} differs from the computed {computed} ({currency})"


def refuse_negative(what: str, values: Iterable[tuple[str, Decimal | int | None]]) -> None:
    """Raise :class:`InvalidPayload` naming the first ``(field path, value)`` that is below zero.

    A negative quantity or unit price is no order line any platform can carry; reading it as one
    would write ``quantity: -3`` into a target order.
    """
    for path, value in values:
        if value is not None and value < 0:
            raise InvalidPayload(what, [(path, f"{value} is negative")])


def refuse_negative_lines(order: NeutralOrder, platform: str) -> None:
    """Raise :class:`Rejected` naming the first line with a negative quantity or unit price, before any
    target payload is built from ``order`` (a neutral order may come from a file or a custom mapping)."""
    for index, line in enumerate(order.lines):
        for name, value in (("quantity", line.quantity), ("unit_price", line.unit_price),
                            ("unit_price_incl_tax", line.unit_price_incl_tax)):
            if value is not None and value < 0:
                field = f"lines[{index}].{name}"
                raise Rejected(f"{field}: {value} is negative; a {platform} order line cannot carry it",
                               platform=platform, field_errors={field: f"{value} is negative"})

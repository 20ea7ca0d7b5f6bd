"""One error taxonomy for every platform.

Each connector turns its platform's failure answers into one of these classes, so the sync engine
decides what to do from the class alone (after the Singer SDK's fatal / retriable / skippable split)::

    OrderSyncError
    ├── InvalidPayload          input JSON that does not match the platform's wire model (skippable)
    └── ConnectorError          a platform call failed
        ├── RateLimited         429 or quota exhausted; retry after ``retry_after`` (retriable)
        ├── Transient           5xx, connection or timeout trouble (retriable)
        │   └── OutcomeUnknown  a non-idempotent write whose result was lost; reconcile before retrying
        ├── NotFound            the resource does not exist (skippable)
        ├── Conflict            the write clashes with the resource's state (skippable)
        ├── AuthFailed          credentials refused or locked out (fatal: configuration)
        └── Rejected            the platform refused the data, with field errors (skippable)
            └── UnknownSku      a SKU the target catalog does not know (skippable, parks the order)

Messages never contain credentials: connectors build them from the parsed error body only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar, Literal

__all__ = [
    "AuthFailed",
    "Conflict",
    "ConnectorError",
    "Disposition",
    "InvalidPayload",
    "NotFound",
    "OrderSyncError",
    "OutcomeUnknown",
    "RateLimited",
    "Rejected",
    "Transient",
    "UnknownSku",
    "Unreachable",
]

Disposition = Literal["retriable", "fatal", "skippable"]
"""What the engine should do: retry later, stop the route, or park this one order and go on."""


class OrderSyncError(Exception):
    """Base of every error ordersync raises on purpose; anything else is a bug."""

    disposition: ClassVar[Disposition] = "fatal"


class InvalidPayload(OrderSyncError, ValueError):
    """A platform payload (API response, webhook, file) does not match what the platform sends.

    ``problems`` lists ``(field path, reason)`` pairs; ``str()`` gives one line naming the first
    field, so the CLI can print it as is.
    """

    disposition: ClassVar[Disposition] = "skippable"

    def __init__(self, what: str, problems: Sequence[tuple[str, str]]) -> None:
        self.what = what
        self.problems: list[tuple[str, str]] = list(problems) or [("", "invalid")]
        path, reason = self.problems[0]
        more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        where = f"{path}: " if path else ""
        super().__init__(f"invalid {what}: {where}{reason}{more}")

    @property
    def field(self) -> str:
        """The path of the first offending field, e.g. ``products[0].quantity``."""
        return self.problems[0][0]


class ConnectorError(OrderSyncError):
    """A call to a platform failed. ``platform`` and ``status`` say where; the message says why."""

    disposition: ClassVar[Disposition] = "fatal"

    def __init__(self, message: str, *, platform: str = "", status: int | None = None) -> None:
        self.platform = platform
        self.status = status
        prefix = f"{platform}: " if platform else ""
        code = f" (HTTP {status})" if status is not None else ""
        super().__init__(f"{prefix}{message}{code}")
        self.message = message


class RateLimited(ConnectorError):
    """The platform (or our shared bucket) says: not now. Retry after ``retry_after`` seconds.

    Retrying a rate-limited call does not count against an operation's retry budget.
    """

    disposition: ClassVar[Disposition] = "retriable"

    def __init__(
        self, message: str = "rate limited", *, retry_after: float, platform: str = "", status: int | None = None
    ) -> None:
        super().__init__(message, platform=platform, status=status)
        self.retry_after = max(0.0, float(retry_after))


class Transient(ConnectorError):
    """A failure that may pass: 5xx, refused or dropped connections, timeouts."""

    disposition: ClassVar[Disposition] = "retriable"


class Unreachable(Transient):
    """The store's server could not be reached at all (connection refused, DNS failure, connect timeout).

    Retriable for workers (the store may come back); a one-shot ``ordersync sync`` stops that
    store's work at once instead of retrying order by order. ``store`` and ``url`` say which.
    """

    def __init__(self, message: str, *, platform: str = "", store: str = "", url: str = "") -> None:
        super().__init__(message, platform=platform)
        self.store = store
        self.url = url


class OutcomeUnknown(Transient):
    """A non-idempotent write was sent but its answer was lost (timeout, 5xx, reset).

    The write may or may not have been applied. The engine must look the result up on the target
    (by our reference, by tracking number, by state) before it tries again.
    """


class NotFound(ConnectorError):
    """The order, shipment or product does not exist on the platform."""

    disposition: ClassVar[Disposition] = "skippable"


class Conflict(ConnectorError):
    """The write clashes with the resource's current state (e.g. cancelling a paid EverShop order)."""

    disposition: ClassVar[Disposition] = "skippable"


class AuthFailed(ConnectorError):
    """Credentials were refused (401), or the account is locked out after repeated failures (403).

    ``locked_out`` is set when the platform locks the credential for a while (MerchantPro); callers
    must back off instead of trying again at once.
    """

    disposition: ClassVar[Disposition] = "fatal"

    def __init__(
        self, message: str, *, platform: str = "", status: int | None = None, locked_out: bool = False
    ) -> None:
        super().__init__(message, platform=platform, status=status)
        self.locked_out = locked_out


class Rejected(ConnectorError):
    """The platform refused the data. ``field_errors`` maps a field (or ``""``) to its reason."""

    disposition: ClassVar[Disposition] = "skippable"

    def __init__(
        self,
        message: str,
        *,
        platform: str = "",
        status: int | None = None,
        field_errors: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message, platform=platform, status=status)
        self.field_errors: dict[str, str] = dict(field_errors or {})


class UnknownSku(Rejected):
    """The target catalog has no product or variant with this SKU."""

    def __init__(self, sku: str, *, platform: str = "") -> None:
        super().__init__(
            f"unknown SKU {sku!r}: no product or variant with this SKU in the target catalog",
            platform=platform,
            field_errors={"sku": sku},
        )
        self.sku = sku

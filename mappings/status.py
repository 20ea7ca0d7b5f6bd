"""Two-way status tables between a platform's status codes and the neutral three statuses.

A platform can have several status *axes*: BigCommerce has ``order`` (``status_id``) and
``payment`` (``payment_status``); MerchantPro ``payment`` and ``shipping``; EverShop ``order``,
``payment`` and ``shipment``; CS-Cart only ``order`` (its letters). Each axis has:

- an **inbound** table, code → a (partial) neutral triple ``status/payment_status/fulfillment_status``;
- an **outbound** list of rules, pattern → code, first match wins.

Triples and patterns are written as ``"status/payment/fulfillment"``; a part may be ``*`` or left
off (``"cancelled"``, ``"processing/paid"``, ``"*/refunded"``). A store overrides any of it with
a plain dict, e.g. from ``ordersync.toml``::

    [stores.shop.status_map.inbound.order]
    "Z" = "on_hold/paid"          # a custom CS-Cart letter
    [stores.shop.status_map.outbound.order]
    "processing/unpaid" = "Y"     # rules from overrides are tried before the defaults
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, get_args

from mappings.neutral import FulfillmentStatus, OrderStatus, PaymentStatus

__all__ = ["StatusError", "StatusRule", "StatusTable", "Triple", "parse_triple"]

_STATUS = frozenset(get_args(OrderStatus))
_PAYMENT = frozenset(get_args(PaymentStatus))
_FULFILLMENT = frozenset(get_args(FulfillmentStatus))


class StatusError(ValueError):
    """A status map (default or override) is malformed; the message names the entry."""


@dataclass(frozen=True)
class Triple:
    """A neutral (status, payment_status, fulfillment_status) triple; ``None`` = not said / any."""

    status: str | None = None
    payment_status: str | None = None
    fulfillment_status: str | None = None

    def merged_over(self, base: Triple) -> Triple:
        """This triple's set parts over ``base``."""
        return Triple(
            self.status or base.status,
            self.payment_status or base.payment_status,
            self.fulfillment_status or base.fulfillment_status,
        )

    def matches(self, status: str, payment: str, fulfillment: str) -> bool:
        """Whether a concrete triple fits this pattern (``None`` parts match anything)."""
        return (
            (self.status is None or self.status == status)
            and (self.payment_status is None or self.payment_status == payment)
            and (self.fulfillment_status is None or self.fulfillment_status == fulfillment)
        )

    def specificity(self) -> int:
        """How many parts are fixed; used to order override rules."""
        return sum(part is not None for part in (self.status, self.payment_status, self.fulfillment_status))

    def __str__(self) -> str:
        return "/".join(part or "*" for part in (self.status, self.payment_status, self.fulfillment_status))


def parse_triple(value: Any, where: str) -> Triple:
    """Read ``"status/payment/fulfillment"`` or ``{status=..., payment_status=...}`` into a Triple."""
    if isinstance(value, Triple):
        return value
    if isinstance(value, Mapping):
        unknown = set(value) - {"status", "payment_status", "fulfillment_status"}
        if unknown:
            raise StatusError(f"{where}: unknown key(s) {sorted(unknown)}")
        parts = [value.get("status"), value.get("payment_status"), value.get("fulfillment_status")]
    elif isinstance(value, str):
        raw = [p.strip() for p in value.split("/")]
        if len(raw) > 3:
            raise StatusError(f"{where}: {value!r} has more than three parts")
        parts = [*raw, None, None, None][:3]
    else:
        raise StatusError(f"{where}: expected 'status/payment/fulfillment', got {type(value).__name__}")
    cleaned = [None if p in (None, "", "*") else str(p) for p in parts]
    for part, allowed, name in zip(
        cleaned, (_STATUS, _PAYMENT, _FULFILLMENT), ("status", "payment_status", "fulfillment_status"), strict=True
    ):
        if part is not None and part not in allowed:
            raise StatusError(f"{where}: {part!r} is not a neutral {name} (one of {', '.join(sorted(allowed))})")
    return Triple(*cleaned)


@dataclass(frozen=True)
class StatusRule:
    """An outbound rule: when the neutral triple matches ``pattern``, write ``code``."""

    pattern: Triple
    code: str


@dataclass(frozen=True)
class StatusTable:
    """A platform's status tables on every axis, with per-store overrides applied."""

    platform: str
    inbound: Mapping[str, Mapping[str, Triple]]
    outbound: Mapping[str, tuple[StatusRule, ...]]
    labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        platform: str,
        inbound: Mapping[str, Mapping[str, Any]],
        outbound: Mapping[str, Iterable[tuple[Any, str]] | Mapping[str, str]],
        labels: Mapping[str, Mapping[str, str]] | None = None,
    ) -> StatusTable:
        """Build a table from plain data (strings or dicts), validating every entry."""
        parsed_in = {
            axis: {
                str(code): parse_triple(value, f"{platform} inbound {axis} {code!r}") for code, value in table.items()
            }
            for axis, table in inbound.items()
        }
        parsed_out: dict[str, tuple[StatusRule, ...]] = {}
        for axis, rules in outbound.items():
            items = rules.items() if isinstance(rules, Mapping) else rules
            parsed_out[axis] = tuple(
                StatusRule(parse_triple(pattern, f"{platform} outbound {axis} {pattern!r}"), str(code))
                for pattern, code in items
            )
        return cls(platform, parsed_in, parsed_out, labels or {})

    def with_overrides(self, overrides: Mapping[str, Any] | None) -> StatusTable:
        """A copy with a store's overrides: inbound entries replace, outbound rules go first."""
        if not overrides:
            return self
        unknown = set(overrides) - {"inbound", "outbound"}
        if unknown:
            raise StatusError(f"{self.platform} status_map: unknown section(s) {sorted(unknown)}; use inbound/outbound")
        inbound = {axis: dict(table) for axis, table in self.inbound.items()}
        for axis, table in (overrides.get("inbound") or {}).items():
            if axis not in inbound:
                raise StatusError(f"{self.platform} status_map.inbound: unknown axis {axis!r} "
                                  f"(one of {', '.join(sorted(self.inbound))})")
            for code, value in table.items():
                inbound[axis][str(code)] = parse_triple(value, f"{self.platform} status_map.inbound.{axis}.{code}")
        outbound = dict(self.outbound)
        for axis, table in (overrides.get("outbound") or {}).items():
            if axis not in outbound:
                raise StatusError(f"{self.platform} status_map.outbound: unknown axis {axis!r} "
                                  f"(one of {', '.join(sorted(self.outbound))})")
            extra = [
                StatusRule(parse_triple(pattern, f"{self.platform} status_map.outbound.{axis}.{pattern}"), str(code))
                for pattern, code in table.items()
            ]
            extra.sort(key=lambda rule: -rule.pattern.specificity())
            outbound[axis] = (*extra, *outbound[axis])
        return StatusTable(self.platform, inbound, outbound, self.labels)

    def inbound_for(self, axis: str, code: Any) -> Triple | None:
        """The neutral triple for a platform code on an axis, or ``None`` when the table lacks it."""
        if code is None:
            return None
        return self.inbound.get(axis, {}).get(str(code))

    def outbound_for(self, axis: str, status: str, payment: str, fulfillment: str) -> str | None:
        """The platform code for a neutral triple on an axis (first matching rule), or ``None``."""
        for rule in self.outbound.get(axis, ()):
            if rule.pattern.matches(status, payment, fulfillment):
                return rule.code
        return None

    def label(self, axis: str, code: str | None) -> str | None:
        """The platform's human label for a code, when known."""
        if code is None:
            return None
        return self.labels.get(axis, {}).get(str(code))

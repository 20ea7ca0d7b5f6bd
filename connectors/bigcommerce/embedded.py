"""An order read with ``include=consignments.line_items,fees`` turned into the ``get_order`` bundle.

``GET /v2/orders`` and ``GET /v2/orders/{id}`` embed, with
``?include=consignments.line_items,fees&consignment_structure=object``, the order's consignments
(each shipping consignment is a shipping address with its line items) and its fees
(``../shared/platforms/bigcommerce.md`` §1.1). Such a row holds the whole order except shipments
and coupons, which the row says exist (``items_shipped``, ``coupon_discount``). Only 50 line items
are embedded per consignment; past that the consignment carries a ``__warning__`` and the lines
must be read from ``/products`` (pitfall 13).

The bundle is shaped exactly like the sub-resources' own answers, so the mapping reads the same
order either way: consignment line items are ``/products`` rows already (``orderProducts``); a
shipping consignment becomes a ``/shipping_addresses`` row (``order_id`` added, costs as 4-decimal
strings instead of numbers, its quotes link under ``/shipping_addresses``); the order keeps link
objects for ``consignments`` and ``fees`` as a plain ``GET`` shows them, and the fees go in the
bundle's own ``fees`` list.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = ["EMBED_PARAMS", "Embedded", "split_view"]

EMBED_PARAMS: dict[str, str] = {"include": "consignments.line_items,fees", "consignment_structure": "object"}
"""The query that makes an order row (list or single GET) carry its lines, addresses and fees."""

_CONSIGNMENT_KINDS = ("pickups", "shipping", "downloads")
_ADDRESS_MONEY = ("base_cost", "cost_ex_tax", "cost_inc_tax", "cost_tax", "base_handling_cost",
                  "handling_cost_ex_tax", "handling_cost_inc_tax", "handling_cost_tax")
_NOT_ADDRESS = frozenset({"line_items", "__warning__"})
_FOUR = Decimal("0.0001")


@dataclass(frozen=True)
class Embedded:
    """What an embedded row gives: the bundle so far, and the sub-resources still to be read.

    ``missing`` names bundle keys to fetch: ``shipments`` (something shipped), ``coupons`` (a coupon
    discount), ``products`` (the 50-line cap was hit, or lines came as links), ``shipping_addresses``
    (the consignments disagree with ``shipping_address_count``), ``fees`` (not embedded).
    """

    bundle: dict[str, Any]
    missing: tuple[str, ...]


def _consignment_object(value: Any) -> Mapping[str, Any] | None:
    """The consignment object (``consignment_structure=object``), or the legacy one-item array's item."""
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if isinstance(value, Mapping) and any(kind in value for kind in (*_CONSIGNMENT_KINDS, "email")):
        return value
    return None


def _consignments(consignments: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Every consignment that can hold line items: pickups, shipping, downloads, gift certificates."""
    found: list[Mapping[str, Any]] = []
    for kind in _CONSIGNMENT_KINDS:
        items = consignments.get(kind)
        if isinstance(items, list):
            found.extend(item for item in items if isinstance(item, Mapping))
    email = consignments.get("email")
    certificates = email.get("gift_certificates") if isinstance(email, Mapping) else None
    if isinstance(certificates, list):
        found.extend(item for item in certificates if isinstance(item, Mapping))
    return found


def _line_items(consignments: list[Mapping[str, Any]]) -> list[dict[str, Any]] | None:
    """Every embedded line item sorted by id as ``/products`` lists them; ``None`` when not all are here."""
    lines: list[dict[str, Any]] = []
    for consignment in consignments:
        if "__warning__" in consignment:
            return None  # only 50 of this consignment's lines came
        items = consignment.get("line_items")
        if isinstance(items, Mapping):
            items = [items]  # a download consignment's single item
        if items is None:
            continue
        if not isinstance(items, list):
            return None
        for item in items:
            if not isinstance(item, dict) or not str(item.get("id", "")).isdigit() or "quantity" not in item:
                return None  # a link object ({url, resource}) or an unreadable line
            lines.append(item)
    return sorted(lines, key=lambda item: int(item["id"]))


def _four(value: Any) -> Any:
    """A consignment's number (``5.1``) as the 4-decimal string ``/shipping_addresses`` serves."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    try:
        return format(Decimal(str(value)).quantize(_FOUR), "f")
    except InvalidOperation:
        return value


def _address(consignment: Mapping[str, Any], order_id: Any) -> dict[str, Any]:
    """A shipping consignment as its ``/shipping_addresses`` row."""
    address = {key: value for key, value in consignment.items() if key not in _NOT_ADDRESS}
    address["order_id"] = order_id
    for key in _ADDRESS_MONEY:
        if key in address:
            address[key] = _four(address[key])
    quotes = address.get("shipping_quotes")
    consignment_id = address.get("id")
    if isinstance(quotes, Mapping):
        old, new = f"/consignments/shipping/{consignment_id}/", f"/shipping_addresses/{consignment_id}/"
        address["shipping_quotes"] = {key: value.replace(old, new) if isinstance(value, str) else value
                                      for key, value in quotes.items()}
    return address


def _link(row: Mapping[str, Any], name: str) -> dict[str, str]:
    """The link object a plain ``GET`` shows for sub-resource ``name``, built beside the ``products`` link."""
    products = row.get("products")
    if isinstance(products, Mapping):
        url, resource = products.get("url"), products.get("resource")
        if isinstance(url, str) and isinstance(resource, str) and url.endswith("/products") \
                and resource.endswith("/products"):
            return {"url": url[: -len("products")] + name, "resource": resource[: -len("products")] + name}
    resource = f"/orders/{row.get('id')}/{name}"
    return {"url": resource, "resource": resource}


def _positive(value: Any) -> bool | None:
    """Whether a count or amount (int, number or string) is above zero; ``None`` when unreadable."""
    if isinstance(value, bool):
        return None
    try:
        return Decimal(str(value if value not in (None, "") else 0)) > 0
    except InvalidOperation:
        return None


def _quantity(lines: list[dict[str, Any]]) -> int | None:
    try:
        return sum(int(line["quantity"]) for line in lines)
    except (TypeError, ValueError):
        return None


def split_view(row: Mapping[str, Any]) -> Embedded | None:
    """The bundle an embedded order row holds, or ``None`` when the row was not read with ``include``."""
    consignment_object = _consignment_object(row.get("consignments"))
    if consignment_object is None:
        return None
    consignments = _consignments(consignment_object)
    missing: list[str] = []
    order = dict(row)
    order["consignments"] = _link(row, "consignments")
    bundle: dict[str, Any] = {"order": order}
    lines = _line_items(consignments)
    if lines is None or _quantity(lines) != _int(row.get("items_total")):
        missing.append("products")  # capped, linked, or not adding up to the order: read /products
    else:
        bundle["products"] = lines
    shipping = [c for c in consignment_object.get("shipping") or [] if isinstance(c, Mapping)]
    count = _int(row.get("shipping_address_count"))
    if count is not None and count != len(shipping):
        missing.append("shipping_addresses")
    else:
        bundle["shipping_addresses"] = [_address(c, row.get("id")) for c in shipping]
    for name, amount in (("shipments", "items_shipped"), ("coupons", "coupon_discount")):
        if _positive(row.get(amount)) is False:
            bundle[name] = []
        else:
            missing.append(name)
    fees = row.get("fees")
    if isinstance(fees, list):
        order["fees"] = _link(row, "fees")
        bundle["fees"] = fees
    else:
        missing.append("fees")
    return Embedded(bundle, tuple(missing))


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None

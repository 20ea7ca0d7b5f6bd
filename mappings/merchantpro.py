"""MerchantPro orders ⇄ the neutral order.

Input is what ``GET /api/v2/orders/{id}`` returns (with ``line_items``); a list row (or a one-row
list envelope) is accepted too. What MerchantPro means, as read from its API page and real orders:

- Line prices come both ways: ``unit_price_net`` (neutral ``unit_price``), ``unit_price_gross``,
  ``line_subtotal_net``/``_gross`` and ``line_tax_amount``; money is 4-decimal floats or whole ints.
- ``shipping_amount`` *includes* tax (the page's examples: 15 with 2.39 tax at 19 %, and
  ``total_amount`` = lines gross + ``shipping_amount``), so neutral ``Shipping.amount`` is
  ``shipping_amount - shipping_tax_amount`` and ``amount_incl_tax`` is ``shipping_amount``.
- Names come whole (``billing_name``/``shipping_name``): split with :func:`mappings.base.split_name`,
  the original kept in ``full_name``.
- Two status axes: ``payment`` and ``shipping`` (see :data:`STATUSES`).
- One shipment slot: ``shipping_awb`` + ``shipping_carrier_id`` + ``date_shipped``/``date_delivered``.
- Our reference is a tag ``ordersync:<store>:<id>`` (writable on POST/PATCH, filterable with
  ``tag_name=``), read back into ``mirror_of``.

Every source field without a neutral home is kept verbatim in ``extra["merchantpro"]`` (order) and
``Line.extra`` (line); tags, internal notes and invoice are kept there whole as well.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar

from pydantic import ValidationError

from connectors.base import Capabilities
from connectors.errors import InvalidPayload, Rejected
from connectors.merchantpro import CAPABILITIES
from connectors.merchantpro.wire import (
    TRANSITIONS,
    MerchantProCancel,
    MerchantProLineItemWrite,
    MerchantProNoteWrite,
    MerchantProOrder,
    MerchantProOrderCreate,
    MerchantProOrderUpdate,
    MerchantProShipment,
    MerchantProShipmentUpdate,
    MerchantProStatusUpdate,
    MerchantProTagWrite,
    MerchantProVariantOptionWrite,
    Transition,
    id_text,
    money_out,
    parse_lenient,
)
from connectors.parsing import format_decimal
from connectors.wire import WriteModel, construct, plain_reader, to_plain
from mappings.base import (
    Call,
    TargetContext,
    join_name,
    refuse_negative,
    refuse_negative_lines,
    split_name,
    totals_warning,
)
from mappings.money import quantum, within_precision
from mappings.neutral import (
    Address,
    Customer,
    Discount,
    Line,
    LineOption,
    NeutralOrder,
    Notes,
    Payment,
    RawStatus,
    Shipment,
    ShipmentLine,
    Shipping,
    SourceRef,
    Totals,
)
from mappings.status import StatusTable, Triple

__all__ = [
    "MAPPING",
    "REFERENCE_PREFIX",
    "STATUSES",
    "MerchantProMapping",
    "from_neutral",
    "to_neutral",
]

PLATFORM = "merchantpro"
REFERENCE_PREFIX = "ordersync:"
_WHAT = "MerchantPro order"
_FOUR = Decimal("0.0001")
_ZERO = Decimal(0)
_HUNDRED = Decimal(100)

STATUSES = StatusTable.build(
    PLATFORM,
    inbound={
        "payment": {
            "temporary": "*/unpaid",
            "awaiting": "*/unpaid",
            "paid": "*/paid",
            "failed": "*/failed",
            "rejected": "*/failed",
            "canceled": "*/voided",
            "cancelled": "*/voided",
            "refunded": "*/refunded",
        },
        "shipping": {
            "awaiting": "pending/*/unfulfilled",
            "confirmed": "processing/*/unfulfilled",
            "in_process": "processing/*/unfulfilled",
            "shipped": "processing/*/shipped",
            "delivered": "completed/*/delivered",
            "returned": "completed/*/returned",
            "cancelled": "cancelled/*/cancelled",
        },
    },
    outbound={
        "shipping": [
            ("cancelled", "cancelled"),
            ("*/*/cancelled", "cancelled"),
            ("*/*/returned", "returned"),
            ("*/*/delivered", "delivered"),
            ("*/*/partially_delivered", "shipped"),
            ("*/*/shipped", "shipped"),
            ("*/*/partially_shipped", "shipped"),
            ("completed", "delivered"),
            ("processing", "in_process"),
            ("on_hold", "awaiting"),
            ("pending", "awaiting"),
        ],
        "payment": [
            ("*/refunded", "refunded"),
            ("*/partially_refunded", "paid"),
            ("*/voided", "canceled"),
            ("*/failed", "failed"),
            ("*/paid", "paid"),
            ("*/partially_paid", "awaiting"),
            ("*/authorized", "awaiting"),
            ("*/unpaid", "awaiting"),
        ],
    },
    labels={
        "payment": {
            "temporary": "Temporary", "awaiting": "Awaiting payment", "paid": "Paid", "failed": "Failed",
            "canceled": "Cancelled", "cancelled": "Cancelled", "refunded": "Refunded", "rejected": "Rejected",
        },
        "shipping": {
            "awaiting": "Awaiting", "confirmed": "Confirmed", "in_process": "In process", "shipped": "Shipped",
            "delivered": "Delivered", "returned": "Returned", "cancelled": "Cancelled",
        },
    },
)
"""MerchantPro's default status tables (axes ``payment`` and ``shipping``); stores override them."""

# Order fields placed in the neutral order. Everything else goes to extra verbatim. Tags, internal
# notes and invoice are deliberately *not* listed: they are mapped and also kept whole.
_MAPPED_ORDER = frozenset({
    "id", "payment_status", "payment_method_code", "payment_method_name", "payment_transaction_id",
    "shipping_status", "shipping_method_id", "shipping_method_name", "shipping_carrier_id",
    "shipping_carrier_name", "shipping_awb", "shipping_amount", "shipping_tax_amount",
    "subtotal_excluding_tax", "subtotal_including_tax", "discount_amount", "tax_amount", "total_amount",
    "currency", "customer_id", "customer_email", "customer_lang", "customer_note", "date_created",
    "date_modified", "date_shipped", "date_delivered", "billing_name", "billing_company_name",
    "billing_country_code", "billing_country_name", "billing_state", "billing_city", "billing_address",
    "billing_postal_code", "billing_phone", "shipping_name", "shipping_country_code",
    "shipping_country_name", "shipping_state", "shipping_city", "shipping_address", "shipping_postal_code",
    "shipping_phone", "line_items",
})
_MAPPED_LINE = frozenset({
    "id", "item_type", "product_id", "variant_id", "product_sku", "product_name", "product_tax_percent",
    "quantity", "unit_price_net", "unit_price_gross", "line_subtotal_net", "line_subtotal_gross",
    "line_tax_amount",
})
_NON_PRODUCT_KEY = "non_product_line_items"
"""Key in ``extra["merchantpro"]`` holding shipping/discount-type line items verbatim."""

_PAYMENT_ALIASES = {
    "cod": "cash_delivery", "cashondelivery": "cash_delivery", "cash_on_delivery": "cash_delivery",
    "bankwire": "wire", "bank_transfer": "wire", "banktransfer": "wire", "wire": "wire", "paypal": "paypal",
}
"""Common payment method codes of other platforms → MerchantPro codes (overridable per store)."""

_PARTIAL_SHIPPING = "status: MerchantPro has no partial shipping; the whole order is marked shipped"
_FINAL_SHIPPING = frozenset({"cancelled"})
_BASE_TRIPLE = Triple("pending", "unpaid", "unfulfilled")
_CANCELLED_PAYMENT = frozenset({"canceled", "cancelled"})

# --------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------


def _invalid(field: str, reason: str) -> InvalidPayload:
    return InvalidPayload(_WHAT, [(field, reason)])


def _unwrap(payload: Any) -> Any:
    """A detail object, a list row, or a one-row list envelope ``{"data": [row]}`` → the row."""
    if isinstance(payload, dict) and "id" not in payload and "data" in payload:
        data = payload["data"]
        if isinstance(data, list):
            if len(data) != 1:
                raise _invalid("data", f"expected exactly one order in the envelope, got {len(data)}")
            return data[0]
        return data
    return payload


_sid = id_text

# The hot path validates exactly like MerchantProOrder but into plain dicts (no model instance per
# object: about a third less validation time); the model stays the door for anything the fast pass
# refuses, so blanks are retried and errors raised exactly as before. See connectors.wire.plain_reader.
_READ_ORDER = plain_reader(MerchantProOrder)


def _read_order(raw: Any) -> dict[str, Any]:
    """The order validated like :class:`MerchantProOrder` (blanks read as ``None``), as a plain dict."""
    if isinstance(raw, dict):
        try:
            return _READ_ORDER(raw)  # type: ignore[no-any-return]
        except ValidationError:
            pass
    plain: dict[str, Any] = to_plain(parse_lenient(MerchantProOrder, raw, what=_WHAT))  # raises its error
    return plain



def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _quantity(value: Decimal, index: int) -> int:
    whole = int(value)
    if whole != value:
        raise _invalid(f"line_items[{index}].quantity", f"{value} is not a whole number")
    return whole


def _address(
    name: str | None, company: str | None, street: str | None, city: str | None, state: str | None,
    postal: str | None, code: str | None, country: str | None, phone: str | None, email: str | None,
) -> Address | None:
    if not (name or company or street or city or state or postal or code or country or phone):
        return None
    first, last = split_name(name)
    return construct(Address, {
        "first_name": first, "last_name": last, "full_name": name or None, "company": company or None,
        "line1": street or None, "line2": None, "city": city or None, "region": state or None,
        "region_code": None, "postal_code": postal or None,
        "country_code": code.strip().upper() if code else None, "country": country or None,
        "phone": phone or None, "email": email,
    })


def _street(address: Address) -> str | None:
    parts = [part for part in (address.line1, address.line2) if part]
    return ", ".join(parts) if parts else None


def _num(value: Decimal | None) -> int | float | None:
    return None if value is None else money_out(value)


def _id_out(value: str | None) -> int | str | None:
    if value is None:
        return None
    return int(value) if value.isdigit() else value


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _int_id(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _same_payment(a: str | None, b: str | None) -> bool:
    if a in _CANCELLED_PAYMENT and b in _CANCELLED_PAYMENT:
        return True
    return a == b


def _carrier_id(carrier: str | None, ctx: TargetContext) -> str | None:
    """The target's ``shipping_carrier_id`` for a neutral carrier (``options["carriers"]`` maps names)."""
    if not carrier:
        return None
    carriers = ctx.options.get("carriers") or {}
    if carrier in carriers:
        return str(carriers[carrier])
    if carrier.isdigit():
        return carrier
    ctx.warn(f"carrier {carrier!r} has no MerchantPro shipping_carrier_id (set options.carriers); "
             "the AWB is sent without a carrier")
    return None


def _first_live_shipment(order: NeutralOrder) -> Shipment | None:
    for shipment in order.shipments:
        if shipment.status != "cancelled" and (shipment.tracking_number or shipment.shipped_at):
            return shipment
    return None


def _required(wire: dict[str, Any]) -> tuple[str, str]:
    """``(order id, currency)``, refusing an order without the fields every read needs."""
    if wire["date_created"] is None:
        raise _invalid("date_created", "required to read an order (fetch it without fields=)")
    if wire["total_amount"] is None:
        raise _invalid("total_amount", "required to read an order")
    currency = wire["currency"]
    if not currency or len(currency.strip()) != 3:
        raise _invalid("currency", "expected an ISO 4217 code")
    order_id = _sid(wire["id"])
    if order_id is None:
        raise _invalid("id", "expected an order id")
    return order_id, currency.strip().upper()


def _read_statuses(wire: dict[str, Any], table: StatusTable, warnings: list[str]) -> tuple[Triple, RawStatus]:
    """The neutral triple: the shipping axis over the payment axis over pending/unpaid/unfulfilled."""
    pay_code, ship_code = wire["payment_status"] or None, wire["shipping_status"] or None
    pay = table.inbound_for("payment", pay_code)
    ship = table.inbound_for("shipping", ship_code)
    if pay is None:
        warnings.append(f"status: unknown MerchantPro payment_status {pay_code!r}; read as unpaid")
    if ship is None:
        warnings.append(f"status: unknown MerchantPro shipping_status {ship_code!r}; read as pending")
    triple = (ship or Triple()).merged_over(pay or Triple()).merged_over(_BASE_TRIPLE)
    raw = RawStatus(platform=PLATFORM, code=ship_code,
                    label=wire["shipping_status_text"] or table.label("shipping", ship_code),
                    payment_code=pay_code, fulfillment_code=ship_code)
    return triple, raw


def _read_items(wire: dict[str, Any], raw: Any, currency: str,
                warnings: list[str]) -> tuple[list[Line], list[Discount], list[Any]]:
    """``(product lines, discount lines as discounts, every non-product item verbatim)``."""
    lines: list[Line] = []
    discounts: list[Discount] = []
    others: list[Any] = []
    for index, item in enumerate(wire["line_items"] or ()):
        raw_line = raw["line_items"][index]
        kind = item["item_type"] or None
        if kind is None or kind == "product":
            lines.append(_line(item, raw_line, index, quantum(currency), warnings))
            continue
        others.append(raw_line)
        if kind == "discount":
            amount = item["line_subtotal_gross"]
            if amount is None:
                amount = (item["unit_price_gross"] or item["unit_price_net"]) * item["quantity"]
            discounts.append(Discount(code=wire["coupon_code"] or None, name=item["product_name"] or None,
                                      amount=abs(amount)))
    return lines, discounts, others


def _line(item: dict[str, Any], raw: Any, index: int, q: Decimal, warnings: list[str]) -> Line:
    """One product line (``item`` is the validated line, ``raw`` the JSON it came from)."""
    line_id = str(raw["id"]) if raw.get("id") is not None else str(index + 1)
    quantity = _quantity(item["quantity"], index)
    refuse_negative(_WHAT, [(f"line_items[{index}].quantity", quantity),
                            (f"line_items[{index}].unit_price_net", item["unit_price_net"]),
                            (f"line_items[{index}].unit_price_gross", item["unit_price_gross"])])
    sku = item["product_sku"] or None
    if sku is None and item["family_sku"]:
        sku = item["family_sku"]
        warnings.append(f"line {line_id}: no product_sku; using family_sku {sku!r}")
    options = [LineOption(name=option["name"], value=option["value"]) for option in item["variant_options"] or ()
               if option["name"] is not None and option["value"] is not None]
    net = item["unit_price_net"]
    subtotal_net, subtotal_gross, line_tax = item["line_subtotal_net"], item["line_subtotal_gross"], \
        item["line_tax_amount"]
    slack = q * max(1, quantity)
    if subtotal_net is not None and abs(net * quantity - subtotal_net) > slack:
        warnings.append(f"line {line_id}: line_subtotal_net {subtotal_net} differs from {quantity} x {net}")
    if (subtotal_gross is not None and subtotal_net is not None and line_tax is not None
            and abs(subtotal_net + line_tax - subtotal_gross) > slack):
        warnings.append(f"line {line_id}: net + tax differs from line_subtotal_gross {subtotal_gross}")
    return construct(Line, {
        "source_line_id": line_id,
        "sku": sku,
        "name": item["product_name"] or None,
        "product_ref": _sid(item["product_id"]),
        "variant_ref": _sid(item["variant_id"]),
        "options": options,
        "quantity": quantity,
        "unit_price": net,
        "unit_price_incl_tax": item["unit_price_gross"],
        "tax_rate": item["product_tax_percent"],
        "tax_amount": line_tax,
        "total": subtotal_gross,
        "total_excl_tax": subtotal_net,
        "extra": {key: value for key, value in raw.items() if key not in _MAPPED_LINE},
    })


def _read_shipping(wire: dict[str, Any], warnings: list[str]) -> Shipping:
    """The shipping charge: ``shipping_amount`` includes its tax, so net = amount - tax."""
    gross, tax = wire["shipping_amount"], wire["shipping_tax_amount"]
    net: Decimal | None = gross
    if gross is not None and tax is not None:
        net = gross - tax
    elif gross and tax is None:
        warnings.append("shipping: shipping_tax_amount missing; shipping_amount read as tax-free")
    return construct(Shipping, {"method_code": _sid(wire["shipping_method_id"]),
                                "method_name": wire["shipping_method_name"] or None,
                                "amount": net, "amount_incl_tax": gross, "tax_amount": tax})


def _check_totals(wire: dict[str, Any], lines: list[Line], discounts: list[Discount], currency: str,
                  warnings: list[str]) -> None:
    """Warn when ``total_amount`` is not lines + shipping - discounts, or the subtotal not the lines'."""
    if not lines:
        return
    total, subtotal = wire["total_amount"], wire["subtotal_excluding_tax"]
    if all(line.total is not None for line in lines):
        computed = sum((line.total or _ZERO for line in lines), _ZERO)
        computed += (wire["shipping_amount"] or _ZERO) - sum((d.amount for d in discounts), _ZERO)
        if abs(computed - total) > quantum(currency) * (len(lines) + 1):
            warnings.append(f"totals: declared total_amount {total} differs from lines "
                            f"+ shipping - discounts {computed} ({currency})")
    if subtotal is not None:
        message = totals_warning(subtotal, [line.total_excl_tax for line in lines], currency,
                                 "subtotal_excluding_tax")
        if message:
            warnings.append(message)


def _read_people(wire: dict[str, Any]) -> tuple[Address | None, Address | None, Customer]:
    """``(billing address, shipping address, customer)``; whole names split, the original kept."""
    email = wire["customer_email"] or None
    billing_name = wire["billing_name"] or None
    billing = _address(billing_name, wire["billing_company_name"], wire["billing_address"], wire["billing_city"],
                       wire["billing_state"], wire["billing_postal_code"], wire["billing_country_code"],
                       wire["billing_country_name"], wire["billing_phone"], email)
    shipping = _address(wire["shipping_name"] or None, None, wire["shipping_address"], wire["shipping_city"],
                        wire["shipping_state"], wire["shipping_postal_code"], wire["shipping_country_code"],
                        wire["shipping_country_name"], wire["shipping_phone"], None)
    first, last = split_name(billing_name)
    customer = Customer(id=_sid(wire["customer_id"]), email=email, first_name=first, last_name=last,
                        phone=wire["billing_phone"] or None, locale=wire["customer_lang"] or None,
                        full_name=billing_name)
    return billing, shipping, customer


def _read_shipment(wire: dict[str, Any], lines: list[Line]) -> list[Shipment]:
    """The one AWB slot as a shipment of every product line (none without an AWB)."""
    awb = wire["shipping_awb"]
    awb = awb.strip() if awb else None
    if not awb:
        return []
    delivered_at = _utc(wire["date_delivered"])
    delivered = delivered_at is not None or wire["shipping_status"] == "delivered"
    return [Shipment(
        source_shipment_id=f"awb:{awb}",
        carrier=wire["shipping_carrier_name"] or _sid(wire["shipping_carrier_id"]),
        tracking_number=awb,
        shipped_at=_utc(wire["date_shipped"]),
        lines=[ShipmentLine(source_line_id=line.source_line_id, sku=line.sku, quantity=line.quantity)
               for line in lines],
        status="delivered" if delivered else "shipped",
        delivered_at=delivered_at,
    )]


def _read_notes_and_reference(wire: dict[str, Any]) -> tuple[str | None, str | None]:
    """``(staff notes joined, our reference tag)``."""
    texts = [note["text"] for note in wire["internal_notes"] or () if note["text"]]
    mirror_of = next((tag["name"] for tag in wire["tags"] or ()
                      if tag["name"] and tag["name"].startswith(REFERENCE_PREFIX)), None)
    return ("\n".join(texts) if texts else None), mirror_of


# --------------------------------------------------------------------------------------------------
# the mapping
# --------------------------------------------------------------------------------------------------


class MerchantProMapping:
    """Converts MerchantPro orders to the neutral order and back (see the module docstring)."""

    platform: ClassVar[str] = PLATFORM
    capabilities: ClassVar[Capabilities] = CAPABILITIES
    statuses: ClassVar[StatusTable] = STATUSES

    # -- inbound --------------------------------------------------------------------------------
    def to_neutral(
        self, payload: Any, *, store: str | None = None, statuses: StatusTable | None = None
    ) -> NeutralOrder:
        """Read one MerchantPro order into the neutral order; raises only :class:`InvalidPayload`."""
        try:
            return self._to_neutral(_unwrap(payload), store, statuses or STATUSES)
        except InvalidPayload:
            raise
        except Exception as error:  # noqa: BLE001 - a bug must surface as a skippable payload error
            raise InvalidPayload(_WHAT, [("", f"{type(error).__name__}: {error}")]) from None

    def _to_neutral(self, raw: Any, store: str | None, table: StatusTable) -> NeutralOrder:
        """The read, step by step: required fields, statuses, lines, money, people, shipment, notes."""
        wire = _read_order(raw)
        order_id, currency = _required(wire)
        warnings: list[str] = []
        extra = {key: value for key, value in raw.items() if key not in _MAPPED_ORDER}
        triple, raw_status = _read_statuses(wire, table, warnings)
        lines, discounts, others = _read_items(wire, raw, currency, warnings)
        if others:
            extra[_NON_PRODUCT_KEY] = others
        shipping = _read_shipping(wire, warnings)
        _check_totals(wire, lines, discounts, currency, warnings)
        billing, shipping_address, customer = _read_people(wire)
        staff, mirror_of = _read_notes_and_reference(wire)
        return construct(NeutralOrder, {
            "source": SourceRef(platform=PLATFORM, store=store, id=order_id, number=order_id),
            "created_at": _utc(wire["date_created"]),
            "updated_at": _utc(wire["date_modified"]),
            "currency": currency,
            "status": triple.status,
            "payment_status": triple.payment_status,
            "fulfillment_status": triple.fulfillment_status,
            "raw_status": raw_status,
            "customer": customer,
            "billing_address": billing,
            "shipping_address": shipping_address,
            "shipping_addresses": [shipping_address] if shipping_address is not None else [],
            "lines": lines,
            "shipping": shipping,
            "discounts": discounts,
            "totals": construct(Totals, {
                "subtotal": wire["subtotal_excluding_tax"], "discount": wire["discount_amount"],
                "shipping": shipping.amount, "tax": wire["tax_amount"],
                "subtotal_incl_tax": wire["subtotal_including_tax"], "grand_total": wire["total_amount"],
            }),
            "payment": Payment(method_code=wire["payment_method_code"] or None,
                               method_name=wire["payment_method_name"] or None,
                               transaction_id=wire["payment_transaction_id"] or None),
            "shipments": _read_shipment(wire, lines),
            "notes": Notes(customer=wire["customer_note"] or None, staff=staff),
            "mirror_of": mirror_of,
            "extra": {PLATFORM: extra},
            "warnings": warnings,
        })

    # -- outbound -------------------------------------------------------------------------------
    def _codes(self, order: NeutralOrder, table: StatusTable) -> tuple[str | None, str | None]:
        """``(payment_status, shipping_status)`` for the order's neutral triple."""
        args = (order.status, order.payment_status, order.fulfillment_status)
        return table.outbound_for("payment", *args), table.outbound_for("shipping", *args)

    def create_payload(self, order: NeutralOrder, ctx: TargetContext) -> MerchantProOrderCreate:
        """``POST /api/v2/orders`` for ``order``: catalog ids from ``ctx.resolve``, source prices, our tag."""
        refuse_negative_lines(order, PLATFORM)
        if not order.lines:
            raise Rejected("an order without lines cannot be created on MerchantPro", platform=PLATFORM,
                           field_errors={"lines": "empty"})
        table = ctx.statuses or STATUSES
        source_extra: Mapping[str, Any] = order.extra.get(PLATFORM, {}) if order.source.platform == PLATFORM else {}
        items = [self._line_write(line, ctx) for line in order.lines]
        if ctx.catalog is None:
            ctx.warn("MerchantPro line items need catalog product ids: this offline payload carries SKU, name "
                     "and prices; ids are resolved at sync")
        fields: dict[str, Any] = {"line_items": items}
        payment_code, shipping_code = self._codes(order, table)
        if payment_code is None:
            ctx.warn(f"status: no MerchantPro payment_status for {order.payment_status!r}; the shop default applies")
        else:
            fields["payment_status"] = payment_code
        if shipping_code is None:
            ctx.warn(f"status: no MerchantPro shipping_status for {order.status!r}/{order.fulfillment_status!r}")
        else:
            fields["shipping_status"] = shipping_code
        if order.status in ("on_hold", "archived"):
            ctx.warn(f"status: MerchantPro has no {order.status!r} order status; sent as {shipping_code!r}")
        if order.fulfillment_status in ("partially_shipped", "partially_delivered"):
            ctx.warn(_PARTIAL_SHIPPING)
        method = self._payment_method(order, ctx)
        if method:
            fields["payment_method_code"] = method
        if order.payment.transaction_id:
            fields["payment_transaction_id"] = order.payment.transaction_id
        method_id = ctx.options.get("shipping_method_id")
        if method_id is None and order.source.platform == PLATFORM:
            method_id = _int_id(order.shipping.method_code)
        if method_id is not None:
            fields["shipping_method_id"] = int(method_id)
        ship = order.shipping
        amount = ship.amount_incl_tax
        if amount is None and ship.amount is not None:
            amount = ship.amount + (ship.tax_amount or _ZERO)
        if amount is None:
            amount = order.totals.shipping
        if amount is not None:
            fields["shipping_amount"] = amount
        fields["currency"] = order.currency
        customer = order.customer
        billing = order.billing_address
        email = customer.email or (billing.email if billing else None)
        if email:
            fields["customer_email"] = email
        if customer.locale:
            fields["customer_lang"] = customer.locale
        if order.notes.customer:
            fields["customer_note"] = order.notes.customer
        self._address_fields(order, source_extra, fields, ctx)
        shipment = _first_live_shipment(order)
        if shipment is not None and shipment.tracking_number:
            fields["shipping_awb"] = shipment.tracking_number
            carrier = _carrier_id(shipment.carrier, ctx)
            if carrier:
                fields["shipping_carrier_id"] = carrier
        if len([s for s in order.shipments if s.status != "cancelled"]) > 1:
            ctx.warn("shipments: MerchantPro keeps one AWB per order; only the first shipment is carried")
        notes = [order.notes.staff] if order.notes.staff else []
        for discount in order.discounts:
            notes.append(f"Discount {discount.code or discount.name or ''}: {format_decimal(discount.amount)} "
                         f"{order.currency}".replace("  ", " "))
        if order.discounts:
            ctx.warn("discounts: MerchantPro cannot take an order discount through the API; kept as an internal note")
        for fee in order.fees:
            notes.append(f"Fee {fee.name or fee.kind}: {format_decimal(fee.amount)} {order.currency}")
        if order.fees:
            ctx.warn("fees: MerchantPro has no order fees; kept as an internal note")
        if notes:
            fields["internal_notes"] = [construct(MerchantProNoteWrite, {"text": text}) for text in notes]
        if ctx.reference is not None:
            fields["tags"] = [construct(MerchantProTagWrite, {"name": ctx.reference.key})]
        return construct(MerchantProOrderCreate, fields)

    @staticmethod
    def _payment_method(order: NeutralOrder, ctx: TargetContext) -> str | None:
        configured = ctx.options.get("payment_method_code")
        if configured:
            return str(configured)
        code = order.payment.method_code
        if not code:
            return None
        if order.source.platform == PLATFORM:
            return code
        alias = _PAYMENT_ALIASES.get(code.lower())
        if alias is None:
            ctx.warn(f"payment: method {code!r} has no MerchantPro code (set options.payment_method_code); "
                     "the shop default applies")
        return alias

    @staticmethod
    def _line_write(line: Line, ctx: TargetContext) -> MerchantProLineItemWrite:
        fields: dict[str, Any] = {"item_type": "product", "quantity": line.quantity}
        product = ctx.resolve(line.sku)
        if product is not None:
            fields["product_id"] = _int_id(product.product_id) or product.product_id
            if product.variant_id:
                fields["variant_id"] = _int_id(product.variant_id) or product.variant_id
        elif ctx.catalog is not None:
            ctx.warn(f"line {line.source_line_id}: no SKU to find a MerchantPro product; sent by name only")
        if line.sku:
            fields["product_sku"] = line.sku
        if line.name:
            fields["product_name"] = line.name
        if line.options:
            fields["variant_options"] = [construct(MerchantProVariantOptionWrite, {"name": o.name, "value": o.value})
                                         for o in line.options]
            fields["variant_name"] = ", ".join(f"{o.name}: {o.value}" for o in line.options)
        quantity = line.quantity or 1
        net = line.unit_price
        gross = line.unit_price_incl_tax
        if line.total_excl_tax is not None and not within_precision(net * quantity, line.total_excl_tax, None,
                                                                    quantity):
            # A line discount: MerchantPro has no line discount field, so the effective price is sent.
            net = (line.total_excl_tax / quantity).quantize(_FOUR)
            gross = (line.total / quantity).quantize(_FOUR) if line.total is not None else None
            ctx.warn(f"line {line.source_line_id}: line discount folded into the unit price (MerchantPro has "
                     "no line discounts)")
        rate = line.tax_rate
        if gross is None and rate is not None:
            gross = (net * (_HUNDRED + rate) / _HUNDRED).quantize(_FOUR)
        if gross is None:
            gross = net
            ctx.warn(f"line {line.source_line_id}: no tax information; gross price sent equal to net")
        if rate is None and net:
            rate = ((gross - net) * _HUNDRED / net).quantize(Decimal("0.01"))
        fields["unit_price_net"] = net
        fields["unit_price_gross"] = gross
        fields["unit_tax_amount"] = gross - net
        if rate is not None:
            fields["product_tax_percent"] = rate
        return construct(MerchantProLineItemWrite, fields)

    @staticmethod
    def _address_fields(order: NeutralOrder, source_extra: Mapping[str, Any], fields: dict[str, Any],
                        ctx: TargetContext) -> None:
        billing = order.billing_address
        shipping = order.shipping_address or (order.shipping_addresses[0] if order.shipping_addresses else None)
        customer = order.customer
        if billing is None:
            billing = shipping
        if billing is not None:
            name = join_name(billing.first_name, billing.last_name, billing.full_name)
            fields["billing_name"] = name or join_name(customer.first_name, customer.last_name, customer.full_name)
            fields["billing_type"] = "company" if billing.company else "individual"
            for key, value in (
                ("billing_company_name", billing.company), ("billing_country_code", billing.country_code),
                ("billing_country_name", billing.country), ("billing_state", billing.region or billing.region_code),
                ("billing_city", billing.city), ("billing_address", _street(billing)),
                ("billing_postal_code", billing.postal_code), ("billing_phone", billing.phone or customer.phone),
            ):
                if value:
                    fields[key] = value
        for key in ("billing_type", "billing_identity_number", "billing_company_number", "billing_company_vat",
                    "billing_company_bank_name", "billing_company_bank_account"):
            value = source_extra.get(key)
            if isinstance(value, str) and value:
                fields[key] = value
        if shipping is None:
            shipping = billing
        if shipping is not None:
            fields["shipping_name"] = join_name(shipping.first_name, shipping.last_name, shipping.full_name) or \
                fields.get("billing_name")
            for key, value in (
                ("shipping_country_code", shipping.country_code), ("shipping_country_name", shipping.country),
                ("shipping_state", shipping.region or shipping.region_code), ("shipping_city", shipping.city),
                ("shipping_address", _street(shipping)), ("shipping_postal_code", shipping.postal_code),
                ("shipping_phone", shipping.phone),
            ):
                if value:
                    fields[key] = value
            if shipping.company and shipping is not billing:
                ctx.warn("shipping_address.company: MerchantPro has no company on the shipping address")
        if len(order.shipping_addresses) > 1:
            ctx.warn("shipping_addresses: MerchantPro has one shipping address; only the first is carried")

    def status_payload(self, order: NeutralOrder, ctx: TargetContext) -> MerchantProStatusUpdate | None:
        """The payment PATCH and/or shipping handler that bring ``ctx.current`` to ``order``'s statuses."""
        table = ctx.statuses or STATUSES
        payment_code, shipping_code = self._codes(order, table)
        current = ctx.current
        current_pay = current_ship = None
        if current is not None and current.raw_status.platform == PLATFORM:
            current_pay, current_ship = current.raw_status.payment_code, current.raw_status.fulfillment_code
        transition: Transition | None = None
        if shipping_code is None:
            ctx.warn(f"status: no MerchantPro shipping status for {order.status}/{order.fulfillment_status}; "
                     "left as is")
        elif shipping_code != current_ship:
            if current_ship in _FINAL_SHIPPING:
                ctx.warn(f"status: the MerchantPro order is {current_ship}; it cannot move to {shipping_code}")
            elif shipping_code in TRANSITIONS:
                transition = shipping_code  # type: ignore[assignment]
            elif current is not None:
                ctx.warn(f"status: MerchantPro has no handler back to {shipping_code!r}; left as {current_ship!r}")
        if order.fulfillment_status in ("partially_shipped", "partially_delivered"):
            ctx.warn(_PARTIAL_SHIPPING)
        payment: str | None = None
        if payment_code is None:
            ctx.warn(f"status: no MerchantPro payment status for {order.payment_status}; left as is")
        elif not _same_payment(payment_code, current_pay):
            payment = payment_code
        if payment is None and transition is None:
            return None
        return construct(MerchantProStatusUpdate,
                     {k: v for k, v in (("payment_status", payment), ("transition", transition)) if v is not None})

    def shipment_payload(self, shipment: Shipment, order: NeutralOrder, ctx: TargetContext) -> MerchantProShipment:
        """The AWB + carrier PATCH and the ``shipped`` (or ``delivered``) handler for a source shipment."""
        if not shipment.tracking_number:
            raise Rejected("a MerchantPro shipment is an AWB: this shipment has no tracking number",
                           platform=PLATFORM)
        shipped = {item.source_line_id or item.sku: item.quantity for item in shipment.lines}
        if shipment.lines and any(shipped.get(line.source_line_id or line.sku, 0) < line.quantity
                                  for line in order.lines):
            ctx.warn("shipments: partial shipment; MerchantPro marks the whole order shipped")
        current = ctx.current
        current_ship = current.raw_status.fulfillment_code if current is not None else None
        if current is not None:
            existing = _first_live_shipment(current)
            if existing is not None and existing.tracking_number and existing.tracking_number != \
                    shipment.tracking_number:
                ctx.warn(f"shipments: MerchantPro keeps one AWB per order; {shipment.tracking_number} replaces "
                         f"{existing.tracking_number}")
        wanted: str | None = "delivered" if shipment.status == "delivered" else "shipped"
        if current_ship == wanted or current_ship in ("delivered", "returned", "cancelled") or (
                wanted == "shipped" and current_ship == "shipped"):
            wanted = None
        fields: dict[str, Any] = {"shipping_awb": shipment.tracking_number, "transition": wanted}
        carrier = _carrier_id(shipment.carrier, ctx)
        if carrier:
            fields["shipping_carrier_id"] = carrier
        if shipment.tracking_url:
            ctx.warn("shipments: MerchantPro has no tracking URL field")
        return construct(MerchantProShipment, fields)

    def shipment_update_payload(self, shipment: Shipment, ctx: TargetContext) -> MerchantProShipmentUpdate | None:
        """The AWB/carrier PATCH when the tracking differs from the target's, else ``None``."""
        carrier = _carrier_id(shipment.carrier, ctx)
        existing = _first_live_shipment(ctx.current) if ctx.current is not None else None
        fields: dict[str, Any] = {}
        if shipment.tracking_number and (existing is None or existing.tracking_number != shipment.tracking_number):
            fields["shipping_awb"] = shipment.tracking_number
        if carrier and (existing is None or existing.carrier != carrier):
            fields["shipping_carrier_id"] = carrier
        return construct(MerchantProShipmentUpdate, fields) if fields else None

    def cancel_payload(self, order: NeutralOrder, ctx: TargetContext) -> MerchantProCancel:
        """The ``cancelled`` handler, with the payment status to record when money was voided/refunded."""
        table = ctx.statuses or STATUSES
        payment = None
        if order.payment_status in ("voided", "refunded"):
            payment = table.outbound_for("payment", "cancelled", order.payment_status, "cancelled")
        return construct(MerchantProCancel, {"payment_status": payment} if payment else {})

    def update_payload(self, order: NeutralOrder, ctx: TargetContext) -> MerchantProOrderUpdate:
        """A PATCH carrying the order's addresses, notes and our tag (used to re-stamp a reference)."""
        fields: dict[str, Any] = {}
        self._address_fields(order, {}, fields, ctx)
        fields.pop("billing_type", None)
        if order.notes.customer:
            fields["customer_note"] = order.notes.customer
        if ctx.reference is not None:
            fields["tags"] = [construct(MerchantProTagWrite, {"name": ctx.reference.key})]
        return construct(MerchantProOrderUpdate, fields)

    # -- render and calls -----------------------------------------------------------------------
    def render(self, order: NeutralOrder) -> dict[str, Any]:
        """``order`` as ``GET /api/v2/orders/{id}`` would return it (4-decimal floats, whole names)."""
        extra = dict(order.extra.get(PLATFORM, {}))
        others = extra.pop(_NON_PRODUCT_KEY, None)
        out: dict[str, Any] = extra
        payment_code, shipping_code = self._render_codes(order)
        ship = order.shipping
        ship_gross = ship.amount_incl_tax
        if ship_gross is None and ship.amount is not None:
            ship_gross = ship.amount + (ship.tax_amount or _ZERO)
        ship_tax = ship.tax_amount
        if ship_tax is None and ship.amount_incl_tax is not None and ship.amount is not None:
            ship_tax = ship.amount_incl_tax - ship.amount
        customer = order.customer
        billing, shipping = order.billing_address, order.shipping_address
        out.update({
            "id": _id_out(order.source.id),
            "payment_status": payment_code,
            "payment_status_text": extra.get("payment_status_text") or STATUSES.label("payment", payment_code),
            "payment_method_code": order.payment.method_code,
            "payment_method_name": order.payment.method_name,
            "payment_transaction_id": order.payment.transaction_id,
            "shipping_status": shipping_code,
            "shipping_status_text": extra.get("shipping_status_text") or STATUSES.label("shipping", shipping_code),
            "shipping_method_id": _id_out(ship.method_code) or 0,
            "shipping_method_name": ship.method_name,
            "shipping_amount": _num(ship_gross),
            "shipping_tax_amount": _num(ship_tax),
            "total_amount": money_out(order.totals.grand_total),
            "currency": order.currency,
            "customer_id": _id_out(customer.id),
            "customer_email": customer.email or (billing.email if billing else None),
            "customer_lang": customer.locale,
            "customer_note": order.notes.customer,
            "date_created": _iso(order.created_at),
            "date_modified": _iso(order.updated_at),
        })
        totals = order.totals
        for key, value in (("subtotal_excluding_tax", totals.subtotal), ("subtotal_including_tax",
                           totals.subtotal_incl_tax), ("discount_amount", totals.discount), ("tax_amount", totals.tax)):
            if value is not None:
                out[key] = money_out(value)
        for prefix, address in (("billing", billing), ("shipping", shipping)):
            name = join_name(address.first_name, address.last_name, address.full_name) if address else None
            if prefix == "billing" and name is None:
                name = join_name(customer.first_name, customer.last_name, customer.full_name)
            out[f"{prefix}_name"] = name
            out[f"{prefix}_country_code"] = address.country_code if address else None
            out[f"{prefix}_country_name"] = address.country if address else None
            out[f"{prefix}_state"] = (address.region or address.region_code) if address else None
            out[f"{prefix}_city"] = address.city if address else None
            out[f"{prefix}_address"] = _street(address) if address else None
            out[f"{prefix}_postal_code"] = address.postal_code if address else None
            out[f"{prefix}_phone"] = address.phone if address else None
        out["billing_company_name"] = billing.company if billing else None
        shipment = _first_live_shipment(order)
        out["shipping_awb"] = shipment.tracking_number if shipment else None
        out["shipping_carrier_id"] = shipment.carrier if shipment else None
        out["date_shipped"] = _iso(shipment.shipped_at) if shipment else None
        out["date_delivered"] = _iso(shipment.delivered_at) if shipment else None
        staff = order.notes.staff
        kept_notes = extra.get("internal_notes")
        if staff is None:
            out["internal_notes"] = kept_notes if kept_notes else None
        elif not (isinstance(kept_notes, list) and "\n".join(
                str(n.get("text")) for n in kept_notes if isinstance(n, dict) and n.get("text")) == staff):
            out["internal_notes"] = [{"id": None, "text": staff}]
        tags = list(extra.get("tags") or []) if isinstance(extra.get("tags"), list) else []
        if order.mirror_of and not any(isinstance(t, dict) and t.get("name") == order.mirror_of for t in tags):
            tags.append({"id": None, "name": order.mirror_of})
        out["tags"] = tags or None
        items = [self._render_line(line, index) for index, line in enumerate(order.lines)]
        if isinstance(others, list):
            items.extend(others)
        out["line_items"] = items
        return out

    def _render_codes(self, order: NeutralOrder) -> tuple[str | None, str | None]:
        raw = order.raw_status
        payment_code, shipping_code = self._codes(order, STATUSES)
        if raw.platform == PLATFORM:
            pay = STATUSES.inbound_for("payment", raw.payment_code)
            if pay is not None and pay.payment_status == order.payment_status:
                payment_code = raw.payment_code
            ship = STATUSES.inbound_for("shipping", raw.fulfillment_code)
            if ship is not None and (ship.status, ship.fulfillment_status) == (order.status, order.fulfillment_status):
                shipping_code = raw.fulfillment_code
        return payment_code, shipping_code

    @staticmethod
    def _render_line(line: Line, index: int) -> dict[str, Any]:
        out = dict(line.extra)
        if line.source_line_id is not None and line.source_line_id != str(index + 1):
            out["id"] = _id_out(line.source_line_id)
        net, gross = line.unit_price, line.unit_price_incl_tax
        out.update({
            "item_type": "product",
            "product_id": _id_out(line.product_ref),
            "variant_id": _id_out(line.variant_ref),
            "product_sku": line.sku,
            "product_name": line.name,
            "product_tax_percent": _num(line.tax_rate),
            "quantity": line.quantity,
            "unit_price_net": money_out(net),
            "unit_tax_amount": _num(gross - net) if gross is not None else out.get("unit_tax_amount"),
            "unit_price_gross": _num(gross),
            "line_subtotal_net": _num(line.total_excl_tax),
            "line_tax_amount": _num(line.tax_amount),
            "line_subtotal_gross": _num(line.total),
        })
        if line.options:
            kept = out.get("variant_options")
            ids = {o.get("name"): o.get("id") for o in kept if isinstance(o, dict)} if isinstance(kept, list) else {}
            out["variant_options"] = [{"id": ids.get(o.name), "name": o.name, "value": o.value} for o in line.options]
            out.setdefault("variant_name", ", ".join(f"{o.name}: {o.value}" for o in line.options))
        return out

    def calls(self, payload: WriteModel) -> list[Call]:
        """The HTTP calls a MerchantPro write model becomes (``{order_id}`` filled at sync)."""
        base = "/api/v2/orders"
        order = f"{base}/{{order_id}}"
        if isinstance(payload, MerchantProOrderCreate):
            return [Call("POST", base, payload.body(), "create the order (stamped with the reference tag)")]
        if isinstance(payload, MerchantProOrderUpdate):
            return [Call("PATCH", order, payload.body(), "update order fields")]
        if isinstance(payload, MerchantProStatusUpdate):
            out = []
            if payload.payment_status:
                out.append(Call("PATCH", order, {"payment_status": payload.payment_status}, "set the payment status"))
            if payload.transition:
                out.append(Call("PATCH", f"{order}/{payload.transition}", None,
                                f"move the shipping status to {payload.transition}"))
            return out
        if isinstance(payload, MerchantProShipment):
            body = {"shipping_awb": payload.shipping_awb}
            if payload.shipping_carrier_id:
                body["shipping_carrier_id"] = payload.shipping_carrier_id
            out = [Call("PATCH", order, body, "record the AWB and carrier")]
            if payload.transition:
                out.append(Call("PATCH", f"{order}/{payload.transition}", None, f"mark the order {payload.transition}"))
            return out
        if isinstance(payload, MerchantProShipmentUpdate):
            return [Call("PATCH", order, payload.body(), "change the AWB/carrier")]
        if isinstance(payload, MerchantProCancel):
            out = [Call("PATCH", f"{order}/cancelled", None, "cancel the order")]
            if payload.payment_status:
                out.append(Call("PATCH", order, {"payment_status": payload.payment_status}, "record the payment"))
            return out
        raise TypeError(f"not a MerchantPro write model: {type(payload).__name__}")


MAPPING = MerchantProMapping()
"""The MerchantPro mapping instance (what :func:`mappings.mapping_for` returns)."""


def to_neutral(payload: Any, **kw: Any) -> NeutralOrder:
    """Read one MerchantPro order into the neutral order (see :meth:`MerchantProMapping.to_neutral`)."""
    return MAPPING.to_neutral(payload, **kw)


def from_neutral(order: NeutralOrder, ctx: TargetContext | None = None, operation: str = "create") -> WriteModel | None:
    """Build MerchantPro's write model for ``operation`` (create, status, cancel) on ``order``."""
    ctx = ctx or TargetContext()
    if operation == "create":
        return MAPPING.create_payload(order, ctx)
    if operation == "status":
        return MAPPING.status_payload(order, ctx)
    if operation == "cancel":
        return MAPPING.cancel_payload(order, ctx)
    raise ValueError(f"unknown operation {operation!r} (create, status, cancel)")

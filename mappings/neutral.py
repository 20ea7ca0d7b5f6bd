"""The neutral order: one schema every platform's order converts into and out of.

Field names here are the public contract: ``ordersync.toml`` status maps, custom mappings and the
sync engine's checks refer to them. Add fields; never rename them.

Conventions:

- **Money** is ``Decimal`` in the order's ``currency`` (ISO 4217), written in JSON as a string
  (``"64.99"``). Amounts are kept as the source declared them; :mod:`mappings.money` only drops
  trailing zeros past the currency's minor unit.
- **Times** are timezone-aware UTC.
- **Totals** are as the platform declared them, never recomputed to overwrite the source; a
  mismatch with the lines is reported in ``warnings``.
- **Nothing is dropped silently**: every source field with no home here is kept verbatim in
  ``extra[<platform>]`` (order level) or ``Line.extra`` (line level).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from mappings.money import Amount, MaybeAmount

__all__ = [
    "FULFILLMENT_STATUSES",
    "ORDER_STATUSES",
    "PAYMENT_STATUSES",
    "Address",
    "Customer",
    "Discount",
    "Fee",
    "FulfillmentStatus",
    "Line",
    "LineOption",
    "NeutralOrder",
    "Notes",
    "OrderStatus",
    "Payment",
    "PaymentStatus",
    "RawStatus",
    "Shipment",
    "ShipmentLine",
    "Shipping",
    "SourceRef",
    "Totals",
]

OrderStatus = Literal["pending", "processing", "on_hold", "completed", "cancelled", "archived"]
"""Where the order is in its life: waiting, being worked on, held, done, cancelled, or archived."""

PaymentStatus = Literal[
    "unpaid", "authorized", "partially_paid", "paid", "partially_refunded", "refunded", "voided", "failed"
]
"""Where the money is."""

FulfillmentStatus = Literal[
    "unfulfilled", "partially_shipped", "shipped", "partially_delivered", "delivered", "returned", "cancelled"
]
"""Where the goods are."""

ORDER_STATUSES: tuple[OrderStatus, ...] = ("pending", "processing", "on_hold", "completed", "cancelled", "archived")
PAYMENT_STATUSES: tuple[PaymentStatus, ...] = (
    "unpaid", "authorized", "partially_paid", "paid", "partially_refunded", "refunded", "voided", "failed",
)
FULFILLMENT_STATUSES: tuple[FulfillmentStatus, ...] = (
    "unfulfilled", "partially_shipped", "shipped", "partially_delivered", "delivered", "returned", "cancelled",
)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=False, ser_json_timedelta="iso8601")


class SourceRef(_Model):
    """Where the order comes from: platform, store name, the platform's id, and its visible number."""

    platform: str = Field(description="bigcommerce | merchantpro | cscart | evershop.")
    store: str | None = Field(default=None, description="The store's name in ordersync.toml, if known.")
    id: str = Field(description="The id used in the platform's API paths (EverShop: the order uuid).")
    number: str | None = Field(default=None, description="The number shown to merchant and customer.")


class RawStatus(_Model):
    """The platform's own status values, kept beside the neutral ones."""

    platform: str
    code: str | None = Field(default=None, description="BigCommerce status_id, CS-Cart letter, EverShop status.")
    label: str | None = Field(default=None, description="The human label, e.g. 'Awaiting Fulfillment'.")
    payment_code: str | None = Field(default=None, description="A separate payment status, where the platform has one.")
    fulfillment_code: str | None = Field(
        default=None, description="A separate shipping status, where the platform has one."
    )


class Customer(_Model):
    """The buyer. ``id`` is the platform's customer id (``None`` for guests)."""

    id: str | None = None
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    locale: str | None = None
    full_name: str | None = Field(default=None, description="The name as sent, when it came whole.")


class Address(_Model):
    """A postal address. Whole names are split predictably (last word = last name); ``full_name`` keeps
    the original."""

    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    region: str | None = Field(default=None, description="State/province/county name as sent.")
    region_code: str | None = Field(default=None, description="State/province code, e.g. 'CA' or 'US-CA'.")
    postal_code: str | None = None
    country_code: str | None = Field(default=None, description="ISO 3166-1 alpha-2.")
    phone: str | None = None
    email: str | None = None
    full_name: str | None = Field(default=None, description="The name as sent, when it came whole.")
    country: str | None = Field(default=None, description="Country name as sent, if any.")
    source_address_id: str | None = Field(
        default=None, description="The platform's id for this address (BigCommerce order_address_id)."
    )


class LineOption(_Model):
    """A chosen product option, as display name and value."""

    name: str
    value: str


class Line(_Model):
    """One order line. Prices are per unit; ``total`` is the line total after line discounts,
    including tax; ``total_excl_tax`` the same without tax."""

    source_line_id: str | None = Field(default=None, description="The platform's line id.")
    sku: str | None = None
    name: str | None = None
    product_ref: str | None = Field(default=None, description="The platform's product id.")
    variant_ref: str | None = Field(default=None, description="The platform's variant id.")
    options: list[LineOption] = Field(default_factory=list)
    quantity: int
    unit_price: Amount = Field(description="Unit price excluding tax, before line discounts.")
    unit_price_incl_tax: MaybeAmount = None
    tax_rate: Decimal | None = Field(default=None, description="Tax rate in percent, e.g. 19 for 19 %.")
    tax_amount: MaybeAmount = Field(default=None, description="Tax on the whole line.")
    discount_amount: MaybeAmount = Field(default=None, description="Discount on the whole line.")
    total: MaybeAmount = None
    total_excl_tax: MaybeAmount = None
    quantity_shipped: int | None = None
    quantity_refunded: int | None = None
    parent_line_id: str | None = Field(default=None, description="Bundle parent line (BigCommerce bundles).")
    extra: dict[str, Any] = Field(default_factory=dict, description="Unmapped line fields, verbatim.")


class Shipping(_Model):
    """The shipping charge and method."""

    method_code: str | None = None
    method_name: str | None = None
    amount: MaybeAmount = Field(default=None, description="Shipping excluding tax.")
    amount_incl_tax: MaybeAmount = None
    tax_amount: MaybeAmount = None


class Discount(_Model):
    """An order-level discount (coupon, manual, promotion). ``amount`` is positive."""

    code: str | None = None
    amount: Amount
    name: str | None = None


class Fee(_Model):
    """A charge that is neither goods nor shipping: handling, wrapping, payment surcharge, custom."""

    kind: str = Field(description="handling | wrapping | payment_surcharge | custom | ...")
    amount: Amount
    amount_incl_tax: MaybeAmount = None
    name: str | None = None


class Totals(_Model):
    """Order totals exactly as the platform declared them."""

    subtotal: MaybeAmount = Field(default=None, description="Goods before order discounts, excluding tax.")
    discount: MaybeAmount = None
    shipping: MaybeAmount = Field(default=None, description="Shipping excluding tax.")
    tax: MaybeAmount = None
    grand_total: Amount
    subtotal_incl_tax: MaybeAmount = None
    refunded: MaybeAmount = None


class Payment(_Model):
    """How the order is paid."""

    method_code: str | None = None
    method_name: str | None = None
    transaction_id: str | None = None


class ShipmentLine(_Model):
    """A line and quantity in a shipment."""

    source_line_id: str | None = None
    sku: str | None = None
    quantity: int


class Shipment(_Model):
    """A shipment with its tracking."""

    source_shipment_id: str | None = None
    carrier: str | None = None
    tracking_number: str | None = None
    tracking_url: str | None = None
    shipped_at: AwareDatetime | None = None
    lines: list[ShipmentLine] = Field(default_factory=list)
    status: Literal["shipped", "delivered", "cancelled"] = "shipped"
    delivered_at: AwareDatetime | None = None
    comment: str | None = None


class Notes(_Model):
    """Free text: the customer's message and the staff's notes."""

    customer: str | None = None
    staff: str | None = None


class NeutralOrder(_Model):
    """An order from any platform, in one schema. See the module docstring for the conventions."""

    schema_version: int = 1
    source: SourceRef
    created_at: AwareDatetime
    updated_at: AwareDatetime | None = Field(
        default=None, description="Last change on the source, when the platform records it honestly."
    )
    currency: str = Field(min_length=3, max_length=3, description="ISO 4217 code, upper case.")
    prices_include_tax: bool = False
    status: OrderStatus
    payment_status: PaymentStatus
    fulfillment_status: FulfillmentStatus
    raw_status: RawStatus
    customer: Customer = Field(default_factory=Customer)
    billing_address: Address | None = None
    shipping_address: Address | None = None
    shipping_addresses: list[Address] = Field(
        default_factory=list, description="Every shipping address, where a platform has several."
    )
    lines: list[Line] = Field(default_factory=list)
    shipping: Shipping = Field(default_factory=Shipping)
    discounts: list[Discount] = Field(default_factory=list)
    fees: list[Fee] = Field(default_factory=list)
    totals: Totals
    payment: Payment = Field(default_factory=Payment)
    shipments: list[Shipment] = Field(default_factory=list)
    notes: Notes = Field(default_factory=Notes)
    mirror_of: str | None = Field(
        default=None,
        description="ordersync's reference found on this order: it is itself a mirror we created.",
    )
    extra: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Source fields with no neutral home, verbatim, per platform."
    )
    warnings: list[str] = Field(default_factory=list, description="What the mapping noticed.")

    def to_json(self) -> bytes:
        """Compact JSON (money as strings, times as ISO 8601 UTC)."""
        return orjson.dumps(self.model_dump(mode="json"))

    @property
    def key(self) -> str:
        """``platform:store:id`` — the order's identity across ordersync."""
        return f"{self.source.platform}:{self.source.store or ''}:{self.source.id}"

    def shipped_quantities(self) -> dict[str, int]:
        """Quantity shipped per line (by ``source_line_id`` or SKU), summed over live shipments."""
        shipped: dict[str, int] = {}
        for shipment in self.shipments:
            if shipment.status == "cancelled":
                continue
            for item in shipment.lines:
                key = item.source_line_id or item.sku or ""
                shipped[key] = shipped.get(key, 0) + item.quantity
        return shipped


def utc_now() -> datetime:
    """Now, as aware UTC (one place, so tests can see where time enters)."""
    from datetime import UTC

    return datetime.now(UTC)

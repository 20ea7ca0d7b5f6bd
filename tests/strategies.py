"""Hypothesis strategies shared by the mapping property tests.

``neutral_orders()`` draws valid, self-consistent neutral orders (totals add up, shipments refer
to existing lines) so round trips ``neutral → P → neutral`` can compare every field P carries.
``json_values()`` draws arbitrary JSON for "parsing never raises anything but InvalidPayload".
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from mappings.neutral import (
    Address,
    Customer,
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

__all__ = ["addresses", "json_values", "neutral_orders", "text_fields"]

_SAFE_TEXT = st.characters(
    codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp"), exclude_characters="\x00"
)


def text_fields(min_size: int = 1, max_size: int = 30) -> st.SearchStrategy[str]:
    """Printable text without leading/trailing blanks or doubled spaces (names, streets, cities)."""
    words = st.text(alphabet=_SAFE_TEXT.filter(lambda c: not c.isspace()), min_size=1, max_size=10)
    return st.lists(words, min_size=1, max_size=3).map(" ".join).filter(
        lambda s: min_size <= len(s) <= max_size
    )


def money(max_value: int = 10_000) -> st.SearchStrategy[Decimal]:
    """Non-negative amounts with two decimals."""
    return st.integers(min_value=0, max_value=max_value * 100).map(lambda cents: Decimal(cents).scaleb(-2))


@st.composite
def addresses(draw: st.DrawFn, email: str | None = None) -> Address:
    """A complete postal address with a split name (and the joined original)."""
    first = draw(text_fields(max_size=20))
    last = draw(text_fields(max_size=20).filter(lambda s: " " not in s))
    country, region_code, region = draw(st.sampled_from([
        ("US", "CA", "California"), ("US", "TX", "Texas"), ("RO", "B", "Bucuresti"), ("DE", "BE", "Berlin"),
    ]))
    return Address(
        first_name=first,
        last_name=last,
        full_name=f"{first} {last}",
        company=draw(st.none() | text_fields(max_size=30)),
        line1=draw(text_fields(max_size=40)),
        line2=draw(st.none() | text_fields(max_size=20)),
        city=draw(text_fields(max_size=25)),
        region=region,
        region_code=region_code,
        postal_code=draw(st.from_regex(r"\A[0-9]{5}\Z", fullmatch=True)),
        country_code=country,
        phone=draw(st.none() | st.from_regex(r"\A\+?[0-9]{7,12}\Z", fullmatch=True)),
        email=email,
    )


@st.composite
def neutral_orders(draw: st.DrawFn, platform: str = "neutral", currency: str | None = None) -> NeutralOrder:
    """A valid neutral order whose totals are consistent with its lines (tax-exclusive prices)."""
    currency = currency or draw(st.sampled_from(["USD", "EUR", "RON", "AUD", "KES"]))
    created = draw(st.datetimes(min_value=datetime(2015, 1, 1), max_value=datetime(2030, 1, 1),
                                timezones=st.just(UTC))).replace(microsecond=0)
    updated = created + timedelta(seconds=draw(st.integers(0, 10**6)))
    email = draw(st.from_regex(r"\A[a-z]{1,10}\.[a-z]{1,10}@example\.(com|org)\Z", fullmatch=True))
    billing = draw(addresses(email))
    shipping = draw(st.just(billing) | addresses(email))
    line_count = draw(st.integers(1, 4))
    lines: list[Line] = []
    skus = draw(st.lists(st.from_regex(r"\A[A-Z]{2,5}-[0-9]{1,4}\Z", fullmatch=True), min_size=line_count,
                         max_size=line_count, unique=True))
    for index, sku in enumerate(skus):
        quantity = draw(st.integers(1, 5))
        unit = draw(money(500))
        rate = draw(st.sampled_from([Decimal(0), Decimal(19), Decimal(10)]))
        unit_tax = (unit * rate / 100).quantize(Decimal("0.01"))
        options = draw(st.lists(st.builds(LineOption, name=text_fields(max_size=12), value=text_fields(max_size=12)),
                                max_size=2))
        lines.append(Line(
            source_line_id=str(index + 1),
            sku=sku,
            name=draw(text_fields(max_size=40)),
            options=options,
            quantity=quantity,
            unit_price=unit,
            unit_price_incl_tax=unit + unit_tax,
            tax_rate=rate,
            tax_amount=unit_tax * quantity,
            discount_amount=Decimal("0.00"),
            total=(unit + unit_tax) * quantity,
            total_excl_tax=unit * quantity,
        ))
    subtotal = sum((line.total_excl_tax or Decimal(0) for line in lines), Decimal(0))
    tax = sum((line.tax_amount or Decimal(0) for line in lines), Decimal(0))
    ship_amount = draw(money(50))
    status, payment, fulfillment = draw(st.sampled_from([
        ("pending", "unpaid", "unfulfilled"),
        ("processing", "paid", "unfulfilled"),
        ("processing", "paid", "partially_shipped"),
        ("processing", "paid", "shipped"),
        ("completed", "paid", "delivered"),
        ("cancelled", "voided", "cancelled"),
        ("on_hold", "authorized", "unfulfilled"),
    ]))
    shipments: list[Shipment] = []
    if fulfillment == "partially_shipped" and len(lines) == 1 and lines[0].quantity == 1:
        fulfillment = "shipped"  # one unit cannot ship partially
    if fulfillment in ("shipped", "partially_shipped", "delivered"):
        shipped_lines = lines if fulfillment != "partially_shipped" else lines[:1]
        shipments.append(Shipment(
            source_shipment_id="1",
            carrier=draw(st.sampled_from(["ups", "fedex", "usps", "custom"])),
            tracking_number=draw(st.from_regex(r"\A[A-Z0-9]{8,18}\Z", fullmatch=True)),
            shipped_at=updated,
            lines=[ShipmentLine(source_line_id=line.source_line_id, sku=line.sku,
                                quantity=line.quantity if fulfillment != "partially_shipped" or len(lines) > 1
                                else max(1, line.quantity - 1))
                   for line in shipped_lines],
            status="delivered" if fulfillment == "delivered" else "shipped",
        ))
    return NeutralOrder(
        source=SourceRef(platform=platform, store="hypo", id=str(draw(st.integers(1, 10**8))),
                         number=str(draw(st.integers(1, 10**8)))),
        created_at=created,
        updated_at=updated,
        currency=currency,
        prices_include_tax=False,
        status=status,
        payment_status=payment,
        fulfillment_status=fulfillment,
        raw_status=RawStatus(platform=platform),
        customer=Customer(email=email, first_name=billing.first_name, last_name=billing.last_name,
                          phone=billing.phone),
        billing_address=billing,
        shipping_address=shipping,
        shipping_addresses=[shipping],
        lines=lines,
        shipping=Shipping(method_name=draw(st.sampled_from(["Standard", "Express", None])), amount=ship_amount,
                          amount_incl_tax=ship_amount, tax_amount=Decimal("0.00")),
        totals=Totals(subtotal=subtotal, discount=Decimal("0.00"), shipping=ship_amount, tax=tax,
                      grand_total=subtotal + tax + ship_amount),
        payment=Payment(method_code=draw(st.sampled_from(["cod", "manual", None])), method_name=None),
        shipments=shipments,
        notes=Notes(customer=draw(st.none() | text_fields(max_size=60)), staff=None),
    )


def json_values() -> st.SearchStrategy[Any]:
    """Arbitrary JSON documents (objects, arrays, scalars), for fuzzing parsers."""
    scalars = st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.floats(allow_nan=False) | st.text(
        max_size=20)
    return st.recursive(scalars, lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.text(max_size=12), children, max_size=6), max_leaves=30)

"""BigCommerce wire models: lenient reads, strict allow-listed writes, RFC 2822 dates both ways."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from connectors.bigcommerce.wire import (
    READ_ONLY_ORDER_FIELDS,
    BCOrder,
    BCOrderCreate,
    BCOrderProduct,
    BCOrderProductWrite,
    BCOrderUpdate,
    BCShipment,
    BCShipmentCreate,
    BCWebhook,
    format_rfc2822,
    parse_bc_date,
)
from connectors.errors import InvalidPayload
from connectors.wire import parse_wire
from tests.connectors.bigcommerce.samples import sample


def test_dates() -> None:
    assert parse_bc_date("Tue, 05 Mar 2019 21:40:11 +0000") == datetime(2019, 3, 5, 21, 40, 11, tzinfo=UTC)
    assert parse_bc_date("Tue, 05 Mar 2019 23:40:11 +0200") == datetime(2019, 3, 5, 21, 40, 11, tzinfo=UTC)
    assert parse_bc_date("2017-04-20T11:32:00.000-04:00") == datetime(2017, 4, 20, 15, 32, tzinfo=UTC)
    assert parse_bc_date("") is None
    assert parse_bc_date(None) is None
    assert parse_bc_date("  ") is None
    with pytest.raises(ValueError, match="RFC 2822"):
        parse_bc_date("Thu, 31 Feb 2026 25:00:00 +0000")
    assert format_rfc2822(datetime(2012, 11, 20, tzinfo=UTC)) == "Tue, 20 Nov 2012 00:00:00 +0000"
    assert format_rfc2822(datetime(2012, 11, 20, 2, tzinfo=timezone(timedelta(hours=2)))) == (
        "Tue, 20 Nov 2012 00:00:00 +0000")


@given(st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)))
def test_rfc2822_round_trip(moment: datetime) -> None:
    moment = moment.replace(microsecond=0)
    assert parse_bc_date(format_rfc2822(moment)) == moment


def test_order_reads_loose_types_and_keeps_unknown_fields(shared: Path) -> None:
    order = parse_wire(BCOrder, sample(shared, "09_nango_order_100_guest_awaiting_fulfillment_KES.json"), what="o")
    assert order.total_inc_tax == Decimal("109.0000")
    assert order.date_shipped is None
    assert order.link("products") == "/orders/100/products"
    assert order.link("fees") == "/orders/100/fees"
    assert order.link("nothing") is None
    assert order.model_extra is not None
    assert order.model_extra["custom_status"] == "Awaiting Fulfillment"
    loose = parse_wire(BCOrder, {"id": "7", "status_id": "11", "date_created": "Tue, 20 Nov 2012 00:00:00 +0000",
                                 "total_inc_tax": 924.47, "payment_provider_id": 123, "billing_address": {"zip": 2000}},
                       what="o")
    assert (loose.id, loose.status_id, loose.total_inc_tax) == (7, 11, Decimal("924.47"))
    assert loose.payment_provider_id == "123"
    assert loose.billing_address is not None
    assert loose.billing_address.zip == "2000"
    with pytest.raises(InvalidPayload) as caught:
        parse_wire(BCOrder, {"id": 1, "status_id": 1, "date_created": "x", "total_inc_tax": "1"}, what="o")
    assert caught.value.field == "date_created"


def test_products_and_shipments(shared: Path) -> None:
    products = sample(shared, "06_aligent_order_149_products_options_discounts_bundle.json")
    towel, bundled = (BCOrderProduct.model_validate(p) for p in products)
    assert towel.applied_discounts is not None
    assert towel.applied_discounts[0].amount == Decimal("1.59")
    assert towel.product_options is not None
    assert towel.product_options[1].display_value == "Orange"
    assert bundled.parent_order_product_id == 65
    with pytest.raises(ValidationError):
        BCOrderProduct.model_validate({"id": 1, "price_ex_tax": "1"})  # a line without quantity
    shipment = BCShipment.model_validate(sample(shared, "from_official_spec/spec_POST_shipment_response.json"))
    assert [i.order_product_id for i in shipment.items] == [194, 195]
    hook = BCWebhook.model_validate(sample(shared, "webhooks/store_shipment_created.json"))
    assert (hook.data.id, hook.data.orderId) == ("12", "251")


def test_create_model_is_allow_listed() -> None:
    base = {"billing_address": {"zip": "78701", "country_iso2": "US"}, "products": [{"product_id": 80, "quantity": 1}]}
    assert BCOrderCreate.model_validate(base).body() == base
    for field in READ_ONLY_ORDER_FIELDS:
        with pytest.raises(ValidationError):
            BCOrderCreate.model_validate({**base, field: "x"})
    with pytest.raises(ValidationError, match="together"):
        BCOrderCreate.model_validate({**base, "shipping_cost_ex_tax": "1"})
    with pytest.raises(ValidationError):
        BCOrderCreate.model_validate({**base, "products": []})
    with pytest.raises(ValidationError):
        BCOrderCreate.model_validate({**base, "status_id": 15})
    with pytest.raises(ValidationError):
        BCOrderUpdate.model_validate({"custom_status": "x"})
    assert BCOrderCreate.model_validate({**base, "discount_amount": Decimal("1E+1")}).body()["discount_amount"] == "10"


def test_product_rules() -> None:
    assert BCOrderProductWrite(name="Mug", quantity=1, price_ex_tax=Decimal(45), price_inc_tax=Decimal(50)).body() == {
        "name": "Mug", "quantity": 1, "price_ex_tax": "45", "price_inc_tax": "50"}
    with pytest.raises(ValidationError, match="both"):
        BCOrderProductWrite(product_id=80, quantity=1, price_ex_tax=Decimal(1))
    with pytest.raises(ValidationError, match="custom product"):
        BCOrderProductWrite(quantity=1, price_ex_tax=Decimal(1), price_inc_tax=Decimal(1))
    with pytest.raises(ValidationError):
        BCOrderProductWrite(product_id=80, quantity=0)


def test_shipment_create_always_sends_the_provider() -> None:
    body = BCShipmentCreate.model_validate({"order_address_id": 1, "items": [{"order_product_id": 2, "quantity": 1}],
                                            "shipping_provider": ""}).body()
    assert body == {"order_address_id": 1, "items": [{"order_product_id": 2, "quantity": 1}], "shipping_provider": ""}
    with pytest.raises(ValidationError):
        BCShipmentCreate(items=[], tracking_number="X" * 51)

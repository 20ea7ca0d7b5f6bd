"""Property tests: neutral → MerchantPro → neutral keeps what MerchantPro carries; parsing never crashes."""

from __future__ import annotations

import contextlib
import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.errors import InvalidPayload
from mappings.base import TargetContext
from mappings.merchantpro import MAPPING, STATUSES, to_neutral
from mappings.neutral import NeutralOrder
from tests.strategies import json_values, neutral_orders

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "merchantpro" / "order_full.json"
SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# neutral_orders() draws are costly (~50 ms each): fewer examples keep the suite under a minute.
NEUTRAL = settings(max_examples=45, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Triples MerchantPro represents exactly (payment x shipping axes).
EXACT = {("pending", "unpaid", "unfulfilled"), ("processing", "paid", "unfulfilled"),
         ("processing", "paid", "shipped"), ("completed", "paid", "delivered"),
         ("cancelled", "voided", "cancelled")}


def _fixture() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(FIXTURE.read_text(encoding="utf-8"))
    return data


def _street(line1: str | None, line2: str | None) -> str | None:
    parts = [p for p in (line1, line2) if p]
    return ", ".join(parts) if parts else None


@NEUTRAL
@given(neutral_orders(platform="neutral"))
def test_render_round_trip_keeps_what_merchantpro_carries(order: NeutralOrder) -> None:
    rendered = MAPPING.render(order)
    json.dumps(rendered)  # the rendered order is plain JSON
    back = to_neutral(json.loads(json.dumps(rendered)), store="hypo")
    assert back.source.id == order.source.id
    assert back.created_at == order.created_at
    assert back.updated_at == order.updated_at
    assert back.currency == order.currency
    assert back.customer.email == order.customer.email
    assert (back.customer.first_name, back.customer.last_name) == (order.customer.first_name, order.customer.last_name)
    for mine, theirs, company in ((order.billing_address, back.billing_address, True),
                                  (order.shipping_address, back.shipping_address, False)):
        assert mine is not None
        assert theirs is not None
        assert (theirs.first_name, theirs.last_name, theirs.full_name) == (
            mine.first_name, mine.last_name, mine.full_name)
        assert theirs.line1 == _street(mine.line1, mine.line2)
        assert (theirs.city, theirs.region, theirs.postal_code, theirs.country_code, theirs.phone) == (
            mine.city, mine.region, mine.postal_code, mine.country_code, mine.phone)
        if company:
            assert theirs.company == mine.company
    assert len(back.lines) == len(order.lines)
    for mine_line, their_line in zip(order.lines, back.lines, strict=True):
        assert (their_line.source_line_id, their_line.sku, their_line.name, their_line.quantity) == (
            mine_line.source_line_id, mine_line.sku, mine_line.name, mine_line.quantity)
        assert [(o.name, o.value) for o in their_line.options] == [(o.name, o.value) for o in mine_line.options]
        for field in ("unit_price", "unit_price_incl_tax", "tax_rate", "tax_amount", "total", "total_excl_tax"):
            assert getattr(their_line, field) == getattr(mine_line, field), field
    assert back.totals.grand_total == order.totals.grand_total
    assert back.totals.subtotal == order.totals.subtotal
    assert back.totals.tax == order.totals.tax
    assert back.shipping.amount_incl_tax == order.shipping.amount_incl_tax
    assert back.shipping.amount == order.shipping.amount
    assert back.totals.shipping == order.totals.shipping
    assert back.shipping.method_name == order.shipping.method_name
    assert back.payment.method_code == order.payment.method_code
    assert back.notes.customer == order.notes.customer
    live = [s for s in order.shipments if s.status != "cancelled"]
    if live:
        [shipment] = back.shipments
        assert (shipment.tracking_number, shipment.carrier, shipment.shipped_at) == (
            live[0].tracking_number, live[0].carrier, live[0].shipped_at)
    triple = (order.status, order.payment_status, order.fulfillment_status)
    if triple in EXACT:
        assert (back.status, back.payment_status, back.fulfillment_status) == triple
    # whatever MerchantPro cannot say, it says the same thing again on the next pass
    assert MAPPING.render(back)["shipping_status"] == rendered["shipping_status"]
    assert not [w for w in back.warnings if w.startswith("totals")]


@settings(NEUTRAL, max_examples=20)
@given(neutral_orders(platform="merchantpro", currency="RON"))
def test_create_payload_is_valid_for_any_neutral_order(order: NeutralOrder) -> None:
    ctx = TargetContext(reference=None)
    body = MAPPING.create_payload(order, ctx).body()
    assert [item["quantity"] for item in body["line_items"]] == [line.quantity for line in order.lines]
    assert body["payment_status"] == STATUSES.outbound_for("payment", order.status, order.payment_status,
                                                           order.fulfillment_status)


_KEYS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=3, max_size=12).map(lambda k: f"x_{k}")


@SETTINGS
@given(st.dictionaries(_KEYS, json_values(), min_size=1, max_size=4),
       st.dictionaries(_KEYS, json_values(), max_size=3))
def test_unmapped_fields_survive_in_extra(order_fields: dict[str, Any], line_fields: dict[str, Any]) -> None:
    raw = _fixture()
    raw.update(order_fields)
    raw["line_items"][0].update(line_fields)
    order = to_neutral(raw)
    for key, value in order_fields.items():
        assert order.extra["merchantpro"][key] == value
    for key, value in line_fields.items():
        assert order.lines[0].extra[key] == value
    rendered = MAPPING.render(order)
    assert all(rendered[key] == value for key, value in order_fields.items())
    assert all(rendered["line_items"][0][key] == value for key, value in line_fields.items())


@SETTINGS
@given(json_values())
def test_arbitrary_json_raises_only_invalid_payload(value: Any) -> None:
    with contextlib.suppress(InvalidPayload):
        to_neutral(value)


_FIELDS = ["id", "total_amount", "currency", "date_created", "payment_status", "shipping_status", "line_items",
           "tags", "internal_notes", "shipping_amount", "shipping_tax_amount", "billing_name", "customer_id",
           "shipping_awb", "invoice", "date_delivered", "customer_email", "shipping_method_id"]
_LINE_FIELDS = ["quantity", "unit_price_net", "unit_price_gross", "product_sku", "variant_options",
                "product_id", "line_subtotal_gross", "item_type", "product_tax_percent"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(_FIELDS), json_values()), min_size=1, max_size=4),
       st.lists(st.tuples(st.integers(0, 2), st.sampled_from(_LINE_FIELDS), json_values()), max_size=3),
       st.lists(st.sampled_from(_FIELDS), max_size=2))
def test_mutated_orders_raise_only_invalid_payload(
    changes: list[tuple[str, Any]], line_changes: list[tuple[int, str, Any]], removed: list[str]
) -> None:
    raw = _fixture()
    for index, field, value in line_changes:
        raw["line_items"][index][field] = value
    for field, value in changes:
        raw[field] = value
    for field in removed:
        raw.pop(field, None)
    before = copy.deepcopy(raw)
    try:
        order = to_neutral(raw)
    except InvalidPayload:
        return
    finally:
        assert raw == before
    assert isinstance(order.totals.grand_total, Decimal)
    MAPPING.render(order)

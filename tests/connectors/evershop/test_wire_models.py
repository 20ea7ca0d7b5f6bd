"""EverShop read models: both order shapes, old and new spellings, and what is really invalid."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from connectors.errors import InvalidPayload
from connectors.evershop import CAPABILITIES
from connectors.evershop.wire import (
    ErrorEnvelope,
    GqlOrder,
    OrderRow,
    OrdersEnvelope,
    ShipmentCreated,
    ShipmentRow,
    TokenPair,
    cancelable,
    resolve_order_status,
    shipment_rollup,
)
from connectors.wire import parse_wire

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "evershop"


def body(shared: Path, step: str) -> Any:
    path = next((shared / "platforms" / "samples" / "evershop").glob(f"{step}_*.json"))
    return json.loads(path.read_text())["response"]["body"]


def test_rest_row_numbers_as_strings_and_as_json_numbers(shared: Path) -> None:
    row = parse_wire(OrderRow, body(shared, "22")["data"], what="order")
    assert row.grand_total == Decimal("64.9900")
    assert row.order_id == "1"
    assert row.created_at == datetime(2026, 11, 22, 7, 58, 47, 33000, tzinfo=UTC)
    assert row.items is not None
    assert row.items[0].qty == 1
    assert row.shipping_method_data is not None
    assert row.shipping_method_data.method_code == "9ca4bce5-1cae-4816-9e89-d9284abc9384"
    assert row.model_extra is not None
    assert row.model_extra["cart_id"] == 1
    event = json.loads((shared / "platforms" / "samples" / "evershop" / "webhooks.jsonl").read_text().splitlines()[0])
    numbers = parse_wire(OrderRow, event["body"]["data"], what="order")
    assert numbers.grand_total == Decimal("64.99")
    assert numbers.created_at == row.created_at


def test_older_rest_row_and_sql_dates() -> None:
    data = json.loads((FIXTURES / "rest_order_legacy.json").read_text())["data"]
    row = parse_wire(OrderRow, data, what="order")
    assert row.shipping_method_name == "Free Shipping"
    assert row.created_at == datetime(2023, 3, 1, 10, 20, 30)  # naive: the mapping reads it as UTC
    assert row.shipments is not None
    assert row.shipments[0].carrier_name == "fedex"
    assert row.items is not None
    assert isinstance(row.items[0].variant_options, str)


def test_graphql_order_and_collection(shared: Path) -> None:
    order = parse_wire(GqlOrder, body(shared, "30")["data"]["order"], what="order")
    assert order.orderId == "1"
    assert order.grandTotal is not None
    assert order.grandTotal.value == Decimal("64.99")
    assert order.createdAt is not None
    assert order.createdAt.value == datetime(2026, 11, 22, 7, 58, 47, 33000, tzinfo=UTC)
    assert order.unshippedItems is not None
    assert order.unshippedItems[0].orderItemId == "1"
    page = parse_wire(OrdersEnvelope, body(shared, "24"), what="orders")
    assert page.data.orders is not None
    assert page.data.orders.total == 1
    assert page.data.orders.currentFilters is not None
    assert [f.key for f in page.data.orders.currentFilters] == ["ob", "od", "page", "limit", "page"]
    partial = parse_wire(GqlOrder, body(shared, "45")["data"]["order"], what="order")
    assert partial.shipments is not None
    assert partial.shipments[0].deliveredAt is not None
    assert partial.shipments[0].shippedAt is None


def test_shipment_rows_new_and_old(shared: Path) -> None:
    created = parse_wire(ShipmentCreated, body(shared, "36"), what="shipment")
    assert created.data.shipment.carrier == "custom"
    assert created.data.shipment.status == "shipped"
    listed = body(shared, "41")["data"]
    rows = [parse_wire(ShipmentRow, row, what="shipment") for row in listed]
    assert rows[0].items is not None
    assert rows[0].items[0].order_item_id == "1"
    old = parse_wire(ShipmentRow, {"shipment_id": 50, "shipment_order_id": 12, "uuid": "dcc1", "carrier_name": "fedex",
                                   "tracking_number": "1223", "created_at": "2023-02-06 09:13:35"}, what="shipment")
    assert old.carrier_name == "fedex"
    assert old.status is None


def test_tokens_and_errors(shared: Path) -> None:
    tokens = parse_wire(TokenPair, body(shared, "01"), what="tokens")
    assert tokens.data.refreshToken
    refreshed = parse_wire(TokenPair, body(shared, "03"), what="tokens")
    assert refreshed.data.refreshToken is None
    error = parse_wire(ErrorEnvelope, body(shared, "27"), what="error")
    assert error.error.status == 500
    assert "currentPage" in error.error.message


@pytest.mark.parametrize(("payload", "field"), [
    ({"orderNumber": "1"}, "uuid"),
    ({"uuid": ""}, "uuid"),
    ({"uuid": "u", "grandTotal": {"value": "abc"}}, "grandTotal.value"),
    ({"uuid": "u", "grandTotal": {"value": True}}, "grandTotal.value"),
    ({"uuid": "u", "items": [{"productSku": "A"}]}, "items[0].qty"),
    ({"uuid": "u", "items": [{"qty": 1.5}]}, "items[0].qty"),
    ({"uuid": "u", "createdAt": {"value": "yesterday"}}, "createdAt.value"),
    ({"uuid": "u", "currency": "dollars"}, "currency"),
])
def test_graphql_rejects_what_is_really_invalid(payload: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidPayload) as caught:
        parse_wire(GqlOrder, payload, what="order")
    assert caught.value.field == field


@pytest.mark.parametrize(("payload", "field"), [
    ({"order_id": 1}, "uuid"),
    ({"uuid": "u", "grand_total": "NaN"}, "grand_total"),
    ({"uuid": "u", "items": [{"qty": -1}]}, "items[0].qty"),
    ({"uuid": "u", "shipments": [{"items": [{"order_item_id": 1}]}]}, "shipments[0].items[0].qty"),
])
def test_rest_rejects_what_is_really_invalid(payload: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidPayload) as caught:
        parse_wire(OrderRow, payload, what="order")
    assert caught.value.field == field


def test_status_vocabulary_matches_evershop() -> None:
    assert resolve_order_status("pending", "pending") == "new"
    assert resolve_order_status("pending", "unfullfilled") == "new"
    assert resolve_order_status("pending", "shipped") == "processing"
    assert resolve_order_status("paid", "delivered") == "completed"
    assert resolve_order_status("paid", "canceled") == "processing"
    assert resolve_order_status("canceled", "pending") == "canceled"
    assert resolve_order_status("canceled", "canceled") == "canceled"
    ordered = {"1": 1, "2": 2}
    assert shipment_rollup(ordered, {}) == "pending"
    assert shipment_rollup(ordered, {"shipped": {"1": 1}}) == "partially_shipped"
    assert shipment_rollup(ordered, {"shipped": {"1": 1, "2": 2}}) == "shipped"
    assert shipment_rollup(ordered, {"shipped": {"2": 2}, "delivered": {"1": 1}}) == "partially_delivered"
    assert shipment_rollup(ordered, {"delivered": {"1": 1, "2": 2}}) == "delivered"
    assert shipment_rollup(ordered, {"canceled": {"1": 1}}) == "partially_canceled"
    assert shipment_rollup(ordered, {"canceled": {"1": 1, "2": 2}}) == "canceled"
    assert shipment_rollup(ordered, {}, order_canceled=True) == "canceled"
    assert shipment_rollup({}, {}) == "delivered"
    assert cancelable("pending", "shipped")
    assert cancelable("canceled", "pending")
    assert not cancelable("paid", "pending")
    assert not cancelable("pending", "delivered")


def test_capabilities() -> None:
    assert CAPABILITIES.delete == "cancel_only"
    assert CAPABILITIES.reprices_from_catalog
    assert not CAPABILITIES.sets_status_directly
    assert not CAPABILITIES.cancel_idempotent
    assert CAPABILITIES.webhooks == "bridge"
    assert not CAPABILITIES.modified_since_filter
    assert "ordersync.ref" in CAPABILITIES.reference_field
    assert "120" in CAPABILITIES.rate_limit

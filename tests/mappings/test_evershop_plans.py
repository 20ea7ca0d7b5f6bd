"""Neutral → EverShop write plans: create via cart, derived statuses, shipments, cancel, the calls."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from connectors.base import OrderReference, ProductRef
from connectors.errors import InvalidPayload, UnknownSku
from connectors.evershop.write import (
    EverShopCancel,
    EverShopLegacyShipmentCreate,
    EverShopShipmentCreate,
    EverShopShipmentUpdate,
    EverShopStatusPlan,
)
from mappings import from_neutral, mapping_for
from mappings.base import TargetContext
from mappings.evershop import MAPPING, to_neutral
from mappings.neutral import Address, NeutralOrder, Shipment, ShipmentLine

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "evershop"


def fixture_order() -> NeutralOrder:
    """The hand-written GraphQL order (EUR, tax, coupon, two shipments, our reference)."""
    return to_neutral(json.loads((FIXTURES / "graphql_order_full.json").read_text()), store="es")


def fresh_target(order: NeutralOrder, **changes: Any) -> NeutralOrder:
    """``order`` as its EverShop mirror right after checkout: new/pending/pending, no shipments."""
    rendered = MAPPING.render(order.model_copy(update={
        "status": "pending", "payment_status": "unpaid", "fulfillment_status": "unfulfilled", "shipments": [],
        "raw_status": order.raw_status.model_copy(update={"platform": "neutral"}), **changes}))
    return to_neutral(rendered)


def test_mapping_is_registered() -> None:
    assert mapping_for("evershop") is MAPPING
    assert MAPPING.capabilities.creates_via_cart
    assert not MAPPING.capabilities.cancel_idempotent


def test_create_plan_from_a_tax_and_coupon_order() -> None:
    order = fixture_order()
    ctx = TargetContext(reference=OrderReference(key="ordersync:es:42"),
                        options={"shipping_method_code": "m-1", "payment_method_code": "cod"})
    plan = MAPPING.create_payload(order, ctx)
    body = plan.body()
    assert body["items"] == [{"sku": "TEE-M", "qty": 2}, {"sku": "MUG-BLK", "qty": 1}]
    assert body["customer_email"] == "mara.ionescu@example.org"
    assert body["customer_full_name"] == "Mara Elena Ionescu"
    assert body["shipping_address"] == {
        "full_name": "Mara Elena Ionescu", "address_1": "Str. Lipscani 12", "address_2": "Ap. 4",
        "city": "Bucuresti", "province": "RO-B", "country": "RO", "postcode": "030031",
        "telephone": "+40721000000"}
    assert body["billing_address"]["full_name"] == "Mara Ionescu"
    assert body["shipping_method_code"] == "m-1"
    assert body["payment_method_code"] == "cod"
    assert body["shipping_note"] == "Ring twice, please"
    assert body["reference"] == "ordersync:es:42"
    assert body["expected_grand_total"] == "72.16"
    text = " ".join(ctx.warnings)
    for expected in ("reprices", "order number", "created_at", "status", "discounts"):
        assert expected in text, expected


def test_province_is_built_from_country_and_region() -> None:
    order = fixture_order()
    address = Address(full_name="Ann Lee", line1="1 Main St", city="Austin", region="Texas", region_code="TX",
                      postal_code="78701", country_code="us", company="ACME")
    order = order.model_copy(update={"shipping_address": address, "billing_address": None,
                                     "shipping_addresses": [address]})
    ctx = TargetContext()
    plan = MAPPING.create_payload(order, ctx)
    assert plan.shipping_address.province == "US-TX"
    assert plan.shipping_address.country == "US"
    assert plan.billing_address == plan.shipping_address
    assert any("company" in w for w in ctx.warnings)
    assert any("billing_address" in w for w in ctx.warnings)
    assert any("reference" in w for w in ctx.warnings)


def test_missing_required_address_fields_are_named() -> None:
    order = fixture_order()
    address = Address(full_name="Ann Lee", line1=None, city="Austin", postal_code=None, country_code="US")
    order = order.model_copy(update={"shipping_address": address, "billing_address": address})
    with pytest.raises(InvalidPayload) as caught:
        MAPPING.create_payload(order, TargetContext())
    fields = [path for path, _ in caught.value.problems]
    assert fields == ["shipping_address.address_1", "shipping_address.province", "shipping_address.postcode"]


def test_lines_without_sku_and_unknown_skus() -> None:
    order = fixture_order()
    no_sku = order.model_copy(update={"lines": [order.lines[0].model_copy(update={"sku": None})]})
    with pytest.raises(InvalidPayload, match=r"lines\[0\]\.sku"):
        MAPPING.create_payload(no_sku, TargetContext())

    def catalog(sku: str) -> ProductRef:
        if sku == "MUG-BLK":
            raise UnknownSku(sku, platform="evershop")
        return ProductRef(sku=sku, product_id="3", price=Decimal("24.00"), stock=1)

    with pytest.raises(UnknownSku):
        MAPPING.create_payload(order, TargetContext(catalog=catalog))
    ctx = TargetContext(catalog=catalog)
    MAPPING.create_payload(order.model_copy(update={"lines": order.lines[:1]}), ctx)
    assert any("prices 'TEE-M' at 24.00" in w for w in ctx.warnings)
    assert any("in stock" in w for w in ctx.warnings)


def test_create_calls_are_the_cart_flow() -> None:
    order = fixture_order()
    plan = MAPPING.create_payload(order, TargetContext(reference=OrderReference(key="ordersync:es:42")))
    calls = [call.as_dict() for call in MAPPING.calls(plan)]
    assert [(c["method"], c["path"]) for c in calls] == [
        ("POST", "/api/carts"),
        ("POST", "/api/carts/{cart_id}/contacts"),
        ("POST", "/api/carts/{cart_id}/addresses"),
        ("POST", "/api/carts/{cart_id}/addresses"),
        ("POST", "/api/carts/{cart_id}/shippingMethods"),
        ("POST", "/api/carts/{cart_id}/paymentMethods"),
        ("POST", "/api/carts/{cart_id}/shippingNotes"),
        ("POST", "/api/orders"),
        ("PATCH", "/api/orders/{order_id}/metafields"),
    ]
    assert calls[0]["body"]["items"] == [{"sku": "TEE-M", "qty": 2}, {"sku": "MUG-BLK", "qty": 1}]
    assert calls[2]["body"]["type"] == "shipping"
    assert calls[3]["body"]["type"] == "billing"
    assert calls[4]["body"] == {"provider_code": "core", "method_code": "{shipping_method_code}"}
    assert calls[5]["body"] == {"method_code": "cod", "method_name": "Cash on Delivery"}
    assert calls[7]["body"] == {"cart_id": "{cart_id}"}
    assert calls[8]["body"] == {"metafields": {"ordersync": {"ref": "ordersync:es:42"}}}
    assert from_neutral(order, "evershop") is not None


def test_status_plan_captures_and_delivers() -> None:
    source = fixture_order()  # processing / paid / partially_delivered: shipment 1 delivered, 2 shipped
    target = fresh_target(source)
    shipped = target.model_copy(update={"shipments": [
        Shipment(source_shipment_id="t-1", tracking_number="RO123456", status="shipped",
                 lines=[ShipmentLine(source_line_id="101", sku="TEE-M", quantity=2)]),
        Shipment(source_shipment_id="t-2", tracking_number="RO654321", status="shipped",
                 lines=[ShipmentLine(source_line_id="102", sku="MUG-BLK", quantity=1)]),
    ]})
    plan = MAPPING.status_payload(source, TargetContext(current=shipped))
    assert isinstance(plan, EverShopStatusPlan)
    assert plan.capture_payment
    assert plan.deliver_shipments == ["t-1"]
    assert not plan.cancel
    calls = [(c.method, c.path) for c in MAPPING.calls(plan)]
    assert calls == [("POST", "/api/cod/captures"), ("POST", "/api/shipments/t-1/markDelivered")]


def test_status_plan_nothing_to_do_and_not_reachable() -> None:
    source = fixture_order().model_copy(update={"status": "pending", "payment_status": "unpaid",
                                                "fulfillment_status": "unfulfilled", "shipments": []})
    assert MAPPING.status_payload(source, TargetContext(current=fresh_target(source))) is None
    held = source.model_copy(update={"status": "on_hold", "payment_status": "authorized"})
    ctx = TargetContext(current=fresh_target(source))
    assert MAPPING.status_payload(held, ctx) is None
    assert any("on-hold" in w for w in ctx.warnings)
    assert any("authorized" in w for w in ctx.warnings)
    refunded = source.model_copy(update={"payment_status": "refunded"})
    ctx = TargetContext(current=fresh_target(source))
    plan = MAPPING.status_payload(refunded, ctx)
    assert plan is not None
    assert plan.capture_payment
    assert any("refunds" in w for w in ctx.warnings)


def test_status_plan_cancels_once_and_never_a_paid_order() -> None:
    source = fixture_order().model_copy(update={"status": "cancelled", "payment_status": "voided",
                                                "fulfillment_status": "cancelled"})
    target = fresh_target(source)
    plan = MAPPING.status_payload(source, TargetContext(current=target, options={"cancel_reason": "mirrored"}))
    assert plan is not None
    assert plan.cancel
    assert plan.cancel_reason == "mirrored"
    assert [c.path for c in MAPPING.calls(plan)][-1] == "/api/orders/{order_id}/cancel"
    already = to_neutral(MAPPING.render(target.model_copy(update={
        "raw_status": target.raw_status.model_copy(update={"code": "canceled", "payment_code": "canceled"})})))
    assert MAPPING.status_payload(source, TargetContext(current=already)) is None
    paid = to_neutral(MAPPING.render(target.model_copy(update={
        "raw_status": target.raw_status.model_copy(update={"payment_code": "paid", "code": "processing"})})))
    ctx = TargetContext(current=paid)
    assert MAPPING.status_payload(source, ctx) is None
    assert any("not cancelable" in w for w in ctx.warnings)


def test_shipment_plan_uses_target_item_ids_and_registered_carriers() -> None:
    source = fixture_order()
    target = fresh_target(source).model_copy(update={"lines": [
        line.model_copy(update={"source_line_id": str(500 + index)}) for index, line in enumerate(source.lines)]})
    shipment = Shipment(source_shipment_id="s1", carrier="UPS", tracking_number="1Z999", tracking_url="https://t/1",
                        lines=[ShipmentLine(source_line_id="101", quantity=2), ShipmentLine(sku="MUG-BLK", quantity=3)])
    ctx = TargetContext(current=target)
    payload = MAPPING.shipment_payload(shipment, source, ctx)
    assert isinstance(payload, EverShopShipmentCreate)
    assert payload.body() == {"items": [{"order_item_id": 500, "qty": 2}, {"order_item_id": 501, "qty": 1}],
                              "carrier": "custom", "tracking_number": "1Z999", "notifyCustomer": False}
    text = " ".join(ctx.warnings)
    assert "'custom' carrier" in text
    assert "over-shipping" in text
    assert "tracking URLs" in text
    mapped = MAPPING.shipment_payload(shipment, source, TargetContext(current=target,
                                                                      options={"carriers": {"ups": "ups"}}))
    assert isinstance(mapped, EverShopShipmentCreate)
    assert mapped.carrier == "ups"
    legacy = MAPPING.shipment_payload(shipment, source, TargetContext(options={"legacy_shipments": True}))
    assert isinstance(legacy, EverShopLegacyShipmentCreate)
    assert legacy.body() == {"carrier_name": "UPS", "tracking_number": "1Z999"}
    whole = MAPPING.shipment_payload(Shipment(tracking_number="X"), source, TargetContext(current=target))
    assert isinstance(whole, EverShopShipmentCreate)
    assert [(i.order_item_id, i.qty) for i in whole.items] == [(500, 2), (501, 1)]
    with pytest.raises(InvalidPayload):
        MAPPING.shipment_payload(shipment, source, TargetContext())
    done = target.model_copy(update={"shipments": [Shipment(source_shipment_id="t", lines=[
        ShipmentLine(source_line_id="500", quantity=2), ShipmentLine(source_line_id="501", quantity=1)])]})
    with pytest.raises(InvalidPayload, match="nothing left"):
        MAPPING.shipment_payload(shipment, source, TargetContext(current=done))


def test_shipment_update_and_cancel_payloads() -> None:
    source = fixture_order()
    target = source.model_copy(update={"shipments": [
        Shipment(source_shipment_id="t-1", carrier="custom", tracking_number="OLD", status="shipped",
                 lines=[ShipmentLine(source_line_id="101", sku="TEE-M", quantity=2)])]})
    changed = Shipment(tracking_number="NEW", carrier="custom",
                       lines=[ShipmentLine(source_line_id="101", sku="TEE-M", quantity=2)])
    update = MAPPING.shipment_update_payload(changed, TargetContext(current=target))
    assert isinstance(update, EverShopShipmentUpdate)
    assert update.body() == {"carrier": "custom", "tracking_number": "NEW"}
    assert [(c.method, c.path) for c in MAPPING.calls(update)] == [("PATCH", "/api/shipments/{shipment_id}")]
    same = changed.model_copy(update={"tracking_number": "OLD"})
    assert MAPPING.shipment_update_payload(same, TargetContext(current=target)) is None
    cancel = MAPPING.cancel_payload(source, TargetContext(options={"cancel_reason": "dup"}))
    assert isinstance(cancel, EverShopCancel)
    assert cancel.body() == {"reason": "dup"}
    canceled = source.model_copy(update={"raw_status": source.raw_status.model_copy(update={"code": "canceled"})})
    ctx = TargetContext(current=to_neutral(MAPPING.render(canceled)))
    MAPPING.cancel_payload(source, ctx)
    assert any("restock twice" in w for w in ctx.warnings)
    with pytest.raises(TypeError):
        MAPPING.calls(ProductRef(sku="x", product_id="1"))  # type: ignore[arg-type]  # not a write model


def test_render_keeps_evershop_codes_and_reference() -> None:
    order = fixture_order()
    rendered = MAPPING.render(order)
    assert rendered["status"]["code"] == "processing"
    assert rendered["shipmentStatus"]["code"] == "partially_delivered"
    assert rendered["metaData"] == {"erp": {"id": "E-77"}, "ordersync": {"ref": "ordersync:bc-main:981"}}
    assert rendered["shippingAddress"]["province"] == {"code": "RO-B", "name": "Bucuresti"}
    assert rendered["items"][0]["variantOptions"][0]["optionText"] == "M"
    back = to_neutral(rendered)
    assert back.lines == order.lines
    assert back.shipments == order.shipments
    assert back.extra == order.extra

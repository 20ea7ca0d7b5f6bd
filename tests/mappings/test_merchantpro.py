"""MerchantPro mapping: the seed page's examples and a full hand-written order, both ways."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from connectors.base import PLATFORMS, OrderReference, ProductRef
from connectors.errors import ConnectorError, InvalidPayload, Rejected, UnknownSku
from connectors.merchantpro.wire import (
    MerchantProCancel,
    MerchantProOrderCreate,
    MerchantProOrderList,
    MerchantProShipment,
    MerchantProShipmentUpdate,
    MerchantProStatusUpdate,
    MerchantProTagWrite,
    parse_lenient,
)
from mappings import mapping_for
from mappings.base import PlatformMapping, TargetContext
from mappings.merchantpro import MAPPING, STATUSES, MerchantProMapping, from_neutral, to_neutral
from mappings.neutral import NeutralOrder, Shipment, ShipmentLine
from tests.connectors.merchantpro.seed import seed_examples, seed_orders

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "merchantpro"
REF = OrderReference(key="ordersync:shop-a:1001")
TARGET_OPTIONS = {"payment_id": 2, "shipping_id": 1}  # what CS-Cart needs to create an order


def full_order() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / "order_full.json").read_text(encoding="utf-8"))
    return data


def catalog(sku: str) -> ProductRef:
    table = {
        "RMV-2231-M": ProductRef(sku=sku, product_id="2231", variant_id="10045512"),
        "CP-3310": ProductRef(sku=sku, product_id="3310"),
        "ES-3402": ProductRef(sku=sku, product_id="3402"),
    }
    if sku not in table:
        raise UnknownSku(sku, platform="merchantpro")
    return table[sku]


@pytest.fixture
def seed_page(shared: Path) -> Path:
    return shared / "seeds" / "merchantpro-orders.txt"


def sibling(platform: str) -> PlatformMapping | None:
    try:
        return mapping_for(platform)
    except (ImportError, AttributeError):
        return None


# -- contract ---------------------------------------------------------------------------------------


def test_mapping_is_the_registered_platform_mapping() -> None:
    assert isinstance(MAPPING, PlatformMapping)
    assert mapping_for("merchantpro") is MAPPING
    assert MerchantProMapping.capabilities.shipments == "order_fields"
    assert MerchantProMapping.capabilities.reference_field == "tags[].name"


# -- the seed page ------------------------------------------------------------------------------------


def test_seed_page_examples_are_all_read(seed_page: Path) -> None:
    examples = seed_examples(seed_page)
    assert len(examples) >= 15
    orders = seed_orders(seed_page)
    assert {o["id"] for o in orders} == {11089919, 64098294, 12345001, 69291306}
    for order in orders:
        neutral = to_neutral(order, store="seed")
        assert neutral.source.platform == "merchantpro"
        assert neutral.total_check if hasattr(neutral, "total_check") else True
        assert not [w for w in neutral.warnings if w.startswith("totals")], neutral.warnings


def test_seed_list_row_without_lines(seed_page: Path) -> None:
    row = next(o for o in seed_orders(seed_page) if o["id"] == 11089919)
    assert "Info_url" in row  # the real spelling drift, kept verbatim
    order = to_neutral(row)
    assert order.source.id == "11089919"
    assert order.totals.grand_total == Decimal("30.23")
    assert order.shipping.amount_incl_tax == Decimal("15")
    assert order.shipping.tax_amount == Decimal("2.39")
    assert order.shipping.amount == Decimal("12.61")
    assert order.totals.shipping == Decimal("12.61")
    assert order.shipping.method_name == "Speedy"
    assert order.shipping.method_code == "3"
    assert order.lines == []
    assert (order.status, order.payment_status, order.fulfillment_status) == ("pending", "unpaid", "unfulfilled")
    assert order.raw_status.payment_code == "awaiting"
    assert order.raw_status.fulfillment_code == "awaiting"
    assert order.created_at == datetime(2019, 12, 5, 14, 11, 23, tzinfo=UTC)
    assert order.customer.email == "john.smith@yahoo.com"
    assert (order.customer.first_name, order.customer.last_name, order.customer.full_name) == (
        "John", "Smith", "John Smith")
    assert order.customer.locale == "ro_RO"
    billing = order.billing_address
    assert billing is not None
    assert (billing.line1, billing.city, billing.region, billing.postal_code, billing.country_code,
            billing.country) == ("str Rose Hill, nr. 45", "Bucuresti", "Bucuresti", "100167", "RO", "România")
    assert order.payment.method_code == "cash_delivery"
    extra = order.extra["merchantpro"]
    assert extra["Info_url"].endswith("/11089919")
    assert extra["billing_type"] == "individual"
    assert extra["customer_ip_address"] == "166.176.119.218"
    assert extra["payment_status_text"] == "Plata in asteptare"


def test_seed_include_line_items_row(seed_page: Path) -> None:
    row = next(o for o in seed_orders(seed_page) if o["id"] == 64098294)
    order = to_neutral(row)
    assert order.totals.grand_total == Decimal("526.55")
    [line] = order.lines
    assert (line.sku, line.quantity, line.product_ref) == ("3484", 1, "1958")
    assert line.unit_price == Decimal("307.05")
    assert line.unit_price_incl_tax == Decimal("365.39")
    assert line.tax_rate == Decimal(19)
    assert line.tax_amount == Decimal("58.34")
    assert line.total == Decimal("365.39")
    assert line.total_excl_tax == Decimal("307.05")
    assert [(o.name, o.value) for o in line.options] == [("Culoare", "alb")]
    assert line.extra["variant_name"] == "Culoare: alb"
    assert line.extra["product_ean"] == "7562461441110"
    assert line.extra["variant_options"][0]["id"] == 1


def test_seed_detail_with_null_skus(seed_page: Path) -> None:
    detail = next(o for o in seed_orders(seed_page) if o["id"] == 12345001 and o["parent_id"] == 39787708)
    order = to_neutral(detail)
    assert [(line.sku, line.quantity, line.total) for line in order.lines] == [
        (None, 1, Decimal("218.99")), (None, 2, Decimal("234.06"))]
    assert order.totals.grand_total == Decimal("453.05")
    assert order.shipping.amount is None
    assert order.totals.shipping is None
    assert order.extra["merchantpro"]["invoice"]["number"] == "0000010"
    assert order.extra["merchantpro"]["parent_id"] == 39787708
    assert order.customer.id == "2"
    billing = order.billing_address
    assert billing is not None
    assert billing.line1 is None
    assert billing.postal_code is None


def test_seed_patch_answer_is_cancelled(seed_page: Path) -> None:
    answer = next(o for o in seed_orders(seed_page) if o["id"] == 12345001 and o["parent_id"] == 61001305)
    order = to_neutral(answer)
    assert (order.status, order.payment_status, order.fulfillment_status) == ("cancelled", "voided", "cancelled")
    assert order.updated_at == datetime(2020, 5, 2, 7, 50, 12, tzinfo=UTC)
    assert order.shipping.amount == Decimal(15)
    assert order.shipping.tax_amount == Decimal(0)
    assert order.extra["merchantpro"]["tags"] == [{"id": 1, "name": "Feedback excelent"}]
    assert order.mirror_of is None
    [line] = order.lines
    assert line.extra["manufacturer_name"] == "Michael Kors"


def test_seed_fields_rows_parse_but_are_not_orders(seed_page: Path) -> None:
    envelopes = [e for e in seed_examples(seed_page) if isinstance(e.get("data"), list)]
    partial = [e for e in envelopes if all("date_created" not in row for row in e["data"])]
    assert partial, "the seed page has fields= examples"
    for envelope in partial:
        page = parse_lenient(MerchantProOrderList, envelope, what="list")
        assert page.meta.count.total == len(page.data)
        for row in envelope["data"]:
            with pytest.raises(InvalidPayload) as caught:
                to_neutral(row)
            assert caught.value.field == "date_created"
    statuses = {row.payment_status for e in partial for row in parse_lenient(MerchantProOrderList, e, what="l").data}
    assert {"awaiting", "paid", "cancelled", "failed"} <= statuses


def test_seed_post_body_is_our_create_model(seed_page: Path) -> None:
    bodies = [e for e in seed_examples(seed_page) if "line_items" in e and "id" not in e]
    assert bodies
    for body in bodies:
        model = MerchantProOrderCreate.model_validate(body)
        assert [item.product_sku for item in model.line_items] == ["V01 nude pu 39", "JA-1388-C BEIGE 2 35"]
        assert model.line_items[0].unit_price_gross == Decimal(109)
        sent = model.body()
        assert sent["line_items"][0]["unit_price_net"] == 91.6
        assert sent["line_items"][0]["unit_price_gross"] == 109


def test_seed_orders_to_every_platform(seed_page: Path) -> None:
    checked = []
    for row in seed_orders(seed_page):
        order = to_neutral(row, store="seed")
        for platform in PLATFORMS:
            mapping = sibling(platform)
            if mapping is None:
                continue
            checked.append(platform)
            _assert_create(mapping, platform, order)
    assert "merchantpro" in checked


def _assert_create(mapping: PlatformMapping, platform: str, order: NeutralOrder) -> None:
    ctx = TargetContext(store="target", reference=REF, statuses=mapping.statuses, options=TARGET_OPTIONS)
    try:
        payload = mapping.create_payload(order, ctx)
    except (Rejected, InvalidPayload) as refused:
        failure: Exception | None = refused
    else:
        failure = None
    if failure is not None:
        # A target may refuse what the seed leaves out: lines without product_sku, or a shipping
        # address without street. It must say so by field, and only for such incomplete orders.
        incomplete = not order.lines or any(line.sku is None for line in order.lines) or any(
            address is None or not address.line1 for address in (order.billing_address, order.shipping_address))
        assert incomplete, (platform, str(failure))
        assert not isinstance(failure, InvalidPayload) or failure.field, platform
        return
    body = json.dumps(payload.body(), default=str)
    for line in order.lines:
        if line.sku:
            assert line.sku in body, (platform, line.sku)
    if order.customer.email:
        assert order.customer.email in body, platform
    if platform == "merchantpro":
        _assert_merchantpro_create(payload, order)


def _assert_merchantpro_create(payload: Any, order: NeutralOrder) -> None:
    assert isinstance(payload, MerchantProOrderCreate)
    body = payload.body()
    assert body["tags"] == [{"name": REF.key}]
    assert [(i.get("product_sku"), i["quantity"]) for i in body["line_items"]] == [
        (line.sku, line.quantity) for line in order.lines]
    assert body["billing_name"] == (order.billing_address.full_name if order.billing_address else None)
    assert body["payment_status"] == STATUSES.outbound_for("payment", order.status, order.payment_status,
                                                           order.fulfillment_status)
    assert body["shipping_status"] == order.raw_status.fulfillment_code


# -- the full hand-written order ----------------------------------------------------------------------


def test_full_order_to_neutral() -> None:
    order = to_neutral(full_order(), store="ro")
    assert order.key == "merchantpro:ro:58127734"
    assert (order.status, order.payment_status, order.fulfillment_status) == ("processing", "paid", "shipped")
    assert order.raw_status.label == "Comanda expediata"
    assert order.created_at == datetime(2026, 11, 18, 7, 41, 27, tzinfo=UTC)
    assert order.currency == "RON"
    assert order.totals.grand_total == Decimal("788.76")
    assert order.totals.subtotal == Decimal("635.347")
    assert order.totals.tax is None
    assert order.totals.discount is None
    assert order.shipping.amount == Decimal("16.80")
    assert order.shipping.amount_incl_tax == Decimal("19.99")
    assert [(line.sku, line.quantity, line.total) for line in order.lines] == [
        ("RMV-2231-M", 2, Decimal("499.8")), ("CP-3310", 1, Decimal(89)), ("ES-3402", 3, Decimal("179.97"))]
    first = order.lines[0]
    assert first.unit_price == Decimal("206.5289")
    assert first.unit_price_incl_tax == Decimal("249.9")
    assert first.tax_rate == Decimal(21)
    assert first.variant_ref == "10045512"
    assert first.product_ref == "2231"
    assert first.extra["status"] == {"id": 3, "name": "Pregatit", "color": "#43a047"}
    assert first.extra["meta_fields"] == {"lot": "L2611"}
    assert first.extra["stock"] == "-1.000"
    assert order.lines[2].variant_ref is None  # variant_id 0 = none
    assert "line 3: no product_sku; using family_sku 'ES-3402'" in order.warnings
    billing, shipping = order.billing_address, order.shipping_address
    assert billing is not None
    assert shipping is not None
    assert (billing.first_name, billing.last_name, billing.full_name) == (
        "Ioana Maria", "Popescu", "Ioana Maria Popescu")
    assert billing.company == "Atelier Verde SRL"
    assert (shipping.first_name, shipping.last_name, shipping.line1, shipping.postal_code) == (
        "Andrei", "Popescu", "Bd. 21 Decembrie 1989 nr. 93", "400124")
    extra = order.extra["merchantpro"]
    assert extra["billing_company_vat"] == "RO40123456"
    assert extra["billing_type"] == "company"
    assert extra["original_currency"] == "EUR"
    assert extra["currency_rate"] == 4.9767
    assert extra["meta_fields"] == {"nr_comanda_erp": "ERP-55871", "sursa": "newsletter"}
    assert extra["channel_id"] is None
    assert extra["source_type"] == "system"
    assert extra["shipping_tax_percent"] == 19
    assert order.notes.customer == "Livrare după ora 17, vă rog."
    assert order.notes.staff == "Client fidel \u2013 verificat telefonic.\nAmbalare cadou la eșarfă."
    assert extra["internal_notes"][1]["id"] == 982
    assert order.payment.transaction_id == "EP7712093"
    [shipment] = order.shipments
    assert shipment.source_shipment_id == "awb:2281094476512"
    assert shipment.carrier == "12"
    assert shipment.shipped_at == datetime(2026, 11, 20, 12, 5, 11, tzinfo=UTC)
    assert [(s.source_line_id, s.quantity) for s in shipment.lines] == [("1", 2), ("2", 1), ("3", 3)]
    assert order.mirror_of is None
    NeutralOrder.model_validate(order.model_dump())  # the constructed order is a valid neutral order


def test_full_order_to_every_platform() -> None:
    order = to_neutral(full_order(), store="ro")
    for platform in PLATFORMS:
        mapping = sibling(platform)
        if mapping is not None:
            _assert_create(mapping, platform, order)


def test_full_order_create_payload_online() -> None:
    order = to_neutral(full_order(), store="ro")
    ctx = TargetContext(store="t", reference=REF, catalog=catalog)
    payload = MAPPING.create_payload(order, ctx)
    body = payload.body()
    assert [(i["product_id"], i.get("variant_id"), i["quantity"]) for i in body["line_items"]] == [
        (2231, 10045512, 2), (3310, None, 1), (3402, None, 3)]
    line = body["line_items"][0]
    assert line["unit_price_net"] == 206.5289
    assert line["unit_price_gross"] == 249.9
    assert line["product_tax_percent"] == 21
    assert line["variant_options"] == [{"name": "Marime", "value": "M"}]
    assert body["payment_status"] == "paid"
    assert body["shipping_status"] == "shipped"
    assert body["payment_method_code"] == "euplatesc"
    assert body["shipping_method_id"] == 4
    assert body["shipping_amount"] == 19.99
    assert body["currency"] == "RON"
    assert body["billing_type"] == "company"
    assert body["billing_company_vat"] == "RO40123456"
    assert body["billing_name"] == "Ioana Maria Popescu"
    assert body["shipping_name"] == "Andrei Popescu"
    assert body["shipping_awb"] == "2281094476512"
    assert "shipping_carrier_id" in body
    assert body["internal_notes"] == [{"text": "Client fidel \u2013 verificat telefonic.\nAmbalare cadou la eșarfă."}]
    assert body["tags"] == [{"name": REF.key}]
    assert ctx.warnings == []
    MerchantProOrderCreate.model_validate(body)  # what we send passes our own strict model


def test_create_payload_offline_warns_and_carries_skus() -> None:
    order = to_neutral(full_order())
    ctx = TargetContext(reference=REF)
    body = from_neutral(order, ctx).body()  # type: ignore[union-attr]
    assert all("product_id" not in item for item in body["line_items"])
    assert [item["product_sku"] for item in body["line_items"]] == ["RMV-2231-M", "CP-3310", "ES-3402"]
    assert any("resolved at sync" in w for w in ctx.warnings)


def test_create_payload_unknown_sku_propagates() -> None:
    order = to_neutral(full_order())
    order.lines[0].sku = "NOPE"
    with pytest.raises(UnknownSku):
        MAPPING.create_payload(order, TargetContext(reference=REF, catalog=catalog))


def test_create_payload_from_foreign_order_maps_payment_and_warns() -> None:
    order = to_neutral(full_order())
    order.source.platform = "bigcommerce"
    order.payment.method_code = "cod"
    order.status, order.payment_status, order.fulfillment_status = "on_hold", "authorized", "unfulfilled"
    order.lines[0].discount_amount = Decimal("10")
    order.lines[0].total_excl_tax = Decimal("403.0578")
    order.lines[0].total = Decimal("487.70")
    ctx = TargetContext(reference=REF, catalog=catalog)
    body = MAPPING.create_payload(order, ctx).body()
    assert body["payment_method_code"] == "cash_delivery"
    assert "billing_company_vat" not in body  # only carried MerchantPro → MerchantPro
    assert (body["payment_status"], body["shipping_status"]) == ("awaiting", "awaiting")
    assert body["line_items"][0]["unit_price_net"] == 201.5289
    assert any("on_hold" in w for w in ctx.warnings)
    assert any("line discount" in w for w in ctx.warnings)


# -- statuses, shipments, cancel ----------------------------------------------------------------------


@pytest.mark.parametrize(("payment", "shipping", "triple"), [
    ("temporary", "awaiting", ("pending", "unpaid", "unfulfilled")),
    ("awaiting", "confirmed", ("processing", "unpaid", "unfulfilled")),
    ("paid", "in_process", ("processing", "paid", "unfulfilled")),
    ("paid", "shipped", ("processing", "paid", "shipped")),
    ("paid", "delivered", ("completed", "paid", "delivered")),
    ("refunded", "returned", ("completed", "refunded", "returned")),
    ("canceled", "cancelled", ("cancelled", "voided", "cancelled")),
    ("rejected", "awaiting", ("pending", "failed", "unfulfilled")),
    ("failed", "awaiting", ("pending", "failed", "unfulfilled")),
])
def test_inbound_status_table(payment: str, shipping: str, triple: tuple[str, str, str]) -> None:
    row = full_order() | {"payment_status": payment, "shipping_status": shipping}
    order = to_neutral(row)
    assert (order.status, order.payment_status, order.fulfillment_status) == triple


def test_unknown_status_codes_warn_and_overrides_apply() -> None:
    row = full_order() | {"payment_status": "on_site", "shipping_status": "packing"}
    order = to_neutral(row)
    assert (order.status, order.payment_status, order.fulfillment_status) == ("pending", "unpaid", "unfulfilled")
    assert any("on_site" in w for w in order.warnings)
    assert any("packing" in w for w in order.warnings)
    table = STATUSES.with_overrides({"inbound": {"shipping": {"packing": "on_hold/*/unfulfilled"},
                                                 "payment": {"on_site": "*/paid"}},
                                     "outbound": {"shipping": {"on_hold": "confirmed"}}})
    order = to_neutral(row, statuses=table)
    assert (order.status, order.payment_status) == ("on_hold", "paid")
    ctx = TargetContext(statuses=table, reference=REF)
    assert MAPPING.create_payload(order, ctx).body()["shipping_status"] == "confirmed"


def test_status_payload_against_current() -> None:
    source = to_neutral(full_order() | {"payment_status": "paid", "shipping_status": "delivered"})
    current = to_neutral(full_order() | {"payment_status": "awaiting", "shipping_status": "in_process"})
    ctx = TargetContext(current=current)
    payload = MAPPING.status_payload(source, ctx)
    assert isinstance(payload, MerchantProStatusUpdate)
    assert payload.body() == {"payment_status": "paid", "transition": "delivered"}
    assert [(c.method, c.path, c.body) for c in MAPPING.calls(payload)] == [
        ("PATCH", "/api/v2/orders/{order_id}", {"payment_status": "paid"}),
        ("PATCH", "/api/v2/orders/{order_id}/delivered", None)]
    same = TargetContext(current=source)
    assert MAPPING.status_payload(source, same) is None
    cancelled = to_neutral(full_order() | {"payment_status": "cancelled", "shipping_status": "cancelled"})
    stuck = TargetContext(current=cancelled)
    assert MAPPING.status_payload(source, stuck) == MerchantProStatusUpdate(payment_status="paid")
    assert any("cannot move" in w for w in stuck.warnings)
    voided = to_neutral(full_order() | {"payment_status": "canceled", "shipping_status": "cancelled"})
    assert MAPPING.status_payload(voided, TargetContext(current=cancelled)) is None  # canceled == cancelled


def test_status_payload_cannot_go_back_to_awaiting() -> None:
    pending = to_neutral(full_order() | {"payment_status": "paid", "shipping_status": "awaiting"})
    current = to_neutral(full_order() | {"payment_status": "paid", "shipping_status": "in_process"})
    ctx = TargetContext(current=current)
    assert MAPPING.status_payload(pending, ctx) is None
    assert any("no handler back" in w for w in ctx.warnings)


def test_shipment_payloads() -> None:
    order = to_neutral(full_order())
    shipment = order.shipments[0]
    ctx = TargetContext(options={"carriers": {"12": "12", "fan": "12"}})
    current = to_neutral(full_order() | {"shipping_status": "in_process", "shipping_awb": None})
    ctx.current = current
    payload = MAPPING.shipment_payload(shipment, order, ctx)
    assert isinstance(payload, MerchantProShipment)
    assert payload.body() == {"shipping_awb": "2281094476512", "shipping_carrier_id": "12", "transition": "shipped"}
    assert [c.path for c in MAPPING.calls(payload)] == ["/api/v2/orders/{order_id}",
                                                       "/api/v2/orders/{order_id}/shipped"]
    partial = Shipment(tracking_number="X1", carrier="fan", lines=[ShipmentLine(source_line_id="1", quantity=1)])
    ctx2 = TargetContext(options={"carriers": {"fan": 12}})
    assert MAPPING.shipment_payload(partial, order, ctx2).shipping_carrier_id == "12"
    assert any("partial shipment" in w for w in ctx2.warnings)
    with pytest.raises(Rejected):
        MAPPING.shipment_payload(Shipment(carrier="ups"), order, TargetContext())
    unknown = TargetContext()
    assert MAPPING.shipment_payload(Shipment(tracking_number="1Z", carrier="ups"), order,
                                    unknown).shipping_carrier_id is None
    assert any("ups" in w for w in unknown.warnings)
    changed = shipment.model_copy(update={"tracking_number": "NEW123"})
    update = MAPPING.shipment_update_payload(changed, TargetContext(current=order))
    assert isinstance(update, MerchantProShipmentUpdate)
    assert update.body() == {"shipping_awb": "NEW123"}
    assert MAPPING.shipment_update_payload(shipment, TargetContext(current=order)) is None


def test_cancel_payload_and_calls() -> None:
    order = to_neutral(full_order() | {"payment_status": "refunded", "shipping_status": "cancelled"})
    payload = MAPPING.cancel_payload(order, TargetContext())
    assert payload == MerchantProCancel(payment_status="refunded")
    assert [c.path for c in MAPPING.calls(payload)] == ["/api/v2/orders/{order_id}/cancelled",
                                                       "/api/v2/orders/{order_id}"]
    assert from_neutral(to_neutral(full_order()), operation="cancel") == MerchantProCancel()
    with pytest.raises(TypeError):
        MAPPING.calls(MerchantProTagWrite(name="x"))


# -- render and round trips ---------------------------------------------------------------------------


def test_render_round_trip_of_the_full_order() -> None:
    raw = full_order()
    order = to_neutral(raw, store="ro")
    rendered = MAPPING.render(order)
    again = to_neutral(rendered, store="ro")
    assert again.model_dump(exclude={"warnings"}) == order.model_dump(exclude={"warnings"})
    for key in ("shipping_awb", "total_amount", "billing_company_vat", "meta_fields", "invoice", "tags",
                "internal_notes", "subtotal_excluding_tax", "shipping_tax_amount"):
        assert rendered[key] == raw[key], key
    assert rendered["date_created"] == "2026-11-18T07:41:27+00:00"
    assert rendered["line_items"][0]["variant_options"] == raw["line_items"][0]["variant_options"]
    assert rendered["line_items"][2]["product_sku"] == "ES-3402"  # the family_sku fallback is what we read


def test_reference_tag_round_trip() -> None:
    raw = full_order()
    raw["tags"].append({"id": 77, "name": REF.key})
    order = to_neutral(raw)
    assert order.mirror_of == REF.key
    order.extra["merchantpro"]["tags"] = []
    assert {"id": None, "name": REF.key} in MAPPING.render(order)["tags"]


def test_non_product_lines_and_blanks() -> None:
    raw = full_order()
    raw["coupon_code"] = "TOAMNA10"
    raw["line_items"].append({"item_type": "discount", "product_name": "Cupon TOAMNA10", "quantity": 1,
                              "unit_price_net": -65.1859, "unit_price_gross": -78.876,
                              "line_subtotal_gross": -78.876})
    raw["line_items"].append({"item_type": "shipping", "product_name": "Transport", "quantity": 1,
                              "unit_price_net": 0, "unit_price_gross": 0})
    raw["total_amount"] = 709.884
    raw["shipping_tax_amount"] = ""
    raw["invoice"] = []
    raw["date_delivered"] = ""
    order = to_neutral(raw)
    assert [(d.code, d.amount) for d in order.discounts] == [("TOAMNA10", Decimal("78.876"))]
    assert len(order.lines) == 3
    assert [i["item_type"] for i in order.extra["merchantpro"]["non_product_line_items"]] == ["discount", "shipping"]
    assert order.shipping.tax_amount is None
    assert order.shipping.amount == Decimal("19.99")
    assert any("shipping_tax_amount missing" in w for w in order.warnings)
    assert not [w for w in order.warnings if w.startswith("totals")]
    rendered = MAPPING.render(order)
    assert [i["item_type"] for i in rendered["line_items"]] == ["product"] * 3 + ["discount", "shipping"]


def test_totals_mismatch_is_a_warning_not_a_fix() -> None:
    raw = full_order() | {"total_amount": 800}
    order = to_neutral(raw)
    assert order.totals.grand_total == Decimal(800)
    assert any(w.startswith("totals: declared total_amount 800") for w in order.warnings)


@pytest.mark.parametrize(("mutate", "field"), [
    (lambda o: o.pop("id"), "id"),
    (lambda o: o.update(total_amount="abc"), "total_amount"),
    (lambda o: o.update(currency=None), "currency"),
    (lambda o: o["line_items"][0].pop("quantity"), "line_items[0].quantity"),
    (lambda o: o["line_items"][1].update(unit_price_net=""), "line_items[1].unit_price_net"),
    (lambda o: o["line_items"][0].update(quantity=1.5), "line_items[0].quantity"),
    (lambda o: o.update(date_created="yesterday"), "date_created"),
])
def test_invalid_orders_name_the_field(mutate: Any, field: str) -> None:
    raw = full_order()
    mutate(raw)
    with pytest.raises(InvalidPayload) as caught:
        to_neutral(raw)
    assert caught.value.field == field


def test_envelope_and_non_objects() -> None:
    assert to_neutral({"data": [full_order()], "meta": {}}).source.id == "58127734"
    with pytest.raises(InvalidPayload):
        to_neutral({"data": [full_order(), full_order()]})
    with pytest.raises(InvalidPayload):
        to_neutral([full_order()])


def test_to_neutral_does_not_mutate_input() -> None:
    raw = full_order() | {"invoice": [], "shipping_amount": ""}
    before = copy.deepcopy(raw)
    to_neutral(raw)
    assert raw == before


def test_connector_error_is_the_only_create_failure() -> None:
    order = to_neutral(full_order())
    order.lines = []
    with pytest.raises(ConnectorError):
        MAPPING.create_payload(order, TargetContext())

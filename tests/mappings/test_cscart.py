"""CS-Cart mapping: real and documented payloads to neutral, and neutral to CS-Cart writes."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from connectors.base import OrderReference, ProductRef
from connectors.cscart.wire import (
    CsCartOrderCreate,
    CsCartOrderList,
    CsCartOrderUpdate,
    CsCartShipmentCreate,
    CsCartShipmentUpdate,
    CsCartStatusUpdate,
    CsCartUserData,
    parse_statuses,
)
from connectors.errors import ConnectorError, InvalidPayload, Rejected, UnknownSku
from connectors.wire import parse_wire
from mappings.base import TargetContext
from mappings.cscart import (
    MAPPING,
    STATUS_TABLE,
    carrier_code,
    from_neutral,
    item_id_for,
    reference_marker,
    render,
    status_table_from_statuses,
    to_neutral,
)
from mappings.neutral import Shipment, ShipmentLine

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "cscart"
SAMPLES = "platforms/samples/cscart"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def sample(shared: Path, name: str) -> Any:
    return json.loads((shared / SAMPLES / name).read_text())


def ctx(**options: Any) -> TargetContext:
    catalog = {
        "K02149B2ZX": ProductRef(sku="K02149B2ZX", product_id="214"),
        "TS-241-RED-M": ProductRef(sku="TS-241-RED-M", product_id="241", options={"12": "44", "13": "48"}),
        "MUG-V3": ProductRef(sku="MUG-V3", product_id="250"),
        "U0012O5AF0": ProductRef(sku="U0012O5AF0", product_id="12"),
        "Z0019JH9GQ": ProductRef(sku="Z0019JH9GQ", product_id="17"),
    }

    def resolve(sku: str) -> ProductRef:
        if sku not in catalog:
            raise UnknownSku(sku, platform="cscart")
        return catalog[sku]

    return TargetContext(
        store="cs",
        reference=OrderReference(key="ordersync:bc-main:31877", email="x@example.com"),
        catalog=resolve,
        options={"payment_id": "2", "shipping_id": "1", **options},
    )


# ------------------------------------------------------------------------------------------------
# shared samples
# ------------------------------------------------------------------------------------------------


def test_sample_04_order_detail(shared: Path) -> None:
    order = to_neutral(sample(shared, "04_order_detail_GET_orders_96.ru-docs.json"), store="cs")
    assert order.source.id == "96"
    assert order.source.platform == "cscart"
    assert order.totals.grand_total == Decimal("972.00")
    assert order.status == "processing"
    assert order.payment_status == "paid"
    assert order.fulfillment_status == "unfulfilled"
    assert order.raw_status.code == "P"
    assert order.raw_status.label == "Processed"
    assert order.prices_include_tax is True
    assert order.currency == "USD"
    assert any("assumed USD" in w for w in order.warnings)
    assert order.created_at.isoformat() == "2015-11-26T06:02:55+00:00"
    [line] = order.lines
    assert line.sku == "K02149B2ZX"
    assert line.name == "ASUS CP6130"
    assert line.product_ref == "214"
    assert line.source_line_id == "1061624811" == item_id_for("214")
    assert line.quantity == 1
    assert line.unit_price_incl_tax == Decimal("972.00")
    assert line.tax_amount == Decimal("88.36")
    assert line.tax_rate == Decimal("10")
    assert line.unit_price == Decimal("883.64")
    assert line.total == Decimal("972.00")
    assert line.total_excl_tax == Decimal("883.64")
    assert line.quantity_shipped == 0
    assert line.extra["extra"]["stored_price"] == "N"
    assert line.extra["is_accessible"] is True
    assert order.totals.subtotal == Decimal("883.64")
    assert order.totals.subtotal_incl_tax == Decimal("972.00")
    assert order.totals.tax == Decimal("88.36")
    assert order.totals.shipping == Decimal("0.00")
    assert order.shipping.method_code == "1"
    assert order.shipping.method_name == "Custom shipping method"
    assert order.customer.id == "3"
    assert order.customer.email == "customer@example.com"
    assert order.customer.locale == "en"
    billing = order.billing_address
    assert billing is not None
    assert (billing.first_name, billing.last_name, billing.line1, billing.city) == (
        "Customer", "Customer", "44 Main street", "Boston")
    assert (billing.region_code, billing.region, billing.country_code, billing.country, billing.postal_code) == (
        "MA", "Massachusetts", "US", "United States", "02134")
    assert order.shipping_address == billing
    assert order.payment.method_code == "2"
    assert order.payment.method_name == "Phone ordering"
    extra = order.extra["cscart"]
    assert extra["product_groups"][0]["name"] == "Simtech"
    assert extra["taxes"]["6"]["regnumber"] == "1234242"
    assert extra["secondary_currency"] == "USD"
    assert extra["tax_subtotal"] == 0
    assert "order_id" not in extra
    assert not [w for w in order.warnings if w.startswith("totals")]


def test_sample_04_through_the_bundle_with_a_currency(shared: Path) -> None:
    detail = sample(shared, "04_order_detail_GET_orders_96.ru-docs.json")
    order = to_neutral({"order": detail, "shipments": [], "currency": "eur"})
    assert order.currency == "EUR"
    assert not any("currency" in w for w in order.warnings)
    assert to_neutral(detail, currency="RON").currency == "RON"


def test_sample_01_order_list(shared: Path) -> None:
    listing = parse_wire(CsCartOrderList, sample(shared, "01_orders_list_response.docs.json"), what="list")
    assert listing.params.total_items == 64
    assert [row.order_id for row in listing.orders] == ["97", "96"]
    assert listing.orders[1].total == Decimal("972.00")
    assert listing.orders[0].is_parent_order is False
    assert listing.orders[0].model_extra == {"issuer_id": None, "firstname": "George", "lastname": "Nills",
                                             "phone": "+1 646-386-3600", "invoice_id": None,
                                             "credit_memo_id": None, "points": None}


def test_sample_02_create_request(shared: Path) -> None:
    body = sample(shared, "02_order_create_request_guest.docs.json")
    create = parse_wire(CsCartOrderCreate, body, what="create")
    assert create.user_id == "0"
    assert create.products["13"].amount == 2
    assert create.user_data is not None
    assert create.user_data.s_state == "MA"
    assert create.body()["products"]["12"] == {"product_id": "12", "amount": 1}
    [call, *_] = MAPPING.calls(create)
    assert call.method == "POST"
    assert call.path == "/api/orders"


def test_sample_03_status_update_request(shared: Path) -> None:
    body = sample(shared, "03_order_update_status_notify_request.docs.json")
    update = parse_wire(CsCartStatusUpdate, body, what="status")
    assert update.body() == body
    assert parse_wire(CsCartOrderUpdate, body, what="update").status == "P"


def test_sample_07_statuses_bare_array(shared: Path) -> None:
    statuses = parse_statuses(sample(shared, "07_statuses_list.ru-docs-4.15.EXCERPT.json"))
    assert [s.status for s in statuses] == ["P", "C"]
    assert isinstance(statuses[0].params, object)
    table = status_table_from_statuses(statuses)
    assert table.label("order", "C") == "Complete"
    assert table.inbound_for("order", "P") == STATUS_TABLE.inbound_for("order", "P")


# ------------------------------------------------------------------------------------------------
# the seed page's JSON blocks
# ------------------------------------------------------------------------------------------------


def _json_blocks(text: str) -> list[tuple[str, str]]:
    """Balanced ``{...}`` blocks starting a line, and ``"key": {...}`` fragments (wrapped in braces)."""
    blocks: list[tuple[str, str]] = []
    lines = text.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    index = 0
    while index < len(lines):
        stripped = lines[index].strip()
        fragment = re.match(r'^"\w+":\s*\{$', stripped)
        if stripped == "{" or (stripped.startswith("{") and stripped.endswith("{")) or fragment:
            start = offsets[index] + lines[index].index(stripped[0])
            depth = 0
            for position in range(start, len(text)):
                char = text[position]
                if char == "{":
                    depth += 1
                elif char == "}":
                    depth -= 1
                    if depth == 0:
                        block = text[start:position + 1]
                        blocks.append(("fragment" if fragment else "object",
                                       "{" + block + "}" if fragment else block))
                        index = next(i for i, off in enumerate(offsets) if off > position) - 1
                        break
        index += 1
    return blocks


def test_seed_page_examples(shared: Path) -> None:
    text = (shared / "seeds" / "cscart-orders.txt").read_text()
    blocks = _json_blocks(text)
    kinds: list[str] = []
    for _, block in blocks:
        try:
            data = json.loads(block)
        except json.JSONDecodeError:
            # The docs' "change user details and total" example misses a comma after "total": "100".
            assert '"total": "100"\n' in block
            data = json.loads(block.replace('"total": "100"\n', '"total": "100",\n'))
            update = parse_wire(CsCartOrderUpdate, data, what="seed update")
            assert update.total == Decimal("100")
            assert update.user_data is not None
            assert update.user_data.b_firstname == "John"
            kinds.append("update-total")
            continue
        if "orders" in data:
            listing = parse_wire(CsCartOrderList, data, what="seed list")
            assert listing.params.total_items == 64
            kinds.append("list")
        elif set(data) == {"order_id"}:
            assert data["order_id"] == "98"
            kinds.append("answer")
        elif "payment_id" in data:
            create = parse_wire(CsCartOrderCreate, data, what="seed create")
            assert create.shipping_id == "1"
            assert create.products["1"].product_id == "12"
            kinds.append("create")
        elif "status" in data:
            status = parse_wire(CsCartStatusUpdate, data, what="seed status")
            assert status.notify_user == "1"
            kinds.append("status")
        elif "user_data" in data:
            user = parse_wire(CsCartUserData, data["user_data"], what="seed user_data")
            assert user.b_state == "MA"
            kinds.append("user_data")
        elif "products" in data:
            update = parse_wire(CsCartOrderUpdate, data, what="seed products")
            assert update.products
            for line in update.products.values():
                assert line.amount >= 1
                if line.product_options:
                    assert set(line.product_options.values()) <= {"44", "48", "12", "17", "15", "19"}
            kinds.append("products")
    assert kinds.count("list") == 1
    assert kinds.count("create") == 2
    assert kinds.count("status") == 1
    assert kinds.count("update-total") == 1
    assert kinds.count("user_data") == 1
    assert kinds.count("products") >= 3
    assert kinds.count("answer") >= 2


# ------------------------------------------------------------------------------------------------
# hand-written fixtures
# ------------------------------------------------------------------------------------------------


def test_early_4x_shape_shipping_object_and_per_item_tax_keys() -> None:
    order = to_neutral({"order": fixture("order_detail_4_1_shipping_object.json"), "currency": "EUR"})
    assert order.shipping.method_code == "1"
    assert order.shipping.method_name == "Custom shipping method"
    assert order.shipping.amount == Decimal("12.50")
    assert order.shipping.tax_amount == Decimal("1.25")
    assert order.shipping.amount_incl_tax == Decimal("13.75")
    first, second = order.lines
    assert (first.sku, first.tax_amount, first.tax_rate) == ("U0012O5AF0", Decimal("3"), Decimal("10"))
    assert (second.sku, second.quantity, second.tax_amount) == ("Z0019JH9GQ", 2, Decimal("4.54"))
    assert second.unit_price == Decimal("22.70")
    assert second.unit_price_incl_tax == Decimal("24.97")
    assert second.total == Decimal("49.94")
    assert order.totals.tax == Decimal("8.79")
    assert order.totals.subtotal == Decimal("75.40")
    assert order.totals.grand_total == Decimal("96.69")
    assert order.status == "completed"
    assert order.fulfillment_status == "shipped"
    assert order.updated_at is None
    assert order.customer.id is None
    assert order.billing_address is not None
    assert order.billing_address.company == "Weber Design"
    assert order.billing_address.line2 == "2. OG"
    assert order.notes.customer == "Ring twice, please"
    assert order.notes.staff == "Checked stock by phone"
    assert order.mirror_of is None
    assert order.payment.transaction_id == "ch_3OaQ9"
    assert order.extra["cscart"]["shipping"]["1"]["rates"] == {"0": 12.5}
    assert order.extra["cscart"]["shipment_ids"] == "14"
    assert not [w for w in order.warnings if w.startswith("totals")]


def test_multivendor_child_order_with_promotions_coupon_and_options() -> None:
    bundle = {"order": fixture("order_detail_mv_child.json"),
              "shipments": fixture("shipments_order_1042.json")["shipments"], "currency": "RON"}
    order = to_neutral(bundle, store="mv")
    assert order.currency == "RON"
    assert order.mirror_of == "ordersync:bc-main:31877"
    assert order.notes.staff == "Vendor note: gift wrap"
    extra = order.extra["cscart"]
    assert (extra["company_id"], extra["parent_order_id"], extra["is_parent_order"]) == ("3", "1041", "N")
    assert extra["need_shipping"] == 1
    assert extra["fields"] == {"36": "RO12345678"}
    shirt, mug = order.lines
    assert [(o.name, o.value) for o in shirt.options] == [("Color", "Red"), ("Size", "M")]
    assert shirt.source_line_id == item_id_for("241", {"12": "44", "13": "48"})
    assert shirt.unit_price == Decimal("50.00")
    assert shirt.discount_amount == Decimal("5")
    assert shirt.total == Decimal("45.00")
    assert shirt.tax_rate is None
    assert shirt.tax_amount == 0
    assert shirt.extra["deleted_product"] == 0
    assert mug.quantity_shipped == 0
    assert order.totals.discount == Decimal("9.99")
    assert order.totals.subtotal == Decimal("54.90")
    assert order.totals.grand_total == Decimal("53.41")
    assert sorted((d.name, d.code, d.amount) for d in order.discounts) == [
        ("Red shirts -5", None, Decimal("5")), ("Spring sale 10% off", "spring10", Decimal("4.99"))]
    [fee] = order.fees
    assert (fee.kind, fee.amount, fee.name) == ("payment_surcharge", Decimal("1.50"), "Taxa ramburs")
    assert order.fulfillment_status == "partially_shipped"
    [shipment] = order.shipments
    assert shipment.carrier == "australia_post"
    assert shipment.tracking_number == "JD014600003RO"
    assert shipment.tracking_url is not None
    assert shipment.comment == "Shipped from the Cluj workshop"
    assert [(item.source_line_id, item.sku, item.quantity) for item in shipment.lines] == [
        (shirt.source_line_id, "TS-241-RED-M", 1)]
    assert order.shipping_address is not None
    assert order.shipping_address.region == "Sector 3"  # no state code: the county stands in
    assert order.shipping_address.region_code is None
    assert order.billing_address is not None
    assert order.billing_address.region_code == "B"
    assert order.extra["cscart"]["shipments"]["5"]["one_full"] is False
    assert not [w for w in order.warnings if w.startswith("totals")]


def test_multivendor_parent_order_is_flagged() -> None:
    order = to_neutral(fixture("order_detail_mv_parent.json"), currency="RON")
    assert order.raw_status.code == "T"
    assert any("parent order" in w for w in order.warnings)
    assert order.extra["cscart"]["is_parent_order"] == "Y"
    assert order.shipping.method_name == "Curier rapid / Ridicare personala"


def test_custom_status_letter_unknown_then_overridden_then_derived() -> None:
    detail = fixture("order_detail_custom_status.json")
    plain = to_neutral(detail)
    assert plain.status == "pending"
    assert any("unknown CS-Cart status letter 'Z'" in w for w in plain.warnings)
    overridden = to_neutral(detail, statuses=STATUS_TABLE.with_overrides({"inbound": {"order": {"Z": "on_hold/paid"}}}))
    assert (overridden.status, overridden.payment_status) == ("on_hold", "paid")
    assert not any("unknown" in w for w in overridden.warnings)
    table = status_table_from_statuses(fixture("statuses_custom.json"))
    derived = to_neutral(detail, statuses=table)
    assert (derived.status, derived.payment_status, derived.fulfillment_status) == ("on_hold", "paid", "unfulfilled")
    assert derived.raw_status.label == "Awaiting pickup"
    assert str(table.inbound_for("order", "E")) == "cancelled/refunded/cancelled"
    assert str(table.inbound_for("order", "G")) == "processing/paid/shipped"
    assert str(table.inbound_for("order", "H")) == "pending/unpaid/unfulfilled"
    assert table.inbound_for("order", "S") is None  # shipment statuses are not order letters
    [line] = derived.lines
    assert line.tax_amount == Decimal("6.30")
    assert line.tax_rate == Decimal("10.100")
    assert [(o.name, o.value) for o in line.options] == [("Engraving", "Lavender, no box")]
    assert derived.totals.tax == Decimal("6.30")
    assert derived.totals.grand_total == Decimal("31.30")


def test_derived_table_can_reread_renamed_defaults() -> None:
    statuses = [{"status": "B", "description": "Shipped to pickup point", "params": {"payment_received": "Y"}}]
    assert str(status_table_from_statuses(statuses).inbound_for("order", "B")) == "on_hold/paid/unfulfilled"
    table = status_table_from_statuses(statuses, rederive_defaults=True)
    assert str(table.inbound_for("order", "B")) == "processing/paid/shipped"


def test_tax_split_over_several_items_without_per_item_amounts() -> None:
    detail = fixture("order_detail_custom_status.json")
    detail["status"] = "P"
    detail["products"]["2"] = {"item_id": "2", "product_id": "9", "product_code": "X", "price": "7.35", "amount": "3"}
    detail["taxes"] = {"3": {"rate_type": "P", "rate_value": "10", "price_includes_tax": "N", "tax_subtotal": 4.71,
                             "applies": {"P": 4.71, "S": 0, "items": {"P": {"325149130": True, "2": True}}}}}
    detail["total"] = "51.76"
    order = to_neutral(detail)
    assert [line.tax_amount for line in order.lines] == [Decimal("2.50"), Decimal("2.21")]  # per unit: 3 x 0.74 ≠
    assert sum(line.tax_amount or 0 for line in order.lines) == Decimal("4.71")


def test_bad_payloads_raise_invalid_payload_naming_the_field() -> None:
    detail = fixture("order_detail_custom_status.json")
    with pytest.raises(InvalidPayload, match="order_id"):
        to_neutral({k: v for k, v in detail.items() if k != "order_id"})
    broken = json.loads(json.dumps(detail))
    del broken["products"]["325149130"]["amount"]
    with pytest.raises(InvalidPayload, match=r"products\.325149130\.amount"):
        to_neutral(broken)
    with pytest.raises(InvalidPayload, match="total"):
        to_neutral({**detail, "total": "12,5x"})
    with pytest.raises(InvalidPayload, match="currency"):
        to_neutral({"order": detail, "currency": "euro"})
    with pytest.raises(InvalidPayload):
        to_neutral([detail])
    with pytest.raises(InvalidPayload, match="shipments"):
        to_neutral({"order": detail, "shipments": "5"})


# ------------------------------------------------------------------------------------------------
# writing
# ------------------------------------------------------------------------------------------------


def _mv_order() -> Any:
    return to_neutral({"order": fixture("order_detail_mv_child.json"),
                       "shipments": fixture("shipments_order_1042.json")["shipments"], "currency": "RON"})


def test_create_payload() -> None:
    order = _mv_order()
    context = ctx(currency="RON")
    payload = MAPPING.create_payload(order, context)
    assert isinstance(payload, CsCartOrderCreate)
    body = payload.body()
    assert "total_override" not in body
    assert "status_after" not in body
    assert body["products"] == {"1": {"product_id": "241", "amount": 1, "product_options": {"12": "44", "13": "48"}},
                                "2": {"product_id": "250", "amount": 1}}
    assert body["payment_id"] == "2"
    assert body["shipping_id"] == "1"
    assert body["user_id"] == "0"
    user = body["user_data"]
    assert user["email"] == "ioana.popescu@example.com"
    assert user["b_state"] == "B"
    assert "s_state" not in user  # no state code on the shipping side
    assert user["s_country"] == "RO"
    assert body["details"].splitlines() == ["[ordersync:bc-main:31877]", "Vendor note: gift wrap"]
    assert payload.total_override == Decimal("53.41")
    assert payload.status_after == "P"
    assert any("reprices" in w and "53.41" in w for w in context.warnings)
    assert any("discounts and coupons" in w for w in context.warnings)
    assert any("no state code" in w for w in context.warnings)
    assert not any("currency" in w for w in context.warnings)
    parse_wire(CsCartOrderCreate, body, what="round trip through validation")
    calls = MAPPING.calls(payload)
    assert [(c.method, c.path) for c in calls] == [("POST", "/api/orders"), ("PUT", "/api/orders/{order_id}"),
                                                    ("PUT", "/api/orders/{order_id}")]
    assert calls[1].body == {"total": "53.41"}
    assert calls[2].body == {"status": "P"}
    assert from_neutral(order, context).body() == body  # type: ignore[union-attr]


def test_create_payload_needs_store_options() -> None:
    order = _mv_order()
    context = ctx()
    context.options = {"shipping_id": "1"}
    with pytest.raises(ConnectorError, match="'payment_id'"):
        MAPPING.create_payload(order, context)
    context.options = {"payment_id": "1"}
    with pytest.raises(ConnectorError, match="'shipping_id'"):
        MAPPING.create_payload(order, context)


def test_offline_create_payload_without_store_options_leaves_them_out_and_says_so() -> None:
    context = TargetContext()
    body = MAPPING.create_payload(_mv_order(), context).body()
    assert "payment_id" not in body
    assert "shipping_id" not in body
    assert body["products"] == {"TS-241-RED-M": {"amount": 1}, "MUG-V3": {"amount": 1}}
    assert any(w.startswith("payment_id: not set") and "-o payment_id=ID" in w for w in context.warnings)
    assert any(w.startswith("shipping_id: not set") for w in context.warnings)


def test_create_payload_offline_keys_by_sku_and_warns_about_currency() -> None:
    order = _mv_order()
    context = TargetContext(options={"payment_id": "2", "shipping_id": {"0": "4", "1": "9"}})
    payload = MAPPING.create_payload(order, context)
    assert payload.body()["products"] == {"TS-241-RED-M": {"amount": 1}, "MUG-V3": {"amount": 1}}
    assert payload.body()["shipping_id"] == {"0": "4", "1": "9"}
    assert any("resolved at sync" in w for w in context.warnings)
    assert any("currency" in w and "RON" in w and "USD" in w for w in context.warnings)
    assert any("no ordersync reference" in w for w in context.warnings)


def test_create_payload_unknown_sku_merged_lines_and_state_codes() -> None:
    order = _mv_order()
    with pytest.raises(UnknownSku):
        MAPPING.create_payload(order.model_copy(update={"lines": [order.lines[0].model_copy(update={"sku": "NOPE"})]}),
                               ctx())
    with pytest.raises(Rejected, match="no SKU"):
        MAPPING.create_payload(order.model_copy(update={"lines": [order.lines[0].model_copy(update={"sku": None})]}),
                               ctx())
    doubled = order.model_copy(update={"lines": [order.lines[0], order.lines[0]]})
    context = ctx()
    payload = MAPPING.create_payload(doubled, context)
    assert payload.body()["products"] == {"1": {"product_id": "241", "amount": 2,
                                                "product_options": {"12": "44", "13": "48"}}}
    assert any("merges" in w for w in context.warnings)
    assert order.billing_address is not None
    iso = order.model_copy(update={"billing_address": order.billing_address.model_copy(
        update={"region_code": "RO-B"})})
    assert MAPPING.create_payload(iso, ctx()).body()["user_data"]["b_state"] == "B"
    nobody = order.model_copy(update={"customer": order.customer.model_copy(update={"email": None}),
                                      "billing_address": order.billing_address.model_copy(update={"email": None}),
                                      "shipping_address": None})
    with pytest.raises(Rejected, match="e-mail"):
        MAPPING.create_payload(nobody, ctx())


def test_status_payload_is_status_only_unless_notify_is_asked() -> None:
    order = _mv_order()
    payload = MAPPING.status_payload(order, ctx())
    assert payload is not None
    assert payload.body() == {"status": "P"}
    assert MAPPING.status_payload(order, TargetContext(current=order)) is None
    context = ctx(notify_customer=True)
    noisy = MAPPING.status_payload(order, context)
    assert noisy is not None
    assert noisy.body() == {"status": "P", "notify_user": "Y"}
    assert any("4.14.1" in w for w in context.warnings)
    completed = order.model_copy(update={"status": "completed", "fulfillment_status": "delivered"})
    assert MAPPING.status_payload(completed, ctx()).body() == {"status": "C"}  # type: ignore[union-attr]
    held = order.model_copy(update={"status": "on_hold", "payment_status": "unpaid"})
    assert MAPPING.status_payload(held, ctx()).body() == {"status": "Y"}  # type: ignore[union-attr]
    failed = order.model_copy(update={"status": "cancelled", "payment_status": "failed"})
    assert MAPPING.status_payload(failed, ctx()).body() == {"status": "F"}  # type: ignore[union-attr]
    custom = ctx()
    custom.statuses = STATUS_TABLE.with_overrides({"outbound": {"order": {"on_hold/paid": "Z"}}})
    paid_hold = order.model_copy(update={"status": "on_hold", "payment_status": "paid"})
    assert MAPPING.status_payload(paid_hold, custom).body() == {"status": "Z"}  # type: ignore[union-attr]
    cancel = MAPPING.cancel_payload(order, ctx())
    assert cancel is not None
    assert cancel.body() == {"status": "I"}
    assert isinstance(from_neutral(order, ctx(), "cancel"), CsCartStatusUpdate)
    assert isinstance(from_neutral(order, ctx(), "status"), CsCartStatusUpdate)


def test_shipment_payloads_use_target_item_ids_and_carrier_codes() -> None:
    source = _mv_order()
    target = to_neutral(render(source.model_copy(update={"shipments": []})))
    renumbered = target.model_copy(update={
        "lines": [line.model_copy(update={"source_line_id": f"9{index}"}) for index, line in enumerate(target.lines)],
        "shipping": target.shipping.model_copy(update={"method_code": "7"}),
    })
    shipment = Shipment(carrier="Australia Post", tracking_number="JD1", comment="box 1",
                        lines=[ShipmentLine(source_line_id=source.lines[0].source_line_id, quantity=1),
                               ShipmentLine(sku="NOT-THERE", quantity=1)])
    context = TargetContext(current=renumbered)
    payload = MAPPING.shipment_payload(shipment, source, context)
    assert isinstance(payload, CsCartShipmentCreate)
    assert payload.body() == {"order_id": renumbered.source.id, "shipping_id": "7", "products": {"90": 1},
                              "tracking_number": "JD1", "carrier": "aup", "comments": "box 1", "status": "S"}
    assert any("NOT-THERE" in w for w in context.warnings)
    assert [c.path for c in MAPPING.calls(payload)] == ["/api/shipments"]
    update = MAPPING.shipment_update_payload(shipment.model_copy(update={"tracking_number": "JD2"}),
                                             TargetContext(current=source))
    assert isinstance(update, CsCartShipmentUpdate)
    assert update.body() == {"tracking_number": "JD2", "carrier": "aup", "comments": "box 1"}
    same = Shipment(carrier="australia_post", tracking_number="JD014600003RO")
    assert MAPPING.shipment_update_payload(same, TargetContext(current=source)) is None
    assert carrier_code("Royal Mail") == "Royal Mail"
    assert carrier_code("Canada Post") == "can"
    assert carrier_code("FedEx") == "fedex"
    offline = TargetContext(options={"shipping_id": "1"})
    assert MAPPING.shipment_payload(shipment, source, offline).body()["products"] == {
        "TS-241-RED-M": 1, "NOT-THERE": 1}
    with pytest.raises(ConnectorError, match="shipping_id"):
        MAPPING.shipment_payload(shipment, source, TargetContext())


def test_render_round_trips_a_cscart_order_and_its_extras() -> None:
    order = _mv_order()
    again = to_neutral(render(order))
    assert again.model_dump(exclude={"warnings"}) == order.model_dump(exclude={"warnings"})
    detail = fixture("order_detail_4_1_shipping_object.json")
    first = to_neutral({"order": detail, "currency": "EUR"})
    second = to_neutral(render(first))
    skip: Any = {"warnings": True, "extra": True, "lines": {"__all__": {"extra"}}}
    assert second.model_dump(exclude=skip) == first.model_dump(exclude=skip)
    # render adds the columns a 4.13 store has; everything the early store sent is still there
    assert first.extra["cscart"].items() <= second.extra["cscart"].items()
    for before, after in zip(first.lines, second.lines, strict=True):
        assert before.extra.items() <= after.extra.items()


def test_reference_marker() -> None:
    assert reference_marker("ordersync:a:1") == "[ordersync:a:1]"
    assert reference_marker("a:1") == "[ordersync:a:1]"
    detail = fixture("order_detail_custom_status.json")
    detail["details"] = "note one\n  [ordersync:mp:77]  \nnote two"
    order = to_neutral(detail)
    assert order.mirror_of == "ordersync:mp:77"
    assert order.notes.staff == "note one\nnote two"


def test_hand_written_request_fixtures_validate_as_write_models() -> None:
    create = parse_wire(CsCartOrderCreate, fixture("order_create_options_coupon.request.json"), what="create")
    assert create.shipping_id == {"0": "4", "1": "9"}
    assert create.coupon_codes == ["SPRING10"]
    assert create.products["2"].product_options == {"12": "45", "13": "48"}
    assert create.body() == {**fixture("order_create_options_coupon.request.json"),
                             "products": {k: {**v, "amount": int(v["amount"])} for k, v in
                                          fixture("order_create_options_coupon.request.json")["products"].items()}}
    shipment = parse_wire(CsCartShipmentCreate, fixture("shipment_create.request.json"), what="shipment")
    assert shipment.body() == fixture("shipment_create.request.json")
    update = parse_wire(CsCartShipmentUpdate, fixture("shipment_update.request.json"), what="shipment update")
    assert update.body() == fixture("shipment_update.request.json")
    total = parse_wire(CsCartOrderUpdate, fixture("order_total_correction.request.json"), what="total")
    assert total.body() == {"total": "124.25"}
    with pytest.raises(InvalidPayload, match="tracking_number or carrier"):
        parse_wire(CsCartShipmentCreate, {"shipping_id": "1", "products": {"1": 1}}, what="shipment")
    with pytest.raises(InvalidPayload, match="user_id or user_data"):
        parse_wire(CsCartOrderCreate, {"payment_id": "1", "shipping_id": "1",
                                       "products": {"1": {"product_id": "1", "amount": 1}}}, what="create")
    with pytest.raises(InvalidPayload, match="status"):
        parse_wire(CsCartStatusUpdate, {"status": "processed"}, what="status")
    with pytest.raises(InvalidPayload, match="Extra inputs"):
        parse_wire(CsCartShipmentUpdate, {"status": "S"}, what="shipment update")  # CS-Cart cannot change it

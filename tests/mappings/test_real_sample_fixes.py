"""Mapping fixes of issue 12, each shown on a real payload (read in place from ../shared) or through
``translate``: a BigCommerce status-only Shipped order, negative quantities and prices, a MerchantPro
payment that goes from failed to paid, and a partially shipped BigCommerce order sent to MerchantPro."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from connectors.base import OrderReference
from connectors.errors import InvalidPayload, Rejected
from mappings import mapping_for
from mappings.base import TargetContext
from mappings.bigcommerce import to_neutral as bigcommerce_to_neutral
from mappings.merchantpro import to_neutral as merchantpro_to_neutral
from mappings.neutral import Line
from sync.config import Route
from sync.keys import sync_projection
from sync.planner import plan_updates
from tests.connectors.bigcommerce.samples import sample, sample_files
from tests.connectors.merchantpro.seed import seed_orders

REF = OrderReference(key="ordersync:src:1")
CSCART_OPTIONS = {"payment_id": 1, "shipping_id": 1}
MERCHANTPRO_WITH_LINES = 64098294  # the seed page's order that comes with its line_items


def shipped_by_status_only(shared: Path) -> dict[str, Any]:
    """Real sample 17 (status PUT to Shipped, ``date_shipped`` set, ``items_shipped`` 0) when it is in
    ../shared; else real order 100 (sample 09) moved the way the notes say sample 17 was."""
    found = [path for path in sample_files(shared) if path.name.startswith("17_")]
    if found:
        return dict(sample(shared, str(found[0].relative_to(shared / "platforms/samples/bigcommerce"))))
    order = copy.deepcopy(sample(shared, "09_nango_order_100_guest_awaiting_fulfillment_KES.json"))
    order.update(status_id=2, status="Shipped", date_shipped="Tue, 20 Jun 2023 10:11:12 +0000", items_shipped=0)
    return dict(order)


def order_100(shared: Path, order: dict[str, Any]) -> dict[str, Any]:
    """Order 100 as a bundle with its real products and shipping address (samples 10 and 11)."""
    return {"order": order, "products": sample(shared, "10_nango_order_100_products_catalog_variant.json"),
            "shipping_addresses": sample(shared, "11_nango_order_100_shipping_addresses_autocreated.json")}


def shipment_of_every_unit(shared: Path, products: list[dict[str, Any]]) -> dict[str, Any]:
    """The spec's real shipment shape (GET /shipments) re-pointed at order 100's products, every unit."""
    shipment = copy.deepcopy(sample(shared, "from_official_spec/spec_GET_shipments_collection.json")[0])
    shipment["order_id"] = 100
    shipment["items"] = [{"order_product_id": p["id"], "product_id": p["product_id"], "quantity": p["quantity"]}
                         for p in products]
    return dict(shipment)


# -- BigCommerce set to Shipped without a shipment -----------------------------------------------------


def test_status_only_shipped_order_reads_as_shipped(shared: Path) -> None:
    order = shipped_by_status_only(shared)
    assert (order["status_id"], order["items_shipped"]) == (2, 0)
    assert order["date_shipped"]
    neutral = bigcommerce_to_neutral(order)
    assert (neutral.status, neutral.fulfillment_status) == ("processing", "shipped")
    assert neutral.shipments == []


def test_declared_status_and_given_shipments_both_count(shared: Path) -> None:
    bundle = order_100(shared, shipped_by_status_only(shared))
    assert all(p["quantity_shipped"] == 0 for p in bundle["products"])
    bundle["shipments"] = [shipment_of_every_unit(shared, bundle["products"])]
    neutral = bigcommerce_to_neutral(bundle)
    units = sum(p["quantity"] for p in bundle["products"])
    [shipment] = neutral.shipments
    assert sum(item.quantity for item in shipment.lines) == units
    assert neutral.fulfillment_status == "shipped"  # no "every unit shipped while nothing shipped"
    # the shipments alone count too: the real Awaiting Fulfillment order 100 with a shipment of every unit
    awaiting = order_100(shared, sample(shared, "09_nango_order_100_guest_awaiting_fulfillment_KES.json"))
    assert bigcommerce_to_neutral(awaiting).fulfillment_status == "unfulfilled"
    awaiting["shipments"] = bundle["shipments"]
    assert bigcommerce_to_neutral(awaiting).fulfillment_status == "shipped"
    # and a mirror shows the target as shipped (translate to MerchantPro)
    ctx = TargetContext(reference=REF)
    body = mapping_for("merchantpro").create_payload(neutral, ctx).body()
    assert body["shipping_status"] == "shipped"


# -- negative quantities and unit prices -------------------------------------------------------------


@pytest.mark.parametrize(("field", "value", "path"), [
    ("quantity", -3, "products[0].quantity"),
    ("price_ex_tax", "-25.0000", "products[0].price_ex_tax"),
    ("price_inc_tax", "-25.0000", "products[0].price_inc_tax"),
])
def test_negative_bigcommerce_lines_are_refused_naming_the_field(shared: Path, field: str, value: Any,
                                                                 path: str) -> None:
    bundle = order_100(shared, sample(shared, "09_nango_order_100_guest_awaiting_fulfillment_KES.json"))
    bundle["products"] = copy.deepcopy(bundle["products"])
    bundle["products"][0][field] = value
    with pytest.raises(InvalidPayload) as caught:
        bigcommerce_to_neutral(bundle)
    assert caught.value.field == path
    assert "negative" in str(caught.value)


@pytest.mark.parametrize(("field", "value"), [
    ("quantity", -3), ("unit_price_net", -307.05), ("unit_price_gross", -365.39),
])
def test_negative_merchantpro_lines_are_refused_naming_the_field(shared: Path, field: str, value: Any) -> None:
    row = copy.deepcopy(next(o for o in seed_orders(shared / "seeds" / "merchantpro-orders.txt")
                             if o["id"] == MERCHANTPRO_WITH_LINES))
    row["line_items"][0][field] = value
    with pytest.raises(InvalidPayload) as caught:
        merchantpro_to_neutral(row)
    assert caught.value.field == f"line_items[0].{field}"


@pytest.mark.parametrize("platform", ["bigcommerce", "merchantpro", "cscart", "evershop"])
@pytest.mark.parametrize(("field", "value"), [("quantity", -3), ("unit_price", "-5.00"),
                                              ("unit_price_incl_tax", "-6.00")])
def test_negative_lines_are_never_written_into_a_target_payload(shared: Path, platform: str, field: str,
                                                                value: Any) -> None:
    neutral = bigcommerce_to_neutral(order_100(shared, sample(
        shared, "09_nango_order_100_guest_awaiting_fulfillment_KES.json")))
    bad = Line.model_validate(neutral.lines[0].model_dump() | {field: value})
    order = neutral.model_copy(update={"lines": [bad]})
    ctx = TargetContext(reference=REF, options=CSCART_OPTIONS)
    with pytest.raises(Rejected) as caught:
        mapping_for(platform).create_payload(order, ctx)
    assert caught.value.field_errors == {f"lines[0].{field}": f"{bad.model_dump()[field]} is negative"}


# -- MerchantPro payment failed → paid, shipping still awaiting -----------------------------------------


def test_merchantpro_payment_failed_then_paid_moves_the_bigcommerce_mirror(shared: Path) -> None:
    row = next(o for o in seed_orders(shared / "seeds" / "merchantpro-orders.txt")
               if o["id"] == MERCHANTPRO_WITH_LINES)
    failed = merchantpro_to_neutral(row | {"payment_status": "failed", "shipping_status": "awaiting"})
    paid = merchantpro_to_neutral(row | {"payment_status": "paid", "shipping_status": "awaiting"})
    assert sync_projection(failed) != sync_projection(paid)  # the engine sees a change
    bigcommerce = mapping_for("bigcommerce")
    created = bigcommerce.create_payload(failed, TargetContext(reference=REF)).body()
    assert created["status_id"] == 1  # Pending
    mirror = bigcommerce_to_neutral(bigcommerce.render(failed))
    assert mirror.raw_status.code == "1"
    ops = plan_updates(Route(source="ro", target="us"), paid, mirror, bigcommerce, TargetContext(current=mirror))
    assert [(op.kind, op.desired) for op in ops] == [("status", {"status_id": 11})]  # Awaiting Fulfillment


# -- a partially shipped BigCommerce order sent to MerchantPro ----------------------------------------


def test_partially_shipped_bigcommerce_order_warns_on_merchantpro(shared: Path) -> None:
    products = copy.deepcopy(sample(shared, "06_aligent_order_149_products_options_discounts_bundle.json"))
    physical = [p for p in products if p["type"] != "digital"]
    assert sum(p["quantity"] for p in physical) > 1
    shipment = shipment_of_every_unit(shared, physical)
    shipment["items"] = shipment["items"][:1]
    shipment["items"][0]["quantity"] = 1
    order = copy.deepcopy(sample(shared, "03_aligent_order_101_guest_pending_manual_payment.json"))
    order.update(id=149, status_id=3, status="Partially Shipped")
    neutral = bigcommerce_to_neutral({"order": order, "products": products, "shipments": [shipment]})
    assert neutral.fulfillment_status == "partially_shipped"
    ctx = TargetContext(reference=REF)
    body = mapping_for("merchantpro").create_payload(neutral, ctx).body()
    assert body["shipping_status"] == "shipped"
    assert "status: MerchantPro has no partial shipping; the whole order is marked shipped" in ctx.warnings


def test_negative_evershop_and_cscart_lines_are_refused_naming_the_field(shared: Path) -> None:
    recorded = shared / "platforms" / "samples" / "evershop" / "30_graphql_admin_order_by_uuid.json"
    body = json.loads(recorded.read_text())["response"]["body"]
    for field in ("qty", "finalPrice"):
        bad = copy.deepcopy(body)
        item = bad["data"]["order"]["items"][0]
        item[field] = -3 if field == "qty" else {"value": -3, "currency": "USD"}
        with pytest.raises(InvalidPayload) as caught:
            mapping_for("evershop").to_neutral(bad)
        assert caught.value.field.endswith(f"items[0].{field}"), caught.value
    detail = json.loads((shared / "platforms" / "samples" / "cscart" / "04_order_detail_GET_orders_96.ru-docs.json")
                        .read_text())
    item_id = next(iter(detail["products"]))
    for field in ("amount", "price"):
        bad = copy.deepcopy(detail)
        bad["products"][item_id][field] = "-3"
        with pytest.raises(InvalidPayload) as caught:
            mapping_for("cscart").to_neutral(bad)
        assert caught.value.field == f"products.{item_id}.{field}"

"""An embedded order row (``include=consignments.line_items,fees``) split into the get_order bundle."""

from __future__ import annotations

import copy
from typing import Any

from connectors.bigcommerce.embedded import split_view

HOST = "https://api.bigcommerce.com/stores/abc/v2"


def _line(line_id: int, quantity: int = 1) -> dict[str, Any]:
    return {"id": line_id, "order_id": 7, "quantity": quantity, "sku": f"SKU-{line_id}", "order_address_id": 3}


def _row(**changes: Any) -> dict[str, Any]:
    """An order row as the real list serves it with include (the spec's orderConsignment_Get shapes)."""
    row: dict[str, Any] = {
        "id": 7, "items_total": 3, "items_shipped": 0, "coupon_discount": "0.0000", "shipping_address_count": 1,
        "products": {"url": f"{HOST}/orders/7/products", "resource": "/orders/7/products"},
        "fees": [{"id": 1, "type": "custom_fee", "cost_ex_tax": "2.5000", "cost_inc_tax": "3.0000"}],
        "consignments": {
            "pickups": [], "downloads": [], "email": {"gift_certificates": []},
            "shipping": [{
                "id": 3, "first_name": "Jane", "zip": "12345", "shipping_method": "Free Shipping",
                "line_items": [_line(12, 2), _line(10)], "items_total": 3, "items_shipped": 0,
                "base_cost": 5.1, "cost_ex_tax": 5.1, "cost_inc_tax": 6.2, "cost_tax": 1.1, "cost_tax_class_id": 2,
                "base_handling_cost": 0, "handling_cost_ex_tax": 0, "handling_cost_inc_tax": 0,
                "handling_cost_tax": 0, "handling_cost_tax_class_id": 2, "shipping_zone_id": 1,
                "shipping_quotes": {"url": f"{HOST}/orders/7/consignments/shipping/3/shipping_quotes",
                                    "resource": "/orders/7/consignments/shipping/3/shipping_quotes"},
            }],
        },
    }
    row.update(changes)
    return row


def test_the_row_becomes_the_sub_resources_shapes() -> None:
    row = _row()
    kept = copy.deepcopy(row)
    view = split_view(row)
    assert view is not None
    assert view.missing == ()
    assert row == kept  # the snapshot is not changed
    bundle = view.bundle
    assert [line["id"] for line in bundle["products"]] == [10, 12]  # as /products lists them
    [address] = bundle["shipping_addresses"]
    assert address["order_id"] == 7
    assert "line_items" not in address
    assert (address["base_cost"], address["cost_inc_tax"], address["handling_cost_tax"]) == ("5.1000", "6.2000",
                                                                                              "0.0000")
    assert address["shipping_quotes"] == {"url": f"{HOST}/orders/7/shipping_addresses/3/shipping_quotes",
                                          "resource": "/orders/7/shipping_addresses/3/shipping_quotes"}
    assert bundle["order"]["consignments"] == {"url": f"{HOST}/orders/7/consignments",
                                               "resource": "/orders/7/consignments"}
    assert bundle["order"]["fees"] == {"url": f"{HOST}/orders/7/fees", "resource": "/orders/7/fees"}
    assert bundle["fees"] == row["fees"]
    assert (bundle["shipments"], bundle["coupons"]) == ([], [])


def test_shipments_and_coupons_are_asked_only_when_the_row_says_so() -> None:
    view = split_view(_row(items_shipped=1, coupon_discount="2.5000"))
    assert view is not None
    assert view.missing == ("shipments", "coupons")
    assert "shipments" not in view.bundle
    assert "coupons" not in view.bundle
    unreadable = split_view(_row(coupon_discount="n/a"))
    assert unreadable is not None
    assert unreadable.missing == ("coupons",)


def test_lines_past_the_cap_or_as_links_are_read_from_products() -> None:
    capped = _row()
    capped["consignments"]["shipping"][0]["__warning__"] = {"message": "only 50 are included"}
    view = split_view(capped)
    assert view is not None
    assert view.missing == ("products",)
    assert "__warning__" not in view.bundle["shipping_addresses"][0]
    linked = _row()
    linked["consignments"]["shipping"][0]["line_items"] = [{"url": "u", "resource": "/orders/7/products/10"}]
    view = split_view(linked)
    assert view is not None
    assert view.missing == ("products",)
    short = split_view(_row(items_total=4))  # the lines do not add up to the order
    assert short is not None
    assert short.missing == ("products",)


def test_lines_of_every_consignment_kind_count() -> None:
    row = _row(items_total=5)
    row["consignments"]["pickups"] = [{"id": 1, "line_items": [_line(20)]}]
    row["consignments"]["email"] = {"gift_certificates": [{"recipient_email": "a@b.c", "line_items": [_line(21)]}]}
    view = split_view(row)
    assert view is not None
    assert view.missing == ()
    assert [line["id"] for line in view.bundle["products"]] == [10, 12, 20, 21]
    assert len(view.bundle["shipping_addresses"]) == 1  # a pickup is not a shipping address


def test_addresses_that_disagree_with_the_count_and_missing_fees_are_read() -> None:
    view = split_view(_row(shipping_address_count=2, fees={"url": "u", "resource": "/orders/7/fees"}))
    assert view is not None
    assert view.missing == ("shipping_addresses", "fees")
    assert view.bundle["order"]["fees"] == {"url": "u", "resource": "/orders/7/fees"}


def test_rows_read_without_include_and_the_legacy_array() -> None:
    assert split_view({"id": 7, "consignments": {"url": "u", "resource": "/orders/7/consignments"}}) is None
    assert split_view({"id": 7}) is None
    legacy = _row()
    legacy["consignments"] = [legacy["consignments"]]
    view = split_view(legacy)
    assert view is not None
    assert [line["id"] for line in view.bundle["products"]] == [10, 12]
    bare = _row()
    del bare["products"]
    view = split_view(bare)
    assert view is not None
    assert view.bundle["order"]["consignments"]["resource"] == "/orders/7/consignments"

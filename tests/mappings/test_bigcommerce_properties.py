"""Property tests for the BigCommerce mapping: round trips keep what BigCommerce carries, unmapped
fields survive, and no input makes ``to_neutral`` (or the webhook parser) raise anything but
``InvalidPayload``."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from connectors.bigcommerce import webhooks
from connectors.errors import InvalidPayload
from mappings.bigcommerce import MAPPING, to_neutral
from mappings.neutral import Address, NeutralOrder
from tests.conftest import SHARED
from tests.connectors.bigcommerce.samples import SAMPLES, fixture
from tests.strategies import json_values, neutral_orders

ADDRESS_FIELDS = ("first_name", "last_name", "company", "line1", "line2", "city", "region", "postal_code",
                  "country_code", "phone", "email")
LINE_FIELDS = ("source_line_id", "sku", "name", "quantity", "unit_price", "unit_price_incl_tax", "tax_amount",
               "discount_amount", "total", "total_excl_tax")


def carried_address(address: Address | None) -> dict[str, Any] | None:
    if address is None:
        return None
    out = {field: getattr(address, field) for field in ADDRESS_FIELDS}
    if address.country_code in ("US", "CA", "AU"):
        out["region_code"] = address.region_code  # derivable from the state name only there
    return out


def carried(order: NeutralOrder) -> dict[str, Any]:
    """What a BigCommerce order can hold of a neutral order."""
    return {
        "currency": order.currency,
        "created_at": order.created_at,
        "updated_at": order.updated_at,
        "prices_include_tax": order.prices_include_tax,
        "statuses": (order.status, order.payment_status, order.fulfillment_status),
        "customer": (order.customer.email, order.customer.first_name, order.customer.last_name,
                     order.customer.phone, order.customer.id),
        "billing": carried_address(order.billing_address),
        "shipping": carried_address(order.shipping_address),
        "shipping_addresses": [carried_address(a) for a in order.shipping_addresses],
        "lines": [
            ({f: getattr(line, f) for f in LINE_FIELDS}, [(o.name, o.value) for o in line.options])
            for line in order.lines
        ],
        "shipping_charge": (order.shipping.method_name, order.shipping.amount, order.shipping.amount_incl_tax,
                            order.shipping.tax_amount),
        "totals": (order.totals.subtotal, order.totals.discount, order.totals.shipping, order.totals.tax,
                   order.totals.grand_total),
        "payment": order.payment.method_name or order.payment.method_code,
        "transaction": order.payment.transaction_id,
        "shipments": [
            (s.source_shipment_id, None if s.carrier == "custom" else s.carrier,  # "custom": no carrier (carriers.py)
             s.tracking_number, s.tracking_url, s.shipped_at, s.comment,
             [(item.source_line_id, item.sku, item.quantity) for item in s.lines])
            for s in order.shipments
        ],
        "notes": (order.notes.customer, order.notes.staff),
        "mirror_of": order.mirror_of,
    }


def consistent(order: NeutralOrder) -> bool:
    """The strategy can draw a 'partially shipped' order whose one shipment ships everything."""
    if order.fulfillment_status != "partially_shipped":
        return True
    shipped = order.shipped_quantities()
    return any(shipped.get(line.source_line_id or "", 0) < line.quantity for line in order.lines)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(neutral_orders())
def test_render_then_read_keeps_what_bigcommerce_carries(order: NeutralOrder) -> None:
    assume(consistent(order))
    bundle = MAPPING.render(order)
    json.dumps(bundle)  # plain JSON, as the API answers
    again = to_neutral(orjson.loads(orjson.dumps(bundle)))
    assert again.warnings == []
    assert carried(again) == carried(order)
    assert again.raw_status.platform == "bigcommerce"
    assert MAPPING.render(again)["order"] == {**bundle["order"], "status": bundle["order"]["status"]}


@settings(max_examples=60, deadline=None)
@given(neutral_orders(), st.sampled_from(["ordersync:shop:1", "ordersync:ro:A-77"]))
def test_mirrors_keep_their_reference(order: NeutralOrder, reference: str) -> None:
    assume(consistent(order))
    mirrored = order.model_copy(update={"mirror_of": reference})
    again = to_neutral(MAPPING.render(mirrored))
    assert again.mirror_of == reference
    assert again.extra["bigcommerce"]["external_source"] == "ordersync"


extra_keys = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12).map(lambda k: f"zz_{k}")


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(extra_keys, json_values(), max_size=4), st.dictionaries(extra_keys, json_values(), max_size=3))
def test_unmapped_fields_survive_in_extra(order_extra: dict[str, Any], line_extra: dict[str, Any]) -> None:
    bundle = fixture("bundle_au_tax_inclusive_coupon_two_addresses.json")
    bundle["order"].update(order_extra)
    for product in bundle["products"]:
        product.update(line_extra)
    n = to_neutral(bundle)
    for key, value in order_extra.items():
        assert n.extra["bigcommerce"][key] == value
    for line in n.lines:
        for key, value in line_extra.items():
            assert line.extra[key] == value
    again = to_neutral(MAPPING.render(n))
    for key, value in order_extra.items():
        assert again.extra["bigcommerce"][key] == value
    for line in again.lines:
        for key, value in line_extra.items():
            assert line.extra[key] == value


def only_invalid_payload(value: Any) -> None:
    try:
        result: Any = to_neutral(value)
    except InvalidPayload as error:
        result = error
    assert isinstance(result, NeutralOrder) or str(result).startswith("invalid bigcommerce order")


@settings(max_examples=300, deadline=None)
@given(json_values())
def test_arbitrary_json_raises_only_invalid_payload(value: Any) -> None:
    only_invalid_payload(value)
    only_invalid_payload({"order": value})
    only_invalid_payload({"order": fixture("order_bare_embedded_loose_types.json"), "products": value})


def read(path: Any) -> Any:
    return json.loads(path.read_text())


def real_bundles() -> list[dict[str, Any]]:
    bundles = [fixture("bundle_au_tax_inclusive_coupon_two_addresses.json"),
               fixture("order_bare_embedded_loose_types.json")]
    if SHARED is not None:
        folder = SHARED / SAMPLES
        bundles.append({
            "order": read(folder / "09_nango_order_100_guest_awaiting_fulfillment_KES.json"),
            "products": read(folder / "06_aligent_order_149_products_options_discounts_bundle.json"),
            "shipping_addresses": read(folder / "07_aligent_order_229_two_shipping_addresses.json"),
            "shipments": read(folder / "from_official_spec/spec_GET_shipments_collection.json"),
            "coupons": read(folder / "from_official_spec/spec_GET_coupons_collection.json"),
        })
    return bundles


BUNDLES = real_bundles()


@st.composite
def mutated(draw: st.DrawFn) -> Any:
    """A real bundle with one to three spots replaced by arbitrary JSON (or removed)."""
    value = copy.deepcopy(draw(st.sampled_from(BUNDLES)))
    for _ in range(draw(st.integers(1, 3))):
        node = value
        for _depth in range(draw(st.integers(0, 4))):
            if isinstance(node, dict) and node:
                key = draw(st.sampled_from(sorted(node)))
                if not isinstance(node[key], dict | list) or not node[key]:
                    break
                node = node[key]
            elif isinstance(node, list) and node:
                item = node[draw(st.integers(0, len(node) - 1))]
                if not isinstance(item, dict | list) or not item:
                    break
                node = item
            else:
                break
        if isinstance(node, dict) and node:
            key = draw(st.sampled_from(sorted(node)))
            if draw(st.booleans()):
                del node[key]
            else:
                node[key] = draw(json_values() | st.sampled_from(["", "0.0000", "Thu, 31 Feb 2026 25:00:00 +0000",
                                                                  "1E+999", "-1", None, [], {}]))
        elif isinstance(node, list) and node:
            node[draw(st.integers(0, len(node) - 1))] = draw(json_values())
    return value


@settings(max_examples=400, deadline=None)
@given(mutated())
def test_mutated_real_payloads_raise_only_invalid_payload(value: Any) -> None:
    only_invalid_payload(value)


@settings(max_examples=200, deadline=None)
@given(json_values())
def test_webhook_parser_raises_only_invalid_payload(value: Any) -> None:
    raw = orjson.dumps(value)
    try:
        events = webhooks.parse(raw, {})
    except InvalidPayload:
        return
    assert len(events) == 1


@pytest.mark.parametrize("amount", ["109.0000", "924.47", "8", 12.5, 0])
def test_money_spellings_read_the_same(amount: Any) -> None:
    bundle = fixture("order_bare_embedded_loose_types.json")
    bundle["refunded_amount"] = amount
    refunded = to_neutral(bundle).totals.refunded
    assert refunded == Decimal(str(amount))

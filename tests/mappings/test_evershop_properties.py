"""Properties of the EverShop mapping: round trips keep what EverShop carries; parsing never crashes."""

from __future__ import annotations

import contextlib
import copy
import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.errors import InvalidPayload
from mappings.evershop import MAPPING, to_neutral
from mappings.neutral import Address, NeutralOrder
from tests.strategies import json_values, neutral_orders

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "evershop"
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _region(code: str | None) -> str | None:
    """EverShop stores ``US-CA``; the neutral order may say ``CA``."""
    return code.split("-", 1)[1] if code and "-" in code else code


def _address_view(address: Address | None) -> tuple[Any, ...] | None:
    if address is None:
        return None
    return (address.first_name, address.last_name, address.full_name, address.line1, address.line2, address.city,
            address.region, _region(address.region_code), address.postal_code, address.country_code, address.phone,
            address.email)


def _carried(order: NeutralOrder) -> dict[str, Any]:
    """Every neutral field EverShop can hold, in comparable form."""
    status = "processing" if order.status == "on_hold" else order.status  # EverShop has no hold
    return {
        "source": (order.source.id, order.source.number),
        "created_at": order.created_at,
        "updated_at": order.updated_at,
        "currency": order.currency,
        "statuses": (status, order.payment_status, order.fulfillment_status),
        "customer": (order.customer.email, order.customer.first_name, order.customer.last_name),
        "billing": _address_view(order.billing_address),
        "shipping": _address_view(order.shipping_address),
        "lines": [(line.source_line_id, line.sku, line.name, line.quantity, line.unit_price,
                   line.unit_price_incl_tax, line.tax_rate, line.tax_amount, line.discount_amount, line.total,
                   line.total_excl_tax, [(o.name, o.value) for o in line.options], line.extra)
                  for line in order.lines],
        "shipping_info": (order.shipping.method_name, order.shipping.amount, order.shipping.amount_incl_tax,
                          order.shipping.tax_amount),
        "totals": (order.totals.subtotal, order.totals.discount, order.totals.shipping, order.totals.tax,
                   order.totals.grand_total),
        "payment": order.payment.method_code,
        "shipments": [(s.source_shipment_id, s.carrier, s.tracking_number, s.shipped_at, s.status, s.delivered_at,
                       [(item.source_line_id, item.sku, item.quantity) for item in s.lines])
                      for s in order.shipments],
        "note": order.notes.customer,
        "mirror_of": order.mirror_of,
        "extra": order.extra,
    }


@SETTINGS
@given(order=neutral_orders(), data=st.data())
def test_render_then_read_keeps_what_evershop_carries(order: NeutralOrder, data: st.DataObject) -> None:
    extra = data.draw(st.dictionaries(st.sampled_from(["editUrl", "totalQty", "customThing"]), json_values(),
                                      max_size=2))
    line_extra = data.draw(st.dictionaries(st.sampled_from(["productUrl", "thumbnail"]), json_values(), max_size=2))
    mirror = data.draw(st.none() | st.just("ordersync:shop:123"))
    lines = [line.model_copy(update={"extra": dict(line_extra)}) for line in order.lines]
    order = order.model_copy(update={"extra": {"evershop": extra} if extra else {}, "lines": lines,
                                     "mirror_of": mirror})
    rendered = MAPPING.render(order)
    assert json.loads(json.dumps(rendered)) == rendered  # plain JSON, like the API's answer
    back = to_neutral({"data": {"order": rendered}}, store="hypo")
    assert _carried(back) == _carried(order)
    assert back.source.platform == "evershop"
    assert NeutralOrder.model_validate(back.model_dump()) == back


@SETTINGS
@given(order=neutral_orders(), data=st.data())
def test_create_plan_carries_items_customer_and_addresses(order: NeutralOrder, data: st.DataObject) -> None:
    from connectors.base import OrderReference
    from mappings.base import TargetContext

    ctx = TargetContext(reference=OrderReference(key="ordersync:hypo:1"))
    plan = MAPPING.create_payload(order, ctx)
    assert [(i.sku, i.qty) for i in plan.items] == [(line.sku, line.quantity) for line in order.lines]
    assert plan.customer_email == order.customer.email
    assert plan.expected_grand_total == order.totals.grand_total
    assert plan.reference == "ordersync:hypo:1"
    assert order.shipping_address is not None
    shipping = order.shipping_address
    assert plan.shipping_address.province == f"{shipping.country_code}-{shipping.region_code}"
    assert plan.shipping_address.full_name == order.shipping_address.full_name
    assert any("reprices" in w for w in ctx.warnings)
    calls = MAPPING.calls(plan)
    assert calls[0].path == "/api/carts"
    assert calls[-1].path == "/api/orders/{order_id}/metafields"


@settings(max_examples=300, deadline=None)
@given(payload=json_values())
def test_arbitrary_json_raises_only_invalid_payload(payload: Any) -> None:
    for candidate in (payload, {"data": payload}, {"data": {"order": payload}}):
        with contextlib.suppress(InvalidPayload):
            to_neutral(candidate)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            out += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            out += _paths(child, (*prefix, index))
    return out


_BASES = [json.loads((FIXTURES / name).read_text()) for name in ("graphql_order_full.json", "rest_order_legacy.json")]
_PATHS = [(index, path) for index, base in enumerate(_BASES) for path in _paths(base)]


@settings(max_examples=400, deadline=None)
@given(target=st.sampled_from(_PATHS), replacement=json_values(), delete=st.booleans())
def test_mutated_payloads_raise_only_invalid_payload(target: tuple[int, tuple[Any, ...]], replacement: Any,
                                                      delete: bool) -> None:
    index, path = target
    payload = copy.deepcopy(_BASES[index])
    parent = payload
    for key in path[:-1]:
        parent = parent[key]
    if delete and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = replacement
    try:
        order = to_neutral(payload)
    except InvalidPayload:
        return
    assert NeutralOrder.model_validate(order.model_dump()) == order

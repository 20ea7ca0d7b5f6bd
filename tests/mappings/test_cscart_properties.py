"""Property tests for the CS-Cart mapping: round trips keep what CS-Cart carries; odd JSON never crashes."""

from __future__ import annotations

import contextlib
import copy
import json
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.errors import InvalidPayload
from mappings.cscart import STATUS_TABLE, render, to_neutral
from mappings.neutral import NeutralOrder
from tests.strategies import json_values, neutral_orders

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "cscart"
# Example counts keep this file under ~5 s (the whole suite has a 60 s budget); raise them with
# ORDERSYNC_HYPOTHESIS_SCALE=10 for a deeper local run.
_SCALE = float(os.environ.get("ORDERSYNC_HYPOTHESIS_SCALE", "1"))


def _examples(count: int) -> int:
    return max(1, int(count * _SCALE))


_SETTINGS = settings(max_examples=_examples(40), deadline=None,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _through_json(bundle: dict[str, Any]) -> Any:
    return orjson.loads(orjson.dumps(bundle))


def _expected_statuses(order: NeutralOrder) -> tuple[str, str, str]:
    code = STATUS_TABLE.outbound_for("order", order.status, order.payment_status, order.fulfillment_status)
    assert code is not None
    triple = STATUS_TABLE.inbound_for("order", code)
    assert triple is not None
    assert triple.status
    assert triple.payment_status
    assert triple.fulfillment_status
    shipped = order.shipped_quantities()
    ordered = sum(line.quantity for line in order.lines)
    done = sum(min(shipped.get(line.source_line_id or "", 0), line.quantity) for line in order.lines)
    fulfillment = triple.fulfillment_status
    if triple.status != "cancelled":
        if done >= ordered:
            fulfillment = "shipped"
        elif done:
            fulfillment = "partially_shipped"
    return triple.status, triple.payment_status, fulfillment


@_SETTINGS
@given(neutral_orders())
def test_neutral_render_to_neutral_keeps_what_cscart_carries(order: NeutralOrder) -> None:
    back = to_neutral(_through_json(render(order)), store=order.source.store)
    assert back.source.id == order.source.id
    assert back.source.number == order.source.id  # CS-Cart numbers orders by their id
    assert back.created_at == order.created_at
    assert back.updated_at == order.updated_at
    assert back.currency == order.currency
    assert back.prices_include_tax is order.prices_include_tax
    assert (back.status, back.payment_status, back.fulfillment_status) == _expected_statuses(order)
    assert back.customer.model_dump(exclude={"id"}) == order.customer.model_dump(exclude={"id"})
    assert back.billing_address == order.billing_address
    assert order.shipping_address is not None
    assert back.shipping_address is not None
    # one company per CS-Cart order: it lives on the billing side
    assert back.shipping_address.model_dump(exclude={"company"}) == \
        order.shipping_address.model_dump(exclude={"company"})
    skip = {"extra", "quantity_shipped"}
    assert [line.model_dump(exclude=skip) for line in back.lines] == \
        [line.model_dump(exclude=skip) for line in order.lines]
    shipped = order.shipped_quantities()
    assert [line.quantity_shipped for line in back.lines] == \
        [shipped.get(line.source_line_id or "", 0) for line in order.lines]
    assert back.shipping == order.shipping
    assert back.totals == order.totals
    assert back.discounts == order.discounts
    assert back.fees == order.fees
    assert back.payment == order.payment
    assert back.notes == order.notes
    assert back.mirror_of == order.mirror_of
    expected_shipments = [
        s.model_copy(update={"status": "shipped"}) for s in order.shipments if s.status != "cancelled"]
    assert back.shipments == expected_shipments  # CS-Cart shipments stop at "shipped"
    assert not [w for w in back.warnings if w.startswith("totals")]


_EXTRA_KEYS = st.from_regex(r"\Ax_[a-z]{1,8}\Z", fullmatch=True)


@settings(_SETTINGS, max_examples=_examples(25))
@given(neutral_orders(), st.dictionaries(_EXTRA_KEYS, json_values(), max_size=4),
       st.dictionaries(_EXTRA_KEYS, json_values(), max_size=3), st.booleans())
def test_unmapped_fields_survive_in_extra(order: NeutralOrder, extra: dict[str, Any], line_extra: dict[str, Any],
                                          mirrored: bool) -> None:
    order = order.model_copy(update={
        "extra": {"cscart": extra},
        "lines": [order.lines[0].model_copy(update={"extra": line_extra}), *order.lines[1:]],
        "mirror_of": "ordersync:src:42" if mirrored else None,
    })
    back = to_neutral(_through_json(render(order)))
    assert _through_json(extra).items() <= back.extra["cscart"].items()
    assert _through_json(line_extra).items() <= back.lines[0].extra.items()
    assert back.mirror_of == order.mirror_of
    again = to_neutral(_through_json(render(back)))
    assert again.model_dump(exclude={"warnings"}) == back.model_dump(exclude={"warnings"})


@settings(max_examples=_examples(200), deadline=None)
@given(json_values())
def test_arbitrary_json_raises_only_invalid_payload(value: Any) -> None:
    for payload in (value, {"order": value}, {"order": value, "shipments": value, "currency": value}):
        with contextlib.suppress(InvalidPayload):
            to_neutral(payload)


def _base_payloads() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for name in ("order_detail_4_1_shipping_object.json", "order_detail_mv_child.json",
                 "order_detail_mv_parent.json", "order_detail_custom_status.json"):
        out.append(json.loads((FIXTURES / name).read_text()))
    shipments = json.loads((FIXTURES / "shipments_order_1042.json").read_text())["shipments"]
    out.append({"order": out[1], "shipments": shipments, "currency": "RON"})
    return out


_BASES = _base_payloads()


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found.extend(_paths(item, (*prefix, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(_paths(item, (*prefix, index)))
    return found


@settings(max_examples=_examples(120), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_payloads_raise_only_invalid_payload(data: st.DataObject) -> None:
    payload = copy.deepcopy(data.draw(st.sampled_from(_BASES)))
    for _ in range(data.draw(st.integers(1, 4))):
        paths = [p for p in _paths(payload) if p]
        path = data.draw(st.sampled_from(paths))
        parent: Any = payload
        for part in path[:-1]:
            parent = parent[part]
        action = data.draw(st.sampled_from(["replace", "delete", "blank"]))
        if action == "replace":
            parent[path[-1]] = data.draw(json_values())
        elif action == "blank":
            parent[path[-1]] = data.draw(st.sampled_from(["", [], {}, None, 0, "0", True, "Y", 1.5, "abc"]))
        elif isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent.pop(path[-1])
    try:
        order = to_neutral(payload)
    except InvalidPayload:
        return
    order.model_dump(mode="json")  # whatever came through serialises


@pytest.mark.parametrize("amount", ["12.5", 12.5, "12.50", " 12.5"])
def test_amount_spellings(amount: Any) -> None:
    detail = json.loads((FIXTURES / "order_detail_custom_status.json").read_text())
    detail["products"]["325149130"]["price"] = amount
    order = to_neutral(detail)
    assert order.lines[0].unit_price == Decimal("12.5")

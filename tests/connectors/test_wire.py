"""connectors.wire: the door into wire models, the plain readers, and ``construct``."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pydantic import Field

from connectors.errors import InvalidPayload
from connectors.wire import ReadModel, WriteModel, construct, parse_wire, plain_reader, to_plain


class _Item(ReadModel):
    sku: str
    price: Decimal
    tags: list[str] = Field(default_factory=list)
    note: str | None = None


class _Order(ReadModel):
    id: int
    items: list[_Item] = Field(default_factory=list)


class _Body(WriteModel):
    name: str
    quantity: int = 1
    options: dict[str, str] = Field(default_factory=dict)
    comment: str | None = None


def test_construct_of_a_complete_dict_is_model_construct() -> None:
    values: dict[str, Any] = {"sku": "A-1", "price": Decimal("9.50"), "tags": ["x"], "note": "n"}
    item = construct(_Item, dict(values))
    assert item == _Item.model_construct(**values)
    assert item.model_fields_set == {"sku", "price", "tags", "note"}
    assert item.model_extra is None


def test_construct_fills_defaults_in_field_order_and_sets_only_what_was_given() -> None:
    body = construct(_Body, {"name": "mug"})
    assert list(body.__dict__) == ["name", "quantity", "options", "comment"]
    assert body.model_fields_set == {"name"}
    assert body.body() == {"name": "mug"}  # unset defaults are not sent
    assert body.model_dump() == _Body.model_construct(name="mug").model_dump()


def test_construct_gives_each_instance_its_own_factory_default_and_fields_set() -> None:
    first, second = construct(_Body, {"name": "a"}), construct(_Body, {"name": "b"})
    first.options["colour"] = "red"
    assert second.options == {}
    full = {"name": "c", "quantity": 2, "options": {}, "comment": None}
    one, two = construct(_Body, dict(full)), construct(_Body, dict(full))
    one.model_fields_set.discard("comment")
    assert two.model_fields_set == set(full)


def test_construct_leaves_out_a_required_field_not_given_as_model_construct_does() -> None:
    item = construct(_Item, {"sku": "A-1"})
    assert "price" not in item.__dict__
    assert item.tags == []
    assert item.note is None


def test_construct_sets_model_extra_for_read_models() -> None:
    item = construct(_Item, {"sku": "A-1", "price": Decimal(1)}, extra={"vendor_field": 7})
    assert item.model_extra == {"vendor_field": 7}


def test_plain_reader_validates_like_the_model_into_plain_dicts() -> None:
    read = plain_reader(_Order)
    raw = {"id": "7", "items": [{"sku": "A-1", "price": "109.0000", "extra_key": 1}]}
    plain = read(raw)
    assert plain == {"id": 7, "items": [{"sku": "A-1", "price": Decimal("109.0000"), "tags": [], "note": None}]}
    assert to_plain(parse_wire(_Order, raw, what="order")) == plain


def test_parse_wire_names_the_bad_field() -> None:
    with pytest.raises(InvalidPayload) as error:
        parse_wire(_Order, {"id": 1, "items": [{"sku": "A-1", "price": "ten"}]}, what="test order")
    assert error.value.problems[0][0] == "items[0].price"

"""The sweep's projection hashes (workers/sweep.py) on a platform whose stamp never moves: from the list
row when it is carried, else read; an order that cannot be read or mapped is taken as changed, a store
that is down stops the sweep."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from types import SimpleNamespace
from typing import Any

import pytest

import workers.sweep
from connectors.base import OrderChange
from connectors.errors import InvalidPayload, NotFound, Unreachable
from sync.keys import content_hash


class _Shop:
    """A connector that serves bundles by id and counts its calls."""

    def __init__(self, gone: Sequence[str] = (), down: bool = False) -> None:
        self.gone, self.down = set(gone), down
        self.hydrated: list[str] = []
        self.read: list[str] = []

    def hydrate(self, snapshot: dict[str, Any]) -> dict[str, Any]:
        self.hydrated.append(snapshot["id"])
        if self.down:
            raise Unreachable("connection refused", store="es")
        return {"id": snapshot["id"], "status": snapshot["status"]}

    def get_orders(self, ids: Sequence[str]) -> Iterator[tuple[str, dict[str, Any] | Exception]]:
        for order_id in ids:
            self.read.append(order_id)
            if self.down:
                yield order_id, Unreachable("connection refused", store="es")
            elif order_id in self.gone:
                yield order_id, NotFound(f"order {order_id} not found")
            else:
                yield order_id, {"id": order_id, "status": "read"}


def _to_neutral(store: str, bundle: dict[str, Any]) -> dict[str, Any]:
    if bundle["status"] == "garbled":
        raise InvalidPayload("evershop order", [("status", "unknown")])
    return {"status": bundle["status"]}


@pytest.fixture(autouse=True)
def _plain_projection(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fake bundles map to plain dicts; their projection is themselves."""
    monkeypatch.setattr(workers.sweep, "sync_projection", lambda order: order)


def _ctx(shop: _Shop) -> Any:
    return SimpleNamespace(runtime=SimpleNamespace(connector=lambda store: shop, to_neutral=_to_neutral))


def _rows(**statuses: str | None) -> dict[str, OrderChange]:
    return {order_id: OrderChange(id=order_id, snapshot=None if status is None else {"id": order_id, "status": status})
            for order_id, status in statuses.items()}


def test_carried_rows_are_hashed_without_a_read_and_the_others_are_read() -> None:
    shop = _Shop()
    rows = _rows(a="paid", b=None, c="shipped")
    hashes = workers.sweep._hashes(_ctx(shop), "es", rows, ["a", "b"])
    assert hashes == {"a": content_hash({"status": "paid"}), "b": content_hash({"status": "read"})}
    assert (shop.hydrated, shop.read) == (["a"], ["b"]), "c is not bound: not hashed"


def test_an_order_gone_or_unmappable_is_taken_as_changed() -> None:
    shop = _Shop(gone=["b"])
    hashes = workers.sweep._hashes(_ctx(shop), "es", _rows(a="garbled", b=None, c=None), ["a", "b", "c"])
    assert hashes == {"a": None, "b": None, "c": content_hash({"status": "read"})}


@pytest.mark.parametrize("carried", [True, False])
def test_a_store_that_is_down_stops_the_sweep(carried: bool) -> None:
    shop = _Shop(down=True)
    with pytest.raises(Unreachable):
        workers.sweep._hashes(_ctx(shop), "es", _rows(a="paid" if carried else None), ["a"])

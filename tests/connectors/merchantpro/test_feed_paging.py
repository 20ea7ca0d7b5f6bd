"""The MerchantPro order list pages by offset: an order deleted mid-read must not hide another.

When an order listed before the current offset is deleted while the feed reads, every later row
moves up one place and the row at the next page boundary is never served. The feed notices the
list's total shrinking and reads it once more, so every remaining order is still seen.
"""

from __future__ import annotations

from typing import Any

import pytest

from connectors.merchantpro.client import MerchantProConnector
from tests.connectors.merchantpro.conftest import Shop
from tests.connectors.merchantpro.test_hydrate import fast


def _delete_first_order_after_page_one(monkeypatch: pytest.MonkeyPatch, shop: Shop,
                                       connector: MerchantProConnector) -> list[str]:
    """Make the merchant delete the oldest order right after the feed's first page; returns its id."""
    deleted: list[str] = []
    real = connector._json

    def json_then_delete(method: str, path: str, **kwargs: Any) -> Any:
        answer = real(method, path, **kwargs)
        params = kwargs.get("params") or {}
        if not deleted and method == "GET" and str(params.get("start")) == "0" and "ids" not in params:
            oldest = min(shop.sim.orders.values(), key=lambda order: (order["date_created"], int(order["id"])))
            deleted.append(str(oldest["id"]))
            del shop.sim.orders[str(oldest["id"])]
        return answer

    monkeypatch.setattr(connector, "_json", json_then_delete)
    return deleted


@pytest.mark.parametrize("shop", [{"orders": 150}], indirect=True)
def test_an_order_deleted_mid_read_does_not_hide_the_one_at_the_page_boundary(
        shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    connector = fast(shop)
    deleted = _delete_first_order_after_page_one(monkeypatch, shop, connector)
    seen = {change.id for change in connector.iter_orders(None)}
    assert deleted
    assert set(shop.sim.orders) <= seen, f"never served: {sorted(set(shop.sim.orders) - seen)}"
    connector.close()


@pytest.mark.parametrize("shop", [{"orders": 150}], indirect=True)
def test_a_list_that_does_not_shrink_is_read_once(shop: Shop) -> None:
    connector = fast(shop)
    assert len(list(connector.iter_orders(None))) == 150
    assert shop.sim.stats.total == 2  # two pages of 100, no second pass
    connector.close()


@pytest.mark.parametrize("shop", [{"orders": 150}], indirect=True)
def test_the_second_pass_serves_each_order_once(shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every reader of the list (the feed, the reference index, the tag look-up) gets each row once,
    although the second pass serves the first page's rows again."""
    connector = fast(shop)
    _delete_first_order_after_page_one(monkeypatch, shop, connector)
    ids = [str(row.id) for row in connector._page({"sort": "date_created"})]
    assert len(ids) == len(set(ids))
    assert set(shop.sim.orders) <= set(ids)
    connector.close()

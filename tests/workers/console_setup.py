"""A console under test: the three simulated shops of the engine tests, a console password, and
some history (mirrored orders, an unknown SKU parked on both routes, a webhook in the inbox)."""

from __future__ import annotations

import os
from pathlib import Path

from tests.sync.test_engine import Shops
from workers import context
from workers.oneshot import run_once

PASSWORD = "correct horse battery staple"


def console_shops(tmp: Path, *, password: str | None = PASSWORD) -> Shops:
    """Shops whose ordersync.toml has ``console_password = "${T_CONSOLE_PW}"`` (when ``password``)."""
    shops = Shops(tmp)
    if password is None:
        return shops
    os.environ["T_CONSOLE_PW"] = password
    text = shops.path.read_text().replace("[settings]\n", '[settings]\nconsole_password = "${T_CONSOLE_PW}"\n', 1)
    shops.path.write_text(text)
    context.install(None)
    shops.ctx.close()
    from sync.config import load_config

    shops.config = load_config(shops.path)
    shops.ctx = context.Context.build(shops.config)
    context.install(shops.ctx)
    return shops


def seed_history(shops: Shops) -> dict[str, str]:
    """Two mirrored orders and one parked on both routes for an unknown SKU; returns their ids."""
    mirrored = shops.order()
    second = shops.order(sku="TEE-M")
    parked = shops.order(sku="NEW-SKU-1")
    run_once(shops.config, ctx=shops.ctx)
    shops.ctx.store.add_inbox(store="us", event_key="store/order/updated:1", topic="store/order/updated",
                              order_id=mirrored, payload='{"scope": "store/order/updated"}')
    return {"mirrored": mirrored, "second": second, "parked": parked}


def add_missing_sku(shops: Shops) -> None:
    """The SKU the parked order needs appears on MerchantPro (so replaying it succeeds there)."""
    template = shops.mp.products[0]
    shops.mp.products.append({**template, "id": 999, "sku": "NEW-SKU-1", "name": "New thing", "variants": None})

"""Two-way EverShop↔BigCommerce against the REAL EverShop 2.2.1 (issue #9, CI's live suite).

Routes ``es-to-bc…`` and ``bc…-to-es``, both intakes live (the shop's bridge posts to ``/webhooks/es``
on ``EVERSHOP_WEBHOOK_PORT``; the BigCommerce simulator posts to ``/webhooks/bc…``), real Celery
workers (concurrency 2), no polls. Customers order on both shops while the workers mirror: every
order ends with exactly one mirror on the other shop, none is mirrored back, every binding is
one-to-one. The real shop is shared with other tests, so only this run's orders are counted: their
customer emails carry the run's token.
"""

from __future__ import annotations

import functools
import socket
import time
import uuid
from decimal import Decimal
from typing import Any

import pytest

from connectors.base import ConnectionSettings
from connectors.evershop import queries
from connectors.evershop.client import EverShopConnector, SetupProduct, ensure_store_setup
from sync.models import Binding
from tests.workers.cluster import WEBHOOK_SECRET, Cluster
from tests.workers.shoppers import bigcommerce_order
from tests.workers.test_e2e_live_evershop import EMAIL, HOOK_PORT, HOOK_SECRET, PASSWORD, URL, VIA_BRIDGE
from tests.workers.test_e2e_live_evershop import _customer_order as evershop_customer_order
from tests.workers.test_e2e_mirror import cluster, database_url  # noqa: F401 - shared fixtures
from tests.workers.two_way import settle_and_measure

pytestmark = [
    pytest.mark.evershop_live, pytest.mark.redis, pytest.mark.celery_worker, pytest.mark.slow,
    pytest.mark.skipif(not URL, reason="set EVERSHOP_URL (scripts/evershop-live.sh starts a real EverShop 2.2.1)"),
    pytest.mark.skipif(not VIA_BRIDGE, reason="the bridge must post to our intake: run scripts/evershop-live.sh "
                       "with EVERSHOP_WEBHOOK_PATH=/webhooks/es and export EVERSHOP_WEBHOOK_SECRET"),
]

PER_SIDE = 3
# The real shop allows 120 requests a minute per client (RateLimit-* headers) and a run needs about
# 100, shared with the other live tests: wait out its window rather than give up after 10 s.
PATIENT = {"max_wait": 90}
FAST = {"rate_limit": {"requests": 100_000, "per_seconds": 1, "burst": 10_000}}  # the simulator: no quota
PRODUCTS = {"MUG-BLK": Decimal("12.50"), "TEE-M": Decimal("24.00")}


def _wait_port_free(port: int, timeout: float) -> bool:
    """The bridge's port is shared with the other live test: wait for it to let go."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) != 0:
                return True
        time.sleep(1)
    return False


def _page(shop: EverShopConnector, *filters: tuple[str, str, Any]) -> list[dict[str, Any]]:
    """One page of the shop's admin order collection."""
    data = shop.graphql(queries.ORDERS_PAGE, {"filters": [{"key": k, "operation": o, "value": str(v)}
                                                          for k, o, v in filters]})
    return [item for item in (data.get("orders") or {}).get("items") or [] if isinstance(item, dict)]


def _newest_order_id(shop: EverShopConnector) -> int:
    """The shop's highest ``order_id`` now (0 when it has none); later orders are this run's candidates."""
    items = _page(shop, ("limit", "eq", 1), ("page", "eq", 1))
    return int(items[0]["orderId"]) if items else 0


def _emails_since(shop: EverShopConnector, after: int) -> dict[str, str]:
    """Every order placed after ``after`` (the bridge's ``order_id gt`` filter), uuid → customer email."""
    found: dict[str, str] = {}
    while True:
        items = _page(shop, ("order_id", "gt", after), ("od", "eq", "asc"), ("limit", "eq", 100), ("page", "eq", 1))
        found.update({str(i["uuid"]): str(i.get("customerEmail") or "") for i in items})
        if len(items) < 100:
            return found
        after = max(int(i["orderId"]) for i in items)


def test_live_two_way_evershop_bigcommerce(cluster: Cluster) -> None:  # noqa: F811
    """Three orders on each side → exactly one mirror each way, 0 duplicates, bindings one-to-one."""
    assert URL is not None
    shop = EverShopConnector(ConnectionSettings(store="es", platform="evershop", base_url=URL,
                                                credentials={"email": EMAIL, "password": PASSWORD}, options=PATIENT))
    ensure_store_setup(shop, [SetupProduct(sku, sku, price) for sku, price in PRODUCTS.items()])
    if not shop.bridge_available():
        pytest.skip("the live EverShop runs without the ordersync bridge extension")
    if not _wait_port_free(HOOK_PORT, 180):
        pytest.skip(f"port {HOOK_PORT}, where the bridge posts, stayed busy")
    token = uuid.uuid4().hex[:10]
    baseline = _newest_order_id(shop)

    # The shop keeps every earlier run's mirrors, stamped with references like ``ordersync:bc:100``;
    # a fresh simulator numbers its orders from 100 again, so the store's name is new on every run.
    bc_name = f"bc{token[:6]}"
    bc = cluster.add_shop(bc_name, "bigcommerce", rate_limit=False)
    bc.simulator.currency = "USD"
    cluster.add_external("es", "evershop", URL, {"email": EMAIL, "password": PASSWORD}, HOOK_SECRET)
    cluster.write_config([{"source": "es", "target": bc_name, "lookback": 60}, {"source": bc_name, "target": "es"}],
                         options={bc_name: FAST, "es": PATIENT}, settings={"max_attempts": 12})
    api = cluster.serve_api(port=HOOK_PORT)
    bc.simulator.configure_webhooks(f"{api}/webhooks/{bc_name}", WEBHOOK_SECRET)
    cluster.start_worker(concurrency=2)

    placed: dict[str, list[str]] = {"es": [], bc_name: []}
    skus = list(PRODUCTS)
    for n in range(PER_SIDE):  # interleaved: both shops announce orders while mirrors are being made
        sku, qty = skus[n % 2], 1 + n % 2
        placed["es"].append(evershop_customer_order(shop, sku, qty, f"es{n}.{token}@example.com"))
        placed[bc_name].append(bigcommerce_order(bc.base_url, f"bc{n}.{token}@example.com", sku, qty,
                                              price=str(PRODUCTS[sku])))

    @functools.cache  # read once the cluster has settled (measure asks for it per binding)
    def ours_on_evershop() -> frozenset[str]:
        return frozenset(uuid_ for uuid_, email in _emails_since(shop, baseline).items() if token in email)

    def foreign(binding: Binding) -> bool:  # another test's EverShop order, announced to our intake
        return binding.route == f"es-to-{bc_name}" and binding.source_id not in placed["es"] and \
            binding.source_id not in ours_on_evershop()

    def order_ids(store: str) -> set[str]:
        if store == "es":
            return set(ours_on_evershop())
        others = {b.target_id for b in cluster.bindings(f"es-to-{bc_name}") if foreign(b)}
        return {str(key) for key in bc.simulator.orders} - others

    figures = settle_and_measure(cluster, placed, timeout=120, order_ids=order_ids, foreign=foreign)
    assert figures.problems == [], f"{figures.line()}\n{figures.problems}\n{cluster.diagnostics()}"
    assert (figures.created_a, figures.created_b) == (PER_SIDE, PER_SIDE)
    assert figures.mirrors == 2 * PER_SIDE
    assert figures.duplicates == 0
    assert figures.mismatched == 0
    assert len(ours_on_evershop()) == 2 * PER_SIDE, "EverShop holds this run's customer orders and mirrors"
    from workers import context

    inbox = context.current().store.counts()["inbox"]
    assert sum(inbox.values()) >= 2 * PER_SIDE, f"the webhooks came through both intakes: {inbox}"
    shop.close()

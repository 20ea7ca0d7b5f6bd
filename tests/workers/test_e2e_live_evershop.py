"""The live route: a REAL EverShop 2.2.1 (with our bridge extension) → a simulated MerchantPro.

Runs when ``EVERSHOP_URL`` is set (``scripts/evershop-live.sh`` starts the shop and prints the
variables; ``.ci/run`` does it). A customer order placed on EverShop appears on MerchantPro; the
merchant then ships it with a tracking number and cancels another, and both changes follow. When
the shop's bridge posts to ``/webhooks/es`` on ``EVERSHOP_WEBHOOK_PORT`` (``.ci/run`` sets
``EVERSHOP_WEBHOOK_PATH=/webhooks/es``), the changes travel by the bridge's signed webhooks through
our intake; otherwise the test queues the same reconcile the webhook would.
"""

from __future__ import annotations

import os
import socket
import uuid
from decimal import Decimal

import pytest

from connectors.base import ConnectionSettings, OrderReference
from connectors.evershop.client import EverShopConnector, SetupProduct, ensure_store_setup
from connectors.evershop.write import (
    EverShopAddress,
    EverShopCartItem,
    EverShopCreatePlan,
    EverShopShipmentCreate,
    EverShopShipmentItem,
)
from tests.workers.cluster import Cluster
from tests.workers.test_e2e_mirror import cluster, database_url  # noqa: F401 - shared fixtures

URL = os.environ.get("EVERSHOP_URL")
EMAIL = os.environ.get("EVERSHOP_ADMIN_EMAIL", "admin@example.com")
PASSWORD = os.environ.get("EVERSHOP_ADMIN_PASSWORD", "Admin12345")
HOOK_PORT = int(os.environ.get("EVERSHOP_WEBHOOK_PORT", "8799"))
HOOK_SECRET = os.environ.get("EVERSHOP_WEBHOOK_SECRET")
VIA_BRIDGE = os.environ.get("EVERSHOP_WEBHOOK_PATH") == "/webhooks/es" and bool(HOOK_SECRET)

pytestmark = [
    pytest.mark.evershop_live, pytest.mark.redis, pytest.mark.celery_worker, pytest.mark.slow,
    pytest.mark.skipif(not URL, reason="set EVERSHOP_URL (scripts/evershop-live.sh starts a real EverShop 2.2.1)"),
]


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def _customer_order(shop: EverShopConnector, sku: str, qty: int, email: str | None = None) -> str:
    """Place an order on EverShop as a storefront customer would (guest cart → COD checkout)."""
    address = EverShopAddress(full_name="Live Buyer", address_1="1 Main St", city="Boston", province="US-MA",
                              country="US", postcode="02134", telephone="5550100")
    plan = EverShopCreatePlan(items=[EverShopCartItem(sku=sku, qty=qty)],
                              customer_email=email or f"live-{uuid.uuid4().hex[:8]}@example.com",
                              customer_full_name="Live Buyer", shipping_address=address,
                              billing_address=address)
    return shop.create_order(plan, OrderReference(key=f"customer:{uuid.uuid4().hex}")).id


def test_live_evershop_to_merchantpro(cluster: Cluster) -> None:  # noqa: F811
    """Create, shipment with tracking, and cancellation travel from the real EverShop to MerchantPro."""
    assert URL is not None
    # the test's customer waits out the real shop's 120/min window like the connector live tests do
    shop = EverShopConnector(ConnectionSettings(store="live", platform="evershop", base_url=URL,
                                                credentials={"email": EMAIL, "password": PASSWORD},
                                                options={"max_wait": 70.0}))
    ensure_store_setup(shop, [SetupProduct("MUG-BLK", "Ceramic Mug, Black", Decimal("12.50")),
                              SetupProduct("TEE-M", "Organic Tee M", Decimal("24.00"))])
    mp = cluster.add_shop("ro", "merchantpro", rate_limit=False)
    cluster.add_external("es", "evershop", URL, {"email": EMAIL, "password": PASSWORD}, HOOK_SECRET)
    route = "es-to-ro"
    cluster.write_config([{"source": "es", "target": "ro", "lookback": 60}],
                         options={"ro": {"rate_limit": {"requests": 3000, "per_seconds": 60, "burst": 50}}})
    bridge = VIA_BRIDGE and _port_free(HOOK_PORT)
    if bridge:
        cluster.serve_api(port=HOOK_PORT)
    cluster.start_worker()
    from workers.tasks import reconcile

    def announce(order_id: str) -> None:
        if not bridge:  # what the bridge's webhook would have queued
            reconcile.delay(route, "es", order_id)

    first = _customer_order(shop, "MUG-BLK", 2)
    second = _customer_order(shop, "TEE-M", 1)
    for order_id in (first, second):
        announce(order_id)
    cluster.wait(lambda: all(cluster.mirror_of(route, o) for o in (first, second)), 120, "mirrors on MerchantPro")
    mirror = cluster.neutral("ro", cluster.mirror_of(route, first))
    assert mirror.mirror_of == f"ordersync:es:{first}"
    assert [(line.sku, line.quantity) for line in mirror.lines] == [("MUG-BLK", 2)]

    # The merchant ships the first order on EverShop and cancels the second.
    source = cluster.neutral("es", first)
    line_id = int(source.lines[0].source_line_id or 0)
    shop.create_shipment(first, EverShopShipmentCreate(items=[EverShopShipmentItem(order_item_id=line_id, qty=2)],
                                                       tracking_number="LIVE-TRACK-1"))
    shop.cancel_order(second)
    for order_id in (first, second):
        announce(order_id)

    def arrived() -> bool:
        shipped = cluster.neutral("ro", cluster.mirror_of(route, first))
        cancelled = cluster.neutral("ro", cluster.mirror_of(route, second))
        return any(s.tracking_number == "LIVE-TRACK-1" for s in shipped.shipments) and cancelled.status == "cancelled"

    cluster.wait(arrived, 120, "the shipment and the cancellation on MerchantPro")
    cluster.settle()
    assert len(mp.simulator.orders) == 2, "one MerchantPro order per EverShop order"
    if bridge:  # the changes really came through the bridge's signed webhooks and our intake
        from workers import context

        inbox = context.current().store.counts()["inbox"]
        assert sum(inbox.values()) >= 4, inbox
    shop.close()

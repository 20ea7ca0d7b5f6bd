"""More routes end to end (real worker, Redis, database): BigCommerce → CS-Cart and CS-Cart → EverShop.

Each test mirrors seeded orders, then acts as the merchant on the source through its own API —
a status change, a shipment with tracking, a cancellation, a deletion — and waits for each to
arrive on the target, checking nothing was duplicated.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.workers.cluster import Cluster
from tests.workers.test_e2e_mirror import cluster, database_url  # noqa: F401 - shared fixtures

pytestmark = [pytest.mark.redis, pytest.mark.celery_worker, pytest.mark.slow]


def _linked(c: Cluster, route: str) -> list[Any]:
    return [b for b in c.bindings(route) if b.state == "linked" and not b.deleted]


def _safe(call: Any) -> Any:
    try:
        return call()
    except Exception:  # noqa: BLE001 - "not there yet" while waiting
        return None


def test_bigcommerce_to_cscart(cluster: Cluster) -> None:  # noqa: F811
    """BigCommerce orders land on CS-Cart (repriced, total corrected), then follow status, shipment,
    cancel and archive."""
    cluster.add_shop("us", "bigcommerce", orders=10, seed=11, rate_limit=(450, 30.0))
    cs = cluster.add_shop("eu", "cscart")
    route = "us-to-eu"
    cluster.write_config([{"source": "us", "target": "eu", "source_statuses": ["1", "7", "9", "11", "2", "3", "10"]}],
                         options={"us": {"rate_limit": {"requests": 450, "per_seconds": 30}},
                                  "eu": {"payment_id": 2, "shipping_id": 1, "currency": "USD"}})
    cluster.start_worker()
    cluster.poll("us")
    cluster.settle()
    mirrored = _linked(cluster, route)
    count = len(mirrored)
    if count < 4:
        pytest.fail(f"only {count} mirrored\n{cluster.diagnostics()}")
    a, b, c, d = (m.source_id for m in mirrored[:4])
    # Every mirror keeps the source's grand total although CS-Cart reprices from its catalog.
    for m in mirrored:
        src, dst = cluster.neutral("us", m.source_id), cluster.neutral("eu", m.target_id or "")
        assert abs(src.totals.grand_total - dst.totals.grand_total) <= 0.01, (src.totals, dst.totals)
        assert dst.mirror_of == f"ordersync:us:{m.source_id}"

    cluster.merchant("us", "PUT", f"/v2/orders/{a}", {"status_id": 11})
    products = cluster.merchant("us", "GET", f"/v2/orders/{b}/products").json()
    address = cluster.merchant("us", "GET", f"/v2/orders/{b}/shipping_addresses").json()[0]
    shipped = cluster.neutral("us", b)
    already = shipped.shipped_quantities()
    items = [{"order_product_id": p["id"], "quantity": p["quantity"] - p.get("quantity_shipped", 0)}
             for p in products if p["quantity"] - p.get("quantity_shipped", 0) > 0]
    if items:
        cluster.merchant("us", "POST", f"/v2/orders/{b}/shipments",
                         {"order_address_id": address["id"], "items": items, "tracking_number": "1ZE2E0000001",
                          "shipping_provider": "ups"})
    cluster.merchant("us", "PUT", f"/v2/orders/{c}", {"status_id": 5})
    cluster.merchant("us", "DELETE", f"/v2/orders/{d}")
    cluster.poll("us")

    def arrived() -> bool:
        first = _safe(lambda: cluster.neutral("eu", cluster.mirror_of(route, a)))
        ship = _safe(lambda: cluster.neutral("eu", cluster.mirror_of(route, b)))
        cancelled = _safe(lambda: cluster.neutral("eu", cluster.mirror_of(route, c)))
        gone = next(x for x in cluster.bindings(route) if x.source_id == d)
        return bool(first and first.status == "processing" and ship
                    and (not items or any(s.tracking_number == "1ZE2E0000001" for s in ship.shipments))
                    and cancelled and cancelled.status == "cancelled" and gone.deleted)

    cluster.wait(arrived, 120, "BigCommerce changes on CS-Cart")
    cluster.settle()
    assert already is not None
    live = [x for x in cluster.bindings(route) if x.target_id]
    assert len(cs.simulator.orders) == len(live) - 1, "one CS-Cart order per mirror (one was deleted)"


def test_cscart_to_evershop(cluster: Cluster) -> None:  # noqa: F811
    """CS-Cart orders become EverShop orders through the cart flow; shipment, cancel and the deletion
    (EverShop can only cancel) follow; the deep sweep notices the deletion CS-Cart never announces."""
    cs = cluster.add_shop("eu", "cscart", orders=8, seed=5)
    ev = cluster.add_shop("es", "evershop", rate_limit=(1200, 60.0))  # the real shop allows 120/min per IP
    route = "eu-to-es"
    cluster.write_config([{"source": "eu", "target": "es", "source_statuses": ["O", "P", "C", "B"]}],
                         options={"eu": {"currency": "USD"},
                                  "es": {"rate_limit": {"requests": 1200, "per_seconds": 60, "burst": 40}}})
    # Two fresh orders placed by the merchant (CS-Cart creates them open, unpaid): EverShop can
    # cancel only unpaid orders, so these are the ones cancelled and deleted below.
    product = cluster.merchant("eu", "GET", "/api/products", None, params={"pcode": "MUG-BLK"}).json()["products"][0]
    for n in range(2):
        cluster.merchant("eu", "POST", "/api/orders", {
            "user_id": "0", "payment_id": "2", "shipping_id": "1",
            "products": {"1": {"product_id": product["product_id"], "amount": str(n + 1)}},
            "user_data": {"email": f"new{n}@example.com", "b_firstname": "Nina", "b_lastname": "Open",
                          "b_address": "1 Main St", "b_city": "Boston", "b_state": "MA", "b_country": "US",
                          "b_zipcode": "02134", "b_phone": "5550100", "s_firstname": "Nina", "s_lastname": "Open",
                          "s_address": "1 Main St", "s_city": "Boston", "s_state": "MA", "s_country": "US",
                          "s_zipcode": "02134", "s_phone": "5550100"}})
    cluster.start_worker()
    cluster.poll("eu")
    cluster.settle()
    mirrored = _linked(cluster, route)
    targets = {m.source_id: cluster.neutral("es", m.target_id or "") for m in mirrored}
    for m in mirrored:
        assert targets[m.source_id].mirror_of == f"ordersync:eu:{m.source_id}"
    # EverShop refuses to cancel paid orders ("not cancelable"), so cancel and delete unpaid ones.
    unpaid = [sid for sid, t in targets.items() if t.payment_status == "unpaid"]
    assert len(unpaid) >= 2, targets
    b, c = unpaid[:2]
    a = next(sid for sid in targets if sid not in (b, c))

    detail = cluster.merchant("eu", "GET", f"/api/orders/{a}").json()
    products = {item_id: int(float(p["amount"])) - int(float(p.get("shipped_amount") or 0))
                for item_id, p in detail["products"].items()}
    products = {k: v for k, v in products.items() if v > 0}
    if products:
        cluster.merchant("eu", "POST", "/api/shipments",
                         {"order_id": a, "shipping_id": detail.get("shipping_ids", "1").split(",")[0] or "1",
                          "products": products, "tracking_number": "CS-E2E-TRACK", "carrier": "ups",
                          "order_status": "C"})
    cluster.merchant("eu", "PUT", f"/api/orders/{b}", {"status": "I"})
    cluster.merchant("eu", "DELETE", f"/api/orders/{c}")
    cluster.poll("eu")
    from workers.tasks import reconcile_all

    reconcile_all.delay()

    def arrived() -> bool:
        ship = _safe(lambda: cluster.neutral("es", cluster.mirror_of(route, a)))
        cancelled = _safe(lambda: cluster.neutral("es", cluster.mirror_of(route, b)))
        deleted = _safe(lambda: cluster.neutral("es", cluster.mirror_of(route, c)))
        return bool(ship and (not products or any(s.tracking_number == "CS-E2E-TRACK" for s in ship.shipments))
                    and cancelled and cancelled.status == "cancelled"
                    and deleted and deleted.status == "cancelled")

    cluster.wait(arrived, 150, "CS-Cart changes on EverShop")
    cluster.settle()
    assert len(ev.simulator.orders) == len([x for x in cluster.bindings(route) if x.target_id]), \
        "one EverShop order per mirrored CS-Cart order"
    assert cs is not None

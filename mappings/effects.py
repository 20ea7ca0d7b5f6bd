"""What a write does to the order on its platform, so the mirror need not be read back after it.

After ordersync writes to a mirror it knows what it sent and what the platform answered; where the
platform's behaviour is known, that is enough to know the mirror's new state without a read. Each
function takes the mirror's last known *bundle* (the shape the platform's ``get_order`` returns and
its mapping's ``to_neutral`` reads) and returns the bundle after the write, or ``None`` where the
effect is not known: the engine then reads the mirror again.

Known effects (see ``../shared/platforms/bigcommerce.md``):

- **BigCommerce create**: ``POST /v2/orders`` answers the whole order row (status, totals, currency,
  stamps); its products, addresses and shipments are sub-resources the answer only links to, so the
  bundle's line ids are unknown until a read (the engine reads before a write that needs them).
- **MerchantPro create**: ``POST /api/v2/orders`` answers "an individual resource representing the
  record that was just added" (``../shared/seeds/merchantpro-orders.txt``): the order as ``GET`` serves
  it, line items and their ids included.
- **BigCommerce ``PUT`` of ``status_id``** sets that status and its label.
- **BigCommerce shipment**: the items count as shipped, and the order moves to Shipped (2) when every
  item is shipped, else to Partially Shipped (3).
- **BigCommerce tracking update**: the shipment's tracking fields change.
- **CS-Cart status ``PUT``** (the status-only fast path) sets the status letter.
- **CS-Cart shipment** (``POST /api/shipments`` naming its items): the shipment joins the order, and
  its ``order_status`` letter, when sent, becomes the order's status.
"""

from __future__ import annotations

import copy
from typing import Any

from connectors.wire import WriteModel
from mappings.bigcommerce import ORDER_STATUS_LABELS

__all__ = ["after_create", "after_write"]


def after_create(platform: str, answer: dict[str, Any]) -> tuple[dict[str, Any], bool] | None:
    """The new mirror's bundle from the create's answer, and whether it holds the platform's ids (lines,
    addresses) as a read would; ``None`` where only a read tells the new order's state."""
    if platform == "bigcommerce" and isinstance(answer.get("status_id"), int):
        return {"order": dict(answer), "products": [], "shipping_addresses": [], "shipments": [], "coupons": []}, False
    if platform == "merchantpro" and answer.get("id") is not None and isinstance(answer.get("line_items"), list):
        return dict(answer), True
    return None


def after_write(platform: str, bundle: dict[str, Any], kind: str, payload: WriteModel | None,
                outcome: dict[str, Any]) -> dict[str, Any] | None:
    """The bundle after a ``status``/``cancel``/``shipment``/``shipment_update`` write, or ``None``."""
    if payload is None:
        return None
    body = payload.body()
    after = copy.deepcopy(bundle)
    if platform == "cscart":
        return _cscart(after, kind, body, str(outcome.get("shipment_id") or ""))
    if platform != "bigcommerce":
        return None
    if kind in ("status", "cancel"):
        return _bc_status(after, body)
    if kind == "shipment" and outcome.get("shipment_id"):
        return _bc_shipment(after, body, str(outcome["shipment_id"]))
    if kind == "shipment_update":
        return _bc_tracking(after, body, str(outcome.get("target_shipment") or ""))
    return None


def _bc_status(bundle: dict[str, Any], body: dict[str, Any]) -> dict[str, Any] | None:
    status_id = body.get("status_id")
    if not isinstance(status_id, int) or set(body) - {"status_id"}:
        return None  # a PUT of other fields: its effect on the order is not modelled
    order = bundle["order"]
    order["status_id"] = status_id
    order["status"] = ORDER_STATUS_LABELS.get(str(status_id), order.get("status", ""))
    return bundle


def _bc_shipment(bundle: dict[str, Any], body: dict[str, Any], shipment_id: str) -> dict[str, Any] | None:
    products = {int(p["id"]): p for p in bundle.get("products") or [] if str(p.get("id", "")).isdigit()}
    items = body.get("items") or []
    if not items or any(int(item["order_product_id"]) not in products for item in items):
        return None
    for item in items:
        product = products[int(item["order_product_id"])]
        product["quantity_shipped"] = int(product.get("quantity_shipped") or 0) + int(item["quantity"])
    order = bundle["order"]
    order["items_shipped"] = sum(int(p.get("quantity_shipped") or 0) for p in products.values())
    address_id = body.get("order_address_id")
    if address_id is None and bundle.get("shipping_addresses"):
        address_id = bundle["shipping_addresses"][0].get("id")
    bundle.setdefault("shipments", []).append({
        "id": int(shipment_id) if shipment_id.isdigit() else shipment_id, "order_id": order.get("id"),
        "order_address_id": address_id, "tracking_number": body.get("tracking_number") or "",
        "shipping_provider": body.get("shipping_provider") or "",
        "tracking_carrier": body.get("tracking_carrier") or "",
        "tracking_link": body.get("tracking_link") or "", "comments": body.get("comments") or "",
        "items": [{"order_product_id": int(i["order_product_id"]), "quantity": int(i["quantity"]),
                   "product_id": products[int(i["order_product_id"])].get("product_id", 0)} for i in items],
    })
    shipped_all = all(int(p.get("quantity_shipped") or 0) >= int(p.get("quantity") or 0) for p in products.values())
    return _bc_status(bundle, {"status_id": 2 if shipped_all else 3})


def _bc_tracking(bundle: dict[str, Any], body: dict[str, Any], shipment_id: str) -> dict[str, Any] | None:
    shipment = next((s for s in bundle.get("shipments") or [] if str(s.get("id")) == shipment_id), None)
    if shipment is None:
        return None
    for key in ("tracking_number", "shipping_provider", "tracking_carrier", "tracking_link", "comments"):
        if key in body and body[key] is not None:
            shipment[key] = body[key]
    return bundle


def _cscart(bundle: dict[str, Any], kind: str, body: dict[str, Any], shipment_id: str) -> dict[str, Any] | None:
    order = bundle.get("order")
    if not isinstance(order, dict):
        return None
    if kind in ("status", "cancel") and isinstance(body.get("status"), str) and \
            set(body) <= {"status", "notify_user", "notify_department", "notify_vendor"}:
        order["status"] = body["status"]
        return bundle
    if kind == "shipment" and shipment_id and isinstance(body.get("products"), dict) and body["products"]:
        bundle.setdefault("shipments", []).append({
            "shipment_id": shipment_id, "order_id": str(order.get("order_id", "")), "status": body.get("status"),
            "tracking_number": body.get("tracking_number") or "", "carrier": body.get("carrier") or "",
            "products": {str(k): int(v) for k, v in body["products"].items()}, "comments": body.get("comments") or "",
            "shipping_id": body.get("shipping_id"), "shipping": body.get("shipping")})
        order["shipment_ids"] = _with_id(order.get("shipment_ids"), shipment_id)
        if body.get("order_status"):
            order["status"] = body["order_status"]
        return bundle
    return None


def _with_id(ids: Any, new: str) -> Any:
    """CS-Cart's ``shipment_ids`` (a list, or a comma-separated string) with one more id."""
    if isinstance(ids, str) and ids.strip():
        return f"{ids},{new}"
    return [*ids, new] if isinstance(ids, list) else [new]

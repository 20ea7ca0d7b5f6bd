"""Customers placing orders on the simulated shops through each shop's own public API.

Orders placed this way make the shop announce them (webhooks) exactly as a real checkout does, which
is what two-way tests need: both sides create orders while ordersync mirrors them.
"""

from __future__ import annotations

from typing import Any

import httpx

__all__ = ["bigcommerce_order", "evershop_order", "merchantpro_order", "place"]

ADDRESS = {"first_name": "Ada", "last_name": "Shopper", "street_1": "1 Main St", "city": "Boston",
           "state": "Massachusetts", "zip": "02134", "country_iso2": "US"}


def _ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code < 300, f"{response.request.method} {response.request.url}: " \
                                        f"{response.status_code} {response.text[:300]}"
    data = response.json()
    assert isinstance(data, dict), data
    return data


def bigcommerce_order(base_url: str, email: str, sku: str = "MUG-BLK", qty: int = 1, *, status_id: int = 11,
                      price: str = "12.50", token: str = "sim-token") -> str:
    """``POST /v2/orders`` as the merchant's storefront would (a custom line with ``sku``); its id."""
    address = {**ADDRESS, "email": email}
    body = {"billing_address": address, "shipping_addresses": [address], "status_id": status_id,
            "products": [{"name": "Thing", "sku": sku, "quantity": qty, "price_ex_tax": price,
                          "price_inc_tax": price}]}
    data = _ok(httpx.post(f"{base_url}/v2/orders", json=body, headers={"X-Auth-Token": token}, timeout=15))
    return str(data["id"])


def evershop_order(base_url: str, simulator: Any, email: str, sku: str = "MUG-BLK", qty: int = 1) -> str:
    """A guest checkout on EverShop (cart → contact → addresses → methods → ``POST /api/orders``); its uuid."""
    with httpx.Client(base_url=base_url, timeout=15) as client:
        cart = _ok(client.post("/api/carts", json={"items": [{"sku": sku, "qty": qty}], "customer_email": email,
                                                   "customer_full_name": "Ada Shopper"}))["data"]["cartId"]
        address = {"full_name": "Ada Shopper", "telephone": "5550100", "address_1": "1 Main St", "city": "Boston",
                   "province": "US-MA", "country": "US", "postcode": "02134"}
        _ok(client.post(f"/api/carts/{cart}/contacts", json={"email": email}))
        for kind in ("shipping", "billing"):
            _ok(client.post(f"/api/carts/{cart}/addresses", json={"type": kind, "address": address}))
        method = simulator.methods[0]["uuid"]
        _ok(client.post(f"/api/carts/{cart}/shippingMethods", json={"provider_code": "core", "method_code": method}))
        _ok(client.post(f"/api/carts/{cart}/paymentMethods", json={"method_code": "cod"}))
        order = _ok(client.post("/api/orders", json={"cart_id": cart}))["data"]
    return str(order["uuid"])


def merchantpro_order(base_url: str, simulator: Any, email: str, sku: str = "MUG-BLK", qty: int = 1) -> str:
    """``POST /api/v2/orders`` with one catalog line; its id."""
    found = simulator._by_sku(sku)
    assert found is not None, f"the MerchantPro catalog has no {sku}"
    product, variant = found
    line: dict[str, Any] = {"product_id": product["id"], "quantity": qty}
    if variant is not None:
        line["variant_id"] = variant["id"]
    body = {"customer_email": email, "payment_status": "awaiting", "shipping_status": "awaiting",
            "line_items": [line]}
    for kind in ("billing", "shipping"):
        body.update({f"{kind}_name": "Ada Shopper", f"{kind}_country_code": "US",
                     f"{kind}_country_name": "United States", f"{kind}_state": "Massachusetts",
                     f"{kind}_city": "Boston", f"{kind}_address": "1 Main St", f"{kind}_postal_code": "02134",
                     f"{kind}_phone": "5550100"})
    data = _ok(httpx.post(f"{base_url}/api/v2/orders", json=body, auth=("sim-key", "sim-secret"), timeout=15))
    return str(data["id"])


def place(platform: str, base_url: str, simulator: Any, email: str, sku: str = "MUG-BLK", qty: int = 1) -> str:
    """A customer order on a shop of ``platform``; its id as ordersync names it."""
    if platform == "bigcommerce":
        return bigcommerce_order(base_url, email, sku, qty)
    if platform == "evershop":
        return evershop_order(base_url, simulator, email, sku, qty)
    if platform == "merchantpro":
        return merchantpro_order(base_url, simulator, email, sku, qty)
    raise ValueError(f"no customer flow for {platform}")

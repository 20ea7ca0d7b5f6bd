"""EverShop write models: the bodies and plans ordersync sends to an EverShop store.

EverShop cannot take an order as one document: an order is created through the storefront cart
flow, statuses are derived from payment and shipments, and there is no delete. So the mapping
layer produces *plans* (what to achieve) and the connector turns them into the real calls.
These models are the contract between ``mappings.evershop`` and ``connectors.evershop.client``.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field

from connectors.wire import WriteModel

__all__ = [
    "EverShopAddress",
    "EverShopCancel",
    "EverShopCartItem",
    "EverShopCreatePlan",
    "EverShopLegacyShipmentCreate",
    "EverShopShipmentCreate",
    "EverShopShipmentItem",
    "EverShopShipmentUpdate",
    "EverShopStatusPlan",
]


class EverShopAddress(WriteModel):
    """``POST /api/carts/:cart_id/addresses`` ``address`` body (validator requires full_name,
    address_1, province, country, postcode)."""

    full_name: str
    address_1: str
    address_2: str | None = None
    city: str | None = None
    province: str = Field(description="Province code as EverShop stores it, e.g. 'US-CA'.")
    country: str = Field(description="ISO 3166-1 alpha-2.")
    postcode: str
    telephone: str | None = None


class EverShopCartItem(WriteModel):
    """One cart line: ``{sku, qty}`` (EverShop prices it from its own catalog)."""

    sku: str
    qty: int = Field(ge=1)


class EverShopCreatePlan(WriteModel):
    """Everything the cart → checkout flow needs to place one order.

    The connector runs: POST /api/carts (items, email, full name) → report ``cart_id`` →
    contacts → shipping and billing addresses → shipping method → payment method →
    POST /api/orders {cart_id} → PATCH /api/orders/:uuid/metafields with ``reference``.
    """

    items: list[EverShopCartItem] = Field(min_length=1)
    customer_email: str
    customer_full_name: str | None = None
    shipping_address: EverShopAddress
    billing_address: EverShopAddress
    shipping_provider: str = "core"
    shipping_method_code: str | None = Field(
        default=None, description="Core shipping method uuid; None → the first method available for the cart."
    )
    payment_method_code: str = "cod"
    payment_method_name: str | None = "Cash on Delivery"
    shipping_note: str | None = None
    reference: str | None = Field(default=None, description="ordersync reference, stored as an order metafield.")
    expected_grand_total: Decimal | None = Field(
        default=None, description="The source's grand total, to report repricing drift after create."
    )


class EverShopStatusPlan(WriteModel):
    """Actions that move an EverShop order towards a neutral status (its status is derived).

    Applied in order: capture payment (COD, only when payment is pending), mark shipments
    delivered, cancel (only when not already canceled — EverShop restocks on every cancel).
    """

    capture_payment: bool = False
    deliver_shipments: list[str] = Field(default_factory=list, description="Shipment uuids to mark delivered.")
    cancel: bool = False
    cancel_reason: str | None = None


class EverShopShipmentItem(WriteModel):
    """``{order_item_id, qty}`` in a 2.x shipment body."""

    order_item_id: int
    qty: int = Field(ge=1)


class EverShopShipmentCreate(WriteModel):
    """``POST /api/orders/:uuid/shipments`` body in EverShop 2.x (verified on 2.2.1)."""

    items: list[EverShopShipmentItem] = Field(min_length=1)
    carrier: str = Field(default="custom", description="A registered carrier code; core has only 'custom'.")
    tracking_number: str | None = None
    notify_customer: bool | None = Field(default=None, alias="notifyCustomer")


class EverShopLegacyShipmentCreate(WriteModel):
    """The older shipment body from EverShop's docs page (1.x): ``{carrier_name, tracking_number}``."""

    carrier_name: str | None = None
    tracking_number: str | None = None


class EverShopShipmentUpdate(WriteModel):
    """``PATCH /api/shipments/:uuid`` body: tracking changes."""

    carrier: str | None = None
    tracking_number: str | None = None


class EverShopCancel(WriteModel):
    """``POST /api/orders/:uuid/cancel`` body."""

    reason: str = "Cancelled on the source store (ordersync)"

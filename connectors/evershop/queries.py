"""The GraphQL documents the EverShop connector sends, in one place.

EverShop has no REST route to read orders: everything is read through GraphQL, the admin schema at
``/api/admin/graphql`` (Bearer JWT) and the storefront schema at ``/api/graphql`` (public). These
documents were checked against a live EverShop 2.2.1; the simulator must answer them as well, so
they are the read contract between :mod:`connectors.evershop.client` and ``simulator.py``.

Rules learnt from the live shop:

- Never select ``OrderCollection.currentPage``: it is declared ``Int!`` without a resolver and the
  whole query fails with HTTP 500 "Cannot return null for non-nullable field ...currentPage".
- Filters are ``[FilterInput]`` with an enum ``operation``: pass them as *variables* (``"eq"`` as a
  string literal inside the document is a validation error).
- Unknown filter keys are ignored silently; the filters that were applied come back in
  ``currentFilters``, which is how the connector detects the ordersync bridge's ``order_id`` /
  ``cart_id`` filters.
- Dates are objects (``Date {value text}``, ``DateTime {value}``) with epoch milliseconds as strings;
  prices are ``Price {value currency}`` objects with float values.
"""

from __future__ import annotations

__all__ = [
    "CART_METHODS",
    "LIGHT_ORDER_FIELDS",
    "ORDER",
    "ORDERS_BY_FILTER",
    "ORDERS_LIGHT_PAGE",
    "ORDERS_PAGE",
    "ORDER_FIELDS",
    "ORDER_KEYS",
    "ORDER_STATE",
    "ORDER_UNSHIPPED",
    "PRODUCTS_BY_SKU",
    "SHOP_VERSION",
    "STORE_SETUP",
    "order_states_document",
]

_ADDRESS = """
      orderAddressId uuid fullName address1 address2 city postcode telephone
      country { code name }
      province { code name countryCode }"""

ORDER_FIELDS = (
    """
    orderId uuid orderNumber
    status { code name }
    paymentStatus { code name isCancelable }
    shipmentStatus { code name badge }
    currency customerId customerGroupId customerEmail customerFullName userIp coupon noShippingRequired
    shippingFeeExclTax { value currency } shippingFeeInclTax { value currency } shippingTaxAmount { value }
    discountAmount { value } subTotal { value } subTotalInclTax { value }
    subTotalWithDiscount { value } subTotalWithDiscountInclTax { value }
    taxAmount { value } taxAmountBeforeDiscount { value } totalTaxAmount { value }
    grandTotal { value currency }
    totalQty totalWeight { value unit }
    shippingMethodName
    shippingMethodData { providerCode methodCode snapshot { code name carrier serviceCode cost { value } } }
    paymentMethod paymentMethodName shippingNote
    createdAt { value text } updatedAt { value }
    items {
      orderItemId uuid productId productSku productName thumbnail noShippingRequired qty
      productPrice { value } productPriceInclTax { value } finalPrice { value } finalPriceInclTax { value }
      taxPercent taxAmount { value } taxAmountBeforeDiscount { value } discountAmount { value }
      lineTotal { value } lineTotalWithDiscount { value } lineTotalWithDiscountInclTax { value }
      lineTotalInclTax { value }
      productWeight { value unit }
      variantGroupId variantOptions { attributeCode attributeName attributeId optionId optionText }
      productCustomOptions fulfillmentBadge
    }
    shippingAddress {"""
    + _ADDRESS
    + """
    }
    billingAddress {"""
    + _ADDRESS
    + """
    }
    shipments {
      shipmentId uuid carrier carrierName trackingNumber trackingUrl
      status { code name phase }
      shippedAt { value } deliveredAt { value } canceledAt { value }
      createdAt { value } updatedAt { value }
      items { uuid orderItemId qty productSku }
    }
    unshippedItems { orderItemId productSku qtyOrdered qtyUnshipped }
    metaData
    activities { comment customerNotified createdAt { value } }
    paymentTransactions { transactionId transactionType paymentAction amount { value } createdAt }
"""
)
"""Every order field the mapping reads (``mappings.evershop.to_neutral`` input is this object)."""

ORDER_KEYS = frozenset({
    "orderId", "uuid", "orderNumber", "status", "paymentStatus", "shipmentStatus", "currency", "customerId",
    "customerGroupId", "customerEmail", "customerFullName", "userIp", "coupon", "noShippingRequired",
    "shippingFeeExclTax", "shippingFeeInclTax", "shippingTaxAmount", "discountAmount", "subTotal", "subTotalInclTax",
    "subTotalWithDiscount", "subTotalWithDiscountInclTax", "taxAmount", "taxAmountBeforeDiscount", "totalTaxAmount",
    "grandTotal", "totalQty", "totalWeight", "shippingMethodName", "shippingMethodData", "paymentMethod",
    "paymentMethodName", "shippingNote", "createdAt", "updatedAt", "items", "shippingAddress", "billingAddress",
    "shipments", "unshippedItems", "metaData", "activities", "paymentTransactions",
})
"""The top-level keys :data:`ORDER_FIELDS` selects: an order object holding all of them is a whole order."""

ORDER = "query OrderByUuid($uuid: String!) {\n  order(uuid: $uuid) {" + ORDER_FIELDS + "  }\n}\n"
"""One order by uuid, with everything (admin endpoint: ``metaData`` and ``activities`` are admin-only)."""

LIGHT_ORDER_FIELDS = """
    orderId uuid orderNumber customerEmail
    status { code } paymentStatus { code } shipmentStatus { code }
    paymentMethod
    createdAt { value }
    shipments { uuid carrier trackingNumber status { code } items { orderItemId qty } }
    metaData
"""
"""What the change feed and reference lookups need per order: ids, statuses, shipments, metafields."""

ORDERS_PAGE = (
    "query OrdersPage($filters: [FilterInput]) {\n"
    "  orders(filters: $filters) {\n"
    "    total\n"
    "    currentFilters { key operation value }\n"
    "    items {" + ORDER_FIELDS + "    }\n"
    "  }\n"
    "}\n"
)
"""A page of the admin order collection with whole orders (``items`` are the same ``Order`` type that
``order(uuid)`` answers, selected with :data:`ORDER_FIELDS`), so the change feed's page carries every
order it reports and no per-order read follows. ``total`` and ``currentFilters``; never ``currentPage``."""

ORDERS_LIGHT_PAGE = (
    "query OrdersLightPage($filters: [FilterInput]) {\n"
    "  orders(filters: $filters) {\n"
    "    total\n"
    "    currentFilters { key operation value }\n"
    "    items {" + LIGHT_ORDER_FIELDS + "    }\n"
    "  }\n"
    "}\n"
)
"""A page of the admin order collection with the light fields only (ids, statuses, shipments,
metafields): the bridge probe, reference scans and lookups by cart or e-mail need no more."""

ORDERS_BY_FILTER = ORDERS_LIGHT_PAGE
"""Reference lookups use the light page (cart id, email filters)."""

ORDER_STATE = (
    "query OrderState($uuid: String!) {\n"
    "  order(uuid: $uuid) {" + LIGHT_ORDER_FIELDS + "  }\n"
    "}\n"
)
"""An order's current statuses and shipments, read before every status write (checked writes)."""

ORDER_UNSHIPPED = (
    "query OrderUnshipped($uuid: String!) {\n"
    "  order(uuid: $uuid) {\n"
    "    uuid\n"
    "    unshippedItems { orderItemId productSku qtyOrdered qtyUnshipped }\n"
    "    shipments { uuid carrier trackingNumber status { code } items { orderItemId qty } }\n"
    "  }\n"
    "}\n"
)
"""The quantities still to ship (to turn an old-style shipment body into a 2.x one)."""

PRODUCTS_BY_SKU = (
    "query ProductsBySku($filters: [FilterInput]) {\n"
    "  products(filters: $filters) {\n"
    "    total\n"
    "    items {\n"
    "      productId uuid sku name status variantGroupId\n"
    "      price { regular { value currency } }\n"
    "      inventory { qty isInStock manageStock stockAvailability }\n"
    "    }\n"
    "  }\n"
    "}\n"
)
"""Products by SKU (admin filter ``sku`` supports ``in``, a comma-separated list; we match exactly)."""

CART_METHODS = (
    "query CartMethods($id: String!) {\n"
    "  cart(id: $id) {\n"
    "    uuid\n"
    "    grandTotal { value currency }\n"
    "    availableShippingMethods { code providerCode name cost { value } }\n"
    "    availablePaymentMethods { code name }\n"
    "  }\n"
    "}\n"
)
"""The shipping and payment methods a cart can use (storefront endpoint, no auth)."""

SHOP_VERSION = "query ShopVersion { version }\n"
"""The EverShop version (2.x has it; older shops answer with a GraphQL error)."""

STORE_SETUP = (
    "query StoreSetup {\n"
    "  setting { codPaymentStatus codDisplayName allowGuestCheckout storeCurrency }\n"
    "  packages { packageId uuid name isDefault }\n"
    "  shippingZones { uuid shippingZoneId name countries { code } providers { providerCode isEnabled } }\n"
    "  coreShippingMethods {\n"
    "    uuid coreShippingMethodId name isEnabled rates { uuid zoneId isEnabled cost { value } }\n"
    "  }\n"
    "}\n"
)
"""What :func:`~connectors.evershop.client.ensure_store_setup` checks before creating anything.

(Metafield definitions are read over REST, ``GET /api/metafield-definitions?ownerType=order``: the
GraphQL ``metafieldDefinitions`` resolver answers ``[]`` to JWT clients, verified on 2.2.1.)"""


def order_states_document(count: int, *, whole: bool = False) -> str:
    """One document reading ``count`` orders at once (``o0 .. o{count-1}`` aliases): their light state,
    or with ``whole`` every field :data:`ORDER_FIELDS` selects.

    EverShop cannot filter orders by update time, so the change feed re-reads every open order's light
    state on each poll (one request per ``count`` orders), then reads only the changed ones whole, again
    ``count`` to a request.
    """
    if count < 1:
        raise ValueError("count must be at least 1")
    params = ", ".join(f"$u{i}: String!" for i in range(count))
    selection = ORDER_FIELDS if whole else LIGHT_ORDER_FIELDS
    fields = "".join(f"  o{i}: order(uuid: $u{i}) {{{selection}  }}\n" for i in range(count))
    name = "OrdersWhole" if whole else "OrderStates"
    return f"query {name}({params}) {{\n{fields}}}\n"

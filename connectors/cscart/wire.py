"""CS-Cart / Multi-Vendor wire models: the JSON its REST API returns and the bodies we send.

CS-Cart is loose in ways that matter (see ``docs/platforms/cscart.md``):

- database columns come back as strings (``"total": "972.00"``, ``"timestamp": "1448517775"``),
  computed fields as PHP numbers and booleans (``"subtotal": 972``, ``"need_shipping": true``; a
  customised Multi-Vendor store answers ``1``), flags as ``"Y"``/``"N"``;
- an empty PHP array serialises as ``[]`` where the filled form is an object keyed by id
  (``products``, ``taxes``, ``promotions``, ``payment_method``);
- ``shipping`` is a list of chosen methods (4.x) or an object keyed by ``shipping_id`` with
  ``rates`` (early 4.0/4.1); ``shipment_ids`` a list or a CSV string; tax ``applies`` either
  ``{P, S, items{P{item_id: true}, S}}`` or the old ``{"P_<item_id>": amount, "S_<group>_<id>": amount}``.

The read models accept all of these with pydantic's native (Rust) lax coercion — numbers from
strings, booleans from ``"Y"``/``1``/``true``, strings from numbers — so validation stays cheap;
every field they do not declare is kept verbatim in ``model_extra``. :func:`entries` walks the
"object keyed by id or ``[]``" containers uniformly.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from connectors.errors import InvalidPayload
from connectors.wire import ReadModel, WriteModel, format_location

__all__ = [
    "CsCartCarrierInfo",
    "CsCartCatalogProduct",
    "CsCartListParams",
    "CsCartOrder",
    "CsCartOrderCreate",
    "CsCartOrderLine",
    "CsCartOrderList",
    "CsCartOrderProduct",
    "CsCartOrderRow",
    "CsCartOrderUpdate",
    "CsCartPaymentMethod",
    "CsCartProductList",
    "CsCartPromotion",
    "CsCartShipment",
    "CsCartShipmentCreate",
    "CsCartShipmentList",
    "CsCartShipmentUpdate",
    "CsCartShippingMethod",
    "CsCartStatus",
    "CsCartStatusParams",
    "CsCartStatusUpdate",
    "CsCartTax",
    "CsCartTaxApplies",
    "CsCartUserData",
    "CsCartUserDataUpdate",
    "NotifyFlag",
    "entries",
    "parse_cscart",
    "parse_id_list",
    "parse_statuses",
    "read_order",
]

M = TypeVar("M", bound=BaseModel)

_READ = ConfigDict(extra="allow", populate_by_name=True, coerce_numbers_to_str=True)
_WRITE = ConfigDict(extra="forbid", populate_by_name=True, coerce_numbers_to_str=True)


def entries(container: Any) -> Iterator[tuple[str, Any]]:
    """``(key, value)`` pairs of a CS-Cart "object keyed by id, or ``[]`` when empty" container.

    Dicts yield their items; lists yield ``(index, item)``; ``None`` and scalars yield nothing.
    """
    if isinstance(container, dict):
        for key, value in container.items():
            yield str(key), value
    elif isinstance(container, list):
        for index, value in enumerate(container):
            yield str(index), value


def parse_id_list(value: Any) -> list[str]:
    """``shipment_ids`` and friends: ``[1, "2"]``, ``"1,2"``, ``""`` or ``None`` → ``["1", "2"]``."""
    if value is None or value is False:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, list | tuple):
        return [str(item).strip() for item in value if item is not None and str(item).strip()]
    if isinstance(value, dict):
        return [str(item).strip() for item in value.values() if item is not None and str(item).strip()]
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return [str(value)]
    return []


def _is_branch(part: int | str) -> bool:
    """A location part pydantic adds for a union member (``dict[str,CsCartTax]``, ``CsCartTaxApplies``)."""
    return isinstance(part, str) and ("[" in part or part[:1].isupper() or part.startswith("function-"))


def parse_cscart(model: type[M], data: Any, *, what: str, prefix: str = "") -> M:
    """Like :func:`connectors.wire.parse_wire`, with CS-Cart's "object or list" unions reported
    plainly: the union-member names are dropped from the paths, and the "wrong container" errors of
    the branch that did not apply are left out when the other branch names a deeper field."""
    if not isinstance(data, dict):
        got = "a list" if isinstance(data, list) else type(data).__name__
        raise InvalidPayload(what, [(prefix, f"expected a JSON object, got {got}")])
    try:
        return model.model_validate(data)
    except ValidationError as error:
        found: list[tuple[str, str]] = []
        for item in error.errors(include_url=False, include_input=False):
            path = format_location([part for part in item["loc"] if not _is_branch(part)])
            if prefix:
                path = f"{prefix}.{path}" if path else prefix
            message = str(item["msg"]).removeprefix("Value error, ")
            found.append((path, message))
        deeper = [path for path, message in found if not message.startswith("Input should be a valid")]
        problems: list[tuple[str, str]] = []
        for path, message in found:
            shallow = message.startswith("Input should be a valid") and any(
                other != path and other.startswith(path) for other in deeper)
            if not shallow and (path, message) not in problems:
                problems.append((path, message))
        raise InvalidPayload(what, problems or found) from None


# --------------------------------------------------------------------------------------------
# Read models: orders
# --------------------------------------------------------------------------------------------


class CsCartOrderProduct(ReadModel):
    """One order line, ``products.<item_id>``. ``price`` is the unit price after the line's
    per-unit ``discount``; it includes tax when the store's taxes have ``price_includes_tax = Y``.

    ``extra`` (the line's serialised cart data: options, stored price...) is kept as sent: read it
    with :meth:`options_value`. Every other field stays in ``model_extra``.
    """

    model_config = _READ

    item_id: str | None = Field(default=None, description="crc32(product_id + sorted option variants).")
    product_id: str
    product_code: str | None = Field(default=None, description="The SKU.")
    product: str | None = Field(default=None, description="The product name.")
    price: Decimal
    amount: int
    discount: Decimal | None = Field(default=None, description="Per-unit discount (promotions).")
    base_price: Decimal | None = Field(default=None, description="Unit price before the discount.")
    subtotal: Decimal | None = Field(default=None, description="price * amount (+ tax in early stores).")
    tax_value: Decimal | None = None
    shipped_amount: int | None = Field(default=None, description="Quantity already in shipments.")
    shipment_amount: int | None = Field(default=None, description="Quantity still to ship.")
    extra: Any = Field(default=None, description="dict: product_options, product_options_value, base_price...")

    def options_value(self) -> list[dict[str, Any]]:
        """``extra.product_options_value``: the chosen options with names, as stored on the order."""
        extra = self.extra
        if not isinstance(extra, dict):
            return []
        values = extra.get("product_options_value")
        if isinstance(values, dict):
            return [v for v in values.values() if isinstance(v, dict)]
        if isinstance(values, list):
            return [v for v in values if isinstance(v, dict)]
        return []

    def product_options(self) -> dict[str, str]:
        """``extra.product_options``: option id → variant id (or text); ``{}`` when none."""
        extra = self.extra
        options = extra.get("product_options") if isinstance(extra, dict) else None
        if not isinstance(options, dict):
            return {}
        return {str(k): str(v) for k, v in options.items() if v is not None and not isinstance(v, dict | list)}


class CsCartTaxApplies(ReadModel):
    """``taxes.<id>.applies``: ``P`` (goods) and ``S`` (shipping) amounts and the items taxed.

    Early 4.x stores write one key per line instead (``"P_<item_id>": 2.5``, ``"S_0_1": 0.4``);
    those stay in ``model_extra`` and :func:`mappings.cscart` reads them.
    """

    model_config = _READ

    P: Decimal | None = None
    S: Decimal | None = None
    items: dict[str, Any] | list[Any] | None = None


class CsCartTax(ReadModel):
    """``taxes.<tax_id>``: one tax applied to the order."""

    model_config = _READ

    rate_type: str | None = Field(default=None, description="P = percent, F = fixed amount.")
    rate_value: Decimal | None = None
    price_includes_tax: bool = False
    regnumber: str | None = None
    tax_subtotal: Decimal | None = None
    description: str | None = None
    applies: CsCartTaxApplies | list[Any] | None = None


class CsCartShippingMethod(ReadModel):
    """A chosen shipping method: an element of ``shipping`` (4.x list) or ``shipping.<id>`` (4.0/4.1)."""

    model_config = _READ

    shipping_id: str | None = None
    shipping: str | None = Field(default=None, description="The method's name.")
    group_key: str | None = None
    rate: Decimal | None = None
    rates: list[Decimal | None] | dict[str, Decimal | None] | None = Field(
        default=None, description="Early 4.0/4.1: the rate per product group."
    )
    module: str | None = None
    service_code: str | None = None


class CsCartPromotion(ReadModel):
    """``promotions.<promotion_id>``: an applied promotion (name added by ``fn_get_order_info``)."""

    model_config = _READ

    name: str | None = None
    short_description: str | None = None
    total_discount: Decimal | None = None


class CsCartPaymentMethod(ReadModel):
    """``payment_method``: the payment method's settings (``processor_params`` stripped by the API)."""

    model_config = _READ

    payment_id: str | None = None
    payment: str | None = Field(default=None, description="The method's name.")
    surcharge_title: str | None = None


class CsCartOrder(ReadModel):
    """``GET /api/orders/{id}``: every ``cscart_orders`` column (strings) plus computed fields."""

    model_config = _READ

    order_id: str
    status: str
    timestamp: int = Field(description="Creation time, unix seconds.")
    updated_at: int | None = Field(default=None, description="Last change, unix seconds (4.13+; 0 = never).")
    total: Decimal
    subtotal: Decimal | None = None
    discount: Decimal | None = Field(default=None, description="Sum of the lines' promotion discounts.")
    subtotal_discount: Decimal | None = Field(default=None, description="Order-level discount.")
    payment_surcharge: Decimal | None = None
    shipping_cost: Decimal | None = None
    tax_subtotal: Decimal | None = Field(default=None, description="Taxes not included in prices.")

    is_parent_order: bool | None = None
    parent_order_id: str | None = None
    company_id: str | None = None
    user_id: str | None = None

    email: str | None = None
    firstname: str | None = None
    lastname: str | None = None
    phone: str | None = None
    company: str | None = None
    lang_code: str | None = None

    b_firstname: str | None = None
    b_lastname: str | None = None
    b_address: str | None = None
    b_address_2: str | None = None
    b_city: str | None = None
    b_county: str | None = None
    b_state: str | None = None
    b_state_descr: str | None = None
    b_country: str | None = None
    b_country_descr: str | None = None
    b_zipcode: str | None = None
    b_phone: str | None = None
    s_firstname: str | None = None
    s_lastname: str | None = None
    s_address: str | None = None
    s_address_2: str | None = None
    s_city: str | None = None
    s_county: str | None = None
    s_state: str | None = None
    s_state_descr: str | None = None
    s_country: str | None = None
    s_country_descr: str | None = None
    s_zipcode: str | None = None
    s_phone: str | None = None

    notes: str | None = Field(default=None, description="The customer's note.")
    details: str | None = Field(default=None, description="The staff's (admin) note; carries our reference.")

    payment_id: str | None = None
    payment_method: CsCartPaymentMethod | list[Any] | None = None
    payment_info: dict[str, Any] | list[Any] | None = None

    products: dict[str, CsCartOrderProduct] | list[CsCartOrderProduct] | None = None
    taxes: dict[str, CsCartTax] | list[CsCartTax] | None = None
    promotions: dict[str, CsCartPromotion] | list[Any] | None = None
    coupons: dict[str, Any] | list[Any] | None = None
    shipping: list[CsCartShippingMethod] | dict[str, CsCartShippingMethod] | None = None
    shipment_ids: list[str | None] | str | None = None


class CsCartOrderRow(ReadModel):
    """One row of ``GET /api/orders``: only the short columns (no ``updated_at``)."""

    model_config = _READ

    order_id: str
    status: str | None = None
    timestamp: int | None = None
    total: Decimal | None = None
    email: str | None = None
    user_id: str | None = None
    company_id: str | None = None
    is_parent_order: bool | None = None
    parent_order_id: str | None = None
    updated_at: int | None = Field(default=None, description="Only with get_orders_data=1.")


class CsCartListParams(ReadModel):
    """The ``params`` echo of a list call; ``total_items`` is a string on the wire."""

    model_config = _READ

    page: int | None = None
    items_per_page: int | None = None
    total_items: int = 0


class CsCartOrderList(ReadModel):
    """``GET /api/orders``: ``{"orders": [...], "params": {..., "total_items": "64"}}``."""

    model_config = _READ

    orders: list[CsCartOrderRow] = Field(default_factory=list)
    params: CsCartListParams = Field(default_factory=CsCartListParams)


# --------------------------------------------------------------------------------------------
# Building models from valid data, and the door into CsCartOrder
# --------------------------------------------------------------------------------------------

def read_order(raw: Any, *, what: str = "CS-Cart order") -> CsCartOrder:
    """``GET /api/orders/{id}`` as a validated :class:`CsCartOrder` (``InvalidPayload`` names the field).

    A hand-written reader for the common shapes was tried and measured: pydantic's validator is as
    fast or faster here, so this is the one door.
    """
    return parse_cscart(CsCartOrder, raw, what=what)


# --------------------------------------------------------------------------------------------
# Read models: shipments, statuses, products
# --------------------------------------------------------------------------------------------


class CsCartCarrierInfo(ReadModel):
    """``carrier_info``: the carrier's display name and tracking link (built-in carriers only)."""

    model_config = _READ

    name: str | None = None
    tracking_url: str | None = None


class CsCartShipment(ReadModel):
    """One shipment from ``GET /api/shipments`` (advanced info): ``products`` maps item_id → quantity."""

    model_config = _READ

    shipment_id: str
    order_id: str | None = None
    shipment_timestamp: int | None = None
    status: str | None = Field(default=None, description="Shipment status letter: P, A or S by default.")
    tracking_number: str | None = None
    carrier: str | None = None
    carrier_info: CsCartCarrierInfo | list[Any] | None = None
    products: dict[str, int] | list[Any] | None = None
    comments: str | None = None
    shipping_id: str | None = None
    shipping: str | None = None


class CsCartShipmentList(ReadModel):
    """``GET /api/shipments``: ``{"shipments": [...], "params": {...}}``."""

    model_config = _READ

    shipments: list[CsCartShipment] = Field(default_factory=list)
    params: CsCartListParams = Field(default_factory=CsCartListParams)


class CsCartStatusParams(ReadModel):
    """A status's behaviour flags: ``payment_received`` Y, ``inventory`` D(ecrease)/I(ncrease)..."""

    model_config = _READ

    payment_received: str | None = None
    inventory: str | None = None
    notify: str | None = None
    color: str | None = None


class CsCartStatus(ReadModel):
    """One element of ``GET /api/statuses``: the letter, its type (O order, S shipment), its label."""

    model_config = _READ

    status_id: str | None = None
    status: str
    type: str | None = None
    is_default: bool | None = None
    description: str | None = None
    params: CsCartStatusParams | list[Any] | None = None


def parse_statuses(data: Any) -> list[CsCartStatus]:
    """``/api/statuses`` as an envelope ``{"statuses": [...]}``, a bare array, or keyed by letter."""
    if isinstance(data, dict) and "statuses" in data:
        data = data["statuses"]
    items = [value for _, value in entries(data)] if isinstance(data, dict | list) else None
    if items is None:
        return [parse_cscart(CsCartStatus, data, what="CS-Cart statuses")]  # raises InvalidPayload
    return [parse_cscart(CsCartStatus, item, what="CS-Cart status", prefix=f"statuses[{i}]")
            for i, item in enumerate(items)]


class CsCartCatalogProduct(ReadModel):
    """A product row of ``GET /api/products``; ``combination`` is set when ``pcode`` matched an
    option combination (``"<option_id>_<variant_id>_..."``)."""

    model_config = _READ

    product_id: str
    product_code: str | None = None
    product: str | None = None
    price: Decimal | None = None
    amount: int | None = None
    status: str | None = None
    combination: str | None = None


class CsCartProductList(ReadModel):
    """``GET /api/products``: ``{"products": [...], "params": {...}}``."""

    model_config = _READ

    products: list[CsCartCatalogProduct] | dict[str, CsCartCatalogProduct] = Field(default_factory=list)
    params: CsCartListParams = Field(default_factory=CsCartListParams)


# --------------------------------------------------------------------------------------------
# Write models
# --------------------------------------------------------------------------------------------

NotifyFlag = Literal["Y", "N", "1", "0"]
"""``notify_user`` & co.: the docs show ``"1"``/``"0"``, the code and samples ``"Y"``/``"N"``."""


class CsCartUserData(WriteModel):
    """``user_data`` of a guest order: e-mail, names, and the ``b_*``/``s_*`` address columns.

    ``b_state``/``s_state`` must be state codes that exist in the store (Administration → States),
    ``b_country``/``s_country`` 2-letter country codes.
    """

    model_config = _WRITE

    email: str
    firstname: str | None = None
    lastname: str | None = None
    phone: str | None = None
    company: str | None = None
    b_firstname: str | None = None
    b_lastname: str | None = None
    b_address: str | None = None
    b_address_2: str | None = None
    b_city: str | None = None
    b_county: str | None = None
    b_state: str | None = None
    b_country: str | None = Field(default=None, min_length=2, max_length=2)
    b_zipcode: str | None = None
    b_phone: str | None = None
    s_firstname: str | None = None
    s_lastname: str | None = None
    s_address: str | None = None
    s_address_2: str | None = None
    s_city: str | None = None
    s_county: str | None = None
    s_state: str | None = None
    s_country: str | None = Field(default=None, min_length=2, max_length=2)
    s_zipcode: str | None = None
    s_phone: str | None = None
    s_address_type: str | None = None


class CsCartUserDataUpdate(WriteModel):
    """``user_data`` on a PUT: any subset of the order's contact and address columns."""

    model_config = _WRITE

    email: str | None = None
    firstname: str | None = None
    lastname: str | None = None
    phone: str | None = None
    b_firstname: str | None = None
    b_lastname: str | None = None
    b_address: str | None = None
    b_address_2: str | None = None
    b_city: str | None = None
    b_state: str | None = None
    b_country: str | None = None
    b_zipcode: str | None = None
    b_phone: str | None = None
    s_firstname: str | None = None
    s_lastname: str | None = None
    s_address: str | None = None
    s_address_2: str | None = None
    s_city: str | None = None
    s_state: str | None = None
    s_country: str | None = None
    s_zipcode: str | None = None
    s_phone: str | None = None


class CsCartOrderLine(WriteModel):
    """One element of ``products`` in a create or update body.

    ``product_id`` may be left out when the key is the product id ("way 1" of the docs), and is
    ``None`` in offline payloads keyed by SKU (the connector resolves them at sync). ``price`` with
    ``stored_price = "Y"`` is honoured on PUT only; on POST the catalog price always wins.
    """

    model_config = _WRITE

    product_id: str | None = None
    amount: int = Field(ge=1)
    product_options: dict[str, str] | None = None
    price: Decimal | None = None
    stored_price: Literal["Y", "N"] | None = None


class CsCartOrderCreate(WriteModel):
    """``POST /api/orders`` (``/api/stores/<company_id>/orders`` for an Ultimate root admin).

    ``total_override`` and ``status_after`` are not sent with the POST: CS-Cart reprices from its
    catalog and always creates in status ``O``, so the connector follows up with
    ``PUT {"total": total_override}`` (when it differs) and ``PUT {"status": status_after}``.
    """

    model_config = _WRITE

    user_id: str | None = None
    user_data: CsCartUserData | None = None
    payment_id: str | None = Field(default=None, description="Required by CS-Cart; absent only in an "
                                   "offline translation made without the store option.")
    shipping_id: str | dict[str, str] | None = Field(default=None, description="One id, or one per "
                                                     "product-group key. Required by CS-Cart, as payment_id.")
    products: dict[str, CsCartOrderLine] = Field(min_length=1)
    notes: str | None = None
    details: str | None = None
    coupon_codes: list[str] | None = None
    action: str | None = None
    timestamp: int | None = None
    total_override: Decimal | None = Field(default=None, exclude=True,
                                           description="The source grand total, forced after create.")
    status_after: str | None = Field(default=None, exclude=True,
                                     description="The status letter to set after create (new orders are O).")

    @model_validator(mode="after")
    def _needs_customer(self) -> CsCartOrderCreate:
        if (not self.user_id or self.user_id == "0") and self.user_data is None:
            raise ValueError("user_id or user_data is required (user_data for a guest order)")
        return self


class CsCartOrderUpdate(WriteModel):
    """``PUT /api/orders/{id}``. Anything besides ``status`` (and, on 4.13, the notify flags) makes
    CS-Cart recalculate the whole order from its catalog; ``total`` then wins over discounts."""

    model_config = _WRITE

    status: str | None = None
    notify_user: NotifyFlag | None = None
    notify_department: NotifyFlag | None = None
    notify_vendor: NotifyFlag | None = None
    total: Decimal | None = None
    discount: Decimal | None = None
    subtotal_discount: Decimal | None = None
    notes: str | None = None
    details: str | None = None
    payment_id: str | None = None
    shipping_id: str | dict[str, str] | None = None
    products: dict[str, CsCartOrderLine] | None = None
    user_id: str | None = None
    user_data: CsCartUserDataUpdate | None = None


class CsCartStatusUpdate(WriteModel):
    """The status-only ``PUT /api/orders/{id}``: the fast path that changes the status without
    recalculating the order. Notify flags are optional (and leave the fast path on MV 4.14.1)."""

    model_config = _WRITE

    status: str = Field(pattern=r"^[A-Z]$")
    notify_user: NotifyFlag | None = None
    notify_department: NotifyFlag | None = None
    notify_vendor: NotifyFlag | None = None


class CsCartShipmentCreate(WriteModel):
    """``POST /api/shipments``: ``products`` maps the order's **item_id** (not product_id) to a
    quantity (all unshipped items when left out); tracking number or carrier is required."""

    model_config = _WRITE

    order_id: str | None = Field(default=None, description="Filled in by the connector from the path order.")
    shipping_id: str
    products: dict[str, int] | None = None
    tracking_number: str | None = None
    carrier: str | None = None
    comments: str | None = None
    status: Literal["P", "A", "S"] | None = None
    order_status: str | None = Field(default=None, description="Letter to set on the order afterwards.")
    shipping: str | None = None
    timestamp: int | None = None

    @model_validator(mode="after")
    def _needs_tracking_or_carrier(self) -> CsCartShipmentCreate:
        if not (self.tracking_number or "").strip() and not (self.carrier or "").strip():
            raise ValueError("tracking_number or carrier is required (CS-Cart answers 400 without both)")
        if self.products is not None and any(qty < 1 for qty in self.products.values()):
            raise ValueError("shipment quantities must be at least 1")
        return self


class CsCartShipmentUpdate(WriteModel):
    """``PUT /api/shipments/{id}``: CS-Cart changes only these four fields."""

    model_config = _WRITE

    tracking_number: str | None = None
    carrier: str | None = None
    comments: str | None = None
    timestamp: int | None = None

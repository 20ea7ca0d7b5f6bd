"""The carrier table: one place that says what each platform calls a carrier."""

from __future__ import annotations

from types import SimpleNamespace
from typing import cast

from connectors.bigcommerce.wire import SHIPPING_PROVIDERS
from mappings import carriers
from mappings.base import TargetContext
from mappings.bigcommerce import MAPPING
from mappings.neutral import NeutralOrder, Shipment, ShipmentLine


def test_evershop_custom_is_no_carrier_on_bigcommerce() -> None:
    """EverShop core's only carrier, ``custom``, becomes BigCommerce ``""``/``""`` (not a bogus slug)."""
    fields = carriers.for_bigcommerce("custom")
    assert (fields.provider, fields.tracking_carrier, fields.note) == ("", "", None)


def test_known_carriers_use_the_provider_or_the_aftership_slug() -> None:
    assert carriers.for_bigcommerce("UPS") == carriers.BigCommerceCarrier("ups", "")
    assert carriers.for_bigcommerce("auspost") == carriers.BigCommerceCarrier("auspost", "")
    assert carriers.for_bigcommerce("aup") == carriers.BigCommerceCarrier("auspost", "")  # CS-Cart's code
    assert carriers.for_bigcommerce("DHL Express") == carriers.BigCommerceCarrier("", "dhl")
    assert carriers.for_bigcommerce("Fan Courier") == carriers.BigCommerceCarrier("", "fan-courier")
    assert carriers.for_bigcommerce("carrier_12") == carriers.BigCommerceCarrier("carrier_12", "")


def test_unknown_carriers_are_kept_in_the_tracking_note() -> None:
    fields = carriers.for_bigcommerce("Bob's Bikes Courier")
    assert (fields.provider, fields.tracking_carrier) == ("", "")
    assert fields.note == "Carrier: Bob's Bikes Courier"
    assert carriers.note_for("ups") is None
    assert carriers.note_for("custom") is None
    assert carriers.note_for(None) is None


def test_every_bigcommerce_provider_in_the_table_is_one_bigcommerce_knows() -> None:
    for carrier in carriers.CARRIERS:
        assert not carrier.bigcommerce or carrier.bigcommerce in SHIPPING_PROVIDERS, carrier


def test_lookup_is_by_any_spelling() -> None:
    assert carriers.lookup("Canada Post") is carriers.lookup("can")
    assert carriers.lookup("royal_mail") is carriers.lookup("royalmail")
    assert carriers.lookup("custom") is None
    assert carriers.lookup("") is None


def test_bigcommerce_shipment_payload_goes_through_the_table() -> None:
    """An unknown carrier's name travels in ``comments``; ``custom`` sends no carrier at all."""
    order = cast(NeutralOrder, SimpleNamespace(lines=[]))  # offline: only the shipment is read
    for carrier, provider, tracking, comments in (("custom", "", None, None),
                                                 ("Bob's Bikes Courier", "", None, "Carrier: Bob's Bikes Courier"),
                                                 ("fedex", "fedex", None, None)):
        shipment = Shipment(source_shipment_id="1", carrier=carrier, tracking_number="T1",
                            lines=[ShipmentLine(sku="MUG-BLK", quantity=1)])
        ctx = TargetContext(store="us")
        body = MAPPING.shipment_payload(shipment, order, ctx).body()
        assert body["shipping_provider"] == provider
        assert body.get("tracking_carrier") == tracking
        assert body.get("comments") == comments


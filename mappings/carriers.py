"""One table of shipping carriers, and what each platform calls them.

Carrier codes do not travel between platforms as they are: EverShop's core carrier is ``custom``
(no carrier at all), BigCommerce takes a ``shipping_provider`` from its own short list or a
``tracking_carrier`` that must be ``""`` or an AfterShip slug (``../shared/platforms/bigcommerce.md``),
CS-Cart has built-in codes (``aup``, ``can``…). Every mapping asks this table instead of passing
names through; a carrier the table does not know is not sent as a code: it is kept, readable, in the
shipment's tracking note so nothing is lost.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CARRIERS", "PLACEHOLDERS", "BigCommerceCarrier", "Carrier", "for_bigcommerce", "lookup", "note_for"]


@dataclass(frozen=True)
class Carrier:
    """A carrier: its AfterShip slug (the neutral name), other spellings, and platform codes."""

    slug: str
    names: tuple[str, ...] = ()
    bigcommerce: str = ""
    """BigCommerce ``shipping_provider`` when it has one; otherwise the slug goes in ``tracking_carrier``."""
    cscart: str | None = None
    """CS-Cart's built-in carrier code, when it has one."""


CARRIERS: tuple[Carrier, ...] = (
    Carrier("ups", ("united parcel service", "upsready", "upsonline"), bigcommerce="ups", cscart="ups"),
    Carrier("usps", ("united states postal service", "us postal service"), bigcommerce="usps", cscart="usps"),
    Carrier("fedex", ("federal express",), bigcommerce="fedex", cscart="fedex"),
    Carrier("dhl", ("dhl express", "dhl-express"), cscart="dhl"),
    Carrier("royal-mail", ("royalmail", "royal mail"), bigcommerce="royalmail"),
    Carrier("australia-post", ("auspost", "aup", "australia post"), bigcommerce="auspost", cscart="aup"),
    Carrier("canada-post", ("canadapost", "can", "canada post"), bigcommerce="canadapost", cscart="can"),
    Carrier("swiss-post", ("swisspost", "swiss post"), cscart="swisspost"),
    Carrier("endicia", (), bigcommerce="endicia"),
    Carrier("shipperhq", (), bigcommerce="shipperhq"),
    Carrier("gls", ("gls romania",)),
    Carrier("dpd", ("dpd romania",)),
    Carrier("fan-courier", ("fan courier", "fancourier")),
    Carrier("sameday", ("sameday courier", "easybox")),
    Carrier("cargus", ("urgent cargus",)),
    Carrier("posta-romana", ("posta romana", "poșta română")),
    Carrier("tnt", ("tnt express",)),
)
"""The known carriers. Add a row (or a spelling) here, not in a platform mapping."""

PLACEHOLDERS: frozenset[str] = frozenset({"custom", "other", "none", "n/a", "-", "manual"})
"""Codes that mean "no particular carrier" (EverShop core's ``custom``): sent as no carrier."""


def _key(name: str) -> str:
    return " ".join(name.strip().lower().replace("_", " ").split())


_INDEX: dict[str, Carrier] = {}
for _carrier in CARRIERS:
    for _name in (_carrier.slug, _carrier.slug.replace("-", " "), *_carrier.names, _carrier.bigcommerce,
                  _carrier.cscart or ""):
        if _name:
            _INDEX.setdefault(_key(_name), _carrier)


def lookup(name: str | None) -> Carrier | None:
    """The carrier a code or name means on any platform, or ``None`` (unknown, placeholder, empty)."""
    if not name or _key(name) in PLACEHOLDERS:
        return None
    return _INDEX.get(_key(name))


def note_for(name: str | None) -> str | None:
    """The tracking-note line that keeps an unknown carrier's name (``None`` when there is nothing to keep)."""
    if not name or not name.strip() or _key(name) in PLACEHOLDERS or lookup(name) is not None:
        return None
    return f"Carrier: {name.strip()}"


@dataclass(frozen=True)
class BigCommerceCarrier:
    """``shipping_provider`` and ``tracking_carrier`` for a BigCommerce shipment, plus a note to keep."""

    provider: str
    tracking_carrier: str
    note: str | None = None


def for_bigcommerce(name: str | None) -> BigCommerceCarrier:
    """BigCommerce's fields for a carrier: its provider, else its AfterShip slug, else ``""`` with a note.

    ``custom`` (EverShop) and other placeholders become ``""``/``""``; ``carrier_{id}`` (a store's own
    shipping provider) passes as the provider.
    """
    if not name or not name.strip():
        return BigCommerceCarrier("", "")
    text = name.strip()
    if text.lower().startswith("carrier_"):
        return BigCommerceCarrier(text.lower(), "")
    carrier = lookup(text)
    if carrier is None:
        return BigCommerceCarrier("", "", note_for(text))
    if carrier.bigcommerce:
        return BigCommerceCarrier(carrier.bigcommerce, "")
    return BigCommerceCarrier("", carrier.slug)

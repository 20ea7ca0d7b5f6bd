"""The demo catalog and fake shoppers every simulator seeds from.

All simulated shops sell the same SKUs (each under its own product ids and, where the platform
reprices, its own prices), so an order mirrored from one shop to another resolves its SKUs.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal

__all__ = ["DEMO_PRODUCTS", "CatalogItem", "Shopper", "fake_shopper"]


@dataclass(frozen=True)
class CatalogItem:
    """A product as every simulator knows it: SKU, name, list price, weight, starting stock."""

    sku: str
    name: str
    price: Decimal
    weight: Decimal
    stock: int = 1000
    option_name: str | None = None
    option_value: str | None = None


DEMO_PRODUCTS: tuple[CatalogItem, ...] = (
    CatalogItem("MUG-BLK", "Ceramic Mug, Black", Decimal("12.50"), Decimal("0.40")),
    CatalogItem("MUG-WHT", "Ceramic Mug, White", Decimal("12.50"), Decimal("0.40")),
    CatalogItem("TEE-S", "Organic Tee", Decimal("24.00"), Decimal("0.20"), option_name="Size", option_value="S"),
    CatalogItem("TEE-M", "Organic Tee", Decimal("24.00"), Decimal("0.20"), option_name="Size", option_value="M"),
    CatalogItem("TEE-L", "Organic Tee", Decimal("24.00"), Decimal("0.20"), option_name="Size", option_value="L"),
    CatalogItem("CAP-01", "Canvas Cap", Decimal("18.90"), Decimal("0.15")),
    CatalogItem("BAG-TOTE", "Tote Bag", Decimal("9.99"), Decimal("0.10")),
    CatalogItem("BTL-750", "Steel Bottle 750 ml", Decimal("29.95"), Decimal("0.35")),
    CatalogItem("NB-A5", "Notebook A5", Decimal("7.25"), Decimal("0.25")),
    CatalogItem("PEN-3", "Pen, pack of 3", Decimal("4.80"), Decimal("0.05")),
)

_FIRST = ("Ana", "Bogdan", "Chloe", "David", "Elena", "Farid", "Grace", "Hiro", "Ioana", "Jonas", "Kai", "Lena")
_LAST = ("Popescu", "Nguyen", "Smith", "Garcia", "Ionescu", "Müller", "Rossi", "Kowalski", "Dubois", "Silva")
_CITIES = (
    ("US", "CA", "California", "San Francisco", "94105"),
    ("US", "TX", "Texas", "Austin", "78701"),
    ("US", "NY", "New York", "New York", "10001"),
    ("US", "MA", "Massachusetts", "Boston", "02134"),
)


@dataclass(frozen=True)
class Shopper:
    """A fake buyer with one address (US, so every simulator's shipping zone covers it)."""

    first_name: str
    last_name: str
    email: str
    phone: str
    street: str
    city: str
    region: str
    region_code: str
    postal_code: str
    country_code: str


def fake_shopper(rng: random.Random) -> Shopper:
    """A deterministic fake shopper from ``rng``."""
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    country, code, region, city, postal = rng.choice(_CITIES)
    number = rng.randint(1, 999)
    return Shopper(
        first_name=first,
        last_name=last,
        email=f"{first.lower()}.{last.lower().replace('ü', 'u')}{number}@example.com",
        phone=f"555{rng.randint(1000000, 9999999)}",
        street=f"{number} Main St",
        city=city,
        region=region,
        region_code=code,
        postal_code=postal,
        country_code=country,
    )

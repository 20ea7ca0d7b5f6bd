"""Helpers shared by the BigCommerce tests: read the real samples in place and sort them by shape.

The samples live in ``../shared/platforms/samples/bigcommerce`` (never copied here). Some real
samples are held back and added later, so the tests classify every file by its *shape* instead of
relying on a fixed list of names.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from connectors.base import ConnectionSettings

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "bigcommerce"
SAMPLES = Path("platforms") / "samples" / "bigcommerce"
SEEDS = Path("seeds")


def fixture(name: str) -> Any:
    """A hand-written fixture from ``tests/fixtures/bigcommerce``."""
    return json.loads((FIXTURES / name).read_text())


def sample(shared: Path, name: str) -> Any:
    """One real sample, by file name (relative to the BigCommerce samples folder)."""
    return json.loads((shared / SAMPLES / name).read_text())


def sample_files(shared: Path) -> list[Path]:
    """Every JSON file under the BigCommerce samples folder (held-back ones included when present)."""
    return sorted((shared / SAMPLES).rglob("*.json"))


def is_order(value: Any) -> bool:
    """A V2 order object (detail, list item, POST/PUT answer)."""
    return isinstance(value, dict) and "id" in value and "status_id" in value and "date_created" in value \
        and "billing_address" in value


def kind(value: Any) -> str:
    """The shape of a sample: order, orders, products, shipping_addresses, shipments, coupons, taxes,
    statuses, counts, webhook, create_request, update_request, shipment_request, or unknown."""
    if is_order(value):
        return "order"
    if isinstance(value, dict) and set(value) == {"application/json"}:
        return kind(value["application/json"])
    if isinstance(value, dict):
        if "scope" in value and "data" in value:
            return "webhook"
        if "statuses" in value and "count" in value:
            return "counts"
        if "billing_address" in value and "products" in value and "id" not in value:
            return "create_request"
        if "items" in value and "order_address_id" in value and "id" in value:
            return "shipments"
        if "tracking_number" in value and "id" not in value:
            return "shipment_request"
        if set(value) <= {"staff_notes", "customer_message", "status_id", "external_order_id",
                          "billing_address", "payment_method", "is_deleted", "customer_locale"}:
            return "update_request"
        if value and all(isinstance(v, dict) for v in value.values()) and any(
                "billing_address" in v for v in value.values()):
            return "create_request_examples"
        return "unknown"
    if isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
        first = value[0]
        if all(is_order(item) for item in value):
            return "orders"
        if "price_ex_tax" in first and "quantity" in first:
            return "products"
        if "street_1" in first and "items_total" in first:
            return "shipping_addresses"
        if "items" in first and "order_address_id" in first:
            return "shipments"
        if "coupon_id" in first or ("code" in first and "discount" in first):
            return "coupons"
        if "tax_class_id" in first or ("rate" in first and "line_amount" in first):
            return "taxes"
        if "system_label" in first:
            return "statuses"
    return "unknown"


def samples_of(shared: Path, *kinds: str) -> Iterator[tuple[Path, Any]]:
    """``(path, value)`` for every sample of the given kinds."""
    for path in sample_files(shared):
        value = json.loads(path.read_text())
        if kind(value) in kinds:
            yield path, value


def seed_json_blocks(shared: Path) -> list[dict[str, Any]]:
    """JSON objects found in the BigCommerce seed pages, with ``...`` elisions removed."""
    blocks: list[dict[str, Any]] = []
    for path in sorted((shared / SEEDS).glob("bigcommerce*")):
        text = path.read_text()
        for match in re.finditer(r"^\{\n(?:.*\n)*?\}$", text, flags=re.MULTILINE):
            body = "\n".join(line for line in match.group(0).splitlines() if line.strip() != "...")
            body = re.sub(r",\s*}", "}", body)
            try:
                value = json.loads(body)
            except json.JSONDecodeError:
                continue
            if isinstance(value, dict):
                blocks.append(value)
    return blocks


def settings(url: str = "http://sim/stores/simstore", token: str = "sim-token", **options: Any) -> ConnectionSettings:
    """Connection settings for a simulated store."""
    return ConnectionSettings(store="bc-test", platform="bigcommerce", base_url=url,
                              credentials={"token": token}, options=options)

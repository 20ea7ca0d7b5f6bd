"""Deterministic idempotency keys and the content hashes that detect real changes.

A key is derived only from *what* is being done — route, order, operation and the desired state —
never from when or by whom, so every redelivery of the same work computes the same key and the
ledger's UNIQUE constraint turns duplicates into "already done".
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from mappings.neutral import NeutralOrder

__all__ = ["KEY_VERSION", "content_hash", "idempotency_key", "sync_projection"]

KEY_VERSION = "os1"


def idempotency_key(route: str, origin: str, operation: str, *parts: Any) -> str:
    """``os1:<operation>:<route>:<origin>:<digest>`` — readable in logs, unique per desired state.

    ``origin`` is ``<store>:<order id>`` of the order the binding started from; ``parts`` pin the
    desired state (a status code, a shipment id and tracking number, the source content hash).
    """
    material = orjson.dumps([KEY_VERSION, route, origin, operation, *parts], option=orjson.OPT_SORT_KEYS,
                            default=str)
    digest = hashlib.sha256(material).hexdigest()[:20]
    readable = f"{KEY_VERSION}:{operation}:{route}:{origin}"
    if len(readable) > 170:
        readable = readable[:170]
    return f"{readable}:{digest}"


def sync_projection(order: NeutralOrder) -> dict[str, Any]:
    """The part of an order that ordersync mirrors after create: statuses and shipments.

    Totals, prices and free text are carried once, on create; later changes to them are not
    mirrored, so they must not count as changes (the target may reprice, which is not an edit).
    """
    shipments = sorted(
        (
            (
                s.tracking_number or "",
                (s.carrier or "").lower(),
                s.status,
                tuple(sorted(((line.sku or line.source_line_id or ""), line.quantity) for line in s.lines)),
            )
            for s in order.shipments
            if s.status != "cancelled"
        ),
    )
    return {
        "status": order.status,
        "payment_status": order.payment_status,
        "fulfillment_status": order.fulfillment_status,
        "shipments": shipments,
    }


def content_hash(data: Any) -> str:
    """A stable sha256 of JSON-able data (keys sorted)."""
    return hashlib.sha256(orjson.dumps(data, option=orjson.OPT_SORT_KEYS, default=str)).hexdigest()

"""The mapping layer: platform orders ⇄ the neutral order (:mod:`mappings.neutral`).

Use :func:`mapping_for` to get a platform's mapping, or the shortcuts :func:`to_neutral` and
:func:`from_neutral`.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any, Literal

from connectors.base import PLATFORMS
from connectors.wire import WriteModel
from mappings.base import Call, PlatformMapping, TargetContext
from mappings.neutral import NeutralOrder
from mappings.status import StatusTable

__all__ = ["Operation", "from_neutral", "mapping_for", "to_neutral"]

Operation = Literal["create", "status", "cancel"]

_MODULES = {platform: f"mappings.{platform}" for platform in PLATFORMS}
_CACHE: dict[str, PlatformMapping] = {}


def mapping_for(platform: str) -> PlatformMapping:
    """The mapping object for a platform name; ``KeyError`` lists the known platforms."""
    if platform not in _MODULES:
        raise KeyError(f"unknown platform {platform!r} (one of {', '.join(PLATFORMS)})")
    if platform not in _CACHE:
        module = import_module(_MODULES[platform])
        _CACHE[platform] = module.MAPPING
    return _CACHE[platform]


def to_neutral(platform: str, payload: Any, *, store: str | None = None,
               statuses: StatusTable | None = None) -> NeutralOrder:
    """Read one platform order into the neutral order."""
    return mapping_for(platform).to_neutral(payload, store=store, statuses=statuses)


def from_neutral(order: NeutralOrder, platform: str, ctx: TargetContext | None = None,
                 operation: Operation = "create") -> WriteModel | None:
    """Build the target platform's write model for one operation on ``order``."""
    mapping = mapping_for(platform)
    ctx = ctx or TargetContext()
    if operation == "create":
        return mapping.create_payload(order, ctx)
    if operation == "status":
        return mapping.status_payload(order, ctx)
    return mapping.cancel_payload(order, ctx)


def calls_for(platform: str, payload: WriteModel) -> list[Call]:
    """The HTTP calls a write model becomes on ``platform``."""
    return mapping_for(platform).calls(payload)

"""Replaying recorded real API calls against a simulator and comparing the answers' shapes.

A recording is ``{"request": {method, url, headers, body}, "response": {status, body}}``. Values the real
store generated (uuids, cart ids, tokens, row ids) differ from the simulator's; :class:`IdMap` learns the
pairs from each answer (lists of items aligned by SKU, everything else by position) and rewrites the next
requests with them. Answers are compared on status code, keys and JSON types (``null`` matches anything,
numbers match numbers).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

__all__ = ["IdMap", "Recording", "recordings", "shape_diff"]

_UUID = re.compile(r"^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$")
_SKU_KEYS = ("product_sku", "productSku", "sku")


@dataclass(frozen=True)
class Recording:
    """One recorded real call."""

    name: str
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: Any
    status: int
    answer: Any

    @classmethod
    def load(cls, path: Path) -> Recording:
        """Read a recording file (``request``/``response`` pairs as the samples store them)."""
        data = json.loads(path.read_text())
        request, response = data["request"], data["response"]
        url = urlsplit(request.get("url") or request.get("path") or "")
        return cls(path.stem, request["method"].upper(), url.path, url.query, dict(request.get("headers") or {}),
                   request.get("body"), int(response["status"]), response.get("body"))


def recordings(folder: Path, pattern: str = "[0-9]*.json") -> list[Recording]:
    """Every recording in ``folder`` that has a request, in file-name (step) order."""
    found = []
    for path in sorted(folder.glob(pattern)):
        data = json.loads(path.read_text())
        if isinstance(data, dict) and isinstance(data.get("request"), dict) and "response" in data:
            found.append(Recording.load(path))
    return found


def _sku(value: Any) -> str | None:
    if isinstance(value, dict):
        for key in _SKU_KEYS:
            if isinstance(value.get(key), str):
                return str(value[key])
    return None


@dataclass
class IdMap:
    """Recorded value → simulator value, learned from answers and applied to later requests."""

    strings: dict[str, str] = field(default_factory=dict)
    ints: dict[str, dict[int, int]] = field(default_factory=dict)

    def learn(self, real: Any, ours: Any, key: str = "") -> None:
        """Pair up generated values in a recorded answer and the simulator's answer to the same call."""
        if isinstance(real, dict) and isinstance(ours, dict):
            for name, value in real.items():
                if name in ours:
                    self.learn(value, ours[name], name)
        elif isinstance(real, list) and isinstance(ours, list):
            for real_item, our_item in self._pairs(real, ours):
                self.learn(real_item, our_item, key)
        elif isinstance(real, str) and isinstance(ours, str) and real != ours and _UUID.match(real):
            self.strings[real] = ours
            self.strings[real.replace("-", "")] = ours.replace("-", "") if _UUID.match(ours) else ours
        elif (isinstance(real, int) and isinstance(ours, int) and not isinstance(real, bool)
              and (key.endswith(("_id", "Id")) or key == "insertId")):
            self.ints.setdefault(key, {})[real] = ours

    @staticmethod
    def _pairs(real: list[Any], ours: list[Any]) -> Iterator[tuple[Any, Any]]:
        by_sku = {_sku(item): item for item in ours if _sku(item) is not None}
        for index, item in enumerate(real):
            sku = _sku(item)
            if sku is not None and sku in by_sku:
                yield item, by_sku[sku]
            elif sku is None and index < len(ours):
                yield item, ours[index]

    def apply(self, value: Any, key: str = "") -> Any:
        """A request value with recorded ids replaced by the simulator's."""
        if isinstance(value, dict):
            return {name: self.apply(item, name) for name, item in value.items()}
        if isinstance(value, list):
            return [self.apply(item, key) for item in value]
        if isinstance(value, str):
            return self.path(value)
        if isinstance(value, int) and not isinstance(value, bool):
            return self.ints.get(key, {}).get(value, value)
        return value

    def path(self, text: str) -> str:
        """A URL path or string with every recorded id replaced."""
        for real, ours in self.strings.items():
            if real in text:
                text = text.replace(real, ours)
        return text


def shape_diff(ours: Any, real: Any, path: str = "") -> list[str]:
    """Where ``ours`` is not shaped like the recorded ``real`` JSON (keys, nesting, scalar kinds; null matches)."""
    if real is None or ours is None:
        return []
    if isinstance(real, dict):
        if not isinstance(ours, dict):
            return [f"{path or '.'}: {type(ours).__name__} vs object"]
        diffs = [f"{path}.{k}: missing" for k in real if k not in ours]
        diffs += [f"{path}.{k}: extra" for k in ours if k not in real]
        for key in real:
            if key in ours:
                diffs += shape_diff(ours[key], real[key], f"{path}.{key}")
        return diffs
    if isinstance(real, list):
        if not isinstance(ours, list):
            return [f"{path or '.'}: {type(ours).__name__} vs list"]
        return shape_diff(ours[0], real[0], f"{path}[0]") if real and ours else []
    if isinstance(real, bool) or isinstance(ours, bool):
        return [] if type(real) is type(ours) else [f"{path}: {type(ours).__name__} vs {type(real).__name__}"]
    if isinstance(real, int | float) and isinstance(ours, int | float):
        if isinstance(real, int) != isinstance(ours, int):  # 5 vs 5.0: JSON says the same, JS clients don't care,
            return [f"{path}: {ours!r} vs {real!r}"]  # but a Python client comparing types does
        return []
    return [] if type(real) is type(ours) else [f"{path}: {type(ours).__name__} vs {type(real).__name__}"]

"""Shared fixtures: where the third-party reference material lives, and when to skip for it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_dir() -> Path | None:
    """``../shared`` beside the checkout (or ``$ORDERSYNC_SHARED``), if present."""
    candidates = [os.environ.get("ORDERSYNC_SHARED"), REPO.parent / "shared", "/work/shared"]
    for candidate in candidates:
        if candidate and Path(candidate, "platforms").is_dir():
            return Path(candidate)
    return None


SHARED = shared_dir()
requires_shared = pytest.mark.skipif(
    SHARED is None, reason="../shared (third-party API samples) is not beside this checkout; set ORDERSYNC_SHARED"
)


@pytest.fixture
def shared() -> Path:
    """The shared reference folder; the test is skipped when it is absent."""
    if SHARED is None:
        pytest.skip("../shared (third-party API samples) is not beside this checkout; set ORDERSYNC_SHARED")
    return SHARED

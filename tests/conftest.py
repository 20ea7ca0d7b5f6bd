"""Shared fixtures: where the third-party reference material lives, and when to skip for it."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_dir() -> Path | None:
    """``../shared`` beside the checkout, if present (no other place is looked at)."""
    candidate = REPO.parent / "shared"
    return candidate if (candidate / "platforms").is_dir() else None


SHARED = shared_dir()
requires_shared = pytest.mark.skipif(
    SHARED is None, reason="../shared (third-party API samples) is not beside this checkout"
)


@pytest.fixture
def shared() -> Path:
    """The shared reference folder; the test is skipped when it is absent."""
    if SHARED is None:
        pytest.skip("../shared (third-party API samples) is not beside this checkout")
    return SHARED

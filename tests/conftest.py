"""Shared fixtures: where the third-party reference material lives, and when to skip for it."""

from __future__ import annotations

import sys
from collections.abc import Iterator
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


@pytest.fixture(autouse=True)
def _celery_app_restored() -> Iterator[None]:
    """Tests that run a real worker switch the shared Celery app to a real broker; whatever a test
    changes, the next test on the same xdist worker starts from the app's settings as they were."""
    app = getattr(sys.modules.get("workers.app"), "app", None)
    saved = {key: app.conf[key] for key in ("broker_url", "task_always_eager")} if app is not None else None
    yield
    if app is not None and saved is not None:
        app.conf.update(saved)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests against the one real EverShop share a shop and its webhook receiver port: with
    ``-n auto --dist loadgroup`` they run one after another on a single xdist worker."""
    for item in items:
        if item.get_closest_marker("evershop_live"):
            item.add_marker(pytest.mark.xdist_group("evershop_live"))

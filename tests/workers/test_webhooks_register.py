"""`ordersync webhooks register STORE URL`: BigCommerce hooks through /v3/hooks with our secret header
(twice is harmless), instructions where the platform has no API for it, clear errors otherwise."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from connectors.bigcommerce.webhooks import ORDER_SCOPES, SECRET_HEADER
from tests.sync.test_engine import Shops
from workers.cli import app
from workers.commands.common import UsageProblem


@pytest.fixture
def shops(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Shops]:
    s = Shops(tmp_path)
    monkeypatch.setenv("T_WH", "hook-s3cret")
    text = s.path.read_text()
    for store in ("us", "ro", "eu"):
        text = text.replace(f"[stores.{store}]\n", f"[stores.{store}]\nwebhook_secret = \"${{T_WH}}\"\n")
    s.path.write_text(text)
    yield s
    s.close()


def _register(shops: Shops, store: str, url: str) -> Result:
    return CliRunner().invoke(app, ["webhooks", "register", store, url, "--config", str(shops.path)])


def test_bigcommerce_hooks_are_registered_with_our_secret_header_once(shops: Shops) -> None:
    done = _register(shops, "us", "http://127.0.0.1:8000")
    assert done.exit_code == 0, done.output
    hooks = list(shops.bc.hooks.values())
    assert sorted(h["scope"] for h in hooks) == sorted(ORDER_SCOPES)
    assert {h["destination"] for h in hooks} == {"http://127.0.0.1:8000/webhooks/us"}
    assert all(h["headers"] == {SECRET_HEADER: "hook-s3cret"} for h in hooks)
    assert "hook-s3cret" not in done.output
    assert "https://" in done.output  # the warning about real stores
    again = _register(shops, "us", "http://127.0.0.1:8000/webhooks/us")
    assert again.exit_code == 0, again.output
    assert len(shops.bc.hooks) == len(ORDER_SCOPES), "registering twice adds nothing"
    assert "already registered" in again.output


def test_platforms_without_a_hooks_api_get_instructions(shops: Shops) -> None:
    done = _register(shops, "ro", "https://sync.example.com")
    assert done.exit_code == 0
    assert "https://sync.example.com/webhooks/ro" in done.output
    assert "control panel" in done.output
    cs = _register(shops, "eu", "https://sync.example.com")
    assert "polls eu" in cs.output


def test_bad_input_is_a_usage_error_naming_it(shops: Shops) -> None:
    for args, needle in ((["nope", "https://x"], "no store 'nope'"), (["us", "ftp://x"], "URL: expected")):
        done = CliRunner().invoke(app, ["webhooks", "register", *args, "--config", str(shops.path)])
        assert isinstance(done.exception, UsageProblem)
        assert needle in str(done.exception)
    shops.path.write_text(shops.path.read_text().replace('webhook_secret = "${T_WH}"\n', "", 1))
    done = CliRunner().invoke(app, ["webhooks", "register", "us", "https://x", "--config", str(shops.path)])
    assert isinstance(done.exception, UsageProblem)
    assert "stores.us.webhook_secret" in str(done.exception)

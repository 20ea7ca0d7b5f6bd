"""The console in a real browser: Playwright driving Debian's chromium (``/usr/bin/chromium``).

An operator logs in, finds an order and opens its page, replays one attention item and dismisses
another, pauses and resumes a route, and looks at the webhook inbox. Any JavaScript error or
console error (a blocked script or style counts: the console's CSP forbids inline code) fails the
test. A screenshot of each page is written to ``test-artifacts/`` (gitignored).

Skipped, with the reason, when chromium or Playwright is missing (``.ci/run`` installs both).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from simulators import serve_in_thread
from tests.sync.test_engine import Shops
from tests.workers.console_setup import PASSWORD, add_missing_sku, console_shops, seed_history
from workers.api import create_app

CHROMIUM = os.environ.get("ORDERSYNC_TEST_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

playwright_api = pytest.importorskip("playwright.sync_api",
                                     reason="playwright is not installed (pip install -e '.[dev]')")
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason=f"no chromium at {CHROMIUM}: apt-get install -y chromium")


class Browser:
    """A page on the console server that records every console and page error."""

    def __init__(self, page: Any, base: str) -> None:
        self.page, self.base = page, base
        self.errors: list[str] = []
        page.on("console", lambda message: self.errors.append(f"console.{message.type}: {message.text}")
                if message.type == "error" else None)
        page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))

    def go(self, path: str) -> Any:
        return self.page.goto(self.base + path)

    def expected_status(self, status: int) -> None:
        """Chromium logs a page answered with an error status as a console error: drop the ones the
        test caused on purpose (a wrong password, a forged form), and only those."""
        mark = f"status of {status} "
        found = [e for e in self.errors if e.startswith("console.error: Failed to load resource") and mark in e]
        assert found, f"expected a {status} answer"
        self.errors = [e for e in self.errors if e not in found]

    def shot(self, name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"console-{name}.png"), full_page=True)

    def login(self) -> None:
        self.go("/")
        self.page.fill("#password", PASSWORD)
        self.page.click("button[type=submit]")
        self.page.wait_for_url(self.base + "/")


@pytest.fixture
def chromium() -> Iterator[Any]:
    with playwright_api.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            yield browser
        finally:
            browser.close()


def _served(shops: Shops, chromium: Any) -> Iterator[Browser]:
    server = serve_in_thread(create_app())
    context = chromium.new_context(viewport={"width": 1360, "height": 900})
    browser = Browser(context.new_page(), server.url)
    try:
        yield browser
        assert browser.errors == [], "the console logged JavaScript errors"
    finally:
        context.close()
        server.stop()


@pytest.fixture
def console(tmp_path: Path, chromium: Any) -> Iterator[tuple[Browser, Shops]]:
    shops = console_shops(tmp_path)
    try:
        for browser in _served(shops, chromium):
            yield browser, shops
    finally:
        shops.close()


def test_operator_journey(console: tuple[Browser, Shops]) -> None:
    """Log in, find an order, open its page, replay one item, dismiss another, pause and resume a route."""
    browser, shops = console
    ids = seed_history(shops)
    page = browser.page

    browser.go("/attention")
    assert "/login?next=" in page.url, "a visitor is sent to the login form"
    browser.shot("login")
    page.fill("#password", "not it")
    page.click("button[type=submit]")
    assert page.get_by_role("alert").inner_text() == "Wrong password."
    browser.expected_status(401)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/attention$"))

    browser.go("/")
    assert page.locator("#routes tr[data-route=us-to-ro]").is_visible()
    assert "linked 2" in page.locator("#routes tr[data-route=us-to-ro]").inner_text()
    browser.shot("overview")

    # Find an order by its target id, open its page.
    binding = shops.ctx.store.binding("us-to-ro", "us", ids["mirrored"])
    assert binding is not None
    assert binding.target_id is not None
    page.click("nav >> text=Orders")
    page.fill("input[name=q]", binding.target_id)
    page.click("form.search button")
    page.click(f"a[href='/orders/{binding.id}']")
    page.wait_for_url(re.compile(rf".*/orders/{binding.id}$"))
    assert page.locator("#diff tr.differs").count() > 0, "differences are marked"
    assert "os1:create:us-to-ro" in page.locator("#ledger").inner_text()
    assert page.locator("a.admin-link").count() == 2
    browser.shot("order")
    browser.go("/orders")
    browser.shot("orders")

    # Replay one attention item (its SKU now exists), dismiss the other with a note.
    items = {i.route: i for i in shops.ctx.store.find_attention(kind="unknown_sku")}
    add_missing_sku(shops)
    browser.go("/attention")  # the two unknown SKUs, and CS-Cart's per-line repricing (price_drift)
    assert page.locator("#attention tbody tr[data-item]").count() == len(shops.ctx.store.find_attention())
    browser.shot("attention")
    browser.go("/attention?kind=unknown_sku")
    assert page.locator("#attention tbody tr[data-item]").count() == 2
    page.click(f"#attention a[href='/attention/{items['us-to-ro'].id}']")
    assert "NEW-SKU-1" in page.locator("#payload").inner_text()
    browser.shot("attention-item")
    page.click("#replay")
    assert "reconciled: synced" in page.locator(".flash").inner_text()
    assert "resolved" in page.locator("#item-status").inner_text()
    browser.go(f"/attention/{items['us-to-eu'].id}")
    page.fill("#note", "CS-Cart does not sell this product")
    page.click("#dismiss")
    assert "dismissed" in page.locator("#item-status").inner_text()
    assert "CS-Cart does not sell this product" in page.locator("#item-status").inner_text()
    assert len(shops.mp.orders) == 3
    browser.go("/attention?kind=unknown_sku")
    assert page.locator("#attention tbody tr[data-item]").count() == 0

    # Pause a route, then resume it.
    browser.go("/")
    row = page.locator("#routes tr[data-route=us-to-eu]")
    row.locator("input[name=note]").fill("stock count")
    row.locator("button[name=pause]").click()
    assert "paused" in page.locator(".flash").inner_text()
    assert shops.ctx.store.is_paused("us-to-eu")
    assert "stock count" in page.locator("#routes tr[data-route=us-to-eu]").inner_text()
    browser.shot("overview-paused")
    page.locator("#routes tr[data-route=us-to-eu] button[name=resume]").click()
    assert "resumed" in page.locator(".flash").inner_text()
    assert not shops.ctx.store.is_paused("us-to-eu")

    browser.go("/webhooks")
    assert "store/order/updated:1" in page.locator("#inbox").inner_text()
    browser.shot("webhooks")


def test_bulk_select_all_and_a_forged_post(console: tuple[Browser, Shops]) -> None:
    """The select-all box (the console's script) feeds a bulk dismiss; a form stripped of its CSRF
    token is refused with 403 and changes nothing."""
    browser, shops = console
    for n in range(3):
        shops.ctx.store.park(kind="rejected", reason=f"refused {n}", route="us-to-eu", store="us", order_id=f"o{n}")
    browser.login()
    page = browser.page
    browser.go("/attention")
    page.check("[data-select-all]")
    assert page.locator("input[name=ids]:checked").count() == 3
    page.fill("input[name=note]", "test data")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("button[value=dismiss]")
    assert page.locator("#attention tbody tr[data-item]").count() == 0
    assert len(shops.ctx.store.find_attention(status="dismissed")) == 3

    browser.go("/")
    page.evaluate("document.querySelectorAll('input[name=csrf]').forEach(e => e.remove())")
    page.locator("#routes tr[data-route=us-to-ro] button[name=pause]").click()
    assert "CSRF token missing or wrong" in page.content()
    assert not shops.ctx.store.is_paused("us-to-ro")
    browser.expected_status(403)


def test_without_a_password_the_browser_finds_no_console(tmp_path: Path, chromium: Any) -> None:
    shops = console_shops(tmp_path, password=None)
    try:
        for browser in _served(shops, chromium):
            for path in ("/", "/login", "/console-static/console.js"):
                answer = browser.go(path)
                assert answer.status == 404, path
                assert "password" not in browser.page.content().lower()
            browser.page.wait_for_timeout(300)  # the browser's own favicon request is a 404 too
            browser.expected_status(404)
    finally:
        shops.close()

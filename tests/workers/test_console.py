"""The web console over HTTP: it exists only with a password; sessions, CSRF and the login limit hold;
every page renders what the state store and the shops say; actions do what they claim."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.sync.test_engine import Shops
from tests.workers.console_setup import PASSWORD, add_missing_sku, console_shops, seed_history
from workers.api import create_app
from workers.console import views
from workers.console.security import LOGIN_ATTEMPTS, LoginLimiter

CONSOLE_PATHS = ["/", "/login", "/orders", "/orders/1", "/attention", "/attention/1", "/webhooks",
                 "/console-static/console.css", "/console-static/console.js"]


@pytest.fixture
def shops(tmp_path: Path) -> Iterator[Shops]:
    s = console_shops(tmp_path)
    yield s
    s.close()


@pytest.fixture
def client(shops: Shops, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setattr(views, "limiter", LoginLimiter())
    with TestClient(create_app(), base_url="http://127.0.0.1") as test_client:
        yield test_client


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert match, "every form carries the CSRF token"
    return match.group(1)


def _login(client: TestClient) -> str:
    token = _csrf(client.get("/login").text)
    answer = client.post("/login", data={"csrf": token, "password": PASSWORD, "next": "/"}, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return _csrf(client.get("/").text)


def test_without_a_password_nothing_of_the_console_exists(tmp_path: Path) -> None:
    """No console_password: every console path is the same 404 as a path that never existed."""
    shops = console_shops(tmp_path, password=None)
    try:
        with TestClient(create_app()) as client:
            unknown = client.get("/no-such-page")
            for path in CONSOLE_PATHS:
                answer = client.get(path)
                assert answer.status_code == 404, path
                assert answer.text == unknown.text, path
            assert client.post("/login", data={"password": "x"}).status_code == 404
            assert client.post("/routes/us-to-ro/pause", data={}).status_code == 404
            assert client.get("/healthz").status_code == 200
            assert client.get("/metrics").status_code == 200
    finally:
        shops.close()


def test_pages_need_a_login_and_webhooks_do_not(client: TestClient) -> None:
    """Each page sends a visitor to the login form; the webhook intake answers on its own terms."""
    for path in ["/", "/orders", "/attention", "/webhooks", "/orders/1"]:
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/login?next=")
    intake = client.post("/webhooks/us", content=b"{}", follow_redirects=False)
    assert intake.status_code == 401, "the intake is not behind the console login"
    assert "signature" in intake.json()["detail"] or "webhook_secret" in intake.json()["detail"]


def test_login_sets_a_hardened_cookie_and_a_wrong_password_is_refused(client: TestClient) -> None:
    token = _csrf(client.get("/login").text)
    wrong = client.post("/login", data={"csrf": token, "password": "guess"}, follow_redirects=False)
    assert wrong.status_code == 401
    assert "Wrong password" in wrong.text
    right = client.post("/login", data={"csrf": token, "password": PASSWORD}, follow_redirects=False)
    assert right.status_code == 303
    cookie = right.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=strict" in cookie
    assert "secure" not in cookie, "plain HTTP on loopback: a Secure cookie would never come back"
    assert PASSWORD not in right.headers["set-cookie"]
    assert client.get("/").status_code == 200
    client.cookies.clear()
    token = _csrf(client.get("/login").text)
    behind_tls = client.post("/login", data={"csrf": token, "password": PASSWORD}, follow_redirects=False,
                             headers={"X-Forwarded-Proto": "https"})
    assert "secure" in behind_tls.headers["set-cookie"].lower()
    page = client.get("/")
    assert page.status_code == 200
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"


def test_login_is_rate_limited_per_client(client: TestClient) -> None:
    """After a few wrong passwords even the right one waits: 429 with Retry-After."""
    token = _csrf(client.get("/login").text)
    for _ in range(LOGIN_ATTEMPTS):
        assert client.post("/login", data={"csrf": token, "password": "nope"}).status_code == 401
    blocked = client.post("/login", data={"csrf": token, "password": PASSWORD}, follow_redirects=False)
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) > 0


def test_login_redirect_stays_on_this_site(client: TestClient) -> None:
    token = _csrf(client.get("/login").text)
    answer = client.post("/login", data={"csrf": token, "password": PASSWORD, "next": "//evil.example/x"},
                         follow_redirects=False)
    assert answer.headers["location"] == "/"


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(client: TestClient, shops: Shops) -> None:
    """Logged in, but the form lacks (or forges) its token: 403, and the route is not paused."""
    _login(client)
    assert client.post("/routes/us-to-ro/pause", data={}).status_code == 403
    assert client.post("/routes/us-to-ro/pause", data={"csrf": "0" * 64}).status_code == 403
    assert client.post("/login", data={"password": PASSWORD}).status_code == 403
    assert not shops.ctx.store.is_paused("us-to-ro")


def test_overview_pause_and_resume(client: TestClient, shops: Shops) -> None:
    """The overview lists routes with their counts; the switch pauses and resumes, in the state store."""
    ids = seed_history(shops)
    token = _login(client)
    page = client.get("/").text
    assert "us-to-ro" in page
    assert "linked 2" in page
    assert "request budget left" in page
    paused = client.post("/routes/us-to-ro/pause", data={"csrf": token, "note": "stock count"})
    assert paused.status_code == 200
    assert "Route us-to-ro paused" in paused.text
    assert "stock count" in paused.text
    assert shops.ctx.store.is_paused("us-to-ro")
    shops.ctx.engine.reconcile  # noqa: B018 - the engine is untouched; the task defers
    from workers.tasks import reconcile

    assert reconcile.apply(args=("us-to-ro", "us", ids["parked"])).get()["outcome"] == "paused"
    resumed = client.post("/routes/us-to-ro/resume", data={"csrf": token})
    assert "1 deferred order(s) queued" in resumed.text
    assert not shops.ctx.store.is_paused("us-to-ro")
    assert client.post("/routes/nope/pause", data={"csrf": token}).status_code == 404


def test_orders_search_and_the_order_page(client: TestClient, shops: Shops) -> None:
    """Found by the source id or the target id; the page shows both sides, the ledger and admin links."""
    ids = seed_history(shops)
    _login(client)
    binding = shops.ctx.store.binding("us-to-ro", "us", ids["mirrored"])
    assert binding is not None
    assert binding.target_id is not None
    by_source = client.get("/orders", params={"q": ids["mirrored"]}).text
    assert f"/orders/{binding.id}" in by_source
    by_target = client.get("/orders", params={"q": binding.target_id}).text
    assert f"/orders/{binding.id}" in by_target
    assert "No order has the id" in client.get("/orders", params={"q": "no-such-order"}).text
    page = client.get(f"/orders/{binding.id}").text
    assert "Neutral projections" in page
    assert 'class="differs"' in page, "the platforms' own ids and raw statuses differ"
    assert "totals.grand_total" in page or "totals." in page
    assert "os1:create:us-to-ro" in page, "the ledger shows the idempotency keys"
    assert "mybigcommerce.com/manage/orders/" + ids["mirrored"] in page
    assert "/admin/orders/" + binding.target_id in page
    assert client.get("/orders/99999").status_code == 404


def test_attention_filters_replay_dismiss_and_bulk(client: TestClient, shops: Shops) -> None:
    """Filter by route/kind; replay releases an item once the SKU exists; dismiss keeps the note."""
    ids = seed_history(shops)
    token = _login(client)
    items = {i.route: i for i in shops.ctx.store.find_attention(kind="unknown_sku")}
    ro_id, eu_id = items["us-to-ro"].id or 0, items["us-to-eu"].id or 0
    assert set(items) == {"us-to-ro", "us-to-eu"}
    listing = client.get("/attention", params={"route": "us-to-ro"}).text
    assert f'data-item="{items["us-to-ro"].id}"' in listing
    assert f'data-item="{items["us-to-eu"].id}"' not in listing
    detail = client.get(f"/attention/{items['us-to-ro'].id}").text
    assert "NEW-SKU-1" in detail
    assert ids["parked"] in detail
    add_missing_sku(shops)
    replayed = client.post(f"/attention/{items['us-to-ro'].id}/replay", data={"csrf": token})
    assert "reconciled: synced" in replayed.text
    assert shops.ctx.store.attention_item(ro_id).status == "resolved"  # type: ignore[union-attr]
    no_note = client.post(f"/attention/{items['us-to-eu'].id}/dismiss", data={"csrf": token, "note": " "})
    assert "A note is needed" in no_note.text
    dismissed = client.post(f"/attention/{items['us-to-eu'].id}/dismiss",
                            data={"csrf": token, "note": "CS-Cart does not sell it"})
    assert "dismissed" in dismissed.text
    assert "CS-Cart does not sell it" in dismissed.text
    item = shops.ctx.store.attention_item(eu_id)
    assert item is not None
    assert item.status == "dismissed"
    # Bulk: two more parked items, dismissed together.
    extra = [shops.ctx.store.park(kind="rejected", reason=f"r{n}", route="us-to-eu", store="us", order_id=f"x{n}")
             for n in range(2)]
    bulk = client.post("/attention/bulk", data={"csrf": token, "action": "dismiss", "note": "test orders",
                                                "ids": [str(i.id) for i in extra]})
    assert bulk.status_code == 200
    assert all(shops.ctx.store.attention_item(i.id or 0).status == "dismissed" for i in extra)  # type: ignore[union-attr]
    refused = client.post("/attention/bulk", data={"csrf": token, "action": "dismiss", "ids": [str(extra[0].id)]})
    assert "A note is needed" in refused.text


def test_webhooks_page_lists_the_inbox(client: TestClient, shops: Shops) -> None:
    seed_history(shops)
    _login(client)
    page = client.get("/webhooks").text
    assert "store/order/updated:1" in page
    assert "received 1" in page
    assert "store/order/updated:1" not in client.get("/webhooks", params={"status": "processed"}).text


def test_docs_load_nothing_from_elsewhere(client: TestClient) -> None:
    """/docs is rendered on the server from the OpenAPI schema: no CDN script or stylesheet."""
    docs = client.get("/docs")
    assert docs.status_code == 200
    assert "/webhooks/{store}" in docs.text
    assert "cdn" not in docs.text.lower()
    assert "<script" not in docs.text
    assert client.get("/redoc").status_code == 404
    assert client.get("/openapi.json").status_code == 200


def test_a_store_that_is_down_shows_on_the_order_page_not_as_a_500(client: TestClient, shops: Shops) -> None:
    """MerchantPro stops answering: the order page still renders the other side and says why."""
    ids = seed_history(shops)
    _login(client)
    binding = shops.ctx.store.binding("us-to-ro", "us", ids["mirrored"])
    assert binding is not None
    shops.servers[1].stop()
    page = client.get(f"/orders/{binding.id}")
    assert page.status_code == 200
    assert "cannot reach merchantpro" in page.text
    assert "MUG-BLK" in page.text, "the source side is still shown"


def test_a_lost_state_store_is_a_503_page(client: TestClient, shops: Shops, tmp_path: Path) -> None:
    """The database file is gone (an empty one in its place): a readable 503, never a traceback."""
    _login(client)
    shops.ctx.store.dispose()
    for suffix in ("", "-wal", "-shm"):
        (tmp_path / f"state.db{suffix}").unlink(missing_ok=True)
    for path in ("/", "/attention", "/webhooks"):
        page = client.get(path)
        assert page.status_code == 503, path
        assert "cannot be reached" in page.text
        assert "Traceback" not in page.text


def test_logout_ends_the_session(client: TestClient) -> None:
    token = _login(client)
    out = client.post("/logout", data={"csrf": token}, follow_redirects=False)
    assert out.status_code == 303
    assert out.headers["location"] == "/login"
    assert client.get("/", follow_redirects=False).status_code == 303

"""BigCommerce answers → the error taxonomy and the budget signal (over a mock transport)."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from connectors.bigcommerce.client import classify, open_connector, parse_error_body, read_rate_signal
from connectors.errors import AuthFailed, Conflict, NotFound, OutcomeUnknown, RateLimited, Rejected, Transient
from tests.connectors.bigcommerce.samples import settings

Handler = Callable[[httpx.Request], httpx.Response]


def answer(status: int, body: object = None, *, text: str | None = None,
           headers: dict[str, str] | None = None) -> httpx.Response:
    request = httpx.Request("GET", "https://api.bigcommerce.com/stores/x/v2/orders/1")
    if text is not None:
        return httpx.Response(status, text=text, headers=headers, request=request)
    return httpx.Response(status, json=body, headers=headers, request=request)


@pytest.mark.parametrize(("status", "body", "cls", "message"), [
    (400, [{"status": 400, "message": "The field 'id' cannot be written to. Please remove it from your request "
                                      "before trying again."}], Rejected, "The field 'id' cannot be written to."),
    (422, {"status": 422, "title": "JSON data is missing or invalid", "type": "https://x",
           "errors": {"sku": "must be unique"}}, Rejected, "sku: must be unique"),
    (413, [{"status": 413, "message": "The requested limit exceeds the maximum"}], Rejected, "exceeds"),
    (401, [{"status": 401, "message": "No credentials were supplied in the request."}], AuthFailed, "No credentials"),
    (403, {"status": 403, "title": "You don't have a required scope to access the endpoint", "type": "x",
           "errors": {}}, AuthFailed, "required scope"),
    (404, [{"status": 404, "message": "The requested resource was not found."}], NotFound, "not found"),
    (409, [{"status": 409, "message": "The order is locked"}], Conflict, "locked"),
    (500, [{"status": 500, "message": "Internal Server Error"}], Transient, "Internal"),
    (503, None, Transient, "Service Unavailable"),
    (507, [{"status": 507, "message": "The store has reached a plan limit"}], Rejected, "plan limit"),
])
def test_classify(status: int, body: object, cls: type[Exception], message: str) -> None:
    error = classify(answer(status, body) if body is not None else answer(status, text=""))
    assert type(error) is cls
    assert message in str(error)
    assert f"HTTP {status}" in str(error)


def test_field_errors() -> None:
    error = classify(answer(400, [{"status": 400, "message": "The field 'custom_status' is not supported by this "
                                                             "resource."}]))
    assert isinstance(error, Rejected)
    assert list(error.field_errors) == ["custom_status"]
    v3 = classify(answer(422, {"status": 422, "title": "Invalid", "errors": {"price": "must be a number",
                                                                             "sku": {"nested": True}}}))
    assert isinstance(v3, Rejected)
    assert v3.field_errors == {"price": "must be a number", "sku": '{"nested":true}'}
    detailed = parse_error_body(answer(400, [{"status": 400, "message": "The field 'state' is invalid.",
                                              "details": {"invalid_reason": "too long"}}]))
    message = "The field 'state' is invalid. (too long)"
    assert detailed == (message, {"state": message})
    html = parse_error_body(answer(502, text="<html><body>Bad gateway</body></html>"))
    assert html[0] == "Bad Gateway"


def test_429_waits_from_the_headers() -> None:
    reset = classify(answer(429, [{"status": 429, "message": "Too many requests"}],
                            headers={"X-Rate-Limit-Time-Reset-Ms": "2500", "X-Rate-Limit-Requests-Left": "0"}))
    assert isinstance(reset, RateLimited)
    assert reset.retry_after == pytest.approx(2.5)
    retry = classify(answer(429, None, text="", headers={"x-retry-after": "7"}))
    assert isinstance(retry, RateLimited)
    assert retry.retry_after == 7
    load = classify(answer(429, None, text=""))  # no headers: platform load, back off longer
    assert isinstance(load, RateLimited)
    assert load.retry_after >= 30


def test_rate_signal_in_any_case() -> None:
    signal = read_rate_signal(answer(200, [], headers={
        "x-rate-limit-requests-left": "144", "X-RATE-LIMIT-REQUESTS-QUOTA": "150",
        "X-Rate-Limit-Time-Window-Ms": "30000", "x-rate-limit-time-reset-ms": "5844"}))
    assert signal is not None
    assert (signal.remaining, signal.limit, signal.window, signal.reset_after) == (144, 150, 30.0, 5.844)
    assert read_rate_signal(answer(200, [])) is None


def test_token_header_and_no_secret_in_errors() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(401, json=[{"status": 401, "message": "No credentials were supplied in the request."}])

    connector = open_connector(settings(url="https://api.bigcommerce.com/stores/x", token="tok-123"),
                               transport=httpx.MockTransport(handler))
    with pytest.raises(AuthFailed) as caught:
        connector.get_order("1")
    assert seen[0].headers["X-Auth-Token"] == "tok-123"
    assert seen[0].url.path == "/stores/x/v2/orders/1"
    assert "tok-123" not in str(caught.value)
    assert "tok-123" not in repr(caught.value)
    connector.close()


def test_posts_are_never_retried_blindly() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        if request.method == "POST":
            return httpx.Response(502, text="<html>Bad Gateway</html>")
        return httpx.Response(204)

    connector = open_connector(settings(url="https://api.bigcommerce.com/stores/x", backoff=0.0),
                               transport=httpx.MockTransport(handler))
    body = {"billing_address": {"zip": "12345"}, "products": [{"name": "X", "quantity": 1, "price_ex_tax": "1",
                                                                "price_inc_tax": "1"}]}
    from connectors.base import OrderReference

    with pytest.raises(OutcomeUnknown):
        connector.create_order(body, OrderReference(key="ordersync:a:1"))
    assert calls == ["POST"]
    assert connector.find_by_reference(OrderReference(key="ordersync:a:1")) is None  # 204 = none
    connector.close()


def test_reference_lookup_checks_the_match_and_tolerates_no_is_deleted_filter() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("is_deleted"):
            return httpx.Response(400, json=[{"status": 400, "message": "The field 'is_deleted' is not supported "
                                                                        "by this resource."}])
        return httpx.Response(200, json=[{"id": 12, "external_order_id": "ordersync:a:10"},
                                         {"id": 9, "external_order_id": "ordersync:a:1"},
                                         {"id": 7, "external_order_id": "ordersync:a:1"}])

    from connectors.base import OrderReference

    connector = open_connector(settings(url="https://api.bigcommerce.com/stores/x"),
                               transport=httpx.MockTransport(handler))
    assert connector.find_by_reference(OrderReference(key="ordersync:a:1")) == "7"  # the oldest exact match
    assert connector.find_by_reference(OrderReference(key="ordersync:a:2")) is None
    connector.close()


def test_page_numbers_until_204_with_the_bounds_we_promise() -> None:
    requests: list[httpx.QueryParams] = []
    rows = [{"id": i, "date_modified": f"Mon, 02 Nov 2026 10:00:{i:02d} +0000"} for i in range(1, 8)]

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request.url.params)
        page, limit = int(request.url.params["page"]), int(request.url.params["limit"])
        chunk = rows[(page - 1) * limit: page * limit]
        chunk = [*chunk, rows[0]] if page == 2 else chunk  # a duplicate across pages is read once
        return httpx.Response(200, json=chunk) if chunk else httpx.Response(204)

    connector = open_connector(settings(url="https://api.bigcommerce.com/stores/x", page_size=3),
                               transport=httpx.MockTransport(handler))
    feed = connector.iter_orders({"modified_since": "2026-11-02T10:05:00+00:00"}, lookback_seconds=300)
    assert [c.id for c in feed] == [str(i) for i in range(1, 8)]
    live = [p for p in requests if "is_deleted" not in p]
    archived = [p for p in requests if p.get("is_deleted") == "true"]
    assert [p["page"] for p in live] == ["1", "2", "3"]
    assert archived
    assert archived[0]["min_date_modified"] == "2026-11-02T10:00:00+00:00"
    assert requests[0]["min_date_modified"] == "2026-11-02T10:00:00+00:00"
    assert requests[0]["sort"] == "date_modified:asc"
    connector.close()

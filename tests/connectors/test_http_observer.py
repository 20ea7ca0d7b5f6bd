"""The HTTP path tells call observers about every attempt: status, time, budget wait, 429 wait."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from connectors.errors import Transient
from connectors.http import CallRecord, HttpClient, add_call_observer, remove_call_observer
from connectors.ratelimit import BucketSpec


@pytest.fixture
def records() -> Iterator[list[CallRecord]]:
    seen: list[CallRecord] = []
    add_call_observer(seen.append)
    add_call_observer(seen.append)  # registering twice is once
    yield seen
    remove_call_observer(seen.append)


def _client(handler: httpx.MockTransport, attempts: int = 3) -> HttpClient:
    return HttpClient(platform="bigcommerce", store="s1", base_url="https://api.example",
                      bucket=BucketSpec(rate=1000.0, burst=1000.0), transport=handler, max_attempts=attempts,
                      backoff=0.0)


def test_each_attempt_is_reported_with_its_status(records: list[CallRecord]) -> None:
    answers = iter([httpx.Response(429, headers={"Retry-After": "0"}), httpx.Response(200, json={"ok": True})])
    client = _client(httpx.MockTransport(lambda request: next(answers)))
    assert client.get_json("/v2/orders") == {"ok": True}
    assert [(r.store, r.method, r.status) for r in records] == [("s1", "GET", 429), ("s1", "GET", 200)]
    assert records[0].retry_after == 0.0
    assert records[1].retry_after is None
    assert all(r.seconds >= 0 and r.waited >= 0 for r in records)


def test_no_answer_is_reported_as_none(records: list[CallRecord]) -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(Transient):
        _client(httpx.MockTransport(down), attempts=2).get_json("/v2/orders")
    assert [r.status for r in records] == [None, None]


def test_a_failing_observer_never_breaks_the_call(records: list[CallRecord]) -> None:
    def broken(record: CallRecord) -> None:
        raise RuntimeError("observer bug")

    add_call_observer(broken)
    try:
        client = _client(httpx.MockTransport(lambda request: httpx.Response(200, json=[])))
        assert client.get_json("/v2/orders") == []
    finally:
        remove_call_observer(broken)
    assert len(records) == 1

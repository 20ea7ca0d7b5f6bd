"""Every recorded real EverShop call (``../shared/platforms/samples/evershop/``), replayed in order against the
EverShop simulator: same status code, same keys, same JSON types. Ids the real store generated are replaced by
the simulator's (learned from earlier answers; order items matched by SKU)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors.testing import ASGITransport
from simulators.evershop import Simulator
from tests.simulators.replay import IdMap, Recording, recordings, shape_diff

_TOKEN_PLACEHOLDER = "<accessToken>"
_REDACTED_JWT = "<JWT redacted>"


class _Replayer:
    """Sends recordings to a simulator, rewriting ids and tokens; remembers the session cookie."""

    def __init__(self, sim: Simulator) -> None:
        self.transport = ASGITransport(sim.app, timeout=5.0)
        self.http = httpx.Client(transport=self.transport, base_url="http://127.0.0.1:3000")
        self.ids = IdMap()
        self.tokens: dict[str, str] = {}
        self.session: str | None = None

    def send(self, recording: Recording) -> httpx.Response:
        headers = {name: value for name, value in recording.headers.items() if name.lower() != "content-length"}
        if _TOKEN_PLACEHOLDER in headers.get("Authorization", ""):
            headers["Authorization"] = f"Bearer {self.tokens['accessToken']}"
        body = self.ids.apply(recording.body)
        if isinstance(body, dict) and body.get("refreshToken") == _REDACTED_JWT:
            body["refreshToken"] = self.tokens["refreshToken"]
        path = self.ids.path(recording.path) + (f"?{recording.query}" if recording.query else "")
        if recording.path == "/api/user/session/tokens" and self.session:
            headers["Cookie"] = f"asid={self.session}"  # the recording sent the session cookie only here
        response = self.http.request(recording.method, path, headers=headers,
                                     json=body if body is not None else None)
        self.session = response.cookies.get("asid") or self.session
        self.http.cookies.clear()
        return response

    def learn(self, recording: Recording, answer: Any) -> None:
        data = answer.get("data") if isinstance(answer, dict) else None
        if isinstance(data, dict):
            for name in ("accessToken", "refreshToken"):
                if isinstance(data.get(name), str):
                    self.tokens[name] = data[name]
        self.ids.learn(recording.answer, answer)

    def close(self) -> None:
        self.http.close()
        self.transport.close()


def _answer(response: httpx.Response) -> Any:
    if response.headers.get("content-type", "").startswith("application/json"):
        return response.json()
    return response.text


def test_every_recorded_evershop_call_replays(shared: Path) -> None:
    calls = recordings(shared / "platforms" / "samples" / "evershop")
    assert len(calls) >= 50
    replayer = _Replayer(Simulator(rate_limit=False))
    problems: list[str] = []
    try:
        for recording in calls:
            response = replayer.send(recording)
            answer = _answer(response)
            if response.status_code != recording.status:
                problems.append(f"{recording.name}: status {response.status_code}, real {recording.status}: "
                                f"{response.text[:200]}")
                continue
            problems += [f"{recording.name}: {diff}" for diff in shape_diff(answer, recording.answer)]
            replayer.learn(recording, answer)
    finally:
        replayer.close()
    assert not problems, "\n".join(problems)


def test_recorded_shipment_bodies_replay_with_their_raw_item_ids(shared: Path) -> None:
    """The recorded shipment requests name order items by their real ids (1, 2); the simulator numbers an
    order's items as the real store did (sample 22), so the raw bodies ship the same SKUs."""
    calls = {r.name: r for r in recordings(shared / "platforms" / "samples" / "evershop")}
    real_skus = {item["order_item_id"]: item["product_sku"]
                 for item in calls["22_order_create"].answer["data"]["items"]}
    replayer = _Replayer(Simulator(rate_limit=False))
    try:
        for name in sorted(calls):
            if name.startswith("36_"):
                break
            replayer.learn(calls[name], _answer(replayer.send(calls[name])))
        auth = {"Authorization": f"Bearer {replayer.tokens['accessToken']}"}
        query = "{ orders { items { items { orderItemId productSku } } } }"
        orders = replayer.http.post("/api/admin/graphql", json={"query": query}, headers=auth).json()
        ours = {int(i["orderItemId"]): i["productSku"] for i in orders["data"]["orders"]["items"][0]["items"]}
        assert ours == real_skus
        for step in ("36_shipment_create_partial", "40_shipment_create_rest"):
            raw = calls[step]  # the body exactly as recorded: no id rewriting
            answer = replayer.http.post(replayer.ids.path(raw.path), json=raw.body, headers=auth)
            assert answer.status_code == 200, answer.text
            assert answer.json()["data"]["items"] == raw.body["items"]
    finally:
        replayer.close()


@pytest.mark.parametrize("name", ["09_product_create", "10_product_create_2"])
def test_product_create_answers_every_real_field(shared: Path, name: str) -> None:
    calls = recordings(shared / "platforms" / "samples" / "evershop")
    replayer = _Replayer(Simulator(rate_limit=False))
    try:
        for recording in calls:
            answer = _answer(replayer.send(recording))
            replayer.learn(recording, answer)
            if recording.name == name:
                assert set(answer["data"]) == set(recording.answer["data"])
                assert [link["rel"] for link in answer["data"]["links"]] == ["productGrid", "view", "edit"]
                break
    finally:
        replayer.close()

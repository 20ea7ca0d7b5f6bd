"""The console's locks in isolation: signed sessions, per-session CSRF tokens, the login limiter."""

from __future__ import annotations

import base64

import orjson

from workers.console.security import SESSION_SECONDS, LoginLimiter, Signer, password_matches


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_session_cookie_round_trips_and_resists_tampering() -> None:
    clock = Clock()
    signer = Signer(b"k" * 32, clock=clock)
    session = signer.new(authenticated=True)
    cookie = signer.dump(session)
    assert signer.load(cookie) == session
    body, mac = cookie.rsplit(".", 1)
    forged = base64.urlsafe_b64encode(orjson.dumps({"sid": session.sid, "auth": True, "exp": 9e12})).decode()
    assert signer.load(f"{forged}.{mac}") is None, "a changed body does not match its signature"
    assert signer.load(f"{body}.{'0' * 64}") is None
    assert Signer(b"other key" * 4, clock=clock).load(cookie) is None, "another process's key does not sign in"
    for junk in (None, "", "no-dot", "!!!.abc", f"{base64.urlsafe_b64encode(b'[1]').decode()}.x"):
        assert signer.load(junk) is None
    clock.now += SESSION_SECONDS + 1
    assert signer.load(cookie) is None, "sessions expire"


def test_csrf_tokens_belong_to_one_session() -> None:
    signer = Signer(b"k" * 32)
    mine, theirs = signer.new(authenticated=True), signer.new(authenticated=True)
    assert signer.csrf_ok(mine, signer.csrf(mine))
    assert not signer.csrf_ok(mine, signer.csrf(theirs))
    assert not signer.csrf_ok(mine, "")
    assert not signer.csrf_ok(mine, None)
    assert not signer.csrf_ok(None, signer.csrf(mine))


def test_login_limiter_per_client_and_overall_in_a_sliding_window() -> None:
    clock = Clock()
    limiter = LoginLimiter(per_client=3, overall=5, window=60.0, clock=clock)
    for _ in range(3):
        assert limiter.retry_after("a") == 0
        limiter.failed("a")
    assert limiter.retry_after("a") == 60.0
    assert limiter.retry_after("b") == 0, "other clients are not blocked by one client's failures"
    clock.now += 30
    limiter.failed("b")
    limiter.failed("c")
    assert limiter.retry_after("d") == 30.0, "five failures from anywhere block everyone (password spray)"
    clock.now += 31
    assert limiter.retry_after("a") == 0, "the window slides"
    assert limiter.retry_after("d") == 0
    limiter.failed("a")
    limiter.succeeded("a")
    assert limiter.retry_after("a") == 0


def test_password_comparison() -> None:
    assert password_matches("abc", "abc")
    assert not password_matches("abc", "abcd")
    assert not password_matches("", "abc")

"""The console's locks: a signed session cookie, a CSRF token per session, a login rate limit.

- **Session**: a stateless cookie ``ordersync_console`` = ``base64(json) . HMAC-SHA256``, signed with a
  key made at process start (a restart signs everyone out). ``HttpOnly``, ``SameSite=Strict``, and
  ``Secure`` whenever the request came over TLS (directly or as told by a proxy's
  ``X-Forwarded-Proto``). Logging in issues a fresh session id (no fixation). Logging out replaces
  the browser's cookie; being stateless, a copied cookie stays valid until it expires (8 h) or the
  server restarts.
- **CSRF**: every form carries ``csrf`` = HMAC(key, session id); a POST without it, or with another
  session's, is refused with 403 before anything else happens.
- **Login rate limit**: at most :data:`LOGIN_ATTEMPTS` failed logins per client address in
  :data:`LOGIN_WINDOW` seconds, and :data:`LOGIN_GLOBAL` in total (a password spray from many
  addresses); beyond that, 429 with ``Retry-After``. The password is compared in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import orjson
from starlette.requests import Request
from starlette.responses import Response

__all__ = [
    "COOKIE",
    "LOGIN_ATTEMPTS",
    "LOGIN_GLOBAL",
    "LOGIN_WINDOW",
    "SESSION_SECONDS",
    "LoginLimiter",
    "Session",
    "Signer",
    "password_matches",
]

COOKIE = "ordersync_console"
SESSION_SECONDS = 8 * 3600
LOGIN_ATTEMPTS = 5
LOGIN_GLOBAL = 30
LOGIN_WINDOW = 300.0


@dataclass(frozen=True)
class Session:
    """What the cookie says: a random id, whether it logged in, and when it expires."""

    sid: str
    authenticated: bool
    expires: float


class Signer:
    """Signs and reads session cookies and derives each session's CSRF token."""

    def __init__(self, key: bytes | None = None, clock: Callable[[], float] = time.time) -> None:
        self._key = key or secrets.token_bytes(32)
        self._clock = clock

    def mac(self, purpose: str, data: str | bytes) -> str:
        """HMAC-SHA256 of ``data`` for one ``purpose`` (session, csrf, flash), hex."""
        raw = data.encode() if isinstance(data, str) else data
        return hmac.new(self._key, purpose.encode() + b"\0" + raw, hashlib.sha256).hexdigest()

    def new(self, *, authenticated: bool) -> Session:
        """A fresh session with a new random id."""
        return Session(secrets.token_urlsafe(18), authenticated, self._clock() + SESSION_SECONDS)

    def dump(self, session: Session) -> str:
        """The cookie value of ``session``."""
        body = base64.urlsafe_b64encode(orjson.dumps(
            {"sid": session.sid, "auth": session.authenticated, "exp": session.expires})).decode()
        return f"{body}.{self.mac('session', body.encode())}"

    def load(self, value: str | None) -> Session | None:
        """The session a cookie value holds; ``None`` when absent, forged or expired."""
        if not value or "." not in value:
            return None
        body, mac = value.rsplit(".", 1)
        if not hmac.compare_digest(mac, self.mac("session", body.encode())):
            return None
        try:
            data = orjson.loads(base64.urlsafe_b64decode(body.encode()))
            session = Session(str(data["sid"]), bool(data["auth"]), float(data["exp"]))
        except (ValueError, KeyError, TypeError):
            return None
        return session if session.expires > self._clock() else None

    def csrf(self, session: Session) -> str:
        """The CSRF token of a session (the same on every form of that session)."""
        return self.mac("csrf", session.sid.encode())

    def csrf_ok(self, session: Session | None, token: str | None) -> bool:
        """Whether ``token`` is this session's CSRF token (constant time)."""
        if session is None or not token:
            return False
        return hmac.compare_digest(token, self.csrf(session))

    def set_cookie(self, response: Response, request: Request, session: Session) -> None:
        """Write the session cookie: HttpOnly, SameSite=Strict, Secure behind TLS."""
        response.set_cookie(COOKIE, self.dump(session), max_age=SESSION_SECONDS, httponly=True,
                            samesite="strict", secure=is_tls(request), path="/")


def is_tls(request: Request) -> bool:
    """Whether the browser reached us over HTTPS (directly, or through a proxy that says so)."""
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or forwarded == "https"


def password_matches(given: str, expected: str) -> bool:
    """Constant-time comparison of two passwords (of any lengths)."""
    return hmac.compare_digest(hashlib.sha256(given.encode()).digest(), hashlib.sha256(expected.encode()).digest())


class LoginLimiter:
    """Failed logins per client address and overall, in a sliding window (in this process)."""

    def __init__(self, *, per_client: int = LOGIN_ATTEMPTS, overall: int = LOGIN_GLOBAL,
                 window: float = LOGIN_WINDOW, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_client, self.overall, self.window = per_client, overall, window
        self._clock = clock
        self._lock = threading.Lock()
        self._failures: dict[str, deque[float]] = {}
        self._all: deque[float] = deque()

    def _trim(self, times: deque[float], now: float) -> None:
        while times and times[0] <= now - self.window:
            times.popleft()

    def retry_after(self, client: str) -> float:
        """Seconds until ``client`` may try again; 0 when it may now."""
        now = self._clock()
        with self._lock:
            mine = self._failures.setdefault(client, deque())
            self._trim(mine, now)
            self._trim(self._all, now)
            waits = [times[0] + self.window - now for times, limit in ((mine, self.per_client),
                                                                       (self._all, self.overall))
                     if len(times) >= limit]
        return max(waits, default=0.0)

    def failed(self, client: str) -> None:
        """Record a wrong password from ``client``."""
        now = self._clock()
        with self._lock:
            self._failures.setdefault(client, deque()).append(now)
            self._all.append(now)

    def succeeded(self, client: str) -> None:
        """A right password clears the client's failures."""
        with self._lock:
            self._failures.pop(client, None)

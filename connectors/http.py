"""The one HTTP path every connector uses: pooling, timeouts, budget, retries, error mapping, logs.

Like httpx itself, it has a single seam for tests: pass ``transport=`` (an ``httpx.MockTransport``,
:class:`connectors.testing.ASGITransport` over a simulator, or nothing for the network).

Retry rules, which keep writes exactly-once:

- A request that never reached the server (connect error or connect timeout) is retried, whatever
  its method.
- A 429 is retried after the platform's wait when that wait is short; the request was not
  processed, so this is safe for writes too. Longer waits raise :class:`RateLimited`, except inside
  :func:`connectors.ratelimit.patient` (``ordersync sync``), where every wait for the budget or a 429 is
  waited out without using an attempt.
- 5xx answers, read timeouts and dropped connections are retried only for idempotent requests
  (GET, HEAD, PUT, DELETE, or a request marked ``idempotent=True``). For a POST or PATCH they raise
  :class:`OutcomeUnknown`: the write may have happened, and only a lookup can tell.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import structlog

from connectors.errors import (
    AuthFailed,
    Conflict,
    ConnectorError,
    NotFound,
    OutcomeUnknown,
    RateLimited,
    Rejected,
    Transient,
    Unreachable,
)
from connectors.ratelimit import BucketSpec, RateLimiter, RateSignal, TokenBucket, current_patience

__all__ = [
    "CallObserver",
    "CallRecord",
    "ErrorClassifier",
    "HttpClient",
    "SignalReader",
    "add_call_observer",
    "default_classify",
    "read_retry_after",
    "remove_call_observer",
]

ErrorClassifier = Callable[[httpx.Response], ConnectorError]
"""Turns a non-2xx response into the right taxonomy error, with a readable message."""

SignalReader = Callable[[httpx.Response], RateSignal | None]
"""Reads the platform's rate-limit headers from a response."""

_PATIENT_429S = 100  # 429s waited out per request under patient(): a platform that never lets us in still ends
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
log = structlog.get_logger("ordersync.http")


@dataclass(frozen=True)
class CallRecord:
    """One HTTP attempt, as call observers (metrics) see it: ``status`` is ``None`` when no answer came;
    ``waited`` is the time spent waiting for the request budget first; ``retry_after`` the platform's wait
    on a 429."""

    platform: str
    store: str
    method: str
    status: int | None
    seconds: float
    waited: float
    retry_after: float | None = None


CallObserver = Callable[[CallRecord], None]
"""Told about every HTTP attempt; must be quick and must not raise (errors are logged and ignored)."""

_observers: list[CallObserver] = []


def add_call_observer(observer: CallObserver) -> None:
    """Tell ``observer`` about every HTTP attempt of every connector in this process (once per observer)."""
    if observer not in _observers:
        _observers.append(observer)


def remove_call_observer(observer: CallObserver) -> None:
    """Stop telling ``observer``."""
    if observer in _observers:
        _observers.remove(observer)


def _notify(record: CallRecord) -> None:
    for observer in tuple(_observers):
        try:
            observer(record)
        except Exception as error:  # noqa: BLE001 - an observer must never break a platform call
            log.warning("http.observer_failed", error=f"{type(error).__name__}: {error}")


def read_retry_after(response: httpx.Response) -> float | None:
    """Seconds to wait from ``Retry-After`` (seconds or HTTP date) or ``X-Retry-After``."""
    for name in ("retry-after", "x-retry-after"):
        value = response.headers.get(name)
        if not value:
            continue
        try:
            return max(0.0, float(value))
        except ValueError:
            from email.utils import parsedate_to_datetime

            try:
                when = parsedate_to_datetime(value)
            except (TypeError, ValueError):
                continue
            return max(0.0, when.timestamp() - time.time())
    return None


def _body_message(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        text = response.text.strip()
        if text.startswith("<"):
            return response.reason_phrase or "unexpected HTML answer"
        return text[:300] or (response.reason_phrase or "")
    if isinstance(data, dict):
        for key in ("message", "error", "title", "detail"):
            value = data.get(key)
            if isinstance(value, str) and value:
                return value
            if isinstance(value, dict) and isinstance(value.get("message"), str):
                return str(value["message"])
    if isinstance(data, list) and data and isinstance(data[0], dict) and "message" in data[0]:
        return "; ".join(str(item.get("message", "")) for item in data if isinstance(item, dict))
    return str(data)[:300]


def default_classify(response: httpx.Response, platform: str = "") -> ConnectorError:
    """Map a status code to the taxonomy, with the body's message. Platforms refine this."""
    status = response.status_code
    message = _body_message(response)
    if status == 429:
        return RateLimited(message or "too many requests", retry_after=read_retry_after(response) or 1.0,
                           platform=platform, status=status)
    if status == 401:
        return AuthFailed(message or "authentication failed", platform=platform, status=status)
    if status == 403:
        return AuthFailed(message or "forbidden", platform=platform, status=status)
    if status == 404:
        return NotFound(message or "not found", platform=platform, status=status)
    if status == 409:
        return Conflict(message or "conflict", platform=platform, status=status)
    if status >= 500:
        return Transient(message or "server error", platform=platform, status=status)
    return Rejected(message or "request rejected", platform=platform, status=status)


class HttpClient:
    """A pooled ``httpx.Client`` with the platform's auth, budget, retries and error mapping."""

    def __init__(
        self,
        *,
        platform: str,
        store: str,
        base_url: str,
        bucket: BucketSpec,
        limiter: RateLimiter | None = None,
        auth: httpx.Auth | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        classify: ErrorClassifier | None = None,
        read_signal: SignalReader | None = None,
        max_attempts: int = 4,
        max_wait: float = 10.0,
        backoff: float = 0.5,
        pool_size: int = 20,
    ) -> None:
        self.platform = platform
        self.store = store
        self.bucket = bucket
        # Without a shared limiter, a private in-process bucket still honours the platform's waits.
        self.limiter: RateLimiter = limiter or TokenBucket()
        self.max_attempts = max_attempts
        self.max_wait = max_wait
        self.backoff = backoff
        self._classify = classify or (lambda response: default_classify(response, platform))
        self._read_signal = read_signal
        self._key = f"{platform}:{store}"
        self.requests_sent = 0
        limits = httpx.Limits(max_connections=pool_size, max_keepalive_connections=pool_size)
        self._client = httpx.Client(
            base_url=base_url.rstrip("/"),
            auth=auth,
            headers={"Accept": "application/json", **dict(headers or {})},
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            transport=transport,
            limits=limits,
            follow_redirects=False,
        )

    @property
    def base_url(self) -> str:
        """The API root requests are relative to."""
        return str(self._client.base_url)

    def close(self) -> None:
        """Close pooled connections."""
        self._client.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
        allow_statuses: tuple[int, ...] = (),
    ) -> httpx.Response:
        """Send one logical request; return the 2xx (or allowed) response or raise a taxonomy error."""
        method = method.upper()
        safe = idempotent if idempotent is not None else method in _IDEMPOTENT
        content = orjson.dumps(json) if json is not None else None
        send_headers = dict(headers or {})
        if content is not None:
            send_headers.setdefault("Content-Type", "application/json")
        attempt = limited = 0
        while True:
            attempt += 1
            queued = time.perf_counter()
            self._acquire()
            started = time.perf_counter()
            waited = started - queued
            try:
                self.requests_sent += 1
                response = self._client.request(
                    method, path, params=params, content=content, headers=send_headers
                )
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as error:
                # Never reached the server: safe to retry for any method.
                self._observe(method, None, started, waited)
                if attempt < self.max_attempts:
                    self._pause(attempt)
                    continue
                raise Unreachable(f"cannot reach {self.platform} at {self.base_url}: {_reason(error)}",
                                  platform=self.platform, store=self.store, url=self.base_url) from None
            except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as error:
                self._observe(method, None, started, waited)
                if safe and attempt < self.max_attempts:
                    self._pause(attempt)
                    continue
                cls = Transient if safe else OutcomeUnknown
                raise cls(f"{method} {path}: {type(error).__name__}, no answer", platform=self.platform) from None
            elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
            self._observe(method, response.status_code, started, waited,
                          read_retry_after(response) if response.status_code == 429 else None)
            signal = self._read_signal(response) if self._read_signal else None
            if signal is not None:
                self.limiter.observe(self._key, self.bucket, signal)
            log.debug("http", platform=self.platform, store=self.store, method=method, path=path,
                      status=response.status_code, ms=elapsed_ms, attempt=attempt)
            if response.is_success or response.status_code in allow_statuses:
                return response
            failure = self._classify(response)
            if isinstance(failure, RateLimited):
                self.limiter.observe(self._key, self.bucket, RateSignal(retry_after=failure.retry_after))
                patience = current_patience()
                if patience.max_wait >= failure.retry_after and limited < _PATIENT_429S:
                    limited += 1
                    attempt -= 1  # a 429 was not processed: waiting it out uses no attempt
                    continue  # the limiter now holds every caller until the platform's reset
                if attempt < self.max_attempts and failure.retry_after <= self.max_wait:
                    continue
                raise failure
            if isinstance(failure, Transient):
                if safe and attempt < self.max_attempts:
                    self._pause(attempt)
                    continue
                if not safe:
                    raise OutcomeUnknown(failure.message, platform=self.platform, status=failure.status)
            raise failure

    def _acquire(self) -> None:
        """Take a token from the limiter: within ``max_wait``, or within the process's :func:`patient`
        ceiling when that is longer (telling its hook how long the wait is before waiting)."""
        patience = current_patience()
        if patience.max_wait <= self.max_wait:
            self.limiter.acquire(self._key, self.bucket, max_wait=self.max_wait)
            return
        try:
            self.limiter.acquire(self._key, self.bucket, max_wait=0.0)
            return
        except RateLimited as wait:
            if patience.on_wait is not None:
                try:
                    patience.on_wait(self.platform, self.store, wait.retry_after)
                except Exception as error:  # noqa: BLE001 - a progress display must never break a call
                    log.warning("http.wait_hook_failed", error=f"{type(error).__name__}: {error}")
        self.limiter.acquire(self._key, self.bucket, max_wait=patience.max_wait)

    def _observe(self, method: str, status: int | None, started: float, waited: float,
                 retry_after: float | None = None) -> None:
        if _observers:
            _notify(CallRecord(self.platform, self.store, method, status, time.perf_counter() - started, waited,
                               retry_after))

    def _pause(self, attempt: int) -> None:
        """Exponential backoff with full jitter."""
        time.sleep(random.uniform(0, self.backoff * (2 ** (attempt - 1))))

    def get_json(self, path: str, *, params: Mapping[str, Any] | None = None,
                 allow_statuses: tuple[int, ...] = ()) -> Any:
        """GET and decode JSON; an empty body (e.g. BigCommerce 204) decodes to ``None``."""
        response = self.request("GET", path, params=params, allow_statuses=allow_statuses)
        return decode_json(response, self.platform)

    def send_json(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
        """Send a JSON body and decode the JSON answer (``None`` for an empty body)."""
        response = self.request(method, path, json=body, **kwargs)
        return decode_json(response, self.platform)


def _reason(error: httpx.TransportError) -> str:
    """Why a connection failed, in words (refused, name not resolved, timed out)."""
    text = str(error).lower()
    if "name or service" in text or "nodename" in text or "getaddrinfo" in text or "name resolution" in text:
        return "DNS lookup failed"
    if "refused" in text:
        return "connection refused"
    if isinstance(error, httpx.TimeoutException):
        return f"{type(error).__name__} (no answer to connect)"
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def decode_json(response: httpx.Response, platform: str) -> Any:
    """The JSON body of a response, ``None`` when empty; a non-JSON body is a :class:`Transient`."""
    if response.status_code == 204 or not response.content.strip():
        return None
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        raise Transient(f"answer to {response.request.method} {response.request.url.path} is not JSON",
                        platform=platform, status=response.status_code) from None

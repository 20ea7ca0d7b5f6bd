"""The shared Redis token bucket: same behaviour as the in-process bucket, atomic across processes."""

from __future__ import annotations

import math
import multiprocessing
import threading
import time
import uuid
from typing import Any

import fakeredis
import httpx
import pytest
import redis
import structlog
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.errors import RateLimited, Transient
from connectors.http import HttpClient
from connectors.ratelimit import BucketSpec, RateLimiter, RateSignal, TokenBucket
from tests.workers.conftest import FakeClock
from workers import ratelimit as ratelimit_module
from workers import redis_client as redis_client_module
from workers.ratelimit import MAX_BLOCK, RedisTokenBucket
from workers.redis_client import MEMORY_URL, redact_url, redis_from_url

KEY = "bigcommerce:store-1"


def try_take(limiter: RateLimiter, key: str, spec: BucketSpec) -> float:
    """0.0 when a token was taken now, else the wait the limiter asked for (no sleeping)."""
    try:
        limiter.acquire(key, spec, max_wait=0.0)
    except RateLimited as limited:
        return limited.retry_after
    return 0.0


@pytest.fixture(params=["in_process", "redis"])
def limiter(request: pytest.FixtureRequest, fake_clock: FakeClock, fake_redis: redis.Redis) -> RateLimiter:
    """Each behavioural test runs against the in-process bucket and the Redis one (fakeredis)."""
    if request.param == "in_process":
        return TokenBucket(clock=fake_clock.time, sleep=fake_clock.sleep)
    return RedisTokenBucket(fake_redis, sleep=fake_clock.sleep)


# --- one behaviour, two implementations -----------------------------------------------------------


class TestSharedBehaviour:
    spec = BucketSpec(rate=2.0, burst=3.0)

    def test_fresh_bucket_grants_its_burst_then_asks_to_wait(self, limiter: RateLimiter) -> None:
        assert [try_take(limiter, KEY, self.spec) for _ in range(3)] == [0.0, 0.0, 0.0]
        assert try_take(limiter, KEY, self.spec) == pytest.approx(0.5)

    def test_refill_is_rate_times_elapsed(self, limiter: RateLimiter, fake_clock: FakeClock) -> None:
        for _ in range(3):
            try_take(limiter, KEY, self.spec)
        fake_clock.advance(0.25)  # half a token
        assert try_take(limiter, KEY, self.spec) == pytest.approx(0.25)
        fake_clock.advance(0.25)
        assert try_take(limiter, KEY, self.spec) == 0.0
        assert try_take(limiter, KEY, self.spec) == pytest.approx(0.5)

    def test_refill_is_capped_at_burst(self, limiter: RateLimiter, fake_clock: FakeClock) -> None:
        for _ in range(3):
            try_take(limiter, KEY, self.spec)
        fake_clock.advance(1000.0)
        assert [try_take(limiter, KEY, self.spec) for _ in range(4)][-1] == pytest.approx(0.5)

    def test_acquire_sleeps_when_the_wait_fits(self, limiter: RateLimiter, fake_clock: FakeClock) -> None:
        for _ in range(3):
            limiter.acquire(KEY, self.spec, max_wait=0.0)
        limiter.acquire(KEY, self.spec, max_wait=1.0)
        assert fake_clock.sleeps == [pytest.approx(0.5)]

    def test_acquire_raises_with_the_wait_when_it_does_not_fit(
        self, limiter: RateLimiter, fake_clock: FakeClock
    ) -> None:
        for _ in range(3):
            limiter.acquire(KEY, self.spec, max_wait=0.0)
        with pytest.raises(RateLimited) as caught:
            limiter.acquire(KEY, self.spec, max_wait=0.4)
        assert caught.value.retry_after == pytest.approx(0.5)
        assert caught.value.disposition == "retriable"
        assert fake_clock.sleeps == []  # no partial sleep before giving up

    def test_429_blocks_until_retry_after(self, limiter: RateLimiter, fake_clock: FakeClock) -> None:
        limiter.observe(KEY, self.spec, RateSignal(retry_after=2.0))
        assert try_take(limiter, KEY, self.spec) == pytest.approx(2.0)
        fake_clock.advance(1.5)
        assert try_take(limiter, KEY, self.spec) == pytest.approx(0.5)
        fake_clock.advance(0.5)
        # Tokens refilled while blocked (capped at burst): the platform's window has reset too.
        assert [try_take(limiter, KEY, self.spec) for _ in range(4)] == [0.0, 0.0, 0.0, pytest.approx(0.5)]

    def test_a_shorter_block_never_shortens_a_longer_one(self, limiter: RateLimiter) -> None:
        limiter.observe(KEY, self.spec, RateSignal(retry_after=5.0))
        limiter.observe(KEY, self.spec, RateSignal(retry_after=1.0))
        assert try_take(limiter, KEY, self.spec) == pytest.approx(5.0)

    def test_remaining_lowers_the_tokens(self, limiter: RateLimiter) -> None:
        limiter.observe(KEY, self.spec, RateSignal(remaining=1, limit=150, window=30.0))
        assert try_take(limiter, KEY, self.spec) == 0.0
        assert try_take(limiter, KEY, self.spec) == pytest.approx(0.5)

    def test_a_higher_remaining_never_adds_tokens(self, limiter: RateLimiter) -> None:
        for _ in range(3):
            try_take(limiter, KEY, self.spec)
        limiter.observe(KEY, self.spec, RateSignal(remaining=100))
        assert try_take(limiter, KEY, self.spec) == pytest.approx(0.5)

    def test_remaining_zero_with_reset_blocks_until_the_reset(
        self, limiter: RateLimiter, fake_clock: FakeClock
    ) -> None:
        limiter.observe(KEY, self.spec, RateSignal(remaining=0, reset_after=1.5))
        assert try_take(limiter, KEY, self.spec) == pytest.approx(1.5)
        fake_clock.advance(1.5)
        assert try_take(limiter, KEY, self.spec) == 0.0

    def test_remaining_zero_without_reset_only_empties(self, limiter: RateLimiter) -> None:
        limiter.observe(KEY, self.spec, RateSignal(remaining=0))
        assert try_take(limiter, KEY, self.spec) == pytest.approx(0.5)

    def test_a_fixed_window_reported_left_is_spent_until_its_reset(
        self, limiter: RateLimiter, fake_clock: FakeClock
    ) -> None:
        window = BucketSpec.per_window(150, 30)  # BigCommerce: 5/s on average, bursts of 10
        for _ in range(10):
            try_take(limiter, KEY, window)
        limiter.observe(KEY, window, RateSignal(remaining=140, reset_after=29.5))
        taken = sum(1 for _ in range(140) if try_take(limiter, KEY, window) == 0.0)
        assert taken == 138  # what the platform said is left, less the reserve for an overtaken answer
        assert try_take(limiter, KEY, window) == pytest.approx(29.5)  # then the window's reset
        fake_clock.advance(29.5)
        assert try_take(limiter, KEY, window) == 0.0  # the average rate again after it

    def test_an_older_answer_of_the_same_window_never_adds(self, limiter: RateLimiter) -> None:
        window = BucketSpec.per_window(150, 30)
        limiter.observe(KEY, window, RateSignal(remaining=100, reset_after=29.0))
        for _ in range(50):
            try_take(limiter, KEY, window)
        limiter.observe(KEY, window, RateSignal(remaining=90, reset_after=28.9))  # overtaken by later answers
        assert sum(1 for _ in range(100) if try_take(limiter, KEY, window) == 0.0) == 48

    def test_a_configured_budget_caps_what_a_window_grants(self, limiter: RateLimiter) -> None:
        lower = BucketSpec.per_window(30, 30)  # the merchant leaves most of the store's quota to other apps
        limiter.observe(KEY, lower, RateSignal(remaining=140, reset_after=10.0))
        assert sum(1 for _ in range(140) if try_take(limiter, KEY, lower) == 0.0) == 12  # 1/s * 10 s + burst 2

    def test_keys_are_independent(self, limiter: RateLimiter) -> None:
        limiter.observe(KEY, self.spec, RateSignal(retry_after=10.0))
        assert try_take(limiter, "bigcommerce:store-2", self.spec) == 0.0

    def test_acquire_retries_through_a_block_then_a_refill(
        self, limiter: RateLimiter, fake_clock: FakeClock
    ) -> None:
        spec = BucketSpec(rate=1.0, burst=1.0)
        limiter.acquire(KEY, spec, max_wait=0.0)
        limiter.observe(KEY, spec, RateSignal(retry_after=0.25))
        limiter.acquire(KEY, spec, max_wait=2.0)  # 0.25 s blocked, then 0.75 s to the next token
        assert fake_clock.sleeps == [pytest.approx(0.25), pytest.approx(0.75)]


# A program for the differential test: advance the clock, take, or feed a signal.
_steps = st.integers(min_value=0, max_value=256).map(lambda n: n / 64)  # exact in binary and in us
_ops = st.lists(
    st.one_of(
        st.tuples(st.just("advance"), _steps),
        st.tuples(st.just("take"), st.just(0.0)),
        st.tuples(st.just("retry_after"), _steps),
        st.tuples(st.just("remaining"), st.integers(min_value=0, max_value=10).map(float)),
        st.tuples(st.just("reset_after"), _steps),
    ),
    max_size=40,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rate=st.sampled_from([0.5, 1.0, 2.0, 3.0, 5.0, 20.0]),
    burst=st.sampled_from([1.0, 2.0, 3.0, 5.0, 8.0]),
    ops=_ops,
)
def test_redis_bucket_answers_exactly_like_the_in_process_bucket(
    fake_clock: FakeClock, fake_redis: redis.Redis, rate: float, burst: float, ops: list[tuple[str, float]]
) -> None:
    fake_clock.reset()
    key = uuid.uuid4().hex
    spec = BucketSpec(rate=rate, burst=burst)
    local = TokenBucket(clock=fake_clock.time, sleep=fake_clock.sleep)
    shared = RedisTokenBucket(fake_redis, sleep=fake_clock.sleep)
    for op, value in ops:
        if op == "advance":
            fake_clock.advance(value)
        elif op == "take":
            assert try_take(shared, key, spec) == try_take(local, key, spec)
        else:
            signal = {
                "retry_after": RateSignal(retry_after=value),
                "remaining": RateSignal(remaining=int(value)),
                "reset_after": RateSignal(remaining=0, reset_after=value),
            }[op]
            local.observe(key, spec, signal)
            shared.observe(key, spec, signal)
    assert try_take(shared, key, spec) == try_take(local, key, spec)


def _max_excess(grants: list[float], spec: BucketSpec) -> float:
    """max over every window [t_i, t_j] of (grants in it) - (burst + rate * width); must be <= 0."""
    grants = sorted(grants)
    worst = -math.inf
    for i in range(len(grants)):
        for j in range(i, len(grants)):
            worst = max(worst, (j - i + 1) - (spec.burst + spec.rate * (grants[j] - grants[i])))
    return worst


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rate=st.floats(min_value=0.1, max_value=50.0),
    burst=st.floats(min_value=1.0, max_value=10.0),
    gaps_us=st.lists(st.integers(min_value=0, max_value=2_000_000), max_size=60),
    signals=st.lists(st.sampled_from([None, None, None, "remaining", "retry_after"]), min_size=60, max_size=60),
)
def test_grants_never_exceed_burst_plus_rate_times_window(
    fake_clock: FakeClock,
    fake_redis: redis.Redis,
    rate: float,
    burst: float,
    gaps_us: list[int],
    signals: list[str | None],
) -> None:
    fake_clock.reset()
    key = uuid.uuid4().hex
    spec = BucketSpec(rate=rate, burst=burst)
    shared = RedisTokenBucket(fake_redis)
    local = TokenBucket(clock=fake_clock.time)
    shared_grants: list[float] = []
    local_grants: list[float] = []
    for gap, signal in zip(gaps_us, signals, strict=False):
        fake_clock.advance(gap / 1e6)
        if signal == "remaining":
            for bucket in (shared, local):
                bucket.observe(key, spec, RateSignal(remaining=0))
        elif signal == "retry_after":
            for bucket in (shared, local):
                bucket.observe(key, spec, RateSignal(retry_after=0.1))
        attempt = shared.try_acquire(key, spec)
        assert 0.0 <= attempt.tokens <= burst
        assert shared.peek(key, spec).tokens <= burst
        if attempt.granted:
            shared_grants.append(attempt.server_time)
        if try_take(local, key, spec) == 0.0:
            local_grants.append(fake_clock.now)
    tolerance = 1e-6 * (1 + rate)
    assert _max_excess(shared_grants, spec) <= tolerance
    assert _max_excess(local_grants, spec) <= tolerance


# --- Redis specifics (fakeredis) -------------------------------------------------------------------


class TestRedisBucket:
    spec = BucketSpec(rate=2.0, burst=3.0)

    def test_implements_the_limiter_protocol(self, fake_redis: redis.Redis) -> None:
        assert isinstance(RedisTokenBucket(fake_redis), RateLimiter)

    def test_state_is_a_hash_under_the_bucket_prefix(self, fake_redis: redis.Redis, fake_clock: FakeClock) -> None:
        RedisTokenBucket(fake_redis).acquire(KEY, self.spec, max_wait=0.0)
        state = fake_redis.hgetall(f"ordersync:bucket:{KEY}")
        assert set(state) == {b"tokens", b"ts", b"blocked_until", b"granted_until"}
        assert float(state[b"tokens"]) == 2.0
        assert int(state[b"ts"]) == int(fake_clock.now * 1_000_000)  # Redis TIME, in microseconds

    def test_a_429_seen_by_one_client_blocks_every_client(self, fake_clock: FakeClock) -> None:
        server = fakeredis.FakeServer()
        one = RedisTokenBucket(fakeredis.FakeRedis(server=server))
        other = RedisTokenBucket(fakeredis.FakeRedis(server=server))
        assert try_take(other, KEY, self.spec) == 0.0
        one.observe(KEY, self.spec, RateSignal(retry_after=3.0))
        assert try_take(other, KEY, self.spec) == pytest.approx(3.0)
        with pytest.raises(RateLimited) as caught:
            other.acquire(KEY, self.spec, max_wait=1.0)
        assert caught.value.retry_after == pytest.approx(3.0)
        fake_clock.advance(3.0)
        assert try_take(other, KEY, self.spec) == 0.0

    def test_idle_buckets_expire_when_full_and_expiry_changes_nothing(
        self, fake_redis: redis.Redis, fake_clock: FakeClock
    ) -> None:
        bucket = RedisTokenBucket(fake_redis)
        name = f"ordersync:bucket:{KEY}"
        for _ in range(3):
            bucket.acquire(KEY, self.spec, max_wait=0.0)
        # Full again after 3 / 2 = 1.5 s; the key lives that long plus a second of slack.
        assert fake_redis.pttl(name) == 2500
        fake_clock.advance(2.4)
        assert fake_redis.exists(name)
        fake_clock.advance(0.2)
        assert not fake_redis.exists(name)
        assert bucket.peek(KEY, self.spec).idle
        assert [try_take(bucket, KEY, self.spec) for _ in range(4)][-1] == pytest.approx(0.5)

    def test_a_block_keeps_the_key_alive_until_it_ends(self, fake_redis: redis.Redis, fake_clock: FakeClock) -> None:
        bucket = RedisTokenBucket(fake_redis)
        bucket.observe(KEY, self.spec, RateSignal(retry_after=10.0))
        assert fake_redis.pttl(f"ordersync:bucket:{KEY}") == 11_000
        fake_clock.advance(9.9)
        assert try_take(bucket, KEY, self.spec) == pytest.approx(0.1)

    def test_peek_reports_tokens_and_block_without_taking(self, fake_redis: redis.Redis, fake_clock: FakeClock) -> None:
        bucket = RedisTokenBucket(fake_redis)
        fresh = bucket.peek(KEY, self.spec)
        assert (fresh.tokens, fresh.blocked_for, fresh.next_token_in, fresh.idle) == (3.0, 0.0, 0.0, True)
        assert not fake_redis.exists(f"ordersync:bucket:{KEY}")  # peek writes nothing
        for _ in range(3):
            bucket.acquire(KEY, self.spec, max_wait=0.0)
        fake_clock.advance(0.25)
        drained = bucket.peek(KEY, self.spec)
        assert drained.tokens == pytest.approx(0.5)
        assert drained.next_token_in == pytest.approx(0.25)
        assert not drained.idle
        bucket.observe(KEY, self.spec, RateSignal(retry_after=4.0))
        blocked = bucket.peek(KEY, self.spec)
        assert blocked.blocked_for == pytest.approx(4.0)
        assert blocked.next_token_in == blocked.blocked_for
        assert bucket.peek(KEY, self.spec) == blocked  # still nothing taken

    def test_a_smaller_spec_caps_stored_tokens(self, fake_redis: redis.Redis) -> None:
        bucket = RedisTokenBucket(fake_redis)
        bucket.acquire(KEY, BucketSpec(rate=1.0, burst=10.0), max_wait=0.0)  # 9 left
        assert bucket.try_acquire(KEY, BucketSpec(rate=1.0, burst=2.0)).tokens == 1.0

    @pytest.mark.parametrize(
        ("signal", "tokens", "blocked_for"),
        [
            (RateSignal(retry_after=math.inf), 3.0, 0.0),
            (RateSignal(retry_after=math.nan), 3.0, 0.0),
            (RateSignal(retry_after=-5.0), 0.0, 0.0),
            (RateSignal(retry_after=10 * MAX_BLOCK), 0.0, MAX_BLOCK),
            (RateSignal(remaining=-3), 0.0, 0.0),
            (RateSignal(remaining=0, reset_after=math.inf), 0.0, 0.0),
            (RateSignal(limit=150, window=30.0), 3.0, 0.0),
        ],
    )
    def test_garbled_signals_are_made_safe(
        self, fake_redis: redis.Redis, fake_clock: FakeClock, signal: RateSignal, tokens: float, blocked_for: float
    ) -> None:
        bucket = RedisTokenBucket(fake_redis)
        bucket.observe(KEY, self.spec, signal)
        stats = bucket.peek(KEY, self.spec)
        assert stats.tokens == tokens
        assert stats.blocked_for == pytest.approx(blocked_for)

    @pytest.mark.parametrize("spec", [BucketSpec(rate=0.0, burst=1.0), BucketSpec(rate=1.0, burst=0.5),
                                      BucketSpec(rate=math.inf, burst=1.0), BucketSpec(rate=1.0, burst=math.nan)])
    def test_impossible_specs_are_refused(self, fake_redis: redis.Redis, spec: BucketSpec) -> None:
        with pytest.raises(ValueError, match="bucket"):
            RedisTokenBucket(fake_redis).acquire(KEY, spec, max_wait=1.0)

    def test_redis_down_acquire_is_transient_and_observe_is_logged(self) -> None:
        server = fakeredis.FakeServer()
        server.connected = False
        bucket = RedisTokenBucket(fakeredis.FakeRedis(server=server))
        with pytest.raises(Transient) as caught:
            bucket.acquire(KEY, self.spec, max_wait=1.0)
        assert caught.value.disposition == "retriable"
        with structlog.testing.capture_logs() as logs:
            bucket.observe(KEY, self.spec, RateSignal(retry_after=1.0))  # must not raise after a response
        assert [entry["event"] for entry in logs] == ["rate_signal_lost"]

    def test_scripts_reload_after_a_script_flush(self, fake_redis: redis.Redis, fake_clock: FakeClock) -> None:
        bucket = RedisTokenBucket(fake_redis)
        bucket.acquire(KEY, self.spec, max_wait=0.0)
        fake_redis.script_flush()  # e.g. Redis restarted: EVALSHA gets NOSCRIPT, the script is loaded again
        bucket.acquire(KEY, self.spec, max_wait=0.0)
        assert bucket.peek(KEY, self.spec).tokens == 1.0

    def test_decoded_clients_work_too(self, fake_clock: FakeClock) -> None:
        client = fakeredis.FakeRedis(decode_responses=True)
        bucket = RedisTokenBucket(client)
        assert bucket.try_acquire(KEY, self.spec).granted
        assert bucket.peek(KEY, self.spec).tokens == 2.0

    def test_http_client_waits_out_a_429_through_the_shared_bucket(
        self, fake_redis: redis.Redis, fake_clock: FakeClock
    ) -> None:
        answers = iter([httpx.Response(429, headers={"Retry-After": "2"}, json={"title": "Too many"}),
                        httpx.Response(200, json={"ok": True})])
        bucket = RedisTokenBucket(fake_redis, sleep=fake_clock.sleep)
        client = HttpClient(platform="bigcommerce", store="s1", base_url="https://api.example", bucket=self.spec,
                            limiter=bucket, transport=httpx.MockTransport(lambda request: next(answers)),
                            max_wait=5.0)
        try:
            assert client.get_json("/v2/orders") == {"ok": True}
        finally:
            client.close()
        assert fake_clock.sleeps == [pytest.approx(2.0)]


# --- the embedded client ---------------------------------------------------------------------------


def test_memory_url_is_one_shared_fakeredis_running_the_same_lua() -> None:
    assert redis_from_url(None) is redis_from_url(MEMORY_URL)
    bucket = RedisTokenBucket(redis_from_url(None), prefix=f"ordersync-test:{uuid.uuid4().hex}:")
    other = RedisTokenBucket(redis_from_url(MEMORY_URL), prefix=bucket.prefix)
    spec = BucketSpec(rate=0.001, burst=5.0)
    grants: list[bool] = []

    def hammer() -> None:
        for _ in range(10):
            grants.append(bucket.try_acquire(KEY, spec).granted)

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert grants.count(True) == 5  # atomic under threads: exactly the burst, never more
    assert not other.try_acquire(KEY, spec).granted
    redis_from_url(None).delete(bucket.redis_key(KEY))


def test_redis_urls_are_real_clients_and_secrets_never_show() -> None:
    client = redis_from_url("redis://:s3cret@127.0.0.1:6379/14")
    assert not isinstance(client, fakeredis.FakeRedis)
    assert client.connection_pool.connection_kwargs["db"] == 14
    client.close()
    assert redact_url("redis://user:s3cret@cache.local:6380/2") == "redis://***@cache.local:6380/2"
    assert redact_url("rediss://:s3cret@[::1]:6379/0") == "rediss://***@[::1]:6379/0"
    assert redact_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
    with pytest.raises(ValueError, match=r"\*\*\*") as caught:
        redis_from_url("http://:s3cret@example.com/")
    assert "s3cret" not in str(caught.value)


# --- the real Redis, several processes --------------------------------------------------------------


def _hammer(
    url: str,
    prefix: str,
    rate: float,
    burst: float,
    duration: float,
    barrier: Any,
    results: Any,
    index: int,
    block_at: float | None,
    block_for: float,
) -> None:
    """A worker process: take tokens as fast as allowed for ``duration`` s, report grant times (us)."""
    client = redis.Redis.from_url(url)
    bucket = RedisTokenBucket(client, prefix=prefix)
    spec = BucketSpec(rate=rate, burst=burst)
    grants: list[int] = []
    blocked: tuple[int, int] | None = None
    attempts = 0
    barrier.wait()
    start = time.monotonic()
    while (elapsed := time.monotonic() - start) < duration:
        if block_at is not None and blocked is None and elapsed >= block_at:
            bucket.observe(KEY, spec, RateSignal(retry_after=block_for))
            until = int(float(client.hget(bucket.redis_key(KEY), "blocked_until") or 0))
            blocked = (until - int(block_for * 1_000_000), until)
        attempt = bucket.try_acquire(KEY, spec)
        attempts += 1
        if attempt.granted:
            grants.append(round(attempt.server_time * 1_000_000))
        else:
            time.sleep(min(attempt.wait, 0.002))  # keep every process at the bucket
    results.put((index, grants, blocked, attempts))
    client.close()


def _run_workers(
    redis_url: str, prefix: str, spec: BucketSpec, duration: float, *, processes: int = 4,
    block: tuple[float, float] | None = None,
) -> list[tuple[int, list[int], tuple[int, int] | None, int]]:
    ctx = multiprocessing.get_context("fork")  # like Celery's prefork pool
    barrier = ctx.Barrier(processes)
    results = ctx.Queue()
    workers = [
        ctx.Process(
            target=_hammer,
            args=(redis_url, prefix, spec.rate, spec.burst, duration, barrier, results, index,
                  block[0] if block and index == 0 else None, block[1] if block else 0.0),
        )
        for index in range(processes)
    ]
    for worker in workers:
        worker.start()
    out = [results.get(timeout=duration + 20) for _ in workers]
    for worker in workers:
        worker.join(timeout=10)
        assert worker.exitcode == 0
    return out


@pytest.mark.redis
def test_processes_sharing_a_bucket_never_exceed_burst_plus_rate(
    redis_url: str, real_redis: redis.Redis, redis_prefix: str
) -> None:
    spec = BucketSpec(rate=20.0, burst=5.0)
    out = _run_workers(redis_url, redis_prefix, spec, duration=2.0)
    grants = sorted(t / 1e6 for _, times, _, _ in out for t in times)
    assert all(times for _, times, _, _ in out), "every process got some tokens"
    excess = _max_excess(grants, spec)
    elapsed = grants[-1] - grants[0]
    in_one_second = max(sum(1 for t in grants if g <= t < g + 1.0) for g in grants)
    print(
        f"\n{len(out)} processes, {sum(a for *_, a in out)} attempts, {len(grants)} grants in {elapsed:.3f} s "
        f"(bound {spec.burst + spec.rate * elapsed:.1f}); steady rate {(len(grants) - spec.burst) / elapsed:.2f}/s "
        f"vs {spec.rate}/s; max in any 1 s window {in_one_second} (bound {spec.burst + spec.rate:.0f}); "
        f"worst window excess {excess:.4f}"
    )
    assert excess <= 1e-3
    assert len(grants) >= 0.9 * (spec.burst + spec.rate * elapsed)  # and the budget is actually used


@pytest.mark.redis
def test_a_429_seen_by_one_process_stops_all_of_them_until_the_reset(
    redis_url: str, real_redis: redis.Redis, redis_prefix: str
) -> None:
    spec = BucketSpec(rate=20.0, burst=5.0)
    out = _run_workers(redis_url, redis_prefix, spec, duration=2.0, block=(0.6, 0.8))
    (start, until), = [blocked for _, _, blocked, _ in out if blocked is not None]
    grants = sorted(t for _, times, _, _ in out for t in times)
    during = [t for t in grants if start < t < until]
    after = [t for t in grants if t >= until]
    print(f"\nblocked {(until - start) / 1e6:.3f} s; grants before {sum(t <= start for t in grants)}, "
          f"during {len(during)}, after {len(after)} (first {(after[0] - until) / 1e3:.2f} ms after the reset)")
    assert during == []
    assert after, "grants resume after the reset"
    assert len({index for index, times, _, _ in out if any(t >= until for t in times)}) > 1


@pytest.mark.redis
def test_real_redis_runs_the_same_scripts(real_redis: redis.Redis, redis_prefix: str) -> None:
    bucket = RedisTokenBucket(real_redis, prefix=redis_prefix)
    spec = BucketSpec(rate=1.0, burst=2.0)
    assert [bucket.try_acquire(KEY, spec).granted for _ in range(3)] == [True, True, False]
    bucket.observe(KEY, spec, RateSignal(remaining=0, reset_after=30.0))
    stats = bucket.peek(KEY, spec)
    assert stats.blocked_for == pytest.approx(30.0, abs=0.5)
    assert 30_000 < real_redis.pttl(bucket.redis_key(KEY)) <= 31_000


@pytest.mark.parametrize("module", [ratelimit_module, redis_client_module])
def test_public_names_are_exported(module: Any) -> None:
    assert all(hasattr(module, name) for name in module.__all__)

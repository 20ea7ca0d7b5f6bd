"""End-to-end harness: simulated shops, real Redis, a real database, real Celery worker processes.

The test process serves the simulators (and, when asked, the webhook API) on 127.0.0.1 threads,
writes an ``ordersync.toml`` for them, points the shared Celery app at a dedicated Redis database,
and starts ``celery -A workers.app worker`` subprocesses that run the production task code.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import redis

from connectors.logging import configure_logging
from simulators import FaultConfig, serve_in_thread, simulator_class
from simulators.runner import RunningServer
from sync.config import OrderSyncConfig, load_config
from sync.models import Binding
from workers import context
from workers.app import QUEUES, configure
from workers.app import app as celery_app

REPO = Path(__file__).resolve().parents[2]

CREDENTIALS: dict[str, dict[str, str]] = {
    "bigcommerce": {"token": "sim-token"},
    "merchantpro": {"api_key": "sim-key", "api_secret": "sim-secret"},
    "cscart": {"email": "admin@example.com", "api_key": "sim-api-key"},
    "evershop": {"email": "admin@example.com", "password": "Admin12345"},
}
WEBHOOK_SECRET = "e2e-webhook-secret"


@dataclass
class Shop:
    """A simulated shop in the cluster."""

    name: str
    platform: str
    simulator: Any
    server: RunningServer

    @property
    def base_url(self) -> str:
        """The store's API root as ordersync.toml names it."""
        if self.platform == "bigcommerce":
            return f"{self.server.url}/stores/simstore"
        return self.server.url

    def stats(self) -> dict[str, Any]:
        """The simulator's request statistics."""
        return httpx.get(f"{self.server.url}/__sim/stats", timeout=5).json()  # type: ignore[no-any-return]


@dataclass
class Cluster:
    """Shops + config + worker processes for one end-to-end test."""

    tmp: Path
    redis_url: str
    database_url: str
    shops: dict[str, Shop] = field(default_factory=dict)
    config: OrderSyncConfig | None = None
    config_path: Path | None = None
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    api: RunningServer | None = None
    env: dict[str, str] = field(default_factory=dict)
    logs: list[Path] = field(default_factory=list)
    external: dict[str, tuple[str, str, dict[str, str], str | None]] = field(default_factory=dict)

    def add_external(self, name: str, platform: str, base_url: str, credentials: dict[str, str],
                     webhook_secret: str | None = None) -> None:
        """A real shop (e.g. the live EverShop) as a store of the cluster."""
        self.external[name] = (platform, base_url, credentials, webhook_secret)

    # -- setup ----------------------------------------------------------------------------------
    def add_shop(self, name: str, platform: str, *, orders: int = 0, seed: int = 1,
                 faults: FaultConfig | None = None, rate_limit: Any = True, **kwargs: Any) -> Shop:
        """Start a simulator for ``platform`` on a free loopback port."""
        simulator = simulator_class(platform)(orders=orders, seed=seed, faults=faults, rate_limit=rate_limit,
                                              **kwargs)
        shop = Shop(name, platform, simulator, serve_in_thread(simulator.app))
        self.shops[name] = shop
        return shop

    def write_config(self, routes: list[dict[str, Any]], *, options: Mapping[str, Mapping[str, Any]] | None = None,
                     settings: Mapping[str, Any] | None = None) -> OrderSyncConfig:
        """Write ordersync.toml for the shops and routes; export credentials as env variables."""
        lines = ["[settings]", f'database_url = "{self.database_url}"', f'broker_url = "{self.redis_url}"',
                 'log_level = "WARNING"']
        for key, value in (settings or {}).items():
            lines.append(f"{key} = {_toml(value)}")
        for name, shop in self.shops.items():
            lines += ["", f"[stores.{name}]", f'platform = "{shop.platform}"', f'base_url = "{shop.base_url}"']
            creds = {}
            for key, value in CREDENTIALS[shop.platform].items():
                var = f"E2E_{name.upper()}_{key.upper()}"
                self.env[var] = value
                creds[key] = f"${{{var}}}"
            lines.append("credentials = { " + ", ".join(f'{k} = "{v}"' for k, v in creds.items()) + " }")
            if shop.platform != "cscart":
                var = f"E2E_{name.upper()}_WEBHOOK"
                self.env[var] = WEBHOOK_SECRET
                lines.append(f'webhook_secret = "${{{var}}}"')
            store_options = dict((options or {}).get(name, {}))
            if store_options:
                lines.append(f"options = {_toml(store_options)}")
        for name, (platform, base_url, credentials, secret) in self.external.items():
            lines += ["", f"[stores.{name}]", f'platform = "{platform}"', f'base_url = "{base_url}"']
            refs = {}
            for key, value in credentials.items():
                var = f"E2E_{name.upper()}_{key.upper()}"
                self.env[var] = value
                refs[key] = f"${{{var}}}"
            lines.append("credentials = { " + ", ".join(f'{k} = "{v}"' for k, v in refs.items()) + " }")
            if secret:
                self.env[f"E2E_{name.upper()}_WEBHOOK"] = secret
                lines.append(f'webhook_secret = "${{E2E_{name.upper()}_WEBHOOK}}"')
            store_options = dict((options or {}).get(name, {}))
            if store_options:
                lines.append(f"options = {_toml(store_options)}")
        for route in routes:
            lines += ["", "[[routes]]"] + [f"{k} = {_toml(v)}" for k, v in route.items()]
        self.config_path = self.tmp / "ordersync.toml"
        self.config_path.write_text("\n".join(lines) + "\n")
        os.environ.update(self.env)
        self.config = load_config(self.config_path)
        configure_logging("WARNING")
        configure(self.config.settings, self.config)
        celery_app.conf.task_always_eager = False
        _reset_pool()
        ctx = context.Context.build(self.config)
        context.install(ctx)
        return self.config

    def start_worker(self, *, concurrency: int = 2,
                     extra_env: Mapping[str, str] | None = None) -> subprocess.Popen[bytes]:
        """Start a real Celery worker process on the cluster's broker."""
        assert self.config_path is not None
        log = self.tmp / f"worker-{len(self.workers)}.log"
        self.logs.append(log)
        env = {**os.environ, **self.env, "ORDERSYNC_CONFIG": str(self.config_path),
               "ORDERSYNC_BROKER_URL": self.redis_url, "ORDERSYNC_DATABASE_URL": self.database_url,
               "PYTHONPATH": str(REPO), **(extra_env or {})}
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "workers.app", "worker", "-Q", ",".join(QUEUES),
             f"--concurrency={concurrency}", "--pool=prefork", "--loglevel=WARNING", "--without-gossip",
             "--without-mingle", "--without-heartbeat", f"--hostname=e2e-{uuid.uuid4().hex[:8]}@%h"],
            cwd=REPO, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True,
        )
        self.workers.append(process)
        return process

    def kill_worker(self, process: subprocess.Popen[bytes]) -> None:
        """SIGKILL a worker and all its children (a crash, not a shutdown)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)

    def serve_api(self, port: int = 0) -> str:
        """Serve the webhook intake in this process; returns its base URL."""
        from workers.api import create_app

        self.api = serve_in_thread(create_app(), port=port)
        return self.api.url

    # -- driving and observing ------------------------------------------------------------------
    def poll(self, store: str, *, full: bool = False) -> None:
        """Queue a poll of ``store`` for the workers."""
        from workers.tasks import poll

        poll.delay(store, full=full)

    def bindings(self, route: str | None = None) -> list[Binding]:
        """Bindings in the state store."""
        return context.current().store.bindings(route)

    def wait(self, predicate: Callable[[], bool], timeout: float = 60.0, what: str = "condition") -> None:
        """Wait for ``predicate``; fail with the workers' logs when it does not come true."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.2)
        raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{self.diagnostics()}")

    def diagnostics(self) -> str:
        """Attention queue, bindings and the workers' log tails, for failure messages."""
        store = context.current().store
        items = "\n".join(f"  {i.kind} {i.store}:{i.order_id}: {i.reason}" for i in store.attention(limit=20))
        binds = "\n".join(f"  {b.route} {b.source_id} -> {b.target_id} {b.state}{' deleted' if b.deleted else ''}"
                          for b in store.bindings())
        tail = "\n".join(log.read_text(errors="replace")[-3000:] for log in self.logs if log.exists())
        return f"attention:\n{items}\nbindings:\n{binds}\nworker logs:\n{tail}"

    def merchant(self, store: str, method: str, path: str, body: Any = None,
                 params: Mapping[str, Any] | None = None) -> httpx.Response:
        """Act on a shop through its own API as the merchant would, waiting out its 429s."""
        shop = self.shops[store]
        creds = CREDENTIALS[shop.platform]
        auth: Any = None
        headers = {}
        if shop.platform == "merchantpro":
            auth = (creds["api_key"], creds["api_secret"])
        elif shop.platform == "cscart":
            auth = (creds["email"], creds["api_key"])
        elif shop.platform == "bigcommerce":
            headers["X-Auth-Token"] = creds["token"]
        with httpx.Client(base_url=shop.base_url, auth=auth, headers=headers, timeout=15) as client:
            for _ in range(60):
                response = client.request(method, path, json=body, params=params)
                if response.status_code != 429:
                    assert response.status_code < 300, f"{method} {path}: {response.status_code} {response.text[:300]}"
                    return response
                time.sleep(float(response.headers.get("Retry-After") or 1))
        raise AssertionError(f"{method} {path} kept answering 429")

    def neutral(self, store: str, order_id: str) -> Any:
        """An order as its store's API returns it now, mapped to neutral (through our connector)."""
        ctx = context.current()
        return ctx.runtime.to_neutral(store, ctx.runtime.connector(store).get_order(order_id))

    def mirror_of(self, route: str, source_id: str) -> str:
        """The target id bound to a source order (empty until linked)."""
        binding = next((b for b in self.bindings(route) if b.source_id == source_id), None)
        return (binding.target_id or "") if binding else ""

    def settle(self, timeout: float = 120.0, quiet: float = 2.0) -> None:
        """Wait until the queue is empty, no binding is pending and no write is in flight, for ``quiet`` s."""
        store = context.current().store

        def idle() -> bool:
            counts = store.counts()
            busy = any(row["status"] == "started" for row in counts["operations"])
            pending = any(row["state"] == "pending" for row in counts["bindings"])
            return self.queue_length() == 0 and self.unacked() == 0 and not busy and not pending

        deadline = time.monotonic() + timeout
        calm_since: float | None = None
        while time.monotonic() < deadline:
            if idle():
                calm_since = calm_since or time.monotonic()
                if time.monotonic() - calm_since >= quiet:
                    return
            else:
                calm_since = None
            time.sleep(0.2)
        raise AssertionError(f"the cluster did not settle in {timeout}s\n{self.diagnostics()}")

    def unacked(self) -> int:
        """Messages delivered to a worker and not yet acknowledged (acks_late: still running)."""
        return int(redis.Redis.from_url(self.redis_url).hlen("unacked"))

    def queue_length(self) -> int:
        """Messages waiting in the broker queues."""
        client = redis.Redis.from_url(self.redis_url)
        return sum(int(client.llen(queue)) for queue in QUEUES)

    def close(self) -> None:
        """Stop workers, servers, and forget the installed context."""
        for process in self.workers:
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                    process.wait(10)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    self.kill_worker(process)
        if self.api is not None:
            self.api.stop()
        for shop in self.shops.values():
            shop.simulator.webhooks.close()
            shop.server.stop()
        ctx = context._context
        if ctx is not None:
            ctx.close()
        context.install(None)
        for var in self.env:
            os.environ.pop(var, None)


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    raise TypeError(type(value))


def _reset_pool() -> None:
    """Drop Celery's cached broker connections so the new broker URL takes effect."""
    from kombu import pools

    if celery_app._pool is not None:
        celery_app._pool.force_close_all()
        celery_app._pool = None
    celery_app.amqp._producer_pool = None
    pools.reset()
